#!/usr/bin/env bash
# The bad-input corpus: every case of tests/bad_inputs/cases.tsv must exit with status 2 (not 3, not a signal, not a
# timeout), print exactly one line on stderr ("scee: error: ..." containing every expected substring: the file, the
# JSON path or the argument, and what would be valid), and leave no output behind ({out} must not exist afterwards).
#
# Usage: bad_inputs.sh SCEE [NAME-REGEX]   (BAD_INPUTS_SHOW=1 prints every message)
#
# The corpus is copied to a temporary folder ({cases}); the model files (a tiny trained model and damaged copies)
# are made in {cases}/models, and the datasets (MNIST via SCEE_DATA_DIR, Fashion-MNIST via SCEE_FASHION_MNIST_DIR)
# in {work}/data, by this script. See tests/bad_inputs/cases.tsv for the format.
set -euo pipefail # (-e for the set-up only; the cases run under set +e)
scee=$1
only=${2:-}
tests=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$tests/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SCEE_CACHE_DIR=$work/cache
cases=$work/cases
cp -r "$tests/bad_inputs" "$cases"
die() { echo "setup: $*" >&2; exit 1; }

# ---- Binary helpers ----
# le64 N: 8 bytes, little-endian.
le64() { local n=$1 i out=""; for ((i = 0; i < 8; i++)); do out+=$(printf '\\x%02x' $(((n >> (8 * i)) & 255))); done; printf "$out"; }
# be32 N: 4 bytes, big-endian (IDX headers).
be32() { local n=$1; printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(((n >> 24) & 255)) $(((n >> 16) & 255)) $(((n >> 8) & 255)) $((n & 255)))"; }
# put FILE OFFSET BYTES: overwrite bytes in place (BYTES as printf escapes).
put() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# reseal FILE: replace the trailing SHA-256 of a model file by the checksum of what precedes it.
reseal() {
  head -c -32 "$1" > "$1.body"
  printf "$(sha256sum "$1.body" | cut -c1-64 | sed 's/../\\x&/g')" >> "$1.body"
  mv "$1.body" "$1"
}
# with_header MODEL SED-EXPRESSION OUT: the model with its JSON header edited, its length and checksum fixed.
with_header() {
  local len
  len=$(od -An -tu8 -j12 -N8 "$1" | tr -d ' ')
  head -c $((20 + len)) "$1" | tail -c "$len" | sed "$2" > "$3.header" # (no head after tail: SIGPIPE)
  { head -c 12 "$1"; le64 "$(stat -c %s "$3.header")"; cat "$3.header"; tail -c +$((21 + len)) "$1"; } > "$3"
  rm "$3.header"
  reseal "$3"
}
# idx FILE TYPE DIMS... : an IDX header; the data are appended by the caller.
idx() { local f=$1 type=$2 dim; shift 2; { printf "\\x00\\x00\\x$type"; printf "$(printf '\\x%02x' $#)"; for dim in "$@"; do be32 "$dim"; done; } > "$f"; }

# ---- Models ----
m=$cases/models
mkdir -p "$m"
"$scee" train --widths 800,20,20,10 --fan-outs 2,10,10 --exits 1 --epochs 1 --train-samples 500 --test-samples 100 \
  --out "$m/tiny.scee" --quiet > /dev/null || die "cannot train the tiny model"
size=$(stat -c %s "$m/tiny.scee")
header=$(od -An -tu8 -j12 -N8 "$m/tiny.scee" | tr -d ' ')
payload=$((20 + header))
: > "$m/empty.scee"
head -c 10 "$m/tiny.scee" > "$m/short.scee"
head -c $((size / 2)) "$m/tiny.scee" > "$m/truncated.scee"
cp "$m/tiny.scee" "$m/bad_magic.scee" && put "$m/bad_magic.scee" 0 'X'
cp "$m/tiny.scee" "$m/bad_version.scee" && put "$m/bad_version.scee" 8 '\x03'
cp "$m/tiny.scee" "$m/header_overflow.scee" && put "$m/header_overflow.scee" 12 '\xff\xff\xff\xff\xff\xff\xff\xff'
cp "$m/tiny.scee" "$m/flipped.scee" && put "$m/flipped.scee" $((payload + 100)) '\x55' && put "$m/flipped.scee" $((payload + 101)) '\xaa'
with_header "$m/tiny.scee" 's/.*/{"format": "scee-model", /' "$m/header_not_json.scee"
with_header "$m/tiny.scee" 's/"tensors"/"tensorz"/' "$m/header_no_tensors.scee"
with_header "$m/tiny.scee" 's/"widths":\[800,20,20,10\]/"widths":[800,20,30,10]/' "$m/header_bad_fan_out.scee"
with_header "$m/tiny.scee" 's/"offset":0,/"offset":99999999,/' "$m/tensor_offset.scee"
deep=$(head -c 1000 /dev/zero | tr '\0' '[')$(head -c 1000 /dev/zero | tr '\0' ']')
with_header "$m/tiny.scee" "s/\"results\":/\"deep\":$deep,\"results\":/" "$m/header_deep.scee"
cp "$m/tiny.scee" "$m/bad_indices.scee" && put "$m/bad_indices.scee" "$payload" '\xff\xff\xff\x7f' && reseal "$m/bad_indices.scee"
mkdir "$m/directory.scee"
for f in header_not_json header_no_tensors header_bad_fan_out header_deep tensor_offset; do
  [ -s "$m/$f.scee" ] || die "could not make $f.scee"
