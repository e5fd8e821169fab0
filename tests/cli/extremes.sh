#!/usr/bin/env bash
# Extreme values for every number of a scenario (tests/cli/extremes.py): refused cleanly or run to finite metrics.
set -euo pipefail
scee=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$scee" train --fan-outs 2,9,10 --exits 1 --epochs 1 --train-samples 2000 --test-samples 100 --out "$work/m.scee" \
  --quiet > /dev/null
# A base that exercises every part: a calibrated, sleeping device with a battery, LTE's promotion and tail, faults,
# timeouts and retries, two devices.
cat > "$work/s.json" <<JSON
{"name": "extremes", "seed": 3, "model": {"file": "m.scee"}, "dataset": {"samples": 12},
 "split": {"after_layer": 1, "exits": [1], "threshold": 0.9},
 "devices": {"profile": "esp32", "count": 2, "pstate": 1, "battery": {"capacity_mah": 225, "voltage_v": 3.0}},
 "network": {"profile": "lte"}, "server": {"profile": "x86_core"},
 "workload": {"arrival": "periodic", "period_s": 0.5},
 "faults": {"uplink_outages": [{"start_s": 1.0, "duration_s": 0.7}], "uplink_bandwidth": [{"at_s": 2.0, "factor": 0.5}],
            "server_outages": [{"start_s": 3.0, "duration_s": 0.4}]},
 "offload": {"request_timeout_s": 0.4, "retries": 1, "retry_backoff_s": 0.05}}
JSON
"$scee" run "$work/s.json" --out "$work/base" --quiet > /dev/null
/usr/bin/python3 "$src/tests/cli/extremes.py" "$scee" "$work/base" "$work/cases1"
# Another corner: closed loop, fp32 kernels on an STM32H7A3, Poisson-free, a duty-cycled LoRa link with fragments.
cat > "$work/s2.json" <<JSON
{"name": "extremes2", "model": {"file": "m.scee"}, "dataset": {"samples": 6},
 "split": {"after_layer": 2, "exits": [1], "criterion": "entropy", "threshold": 0.5},
 "devices": {"profile": "stm32h7a3", "number_format": "fp32", "pstate": 3}, "network": {"profile": "lora_sf7"},
 "server": {"profile": "gpu_t4", "workers": 2}, "workload": {"arrival": "closed_loop", "think_time_s": 0.2}}
JSON
"$scee" run "$work/s2.json" --out "$work/base2" --quiet > /dev/null
/usr/bin/python3 "$src/tests/cli/extremes.py" "$scee" "$work/base2" "$work/cases2"
