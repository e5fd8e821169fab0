#include "profiles_command.hpp"

#include "profiles.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <memory>
#include <string>
#include <vector>

namespace scee {

namespace {

struct ProfilesOptions {
  std::string kind; ///< empty = all
  bool json = false;
};

/// A compact number: 4 significant digits, exponent without '+' or leading zeros (1.88e7, 5e-06 -> 5e-6).
std::string num(double v)
{
  std::string s = fmt::format("{:.4g}", v);
  const auto e = s.find('e');
  if (e == std::string::npos)
    return s;
  std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  const bool negative = exponent.front() == '-';
  exponent = exponent.substr(1);
  while (exponent.size() > 1 && exponent.front() == '0')
    exponent.erase(0, 1);
  return mantissa + "e" + (negative ? "-" : "") + exponent;
}

/// Bytes in binary units: 532480 -> "520 KiB".
std::string bytes(std::int64_t b)
{
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.4g} {}", v, units[u]);
}

void print_compute(const std::string& kind)
{
  const auto names = builtin_profile_names(kind);
  fmt::print("{} profiles ({}, {})\n", kind, names.size(), profile_dir() + "/" + kind + "s");
  fmt::print("  {:<18} {:>12} {:>10} {:>10} {:>10} {:>7} {:>4}  {}\n", "name", "rate MAC/s", "idle W", "active W",
             "memory", "pstates", "conf", "description");
  for (const auto& name : names) {
    const auto file = builtin_profile_file(kind, name);
    const ComputeProfile p = compute_profile_from_json(builtin_profile_json(kind, name, file, "$"), kind, file, "$");
    const PState& s = p.pstates.front();
    fmt::print("  {:<18} {:>12} {:>10} {:>10} {:>10} {:>7} {:>4}  {}\n", p.name, num(s.rate_macs_per_s),
               num(s.idle_power_w), num(s.active_power_w), bytes(p.memory_bytes), p.pstates.size(), p.confidence,
               p.description);
  }
  // The calibrated cost models, one line per number format, and the sleep states.
  fmt::print("\n  {:<18} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}  {:<22} {}\n", "cost model", "format", "fc MAC/s",
             "conv MAC/s", "invoke s", "layer s", "mem B/s", "sparse speed-up fc|conv", "sleep states (W after s, wake s)");
  for (const auto& name : names) {
    const auto file = builtin_profile_file(kind, name);
    const ComputeProfile p = compute_profile_from_json(builtin_profile_json(kind, name, file, "$"), kind, file, "$");
    std::vector<std::string> sleep;
    for (const auto& z : p.sleep_states)
      sleep.push_back(fmt::format("{} {} W after {}, wake {}", z.name, num(z.power_w), num(z.after_idle_s),
                                  num(z.wake_s)));
    auto curve = [](const SparseSpeedup& c) {
      std::vector<std::string> points;
      for (const auto& [d, x] : c.points)
        points.push_back(fmt::format("{}:{}", num(d), num(x)));
      return fmt::format("{}", fmt::join(points, " "));
    };
    if (!p.cost_model) {
      fmt::print("  {:<18} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}  {:<22} {}\n", p.name, "ideal", "-", "-", "-", "-",
                 "-", "-", sleep.empty() ? "-" : fmt::format("{}", fmt::join(sleep, "; ")));
      continue;
    }
    const CostModel& m = *p.cost_model;
    for (std::size_t i = 0; i < m.formats.size(); ++i) {
      const auto& k = m.formats[i];
      const std::string fmt_name = to_string(k.format) + (k.format == m.default_format ? "*" : "");
      fmt::print("  {:<18} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}  {:<22} {}\n", i == 0 ? p.name : "", fmt_name,
                 num(k.fc_rate_macs_per_s), num(k.conv_rate_macs_per_s), num(m.invoke_overhead_s),
                 num(m.layer_overhead_s), num(m.memory_bandwidth_bytes_per_s),
                 curve(k.fc_sparse_speedup) + " | " + curve(k.conv_sparse_speedup),
                 i == 0 && !sleep.empty() ? fmt::format("{}", fmt::join(sleep, "; ")) : (i == 0 ? "-" : ""));
    }
  }
}

void print_network()
{
  const auto names = builtin_profile_names("network");
  fmt::print("network profiles ({}, {})\n", names.size(), profile_dir() + "/networks");
  // Radio power = constant + W per bit/s x throughput; the per-bit/s terms are "-" when 0.
  const char* row = "  {:<12} {:>9} {:>10} {:>9} {:>8} {:>5} {:>7} {:>9} {:>7} {:>9} {:>13} {:>13} {:>4}  {}\n";
  fmt::print(fmt::runtime(row), "name", "up bit/s", "down bit/s", "latency s", "max B", "duty", "tx W", "tx W/bps",
             "rx W", "rx W/bps", "promotion s/W", "tail s/W", "conf", "description");
  for (const auto& name : names) {
    const auto file = builtin_profile_file("network", name);
    const NetworkProfile p = network_profile_from_json(builtin_profile_json("network", name, file, "$"), file, "$");
    const auto& r = p.radio;
    auto per_bps = [](double v) { return v > 0 ? num(v) : std::string("-"); };
    fmt::print(fmt::runtime(row), p.name, num(p.uplink_bandwidth_bps), num(p.downlink_bandwidth_bps), num(p.latency_s),
               p.max_payload_bytes == 0 ? std::string("-") : std::to_string(p.max_payload_bytes), num(p.duty_cycle),
               num(r.tx_power_w), per_bps(r.tx_power_w_per_bps), num(r.rx_power_w), per_bps(r.rx_power_w_per_bps),
               num(r.promotion_s) + " / " + num(r.promotion_power_w), num(r.tail_s) + " / " + num(r.tail_power_w),
               p.confidence, p.description);
  }
}

int run_profiles(const ProfilesOptions& o)
{
  // Sorted by kind, then name (builtin_profile_names is sorted).
  const std::vector<std::string> kinds =
      o.kind.empty() ? std::vector<std::string>{"device", "network", "server"} : std::vector<std::string>{o.kind};
  if (o.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& kind : kinds)
      for (const auto& name : builtin_profile_names(kind)) {
        const auto file = builtin_profile_file(kind, name);
        const auto j = builtin_profile_json(kind, name, file, "$");
        all.push_back(kind == "network" ? to_json(network_profile_from_json(j, file, "$"))
                                        : to_json(compute_profile_from_json(j, kind, file, "$")));
      }
    fmt::print("{}\n", all.dump(2));
    return 0;
  }
  bool first = true;
  for (const auto& kind : kinds) {
    if (!first)
      fmt::print("\n");
    first = false;
    if (kind == "network")
      print_network();
    else
      print_compute(kind);
  }
  fmt::print("\nrate: effective MAC/s of one inference at a time (pstate 0); powers in W; memory in binary units; "
             "latency one-way;\ncost model: kernel rates and overheads at pstate 0 (* = default format; ideal = MACs / "
             "rate); sparse speed-up: density:speed-up points;\nmax B: largest frame payload (- = unlimited); duty: duty cycle; radio power = tx W + "
             "tx W/bps x throughput (likewise rx);\npromotion/tail: duration s / power W; confidence: S solid, "
             "D derived, R rough (docs/profiles.md)\n");
  return 0;
}

} // namespace

void add_profiles_command(CLI::App& app, Action& action)
{
  auto o = std::make_shared<ProfilesOptions>();
  auto* c = app.add_subcommand("profiles", "List the built-in device, server and network profiles (validated), "
                                           "sorted by kind then name; from $SCEE_PROFILE_DIR if set");
  c->add_option("--kind", o->kind, "only this kind: device, server or network")
      ->check(CLI::IsMember({"device", "server", "network"}));
  c->add_flag("--json", o->json, "print the profiles as a JSON array (every key, defaults filled)");
  c->callback([o, &action] { action = [o] { return run_profiles(*o); }; });
}

} // namespace scee
