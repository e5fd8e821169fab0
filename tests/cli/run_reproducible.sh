#!/usr/bin/env bash
# `scee run` end to end on a small scenario: outputs exist, two runs are byte-identical, the manifest records the
# run, and a bad scenario exits with status 2, one line on stderr naming the file and JSON path, and no output.
set -euo pipefail
scee=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SCEE_CACHE_DIR=$work/cache
cat > "$work/small.json" <<'JSON'
{
  "name": "small",
  "model": {"spec": {"widths": [800, 40, 40, 10], "fan_outs": [2, 9, 10], "exits": [{"after_layer": 1}],
                     "training": {"epochs": 1, "train_samples": 2000, "test_samples": 500}}},
  "dataset": {"samples": 300},
  "split": {"after_layer": 1, "exits": [1], "criterion": "entropy", "threshold": 0.5},
  "devices": {"profile": "esp32", "count": 3},
  "network": {"profile": "lte"},
  "server": {"profile": "x86_core"},
  "workload": {"arrival": "poisson", "rate_per_s": 5}
}
JSON
"$scee" run "$work/small.json" --out "$work/a" --quiet > "$work/a.log"
"$scee" run "$work/small.json" --out "$work/b" --quiet > "$work/b.log"
for f in summary.csv summary.json samples.csv manifest.json; do
  [ -s "$work/a/$f" ] || { echo "missing $f"; exit 1; }
done
cmp "$work/a/summary.csv" "$work/b/summary.csv"
cmp "$work/a/samples.csv" "$work/b/samples.csv"
cmp "$work/a/summary.json" "$work/b/summary.json"
[ "$(wc -l < "$work/a/samples.csv")" -eq 301 ] || { echo "samples.csv should have 300 rows"; exit 1; }
grep -q '"network_model": "CM02"' "$work/a/manifest.json"
grep -q '"simgrid_version": "3.32.0"' "$work/a/manifest.json"
grep -q '"git_revision"' "$work/a/manifest.json"
ls "$work/cache/models/"*.scee > /dev/null # trained once, cached

# A bad scenario: status 2, one line naming the file and the JSON path, no output directory.
sed 's/"count": 3/"count": 0/' "$work/small.json" > "$work/bad.json"
set +e
"$scee" run "$work/bad.json" --out "$work/c" --quiet > /dev/null 2> "$work/err.txt"
status=$?
set -e
[ "$status" -eq 2 ] || { echo "expected exit status 2, got $status"; exit 1; }
[ "$(wc -l < "$work/err.txt")" -eq 1 ] || { cat "$work/err.txt"; echo "expected one line"; exit 1; }
grep -q "bad.json: \$.devices.count: " "$work/err.txt" || { cat "$work/err.txt"; exit 1; }
[ ! -e "$work/c" ] || { echo "a failed run left output behind"; exit 1; }
echo "ok"
