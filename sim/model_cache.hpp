// The model a scenario names: a model file, or a spec trained once and cached under a hash of spec and training
// settings (which include the training seed), so that every later run and sweep point reuses it.
#pragma once

#include "model_file.hpp"
#include "scenario.hpp"

#include <functional>

#include <string>

namespace scee {

/// $SCEE_CACHE_DIR, else <source dir>/.cache: trained models go to <dir>/models/<hash>.scee.
std::string cache_dir();

struct ResolvedModel {
  ModelFile model;
  std::string path; ///< the file it was read from (or cached to)
  bool trained_now = false;
};

/// Trains `net` (with a progress bar unless quiet; `on_epoch` sees every epoch) and returns it as a model file whose
/// results hold the last epoch's accuracies and the mean seconds per epoch. The one training path of the CLI.
ModelFile train_model_file(Network net, const TrainConfig& t, const Dataset& train_set, const Dataset& test_set,
                           bool quiet, const std::function<void(const EpochRecord&)>& on_epoch = {});

/// Loads the scenario's model file, or the cached model of its spec (training it first when absent, with a
/// progress bar unless quiet).
ResolvedModel obtain_model(const Scenario& s, bool quiet);

} // namespace scee
