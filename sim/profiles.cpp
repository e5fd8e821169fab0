#include "profiles.hpp"

#include "error.hpp"
#include "strict_json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>

namespace scee {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

std::vector<std::string> read_sources(Fields& f)
{
  const auto& v = f.raw("sources");
  if (!v.is_array() || v.empty())
    f.fail("sources",
           fmt::format("must be a non-empty array of strings (where each number comes from), got {}", brief(v)));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get<std::string>().empty())
      Fields::fail_at(f.file(), fmt::format("{}[{}]", f.path_of("sources"), i),
                      fmt::format("must be a non-empty string, got {}", brief(v[i])));
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

const std::vector<std::string>& kinds()
{
  static const std::vector<std::string> k{"device", "server", "network"};
  return k;
}

std::string folder_of(const std::string& kind)
{
  if (std::find(kinds().begin(), kinds().end(), kind) == kinds().end())
    throw std::invalid_argument("profile kind must be device, server or network, got " + kind);
  return kind + "s";
}

} // namespace

std::string profile_dir()
{
  if (const char* dir = std::getenv("SCEE_PROFILE_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return SCEE_SOURCE_DIR "/scenarios/profiles";
}

ComputeProfile compute_profile_from_json(const nlohmann::json& j, const std::string& kind, const std::string& file,
                                         const std::string& path)
{
  folder_of(kind); // a programming error if not device, server or network
  if (kind == "network")
    throw std::invalid_argument("compute_profile_from_json: kind must be device or server");
  Fields f(j, file, path);
  f.only({"name", "kind", "description", "pstates", "memory_bytes", "confidence", "sources", "notes"});
  ComputeProfile p;
  p.name = f.text("name");
  p.kind = f.text("kind", {kind});
  p.description = f.text("description");
  for (auto& s : f.objects("pstates", true)) {
    s.only({"rate_macs_per_s", "idle_power_w", "active_power_w"});
    PState ps;
    ps.rate_macs_per_s = s.positive("rate_macs_per_s");
    ps.idle_power_w = s.number("idle_power_w", 0, inf);
    ps.active_power_w = s.number("active_power_w", 0, inf);
    p.pstates.push_back(ps);
  }
  p.memory_bytes = f.integer("memory_bytes", 1, std::numeric_limits<std::int64_t>::max());
  p.confidence = f.text("confidence", {"S", "D", "R"});
  p.sources = read_sources(f);
  p.notes = f.text("notes");
  return p;
}

NetworkProfile network_profile_from_json(const nlohmann::json& j, const std::string& file, const std::string& path)
{
  Fields f(j, file, path);
  f.only({"name", "kind", "description", "uplink_bandwidth_bps", "downlink_bandwidth_bps", "latency_s",
                "max_payload_bytes", "duty_cycle", "radio", "confidence", "sources", "notes"});
  NetworkProfile p;
  p.name = f.text("name");
  p.kind = f.text("kind", {"network"});
  p.description = f.text("description");
  p.uplink_bandwidth_bps = f.positive("uplink_bandwidth_bps");
  p.downlink_bandwidth_bps = f.positive("downlink_bandwidth_bps");
  p.latency_s = f.number("latency_s", 0, inf);
  p.max_payload_bytes = f.integer("max_payload_bytes", 0, std::numeric_limits<std::int64_t>::max());
  if (f.has("duty_cycle")) {
    p.duty_cycle = f.positive("duty_cycle");
    if (p.duty_cycle > 1)
      f.fail("duty_cycle", fmt::format("must be a fraction in (0, 1] (1 = no limit), got {}", p.duty_cycle));
  }
  Fields r = f.object("radio");
  r.only({"tx_power_w", "tx_power_w_per_bps", "rx_power_w", "rx_power_w_per_bps", "idle_power_w", "promotion_s",
                "promotion_power_w", "tail_s", "tail_power_w"});
  auto& m = p.radio;
  m.tx_power_w = r.number("tx_power_w", 0, inf);
  m.tx_power_w_per_bps = r.number("tx_power_w_per_bps", 0, inf);
  m.rx_power_w = r.number("rx_power_w", 0, inf);
  m.rx_power_w_per_bps = r.number("rx_power_w_per_bps", 0, inf);
  m.idle_power_w = r.number("idle_power_w", 0, inf);
  m.promotion_s = r.number("promotion_s", 0, inf);
  m.promotion_power_w = r.number("promotion_power_w", 0, inf);
  m.tail_s = r.number("tail_s", 0, inf);
  m.tail_power_w = r.number("tail_power_w", 0, inf);
  p.confidence = f.text("confidence", {"S", "D", "R"});
  p.sources = read_sources(f);
  p.notes = f.text("notes");
  return p;
}

std::string builtin_profile_file(const std::string& kind, const std::string& name)
{
  return (std::filesystem::path(profile_dir()) / folder_of(kind) / (name + ".json")).string();
}

std::vector<std::string> builtin_profile_names(const std::string& kind)
{
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(profile_dir()) / folder_of(kind);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InputError(fmt::format("{}: the directory of built-in {} profiles does not exist ({}; SCEE_PROFILE_DIR "
                                 "must name a folder with devices/, servers/ and networks/)",
                                 dir.string(), kind,
                                 std::getenv("SCEE_PROFILE_DIR") ? "from SCEE_PROFILE_DIR" : "the source tree's"));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

nlohmann::json builtin_profile_json(const std::string& kind, const std::string& name, const std::string& file,
                                    const std::string& path)
{
  const auto names = builtin_profile_names(kind);
  if (std::find(names.begin(), names.end(), name) == names.end())
    Fields::fail_at(file, path,
                    fmt::format("unknown {} profile \"{}\"; built-in: {}", kind, name,
                                names.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(names, ", "))));
  const std::string profile_file = builtin_profile_file(kind, name);
  const nlohmann::json j = read_json_file(profile_file);
  // The file name is the profile's name: a built-in whose "name" differs would be found under one name and
  // reported under another.
  if (j.is_object() && j.contains("name") && j["name"] != name)
    Fields::fail_at(profile_file, "$.name",
                    fmt::format("must equal the file name \"{}\", got {}", name, brief(j["name"])));
  return j;
}

nlohmann::json to_json(const ComputeProfile& p)
{
  nlohmann::json pstates = nlohmann::json::array();
  for (const auto& s : p.pstates)
    pstates.push_back({{"rate_macs_per_s", s.rate_macs_per_s},
                       {"idle_power_w", s.idle_power_w},
                       {"active_power_w", s.active_power_w}});
  return {{"name", p.name},
          {"kind", p.kind},
          {"description", p.description},
          {"pstates", pstates},
          {"memory_bytes", p.memory_bytes},
          {"confidence", p.confidence},
          {"sources", p.sources},
          {"notes", p.notes}};
}

nlohmann::json to_json(const NetworkProfile& p)
{
  const auto& r = p.radio;
  return {{"name", p.name},
          {"kind", p.kind},
          {"description", p.description},
          {"uplink_bandwidth_bps", p.uplink_bandwidth_bps},
          {"downlink_bandwidth_bps", p.downlink_bandwidth_bps},
          {"latency_s", p.latency_s},
          {"max_payload_bytes", p.max_payload_bytes},
          {"duty_cycle", p.duty_cycle},
          {"radio",
           {{"tx_power_w", r.tx_power_w},
            {"tx_power_w_per_bps", r.tx_power_w_per_bps},
            {"rx_power_w", r.rx_power_w},
            {"rx_power_w_per_bps", r.rx_power_w_per_bps},
            {"idle_power_w", r.idle_power_w},
            {"promotion_s", r.promotion_s},
            {"promotion_power_w", r.promotion_power_w},
            {"tail_s", r.tail_s},
            {"tail_power_w", r.tail_power_w}}},
          {"confidence", p.confidence},
          {"sources", p.sources},
          {"notes", p.notes}};
}

} // namespace scee
