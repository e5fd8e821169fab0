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

std::string to_string(Encoding e)
{
  switch (e) {
  case Encoding::fp32:
    return "fp32";
  case Encoding::fp16:
    return "fp16";
  case Encoding::int8:
    return "int8";
  }
  return "?";
}

int value_bytes(Encoding e)
{
  switch (e) {
  case Encoding::fp32:
    return 4;
  case Encoding::fp16:
    return 2;
  case Encoding::int8:
    return 1;
  }
  return 4;
}

Encoding parse_encoding(const std::string& name)
{
  for (const Encoding e : {Encoding::fp32, Encoding::fp16, Encoding::int8})
    if (to_string(e) == name)
      return e;
  throw std::invalid_argument("parse_encoding: not a number format: " + name);
}

double SparseSpeedup::at(double density) const
{
  if (points.empty())
    throw std::logic_error("SparseSpeedup::at: no points");
  if (density <= points.front().first)
    return points.front().second;
  for (std::size_t i = 1; i < points.size(); ++i)
    if (density <= points[i].first) {
      const auto [d0, s0] = points[i - 1];
      const auto [d1, s1] = points[i];
      return s0 + (s1 - s0) * (density - d0) / (d1 - d0);
    }
  return points.back().second;
}

const SleepState* ComputeProfile::find_sleep(const std::string& state_name) const
{
  for (const auto& s : sleep_states)
    if (s.name == state_name)
      return &s;
  return nullptr;
}

const FormatKernels* CostModel::find(Encoding f) const
{
  for (const auto& k : formats)
    if (k.format == f)
      return &k;
  return nullptr;
}

namespace {

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

/// "[[density, speed-up], ...]": densities in (0, 1], strictly increasing; speed-ups in [0.01, 10000].
SparseSpeedup read_speedup(Fields& f, const std::string& key)
{
  const auto& v = f.raw(key);
  const std::string what = "must be a non-empty array of [density, speed-up] pairs, densities in (0, 1] and "
                           "increasing, speed-ups in [0.01, 10000] (1 = as fast as the dense kernel)";
  if (!v.is_array() || v.empty())
    f.fail(key, fmt::format("{}, got {}", what, brief(v)));
  SparseSpeedup out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto& p = v[i];
    const std::string at = fmt::format("{}[{}]", f.path_of(key), i);
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
      Fields::fail_at(f.file(), at, fmt::format("{}; this entry is {}", what, brief(p)));
    const double d = p[0].get<double>(), speedup = p[1].get<double>();
    if (!(d > 0 && d <= 1) || !(speedup >= 0.01 && speedup <= 10000) ||
        (!out.points.empty() && !(d > out.points.back().first)))
      Fields::fail_at(f.file(), at, fmt::format("{}; this entry is {}", what, brief(p)));
    out.points.emplace_back(d, speedup);
  }
  return out;
}

CostModel read_cost_model(Fields& c)
{
  c.only({"invoke_overhead_s", "layer_overhead_s", "memory_bandwidth_bytes_per_s", "default_format", "formats"});
  CostModel m;
  m.invoke_overhead_s = c.number("invoke_overhead_s", 0, 10);
  m.layer_overhead_s = c.number("layer_overhead_s", 0, 1);
  m.memory_bandwidth_bytes_per_s = c.number("memory_bandwidth_bytes_per_s", 1e3, 1e15);
  const std::vector<std::string> names{"fp32", "fp16", "int8"};
  m.default_format = parse_encoding(c.text("default_format", names));
  const auto& formats = c.raw("formats");
  if (!formats.is_object() || formats.empty())
    c.fail("formats", fmt::format("must be an object of number formats (\"int8\", \"fp16\", \"fp32\") to kernel "
                                  "rates, got {}",
                                  brief(formats)));
  Fields fs = c.object("formats");
  for (const auto& [name, value] : formats.items()) {
    if (std::find(names.begin(), names.end(), name) == names.end())
      Fields::fail_at(c.file(), c.path_of("formats"),
                      fmt::format("unknown number format \"{}\"; valid: int8, fp16, fp32", name));
    Fields k = fs.object(name);
    k.only({"fc_rate_macs_per_s", "conv_rate_macs_per_s", "fc_sparse_speedup", "conv_sparse_speedup"});
    FormatKernels fk;
    fk.format = parse_encoding(name);
    fk.fc_rate_macs_per_s = k.number("fc_rate_macs_per_s", 1e3, 1e16);
    fk.conv_rate_macs_per_s = k.number("conv_rate_macs_per_s", 1e3, 1e16);
    fk.fc_sparse_speedup = read_speedup(k, "fc_sparse_speedup");
    fk.conv_sparse_speedup = read_speedup(k, "conv_sparse_speedup");
    m.formats.push_back(fk);
  }
  if (!m.find(m.default_format))
    c.fail("default_format", fmt::format("must be one of the formats given in \"formats\", got \"{}\"",
                                         to_string(m.default_format)));
  return m;
}

