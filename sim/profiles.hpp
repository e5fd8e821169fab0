// Device, server and network profiles: the measured numbers (with units, sources and a confidence tag) that the
// simulated platform is built from. Built-in profiles live in scenarios/profiles/{devices,networks,servers}/.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scee {

/// One operating point of a compute host.
struct PState {
  double rate_macs_per_s = 0; ///< effective NN rate of one inference at a time
  double idle_power_w = 0;    ///< drawn while not computing
  double active_power_w = 0;  ///< drawn while computing
};

/// An edge device or a server ("kind" tells which).
struct ComputeProfile {
  std::string name, kind, description, confidence, notes;
  std::vector<PState> pstates; ///< the first is the default operating point
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
