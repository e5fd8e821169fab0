// Device, server and network profiles: the measured numbers (with units, sources and a confidence tag) that the
// simulated platform is built from. Built-in profiles live in scenarios/profiles/{devices,networks,servers}/.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace scee {

/// A number format: of the activation a device transmits (scenario "encoding") and of a host's kernels (a cost
/// model's "formats").
enum class Encoding { fp32, fp16, int8 };
std::string to_string(Encoding e);
/// Bytes per value.
int value_bytes(Encoding e);
/// The format named "fp32", "fp16" or "int8" (anything else is a programming error: validate first).
Encoding parse_encoding(const std::string& name);

/// One operating point of a compute host.
struct PState {
  double rate_macs_per_s = 0; ///< effective NN rate of one inference at a time
  double idle_power_w = 0;    ///< drawn while not computing
  double active_power_w = 0;  ///< drawn while computing
};

/// Speed-up of a predefined-sparse kernel over the dense kernel running the layer's fully connected counterpart, as
/// a function of the layer's density (existing / possible connections): linear between (density, speed-up) points
/// sorted by density, constant beyond the first and the last.
struct SparseSpeedup {
  std::vector<std::pair<double, double>> points;
  double at(double density) const;
};

/// A cost model's kernels for one number format, at the first pstate.
struct FormatKernels {
  Encoding format = Encoding::int8;
  double fc_rate_macs_per_s = 0, conv_rate_macs_per_s = 0; ///< dense kernels
  SparseSpeedup fc_sparse_speedup, conv_sparse_speedup;
};

/// A calibrated per-layer cost model (docs/profiles.md, "Cost model"): a layer takes
/// layer_overhead + max(compute, bytes moved / memory bandwidth), an inference adds invoke_overhead. Times and rates
/// are at the first pstate; another pstate scales the rates up and the overheads down by its rate_macs_per_s over
/// the first pstate's (both are clock-bound); memory bandwidth does not scale.
struct CostModel {
  double invoke_overhead_s = 0;            ///< per inference on the host (runtime invoke)
  double layer_overhead_s = 0;             ///< per layer executed (kernel dispatch)
  double memory_bandwidth_bytes_per_s = 0; ///< weights, biases, indices and activations moved
  Encoding default_format = Encoding::int8;
  std::vector<FormatKernels> formats;      ///< at least the default format
  const FormatKernels* find(Encoding f) const;
};

/// A low-power state a device enters between requests (docs/profiles.md, "Sleep"): after after_idle_s without work
/// it draws power_w instead of its pstate's idle power; a request that finds it asleep first pays wake_s at
/// wake_power_w.
struct SleepState {
  std::string name;
  double power_w = 0;
  double after_idle_s = 0;
  double wake_s = 0;
  double wake_power_w = 0;
};

/// An edge device or a server ("kind" tells which).
struct ComputeProfile {
  std::string name, kind, description, confidence, notes;
  std::vector<PState> pstates; ///< the first is the default operating point
  std::optional<CostModel> cost_model; ///< absent: every layer takes MACs / rate_macs_per_s, nothing else
  std::vector<SleepState> sleep_states; ///< devices only; the first is the default
  const SleepState* find_sleep(const std::string& state_name) const;
  std::int64_t memory_bytes = 0;
  std::vector<std::string> sources;
};

/// Device-side radio power model: P_tx = tx_power_w + tx_power_w_per_bps * throughput, likewise for receiving;
/// promotion before transmitting from idle, tail after the last transfer (LTE-style, Huang et al.).
struct RadioModel {
  double tx_power_w = 0, tx_power_w_per_bps = 0;
  double rx_power_w = 0, rx_power_w_per_bps = 0;
  double idle_power_w = 0;
  double promotion_s = 0, promotion_power_w = 0;
  double tail_s = 0, tail_power_w = 0;
};

struct NetworkProfile {
  std::string name, kind, description, confidence, notes;
  double uplink_bandwidth_bps = 0, downlink_bandwidth_bps = 0;
  double latency_s = 0;                ///< one way
  std::int64_t max_payload_bytes = 0;  ///< 0 = unlimited; larger messages are fragmented (each fragment pays latency)
  double duty_cycle = 1.0;             ///< fraction of time the radio may transmit (LoRa EU868: 0.01)
  RadioModel radio;
  std::vector<std::string> sources;
};

/// Where built-in profiles are: $SCEE_PROFILE_DIR, else <source dir>/scenarios/profiles.
std::string profile_dir();

/// Validates a device/server profile object (strict: every key required, unknown keys refused). `kind` is
/// "device" or "server".
ComputeProfile compute_profile_from_json(const nlohmann::json& j, const std::string& kind, const std::string& file,
                                         const std::string& path);
NetworkProfile network_profile_from_json(const nlohmann::json& j, const std::string& file, const std::string& path);

/// The JSON of a built-in profile by name; kind is "device", "server" or "network". An unknown name is an
/// InputError listing the valid names (attributed to `file` and `path`, where the name was written).
nlohmann::json builtin_profile_json(const std::string& kind, const std::string& name, const std::string& file,
                                    const std::string& path);

/// The file a built-in profile is read from: <profile_dir()>/<kind>s/<name>.json (whether or not it exists).
std::string builtin_profile_file(const std::string& kind, const std::string& name);

/// Names of the built-in profiles of a kind, sorted.
std::vector<std::string> builtin_profile_names(const std::string& kind);

nlohmann::json to_json(const ComputeProfile& p);
nlohmann::json to_json(const NetworkProfile& p);

} // namespace scee
