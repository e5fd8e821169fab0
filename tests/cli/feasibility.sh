#!/usr/bin/env bash
# Feasibility: a head that does not fit the device's memory (edge_memory_bytes > memory_bytes) is not simulated.
# `scee run` exits 0 and writes its outputs with feasible = 0, the metrics of the simulated system empty and no
# sample rows; in a sweep such a point has status "infeasible" (not "failed"), empty metrics, and is never on a
# Pareto front. See docs/simulation.md, "Memory".
set -euo pipefail
scee=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SCEE_CACHE_DIR=$work/cache
fail() { echo "FAIL: $*"; exit 1; }
# column FILE NAME [ROW]: the value of column NAME in data row ROW (default 1) of a CSV without quoted commas.
column() {
  awk -F, -v name="$2" -v row="${3:-1}" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
    NR == row + 1 { if (!c) exit 1; print $c }' "$1"
}

# The paper's network; on an nRF52840 its head (with the exit after layer 1 from split 1 on) needs 6400 bytes at
# split 0 (two input buffers), 17800 at split 1, 20120 at split 2 and 21760 at split 3 (edge only).
cat > "$work/base.json" <<'JSON'
{
  "name": "tight",
  "model": {"spec": {"widths": [800, 40, 40, 10], "fan_outs": [2, 9, 10], "exits": [{"after_layer": 1}],
                     "training": {"epochs": 1, "train_samples": 2000, "test_samples": 200}}},
  "dataset": {"samples": 100},
  "split": {"after_layer": 3, "exits": [1]},
  "devices": {"profile": "nrf52840", "override": {"memory_bytes": 1000}},
  "network": {"profile": "ble5"},
  "server": {"profile": "x86_core"}
}
JSON

# scee run: 1000 bytes cannot hold the head of split 3.
"$scee" run "$work/base.json" --out "$work/run" --quiet > "$work/run.log"
grep -q "infeasible: the head needs 21760 bytes of memory .* but device \"nrf52840\" has 1000; nothing simulated" \
  "$work/run.log" || { cat "$work/run.log"; fail "scee run does not say the configuration is infeasible"; }
s=$work/run/summary.csv
[ "$(column "$s" feasible)" = 0 ] || fail "feasible should be 0"
[ "$(column "$s" head_fits_memory)" = 0 ] || fail "head_fits_memory should be 0"
[ "$(column "$s" edge_memory_bytes)" = 21760 ] || fail "edge_memory_bytes should be 21760"
[ "$(column "$s" device_memory_bytes)" = 1000 ] || fail "device_memory_bytes should be 1000"
[ "$(column "$s" samples)" = 0 ] || fail "no sample should be simulated"
for metric in accuracy latency_p95_s edge_energy_per_inference_j uplink_bytes_per_inference throughput_per_s; do
  [ -z "$(column "$s" "$metric")" ] || fail "$metric should be empty for an infeasible configuration"
done
[ -n "$(column "$s" model_final_accuracy)" ] || fail "the model's own accuracy is still known"
grep -q '"feasible": false' "$work/run/summary.json" && grep -q '"accuracy": null' "$work/run/summary.json" ||
  fail "summary.json should hold feasible false and null metrics"
[ "$(wc -l < "$work/run/samples.csv")" -eq 1 ] || fail "samples.csv should hold its header only"
[ -s "$work/run/manifest.json" ] || fail "no manifest"

# The same with the profile's own memory (256 KiB): feasible and simulated.
sed 's/, "override": {"memory_bytes": 1000}//' "$work/base.json" > "$work/roomy.json"
"$scee" run "$work/roomy.json" --out "$work/roomy" --quiet > /dev/null
[ "$(column "$work/roomy/summary.csv" feasible)" = 1 ] || fail "the roomy run should be feasible"
[ -n "$(column "$work/roomy/summary.csv" accuracy)" ] || fail "the roomy run should have an accuracy"
[ "$(wc -l < "$work/roomy/samples.csv")" -eq 101 ] || fail "the roomy run should simulate 100 samples"

# A sweep over the split with 19000 bytes: splits 0 and 1 fit, 2 and 3 do not.
sed 's/"memory_bytes": 1000/"memory_bytes": 19000/; s/^}$/, "sweep": {"axes": [{"name": "split_after", "values": [0, 1, 2, 3]}]}\n}/' \
  "$work/base.json" > "$work/sweep.json"
"$scee" sweep "$work/sweep.json" --out "$work/sweep" --jobs 2 --quiet > "$work/sweep.log"
grep -q "tight: 4 points (0 failed)" "$work/sweep.log" || { cat "$work/sweep.log"; fail "infeasible points are not failures"; }
r=$work/sweep/results.csv
for row in 1 2 3 4; do
  status=$(column "$r" status "$row")
  want=$([ "$row" -le 2 ] && echo ok || echo infeasible)
  [ "$status" = "$want" ] || fail "point $((row - 1)): status $status, expected $want"
  if [ "$want" = infeasible ]; then
    [ -z "$(column "$r" accuracy "$row")" ] || fail "point $((row - 1)): an infeasible point has an accuracy"
    [ "$(column "$r" pareto "$row")" = 0 ] || fail "point $((row - 1)): an infeasible point is on the Pareto front"
    [ "$(column "$r" feasible "$row")" = 0 ] || fail "point $((row - 1)): feasible should be 0"
    grep -q "infeasible: the head needs" "$work/sweep/points/$((row - 1)).json" || fail "no reason recorded"
  else
    [ -n "$(column "$r" accuracy "$row")" ] || fail "point $((row - 1)): a feasible point has no accuracy"
  fi
done
grep -q '"failed_points": 0' "$work/sweep/manifest.json" || fail "the manifest counts infeasible points as failed"
echo ok
