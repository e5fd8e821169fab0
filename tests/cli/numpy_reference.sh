#!/usr/bin/env bash
# An independent numpy forward pass, written from docs/model-format.md alone (tests/cli/numpy_reference.py), must
# agree with `scee eval` on every prediction of every exit: B-LeNet with channel-sparse convolutions and a sparse fc
# layer, and the paper's MLP. The models are trained briefly (the check is of the forward pass, not of accuracy).
set -euo pipefail
scee=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mnist=${SCEE_DATA_DIR:-$src/data}/mnist
python=/usr/bin/python3 # Debian's interpreter, which has numpy

# B-LeNet as shipped, with conv 2 and 3 at fan-outs 4 of 10 and 10 of 20 channels and fc 720->84 at fan-out 7.
"$python" - "$src/scenarios/models/b-lenet.json" "$work/cnn.json" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["layers"][3]["fan_out"] = 4
spec["layers"][6]["fan_out"] = 10
spec["layers"][10]["fan_out"] = 7
spec["training"].update({"epochs": 1, "train_samples": 3000, "test_samples": 200})
json.dump(spec, open(sys.argv[2], "w"))
PY
"$scee" train --spec "$work/cnn.json" --out "$work/cnn.scee" --quiet > /dev/null
"$scee" eval "$work/cnn.scee" --limit 300 --out "$work/cnn" > /dev/null
"$python" "$src/tests/cli/numpy_reference.py" "$work/cnn.scee" "$work/cnn/samples.csv" "$mnist"

"$scee" train --epochs 1 --train-samples 3000 --test-samples 200 --out "$work/mlp.scee" --quiet > /dev/null
"$scee" eval "$work/mlp.scee" --limit 1000 --out "$work/mlp" > /dev/null
"$python" "$src/tests/cli/numpy_reference.py" "$work/mlp.scee" "$work/mlp/samples.csv" "$mnist"
