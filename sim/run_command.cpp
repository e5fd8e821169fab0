#include "run_command.hpp"

#include "error.hpp"
#include "metrics.hpp"
#include "output.hpp"
#include "runner.hpp"
#include "scenario.hpp"
#include "simulation.hpp"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>

namespace scee {

namespace {

/// A duration for people, in us, ms or s by its magnitude (the CSV and JSON outputs keep seconds).
std::string human_seconds(double s)
{
  if (s < 1e-3)
    return fmt::format("{:.4g} us", s * 1e6);
  if (s < 1.0)
    return fmt::format("{:.4g} ms", s * 1e3);
  return fmt::format("{:.4g} s", s);
}

struct RunOptions {
  std::string scenario, out;
  bool quiet = false;
};

int run(const RunOptions& o, const std::string& command_line)
{
  const auto wall_start = std::chrono::steady_clock::now();
  check_path_text(o.scenario, "the scenario file");
  Scenario scenario = load_scenario(o.scenario);
  const std::string out = normal_path(o.out.empty() ? fmt::format("results/{}", scenario.name) : o.out);
  const std::vector<std::string> files = {"samples.csv", "summary.csv", "summary.json", "manifest.json"};
  check_output_folder(out, files, "--out"); // before the work, not after it
  const RunOutput run = run_scenario(std::move(scenario), o.quiet);
  const Scenario& s = run.scenario;
  const auto& summary = run.summary;
  const SimulationResult& r = run.result;
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  nlohmann::json manifest = manifest_base(command_line);
  manifest["scenario_file"] = o.scenario;
  manifest["scenario"] = to_json(s);
  manifest["network_model"] = s.network_model;
  manifest["crosstraffic"] = s.crosstraffic;
  manifest["seed"] = s.seed;
  manifest["model_file"] = run.model_path;
  manifest["model"] = run.model_header;
  manifest["wall_time_s"] = wall_s;

  // The four files appear together or not at all (a full disk leaves the earlier run's folder as it was).
  write_folder_atomic(out,
                      {{"samples.csv", trace_csv(r)},
                       {"summary.csv", summary_csv(summary)},
                       {"summary.json", summary.dump(2) + "\n"},
                       {"manifest.json", manifest.dump(2) + "\n"}},
                      "--out");

  if (!run.infeasible.empty()) {
    fmt::print("{}: {} x {} over {} to {}, split after layer {}: {}; nothing simulated (feasible = 0)\n", s.name,
               s.device_count, s.device.name, s.network.name, s.server.name, s.split_after, run.infeasible);
    fmt::print("  wrote {}/summary.json, summary.csv, samples.csv, manifest.json ({:.2f} s wall)\n", out, wall_s);
    return 0;
  }
  fmt::print("{}: {} samples on {} x {} over {} to {}, split after layer {}\n", s.name, r.samples.size(), s.device_count,
             s.device.name, s.network.name, s.server.name, s.split_after);
  fmt::print("  accuracy {:.2f}%  offload rate {:.1f}%", 100 * summary["accuracy"].get<double>(),
             100 * summary["offload_rate"].get<double>());
  for (int layer : s.device_exits)
    fmt::print("  exit rate after layer {} {:.1f}%", layer,
               100 * summary[fmt::format("exit_rate_layer_{}", layer)].get<double>());
  if (s.faults.any() || summary["failure_rate"].get<double>() > 0)
    fmt::print("  fallback rate {:.1f}%  failure rate {:.1f}%  retries {:.3g}/inference",
               100 * summary["fallback_rate"].get<double>(), 100 * summary["failure_rate"].get<double>(),
               summary["retries_per_inference"].get<double>());
  // The energy breakdown adds up to the total: compute, idle, sleep and wake-up (when the device sleeps), radio.
  const double sleep_j = summary["edge_sleep_energy_per_inference_j"].get<double>() +
                         summary["edge_wake_energy_per_inference_j"].get<double>();
  fmt::print("\n  latency p50 {}  p95 {}  edge energy {:.4g} J/inference (compute {:.3g}, idle {:.3g}, {}"
             "radio {:.3g})  uplink {:.1f} B/inference\n",
             human_seconds(summary["latency_p50_s"].get<double>()),
             human_seconds(summary["latency_p95_s"].get<double>()),
             summary["edge_energy_per_inference_j"].get<double>(),
             summary["edge_compute_energy_per_inference_j"].get<double>(),
             summary["edge_idle_energy_per_inference_j"].get<double>(),
             s.device_sleep ? fmt::format("sleep and wake-up {:.3g}, ", sleep_j) : std::string(),
             summary["radio_energy_per_inference_j"].get<double>(),
             summary["uplink_bytes_per_inference"].get<double>());
  if (!summary["battery_lifetime_s"].is_null())
    fmt::print("  battery lifetime {:.4g} days ({:.4g} inferences per charge)\n",
               summary["battery_lifetime_s"].get<double>() / 86400.0,
               summary["inferences_per_charge"].get<double>());
  fmt::print("  wrote {}/summary.json, summary.csv, samples.csv, manifest.json ({:.2f} s wall)\n", out, wall_s);
  return 0;
}

} // namespace

void add_run_command(CLI::App& app, Action& action, const std::string& command_line)
{
  auto o = std::make_shared<RunOptions>();
  auto* c = app.add_subcommand("run", "Simulate one scenario: the split network executed on real test samples, "
                                      "devices, network and server on SimGrid; writes summary.json, summary.csv, "
                                      "samples.csv (one row per sample) and manifest.json");
  c->add_option("scenario", o->scenario, "scenario JSON file (see docs/scenarios.md)")->required();
  c->add_option("--out", o->out, "output directory (default: results/<scenario name>)");
  c->add_flag("--quiet", o->quiet, "no progress bar");
  c->callback([o, &action, command_line] { action = [o, command_line] { return run(*o, command_line); }; });
}

} // namespace scee
