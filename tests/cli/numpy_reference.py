#!/usr/bin/python3
"""An independent forward pass written from docs/model-format.md alone (numpy, no scee code): reads a model file,
runs every exit branch and the main path on MNIST test images, and compares predictions and max-softmax values with
the samples.csv that `scee eval` wrote for the same model.

Usage: numpy_reference.py MODEL SAMPLES_CSV MNIST_DIR
"""
import csv
import hashlib
import json
import struct
import sys

import numpy as np


def read_model(path):
    raw = open(path, "rb").read()
    assert raw[:8] == b"SCEEMODL" and hashlib.sha256(raw[:-32]).digest() == raw[-32:]
    version, hlen = struct.unpack_from("<IQ", raw, 8)
    assert version == 2, version
    header = json.loads(raw[20:20 + hlen])
    payload = raw[20 + hlen:-32]

    def tensor(name):
        t = next(t for t in header["tensors"] if t["name"] == name)
        return np.frombuffer(payload, dtype=t["dtype"], count=t["bytes"] // 4, offset=t["offset"]).reshape(t["shape"])

    return header, tensor


def layer_list(network):
    """The main path and the exit branches as layer dicts, from either form of the network."""
    if "widths" in network:  # the MLP shorthand
        w = network["widths"]
        layers = [{"type": "fc", "out_features": w[j + 1], "relu": j + 2 < len(w)} for j in range(len(w) - 1)]
        exits = [(e["after_layer"], [{"type": "fc", "out_features": w[-1], "relu": False}]) for e in network["exits"]]
        return [w[0], 1, 1], layers, exits
    return network["input"], network["layers"], [(e["after_layer"], e["layers"]) for e in network["exits"]]


def pool_side(n, k, s, ceil):
    out = (-(-(n - k) // s) if ceil else (n - k) // s) + 1
    if ceil and (out - 1) * s >= n:
        out -= 1
    return out


def apply(layer, x, tensor, prefix):
    """x: [C, H, W] float32."""
    kind = layer["type"]
    if kind in ("fc", "conv"):
        idx, w, b = tensor(prefix + ".indices"), tensor(prefix + ".weights"), tensor(prefix + ".bias")
    if kind == "fc":
        v = x.reshape(-1)
        y = np.array([np.dot(w[o].astype(np.float64), v[idx[o]]) for o in range(len(b))]) + b
        y = y.reshape(-1, 1, 1)
    elif kind == "conv":
        k, s, p = layer["kernel"], layer["stride"], layer["padding"]
        xp = np.pad(x, ((0, 0), (p, p), (p, p)))
        oh, ow = (x.shape[1] + 2 * p - k) // s + 1, (x.shape[2] + 2 * p - k) // s + 1
        y = np.zeros((len(b), oh, ow))
        for o in range(len(b)):
            for slot, i in enumerate(idx[o]):
                for u in range(k):
                    for v in range(k):
                        y[o] += w[o, slot, u, v] * xp[i, u:u + s * oh:s, v:v + s * ow:s]
            y[o] += b[o]
    elif kind in ("max_pool", "avg_pool"):
        k, s, ceil = layer["kernel"], layer["stride"], layer["rounding"] == "ceil"
        oh, ow = pool_side(x.shape[1], k, s, ceil), pool_side(x.shape[2], k, s, ceil)
        y = np.zeros((x.shape[0], oh, ow))
        for r in range(oh):
            for c in range(ow):
                win = x[:, r * s:r * s + k, c * s:c * s + k]
                y[:, r, c] = win.max(axis=(1, 2)) if kind == "max_pool" else win.mean(axis=(1, 2))
    elif kind == "relu":
        y = np.maximum(x, 0)
    elif kind == "flatten":
        y = x.reshape(-1, 1, 1)
    else:
        raise ValueError(kind)
    if layer.get("relu"):
        y = np.maximum(y, 0)
    return y.astype(np.float32)


def softmax_stats(logits):
    z = logits.reshape(-1).astype(np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(np.argmax(p)), float(p.max())


def main():
    model, samples_csv, mnist = sys.argv[1:4]
    header, tensor = read_model(model)
    shape, layers, exits = layer_list(header["network"])
    images = np.fromfile(f"{mnist}/t10k-images-idx3-ubyte", dtype=np.uint8, offset=16).reshape(-1, 784)
    rows = list(csv.DictReader(open(samples_csv)))
    checked = mismatches = 0
    worst = 0.0
    for row in rows:
        i = int(row["sample"])
        v = np.zeros(int(np.prod(shape)), dtype=np.float32)
        v[:784] = images[i] / np.float32(255)
        x = v.reshape(shape)
        for j, layer in enumerate(layers, start=1):
            x = apply(layer, x, tensor, f"layer{j}")
            for e, (after, branch) in enumerate(exits):
                if after != j:
                    continue
                h = x
                for n, bl in enumerate(branch, start=1):
                    h = apply(bl, h, tensor, f"exit{e}.layer{n}")
                pred, top = softmax_stats(h)
                mismatches += pred != int(row[f"exit{after}_prediction"])
                worst = max(worst, abs(top - float(row[f"exit{after}_max_softmax"])))
                checked += 1
        pred, top = softmax_stats(x)
        mismatches += pred != int(row["final_prediction"])
        worst = max(worst, abs(top - float(row["final_max_softmax"])))
        checked += 1
    print(f"numpy reference: {checked} predictions of {len(rows)} samples, {mismatches} differ, "
          f"largest max-softmax difference {worst:.2e}")
    # A float32 sum in another order can move a probability by ~1e-6; a prediction may flip only on a near tie.
    ok = checked == len(rows) * (1 + len(exits)) and mismatches == 0 and worst < 1e-4
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
