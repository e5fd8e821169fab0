#include "model_cache.hpp"

#include "dataset.hpp"
#include "error.hpp"
#include "progress.hpp"
#include "sha256.hpp"
#include "trainer.hpp"

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <tuple>

namespace scee {

namespace {

/// What this process has loaded: models by path (filled by preload_inputs only) and test samples by
/// (dataset, input width, limit).
std::map<std::string, ModelFile>& loaded_models()
{
  static std::map<std::string, ModelFile> models;
  return models;
}

std::map<std::tuple<std::string, int, int>, Dataset>& loaded_samples()
{
  static std::map<std::tuple<std::string, int, int>, Dataset> samples;
  return samples;
}

/// The answers this process keeps, oldest first in `order`.
struct KeptAnswers {
  std::map<AnswersKey, SplitInference> answers;
  std::deque<AnswersKey> order;
  std::size_t bytes = 0;
};
KeptAnswers& kept()
{
  static KeptAnswers k;
  return k;
}

std::size_t answers_bytes(const SplitInference& a)
{
  return (a.exit_confidence.size() + a.final_output.size()) * sizeof(Confidence) +
         a.tail_prediction.size() * sizeof(int);
}

} // namespace

std::string cached_model_path(const ModelSpec& spec)
{
  const std::string build = fmt::format("{}-r{}-{}", model_hash(spec), training_revision, SCEE_BUILD_ARCH);
  return fmt::format("{}/models/{}.scee", cache_dir(), sha256_hex(build.data(), build.size()).substr(0, 16));
}

std::string cache_dir()
{
  if (const char* env = std::getenv("SCEE_CACHE_DIR"); env && *env)
    return env;
  return std::string(SCEE_SOURCE_DIR) + "/.cache";
}

ModelFile train_model_file(Network net, const TrainConfig& t, const Dataset& train_set, const Dataset& test_set,
                           bool quiet, const std::function<void(const EpochRecord&)>& on_epoch)
{
  std::unique_ptr<Progress> bar;
  if (!quiet)
    bar = std::make_unique<Progress>("train");
  TrainCallbacks cb;
  cb.on_batch = [&](const TrainProgress& p) {
    if (bar)
      bar->update((double(p.epoch - 1) + double(p.batch) / p.batches) / p.epochs,
                  fmt::format("epoch {}/{} batch {}/{} loss {:.4f} acc {:.2f}%", p.epoch, p.epochs, p.batch,
                              p.batches, p.loss, 100 * p.accuracy));
  };
  cb.on_epoch = on_epoch;
  const auto records = train(net, t, train_set, &test_set, cb);
  const auto& last = records.back();
  double seconds = 0;
  for (const auto& r : records)
    seconds += r.seconds;
  if (bar)
    bar->finish(fmt::format("test accuracy {:.2f}%", 100 * last.test_accuracy));
  return {std::move(net), t,
          {{"test_accuracy", last.test_accuracy},
           {"test_exit_accuracy", last.test_exit_accuracy},
           {"train_accuracy", last.train_accuracy},
           {"epochs_trained", records.size()},
           {"seconds_per_epoch", seconds / double(records.size())}}};
}

std::string model_path(const Scenario& s)
{
  return s.model_file ? *s.model_file : cached_model_path(*s.model_spec);
}

const ModelFile* loaded_model(const std::string& path)
{
  const auto it = loaded_models().find(path);
  return it == loaded_models().end() ? nullptr : &it->second;
}

ResolvedModel obtain_model(const Scenario& s, bool quiet)
{
  const std::string path = model_path(s);
  if (const ModelFile* m = loaded_model(path))
    return {*m, path, false};
  if (s.model_file)
    return {load_model(path), path, false};
  const ModelSpec& spec = *s.model_spec;
  if (std::filesystem::exists(path))
    return {load_model(path), path, false};

  const auto& t = spec.training;
  const int width = int(spec.network.input.size());
  const Dataset train_set = load_dataset(t.dataset, Split::train, width, t.train_samples);
  const Dataset test_set = load_dataset(t.dataset, Split::test, width, t.test_samples);
  if (!quiet)
    fmt::print(stderr, "training the scenario's model once (cached as {})\n", path);
  ModelFile file = train_model_file(Network(spec.network), t, train_set, test_set, quiet);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  save_model(path, file); // atomic: concurrent sweep points never read a half-written model
  return {std::move(file), path, true};
}

const Dataset& test_samples(const std::string& name, int input_width, int limit)
{
  const auto key = std::make_tuple(name, input_width, limit);
  auto it = loaded_samples().find(key);
  if (it == loaded_samples().end())
    it = loaded_samples().emplace(key, load_dataset(name, Split::test, input_width, limit)).first;
  return it->second;
}

AnswersKey answers_key(const std::string& model_path, const ModelFile& model, const Scenario& s)
{
  return {model_path,
          s.dataset.empty() ? model.training.dataset : s.dataset,
          int(model.network.spec().input.size()),
          s.samples,
          s.split_after,
          s.device_exits,
          int(s.encoding)};
}

const SplitInference* kept_answers(const AnswersKey& key)
{
  const auto it = kept().answers.find(key);
  return it == kept().answers.end() ? nullptr : &it->second;
}

void keep_answers(const AnswersKey& key, SplitInference answers)
{
  KeptAnswers& k = kept();
  const std::size_t bytes = answers_bytes(answers);
  if (!k.answers.try_emplace(key, std::move(answers)).second)
    return; // already kept (the same answers: they depend only on the key)
  k.order.push_back(key);
  k.bytes += bytes;
  while (k.bytes > kept_answers_bytes && k.order.size() > 1) {
    const auto oldest = k.answers.find(k.order.front());
    k.bytes -= answers_bytes(oldest->second);
    k.answers.erase(oldest);
    k.order.pop_front();
  }
}

const Dataset* loaded_test_samples(const std::string& name, int input_width, int limit)
{
  const auto it = loaded_samples().find(std::make_tuple(name, input_width, limit));
  return it == loaded_samples().end() ? nullptr : &it->second;
}

void preload_inputs(const std::vector<const Scenario*>& scenarios)
{
  for (const Scenario* s : scenarios) {
    const std::string path = model_path(*s);
    try {
      auto it = loaded_models().find(path);
      if (it == loaded_models().end())
        it = loaded_models().emplace(path, load_model(path)).first;
      const ModelFile& m = it->second;
      test_samples(s->dataset.empty() ? m.training.dataset : s->dataset, int(m.network.spec().input.size()), s->samples);
    } catch (const std::exception&) {
      // left for the run: it loads the file itself and reports what is wrong in its own words
    }
  }
}

} // namespace scee
