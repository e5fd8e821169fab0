#!/usr/bin/env bash
# `scee sweep --slurm` on a real Slurm. Starts munge and a one-node Slurm (Debian's slurm-wlm and munge, which
# .ci/setup installs; configuration, state, spool, logs and sockets in a temporary directory; ports chosen at
# random), submits a 36-point sweep through the generated submit.sh and checks that the merged results.csv is
# byte-identical to the same sweep run locally. Then makes one array task fail (its shard's output path is taken by
# a file), checks that its error file and the merge job's message name the missing points, runs the resubmission
# command the merge job printed (only that task, then the merge) and checks the CSV again.
# Stops the daemons it started (by their pid files) and removes everything on exit, failed or not.
# Exit 77 (ctest: skipped) only when the packages are not installed.
set -euo pipefail
scee=$(realpath "$1")
work=$(mktemp -d)
jobs=() # every job submitted, cancelled on exit

cleanup() {
  local status=$? pid
  set +e
  if ((status != 0)) && [ -d "$work/log" ]; then
    echo "--- failed; the end of the Slurm logs:"
    tail -n 15 "$work"/log/*.log
  fi
  if ((${#jobs[@]})) && [ -n "${SLURM_CONF:-}" ]; then
    scancel "${jobs[@]}" 2> /dev/null
    for _ in $(seq 50); do [ -z "$(squeue -h 2> /dev/null)" ] && break; sleep 0.2; done
  fi
  for pid_file in "$work/run/slurmd.pid" "$work/run/slurmctld.pid" "$work/munge/munged.pid"; do
    [ -f "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    kill "$pid" 2> /dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null || ! command -v sbatch > /dev/null ||
   ! command -v munged > /dev/null; then
  echo "SKIP: slurm-wlm and munge are not installed: run .ci/setup (it installs them)"
  exit 77
fi
[ "$(id -u)" -eq 0 ] || { echo "this test starts munge and Slurm as root: run it as root" >&2; exit 1; }

# munge, as the munge user, with its own key and socket.
chmod 755 "$work"
install -d -o munge -g munge -m 755 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
runuser -u munge -- munged --socket="$work/munge/socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"

# Slurm: one node, this machine, all its CPUs.
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/state" "$work/spool" "$work/log" "$work/run"
cat > "$work/slurm.conf" << EOF
ClusterName=scee-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$host"
for i in $(seq 120); do
  [ "$(sinfo -h -N -o %T 2> /dev/null)" = idle ] && break
  ((i < 120)) || { echo "the Slurm node did not become idle: $(sinfo -N 2>&1)" >&2; exit 1; }
  sleep 0.5
done
echo "Slurm up on $host (port $port) after $SECONDS s"

# Waits until job $1 has ended (at most $2 seconds) and prints its state.
wait_job() {
  local state
  for _ in $(seq $(($2 * 2))); do
    state=$(scontrol show job "$1" -o 2> /dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2)
    case $state in
      PENDING | CONFIGURING | RUNNING | COMPLETING | REQUEUED | "") sleep 0.5 ;;
      *) echo "$state"; return 0 ;;
    esac
  done
  echo "job $1 has not ended after $2 s: $(scontrol show job "$1" -o)" >&2
  return 1
}

# Submits with submit.sh in $1; records the jobs; prints the merge job's id.
submit() {
  local line
  line=$(bash "$1/submit.sh" | grep '^submitted:')
  read -r train array merge <<< "$(echo "$line" | sed -E 's/.*training ([0-9]+), array ([0-9]+) .*merge ([0-9]+)/\1 \2 \3/')"
  jobs+=("$train" "$array" "$merge")
}

cp "$(dirname "$0")/tiny-sweep.json" "$work/sweep.json" # 36 points, 2 models of one epoch
SCEE_CACHE_DIR=$work/local-cache "$scee" sweep "$work/sweep.json" --out "$work/local" --jobs 2 --quiet > /dev/null

# 1. The whole sweep through the generated scripts, the models cached inside the set-up directory.
a=$work/jobs-a
env -u SCEE_CACHE_DIR "$scee" sweep "$work/sweep.json" --slurm "$a" --shards 6 --partition debug --time 00:10:00 \
  --cpus-per-task 1 --sbatch-extra=--comment=scee-test > "$work/gen.txt"
grep -q "tiny: 36 points in 6 shards" "$work/gen.txt"
grep -q "^export SCEE_CACHE_DIR=$a/cache$" "$a/array.sbatch"
submit "$a"
state=$(wait_job "$merge" 300)
[ "$state" = COMPLETED ] || { echo "merge job $merge: $state"; cat "$a"/logs/*.err; exit 1; }
cmp "$work/local/results.csv" "$a/merged/results.csv"
# The models were trained once, by the training job, before any shard started.
grep -q "tiny: 2 models, 2 trained now, 0 failed" "$a/logs/train.out"
[ "$(ls "$a/cache/models" | wc -l)" -eq 2 ] && [ -z "$(find "$a/cache/models" -newer "$a/shards/0/sweep.json")" ]
grep -q "shard 3/6 from SLURM_ARRAY_TASK_ID=3" "$a/logs/array-3.out"
echo "sweep through Slurm: byte-identical to the local run after $SECONDS s"

# 2. A failed array task: shard 2's output path is taken. The user's cache (set here) is reused: nothing to train.
b=$work/jobs-b
SCEE_CACHE_DIR=$a/cache "$scee" sweep "$work/sweep.json" --slurm "$b" --shards 6 > /dev/null
echo "taken" > "$b/shards/2"
submit "$b"
state=$(wait_job "$merge" 300)
[ "$state" = FAILED ] || { echo "merge job $merge should have failed: $state"; exit 1; }
[ "$(wait_job "${array}_2" 10)" = FAILED ]
grep -q "tiny: 2 models, 0 trained now" "$b/logs/train.out"
grep -q "shard 2/6 did not finish: 6 of its points have no result in $b/shards/2 (points 2, 8, 14, 20, 26, 32)" \
  "$b/logs/array-2.err"
grep -q "6 of 36 points have no result (points 2, 8, 14, 20, 26, 32); rerun shard 2 (of 6)" "$b/logs/merge.err"
resubmit=$(grep -o 'array=$(sbatch --parsable --array=2 .*' "$b/logs/merge.err")
[ "$resubmit" = "array=\$(sbatch --parsable --array=2 $b/array.sbatch) && sbatch --dependency=afterany:\${array%%;*} $b/merge.sbatch" ]
[ ! -e "$b/merged/results.csv" ]
rm "$b/shards/2"
eval "$resubmit" > "$work/resubmitted.txt" # sets $array, prints the merge job's id
merge=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' "$work/resubmitted.txt")
jobs+=("$array" "$merge")
[ "$(wait_job "$merge" 300)" = COMPLETED ]
grep -q "shard 2/6 from SLURM_ARRAY_TASK_ID=2 (array 2-2:1 of 1 task)" "$b/logs/array-2.out"
cmp "$work/local/results.csv" "$b/merged/results.csv"
echo "ok: a failed task was named, resubmitted alone, and the sweep completed ($SECONDS s in all)"
