#include "model_cache.hpp"

#include "dataset.hpp"
#include "error.hpp"
#include "progress.hpp"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <memory>

namespace scee {

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

ResolvedModel obtain_model(const Scenario& s, bool quiet)
{
  if (s.model_file)
    return {load_model(*s.model_file), *s.model_file, false};
  const ModelSpec& spec = *s.model_spec;
  const std::string path = fmt::format("{}/models/{}.scee", cache_dir(), model_hash(spec));
  if (std::filesystem::exists(path))
    return {load_model(path), path, false};

  const auto& t = spec.training;
  const int width = spec.network.widths.front();
  const Dataset train_set = load_dataset(t.dataset, Split::train, width, t.train_samples);
  const Dataset test_set = load_dataset(t.dataset, Split::test, width, t.test_samples);
  if (!quiet)
    fmt::print(stderr, "training the scenario's model once (cached as {})\n", path);
  ModelFile file = train_model_file(Network(spec.network), t, train_set, test_set, quiet);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  save_model(path, file); // atomic: concurrent sweep points never read a half-written model
  return {std::move(file), path, true};
}

} // namespace scee
