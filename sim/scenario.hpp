// A scenario: everything one simulation run needs (model, data, split and exits, encoding, devices, network,
// server, workload, SimGrid settings, seed), read from JSON with strict validation and resolved (profiles looked
// up, overrides applied, defaults filled) so that the resolved form alone reproduces the run.
#pragma once

#include "model_spec.hpp"
#include "cost_model.hpp"
#include "network.hpp"
#include "profiles.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace scee {

enum class Arrival { periodic, poisson, closed_loop };
std::string to_string(Arrival a);

/// A resource unavailable from start_s for duration_s (infinite: until the end of the run).
struct Outage {
  double start_s = 0;
  double duration_s = 0;
  double end_s() const { return start_s + duration_s; }
};

/// From at_s on, a link carries factor x its profile's bandwidth (until the next step).
struct BandwidthStep {
  double at_s = 0;
  double factor = 1;
};

/// Faults of the simulated system, applied through SimGrid's state and bandwidth profiles. Each list is sorted by
/// time; outages of one resource do not overlap; bandwidth steps have increasing times.
struct Faults {
  std::vector<Outage> uplink_outages, downlink_outages, server_outages;
  std::vector<BandwidthStep> uplink_bandwidth, downlink_bandwidth;
  bool any() const
  {
    return !uplink_outages.empty() || !downlink_outages.empty() || !server_outages.empty() ||
           !uplink_bandwidth.empty() || !downlink_bandwidth.empty();
  }
};

/// What a device does when an offloaded request fails (link failure) or takes too long (timeout).
enum class Fallback { device_exit, none };
std::string to_string(Fallback f);

struct OffloadPolicy {
  double request_timeout_s = 0;  ///< per attempt, from its start to the answer; 0 = wait as long as it takes
  int retries = 0;               ///< further attempts after a failed one
  double retry_backoff_s = 0;    ///< pause before each retry
  Fallback fallback = Fallback::device_exit; ///< after the last failed attempt: answer with the deepest device exit
};

/// A device's battery (docs/simulation.md, "Battery"): capacity as mAh at a voltage or as Wh, charge fractions.
struct Battery {
  double capacity_mah = 0;    ///< 0 when given as capacity_wh
  double voltage_v = 0;
  double capacity_wh = 0;     ///< 0 when given as capacity_mah
  double initial_charge = 1;  ///< state of charge at the start, in (0, 1]
  double cutoff_charge = 0;   ///< the device stops below this state of charge, in [0, initial_charge)
  double capacity_j() const { return 3600.0 * (capacity_wh > 0 ? capacity_wh : capacity_mah * voltage_v / 1000.0); }
  double usable_j() const { return capacity_j() * (initial_charge - cutoff_charge); }
};

struct Scenario {
  std::string file;                 ///< where it was read from (for messages)
  std::string name;                 ///< defaults to the file's stem
  std::uint64_t seed = 1;           ///< Poisson arrivals (a spec model has its own connectivity and training seeds)

  // Model: a trained model file, or a spec trained once and cached.
  std::optional<std::string> model_file;
  std::optional<ModelSpec> model_spec;

  // Data.
  std::string dataset;              ///< empty = the model's dataset
  int samples = 1000;               ///< first N test samples, dealt round-robin to the devices

  // Split and exits.
  int split_after = 1;              ///< layer k: the device runs junctions 1..k; 0 = full offload, L = edge only
  std::vector<int> device_exits;    ///< hidden layers (<= split_after) whose exit heads the device evaluates
  Criterion criterion = Criterion::max_softmax;
  double threshold = 0.9;

  // Transmitted activation.
  Encoding encoding = Encoding::fp32;
  int header_bytes = 40;            ///< per message (e.g. IPv4 20 + UDP 8 + application 12)
  int reply_bytes = 4;              ///< payload of the answer (the class index) sent back

  // Platform.
  ComputeProfile device;
  int device_count = 1;
  int device_pstate = 0;
  CostModelChoice device_cost_model = CostModelChoice::profile;
  std::optional<Encoding> device_format; ///< the device kernels' number format (profiles with a cost model only)
  std::optional<SleepState> device_sleep; ///< the sleep state devices enter between requests (none: they idle)
  std::optional<Battery> battery;         ///< per device
  NetworkProfile network;
  bool shared_medium = true;        ///< all devices share one uplink and one downlink (else one pair each)
  ComputeProfile server;
  int server_workers = 1;           ///< requests the server runs at once (one core each)
  int server_pstate = 0;
  CostModelChoice server_cost_model = CostModelChoice::profile;
  std::optional<Encoding> server_format;

  // Workload.
  Arrival arrival = Arrival::periodic;
  double period_s = 0.1;            ///< periodic
  double rate_per_s = 10.0;         ///< poisson
  double think_time_s = 0.0;        ///< closed_loop: pause between an answer and the next request

  // Faults and the devices' answer to them.
  Faults faults;
  OffloadPolicy offload;

  // SimGrid.
  std::string network_model = "CM02"; ///< "CM02" (no cross-traffic: profile numbers mean what they say) or "LV08"
  bool crosstraffic = false;
};

/// The cost of layers on the scenario's device and on its server (pstate, cost model and number format applied).
HostCost device_cost(const Scenario& s);
HostCost server_cost(const Scenario& s);

/// Reads and validates a scenario file; every problem is an InputError "<file>: <json path>: <what is valid>".
Scenario load_scenario(const std::string& file);
/// Same from an already parsed document (file is used for messages and relative model paths).
Scenario scenario_from_json(const nlohmann::json& j, const std::string& file);

/// Checks what needs the model: split_after <= depth, device exits exist in the model and are <= split_after,
/// threshold in its criterion's range for the model's class count. Errors name the scenario file and JSON path.
/// The longest scenario name, and the longest sweep name (its points are named "<sweep>-<index>"): well within a
/// file name's 255 bytes.
inline constexpr std::size_t max_name_length = 128, max_sweep_name_length = 100;
/// Why `name` cannot name an output folder (results/<name>), or "" when it can: 1..max_length characters of letters,
/// digits, '.', '_' and '-', not starting with '.' or '-'.
std::string folder_name_problem(const std::string& name, std::size_t max_length);
/// The default name for a file without one: its stem, other characters replaced by '_', at most 100 characters.
std::string name_from_file(const std::string& file);

void check_against_model(const Scenario& s, const NetworkSpec& model);

/// The resolved scenario (profiles expanded, defaults filled): loading it again gives the same Scenario.
nlohmann::json to_json(const Scenario& s);

} // namespace scee
