// One simulation run on SimGrid: the platform built from the scenario's profiles, a device actor per edge device
// that executes the head of the real network on real samples, and server workers that execute the tail. Produces
// one record per sample plus the energy the hosts (SimGrid's host energy plugin) and radios consumed.
// SimGrid allows one engine per process: call simulate() at most once per process.
#pragma once

#include "dataset.hpp"
#include "inference.hpp"
#include "network.hpp"
#include "radio.hpp"
#include "scenario.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scee {

/// Where a sample got its answer: a confident exit on the device, the device's final layer (edge only), the server,
/// the device's deepest exit after offloading failed (graceful degradation), or nowhere (a recorded failure).
enum class AnsweredBy { edge_exit, edge_final, server, edge_fallback, failed };
std::string to_string(AnsweredBy a);

/// What happened to one sample.
struct SampleRecord {
  int device = 0;
  int sample = 0;              ///< index in the dataset's test split
  int label = 0;
  int prediction = 0;           ///< -1 when the sample failed
  AnsweredBy answered_by = AnsweredBy::server;
  int exit_layer = 0;          ///< layer whose output answered (an exit's hidden layer, or L)
  double arrival_s = 0;        ///< request arrives at the device
  double start_s = 0;          ///< device starts it (after queueing behind earlier requests)
  double finish_s = 0;         ///< answer known on the device
  double wake_s = 0;           ///< wake-up the request waited for (the device was asleep when it arrived)
  double edge_compute_s = 0;   ///< simulated compute time on the device
  double promotion_s = 0;      ///< radio promotion before sending
  double uplink_s = 0;         ///< from the start of sending to the end of the transfer(s), all attempts
  double response_wait_s = 0;  ///< from the end of sending to the answer (server queue + compute + downlink) or to
                               ///< the failure, all attempts
  int attempts = 0;            ///< offload attempts (0 when answered on the device without offloading)
  int link_failures = 0;       ///< attempts ended by a link or server failure during a transfer
  int timeouts = 0;            ///< attempts ended by the request timeout
  std::int64_t bytes_up = 0, bytes_down = 0;
  std::int64_t edge_macs = 0, server_macs = 0;
  double edge_compute_energy_j = 0; ///< device active power x its compute time
  double radio_energy_j = 0;        ///< tx + rx + promotion of this sample (tails and idle are in the totals)
  double latency_s() const { return finish_s - arrival_s; }
  bool correct() const { return prediction == label; }
};

struct SimulationResult {
  std::vector<SampleRecord> samples; ///< ordered by sample index
  double end_s = 0;                  ///< simulated time when the last answer arrived
  double device_energy_j = 0;        ///< all devices, from SimGrid's host energy plugin (idle included)
  double device_compute_energy_j = 0;
  double device_sleep_energy_j = 0;  ///< all devices, while asleep (energy plugin deltas)
  double device_wake_energy_j = 0;   ///< all devices, while waking up
  long wakeups = 0;                  ///< all devices
  double server_energy_j = 0;        ///< from the host energy plugin (idle included)
  RadioEnergy radio;                 ///< all devices
  std::vector<double> per_device_energy_j;    ///< host energy plugin, per device
  std::vector<double> per_device_radio_j;     ///< radio energy, per device (tails and idle included)
  double final_output_accuracy = 0;  ///< the full network's own accuracy on the same samples (no exits, no split)
};

/// What the scenario's network computes for the samples, batched (docs/simulation.md): the exits the device
/// evaluates (those of split.exits at or before the split) and the tail on what the server receives (the encoding's
/// decoded values). It depends only on the network, the samples, the split, those exits and the encoding.
SplitInference network_answers(const Scenario& s, const Network& net, const Dataset& data);

/// Runs the scenario on `data` (the test samples to use, already limited) with `net`, whose answers for these samples
/// are `answers` (network_answers of the same scenario, network and samples); `on_sample` (optional) is called after
/// each answered sample with the number done so far.
SimulationResult simulate(const Scenario& s, const Network& net, const Dataset& data, const SplitInference& answers,
                          const std::function<void(int done)>& on_sample = {});
/// simulate with the network's answers computed here.
SimulationResult simulate(const Scenario& s, const Network& net, const Dataset& data,
                          const std::function<void(int done)>& on_sample = {});

/// Arrival times of one device's requests for open-loop workloads (periodic: staggered by device; Poisson: seeded
/// per device). Empty for closed loop.
std::vector<double> arrival_times(const Scenario& s, int device, int requests);

} // namespace scee
