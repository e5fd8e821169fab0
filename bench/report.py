#!/usr/bin/python3
"""The table of bench/run.sh: reads its raw results (one JSON object per line) and prints every measured ratio
against its issue-6 target, in Markdown. Medians over repeated runs; CPU seconds where the machine is shared.

Usage: report.py RAW_DIR
"""

import csv
import json
import os
import sys


def lines(raw, name):
    path = os.path.join(raw, name)
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv):
    raw = argv[0]
    machine = json.load(open(os.path.join(raw, "machine.json")))
    rows = []  # (measurement, value, target, ratio, met)

    def row(what, measured, target, ratio, met):
        rows.append((what, measured, target, f"{ratio:.2f}x", "met" if met else "**missed**"))

    # 1. layers: CPU time per call, the best of Google Benchmark's repetitions
    layer_runs = json.load(open(os.path.join(raw, "layers.json")))["benchmarks"]

    def layer_us(name):
        return min(b["cpu_time"] for b in layer_runs if b["name"] == name and b.get("run_type") == "iteration") / 1e3

    for batch, target in ((256, 8.0), (1, 3.0)):
        sparse, dense = layer_us(f"sparse_forward/2/{batch}/0"), layer_us(f"dense_forward/{batch}")
        row(f"800->40 forward at 5% density, batch {batch}: dense Eigen / predefined-sparse (CPU)",
            f"{dense:.2f} us / {sparse:.2f} us", f">= {target:g}x", dense / sparse, dense / sparse >= target)

    # 2. training epoch: CPU seconds per epoch of the training loop (test evaluation excluded), best epoch of each
    scee = {tuple(r["network"]["fan_outs"]): r for r in lines(raw, "train_scee.json")}
    peers = {tuple(r["fan_outs"]): r for r in lines(raw, "train_torch.json")}
    # issue 15's targets: the paper's fan-outs at least 4x the OpenBLAS peer, the dense network at least 1.0x
    for fan_outs, label, target in (((2, 9, 10), "fan-outs 2-9-10", 4.0), ((40, 40, 10), "dense 40-40-10", 1.0)):
        ours = min(scee[fan_outs]["cpu_seconds_per_epoch"])
        with open(os.path.join(raw, f"torch_epochs_{'-'.join(map(str, fan_outs))}.csv")) as f:
            peer = min(float(r["cpu_seconds"]) for r in csv.DictReader(f))
        p = peers[fan_outs]
        libs = ", ".join(os.path.basename(x) for x in p.get("blas_mapped", [])) or p.get("blas", "?")
        what = (f"MNIST epoch of [800,40,40,10], {label}: PyTorch {p['torch_version']} ({libs}) masked-dense / scee "
                f"(CPU s per epoch)")
        if target is None:
            rows.append((what, f"{peer:.3f} s / {ours:.3f} s", "(no target)", f"{peer / ours:.2f}x", ""))
        else:
            row(what, f"{peer:.3f} s / {ours:.3f} s", f">= {target:g}x", peer / ours, peer / ours >= target)

    # 3. simulation: CPU seconds, the best of the repeated runs (a shared machine only ever adds time)
    bare = lines(raw, "bare_simgrid.json")
    sims = lines(raw, "simulate.json")
    for name, label in (("default", "1 device"), ("100-devices", "100 devices")):
        runs = [r for r in sims if r["name"] == name]
        sim_cpu = min(r["simulate_cpu_s"] for r in runs)
        sim_wall = min(r["simulate_s"] for r in runs)
        fwd = min(r["bare_forward_cpu_s"] for r in runs)
        sg = min(r["cpu_s"] for r in bare if r["scenario"] == name and not r["energy_plugin"])
        sg_energy = min(r["cpu_s"] for r in bare if r["scenario"] == name and r["energy_plugin"])
        samples = runs[0]["samples"]
        ratio = sim_cpu / (sg + fwd)
        row(f"`scee run` default scenario (ideal cost model), {label}: simulation / (bare SimGrid + bare forward), CPU s",
            f"{sim_cpu:.3f} s / ({sg:.3f} s + {fwd:.3f} s); {samples / sim_wall:,.0f} simulated inferences/s "
            f"(wall); bare SimGrid with the energy plugin {sg_energy:.3f} s", "<= 1.5x", ratio, ratio <= 1.5)

    # 4. sweep throughput: points per second of wall time, the better of two runs for each --jobs
    sweeps = lines(raw, "sweep.json")
    best = {j: min((r for r in sweeps if r["jobs"] == j), key=lambda r: r["timing"]["wall_s"]) for j in (1, 2)}
    pps = {j: r["points"] / r["timing"]["wall_s"] for j, r in best.items()}
    cpu = {j: r["timing"]["cpu_s"] / r["points"] for j, r in best.items()}
    loads = ", ".join(r["load_average"].split()[0] for r in sweeps)
    row("`scee sweep scenarios/quick.json`: points/s with --jobs 2 / --jobs 1 (wall)",
        f"{pps[2]:.2f} / {pps[1]:.2f} points/s; CPU {1e3 * cpu[2]:.0f} / {1e3 * cpu[1]:.0f} ms per point; "
        f"1-min load average after each run: {loads}", ">= 1.8x", pps[2] / pps[1], pps[2] / pps[1] >= 1.8)

    # 5. CNN training (issue 14): B-LeNet epochs, scee against the PyTorch peer (nn.Conv2d on oneDNN, OpenBLAS), CPU s
    if os.path.exists(os.path.join(raw, "cnn_scee.json")):
        cnn = {r["label"]: r for r in lines(raw, "cnn_scee.json")}
        peer = {r["label"]: r for r in lines(raw, "cnn_torch.json")}
        dense_peer = peer["dense"]["median_cpu_seconds_per_epoch"]
        libs = ", ".join(os.path.basename(p) for p in peer["dense"]["blas_mapped"])
        who = f"PyTorch {peer['dense']['torch_version']} ({libs})"
        ours = cnn["dense"]["median_cpu_seconds_per_epoch"]
        row(f"B-LeNet epoch (60,000 images, batch 256, 1 thread), dense: scee / {who} (CPU s)",
            f"{ours:.2f} s / {dense_peer:.2f} s", "<= 1.5x", ours / dense_peer, ours / dense_peer <= 1.5)
        sparse = cnn["sparse"]["median_cpu_seconds_per_epoch"]
        row(f"B-LeNet epoch, conv 2 and 3 at 20% channel density: {who} dense / scee (CPU s)",
            f"{dense_peer:.2f} s / {sparse:.2f} s", ">= 2x", dense_peer / sparse, dense_peer / sparse >= 2)
        if "sparse-all" in cnn:
            every = cnn["sparse-all"]["median_cpu_seconds_per_epoch"]
            row(f"B-LeNet epoch, every convolution but conv 1 (one input channel) at 20% channel density: {who} dense "
                f"/ scee (CPU s)", f"{dense_peer:.2f} s / {every:.2f} s", ">= 2x", dense_peer / every,
                dense_peer / every >= 2)
        rows.append(("B-LeNet epoch, 20% channel density: the peer masked (dense compute) / scee",
                     f"{peer['sparse']['median_cpu_seconds_per_epoch']:.2f} s / {sparse:.2f} s", "(no target)",
                     f"{peer['sparse']['median_cpu_seconds_per_epoch'] / sparse:.2f}x", ""))
        for label in [k for k in ("dense", "sparse", "sparse-all") if k in cnn]:
            r = cnn[label]
            if "batched_forward_us" not in r:
                continue
            one = r["head_forward_us"] + r["tail_forward_us"]
            rows.append((f"B-LeNet forward per sample ({label}): batch 1 (head, layers 1..{r['split']} and the exit, "
                         f"+ tail) / batched ahead as `simulate()` runs it (`infer_split`)",
                         f"{r['head_forward_us']:.0f} + {r['tail_forward_us']:.0f} us / {r['batched_forward_us']:.0f} us",
                         "(no target)", f"{one / r['batched_forward_us']:.2f}x", ""))

    crossover = None
    if os.path.exists(os.path.join(raw, "crossover.json")):
        runs = json.load(open(os.path.join(raw, "crossover.json")))["benchmarks"]
        t = {}
        for r in runs:
            kind, fo, batch, kernel = r["name"].split("/")
            t[(kind, int(fo), int(batch), int(kernel))] = r["cpu_time"] / 1e3
        fos = sorted({k[1] for k in t})
        batches = sorted({k[2] for k in t})
        crossover = ["| pass, batch | " + " | ".join(f"{100 * fo / 40:g}%" for fo in fos) + " |",
                     "| --- | " + " | ".join("---" for _ in fos) + " |"]
        for kind in ("crossover_forward", "crossover_backward"):
            for batch in batches:
                cells = []
                for fo in fos:
                    edges, gemm = t[(kind, fo, batch, 1)], t[(kind, fo, batch, 2)]
                    cells.append(f"{edges:.1f} / {gemm:.1f}" + (" **gemm**" if gemm < edges else ""))
                crossover.append(f"| {kind.split('_')[1]}, {batch} | " + " | ".join(cells) + " |")

    print(f"Machine: {machine['cpu']}, {machine['cores']} cores; {machine['compiler']}; "
          f"git {machine['git']}; {machine['date']}; load average at start {machine['load_average_start']}")
    print()
    print("| measurement | measured | target | ratio | |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if crossover:
        print()
        print("800 -> 40 junction, CPU us per call: per-edge kernel / dense product (`forward_edges` / `forward_gemm`, "
              "`backward_edges` / `backward_gemm`); **gemm** where the dense product is faster")
        print()
        print("\n".join(crossover))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
