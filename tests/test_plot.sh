#!/usr/bin/env bash
# `scee plot` end to end: a synthetic sweep results CSV (2 devices x 2 networks x 2 splits x 3 thresholds x 2
# fan-outs, two failed points, Pareto flags) and per-point traces; every figure is written as a valid, non-blank PNG
# and a well-formed SVG, a rerun gives identical files, and bad input (missing columns, no ok row, no matplotlib, no
# interpreter) exits with status 2 and one line on stderr.
set -euo pipefail
scee=$1
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MPLCONFIGDIR=$work/mplconfig
unset SCEE_PYTHON

"$py" - "$work" <<'PY'
import csv, itertools, math, os, random, sys
work = sys.argv[1]
rng = random.Random(7)
summary = ("scenario,dataset,widths,fan_outs,split_after,device_exits,criterion,threshold,encoding,device,device_count,"
           "network,server,arrival,network_model,seed,samples,accuracy,exit_rate,exit_rate_layer_1,edge_final_rate,"
           "offload_rate,latency_mean_s,latency_p50_s,latency_p95_s,latency_p99_s,latency_max_s,throughput_per_s,"
           "simulated_time_s,edge_energy_per_inference_j,edge_compute_energy_per_inference_j,"
           "edge_idle_energy_per_inference_j,radio_energy_per_inference_j,radio_tx_energy_per_inference_j,"
           "radio_rx_energy_per_inference_j,radio_promotion_energy_per_inference_j,"
           "radio_tail_energy_per_inference_j,radio_idle_energy_per_inference_j,server_energy_per_inference_j,"
           "uplink_bytes_per_inference,downlink_bytes_per_inference,edge_macs_per_inference,"
           "server_macs_per_inference,total_macs_per_inference,model_final_accuracy,model_weights,model_density,"
           "model_macs,model_storage_bytes,fc_weights,fc_storage_bytes,edge_storage_bytes,edge_memory_bytes,"
           "device_memory_bytes,head_fits_memory").split(",")
axes = ["axis_device", "axis_network", "axis_split_after", "axis_threshold", "axis_fan_outs"]
header = ["point", "status", "error"] + axes + summary + ["pareto"]
devices = {"esp32": (1.2e7, 0.25, 520 * 1024), "rpi4": (6.9e9, 3.0, 4 << 30)}  # MAC/s, active W, memory
networks = {"ble5": (1.4e5, 0.02, 0.012), "wifi": (2.5e7, 0.8, 0.002)}      # bit/s, tx W, rtt s
models = {"2-9-10": (0.9332, 2760, 0.0694, 15320), "40-40-10": (0.9751, 34400, 1.0, 137960)}
rows = []
for point, (device, network, split, threshold, fan_outs) in enumerate(
        itertools.product(devices, networks, (1, 2), (0.7, 0.8, 0.9), models)):
    rate, power, memory = devices[device]
    bps, tx_w, rtt = networks[network]
    final_acc, macs, density, storage = models[fan_outs]
    exit_rate = 0.95 - 0.9 * (threshold - 0.6) - 0.08 * (split == 1)
    accuracy = final_acc - 0.06 * exit_rate * (1 - threshold) - 0.004 * (split == 1)
    edge_macs = macs * (0.35 if split == 1 else 0.7)
    edge_s = edge_macs / rate
    up_bytes = (1 - exit_rate) * 160
    up_s = up_bytes * 8 / bps + rtt
    p50 = edge_s if exit_rate > 0.5 else edge_s + up_s
    p95 = edge_s + up_s * 1.3
    energy = edge_s * power + (1 - exit_rate) * up_s * tx_w
    r = {c: "" for c in header}
    r.update(point=point, status="ok", axis_device=device, axis_network=network, axis_split_after=split,
             axis_threshold=threshold, axis_fan_outs=fan_outs, scenario="sweep", dataset="mnist",
             widths="800-40-40-10", fan_outs=fan_outs, split_after=split, device_exits=1, criterion="max_softmax",
             threshold=threshold, encoding="fp32", device=device, device_count=1, network=network, server="x86_core",
             arrival="periodic", network_model="CM02", seed=1, samples=1000, accuracy=round(accuracy, 4),
             exit_rate=round(exit_rate, 4), exit_rate_layer_1=round(exit_rate, 4), edge_final_rate=0,
             offload_rate=round(1 - exit_rate, 4), latency_mean_s=(p50 + p95) / 2, latency_p50_s=p50,
             latency_p95_s=p95, latency_p99_s=p95 * 1.1, latency_max_s=p95 * 1.3, throughput_per_s=20,
             simulated_time_s=50, edge_energy_per_inference_j=energy,
             edge_compute_energy_per_inference_j=edge_s * power,
             edge_idle_energy_per_inference_j=0, radio_energy_per_inference_j=energy - edge_s * power,
             radio_tx_energy_per_inference_j=energy - edge_s * power, radio_rx_energy_per_inference_j=0,
             radio_promotion_energy_per_inference_j=0, radio_tail_energy_per_inference_j=0,
             uplink_bytes_per_inference=up_bytes, downlink_bytes_per_inference=(1 - exit_rate) * 4,
             edge_macs_per_inference=edge_macs, server_macs_per_inference=(1 - exit_rate) * (macs - edge_macs),
             total_macs_per_inference=edge_macs + (1 - exit_rate) * (macs - edge_macs), model_final_accuracy=final_acc,
             model_weights=macs, model_density=density, model_macs=macs, model_storage_bytes=storage,
             fc_weights=34400, fc_storage_bytes=137960, edge_storage_bytes=storage // 2, edge_memory_bytes=storage,
             device_memory_bytes=memory, head_fits_memory=1)
    if point in (5, 30):
        for c in summary[summary.index("accuracy"):]:
            r[c] = ""
        r.update(status="failed", error="simulated failure for the test")
    rows.append(r)
