#include "faults.hpp"

#include "error.hpp"
#include "input_file.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <sstream>

namespace scee {

std::string to_string(Fallback f) { return f == Fallback::device_exit ? "device_exit" : "none"; }

namespace {

namespace fs = std::filesystem;
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double max_time_s = 1e9; // about 32 years of simulated time

std::vector<Outage> read_outages(Fields& f, const std::string& key)
{
  std::vector<Outage> out;
  auto items = f.objects(key, false);
  for (std::size_t i = 0; i < items.size(); ++i) {
    Fields& o = items[i];
    o.only({"start_s", "duration_s"});
    Outage x;
    x.start_s = o.physical("start_s", false, 0, max_time_s, "s");
    x.duration_s = o.has("duration_s") ? o.physical("duration_s", true, 1e-6, max_time_s, "s") : inf;
    if (!out.empty() && !(x.start_s > out.back().end_s()))
      Fields::fail_at(f.file(), o.path(),
                      std::isinf(out.back().duration_s)
                          ? fmt::format("comes after an outage without \"duration_s\" (one that lasts until the end)")
                          : fmt::format("must start after the previous outage ends ({} s), got start_s {}: list "
                                        "outages in time order, and merge outages that overlap or touch",
                                        out.back().end_s(), x.start_s));
    out.push_back(x);
  }
  return out;
}

std::vector<BandwidthStep> read_steps(Fields& f, const std::string& key)
{
  std::vector<BandwidthStep> out;
  auto items = f.objects(key, false);
  for (std::size_t i = 0; i < items.size(); ++i) {
    Fields& o = items[i];
    o.only({"at_s", "factor"});
    BandwidthStep x;
    x.at_s = o.physical("at_s", false, 0, max_time_s, "s");
    x.factor = o.physical("factor", true, 1e-6, 1e6, "(a factor)");
    if (x.factor > 1)
      o.fail("factor", fmt::format("must be in (0, 1] (a fraction of the network profile's bandwidth), got {}",
                                   x.factor));
    if (!out.empty() && !(x.at_s > out.back().at_s))
      o.fail("at_s", fmt::format("must be later than the previous step's ({} s): list steps in time order, got {}",
                                 out.back().at_s, x.at_s));
    out.push_back(x);
  }
  return out;
}

bool parse_number(const std::string& text, double& out)
{
  if (text.empty())
    return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

} // namespace

Faults read_fault_trace(const std::string& file)
{
  const std::optional<std::string> text =
      read_input_file(file, max_text_file_bytes, "a fault trace (a CSV file: time_s,target,value)");
  if (!text)
    throw InputError(fmt::format("{}: cannot read the fault trace (missing or unreadable)", file));
  std::istringstream in(*text);
  Faults f;
  struct State {
    std::vector<Outage>* outages = nullptr;
    std::vector<BandwidthStep>* steps = nullptr;
    double last_s = -1;
  };
  std::vector<std::pair<std::string, State>> targets = {
      {"uplink", {&f.uplink_outages, nullptr}},
      {"downlink", {&f.downlink_outages, nullptr}},
      {"server", {&f.server_outages, nullptr}},
      {"uplink_bandwidth", {nullptr, &f.uplink_bandwidth}},
      {"downlink_bandwidth", {nullptr, &f.downlink_bandwidth}},
  };
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    auto fail = [&](const std::string& what) { throw InputError(fmt::format("{}: line {}: {}", file, n, what)); };
    if (n == 1) {
      if (line != "time_s,target,value")
        fail(fmt::format("the header must be \"time_s,target,value\", got \"{}\"", line.substr(0, 80)));
      continue;
    }
    if (line.empty())
      continue;
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');)
      cells.push_back(cell);
    if (cells.size() != 3 || line.back() == ',')
      fail("must have 3 comma-separated cells: time_s,target,value");
    double t = 0, v = 0;
    if (!parse_number(cells[0], t) || t < 0 || t > max_time_s || (t > 0 && t < 1e-12))
      fail(fmt::format("time_s must be a number of seconds in [0, {}] (0 or at least 1e-12), got \"{}\"", max_time_s,
                       cells[0]));
    State* st = nullptr;
    for (auto& [name, state] : targets)
      if (name == cells[1])
        st = &state;
    if (st == nullptr)
      fail(fmt::format("target must be one of uplink, downlink, server, uplink_bandwidth, downlink_bandwidth, got "
                       "\"{}\"",
                       cells[1].substr(0, 40)));
    if (!(t > st->last_s))
      fail(fmt::format("rows of target {} must be in increasing time order; {} s comes after {} s", cells[1], t,
                       st->last_s));
    st->last_s = t;
    if (!parse_number(cells[2], v))
      fail(fmt::format("value must be a number, got \"{}\"", cells[2].substr(0, 40)));
    if (st->outages != nullptr) {
      const bool down = !st->outages->empty() && std::isinf(st->outages->back().duration_s);
      if (v != 0 && v != 1)
        fail(fmt::format("the value of target {} must be 0 (down) or 1 (up), got {}", cells[1], v));
      if ((v == 0) == down)
        fail(fmt::format("{} is already {} at {} s", cells[1], down ? "down" : "up", t));
      if (v == 0)
        st->outages->push_back({t, inf});
      else
        st->outages->back().duration_s = t - st->outages->back().start_s;
    } else {
      if (!(v >= 1e-6 && v <= 1))
        fail(fmt::format("the value of target {} must be a bandwidth factor in [1e-6, 1], got {}", cells[1], v));
      st->steps->push_back({t, v});
    }
  }
  if (n == 0)
    throw InputError(fmt::format("{}: empty fault trace: the first line must be \"time_s,target,value\"", file));
  return f;
}

Faults read_faults(Fields& scenario)
{
  Faults f;
  if (!scenario.has("faults"))
    return f;
  Fields x = scenario.object("faults");
  x.only({"uplink_outages", "downlink_outages", "server_outages", "uplink_bandwidth", "downlink_bandwidth",
          "trace_file"});
  const std::vector<std::pair<std::string, std::vector<Outage>*>> outages = {
      {"uplink_outages", &f.uplink_outages},
      {"downlink_outages", &f.downlink_outages},
      {"server_outages", &f.server_outages}};
  const std::vector<std::pair<std::string, std::vector<BandwidthStep>*>> steps = {
      {"uplink_bandwidth", &f.uplink_bandwidth}, {"downlink_bandwidth", &f.downlink_bandwidth}};
  for (const auto& [key, list] : outages)
    if (x.has(key))
      *list = read_outages(x, key);
  for (const auto& [key, list] : steps)
    if (x.has(key))
      *list = read_steps(x, key);
  if (x.has("trace_file")) {
    fs::path p(x.text("trace_file"));
    if (p.is_relative())
      p = fs::path(x.file()).parent_path() / p;
    const std::string trace = p.lexically_normal().string();
    const Faults t = read_fault_trace(trace);
    // Each target comes from the trace or from the lists, not both.
    auto take = [&](const std::string& key, const auto& from, auto& to) {
      if (from.empty())
        return;
      if (!to.empty())
        x.fail("trace_file", fmt::format("the trace {} and \"{}\" both describe the same target: give each target "
                                         "in one place",
                                         trace, key));
      to = from;
    };
    take("uplink_outages", t.uplink_outages, f.uplink_outages);
    take("downlink_outages", t.downlink_outages, f.downlink_outages);
    take("server_outages", t.server_outages, f.server_outages);
    take("uplink_bandwidth", t.uplink_bandwidth, f.uplink_bandwidth);
    take("downlink_bandwidth", t.downlink_bandwidth, f.downlink_bandwidth);
  }
  return f;
}

OffloadPolicy read_offload(Fields& scenario)
{
  OffloadPolicy p;
  if (!scenario.has("offload"))
    return p;
  Fields o = scenario.object("offload");
  o.only({"request_timeout_s", "retries", "retry_backoff_s", "fallback"});
  if (o.has("request_timeout_s"))
    p.request_timeout_s = o.physical("request_timeout_s", true, 1e-6, max_time_s, "s");
  p.retries = int(o.integer("retries", 0, 100, p.retries));
  p.retry_backoff_s = o.physical("retry_backoff_s", false, 0, max_time_s, "s", p.retry_backoff_s);
  p.fallback = o.text("fallback", {"device_exit", "none"}, "device_exit") == "none" ? Fallback::none
                                                                                   : Fallback::device_exit;
  return p;
}

void check_faults(const Scenario& s)
{
  if (!s.faults.server_outages.empty() && s.offload.request_timeout_s <= 0)
    Fields::fail_at(s.file, "$.offload.request_timeout_s",
                    "required when the scenario has server outages (a failing server loses the requests it holds, "
                    "and only a timeout tells the device): give a number of seconds > 0");
}

nlohmann::json to_json(const Faults& f)
{
  auto outages = [](const std::vector<Outage>& list) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& o : list) {
      nlohmann::json j{{"start_s", o.start_s}};
      if (std::isfinite(o.duration_s))
        j["duration_s"] = o.duration_s;
      a.push_back(j);
    }
    return a;
  };
  auto steps = [](const std::vector<BandwidthStep>& list) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& x : list)
      a.push_back({{"at_s", x.at_s}, {"factor", x.factor}});
    return a;
  };
  return {{"uplink_outages", outages(f.uplink_outages)},
          {"downlink_outages", outages(f.downlink_outages)},
          {"server_outages", outages(f.server_outages)},
          {"uplink_bandwidth", steps(f.uplink_bandwidth)},
          {"downlink_bandwidth", steps(f.downlink_bandwidth)}};
}

nlohmann::json to_json(const OffloadPolicy& p)
{
  nlohmann::json j{{"retries", p.retries}, {"retry_backoff_s", p.retry_backoff_s}, {"fallback", to_string(p.fallback)}};
  if (p.request_timeout_s > 0)
    j["request_timeout_s"] = p.request_timeout_s;
  return j;
}

std::string state_profile_text(const std::vector<Outage>& outages)
{
  std::string out;
  for (const auto& o : outages) {
    out += fmt::format("{:.17g} 0\n", o.start_s);
    if (std::isfinite(o.duration_s))
      out += fmt::format("{:.17g} 1\n", o.end_s());
  }
  return out;
}

std::string bandwidth_profile_text(const std::vector<BandwidthStep>& steps, double bandwidth_bytes_per_s)
{
  std::string out;
  for (const auto& x : steps)
    out += fmt::format("{:.17g} {:.17g}\n", x.at_s, x.factor * bandwidth_bytes_per_s);
  return out;
}

} // namespace scee