done

# ---- Datasets ----
d=$work/data
real=$src/data/mnist
[ -s "$real/t10k-images-idx3-ubyte" ] || die "MNIST is missing in $real (run .ci/setup)"
mkdir -p "$d/mnist_missing/mnist" "$d/mnist_truncated/mnist" "$d/mnist_corrupted/mnist" "$d/mnist_bad_magic/mnist" \
  "$d/mnist_empty/mnist" "$d/mnist_directory/mnist/t10k-images-idx3-ubyte" "$d/mnist_no_train/mnist"
head -c 1000 "$real/t10k-images-idx3-ubyte" > "$d/mnist_truncated/mnist/t10k-images-idx3-ubyte"
cp "$real/t10k-images-idx3-ubyte" "$d/mnist_corrupted/mnist/" && put "$d/mnist_corrupted/mnist/t10k-images-idx3-ubyte" 5000 '\x01'
ln -s "$real/t10k-labels-idx1-ubyte" "$d/mnist_corrupted/mnist/"
cp "$real/t10k-images-idx3-ubyte" "$d/mnist_bad_magic/mnist/" && put "$d/mnist_bad_magic/mnist/t10k-images-idx3-ubyte" 0 '\x01'
: > "$d/mnist_empty/mnist/t10k-images-idx3-ubyte"
cp "$real/t10k-"* "$d/mnist_no_train/mnist/"
mkdir -p "$d/mnist_wrong_shape/mnist" "$d/mnist_wrong_count/mnist" "$d/mnist_label_count/mnist" "$d/mnist_swapped/mnist"
idx "$d/mnist_wrong_shape/mnist/t10k-images-idx3-ubyte" 08 10000 28 27
head -c $((10000 * 28 * 27)) /dev/zero >> "$d/mnist_wrong_shape/mnist/t10k-images-idx3-ubyte"
idx "$d/mnist_wrong_count/mnist/t10k-images-idx3-ubyte" 08 100 28 28
head -c $((100 * 784)) /dev/zero >> "$d/mnist_wrong_count/mnist/t10k-images-idx3-ubyte"
idx "$d/mnist_wrong_count/mnist/t10k-labels-idx1-ubyte" 08 100 && head -c 100 /dev/zero >> "$d/mnist_wrong_count/mnist/t10k-labels-idx1-ubyte"
ln -s "$real/t10k-images-idx3-ubyte" "$d/mnist_label_count/mnist/t10k-images-idx3-ubyte"
idx "$d/mnist_label_count/mnist/t10k-labels-idx1-ubyte" 08 9999 && head -c 9999 /dev/zero >> "$d/mnist_label_count/mnist/t10k-labels-idx1-ubyte"
ln -s "$real/t10k-labels-idx1-ubyte" "$d/mnist_swapped/mnist/t10k-images-idx3-ubyte"
ln -s "$real/t10k-images-idx3-ubyte" "$d/mnist_swapped/mnist/t10k-labels-idx1-ubyte"
f=$d/fashion
mkdir -p "$f/wrong_shape" "$f/wrong_count" "$f/label_count" "$f/label_range" "$f/corrupt_gzip" "$f/float_type" \
  "$f/trailing" "$f/labels_2d"
idx "$f/wrong_shape/t10k-images-idx3-ubyte" 08 10000 28 27 && head -c $((10000 * 28 * 27)) /dev/zero >> "$f/wrong_shape/t10k-images-idx3-ubyte"
idx "$f/wrong_count/t10k-images-idx3-ubyte" 08 100 28 28 && head -c $((100 * 784)) /dev/zero >> "$f/wrong_count/t10k-images-idx3-ubyte"
idx "$f/wrong_count/t10k-labels-idx1-ubyte" 08 100 && head -c 100 /dev/zero >> "$f/wrong_count/t10k-labels-idx1-ubyte"
idx "$f/label_count/t10k-images-idx3-ubyte" 08 10000 28 28 && head -c $((10000 * 784)) /dev/zero >> "$f/label_count/t10k-images-idx3-ubyte"
idx "$f/label_count/t10k-labels-idx1-ubyte" 08 9999 && head -c 9999 /dev/zero >> "$f/label_count/t10k-labels-idx1-ubyte"
ln "$f/label_count/t10k-images-idx3-ubyte" "$f/label_range/t10k-images-idx3-ubyte"
idx "$f/label_range/t10k-labels-idx1-ubyte" 08 10000 && head -c 10000 /dev/zero | tr '\0' '\012' >> "$f/label_range/t10k-labels-idx1-ubyte"
printf '\x1f\x8b\x08\x00garbage, not deflate data' > "$f/corrupt_gzip/t10k-images-idx3-ubyte.gz"
idx "$f/float_type/t10k-images-idx3-ubyte" 0d 10 28 28 && head -c $((10 * 784 * 4)) /dev/zero >> "$f/float_type/t10k-images-idx3-ubyte"
idx "$f/trailing/t10k-images-idx3-ubyte" 08 10 28 28 && head -c $((10 * 784 + 7)) /dev/zero >> "$f/trailing/t10k-images-idx3-ubyte"
ln "$f/label_count/t10k-images-idx3-ubyte" "$f/labels_2d/t10k-images-idx3-ubyte"
idx "$f/labels_2d/t10k-labels-idx1-ubyte" 08 10000 1 && head -c 10000 /dev/zero >> "$f/labels_2d/t10k-labels-idx1-ubyte"

