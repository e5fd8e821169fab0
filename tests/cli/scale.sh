#!/usr/bin/env bash
# The documented maximum of 100,000 devices runs (in a few seconds and under 1 GB here), and an address-space limit
# too small for the actors' stacks is refused with its cause, before SimGrid starts.
set -euo pipefail
scee=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$scee" train --fan-outs 2,9,10 --exits 1 --epochs 1 --train-samples 2000 --test-samples 100 --out "$work/m.scee" \
  --quiet > /dev/null
# Under the sanitizers (.ci/sanitize sets ASAN_OPTIONS) actors are threads, and AddressSanitizer needs far more
# address space than any limit here: fewer devices, and no limit.
devices=100000
[ -z "${ASAN_OPTIONS:-}" ] || devices=2000
cat > "$work/s.json" <<JSON
{"name": "scale", "model": {"file": "m.scee"}, "dataset": {"samples": 10000}, "split": {"after_layer": 1, "exits": [1]},
 "devices": {"profile": "esp32", "count": $devices}, "network": {"profile": "wifi"}, "server": {"profile": "x86_core"},
 "workload": {"arrival": "periodic", "period_s": 1.0}}
JSON
"$scee" run "$work/s.json" --out "$work/run" --quiet > /dev/null
[ "$(wc -l < "$work/run/samples.csv")" -eq 10001 ]
[ -z "${ASAN_OPTIONS:-}" ] || { echo "scale: ok (sanitizer build: $devices devices, no address-space limit)"; exit 0; }
rc=0
(ulimit -v 3000000; "$scee" run "$work/s.json" --out "$work/limited" --quiet > /dev/null 2> "$work/err.txt") || rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l < "$work/err.txt")" -eq 1 ] &&
  grep -q "need .* GB of address space for their stacks (512 KiB each), more than 3/4 of this process's limit" "$work/err.txt" ||
  { echo "rc=$rc: $(cat "$work/err.txt")"; exit 1; }
[ ! -e "$work/limited" ]
echo "scale: ok"
