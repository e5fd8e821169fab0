#!/usr/bin/env bash
# Runs every benchmark of issue 6 and prints the table of docs/performance.md: each measured ratio against its
# target, with the machine, the date and the git revision.
#
#   bench/run.sh [OUT_DIR]          (default out/bench/<UTC date and time>)
#
# Environment: BUILD_DIR (default build), REPEAT (simulation runs per scenario, default 5), TORCH_EPOCHS (default 2),
# EPOCHS (scee training epochs timed, default 3), CNN_EPOCHS (B-LeNet epochs timed per side, default 2).
# The PyTorch peers must run on OpenBLAS (Debian's python3-torch calls whatever libblas.so.3 is installed; the
# reference BLAS is 10x slower): the script installs libopenblas0-pthread where apt-get can, and stops otherwise. It builds what it needs in Release; the first run also trains the
# models of scenarios/default.json (50 epochs) and scenarios/quick.json (2 x 5 epochs) into .cache/, which takes a
# few minutes; later runs find them cached. Raw results (one JSON line per measurement) go to OUT_DIR/raw/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-out/bench/$(date -u +%Y%m%dT%H%M%SZ)}"
build="${BUILD_DIR:-build}"
repeat="${REPEAT:-5}"
torch_epochs="${TORCH_EPOCHS:-2}"
epochs="${EPOCHS:-3}"
cnn_epochs="${CNN_EPOCHS:-2}"
python=/usr/bin/python3 # Debian's interpreter: the one that imports torch (ENGINEERING.md)
raw="$out/raw"
mkdir -p "$raw"
rm -f "$raw"/*.json
log() { printf '[bench] %s\n' "$*" >&2; }

if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'install ok installed'; then
  log "installing libopenblas0-pthread (the fair PyTorch peer runs on OpenBLAS)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libopenblas0-pthread >/dev/null ||
    { log "cannot install libopenblas0-pthread: the peer would run on the reference BLAS; stopping"; exit 1; }
fi
log "building in $build (Release)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target scee bench_layers bench_train bench_simulate bare_simgrid >/dev/null
scee="$build/scee"

{
  echo "{\"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')\","
  echo " \"cores\": $(nproc), \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo " \"git\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+changes')\","
  echo " \"load_average_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo " \"compiler\": \"$(${CXX:-c++} --version | head -1)\"}"
} >"$raw/machine.json"

log "caching the models (trains them the first time: a few minutes)"
# The simulation benchmark runs the default scenario with the ideal cost model (work = MACs), the one the bare SimGrid
# program replays from samples.csv; the calibrated models add per-inference and per-layer overheads it cannot see.
"$scee" run bench/scenarios/default-1-device.json --out "$out/run-default" --quiet >/dev/null
"$scee" run bench/scenarios/default-100-devices.json --out "$out/run-100-devices" --quiet >/dev/null
"$scee" sweep scenarios/quick.json --train-only --quiet >/dev/null

log "1/5 layers: predefined-sparse junction vs dense Eigen (800 -> 40)"
"$build/bench/bench_layers" --benchmark_filter='^(sparse|dense|conv)_' --benchmark_min_time=0.2 \
  --benchmark_repetitions=5 --benchmark_format=json >"$raw/layers.json" 2>/dev/null
log "1/5 layers: the per-edge kernel against the dense product, 800 -> 40 (the crossover of SparseLinear::gemm_path)"
"$build/bench/bench_layers" --benchmark_filter='^crossover_' --benchmark_min_time=0.1 --benchmark_format=json \
  >"$raw/crossover.json" 2>/dev/null

log "2/5 training: one MNIST epoch, scee and the PyTorch masked-dense peer, one thread each"
for fan_outs in 2,9,10 40,40,10; do
  "$build/bench/bench_train" --fan-outs "$fan_outs" --epochs "$epochs" >>"$raw/train_scee.json"
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$python" bench/torch_peer.py --fan-outs "$fan_outs" --epochs "$torch_epochs" --threads 1 \
    --csv "$raw/torch_epochs_${fan_outs//,/-}.csv" | tail -1 >>"$raw/train_torch.json"
done

log "3/5 simulation: scee's simulation phase vs bare SimGrid + the bare forward pass, $repeat runs each"
for scenario in default 100-devices; do
  file=bench/scenarios/default-1-device.json
  [ "$scenario" = 100-devices ] && file=bench/scenarios/default-100-devices.json
  "$python" bench/replay_from_run.py "$out/run-$scenario" "$out/replay-$scenario.json" >&2
  for _ in $(seq "$repeat"); do
    "$build/bench/bare_simgrid" "$out/replay-$scenario.json" | sed "s/^{/{\"scenario\":\"$scenario\",/" >>"$raw/bare_simgrid.json"
    "$build/bench/bare_simgrid" "$out/replay-$scenario.json" --energy | sed "s/^{/{\"scenario\":\"$scenario\",/" >>"$raw/bare_simgrid.json"
    "$build/bench/bench_simulate" "$file" | sed "s/^{/{\"name\":\"$scenario\",/" >>"$raw/simulate.json"
  done
done

log "4/5 sweep throughput: scenarios/quick.json with --jobs 1 and --jobs 2"
for jobs in 1 2 1 2; do
  rm -rf "$out/sweep"
  timing=$("$python" bench/cpu_time.py "$scee" sweep scenarios/quick.json --jobs "$jobs" --out "$out/sweep" --quiet)
  points=$(($(wc -l <"$out/sweep/results.csv") - 1))
  echo "{\"jobs\": $jobs, \"points\": $points, \"timing\": $timing, \"load_average\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$raw/sweep.json"
done
rm -rf "$out/sweep"

log "5/5 CNN: a B-LeNet training epoch, scee and the PyTorch peer (one thread each), dense, with conv 2 and 3 at 20%"
log "    channel density (fan-outs 2 of 10 and 4 of 20), and with the branch's conv too (2 of 10); batch-1 head and tail"
# (label, fan-outs of the main path's conv and fc layers, fan-out of the branch's convolution)
for variant in "dense 5,10,20,84,10 10" "sparse 5,2,4,84,10 10" "sparse-all 5,2,4,84,10 2"; do
  read -r label fan_outs branch <<<"$variant"
  "$python" - "scenarios/models/b-lenet.json" "$out/b-lenet-$label.json" "$fan_outs" "$branch" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
for layer, fo in zip([l for l in spec["layers"] if l["type"] in ("fc", "conv")], map(int, sys.argv[3].split(","))):
    layer["fan_out"] = fo
next(l for l in spec["exits"][0]["layers"] if l["type"] == "conv")["fan_out"] = int(sys.argv[4])
json.dump(spec, open(sys.argv[2], "w"))
PY
  "$build/bench/bench_train" --spec "$out/b-lenet-$label.json" --epochs "$cnn_epochs" --split 3 |
    sed "s/^{/{\"label\":\"$label\",/" >>"$raw/cnn_scee.json"
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$python" bench/torch_cnn_peer.py --spec "$out/b-lenet-$label.json" \
    --epochs "$cnn_epochs" --threads 1 | tail -1 | sed "s/^{/{\"label\":\"$label\",/" >>"$raw/cnn_torch.json"
done

"$python" bench/report.py "$raw" | tee "$out/results.md"
log "table written to $out/results.md"
