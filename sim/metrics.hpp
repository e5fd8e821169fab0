// From per-sample records to the numbers a researcher reads: accuracy, exit rates, latency percentiles,
// throughput, energy per inference (broken down), bytes and MACs per inference, edge storage and memory fit.
#pragma once

#include "network.hpp"
#include "scenario.hpp"
#include "simulation.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scee {

/// Elements of each main-path activation, input first (an MLP's widths): the "widths" column.
std::vector<std::int64_t> activation_sizes(const NetworkSpec& spec);
/// Fan-out of each fc and conv layer of the main path: the "fan_outs" column.
std::vector<int> fan_outs(const NetworkSpec& spec);

/// Nearest-rank percentile (p in (0, 1]) of unsorted values: the value at rank ceil(p * n).
double percentile(std::vector<double> values, double p);

/// Bytes the device needs for the head: weights, biases and indices of junctions 1..k and of its exits, plus two
/// fp32 activation buffers of the widest layer it handles.
struct EdgeFootprint {
  std::int64_t storage_bytes = 0, activation_bytes = 0;
  std::int64_t total() const { return storage_bytes + activation_bytes; }
};
EdgeFootprint edge_footprint(const Scenario& s, const Network& net);

/// Empty when the head fits the device's memory (edge_footprint <= memory_bytes); otherwise one line saying why the
/// configuration is infeasible. An infeasible configuration is not simulated (docs/simulation.md, "Memory").
std::string infeasibility(const Scenario& s, const Network& net);

/// The summary of a run: configuration columns first, then metrics; units in every name. Stable key order.
/// `feasible` is false when the head does not fit the device; then `r` is empty and the metrics of the simulated
/// system are null.
nlohmann::ordered_json summarize(const Scenario& s, const Network& net, const SimulationResult& r);

/// The summary flattened to a CSV header line and one row.
std::string summary_csv(const nlohmann::ordered_json& summary);

/// One row per sample, ordered by sample index.
std::string trace_csv(const SimulationResult& r);

} // namespace scee
