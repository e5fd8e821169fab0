#!/usr/bin/env bash
# Output paths and half-written outputs: a run's files appear together or not at all, a run never writes outside
# its folder or deletes what it did not write, and paths with control characters are refused before any work.
set -euo pipefail
scee=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
"$scee" train --fan-outs 2,9,10 --epochs 1 --train-samples 2000 --test-samples 100 --out "$work/m.scee" --quiet > /dev/null
cat > "$work/s.json" <<JSON
{"name": "outputs", "model": {"file": "m.scee"}, "dataset": {"samples": 2000}, "split": {"after_layer": 1},
 "devices": {"profile": "rpi4"}, "network": {"profile": "wifi"}, "server": {"profile": "x86_core"}}
JSON

# Control characters in any argument.
expect_error newline_out "--out: the path must not contain control characters" \
  "$scee" run "$work/s.json" --out "$work/a"$'\n'"b" --quiet
expect_error tab_log "--log: the path must not contain control characters" \
  "$scee" train --epochs 1 --out "$work/t.scee" --log "$work/l"$'\t'"og.csv" --quiet
[ ! -e "$work/t.scee" ] || fail "tab_log: a model was written"

# A folder with other files is never the target of a run (out/x/.. is out).
mkdir -p "$work/keep/x" && echo precious > "$work/keep/notes.txt"
expect_error dotdot "the folder holds other files than a run's outputs" \
  "$scee" run "$work/s.json" --out "$work/keep/nope/.." --quiet
expect_error dotdot_sweep "exists and is not a sweep's output directory" \
  "$scee" sweep "$(dirname "$0")/tiny-sweep.json" --out "$work/keep/nope/.." --quiet
[ "$(cat "$work/keep/notes.txt")" = precious ] && [ ! -e "$work/keep/nope" ] && [ ! -e "$work/keep/points" ] \
  || fail "dotdot: the folder was touched"

# A run replaces its own earlier outputs, and leaves no temporaries.
"$scee" run "$work/s.json" --out "$work/r" --quiet > /dev/null
cp "$work/r/summary.csv" "$work/first.csv"
"$scee" run "$work/s.json" --out "$work/r/" --quiet > /dev/null
cmp -s "$work/r/summary.csv" "$work/first.csv" || fail "rerun: a different summary"
[ -z "$(find "$work" -name '.*.tmp.*' -o -name '.*.old.*')" ] || fail "rerun: temporaries left behind"

# A write that fails half-way (file size limit: EFBIG, as a full disk would give ENOSPC) leaves nothing new, and the
# earlier run's folder intact.
rc=0
(trap '' XFSZ; ulimit -f 64; "$scee" run "$work/s.json" --out "$work/r" --quiet > /dev/null 2> "$work/err.txt") || rc=$?
[ "$rc" = 2 ] || fail "efbig: exit $rc: $(cat "$work/err.txt")"
grep -q "write failed" "$work/err.txt" || fail "efbig: $(cat "$work/err.txt")"
cmp -s "$work/r/summary.csv" "$work/first.csv" || fail "efbig: the earlier run's folder changed"
[ -z "$(find "$work" -name '.*.tmp.*' -o -name '*.tmp.*' -o -name '.*.old.*')" ] || fail "efbig: temporaries left behind"
rc=0
(trap '' XFSZ; ulimit -f 64; "$scee" run "$work/s.json" --out "$work/new" --quiet > /dev/null 2>&1) || rc=$?
[ "$rc" = 2 ] && [ ! -e "$work/new" ] || fail "efbig_new: exit $rc, or a half-written folder"

# train: an unwritable log is found before training, and no model is left without its log.
echo x > "$work/afile"
expect_error log_under_file "--log $work/afile/log.csv: cannot create the folder" \
  "$scee" train --epochs 1 --out "$work/t2.scee" --log "$work/afile/log.csv" --quiet
[ ! -e "$work/t2.scee" ] || fail "log_under_file: a model was written"
echo "outputs: ok"
