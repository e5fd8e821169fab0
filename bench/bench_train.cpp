// Seconds per MNIST training epoch of scee's trainer (one thread), for the comparison with the PyTorch peers
// (bench/torch_peer.py for MLPs, bench/torch_cnn_peer.py for B-LeNet). Times the training loop only (shuffle, batch
// gathering, forward, backward, Adam), like the peers; the test evaluation is timed separately. With --split K it
// also times the batch-1 forward passes the simulation runs: the head (layers 1..K and the exits it reaches) and
// the tail (K+1..L), per sample over the test set. Prints one JSON line.
//
//   bench_train [--widths 800,40,40,10] [--fan-outs 2,9,10] [--exit-after K] | [--spec FILE]
//               [--epochs N] [--seed S] [--train-samples N] [--split K]
#include "dataset.hpp"
#include "inference.hpp"
#include "model_spec.hpp"
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
  std::vector<int> widths = {800, 40, 40, 10}, fan_outs = {2, 9, 10};
  std::string spec_file;
  int epochs = 3, exit_after = 0, train_samples = 0, split = -1;
  std::uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--widths")
      widths = int_list(value);
    else if (flag == "--fan-outs")
      fan_outs = int_list(value);
    else if (flag == "--exit-after")
      exit_after = std::stoi(value);
    else if (flag == "--spec")
      spec_file = value;
    else if (flag == "--epochs")
      epochs = std::stoi(value);
    else if (flag == "--seed")
      seed = std::stoull(value);
    else if (flag == "--train-samples")
      train_samples = std::stoi(value);
    else if (flag == "--split")
      split = std::stoi(value);
    else {
      std::fprintf(stderr, "bench_train: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "bench_train: options take one value each\n");
    return 2;
  }
  try {
    scee::NetworkSpec spec;
    scee::TrainConfig cfg;
    if (!spec_file.empty()) {
      const scee::ModelSpec m = scee::load_model_spec(spec_file);
      spec = m.network;
      cfg = m.training; // the spec's recipe (batch, learning rate, ...); epochs and seed from the flags
    } else {
      std::vector<std::pair<int, int>> exits;
      if (exit_after > 0)
        exits.emplace_back(exit_after, widths.back());
      spec = scee::NetworkSpec::mlp(widths, fan_outs, exits, 1);
    }
    const int input = int(spec.input.size());
    const auto load_start = std::chrono::steady_clock::now();
    const scee::Dataset train = scee::load_dataset("mnist", scee::Split::train, input, train_samples);
    const scee::Dataset test = scee::load_dataset("mnist", scee::Split::test, input);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

    scee::Network net(spec);
    cfg.epochs = epochs;
    cfg.train_samples = cfg.test_samples = 0;
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
    nlohmann::json out = {{"network", scee::to_json(spec)},
                          {"weights", spec.weight_count()},
                          {"macs", spec.cost(0, spec.depth()).macs},
                          {"epochs", epochs},
                          {"batch_size", cfg.batch_size},
                          {"train_samples", train.count()},
                          {"seconds_per_epoch", wall},
                          {"cpu_seconds_per_epoch", cpu},
                          {"median_seconds_per_epoch", median(wall)},
                          {"median_cpu_seconds_per_epoch", median(cpu)},
                          {"last_loss", loss},
                          {"test_accuracy", acc.final_accuracy},
                          {"test_evaluation_s", eval_s},
                          {"dataset_load_s", load_s}};
    if (split >= 0) { // batch-1 head and tail (as the actors ran them before), and the batched pass simulate() runs
      const int L = net.depth();
      double head = 0, tail = 0;
      scee::Activations a, next;
      for (int i = 0; i < test.count(); ++i) {
        a = test.x.col(i);
        const auto t0 = std::chrono::steady_clock::now();
        for (int j = 1; j <= split; ++j) {
          net.forward_layer(j, a, next);
          a.swap(next);
          if (const int e = net.exit_after(j); e >= 0)
            (void)net.exit_logits(std::size_t(e), a);
        }
        const auto t1 = std::chrono::steady_clock::now();
        const scee::Activations logits = net.forward_range(split, L, a);
        const auto t2 = std::chrono::steady_clock::now();
        head += std::chrono::duration<double>(t1 - t0).count();
        tail += std::chrono::duration<double>(t2 - t1).count();
      }
      std::vector<int> exits;
      for (const auto& x : net.spec().exits)
        if (x.after_layer <= split && x.after_layer < L)
          exits.push_back(x.after_layer);
      const auto b0 = std::chrono::steady_clock::now();
      const scee::SplitInference batched = scee::infer_split(net, test, split, exits);
      out["batched_forward_us"] =
          1e6 * std::chrono::duration<double>(std::chrono::steady_clock::now() - b0).count() / test.count();
      out["batched_predictions"] = batched.final_output.size();
      out["split"] = split;
      out["head_forward_us"] = 1e6 * head / test.count();
      out["tail_forward_us"] = 1e6 * tail / test.count();
    }
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 2;
  }
  return 0;
}
