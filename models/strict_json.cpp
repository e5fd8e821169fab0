#include "strict_json.hpp"

#include "input_file.hpp"

#include "error.hpp"

#include <cmath>
#include <limits>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <sstream>

namespace scee {

void check_json_nesting(const std::string& text, const std::string& path)
{
  int depth = 0, line = 1;
  bool in_string = false, escaped = false;
  for (const char ch : text) {
    if (ch == '\n')
      ++line;
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (ch == '\\')
        escaped = true;
      else if (ch == '"')
        in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > max_json_depth)
        throw InputError(fmt::format("{}: line {}: arrays and objects nested deeper than {} levels (scee's files "
                                     "need only a few)",
                                     path, line, max_json_depth));
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
}

namespace {

/// nlohmann keeps the last of two equal keys in an object; a file that says two things is refused instead. The
/// parser's callback follows the path (object keys and array indices) to name where the duplicate is.
nlohmann::json parse_without_duplicate_keys(const std::string& text, const std::string& file)
{
  struct Frame {
    bool array = false;
    std::size_t index = 0;     ///< arrays: the element being read
    std::string key;           ///< objects: the key being read
    std::set<std::string> keys;
  };
  std::vector<Frame> stack;
  auto path = [&] {
    std::string p = "$";
    for (std::size_t i = 0; i + 1 < stack.size(); ++i) // the innermost frame's own segment is not yet part of it
      p += stack[i].array ? fmt::format("[{}]", stack[i].index) : "." + stack[i].key;
    return p;
  };
  auto element_done = [&] {
    if (!stack.empty() && stack.back().array)
      ++stack.back().index;
  };
  using Event = nlohmann::json::parse_event_t;
  return nlohmann::json::parse(text, [&](int, Event event, nlohmann::json& value) {
    switch (event) {
    case Event::object_start:
    case Event::array_start:
      stack.push_back({event == Event::array_start, 0, {}, {}});
      break;
    case Event::object_end:
    case Event::array_end:
      stack.pop_back();
      element_done();
      break;
    case Event::key: {
      const std::string key = value.get<std::string>();
      Frame& f = stack.back();
      if (!f.keys.insert(key).second) {
        f.key = key;
        stack.push_back({});
        Fields::fail_at(file, path(), "duplicate key: a key may appear only once in an object");
      }
      f.key = key;
      break;
    }
    case Event::value: element_done(); break;
    }
    return true;
  });
}

} // namespace

nlohmann::json read_json_file(const std::string& path)
{
  const std::optional<std::string> text = read_input_file(path, max_text_file_bytes, "a JSON file");
  if (!text)
    throw InputError(fmt::format("{}: cannot open the file", path));
  return parse_json_text(*text, path);
}

nlohmann::json parse_json_text(const std::string& text, const std::string& path)
{
  check_json_nesting(text, path);
  try {
    return parse_without_duplicate_keys(text, path);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message carries line and column; keep it on one line.
    std::string what = e.what();
    const auto cut = what.find("parse error");
    throw InputError(fmt::format("{}: not valid JSON: {}", path, cut == std::string::npos ? what : what.substr(cut)));
  } catch (const nlohmann::json::exception& e) { // e.g. a number too large for a double (1e999)
    std::string what = e.what();
    if (const auto cut = what.find("] "); cut != std::string::npos)
      what = what.substr(cut + 2); // drop nlohmann's "[json.exception.out_of_range.406] " prefix
    throw InputError(fmt::format("{}: not valid JSON: {}", path, what));
  }
}

/// Appends a rendering of `value` to `out`, stopping early once `out` is long enough (so that a huge or deeply
/// nested value costs little).
static void render(const nlohmann::json& value, std::string& out, int depth)
{
  constexpr std::size_t enough = 61;
  if (out.size() >= enough)
    return;
  if (!value.is_structured()) {
    out += value.dump();
    return;
  }
  const bool object = value.is_object();
  out += object ? '{' : '[';
  if (depth >= 4 && !value.empty()) {
    out += "...";
  } else {
    bool first = true;
    for (auto it = value.begin(); it != value.end() && out.size() < enough; ++it) {
      out += first ? "" : ",";
      first = false;
      if (object)
        out += nlohmann::json(it.key()).dump() + ":";
      render(*it, out, depth + 1);
    }
  }
  out += object ? '}' : ']';
}

std::string brief(const nlohmann::json& value)
{
  std::string s;
  render(value, s, 0);
  if (s.size() > 60)
    s = s.substr(0, 57) + "...";
  return s;
}

Fields::Fields(const nlohmann::json& object, std::string file, std::string path)
    : object_(&object), file_(std::move(file)), path_(std::move(path))
{
  if (!object.is_object())
    fail_at(file_, path_, fmt::format("must be a JSON object, got {}", brief(object)));
}

void Fields::fail_at(const std::string& file, const std::string& path, const std::string& what)
{
  throw InputError(fmt::format("{}: {}: {}", file, path, what));
}

void Fields::fail(const std::string& key, const std::string& what) const { fail_at(file_, path_of(key), what); }

const nlohmann::json& Fields::require(const std::string& key)
{
  used_.insert(key);
  if (!object_->contains(key))
    fail_at(file_, path_, fmt::format("missing required key \"{}\"", key));
  return object_->at(key);
}

const nlohmann::json& Fields::raw(const std::string& key) { return require(key); }

static std::string range_text(double lo, double hi)
{
  if (std::isinf(hi) || hi >= 9.2e18) // no upper bound, or the largest int64
    return fmt::format(">= {}", lo);
  return fmt::format("in [{}, {}]", lo, hi);
}

double Fields::number(const std::string& key, double lo, double hi)
{
  const auto& v = require(key);
  if (!v.is_number())
    fail(key, fmt::format("must be a number {}, got {}", range_text(lo, hi), brief(v)));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    fail(key, fmt::format("must be a number {}, got {}", range_text(lo, hi), brief(v)));
  return x;
}

double Fields::number(const std::string& key, double lo, double hi, double fallback)
{
  return has(key) ? number(key, lo, hi) : (used_.insert(key), fallback);
}

std::int64_t Fields::integer(const std::string& key, std::int64_t lo, std::int64_t hi)
{
  const auto& v = require(key);
  const bool whole = v.is_number_integer() || (v.is_number_float() && std::isfinite(v.get<double>()) &&
                                               v.get<double>() == std::floor(v.get<double>()));
  if (!whole)
    fail(key, fmt::format("must be an integer {}, got {}", range_text(double(lo), double(hi)), brief(v)));
  // Integers are compared exactly, floats as doubles: comparing an integer as a double let 2^63 through when hi is
  // INT64_MAX (double(INT64_MAX) is 2^63), which then wrapped to INT64_MIN; a float must also be below 2^63, or
  // converting it is undefined.
  const double x = v.get<double>();
  const bool in_range = v.is_number_unsigned()
                            ? hi >= 0 && v.get<std::uint64_t>() <= std::uint64_t(hi) && v.get<std::int64_t>() >= lo
                        : v.is_number_integer() ? v.get<std::int64_t>() >= lo && v.get<std::int64_t>() <= hi
                                                : x >= double(lo) && x <= double(hi) && x < 0x1p63;
  if (!in_range)
    fail(key, fmt::format("must be an integer {}, got {}", range_text(double(lo), double(hi)), brief(v)));
  return v.is_number_integer() ? v.get<std::int64_t>() : static_cast<std::int64_t>(x);
}

std::int64_t Fields::integer(const std::string& key, std::int64_t lo, std::int64_t hi, std::int64_t fallback)
{
  return has(key) ? integer(key, lo, hi) : (used_.insert(key), fallback);
}

std::string Fields::text(const std::string& key, const std::vector<std::string>& allowed)
{
  const auto& v = require(key);
  const std::string valid = allowed.empty() ? "a string" : fmt::format("one of \"{}\"", fmt::join(allowed, "\", \""));
  if (!v.is_string())
    fail(key, fmt::format("must be {}, got {}", valid, brief(v)));
  const auto s = v.get<std::string>();
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end())
    fail(key, fmt::format("must be {}, got {}", valid, brief(v)));
  if (allowed.empty() && s.empty())
    fail(key, "must be a non-empty string");
  return s;
}

