#!/usr/bin/python3
"""Tables for docs/results.md from a `scee sweep` results CSV (the paper-mnist and cnn-mnist sweeps).

    tables.py results.csv [--tolerance 0.005]

Prints Markdown: (1) per sparsity configuration, the network's own test accuracy, weights, MACs and storage against
the fully connected network, and the sparsest configuration within `tolerance` of it; (2) per device-network pair,
the configuration that minimises edge energy per inference among points whose accuracy is within `tolerance` of the
fully connected network's, next to the best edge-only (split = L) and full-offload (split = 0) points; (3) the same
for the mean latency.
"Active" energy is the part an inference causes: device compute plus radio transmit, receive, promotion and tail
(total minus the device's and radio's idle energy, which only the arrival period sets).
"""

import argparse
import sys

try:
    import pandas as pd
except ImportError:
    print("tables.py: error: pandas is missing (apt-get install python3-pandas, or run .ci/setup)", file=sys.stderr)
    sys.exit(2)


def load(path):
    df = pd.read_csv(path)
    ok = df[df["status"] == "ok"].copy()
    ok["edge_active_energy_per_inference_j"] = (
        ok["edge_compute_energy_per_inference_j"] + ok["radio_tx_energy_per_inference_j"]
        + ok["radio_rx_energy_per_inference_j"] + ok["radio_promotion_energy_per_inference_j"]
        + ok["radio_tail_energy_per_inference_j"])
    return df, ok


def sparsity_table(ok, tolerance):
    models = ok.drop_duplicates("fan_outs")[["fan_outs", "model_density", "model_weights", "model_macs",
                                             "model_storage_bytes", "fc_weights", "fc_storage_bytes",
                                             "model_final_accuracy"]].sort_values("model_density", ascending=False)
    fc = models[models["model_density"] == 1.0]
    fc_acc = float(fc["model_final_accuracy"].iloc[0]) if len(fc) else float(models["model_final_accuracy"].max())
    print("| fan-outs | density | weights | MACs/inference | storage (bytes) | accuracy | vs FC (points) | "
          "weights reduction | storage reduction |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    within = []
    for _, m in models.iterrows():
        delta = 100 * (m["model_final_accuracy"] - fc_acc)
        if m["model_final_accuracy"] >= fc_acc - tolerance:
            within.append(m)
        print(f"| {m['fan_outs']} | {100 * m['model_density']:.2f}% | {int(m['model_weights']):,} | "
              f"{int(m['model_macs']):,} | {int(m['model_storage_bytes']):,} | "
              f"{100 * m['model_final_accuracy']:.2f}% | {delta:+.2f} | "
              f"{m['fc_weights'] / m['model_weights']:.1f}x | {m['fc_storage_bytes'] / m['model_storage_bytes']:.1f}x |")
    sparsest = min(within, key=lambda m: m["model_density"])
    print()
    print(f"Fully connected: {100 * fc_acc:.2f}%. Sparsest within {100 * tolerance:.1f} points: fan-outs "
          f"{sparsest['fan_outs']} ({100 * sparsest['model_density']:.2f}% density, "
          f"{100 * sparsest['model_final_accuracy']:.2f}%), {sparsest['fc_weights'] / sparsest['model_weights']:.1f}x "
          f"fewer weights and MACs, {sparsest['fc_storage_bytes'] / sparsest['model_storage_bytes']:.1f}x less "
          f"storage.")
    return fc_acc


def describe(row):
    return (f"fo {row['fan_outs']}, split {int(row['split_after'])}, thr {row['threshold']:g}: "
            f"{row['edge_energy_per_inference_j'] * 1e3:.4g} mJ ({row['edge_active_energy_per_inference_j'] * 1e3:.3g} "
            f"active), acc {100 * row['accuracy']:.2f}%, mean {row['latency_mean_s'] * 1e3:.3g} ms, "
            f"p95 {row['latency_p95_s'] * 1e3:.3g} ms, offload {100 * row['offload_rate']:.0f}%")


def best_table(ok, target, column):
    """Per device-network pair, the point that minimises `column` at the accuracy target, the best edge-only and the
    best full-offload point."""
    feasible = ok[(ok["accuracy"] >= target) & (ok["head_fits_memory"] == 1)]
    last = int(ok["split_after"].max())
    print(f"| device | network | best (min {column}) | best edge-only (split {last}) | best full offload (split 0) |")
    print("| --- | --- | --- | --- | --- |")
    for (device, network), g in feasible.groupby(["device", "network"], sort=True):
        cells = []
        for subset in (g, g[g["split_after"] == last], g[g["split_after"] == 0]):
            if len(subset) == 0:
                cells.append("n/a (none meets the target)")
                continue
            best = subset.sort_values([column, "point"]).iloc[0]
            cells.append(describe(best))
        print(f"| {device} | {network} | " + " | ".join(cells) + " |")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--tolerance", type=float, default=0.005, help="accuracy tolerance (fraction, 0.005 = 0.5 points)")
    args = parser.parse_args(argv)
    _, ok = load(args.results)
    fc_acc = sparsity_table(ok, args.tolerance)
    print()
    target = fc_acc - args.tolerance
    print(f"Accuracy target for the energy table: {100 * target:.2f}% (fully connected minus "
          f"{100 * args.tolerance:.1f} points), heads that fit the device's memory only.")
    print()
    best_table(ok, target, "edge_energy_per_inference_j")
    print()
    best_table(ok, target, "latency_mean_s")


if __name__ == "__main__":
    main(sys.argv[1:])
