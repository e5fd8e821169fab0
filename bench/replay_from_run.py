#!/usr/bin/python3
"""Turns the output of `scee run` (samples.csv and manifest.json) into the input of bench/bare_simgrid: the platform
and, per sample, the simulated activities scee performed for it, with no neural network left in.

The decisions (which samples left at the exit, which were offloaded) are read from the run's per-sample trace; the
MACs of each execution come from the model in the manifest (junction j: widths[j-1] x fan_outs[j-1]; exit head
after layer j: widths[j] x its fan-out), and are checked against the trace's edge_macs and server_macs.

Usage: replay_from_run.py RUN_DIR OUT.json
"""

import csv
import json
import math
import sys


def fail(message):
    print(f"replay_from_run: {message}", file=sys.stderr)
    sys.exit(2)


def wattage(profile, pstate, cores):
    # As sim/simulation.cpp: "Idle:Epsilon:AllCores" with Epsilon = Idle, for the one pstate used.
    p = profile["pstates"][pstate]
    idle, active = p["idle_power_w"], p["active_power_w"]
    return f"{idle}:{idle}:{idle + cores * (active - idle)}"


def fragments(bytes_up, header, max_payload):
    """The message sizes of one offload: payload split at max_payload (0: one message), a header on each."""
    if max_payload <= 0:
        return [bytes_up]
    for n in range(1, bytes_up + 1):
        payload = bytes_up - n * header
        if payload > 0 and math.ceil(payload / max_payload) == n:
            sizes = [max_payload + header] * (n - 1)
            return sizes + [payload - max_payload * (n - 1) + header]
    fail(f"cannot split {bytes_up} bytes into fragments of at most {max_payload} + {header}")


def main(argv):
    if len(argv) != 2:
        fail("usage: replay_from_run.py RUN_DIR OUT.json")
    run_dir, out_path = argv
    manifest = json.load(open(f"{run_dir}/manifest.json"))
    s = manifest["scenario"]
    net = manifest["model"]["network"]
    widths, fan_outs = net["widths"], net["fan_outs"]
    depth = len(widths) - 1
    junction_macs = [widths[j] * fan_outs[j] for j in range(depth)]  # junction j+1
    exit_macs = {e["after_layer"]: widths[e["after_layer"]] * e["fan_out"] for e in net["exits"]}
    split = s["split"]["after_layer"]
    device_exits = [j for j in s["split"]["exits"] if j < depth]
    header = s["encoding"]["header_bytes"]
    network = s["network"]["profile"]
    devices, server = s["devices"], s["server"]
    if network["duty_cycle"] < 1.0:
        fail("the replay does not model a duty-cycle limit (the scenario's link has duty_cycle < 1)")

    samples = []
    with open(f"{run_dir}/samples.csv", newline="") as f:
        for row in csv.DictReader(f):
            answered_by = row["answered_by"]
            if answered_by not in ("edge_exit", "edge_final", "server"):
                fail(f"sample {row['sample']}: answered by {answered_by}; the replay covers runs without faults")
            if int(row.get("attempts") or 0) > 1:
                fail(f"sample {row['sample']}: {row['attempts']} offload attempts; the replay covers runs without faults")
            last = int(row["exit_layer"]) if answered_by == "edge_exit" else split
            executions = []
            for j in range(1, last + 1):
                executions.append(junction_macs[j - 1])
                if j in device_exits:
                    executions.append(exit_macs[j])
            if sum(executions) != int(row["edge_macs"]):
                fail(f"sample {row['sample']}: executions {executions} do not add up to edge_macs {row['edge_macs']}")
            offloaded = answered_by == "server"
            server_macs = sum(junction_macs[split:]) if offloaded else 0
            if server_macs != int(row["server_macs"]):
                fail(f"sample {row['sample']}: server MACs {server_macs}, the trace says {row['server_macs']}")
            samples.append({
                "device": int(row["device"]),
                "arrival_s": float(row["arrival_s"]),
                "executions_macs": executions,
                "promotion_s": float(row["promotion_s"]),
                "uplink_messages_bytes": fragments(int(row["bytes_up"]), header, network["max_payload_bytes"])
                if offloaded else [],
                "server_macs": server_macs,
                "finish_s": float(row["finish_s"]),  # what scee simulated, to check the replay against
            })

    replay = {
        "source": run_dir,
        "network_model": s["simgrid"]["network_model"],
        "crosstraffic": s["simgrid"]["crosstraffic"],
        "device_count": devices["count"],
        "device_speed_macs_per_s": devices["profile"]["pstates"][devices["pstate"]]["rate_macs_per_s"],
        "device_wattage": wattage(devices["profile"], devices["pstate"], 1),
        "server_workers": server["workers"],
        "server_speed_macs_per_s": server["profile"]["pstates"][server["pstate"]]["rate_macs_per_s"],
        "server_wattage": wattage(server["profile"], server["pstate"], server["workers"]),
        "uplink_bytes_per_s": network["uplink_bandwidth_bps"] / 8.0,
        "downlink_bytes_per_s": network["downlink_bandwidth_bps"] / 8.0,
        "latency_s": network["latency_s"],
        "shared_medium": s["network"]["shared_medium"],
        "reply_message_bytes": s["encoding"]["reply_bytes"] + header,
        "samples": samples,
    }
    with open(out_path, "w") as f:
        json.dump(replay, f)
    offloads = sum(1 for x in samples if x["server_macs"])
    print(f"replay_from_run: {len(samples)} samples ({offloads} offloaded) on {devices['count']} devices -> {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
