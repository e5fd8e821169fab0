// One scenario from validated configuration to metrics: obtain the model, load the samples, simulate, summarise.
// Shared by `scee run` and by every sweep point.
#pragma once

#include "model_cache.hpp"
#include "scenario.hpp"
#include "simulation.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace scee {

struct RunOutput {
  Scenario scenario;               ///< with the dataset resolved
  SimulationResult result;
  nlohmann::ordered_json summary;
  std::string model_path;
  nlohmann::json model_header;     ///< the model file's header without its tensor table
  std::string infeasible;          ///< why the head does not fit the device (then nothing was simulated), or empty
  bool answers_shared = false;     ///< the network's answers were those this process kept (keep_answers)
};

/// Runs a scenario in this process (SimGrid: at most once per process). `quiet` turns progress bars off. A
/// configuration whose head does not fit the device's memory is not simulated: `infeasible` says why, `result` has
/// no samples and the summary's simulated metrics are null.
RunOutput run_scenario(Scenario s, bool quiet);

/// The key of the network's answers run_scenario(s) computes (answers_key), when the scenario's model is loaded in
/// this process (preload_inputs); nothing is read or trained.
std::optional<AnswersKey> loaded_answers_key(const Scenario& s);

/// Computes the network's answers of `s` and keeps them in this process (keep_answers), so that the runs of
/// processes forked after it use them instead of computing their own: only with a model and test samples loaded in
/// this process (nothing is read or trained) and a scenario that passes the run's checks against them. True when
/// the answers are kept; any error is left for the run to report.
bool prepare_answers(Scenario s);

} // namespace scee
