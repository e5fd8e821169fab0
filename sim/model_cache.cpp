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
  Network net(spec.network);
  std::unique_ptr<Progress> bar;
  if (!quiet) {
    fmt::print(stderr, "training the scenario's model once (cached as {})\n", path);
    bar = std::make_unique<Progress>("train");
  }
  TrainCallbacks cb;
  cb.on_batch = [&](const TrainProgress& p) {
    if (bar)
      bar->update((double(p.epoch - 1) + double(p.batch) / p.batches) / p.epochs,
                  fmt::format("epoch {}/{} loss {:.4f} acc {:.2f}%", p.epoch, p.epochs, p.loss, 100 * p.accuracy));
  };
  const auto records = train(net, t, train_set, &test_set, cb);
  if (bar)
    bar->finish(fmt::format("test accuracy {:.2f}%", 100 * records.back().test_accuracy));
  double seconds = 0;
  for (const auto& r : records)
    seconds += r.seconds;
  ModelFile file{net, t,
                 {{"test_accuracy", records.back().test_accuracy},
                  {"test_exit_accuracy", records.back().test_exit_accuracy},
                  {"train_accuracy", records.back().train_accuracy},
                  {"epochs_trained", records.size()},
                  {"seconds_per_epoch", seconds / double(records.size())}}};
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  save_model(path, file); // atomic: concurrent sweep points never read a half-written model
  return {std::move(file), path, true};
}

} // namespace scee
