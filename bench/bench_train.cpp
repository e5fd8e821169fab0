// Seconds per MNIST training epoch of scee's trainer (one thread), for the comparison with the PyTorch masked-dense
// peer (bench/torch_peer.py). Times the training loop only (shuffle, batch gathering, forward, backward, Adam), like
// the peer; the test evaluation is timed separately. Prints one JSON line.
//
//   bench_train [--widths 800,40,40,10] [--fan-outs 2,9,10] [--exit-after K] [--epochs N] [--seed S]
#include "dataset.hpp"
#include "trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<int> int_list(const std::string& text)
{
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::stoi(item));
  return out;
}

double cpu_seconds()
{
  return double(std::clock()) / CLOCKS_PER_SEC;
}

} // namespace

int main(int argc, char** argv)
{
  scee::NetworkSpec spec;
  spec.widths = {800, 40, 40, 10};
  spec.fan_outs = {2, 9, 10};
  int epochs = 3, exit_after = 0;
  std::uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--widths")
      spec.widths = int_list(value);
    else if (flag == "--fan-outs")
      spec.fan_outs = int_list(value);
    else if (flag == "--exit-after")
      exit_after = std::stoi(value);
    else if (flag == "--epochs")
      epochs = std::stoi(value);
    else if (flag == "--seed")
      seed = std::stoull(value);
    else {
      std::fprintf(stderr, "bench_train: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "bench_train: options take one value each\n");
    return 2;
  }
  if (exit_after > 0)
    spec.exits.push_back({exit_after, spec.classes()});

  try {
    const auto load_start = std::chrono::steady_clock::now();
    const scee::Dataset train = scee::load_dataset("mnist", scee::Split::train, spec.widths.front());
    const scee::Dataset test = scee::load_dataset("mnist", scee::Split::test, spec.widths.front());
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

    scee::Network net(spec);
    scee::TrainConfig cfg;
    cfg.epochs = epochs;
    cfg.seed = seed;
    std::vector<double> wall, cpu; // per epoch; without a test set EpochRecord::seconds is the training loop only
    double loss = 0;
    double cpu_mark = cpu_seconds();
    scee::TrainCallbacks cb;
    cb.on_epoch = [&](const scee::EpochRecord& r) {
      const double now = cpu_seconds();
      wall.push_back(r.seconds);
      cpu.push_back(now - cpu_mark);
      loss = r.loss;
      cpu_mark = now;
    };
    scee::train(net, cfg, train, nullptr, cb);

    const auto eval_start = std::chrono::steady_clock::now();
    const scee::Accuracy acc = scee::evaluate(net, test);
    const double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();

    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
    };
    nlohmann::json out = {{"widths", spec.widths},
                          {"fan_outs", spec.fan_outs},
                          {"exit_after", exit_after},
                          {"weights", spec.weight_count()},
                          {"epochs", epochs},
                          {"train_samples", train.count()},
                          {"seconds_per_epoch", wall},
                          {"cpu_seconds_per_epoch", cpu},
                          {"median_seconds_per_epoch", median(wall)},
                          {"median_cpu_seconds_per_epoch", median(cpu)},
                          {"last_loss", loss},
                          {"test_accuracy", acc.final_accuracy},
                          {"test_evaluation_s", eval_s},
                          {"dataset_load_s", load_s}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 2;
  }
  return 0;
}
