#!/usr/bin/env bash
# Crash safety of `scee sweep`: a sweep killed with SIGKILL (its whole process group, as the OOM killer, a node
# failure or `kill -9 -PGID` would) at random moments, during training and during points, then resumed, gives a
# results.csv byte-identical to a sweep that never stopped; no point record is ever half-written. SIGINT, to the
# parent alone or to the whole group (Ctrl-C in a terminal), stops the sweep with exit status 130, keeps the
# finished points, and --resume completes it identically.
#
# Usage: kill_resume.sh SCEE [SEED]   (SEED fixes the random kill moments; the default is random and printed)
set -euo pipefail
scee=$1
seed=${2:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$seed
echo "kill moments from seed $seed (rerun: $0 $scee $seed)"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in ${pids[@]+"${pids[@]}"}; do kill -KILL -- "-$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Three models to train (about a second each) and 36 points of 5,000 samples (long enough for the kills to land).
cat > "$work/sweep.json" <<'JSON'
{
  "name": "killme",
  "model": {"spec": {"widths": [800, 40, 40, 10], "fan_outs": [2, 9, 10], "exits": [{"after_layer": 1}],
                     "training": {"epochs": 2, "train_samples": 10000, "test_samples": 200}}},
  "dataset": {"samples": 5000},
  "split": {"after_layer": 1, "exits": [1]},
  "devices": {"profile": "esp32"},
  "network": {"profile": "ble5"},
  "server": {"profile": "x86_core"},
  "workload": {"arrival": "poisson", "rate_per_s": 4},
  "sweep": {"axes": [
    {"name": "fan_outs", "values": [[40, 40, 10], [10, 20, 10], [2, 9, 10]]},
    {"name": "split_after", "values": [0, 1, 2, 3]},
    {"name": "threshold", "values": [0.6, 0.8, 0.95]}
  ]}
}
JSON
points=36 models=3

# count DIR PATTERN: files in DIR matching PATTERN (0 when DIR does not exist yet).
count() { if [ -d "$1" ]; then find "$1" -name "$2" | wc -l; else echo 0; fi; }
# now_ms: milliseconds since the epoch.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# start OUT CACHE: a sweep in its own session (process group = its pid), in the background; sets $pid.
start() {
  SCEE_CACHE_DIR=$2 setsid "$scee" sweep "$work/sweep.json" --out "$1" --jobs 2 --quiet --resume \
    > "$work/stdout" 2> "$work/stderr" &
  pid=$!
  pids+=("$pid")
}
# reap: wait for $pid and for its process group to be gone; sets $status.
reap() {
  set +e
  wait "$pid" 2> /dev/null # (no "Killed" notice from bash)
  status=$?
  set -e
  for _ in $(seq 100); do kill -0 -- "-$pid" 2> /dev/null || return 0; sleep 0.05; done
  fail "processes of group $pid survive: $(ps -o pid,args -g "$pid" | tail -n +2 | tr '\n' ';')"
}
# check_records DIR: every point record is whole (non-empty, ends with a newline).
check_records() {
  local f
  for f in "$1"/points/*.json; do
    [ -e "$f" ] || continue
    [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || fail "half-written point record $f"
  done
}

# ---- SIGKILL at random moments, then resume ----
t0=$(now_ms)
out=$work/killed cache=$work/cache_killed
kills=0 in_training=0 in_points=0
while [ "$kills" -lt 6 ]; do
  start "$out" "$cache"
  if [ "$kills" -lt 2 ]; then
    # During training: a random moment between 0.1 and 0.4 s (training the three models takes a second or more).
    sleep "0.$((RANDOM % 3 + 1))$((RANDOM % 10))"
  else
    # During points: kills 3 to 6 spread over the sweep (after about 7, 15, 23 and 31 finished points, give or take
    # one), each after a random extra delay of up to 90 ms; at least three points are left (two may be running), so
    # that the kill lands before the sweep ends however fast the points are.
    done_now=$(count "$out/points" '*.json')
    target=$(( 6 + (kills - 2) * 8 + RANDOM % 3 ))
    [ "$target" -gt "$done_now" ] || target=$((done_now + 1))
    [ "$target" -le $((points - 3)) ] || target=$((points - 3))
    while [ "$(count "$out/points" '*.json')" -lt "$target" ] && kill -0 "$pid" 2> /dev/null; do sleep 0.02; done
    sleep "0.0$((RANDOM % 10))"
  fi
  trained=$(count "$cache/models" '*.scee')
  done_points=$(count "$out/points" '*.json')
  kill -KILL -- "-$pid" 2> /dev/null || true
  reap
  kills=$((kills + 1))
  [ "$status" -ne 0 ] || fail "kill $kills came too late: the sweep had finished"
  [ "$status" -eq 137 ] || fail "kill $kills: exit status $status, expected 137 (SIGKILL)"
  if [ "$trained" -lt "$models" ]; then
    in_training=$((in_training + 1))
    echo "kill $kills: during training ($trained of $models models cached)"
  else
    in_points=$((in_points + 1))
    echo "kill $kills: during points ($done_points of $points finished)"
  fi
  check_records "$out"
  [ ! -e "$out/results.csv" ] || [ "$(count "$out/points" '*.json')" -eq "$points" ] ||
    fail "kill $kills: results.csv exists while points are missing"
done
start "$out" "$cache"
reap
[ "$status" -eq 0 ] || { cat "$work/stderr"; fail "the final resume exited with $status"; }
[ "$in_training" -ge 1 ] || fail "no kill happened during training"
[ "$in_points" -ge 1 ] || fail "no kill happened during points"
echo "SIGKILL x $kills and resume: $(( ($(now_ms) - t0) / 1000 )) s"

# ---- The same sweep, uninterrupted, with its own cache ----
start "$work/reference" "$work/cache_reference"
reap
[ "$status" -eq 0 ] || { cat "$work/stderr"; fail "the reference sweep exited with $status"; }
[ "$(wc -l < "$work/reference/results.csv")" -eq $((points + 1)) ] || fail "the reference has not $points rows"
! grep -q ',failed,' "$work/reference/results.csv" || fail "the reference has failed points"
cmp "$work/reference/results.csv" "$out/results.csv" || fail "killed and resumed results.csv differs from the reference"

# ---- SIGINT to the parent alone, then to the whole group ----
for target in parent group; do
  out=$work/sigint_$target
  start "$out" "$work/cache_reference" # models cached: straight to the points
  want=$((RANDOM % 6 + 2))
  while [ "$(count "$out/points" '*.json')" -lt "$want" ] && kill -0 "$pid" 2> /dev/null; do sleep 0.02; done
  if [ "$target" = parent ]; then kill -INT "$pid"; else kill -INT -- "-$pid"; fi
  reap
  kept=$(count "$out/points" '*.json')
  [ "$status" -eq 130 ] || { cat "$work/stderr"; fail "SIGINT to the $target: exit status $status, expected 130"; }
  grep -q "interrupted: $kept of $points points finished and kept in $out; continue with --resume" "$work/stderr" ||
    { cat "$work/stderr"; fail "SIGINT to the $target: no or wrong 'interrupted' message"; }
  [ "$kept" -ge "$want" ] && [ "$kept" -lt "$points" ] || fail "SIGINT to the $target: $kept points kept"
  [ ! -e "$out/results.csv" ] || fail "SIGINT to the $target: results.csv written for an unfinished sweep"
  ! grep -q '"status": "failed"' "$out"/points/*.json || fail "SIGINT to the $target: a point was recorded as failed"
  check_records "$out"
  echo "SIGINT to the $target: exit 130, $kept of $points points kept"
  start "$out" "$work/cache_reference"
  reap
  [ "$status" -eq 0 ] || { cat "$work/stderr"; fail "resume after SIGINT to the $target exited with $status"; }
  cmp "$work/reference/results.csv" "$out/results.csv" || fail "resumed after SIGINT to the $target: results differ"
done
echo "ok ($(( ($(now_ms) - t0) / 1000 )) s)"
