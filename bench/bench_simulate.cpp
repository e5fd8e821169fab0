// Simulated inferences per second of a scenario, and what the network alone costs for the same samples. With the
// scenario's model already cached (a `scee run` of it trains it once), this program
//   1. loads the model and the test samples (timed apart: not part of the simulation phase);
//   2. times the bare forward pass of those samples as the simulation runs it, batched ahead (infer_split): the
//      device's layers and exit heads, the tail, and the exit decisions (best of a few repetitions);
//   3. times simulate() once (SimGrid allows one engine per process), the simulation phase of `scee run`.
// Prints one JSON line.
//
//   bench_simulate SCENARIO.json [--forward-repetitions N]
#include "dataset.hpp"
#include "inference.hpp"
#include "model_cache.hpp"
#include "scenario.hpp"
#include "simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double cpu_seconds_since(std::clock_t t)
{
  return double(std::clock() - t) / CLOCKS_PER_SEC;
}

struct ForwardCount {
  int offloaded = 0;       ///< samples that do not exit on the device (and go to the server)
  long prediction_sum = 0; ///< keeps the results observable
};

/// The network's work for every sample, as the simulation does it: the batched pass of infer_split over the
/// device's exits and the tail (the scenario's encoding is fp32, so the tail computes on layer k's values).
ForwardCount bare_forward(const scee::Scenario& s, const scee::Network& net, const scee::Dataset& data)
{
  const int L = net.depth(), k = s.split_after;
  std::vector<int> exits;
  for (const int j : s.device_exits)
    if (j <= k && j < L)
      exits.push_back(j);
  const scee::SplitInference r = scee::infer_split(net, data, k, exits);
  ForwardCount count;
  for (int i = 0; i < data.count(); ++i) {
    bool answered = false;
    for (std::size_t e = 0; e < exits.size() && !answered; ++e) {
      answered = scee::confident_enough(s.criterion, r.exit(i, e), s.threshold);
      count.prediction_sum += r.exit(i, e).prediction;
    }
    if (!answered && k < L) {
      count.prediction_sum += r.tail_prediction[std::size_t(i)];
      ++count.offloaded;
    }
  }
  return count;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_simulate SCENARIO.json [--forward-repetitions N]\n");
    return 2;
  }
  const int repetitions = argc > 3 && std::string(argv[2]) == "--forward-repetitions" ? std::stoi(argv[3]) : 20;
  try {
    scee::Scenario s = scee::load_scenario(argv[1]);
    const auto model_start = std::chrono::steady_clock::now();
    const scee::ResolvedModel m = scee::obtain_model(s, true);
    const double model_load_s = seconds_since(model_start);
    if (m.trained_now)
      std::fprintf(stderr, "bench_simulate: the model was not cached; it has been trained now\n");
    const scee::Network& net = m.model.network;
    scee::check_against_model(s, net.spec());
    if (s.dataset.empty())
      s.dataset = m.model.training.dataset;
    const auto data_start = std::chrono::steady_clock::now();
    const scee::Dataset data =
        scee::load_dataset(s.dataset, scee::Split::test, int(net.spec().input.size()), s.samples);
    const double dataset_load_s = seconds_since(data_start);

    double forward_s = 1e300, forward_cpu_s = 1e300;
    ForwardCount forward;
    for (int r = 0; r < repetitions; ++r) {
      const auto t = std::chrono::steady_clock::now();
      const std::clock_t cpu = std::clock();
      forward = bare_forward(s, net, data);
      forward_s = std::min(forward_s, seconds_since(t));
      forward_cpu_s = std::min(forward_cpu_s, cpu_seconds_since(cpu));
    }

    const auto sim_start = std::chrono::steady_clock::now();
    const std::clock_t sim_cpu = std::clock();
    const scee::SimulationResult result = scee::simulate(s, net, data);
    const double simulate_s = seconds_since(sim_start), simulate_cpu_s = cpu_seconds_since(sim_cpu);
    int server_answered = 0;
    for (const auto& x : result.samples)
      server_answered += x.answered_by == scee::AnsweredBy::server;

    const nlohmann::json out = {{"scenario", argv[1]},
                                {"samples", data.count()},
                                {"devices", s.device_count},
                                {"model_load_s", model_load_s},
                                {"dataset_load_s", dataset_load_s},
                                {"bare_forward_s", forward_s},
                                {"bare_forward_cpu_s", forward_cpu_s},
                                {"bare_forward_offloaded", forward.offloaded},
                                {"simulate_s", simulate_s},
                                {"simulate_cpu_s", simulate_cpu_s},
                                {"simulated_offloaded", server_answered},
                                {"simulated_inferences_per_s", double(data.count()) / simulate_s}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_simulate: %s\n", e.what());
    return 2;
  }
  return 0;
}