nlohmann::json speedup_json(const SparseSpeedup& s)
{
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [d, x] : s.points)
    out.push_back({d, x});
  return out;
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
  f.only({"name", "kind", "description", "pstates", "cost_model", "sleep_states", "memory_bytes", "confidence",
          "sources", "notes"});
  ComputeProfile p;
  p.name = f.text("name");
  p.kind = f.text("kind", {kind});
  p.description = f.text("description");
  for (auto& s : f.objects("pstates", true)) {
    s.only({"rate_macs_per_s", "idle_power_w", "active_power_w"});
    PState ps;
    ps.rate_macs_per_s = s.physical("rate_macs_per_s", true, 1e3, 1e18, "MAC/s");
    ps.idle_power_w = s.physical("idle_power_w", false, 0, 1e5, "W");
    ps.active_power_w = s.physical("active_power_w", false, 0, 1e5, "W");
    p.pstates.push_back(ps);
  }
  if (f.has("cost_model")) {
    Fields c = f.object("cost_model");
    p.cost_model = read_cost_model(c);
  }
  if (f.has("sleep_states")) {
    if (kind == "server")
      f.fail("sleep_states", "applies to devices only: servers do not sleep between requests in scee");
    for (auto& st : f.objects("sleep_states", true)) {
      st.only({"name", "power_w", "after_idle_s", "wake_s", "wake_power_w"});
      SleepState z;
      z.name = st.text("name");
      if (z.name == "none")
        st.fail("name", "\"none\" is reserved (a scenario's devices.sleep: \"none\" turns sleeping off)");
      if (p.find_sleep(z.name))
        st.fail("name", fmt::format("\"{}\" is listed twice; give each sleep state once", z.name));
      z.power_w = st.number("power_w", 0, 1e4);
      z.after_idle_s = st.number("after_idle_s", 0, 1e6);
      z.wake_s = st.number("wake_s", 0, 1e3);
      z.wake_power_w = st.number("wake_power_w", 0, 1e4);
      p.sleep_states.push_back(z);
    }
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
  p.uplink_bandwidth_bps = f.physical("uplink_bandwidth_bps", true, 1, 1e13, "bit/s");
  p.downlink_bandwidth_bps = f.physical("downlink_bandwidth_bps", true, 1, 1e13, "bit/s");
  p.latency_s = f.physical("latency_s", false, 0, 3600, "s");
  p.max_payload_bytes = f.integer("max_payload_bytes", 0, std::numeric_limits<std::int64_t>::max());
  if (f.has("duty_cycle")) {
    p.duty_cycle = f.physical("duty_cycle", true, 1e-6, 1e6, "(a fraction)");
    if (p.duty_cycle > 1)
      f.fail("duty_cycle", fmt::format("must be a fraction in (0, 1] (1 = no limit), got {}", p.duty_cycle));
  }
  Fields r = f.object("radio");
  r.only({"tx_power_w", "tx_power_w_per_bps", "rx_power_w", "rx_power_w_per_bps", "idle_power_w", "promotion_s",
                "promotion_power_w", "tail_s", "tail_power_w"});
  auto& m = p.radio;
  m.tx_power_w = r.physical("tx_power_w", false, 0, 1e3, "W");
  m.tx_power_w_per_bps = r.physical("tx_power_w_per_bps", false, 0, 1e-3, "W per bit/s");
  m.rx_power_w = r.physical("rx_power_w", false, 0, 1e3, "W");
  m.rx_power_w_per_bps = r.physical("rx_power_w_per_bps", false, 0, 1e-3, "W per bit/s");
  m.idle_power_w = r.physical("idle_power_w", false, 0, 1e3, "W");
  m.promotion_s = r.physical("promotion_s", false, 0, 3600, "s");
  m.promotion_power_w = r.physical("promotion_power_w", false, 0, 1e3, "W");
  m.tail_s = r.physical("tail_s", false, 0, 3600, "s");
  m.tail_power_w = r.physical("tail_power_w", false, 0, 1e3, "W");
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
  nlohmann::json j = {{"name", p.name},
                      {"kind", p.kind},
                      {"description", p.description},
                      {"pstates", pstates},
                      {"memory_bytes", p.memory_bytes},
                      {"confidence", p.confidence},
                      {"sources", p.sources},
                      {"notes", p.notes}};
  if (!p.sleep_states.empty()) {
    nlohmann::json states = nlohmann::json::array();
    for (const auto& z : p.sleep_states)
      states.push_back({{"name", z.name},
                        {"power_w", z.power_w},
                        {"after_idle_s", z.after_idle_s},
                        {"wake_s", z.wake_s},
                        {"wake_power_w", z.wake_power_w}});
    j["sleep_states"] = states;
  }
  if (p.cost_model) {
    const CostModel& m = *p.cost_model;
    nlohmann::json formats = nlohmann::json::object();
    for (const auto& k : m.formats)
      formats[to_string(k.format)] = {{"fc_rate_macs_per_s", k.fc_rate_macs_per_s},
                                      {"conv_rate_macs_per_s", k.conv_rate_macs_per_s},
                                      {"fc_sparse_speedup", speedup_json(k.fc_sparse_speedup)},
                                      {"conv_sparse_speedup", speedup_json(k.conv_sparse_speedup)}};
    j["cost_model"] = {{"invoke_overhead_s", m.invoke_overhead_s},
                       {"layer_overhead_s", m.layer_overhead_s},
                       {"memory_bandwidth_bytes_per_s", m.memory_bandwidth_bytes_per_s},
                       {"default_format", to_string(m.default_format)},
                       {"formats", formats}};
  }
  return j;
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
