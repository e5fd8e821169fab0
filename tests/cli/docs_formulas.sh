#!/usr/bin/env bash
# A run recomputed from the documentation alone (tests/cli/docs_formulas.py): Poisson arrivals on three devices,
# a calibrated ESP32 at its 160 MHz pstate that light-sleeps between requests, and the summary's columns.
set -euo pipefail
scee=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$scee" train --fan-outs 2,9,10 --exits 1 --epochs 1 --train-samples 3000 --test-samples 200 --out "$work/m.scee" \
  --quiet > /dev/null
cat > "$work/s.json" <<JSON
{"name": "docs-formulas", "seed": 7, "model": {"file": "m.scee"}, "dataset": {"samples": 600},
 "split": {"after_layer": 1, "exits": [1], "threshold": 0.9},
 "devices": {"profile": "esp32", "count": 3, "pstate": 1}, "network": {"profile": "ble5"},
 "server": {"profile": "x86_core"}, "workload": {"arrival": "poisson", "rate_per_s": 20}}
JSON
"$scee" run "$work/s.json" --out "$work/run" --quiet > /dev/null
/usr/bin/python3 "$src/tests/cli/docs_formulas.py" "$work/run" "$src/scenarios/profiles/devices/esp32.json"
