#!/usr/bin/python3
"""PyTorch peer baseline for scee: the paper's training recipe with masked dense weights.

The paper's released code (Keras) trains a predefined-sparse MLP by keeping every kernel dense and multiplying it
by a fixed 0/1 mask at initialisation and after every batch, so pruned weights stay exactly 0. This script
reproduces that recipe in PyTorch, for two uses:

  (a) a cross-check of the accuracy scee's own trainer reaches on the same network;
  (b) a speed baseline: seconds per epoch on ONE thread (torch.set_num_threads(1), set_num_interop_threads(1)).

Recipe (see /work/shared/reference/paper.md and ENGINEERING.md):
  * MLP widths such as 800,40,40,10: MNIST's 784 pixels scaled to [0,1] and zero-padded to widths[0];
    ReLU hidden layers, softmax output, categorical cross-entropy.
  * One mask per junction p->n with fixed fan-out fo: every input has exactly fo outgoing edges and every output
    exactly fi = p*fo/n incoming ones (p*fo must be divisible by n). Built with a seeded numpy generator: a
    structured valid pattern randomised by degree-preserving double-edge swaps; row and column sums are verified.
    As in the released code, when every junction is fully connected no masking is done at all.
  * Kernels: Keras he_normal (normal truncated at 2 sigma, stddev sqrt(2/fan_in)/0.87962566103423978, fan_in = the
    dense input count p), then masked. Biases 0.1.
  * Adam in Keras' legacy form: lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-7, decay 1e-5
    (lr_t = lr / (1 + decay*iterations) * sqrt(1-beta2^t) / (1-beta1^t); w -= lr_t * m / (sqrt(v) + eps)).
  * Batch 256, shuffled every epoch, 50 epochs by default, train on all 60,000 images, test on the 10,000.
  * Optional early-exit head (--exit-after K): a dense layer from hidden layer K to the classes (he_normal, bias
    0.1, unmasked), trained jointly: loss = final cross-entropy + exit cross-entropy.

Timing: an epoch's seconds cover only its training loop (shuffle, batch gather, forward, backward, optimizer step,
re-masking); test evaluation is outside the timed region. Both wall-clock seconds and process CPU seconds are
reported (CPU time is the steadier number on a shared, loaded machine).

Output: one line per epoch, then one JSON line with the summary. --csv writes the per-epoch rows to a file.
Exit status: 0 on success, 2 on bad arguments or unreadable data.
"""

import argparse
import csv
import gzip
import json
import math
import os
import re
import sys
import time

# One thread means one: the pthread OpenBLAS sizes its own pool from the cores unless told, whatever
# torch.set_num_threads says (its second thread doubled the CPU time of an epoch).
if "--threads" in sys.argv[:-1]:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[sys.argv.index("--threads") + 1])

import numpy as np
import torch
from peer_libs import mapped_blas
import torch.nn.functional as F

HE_TRUNC_CORRECTION = 0.87962566103423978  # stddev of a unit normal truncated at +-2 sigma
DEFAULT_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist")


class UsageError(Exception):
    pass


# ----------------------------------------------------------------------------------------------------------- data

