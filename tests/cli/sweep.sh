#!/usr/bin/env bash
# `scee sweep` end to end: --jobs 1 and --jobs 2 give byte-identical results.csv, so do 3 shards merged, so does a
# sweep killed (SIGKILL) and resumed; a point's summary equals `scee run` of its scenario; --dry-run lists the points; a
# merge with a shard missing names the points.
set -euo pipefail
scee=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SCEE_CACHE_DIR=$work/cache
source "$(dirname "$0")/lib.sh"
cp "$(dirname "$0")/tiny-sweep.json" "$work/sweep.json" # 36 points, 2 models of one epoch
"$scee" sweep "$work/sweep.json" --dry-run > "$work/dry.txt"
grep -q "36 points" "$work/dry.txt"
[ "$(grep -c '^  point' "$work/dry.txt")" -eq 36 ]

"$scee" sweep "$work/sweep.json" --out "$work/j1" --jobs 1 --quiet > /dev/null
"$scee" sweep "$work/sweep.json" --out "$work/j2" --jobs 2 --quiet > /dev/null
cmp "$work/j1/results.csv" "$work/j2/results.csv"
[ "$(wc -l < "$work/j1/results.csv")" -eq 37 ]
! grep -q ',failed,' "$work/j1/results.csv"
grep -q '^point,status,error,axis_fan_outs,axis_split_after,axis_criterion,axis_threshold,axis_network,' "$work/j1/results.csv"

# The points that share a model, samples, split, device exits and encoding share their network's answers once one
# of them has run: with --jobs 1, the first of each of the 6 (fan-outs, split) groups of 6 computes its own and the
# other 30 inherit the sweep's. A point's summary is what `scee run` of its scenario gives either way.
/usr/bin/python3 - "$work/j1" <<'PY' || fail "points sharing answers"
import json, sys
shared = [json.load(open(f"{sys.argv[1]}/points/{i}.json"))["answers_shared"] for i in range(36)]
assert shared == [i % 6 != 0 for i in range(36)], shared
assert json.load(open(f"{sys.argv[1]}/manifest.json"))["points_sharing_answers"] == 30
PY
for p in 0 7 26 35; do
  /usr/bin/python3 - "$work/j1/points/$p.json" "$work/p$p.json" <<'PY'
import json, sys
json.dump(json.load(open(sys.argv[1]))["scenario"], open(sys.argv[2], "w"))
PY
  "$scee" run "$work/p$p.json" --out "$work/run$p" --quiet > /dev/null
  /usr/bin/python3 - "$work/j1/points/$p.json" "$work/run$p/summary.json" <<'PY' || fail "point $p differs from its scee run"
import json, sys
point, run = json.load(open(sys.argv[1]))["summary"], json.load(open(sys.argv[2]))
diff = {k: (point.get(k), run.get(k)) for k in set(point) | set(run) if point.get(k) != run.get(k)}
sys.exit(f"{sys.argv[1]}: {diff}" if diff else 0)
PY
done

for i in 0 1 2; do "$scee" sweep "$work/sweep.json" --out "$work/s$i" --shard "$i/3" --jobs 2 --quiet > /dev/null; done
"$scee" merge "$work/s0" "$work/s1" "$work/s2" --out "$work/merged" > /dev/null
cmp "$work/j1/results.csv" "$work/merged/results.csv"
expect_error "merge with a shard missing" "12 of 36 points have no result" \
  "$scee" merge "$work/s0" "$work/s1" --out "$work/partial"

# Kill the sweep (and its point processes) mid-way, twice, then resume.
for attempt in 1 2; do
  setsid "$scee" sweep "$work/sweep.json" --out "$work/killed" --jobs 2 --quiet --resume > /dev/null 2>&1 &
  pid=$!
  sleep 0.$((3 + attempt * 3))
  kill -KILL -- "-$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
done
"$scee" sweep "$work/sweep.json" --out "$work/killed" --jobs 2 --quiet --resume > /dev/null
cmp "$work/j1/results.csv" "$work/killed/results.csv"

# A point process killed alone (the sweep goes on): recorded as failed by a signal, the sweep exits 1 saying so, and
# --resume runs it again. Points of all 10,000 samples (2,000 under the sanitizers), so that a point process can be
# caught running.
# (Under the sanitizers, which .ci/sanitize announces with ASAN_OPTIONS, points are 5x slower already: 2,000 samples.)
long_samples=10000
[ -z "${ASAN_OPTIONS:-}" ] || long_samples=2000
sed "s/\"samples\": 200/\"samples\": $long_samples/" "$work/sweep.json" > "$work/long.json"
"$scee" sweep "$work/long.json" --out "$work/long_ref" --jobs 2 --quiet > /dev/null
setsid "$scee" sweep "$work/long.json" --out "$work/long" --jobs 1 --quiet > /dev/null 2> "$work/long_err.txt" &
pid=$!
killed=
for _ in $(seq 1 1000); do # a point process, caught and killed while it runs (points end fast: retry until one is)
  child=$(pgrep -P "$pid" | head -1 || true)
  if [ -n "$child" ] && kill -KILL "$child" 2> /dev/null; then killed=$child; break; fi
  sleep 0.005
done
[ -n "$killed" ] || { echo "no point process could be killed"; exit 1; }
# While the sweep goes on, a second run in the same folder is refused (the folder's lock).
expect_error "a concurrent resume" "another scee sweep is running in this folder" \
  "$scee" sweep "$work/long.json" --out "$work/long" --resume --quiet
set +e
wait "$pid"
status=$?
set -e
[ "$status" -eq 1 ] || { cat "$work/long_err.txt"; echo "a sweep with a killed point exited $status"; exit 1; }
grep -q "points failed; 1 by a signal or the machine" "$work/long_err.txt" && grep -q -- "--resume to retry" "$work/long_err.txt" ||
  { cat "$work/long_err.txt"; echo "no summary of the failed point"; exit 1; }
grep -l '"retry": true' "$work"/long/points/*.json > /dev/null
# A leftover temporary is removed, and the resumed sweep equals the uninterrupted one.
echo partial > "$work/long/points/3.json.tmp.99999"
"$scee" sweep "$work/long.json" --out "$work/long" --resume --quiet > /dev/null
cmp "$work/long_ref/results.csv" "$work/long/results.csv"
[ ! -e "$work/long/points/3.json.tmp.99999" ]
# A record under another point's name is refused.
cp "$work/long/points/1.json" "$work/long/points/2.json"
expect_error "a mismatched record" "points/2.json: holds the record of point 1, not of point 2" \
  "$scee" sweep "$work/long.json" --out "$work/long" --resume --quiet

# Re-running into a used directory without --resume is refused.
expect_error "a used folder without --resume" "already holds a sweep" \
  "$scee" sweep "$work/sweep.json" --out "$work/j1" --quiet
echo ok