ok = [r for r in rows if r["status"] == "ok"]
for r in ok:
    def dominates(o):
        a = (o["accuracy"] >= r["accuracy"], o["latency_p95_s"] <= r["latency_p95_s"],
             o["edge_energy_per_inference_j"] <= r["edge_energy_per_inference_j"])
        b = (o["accuracy"] > r["accuracy"], o["latency_p95_s"] < r["latency_p95_s"],
             o["edge_energy_per_inference_j"] < r["edge_energy_per_inference_j"])
        return all(a) and any(b)
    peers = [o for o in ok if (o["device"], o["network"]) == (r["device"], r["network"])]
    r["pareto"] = 0 if any(dominates(o) for o in peers) else 1
with open(os.path.join(work, "results.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=header)
    w.writeheader()
    w.writerows(rows)
os.makedirs(os.path.join(work, "traces"))
for r in ok:
    with open(os.path.join(work, "traces", f"{r['point']}.csv"), "w") as f:
        f.write("sample,latency_s,answered_by\n")
        for s in range(300):
            edge = rng.random() < r["exit_rate"]
            base = r["latency_p50_s"] if edge else r["latency_p95_s"] / 1.3
            f.write(f"{s},{base * math.exp(rng.gauss(0, 0.25))},{'edge_exit' if edge else 'server'}\n")
PY

figures="accuracy_vs_energy accuracy_vs_active_energy latency_vs_threshold storage_macs_vs_density best_energy_heatmap best_latency_heatmap
latency_cdf"
"$scee" plot "$work/results.csv" --out "$work/fig" --traces "$work/traces" > "$work/plot.log"
cat "$work/plot.log"
"$py" - "$work/fig" $figures <<'PY'
import sys
import xml.etree.ElementTree as ET
import matplotlib.image
import numpy as np
out, names = sys.argv[1], sys.argv[2:]
for name in names:
    png, svg = f"{out}/{name}.png", f"{out}/{name}.svg"
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{png}: not a PNG"
    pixels = matplotlib.image.imread(png)
    colours = len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0))
    assert colours > 50, f"{png}: only {colours} distinct colours, blank?"
    assert min(pixels.shape[:2]) > 300, f"{png}: too small {pixels.shape}"
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg"), f"{svg}: root is {root.tag}"
print(f"{len(names)} figures ok")
PY

# The traces/ beside the CSV are found without --traces; a rerun gives identical files.
"$scee" plot "$work/results.csv" --out "$work/fig2" > "$work/plot2.log"
for name in $figures; do
  for ext in png svg; do
    cmp "$work/fig/$name.$ext" "$work/fig2/$name.$ext" || { echo "$name.$ext differs between runs"; exit 1; }
  done
done

# expect_error STATUS PATTERN command...: the command exits with STATUS and prints one line matching PATTERN.
expect_error() {
  local want=$1 pattern=$2 status
  shift 2
  set +e
  "$@" > /dev/null 2> "$work/err.txt"
  status=$?
  set -e
  [ "$status" -eq "$want" ] || { cat "$work/err.txt"; echo "expected exit status $want, got $status: $*"; exit 1; }
  [ "$(wc -l < "$work/err.txt")" -eq 1 ] || { cat "$work/err.txt"; echo "expected one line on stderr: $*"; exit 1; }
  grep -q -- "$pattern" "$work/err.txt" || { cat "$work/err.txt"; echo "expected '$pattern': $*"; exit 1; }
}

printf 'point,status,accuracy\n0,ok,0.9\n' > "$work/bad.csv"
expect_error 2 "missing column(s) device, network" "$scee" plot "$work/bad.csv" --out "$work/bad"
sed 's/,ok,/,failed,/' "$work/results.csv" > "$work/failed.csv"
expect_error 2 "no row with status ok" "$scee" plot "$work/failed.csv" --out "$work/bad"
expect_error 2 "no such file" "$scee" plot "$work/none.csv" --out "$work/bad"
mkdir -p "$work/nompl/matplotlib"
echo 'raise ImportError("no matplotlib here")' > "$work/nompl/matplotlib/__init__.py"
expect_error 2 "apt-get install python3-matplotlib python3-pandas" \
  env PYTHONPATH="$work/nompl" "$scee" plot "$work/results.csv" --out "$work/bad"
expect_error 2 "cannot import matplotlib" \
  env PYTHONPATH="$work/nompl" "$scee" plot "$work/results.csv" --out "$work/bad"
expect_error 2 "/nonexistent/python3" env SCEE_PYTHON=/nonexistent/python3 "$scee" plot "$work/results.csv" \
  --out "$work/bad"
echo "ok"
