#!/usr/bin/python3
"""Recomputes a run's outputs from the formulas in docs/ alone (docs/simulation.md "Arrivals, exactly",
docs/profiles.md "Cost model", docs/outputs.md) and compares them with what scee wrote:
Poisson arrivals per device, each sample's compute time on a calibrated device at a lower pstate, the sleep and
wake-up rule, latencies, and the summary's percentiles, throughput, accuracy and bytes.
Usage: docs_formulas.py RUN_DIR PROFILE_JSON"""
import csv, json, math, sys

run, profile_file = sys.argv[1], sys.argv[2]
M64 = (1 << 64) - 1
failures = 0


def check(what, got, want, rel=1e-9):
    global failures
    if not (abs(got - want) <= rel * max(1.0, abs(want))):
        failures += 1
        if failures <= 10:
            print(f"FAIL {what}: scee {got!r}, docs {want!r}")


class Rng:  # docs/simulation.md, "Arrivals, exactly"
    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & M64
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53


manifest = json.load(open(f"{run}/manifest.json"))
scenario = manifest["scenario"]
rows = list(csv.DictReader(open(f"{run}/samples.csv")))
summary = next(csv.DictReader(open(f"{run}/summary.csv")))
n, devices = len(rows), scenario["devices"]["count"]
seed, rate = scenario["seed"], scenario["workload"]["rate_per_s"]

# Arrivals: device d's r-th request.
for d in range(devices):
    mine = [r for r in rows if int(r["device"]) == d]
    g = Rng(Rng((seed ^ ((0xD1B54A32D192ED03 * (5001 + d)) & M64)) & M64).next())
    now = 0.0
    for r in mine:
        now += -math.log(1.0 - g.uniform()) / rate
        check(f"arrival of sample {r['sample']}", float(r["arrival_s"]), now, 1e-15)

# Compute time of the head (layer 1, 800 -> 40 at fan-out 2, and the exit 40 -> 10) from the profile's cost model.
p = json.load(open(profile_file))
ps = scenario["devices"]["pstate"]
scale = p["pstates"][ps]["rate_macs_per_s"] / p["pstates"][0]["rate_macs_per_s"]
cm = p["cost_model"]
k = cm["formats"][cm["default_format"]]
bw = cm["memory_bandwidth_bytes_per_s"]


def speedup(points, density):
    if density <= points[0][0]:
        return points[0][1]
    for (d0, s0), (d1, s1) in zip(points, points[1:]):
        if density <= d1:
            return s0 + (s1 - s0) * (density - d0) / (d1 - d0)
    return points[-1][1]


def fc_time(n_in, n_out, fan_out):  # int8: 1-byte weights and activations, int32 biases, 2-byte indices
    dense_macs, macs = n_in * n_out, n_in * fan_out
    sparse = fan_out != n_out
    compute = dense_macs / (k["fc_rate_macs_per_s"] * scale * (speedup(k["fc_sparse_speedup"], macs / dense_macs) if sparse else 1.0))
    fan_in = n_in * fan_out // n_out
    bytes_moved = macs + 4 * n_out + (2 * n_out * fan_in if sparse else 0) + n_in + n_out
    return cm["layer_overhead_s"] / scale + max(compute, bytes_moved / bw)


head_s = cm["invoke_overhead_s"] / scale + fc_time(800, 40, 2) + fc_time(40, 10, 10)
sleep = next(z for z in p["sleep_states"] if z["name"] == scenario["devices"]["sleep"])
active_w = p["pstates"][ps]["active_power_w"]
for d in range(devices):
    previous_finish = 0.0
    for r in (r for r in rows if int(r["device"]) == d):
        check(f"edge_compute_s of sample {r['sample']}", float(r["edge_compute_s"]), head_s)
        check(f"edge_compute_energy_j of sample {r['sample']}", float(r["edge_compute_energy_j"]), active_w * head_s)
        arrival, start = float(r["arrival_s"]), float(r["start_s"])
        asleep = arrival - previous_finish > sleep["after_idle_s"]
        check(f"wake_s of sample {r['sample']}", float(r["wake_s"]), sleep["wake_s"] if asleep else 0.0)
        check(f"start_s of sample {r['sample']}", start,
              arrival + sleep["wake_s"] if asleep else max(arrival, previous_finish))
        check(f"latency_s of sample {r['sample']}", float(r["latency_s"]), float(r["finish_s"]) - arrival, 1e-12)
        previous_finish = float(r["finish_s"])

# The summary from the samples.
lat = sorted(float(r["latency_s"]) for r in rows)
for name, q in [("latency_p50_s", 0.5), ("latency_p95_s", 0.95), ("latency_p99_s", 0.99), ("latency_max_s", 1.0)]:
    check(name, float(summary[name]), lat[min(max(math.ceil(q * n), 1), n) - 1], 1e-12)
check("latency_mean_s", float(summary["latency_mean_s"]), sum(lat) / n, 1e-12)
span = max(float(r["finish_s"]) for r in rows) - min(float(r["arrival_s"]) for r in rows)
check("throughput_per_s", float(summary["throughput_per_s"]), n / span, 1e-12)
check("accuracy", float(summary["accuracy"]), sum(int(r["correct"]) for r in rows) / n, 1e-12)
check("uplink_bytes_per_inference", float(summary["uplink_bytes_per_inference"]),
      sum(int(r["bytes_up"]) for r in rows) / n, 1e-12)
check("wakeups_per_inference", float(summary["wakeups_per_inference"]),
      sum(float(r["wake_s"]) > 0 for r in rows) / n, 1e-12)
check("edge_compute_energy_per_inference_j", float(summary["edge_compute_energy_per_inference_j"]),
      sum(float(r["edge_compute_energy_j"]) for r in rows) / n)
woken = sum(float(r["wake_s"]) > 0 for r in rows)
check("edge_wake_energy_per_inference_j", float(summary["edge_wake_energy_per_inference_j"]),
      woken * sleep["wake_s"] * sleep["wake_power_w"] / n)
if not 0 < woken < n:
    failures += 1
    print(f"FAIL the run should have samples that wake the device and samples that do not, got {woken} of {n}")
print(f"docs formulas: {n} samples, {failures} mismatches")
sys.exit(1 if failures else 0)