std::string Fields::text(const std::string& key, const std::vector<std::string>& allowed, const std::string& fallback)
{
  return has(key) ? text(key, allowed) : (used_.insert(key), fallback);
}

bool Fields::flag(const std::string& key, bool fallback)
{
  if (!has(key)) {
    used_.insert(key);
    return fallback;
  }
  const auto& v = require(key);
  if (!v.is_boolean())
    fail(key, fmt::format("must be true or false, got {}", brief(v)));
  return v.get<bool>();
}

Fields Fields::object(const std::string& key) { return Fields(require(key), file_, path_of(key)); }

std::vector<Fields> Fields::objects(const std::string& key, bool non_empty)
{
  const auto& v = require(key);
  if (!v.is_array() || (non_empty && v.empty()))
    fail(key, fmt::format("must be a{} array of objects, got {}", non_empty ? " non-empty" : "n", brief(v)));
  std::vector<Fields> out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out.emplace_back(v[i], file_, fmt::format("{}[{}]", path_of(key), i));
  return out;
}

std::vector<double> Fields::numbers(const std::string& key, double lo, double hi, bool non_empty)
{
  const auto& v = require(key);
  if (!v.is_array() || (non_empty && v.empty()))
    fail(key, fmt::format("must be a{} array of numbers {}, got {}", non_empty ? " non-empty" : "n",
                          range_text(lo, hi), brief(v)));
  std::vector<double> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number() || !std::isfinite(v[i].get<double>()) || v[i].get<double>() < lo ||
        v[i].get<double>() > hi)
      fail_at(file_, fmt::format("{}[{}]", path_of(key), i),
              fmt::format("must be a number {}, got {}", range_text(lo, hi), brief(v[i])));
    out.push_back(v[i].get<double>());
  }
  return out;
}

