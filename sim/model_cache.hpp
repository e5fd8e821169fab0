// The model a scenario names: a model file, or a spec trained once and cached under a hash of spec and training
// settings (which include the training seed), so that every later run and sweep point reuses it.
#pragma once

#include "dataset.hpp"
#include "inference.hpp"
#include "model_file.hpp"
#include "scenario.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace scee {

/// $SCEE_CACHE_DIR, else <source dir>/.cache: trained models go to <dir>/models/<key>.scee.
std::string cache_dir();
/// <cache_dir>/models/<key>.scee, the key a hash of the spec's network and training settings (model_hash), the
/// training revision and the build's instruction-set level: two builds that would train different bits never share
/// a cached model.
std::string cached_model_path(const ModelSpec& spec);

struct ResolvedModel {
  ModelFile model;
  std::string path; ///< the file it was read from (or cached to)
  bool trained_now = false;
};

/// Trains `net` (with a progress bar unless quiet; `on_epoch` sees every epoch) and returns it as a model file whose
/// results hold the last epoch's accuracies and the mean seconds per epoch. The one training path of the CLI.
ModelFile train_model_file(Network net, const TrainConfig& t, const Dataset& train_set, const Dataset& test_set,
                           bool quiet, const std::function<void(const EpochRecord&)>& on_epoch = {});

/// The file a scenario's model is read from: its model file, or the cached model of its spec.
std::string model_path(const Scenario& s);

/// The model at `path` if preload_inputs loaded it into this process, else null.
const ModelFile* loaded_model(const std::string& path);

/// Loads the scenario's model file, or the cached model of its spec (training it first when absent, with a
/// progress bar unless quiet). A model preload_inputs loaded in this process is not read again.
ResolvedModel obtain_model(const Scenario& s, bool quiet);

/// The test samples a run simulates: load_dataset(name, Split::test, input_width, limit), loaded once per process
/// (also by preload_inputs) and kept.
const Dataset& test_samples(const std::string& name, int input_width, int limit);

/// What the network's answers of a run (network_answers) depend on: the model (its file), the samples (dataset,
/// input width, count), the split, the device exits and the encoding.
struct AnswersKey {
  std::string model_path, dataset;
  int input_width = 0, samples = 0, split_after = 0;
  std::vector<int> device_exits;
  int encoding = 0;
  auto operator<=>(const AnswersKey&) const = default;
};
/// The key of a run of `s` with `model`, read from `model_path` (the dataset defaults to the model's).
AnswersKey answers_key(const std::string& model_path, const ModelFile& model, const Scenario& s);

/// The answers kept in this process for `key` (keep_answers), or null: a sweep's process keeps them so that the
/// points it forks after that share one execution of their network.
const SplitInference* kept_answers(const AnswersKey& key);
/// Keeps `answers` for `key` in this process; at most `kept_answers_bytes` in all, the oldest dropped first (never
/// the newest).
void keep_answers(const AnswersKey& key, SplitInference answers);
inline constexpr std::size_t kept_answers_bytes = std::size_t(64) << 20;

/// test_samples(name, input_width, limit) if this process has loaded them, else null (nothing is read).
const Dataset* loaded_test_samples(const std::string& name, int input_width, int limit);

/// Loads the models of `scenarios` (each already trained or a model file) and the test samples they simulate into
/// this process, so that processes forked from it (a sweep's points) find them in memory instead of reading and
/// checking the same files again. A model or dataset that fails to load is skipped: the run that needs it loads it
/// itself and reports the error.
void preload_inputs(const std::vector<const Scenario*>& scenarios);

} // namespace scee