def _open_idx(path):
    """Opens an IDX file, falling back to a gzip-compressed '<path>.gz'."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            return f.read()
    raise UsageError(f"cannot find IDX file {path} (nor {path}.gz)")


def read_idx(path, expected_dims):
    """Parses a big-endian IDX file of unsigned bytes; returns a uint8 array of its shape."""
    raw = _open_idx(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise UsageError(f"{path}: not an IDX file (bad magic)")
    if raw[2] != 0x08:
        raise UsageError(f"{path}: element type 0x{raw[2]:02x}, expected 0x08 (unsigned byte)")
    dims = raw[3]
    if dims != expected_dims:
        raise UsageError(f"{path}: {dims} dimensions, expected {expected_dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise UsageError(f"{path}: truncated header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    count = int(np.prod(shape))
    if len(raw) != header + count:
        raise UsageError(f"{path}: {len(raw) - header} data bytes, header says {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_split(directory, prefix, input_width, limit):
    images = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte"), 3)
    labels = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte"), 1)
    if images.shape[0] != labels.shape[0]:
        raise UsageError(f"{prefix}: {images.shape[0]} images but {labels.shape[0]} labels")
    if limit:
        if limit > images.shape[0]:
            raise UsageError(f"{prefix}: asked for {limit} samples, the file has {images.shape[0]}")
        images, labels = images[:limit], labels[:limit]
    pixels = images.shape[1] * images.shape[2]
    if input_width < pixels:
        raise UsageError(f"input width {input_width} is smaller than the {pixels} pixels of an image")
    x = np.zeros((images.shape[0], input_width), dtype=np.float32)
    x[:, :pixels] = images.reshape(images.shape[0], pixels).astype(np.float32) / 255.0
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


# ------------------------------------------------------------------------------------------------ connectivity

def fixed_fan_mask(p, n, fo, rng):
    """An n x p 0/1 mask (row = output neuron, column = input neuron) with every column summing to fo and every
    row to fi = p*fo/n, drawn at random with the seeded numpy generator `rng`.

    Start from a valid structured pattern (input i feeds outputs (i*fo + k) mod n, k < fo: distinct since fo <= n,
    and every output is hit p*fo/n times since the edge ids 0..p*fo-1 cycle through the outputs), then randomise it
    with degree-preserving double-edge swaps: edges (a->x), (b->y) become (a->y), (b->x) when neither exists yet."""
    if fo == n:
        return np.ones((n, p), dtype=np.float32)
    edges = p * fo
    src = np.repeat(np.arange(p), fo)
    dst = (np.arange(edges) % n).astype(np.int64)
    adj = np.zeros((n, p), dtype=bool)
    adj[dst, src] = True
    assert adj.sum() == edges, "structured pattern has duplicate edges"
    attempts = 10 * edges
    e1s = rng.integers(0, edges, size=attempts)
    e2s = rng.integers(0, edges, size=attempts)
    for e1, e2 in zip(e1s.tolist(), e2s.tolist()):
        a, x = src[e1], dst[e1]
        b, y = src[e2], dst[e2]
        if a == b or x == y or adj[y, a] or adj[x, b]:
            continue
        adj[x, a] = False
        adj[y, b] = False
        adj[y, a] = True
        adj[x, b] = True
        dst[e1], dst[e2] = y, x
    return adj.astype(np.float32)


def check_mask(mask, fo, fi):
    n, p = mask.shape
    col = mask.sum(axis=0)
    row = mask.sum(axis=1)
    if not (np.all(col == fo) and np.all(row == fi)):
        raise AssertionError(f"mask {p}->{n}: column sums {col.min()}..{col.max()} (want {fo}), "
                             f"row sums {row.min()}..{row.max()} (want {fi})")
    if not np.all((mask == 0) | (mask == 1)):
        raise AssertionError("mask is not 0/1")


# ------------------------------------------------------------------------------------------------------- model

def he_normal(fan_in, shape, rng):
    """Keras he_normal: normal truncated at 2 sigma, stddev sqrt(2/fan_in)/0.8796..., redrawn outside +-2 sigma."""
    std = math.sqrt(2.0 / fan_in) / HE_TRUNC_CORRECTION
    values = rng.standard_normal(size=shape)
    bad = np.abs(values) > 2.0
    while bad.any():
        values[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(values) > 2.0
    return (values * std).astype(np.float32)


class MaskedMLP:
    """Kernels in Keras layout (p x n, y = x @ W + b); masks alongside (None when no masking is done)."""

    def __init__(self, widths, fan_outs, exit_after, bias_init, rng):
        self.widths = widths
        self.exit_after = exit_after
        fully_connected = all(fo == n for fo, n in zip(fan_outs, widths[1:]))
        self.kernels, self.biases, self.masks = [], [], []
        for j, (p, n, fo) in enumerate(zip(widths[:-1], widths[1:], fan_outs)):
            w = he_normal(p, (p, n), rng)
            mask = None
            if not fully_connected:  # the released code masks every junction unless the whole net is FC
                m = fixed_fan_mask(p, n, fo, rng)
                check_mask(m, fo, p * fo // n)
                mask = torch.from_numpy(np.ascontiguousarray(m.T))  # p x n, like the kernel
                w = w * m.T
            self.kernels.append(torch.from_numpy(np.ascontiguousarray(w)).requires_grad_())
            self.biases.append(torch.full((n,), bias_init, dtype=torch.float32).requires_grad_())
            self.masks.append(mask)
        self.exit_kernel = self.exit_bias = None
        if exit_after:
            h, c = widths[exit_after], widths[-1]
            self.exit_kernel = torch.from_numpy(he_normal(h, (h, c), rng)).requires_grad_()
            self.exit_bias = torch.full((c,), bias_init, dtype=torch.float32).requires_grad_()

    def parameters(self):
        params = []
        for w, b in zip(self.kernels, self.biases):
            params += [w, b]
        if self.exit_kernel is not None:
            params += [self.exit_kernel, self.exit_bias]
        return params

    def forward(self, x):
        """Returns (final logits, exit logits or None)."""
        h = x
        exit_logits = None
        last = len(self.kernels) - 1
        for j, (w, b) in enumerate(zip(self.kernels, self.biases)):
            z = torch.addmm(b, h, w)
            if j == last:
                return z, exit_logits
            h = torch.relu(z)
            if self.exit_after == j + 1:
                exit_logits = torch.addmm(self.exit_bias, h, self.exit_kernel)

    @torch.no_grad()
    def apply_masks(self):
        for w, m in zip(self.kernels, self.masks):
            if m is not None:
                w.mul_(m)

    def weight_count(self):
        total = 0
        for w, m in zip(self.kernels, self.masks):
            total += int(m.sum().item()) if m is not None else w.numel()
        return total


class KerasLegacyAdam:
    """tf_keras.optimizers.legacy.Adam (and Keras 2.2.4's Adam) with time-based decay."""

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7, decay=1e-5):
        self.params = params
        self.lr, self.beta1, self.beta2, self.eps, self.decay = lr, beta1, beta2, eps, decay
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.iterations = 0

    @torch.no_grad()
    def step(self):
        lr = self.lr / (1.0 + self.decay * self.iterations)
        self.iterations += 1
        t = self.iterations
        lr_t = lr * math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            m.mul_(self.beta1).add_(g, alpha=1.0 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)
            p.addcdiv_(m, v.sqrt().add_(self.eps), value=-lr_t)
            p.grad = None


