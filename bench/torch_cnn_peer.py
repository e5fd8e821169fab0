#!/usr/bin/python3
"""PyTorch peer for scee's CNN training: the network of a scee model spec in the "layers" form (B-LeNet:
scenarios/models/b-lenet.json), trained with the spec's recipe on one thread, timed per epoch.

The peer computes what PyTorch users run: nn.Conv2d, nn.MaxPool2d(ceil_mode=...), nn.Linear, dense kernels. A
layer with a fan-out below its output count is predefined-sparse in scee; here its kernel is multiplied by a fixed
0/1 channel (or edge) mask at initialisation and after every step, as Dey et al.'s released code does for fc layers:
the peer's time is its dense time at any density, which is the point of the comparison.

Recipe (the spec's "training"): He-normal kernels truncated at 2 sigma (fan_in = in_channels x kernel^2 or in
features), biases bias_init, Adam (torch.optim.Adam: lr, betas, eps from the spec; the spec's decay must be 0), batch
batch_size, loss = final cross-entropy + each exit's, shuffled every epoch, MNIST pixels / 255.

Output: one line per epoch, then one JSON line: seconds per epoch (wall and CPU), accuracy, torch version, threads,
whether oneDNN (mkldnn) is used for convolutions, and the BLAS library actually mapped into the process.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
from peer_libs import mapped_blas
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import DEFAULT_DATA_DIR, HE_TRUNC_CORRECTION, fixed_fan_mask, load_split  # noqa: E402


def he_normal(fan_in, shape, rng):
    std = math.sqrt(2.0 / fan_in) / HE_TRUNC_CORRECTION
    z = rng.standard_normal(size=shape)
    while True:
        bad = np.abs(z) > 2.0
        if not bad.any():
            break
        z[bad] = rng.standard_normal(size=int(bad.sum()))
    return torch.from_numpy((z * std).astype(np.float32))


class Net:
    """Layers from a scee spec; parameters as plain tensors (the masks multiply them)."""

    def __init__(self, layers, in_shape, bias_init, rng):
        self.ops, self.params, self.masks = [], [], []
        c, h, w = in_shape
        for l in layers:
            kind = l["type"]
            if kind == "conv":
                k, s, p, out = l["kernel"], l.get("stride", 1), l.get("padding", 0), l["out_channels"]
                fo = l.get("fan_out", out)
                weight = he_normal(c * k * k, (out, c, k, k), rng).requires_grad_()
                bias = torch.full((out,), float(bias_init)).requires_grad_()
                mask = None if fo == out else torch.from_numpy(fixed_fan_mask(c, out, fo, rng)).reshape(out, c, 1, 1)
                self.ops.append(("conv", weight, bias, s, p, l.get("relu", False)))
                self.params += [weight, bias]
                self.masks.append((weight, mask))
                c, h, w = out, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            elif kind in ("max_pool", "avg_pool"):
                k, s, ceil = l["kernel"], l.get("stride", l["kernel"]), l.get("rounding", "floor") == "ceil"
                self.ops.append((kind, k, s, ceil))
                side = lambda n: (-(-(n - k) // s) if ceil else (n - k) // s) + 1
                h2, w2 = side(h), side(w)
                h2 -= ceil and (h2 - 1) * s >= h
                w2 -= ceil and (w2 - 1) * s >= w
                h, w = h2, w2
            elif kind == "relu":
                self.ops.append(("relu",))
            elif kind == "flatten":
                self.ops.append(("flatten",))
                c, h, w = c * h * w, 1, 1
            elif kind == "fc":
                out = l["out_features"]
                fo = l.get("fan_out", out)
                weight = he_normal(c, (out, c), rng).requires_grad_()
                bias = torch.full((out,), float(bias_init)).requires_grad_()
                mask = None if fo == out else torch.from_numpy(fixed_fan_mask(c, out, fo, rng))
                self.ops.append(("fc", weight, bias, l.get("relu", False)))
                self.params += [weight, bias]
                self.masks.append((weight, mask))
                c = out
        self.out_shape = (c, h, w)
        self.apply_masks()

    def __call__(self, x):
        return run_ops(self.ops, x)

    @torch.no_grad()
    def apply_masks(self):
        for weight, mask in self.masks:
            if mask is not None:
                weight.mul_(mask)


def run_ops(ops, x):
    """Applies a list of Net ops to a batch x (N, C, H, W)."""
    for op in ops:
        kind = op[0]
        if kind == "conv":
            _, weight, bias, s, p, relu = op
            x = F.conv2d(x, weight, bias, stride=s, padding=p)
            x = torch.relu(x) if relu else x
        elif kind == "max_pool":
            x = F.max_pool2d(x, op[1], op[2], ceil_mode=op[3])
        elif kind == "avg_pool":
            x = F.avg_pool2d(x, op[1], op[2], ceil_mode=op[3], count_include_pad=False)
        elif kind == "relu":
            x = torch.relu(x)
        elif kind == "flatten":
            x = x.flatten(1)
        elif kind == "fc":
            _, weight, bias, relu = op
            x = F.linear(x, weight, bias)
            x = torch.relu(x) if relu else x
    return x


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", required=True, help="scee model spec (layers form), e.g. scenarios/models/b-lenet.json")
    ap.add_argument("--fan-outs", help="comma-separated fan-out per fc and conv layer of the main path (overrides)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-samples", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dataset-dir", default=DEFAULT_DATA_DIR)
    args = ap.parse_args(argv)
    spec = json.load(open(args.spec))
    if args.fan_outs:
        values = [int(v) for v in args.fan_outs.split(",")]
        targets = [l for l in spec["layers"] if l["type"] in ("fc", "conv")]
        if len(values) != len(targets):
            print(f"torch_cnn_peer: --fan-outs needs {len(targets)} values", file=sys.stderr)
            return 2
        for l, fo in zip(targets, values):
            l["fan_out"] = fo
    t = spec.get("training", {})
    if t.get("decay", 1e-5) != 0:
        print("torch_cnn_peer: the spec's training.decay must be 0 (torch.optim.Adam has no time decay)",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(t.get("seed", 1))
    rng = np.random.default_rng(t.get("seed", 1))
    shape = spec["input"]
    x_train, y_train = load_split(args.dataset_dir, "train", int(np.prod(shape)), args.train_samples)
    x_test, y_test = load_split(args.dataset_dir, "t10k", int(np.prod(shape)), 0)
    x_train, x_test = x_train.reshape(-1, *shape), x_test.reshape(-1, *shape)
    main_net = Net(spec["layers"], shape, t.get("bias_init", 0.1), rng)
    exits = []
    for e in spec.get("exits", []):
        # the input shape of the branch: run the main path's first layers on one sample
        probe = x_train[:1]
        probe = run_ops(main_net.ops[:e["after_layer"]], probe)
        exits.append((e["after_layer"], Net(e["layers"], tuple(probe.shape[1:]), t.get("bias_init", 0.1), rng)))
    params = main_net.params + [p for _, n in exits for p in n.params]
    opt = torch.optim.Adam(params, lr=t.get("learning_rate", 1e-3), betas=(t.get("beta1", 0.9), t.get("beta2", 0.999)),
                           eps=t.get("epsilon", 1e-7))
    batch = t.get("batch_size", 256)

    def forward(x):
        outs, h = [], x
        for j, op in enumerate(main_net.ops, start=1):
            h = run_ops([op], h)
            for after, branch in exits:
                if after == j:
                    outs.append(branch(h))
        return h, outs

    gen = np.random.default_rng(t.get("seed", 1) + 1_000_003)
    rows = []
    for epoch in range(1, args.epochs + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        order = torch.from_numpy(gen.permutation(x_train.shape[0]))
        for first in range(0, x_train.shape[0], batch):
            idx = order[first:first + batch]
            xb, yb = x_train.index_select(0, idx), y_train.index_select(0, idx)
            logits, exit_logits = forward(xb)
            loss = F.cross_entropy(logits, yb) + sum(F.cross_entropy(z, yb) for z in exit_logits)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            main_net.apply_masks()
            for _, n in exits:
                n.apply_masks()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        with torch.no_grad():
            correct = sum(int((forward(x_test[i:i + 1000])[0].argmax(1) == y_test[i:i + 1000]).sum())
                          for i in range(0, x_test.shape[0], 1000))
        rows.append({"epoch": epoch, "seconds": seconds, "cpu_seconds": cpu, "test_accuracy": correct / x_test.shape[0]})
        print(f"epoch {epoch}: {seconds:.3f} s (cpu {cpu:.3f} s), test accuracy {correct / x_test.shape[0]:.4f}",
              flush=True)
    secs = sorted(r["seconds"] for r in rows)
    print(json.dumps({
        "spec": args.spec, "fan_outs": args.fan_outs, "epochs": args.epochs, "train_samples": int(x_train.shape[0]),
        "batch_size": batch, "median_seconds_per_epoch": secs[len(secs) // 2],
        "median_cpu_seconds_per_epoch": sorted(r["cpu_seconds"] for r in rows)[len(rows) // 2],
        "test_accuracy": rows[-1]["test_accuracy"], "torch_version": torch.__version__,
        "threads": torch.get_num_threads(), "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "blas_mapped": mapped_blas()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
