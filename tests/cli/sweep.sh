#!/usr/bin/env bash
# `scee sweep` end to end: --jobs 1 and --jobs 2 give byte-identical results.csv, so do 3 shards merged, so does a
# sweep killed (SIGKILL) and resumed; --dry-run lists the points; a merge with a shard missing names the points.
set -euo pipefail
scee=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SCEE_CACHE_DIR=$work/cache
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

for i in 0 1 2; do "$scee" sweep "$work/sweep.json" --out "$work/s$i" --shard "$i/3" --jobs 2 --quiet > /dev/null; done
"$scee" merge "$work/s0" "$work/s1" "$work/s2" --out "$work/merged" > /dev/null
cmp "$work/j1/results.csv" "$work/merged/results.csv"
set +e
"$scee" merge "$work/s0" "$work/s1" --out "$work/partial" 2> "$work/err.txt"
status=$?
set -e
[ "$status" -eq 2 ] && grep -q "12 of 36 points have no result" "$work/err.txt"

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

# Re-running into a used directory without --resume is refused.
set +e
"$scee" sweep "$work/sweep.json" --out "$work/j1" --quiet 2> "$work/err2.txt"
status=$?
set -e
[ "$status" -eq 2 ] && grep -q "already holds a sweep" "$work/err2.txt"
echo ok
