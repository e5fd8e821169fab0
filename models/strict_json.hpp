// Strict reading of JSON objects for every file a user writes (model specs, scenarios, profiles): every value is
// type- and range-checked, unknown keys are refused, and every error is one line naming the file, the JSON path
// and what would be valid.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace scee {

/// Parses a JSON file; a missing file or a syntax error is an InputError naming the file (and line for syntax).
/// Arrays and objects nested deeper than max_json_depth are refused (no scee file needs more than a few levels).
nlohmann::json read_json_file(const std::string& path);
/// The same checks on JSON text already read (`path` names it in messages): nesting, syntax, duplicate keys (an
/// object that gives a key twice is refused, naming the key's path).
nlohmann::json parse_json_text(const std::string& text, const std::string& path);

inline constexpr int max_json_depth = 64;
/// Refuses JSON text whose arrays and objects nest deeper than max_json_depth: an InputError "<where>: line N: ...".
void check_json_nesting(const std::string& text, const std::string& where);

/// One JSON object under validation. Every accessor marks its key as used; done() refuses the rest.
class Fields {
public:
  Fields(const nlohmann::json& object, std::string file, std::string path);

  /// Whether the key is present; also declares it valid for done().
  bool has(const std::string& key)
  {
    used_.insert(key);
    return object_->contains(key);
  }
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  std::string path_of(const std::string& key) const { return path_ + "." + key; }

  /// The raw value (required).
  const nlohmann::json& raw(const std::string& key);
  double number(const std::string& key, double lo, double hi);
  double number(const std::string& key, double lo, double hi, double fallback);
  std::int64_t integer(const std::string& key, std::int64_t lo, std::int64_t hi);
  std::int64_t integer(const std::string& key, std::int64_t lo, std::int64_t hi, std::int64_t fallback);
  std::string text(const std::string& key, const std::vector<std::string>& allowed = {});
  std::string text(const std::string& key, const std::vector<std::string>& allowed, const std::string& fallback);
  bool flag(const std::string& key, bool fallback);
  Fields object(const std::string& key);
  /// An array of objects (may be required to be non-empty).
  std::vector<Fields> objects(const std::string& key, bool non_empty);
  std::vector<double> numbers(const std::string& key, double lo, double hi, bool non_empty);
  std::vector<std::int64_t> integers(const std::string& key, std::int64_t lo, std::int64_t hi, bool non_empty);

  /// Declares every valid key, then refuses the others: a misspelt key is reported as unknown before anything else
  /// (rather than as a missing required key).
  void only(std::initializer_list<const char*> keys);
  /// A required finite number > 0 (number() has inclusive bounds only).
  double positive(const std::string& key);
  /// A required number in the physical range [min, max] of its unit (docs/scenarios.md, "Physical ranges"): one that
  /// breaks the plain rule (> 0 when `positive`, else >= 0) gets the plain message; one outside the range is told
  /// the bound it crosses. Values the engine cannot take (a period of 1e308 s, a rate of 5e-324) stop here.
  double physical(const std::string& key, bool positive, double min, double max, const std::string& unit);
  double physical(const std::string& key, bool positive, double min, double max, const std::string& unit,
                  double fallback);

  /// Refuses every key not read, naming the valid ones.
  void done() const;
  /// One-line InputError "<file>: <path>.<key>: <what>".
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  /// One-line InputError at an explicit path.
  [[noreturn]] static void fail_at(const std::string& file, const std::string& path, const std::string& what);

private:
  const nlohmann::json& require(const std::string& key);
  const nlohmann::json* object_;
  std::string file_;
  std::string path_;
  std::set<std::string> used_;
};

/// A short rendering of a JSON value for error messages.
std::string brief(const nlohmann::json& value);

} // namespace scee