std::vector<std::int64_t> Fields::integers(const std::string& key, std::int64_t lo, std::int64_t hi, bool non_empty)
{
  const auto& v = require(key);
  if (!v.is_array() || (non_empty && v.empty()))
    fail(key, fmt::format("must be a{} array of integers {}, got {}", non_empty ? " non-empty" : "n",
                          range_text(double(lo), double(hi)), brief(v)));
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number_integer() || v[i].get<std::int64_t>() < lo || v[i].get<std::int64_t>() > hi)
      fail_at(file_, fmt::format("{}[{}]", path_of(key), i),
              fmt::format("must be an integer {}, got {}", range_text(double(lo), double(hi)), brief(v[i])));
    out.push_back(v[i].get<std::int64_t>());
  }
  return out;
}

void Fields::only(std::initializer_list<const char*> keys)
{
  for (const char* k : keys)
    has(k);
  done();
}

double Fields::positive(const std::string& key)
{
  const auto& v = require(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || !(v.get<double>() > 0))
    fail(key, fmt::format("must be a number > 0, got {}", brief(v)));
  return v.get<double>();
}

double Fields::physical(const std::string& key, bool positive_only, double min, double max, const std::string& unit)
{
  const double x = positive_only ? positive(key) : number(key, 0, std::numeric_limits<double>::infinity());
  // Below 1e-12 of any unit, a value is noise, and a subnormal one breaks the engine's own parsing of profiles.
  constexpr double resolution = 1e-12;
  if (!positive_only && x > 0 && x < resolution && min <= 0)
    fail(key, fmt::format("must be 0 or at least {} {} (the physical range is [{}, {}] {}), got {}", resolution, unit,
                          min, max, unit, brief(raw(key))));
  if (x < min || x > max)
    fail(key, fmt::format("must be at {} {} {} (the physical range is [{}, {}] {}), got {}", x < min ? "least" : "most",
                          x < min ? min : max, unit, min, max, unit, brief(raw(key))));
  return x;
}

double Fields::physical(const std::string& key, bool positive_only, double min, double max, const std::string& unit,
                        double fallback)
{
  return has(key) ? physical(key, positive_only, min, max, unit) : (used_.insert(key), fallback);
}

void Fields::done() const
{
  std::vector<std::string> unknown;
  for (const auto& [key, value] : object_->items())
    if (!used_.count(key))
      unknown.push_back(key);
  if (unknown.empty())
    return;
  fail_at(file_, path_of(unknown.front()),
          fmt::format("unknown key; valid keys here: {}", fmt::join(used_, ", ")));
}

} // namespace scee
