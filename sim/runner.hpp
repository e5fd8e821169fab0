// One scenario from validated configuration to metrics: obtain the model, load the samples, simulate, summarise.
// Shared by `scee run` and by every sweep point.
#pragma once

#include "scenario.hpp"
#include "simulation.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace scee {

struct RunOutput {
  Scenario scenario;               ///< with the dataset resolved
  SimulationResult result;
  nlohmann::ordered_json summary;
  std::string model_path;
  nlohmann::json model_header;     ///< the model file's header without its tensor table
  std::string infeasible;          ///< why the head does not fit the device (then nothing was simulated), or empty
};

/// Runs a scenario in this process (SimGrid: at most once per process). `quiet` turns progress bars off. A
/// configuration whose head does not fit the device's memory is not simulated: `infeasible` says why, `result` has
/// no samples and the summary's simulated metrics are null.
RunOutput run_scenario(Scenario s, bool quiet);

/// What run_scenario would compute of the network before simulating (shared_answers), computed in this process ahead
/// of the run: a sweep calls it before forking each point, so the points that share a model, samples, split, device
/// exits and encoding share one execution of the network. Uses only models already trained or loaded (it never
/// trains); any error is left for the run to report.
void prepare_run(Scenario s);

} // namespace scee
