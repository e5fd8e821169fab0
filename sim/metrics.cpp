#include "metrics.hpp"

#include "error.hpp"
#include "output.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>

namespace scee {

std::vector<std::int64_t> activation_sizes(const NetworkSpec& spec)
{
  std::vector<std::int64_t> sizes;
  for (int k = 0; k <= spec.depth(); ++k)
    sizes.push_back(spec.shape(k).size());
  return sizes;
}

std::vector<int> fan_outs(const NetworkSpec& spec)
{
  std::vector<int> out;
  for (const auto& l : spec.layers)
    if (l.has_parameters())
      out.push_back(l.fan_out);
  return out;
}

double percentile(std::vector<double> values, double p)
{
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  const auto rank = std::size_t(std::ceil(p * double(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

EdgeFootprint edge_footprint(const Scenario& s, const Network& net)
{
  EdgeFootprint f;
  // Parameters and indices of the head and of the exit branches it runs; activations as two fp32 buffers of the
  // largest tensor the device holds (a layer reads one and writes the other).
  const NetworkSpec& spec = net.spec();
  f.storage_bytes = net.cost(0, s.split_after).storage_bytes;
  std::int64_t widest = spec.input.size();
  for (int j = 1; j <= s.split_after; ++j)
    widest = std::max(widest, spec.shape(j).size());
  for (int layer : s.device_exits) {
    const auto e = std::size_t(net.exit_after(layer));
    f.storage_bytes += net.exit_cost(e).storage_bytes;
    for (int i = 1; i <= net.exit_depth(e); ++i)
      widest = std::max(widest, spec.exit_shape(e, i).size());
  }
  f.activation_bytes = 2 * widest * 4;
  return f;
}

std::string infeasibility(const Scenario& s, const Network& net)
{
  const EdgeFootprint fp = edge_footprint(s, net);
  if (fp.total() <= s.device.memory_bytes)
    return "";
  return fmt::format("infeasible: the head needs {} bytes of memory ({} for parameters and indices plus {} for "
                     "activations) but device \"{}\" has {}",
                     fp.total(), fp.storage_bytes, fp.activation_bytes, s.device.name, s.device.memory_bytes);
}

nlohmann::ordered_json summarize(const Scenario& s, const Network& net, const SimulationResult& r)
{
  const auto n = double(r.samples.size());
  const int L = net.depth();
  long correct = 0, offloaded = 0, edge_final = 0, fallback = 0, failed = 0, retries = 0, timeouts = 0,
       link_failures = 0;
  std::vector<long> exits(s.device_exits.size(), 0);
  std::vector<double> latency;
  double bytes_up = 0, bytes_down = 0, edge_macs = 0, server_macs = 0, first_arrival = 1e300, last_finish = 0;
  for (const auto& x : r.samples) {
    correct += x.correct();
    latency.push_back(x.latency_s());
    bytes_up += double(x.bytes_up);
    bytes_down += double(x.bytes_down);
    edge_macs += double(x.edge_macs);
    server_macs += double(x.server_macs);
    first_arrival = std::min(first_arrival, x.arrival_s);
    last_finish = std::max(last_finish, x.finish_s);
    retries += std::max(0, x.attempts - 1);
    timeouts += x.timeouts;
    link_failures += x.link_failures;
    switch (x.answered_by) {
    case AnsweredBy::server: ++offloaded; break;
    case AnsweredBy::edge_final: ++edge_final; break;
    case AnsweredBy::edge_fallback: ++fallback; break;
    case AnsweredBy::failed: ++failed; break;
    case AnsweredBy::edge_exit:
      for (std::size_t e = 0; e < s.device_exits.size(); ++e)
        exits[e] += s.device_exits[e] == x.exit_layer;
      break;
    }
  }
  double mean = 0;
  for (double v : latency)
    mean += v;
  mean /= n;
  const auto fp = edge_footprint(s, net);

  nlohmann::ordered_json j;
  // Configuration first.
  j["scenario"] = s.name;
  j["dataset"] = s.dataset;
  j["widths"] = fmt::format("{}", fmt::join(activation_sizes(net.spec()), "-"));
  j["fan_outs"] = fmt::format("{}", fmt::join(fan_outs(net.spec()), "-"));
  j["split_after"] = s.split_after;
  j["device_exits"] = fmt::format("{}", fmt::join(s.device_exits, "-"));
  j["criterion"] = to_string(s.criterion);
  j["threshold"] = s.threshold;
  j["encoding"] = to_string(s.encoding);
  j["device"] = s.device.name;
  j["device_count"] = s.device_count;
  j["device_pstate"] = s.device_pstate;
  j["device_cost_model"] = s.device.cost_model ? to_string(s.device_cost_model) : std::string("ideal");
  j["device_number_format"] = s.device_format ? nlohmann::ordered_json(to_string(*s.device_format))
                                              : nlohmann::ordered_json(nullptr);
  j["device_sleep"] = s.device_sleep ? s.device_sleep->name : std::string("none");
  j["network"] = s.network.name;
  j["server"] = s.server.name;
  j["arrival"] = to_string(s.arrival);
  j["faults"] = s.faults.any();
  j["request_timeout_s"] = s.offload.request_timeout_s > 0 ? nlohmann::ordered_json(s.offload.request_timeout_s)
                                                           : nlohmann::ordered_json(nullptr); // none
  j["retries"] = s.offload.retries;
  j["fallback"] = to_string(s.offload.fallback);
  j["network_model"] = s.network_model;
  j["seed"] = s.seed;
  // Metrics. Those of the simulated system are null (empty in CSV) for an infeasible configuration, which is not
  // simulated; the model's own numbers and the footprint stay.
  const bool feasible = fp.total() <= s.device.memory_bytes;
  j["feasible"] = feasible;
  j["samples"] = r.samples.size();
  const auto first_simulated = j.size();
  j["accuracy"] = double(correct) / n;
  long exited = 0;
  for (long e : exits)
    exited += e;
  j["exit_rate"] = double(exited) / n;
  for (std::size_t e = 0; e < s.device_exits.size(); ++e)
    j[fmt::format("exit_rate_layer_{}", s.device_exits[e])] = double(exits[e]) / n;
  j["edge_final_rate"] = double(edge_final) / n;
  j["offload_rate"] = double(offloaded) / n;
  // Faults: answers from the device's own exit after offloading failed, samples without an answer (counted as wrong
  // in accuracy), and the accuracy of the answered ones.
  j["fallback_rate"] = double(fallback) / n;
  j["failure_rate"] = double(failed) / n;
  j["answered_accuracy"] = failed < long(r.samples.size()) ? double(correct) / (n - double(failed)) : 0.0;
  j["retries_per_inference"] = double(retries) / n;
  j["timeouts_per_inference"] = double(timeouts) / n;
  j["link_failures_per_inference"] = double(link_failures) / n;
  j["latency_mean_s"] = mean;
  j["latency_p50_s"] = percentile(latency, 0.50);
  j["latency_p95_s"] = percentile(latency, 0.95);
  j["latency_p99_s"] = percentile(latency, 0.99);
  j["latency_max_s"] = percentile(latency, 1.0);
  j["throughput_per_s"] = last_finish > first_arrival ? n / (last_finish - first_arrival) : 0.0;
  j["simulated_time_s"] = r.end_s;
  const double radio = r.radio.total_j();
  j["edge_energy_per_inference_j"] = (r.device_energy_j + radio) / n;
  j["edge_compute_energy_per_inference_j"] = r.device_compute_energy_j / n;
  j["edge_idle_energy_per_inference_j"] =
      (r.device_energy_j - r.device_compute_energy_j - r.device_sleep_energy_j - r.device_wake_energy_j) / n;
  j["edge_sleep_energy_per_inference_j"] = r.device_sleep_energy_j / n;
  j["edge_wake_energy_per_inference_j"] = r.device_wake_energy_j / n;
  j["wakeups_per_inference"] = double(r.wakeups) / n;
  j["radio_energy_per_inference_j"] = radio / n;
  j["radio_tx_energy_per_inference_j"] = r.radio.tx_j / n;
  j["radio_rx_energy_per_inference_j"] = r.radio.rx_j / n;
  j["radio_promotion_energy_per_inference_j"] = r.radio.promotion_j / n;
  j["radio_tail_energy_per_inference_j"] = r.radio.tail_j / n;
  j["radio_idle_energy_per_inference_j"] = r.radio.idle_j / n;
  j["server_energy_per_inference_j"] = r.server_energy_j / n;
  // Battery: per device, the usable energy over the device's average power (host and radio) in this run; the first
  // device to run empty gives both columns.
  j["battery_lifetime_s"] = nullptr;
  j["inferences_per_charge"] = nullptr;
  if (s.battery && feasible && r.end_s > 0) {
    double lifetime = std::numeric_limits<double>::infinity(), per_charge = lifetime;
    std::vector<long> count(std::size_t(s.device_count), 0);
    for (const auto& x : r.samples)
      ++count[std::size_t(x.device)];
    for (std::size_t d = 0; d < count.size(); ++d) {
      const double power_w = (r.per_device_energy_j[d] + r.per_device_radio_j[d]) / r.end_s;
      if (power_w <= 0)
        continue;
      const double t = s.battery->usable_j() / power_w;
      lifetime = std::min(lifetime, t);
      per_charge = std::min(per_charge, t * double(count[d]) / r.end_s);
    }
    if (std::isfinite(lifetime)) {
      j["battery_lifetime_s"] = lifetime;
      j["inferences_per_charge"] = per_charge;
    }
  }
  j["uplink_bytes_per_inference"] = bytes_up / n;
  j["downlink_bytes_per_inference"] = bytes_down / n;
  j["edge_macs_per_inference"] = edge_macs / n;
  j["server_macs_per_inference"] = server_macs / n;
  j["total_macs_per_inference"] = (edge_macs + server_macs) / n;
  if (!feasible) {
    std::size_t i = 0;
    for (auto item : j.items())
      if (i++ >= first_simulated)
        item.value() = nullptr;
  }
  // The whole backbone against the fully connected network of the same widths (the paper's trade-off), in closed
  // form (the dense twin of a wide sparse network may be too large to build).
  const NetworkCost model = net.cost(0, L), dense = net.spec().dense().cost(0, L);
  j["model_final_accuracy"] = r.final_output_accuracy;
  j["model_weights"] = model.weights;
  j["model_density"] = double(model.weights) / double(dense.weights);
  j["model_macs"] = model.macs;
  j["model_storage_bytes"] = model.storage_bytes;
  // The split: per-sample MACs of the head (device, exits excluded) and the tail (server), and the elements of the
  // activation the device sends.
  j["head_macs"] = net.cost(0, s.split_after).macs;
  j["tail_macs"] = net.cost(s.split_after, L).macs;
  j["split_activation_elements"] = net.spec().shape(s.split_after).size();
  j["fc_weights"] = dense.weights;
  j["fc_macs"] = dense.macs;
  j["fc_storage_bytes"] = dense.storage_bytes;
  j["edge_storage_bytes"] = fp.storage_bytes;
  j["edge_memory_bytes"] = fp.total();
  j["device_memory_bytes"] = s.device.memory_bytes;
  j["head_fits_memory"] = fp.total() <= s.device.memory_bytes;
  // Valid inputs give finite numbers; a NaN or an infinity would be written as a number nobody can use.
  for (const auto& [key, value] : j.items())
    if (value.is_number_float() && !std::isfinite(value.get<double>()))
      throw InputError(fmt::format("{}: the simulation produced a non-finite {} ({}): the scenario's numbers are beyond "
                                   "what the engine can represent; see the physical ranges in docs/scenarios.md",
                                   s.file, key, value.get<double>()));
  return j;
}

std::string summary_csv(const nlohmann::ordered_json& summary)
{
  std::vector<std::string> head, row;
  for (const auto& [key, value] : summary.items()) {
    head.push_back(key);
    row.push_back(csv_cell(value));
  }
  return fmt::format("{}\n{}\n", fmt::join(head, ","), fmt::join(row, ","));
}

std::string trace_csv(const SimulationResult& r)
{
  std::string out = "sample,device,label,prediction,correct,answered_by,exit_layer,arrival_s,start_s,finish_s,"
                    "latency_s,wake_s,edge_compute_s,promotion_s,uplink_s,response_wait_s,bytes_up,bytes_down,edge_macs,"
                    "server_macs,edge_compute_energy_j,radio_energy_j,attempts,link_failures,timeouts\n";
  for (const auto& x : r.samples)
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", x.sample, x.device,
                       x.label,
                       x.prediction, int(x.correct()), to_string(x.answered_by), x.exit_layer, x.arrival_s, x.start_s,
                       x.finish_s, x.latency_s(), x.wake_s, x.edge_compute_s, x.promotion_s, x.uplink_s, x.response_wait_s,
                       x.bytes_up, x.bytes_down, x.edge_macs, x.server_macs, x.edge_compute_energy_j,
                       x.radio_energy_j, x.attempts, x.link_failures, x.timeouts);
  return out;
}

} // namespace scee