# ---- Generated inputs too big to keep as files ----
g=$work/generated
mkdir -p "$g"
{ printf '{"name": '; head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; printf '}\n'; } > "$g/deep_nesting.json"
# Special and oversized files: a FIFO (nobody writes to it: a reader that waits would hang), a 17 MiB scenario.
mkfifo "$g/fifo.json" "$g/fifo.scee"
{ printf '{"name": "'; head -c $((17 << 20)) /dev/zero | tr '\0' 'x'; printf '"}\n'; } > "$g/huge.json"

# ---- The positive controls: the same inputs, undamaged, work ----
"$scee" run "$cases/scenarios/good.json" --out "$work/good_run" --quiet > /dev/null 2>&1 || die "scenarios/good.json fails"
"$scee" sweep "$cases/sweeps/good.json" --dry-run > /dev/null 2>&1 || die "sweeps/good.json fails"
"$scee" eval "$m/tiny.scee" --limit 10 --out "$work/good_eval" > /dev/null 2>&1 || die "models/tiny.scee fails"

# ---- The cases ----
set +e
total=0 failed=0
duplicates=$(grep -v '^#' "$cases/cases.tsv" | cut -f1 | sort | uniq -d)
[ -z "$duplicates" ] || die "cases.tsv: names used twice: $duplicates"
while IFS=$'\t' read -r -a fields; do
  [ "${#fields[@]}" -eq 0 ] && continue
  name=${fields[0]}
  [[ $name == \#* ]] && continue
  [ -n "$only" ] && ! [[ $name =~ $only ]] && continue
  if [ "${#fields[@]}" -lt 3 ]; then
    echo "FAIL $name: cases.tsv needs a name, a command and at least one expected substring"
    failed=$((failed + 1))
    continue
  fi
  total=$((total + 1))
  out=$work/out/$name
  mkdir -p "$work/out"
  command=${fields[1]}
  [ "$command" = "(none)" ] && command=""
  command=${command//\{cases\}/$cases}
  command=${command//\{work\}/$work}
  command=${command//\{out\}/$out}
  read -r -a words <<< "$command"
  envs=()
  while [ "${#words[@]}" -gt 0 ] && [[ ${words[0]} =~ ^[A-Z_]+= ]]; do
    envs+=("${words[0]}")
    words=("${words[@]:1}")
  done
  timeout 60 env ${envs[@]+"${envs[@]}"} "$scee" ${words[@]+"${words[@]}"} > "$work/stdout" 2> "$work/stderr"
  status=$?
  problems=()
  if [ "$status" -eq 124 ]; then
    problems+=("timed out")
  elif [ "$status" -gt 128 ]; then
    problems+=("killed by signal $((status - 128))")
  elif [ "$status" -ne 2 ]; then
    problems+=("exit status $status, expected 2")
  fi
  lines=$(grep -c '' "$work/stderr")
  [ "$lines" -eq 1 ] || problems+=("$lines lines on stderr, expected 1")
  grep -q '^scee: error: ' "$work/stderr" || problems+=("stderr does not start with 'scee: error: '")
  for want in "${fields[@]:2}"; do
    want=${want//\{cases\}/$cases}
    want=${want//\{work\}/$work}
    grep -qF -- "$want" "$work/stderr" || problems+=("message lacks: $want")
  done
  [ ! -e "$out" ] || problems+=("left output behind: $(cd "$work/out" && find "$name" | head -5 | tr '\n' ' ')")
  if [ "${#problems[@]}" -gt 0 ]; then
    failed=$((failed + 1))
    echo "FAIL $name: scee ${words[*]-}"
    for p in "${problems[@]}"; do echo "     - $p"; done
    sed 's/^/     | /' "$work/stderr" | head -5
  elif [ -n "${BAD_INPUTS_SHOW:-}" ]; then
    echo "ok   $name: $(sed "s|$work|<tmp>|g" "$work/stderr")"
  fi
done < "$cases/cases.tsv"

echo "$total bad inputs, $failed failed"
[ -n "$only" ] || [ "$total" -ge 40 ] || { echo "the corpus should hold at least 40 cases"; exit 1; }
[ "$failed" -eq 0 ]
