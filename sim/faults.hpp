// Faults of the simulated system as a scenario describes them: link outages, bandwidth changes and server outages,
// written inline ("faults" section) or as a trace file (CSV: time_s,target,value), and the devices' offload
// policy (request timeout, retries, fallback to their own exit). Validation only: simulation.cpp turns them into
// SimGrid state and bandwidth profiles.
#pragma once

#include "scenario.hpp"
#include "strict_json.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace scee {

/// Reads the optional "faults" section (lists and/or "trace_file", relative to the scenario's folder).
Faults read_faults(Fields& scenario);

/// Reads a fault trace: a CSV file with the header "time_s,target,value" and one row per change, in time order per
/// target; targets "uplink", "downlink", "server" take 0 (down) or 1 (up, the initial state), "uplink_bandwidth"
/// and "downlink_bandwidth" a factor in (0, 1]. Errors are "<file>: line N: ...".
Faults read_fault_trace(const std::string& file);

/// Reads the optional "offload" section.
OffloadPolicy read_offload(Fields& scenario);

/// Cross-checks of faults and policy (e.g. server outages need a request timeout); errors name the JSON path.
void check_faults(const Scenario& s);

/// The resolved forms (trace files expanded into lists; an outage until the end has no "duration_s").
nlohmann::json to_json(const Faults& f);
nlohmann::json to_json(const OffloadPolicy& p);

/// SimGrid profile text ("<date> <value>" lines) for a resource's state (1 up, 0 down), and for a link's bandwidth:
/// SimGrid 3.32 (CM02) sets the link's bandwidth to the profile's value, in bytes/s (measured: a value of 0.5 gave
/// 0.5 B/s, not half the bandwidth), so the steps' factors are multiplied by the link's bandwidth here.
std::string state_profile_text(const std::vector<Outage>& outages);
std::string bandwidth_profile_text(const std::vector<BandwidthStep>& steps, double bandwidth_bytes_per_s);

} // namespace scee