# ---------------------------------------------------------------------------------------------------- training

@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    correct = exit_correct = 0
    for first in range(0, x.shape[0], batch):
        logits, exit_logits = model.forward(x[first:first + batch])
        target = y[first:first + batch]
        correct += int((logits.argmax(dim=1) == target).sum())
        if exit_logits is not None:
            exit_correct += int((exit_logits.argmax(dim=1) == target).sum())
    n = x.shape[0]
    return correct / n, (exit_correct / n if model.exit_kernel is not None else None)


def train_epoch(model, opt, x, y, batch_size, gen):
    """One epoch of the training loop; returns (mean batch loss, running train accuracy)."""
    n = x.shape[0]
    order = torch.from_numpy(gen.permutation(n))
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    batches = 0
    for first in range(0, n, batch_size):
        idx = order[first:first + batch_size]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        logits, exit_logits = model.forward(xb)
        loss = F.cross_entropy(logits, yb)
        if exit_logits is not None:
            loss = loss + F.cross_entropy(exit_logits, yb)
        loss.backward()
        opt.step()
        model.apply_masks()
        loss_sum += loss.detach()
        correct += (logits.detach().argmax(dim=1) == yb).sum()
        batches += 1
    return float(loss_sum) / batches, int(correct) / n


def parse_int_list(text, name):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{name}: expected comma-separated integers, got '{text}'")
    if any(v <= 0 for v in values):
        raise UsageError(f"{name}: every value must be positive, got '{text}'")
    return values


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--widths", default="800,40,40,10", help="layer widths, input first (default 800,40,40,10)")
    ap.add_argument("--fan-outs", default="2,9,10", help="one fan-out per junction (default 2,9,10)")
    ap.add_argument("--exit-after", type=int, default=0, help="hidden layer (1..L-1) with an exit head; 0 = none")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--train-samples", type=int, default=0, help="first N training images (0 = all)")
    ap.add_argument("--test-samples", type=int, default=0, help="first N test images (0 = all)")
    ap.add_argument("--dataset-dir", default=DEFAULT_DATA_DIR, help="directory of the uncompressed IDX files")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--csv", help="write per-epoch rows to this CSV file")
    args = ap.parse_args(argv)

    widths = parse_int_list(args.widths, "--widths")
    fan_outs = parse_int_list(args.fan_outs, "--fan-outs")
    if len(widths) < 2:
        raise UsageError("--widths: need at least an input and an output layer")
    if len(fan_outs) != len(widths) - 1:
        raise UsageError(f"--fan-outs: {len(fan_outs)} values for {len(widths) - 1} junctions")
    for j, (p, n, fo) in enumerate(zip(widths[:-1], widths[1:], fan_outs), start=1):
        if fo > n:
            raise UsageError(f"junction {j} ({p}->{n}): fan-out {fo} exceeds the {n} outputs")
        if (p * fo) % n:
            raise UsageError(f"junction {j} ({p}->{n}): p*fo = {p * fo} is not divisible by n = {n}")
    if args.exit_after and not 1 <= args.exit_after <= len(widths) - 2:
        raise UsageError(f"--exit-after: must be a hidden layer, 1..{len(widths) - 2}")
    if args.exit_after < 0:
        raise UsageError("--exit-after: must be >= 0")
    for name in ("epochs", "batch_size", "threads"):
        if getattr(args, name) <= 0:
            raise UsageError(f"--{name.replace('_', '-')}: must be positive")
    for name in ("train_samples", "test_samples"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')}: must be >= 0")
    args.widths_list, args.fan_outs_list = widths, fan_outs
    return args


def _blas_info():
    """The BLAS torch was built against (Debian's python3-torch reports 'generic': whichever libblas.so.3 the
    alternatives system points at, the netlib reference one unless e.g. OpenBLAS is installed)."""
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return found.group(1) if found else None


def main(argv):
    try:
        args = parse_args(argv)
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
        torch.manual_seed(args.seed)
        widths, fan_outs = args.widths_list, args.fan_outs_list
        x_train, y_train = load_split(args.dataset_dir, "train", widths[0], args.train_samples)
        x_test, y_test = load_split(args.dataset_dir, "t10k", widths[0], args.test_samples)
        classes = int(max(y_train.max(), y_test.max())) + 1
        if widths[-1] < classes:
            raise UsageError(f"output width {widths[-1]} is smaller than the {classes} classes in the data")
    except UsageError as e:
        print(f"torch_peer: {e}", file=sys.stderr)
        return 2

    rng = np.random.default_rng(args.seed)
    model = MaskedMLP(widths, fan_outs, args.exit_after, 0.1, rng)
    opt = KerasLegacyAdam(model.parameters())
    shuffle_gen = np.random.default_rng(args.seed + 1_000_003)
    dense_weights = sum(p * n for p, n in zip(widths[:-1], widths[1:]))
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()} intra / "
          f"{torch.get_num_interop_threads()} interop; widths {widths}, fan-outs {fan_outs}, "
          f"exit after {args.exit_after or 'none'}; {model.weight_count()} of {dense_weights} weights; "
          f"{x_train.shape[0]} train / {x_test.shape[0]} test samples", flush=True)

    rows = []
    for epoch in range(1, args.epochs + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        loss, train_acc = train_epoch(model, opt, x_train, y_train, args.batch_size, shuffle_gen)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        test_acc, exit_acc = evaluate(model, x_test, y_test)
        rows.append({"epoch": epoch, "loss": loss, "train_accuracy": train_acc, "test_accuracy": test_acc,
                     "exit_test_accuracy": exit_acc, "seconds": seconds, "cpu_seconds": cpu_seconds})
        line = (f"epoch {epoch:3d}  loss {loss:.4f}  train acc {train_acc:.4f}  test acc {test_acc:.4f}")
        if exit_acc is not None:
            line += f"  exit test acc {exit_acc:.4f}"
        print(line + f"  {seconds:.3f} s  (cpu {cpu_seconds:.3f} s)", flush=True)

    # Sanity: pruned weights are still exactly zero.
    for w, m in zip(model.kernels, model.masks):
        if m is not None and bool((w.detach()[m == 0] != 0).any()):
            raise AssertionError("a pruned weight is non-zero after training")

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            writer.writeheader()
            for r in rows:
                writer.writerow({k: ("" if v is None else v) for k, v in r.items()})

    secs = [r["seconds"] for r in rows]
    summary = {
        "widths": widths,
        "fan_outs": fan_outs,
        "exit_after": args.exit_after or None,
        "epochs": args.epochs,
        "seed": args.seed,
        "train_samples": int(x_train.shape[0]),
        "test_samples": int(x_test.shape[0]),
        "weights": model.weight_count(),
        "dense_weights": dense_weights,
        "test_accuracy": rows[-1]["test_accuracy"],
        "exit_test_accuracy": rows[-1]["exit_test_accuracy"],
        "mean_seconds_per_epoch": sum(secs) / len(secs),
        "median_seconds_per_epoch": float(np.median(secs)),
        "mean_cpu_seconds_per_epoch": sum(r["cpu_seconds"] for r in rows) / len(rows),
        "blas": _blas_info(),
        "blas_mapped": mapped_blas(),
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
