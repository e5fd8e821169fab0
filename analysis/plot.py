#!/usr/bin/python3
"""Figures from a `scee sweep` results CSV (one row per sweep point).

    plot.py results.csv --out DIR [--accuracy-target FLOAT] [--traces DIR] [--formats png,svg]

Writes, in DIR, each figure as PNG (300 dpi) and SVG: accuracy_vs_energy, latency_vs_threshold,
storage_macs_vs_density, best_energy_heatmap, best_latency_heatmap and, when per-point traces exist, latency_cdf.
A figure the CSV cannot support (e.g. a single threshold) is skipped with a note. Bad input: one line on stderr,
exit status 2. See analysis/README.md.
"""

import argparse
import importlib
import math
import os
import sys

PROG = "plot.py"


def die(message):
    """Bad input: one line on stderr, exit status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(2)


def note(message):
    print(f"note: {message}")


def require_libraries():
    missing = []
    for name in ("numpy", "pandas", "matplotlib"):
        try:
            importlib.import_module(name)
        except Exception:  # ImportError, or a broken installation
            missing.append(name)
    if missing:
        die(f"cannot import {', '.join(missing)} with {sys.executable}; install them with "
            "`apt-get install python3-matplotlib python3-pandas` (or run .ci/setup) and use /usr/bin/python3")


require_libraries()

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from matplotlib.transforms import ScaledTranslation  # noqa: E402

# --- the input ---------------------------------------------------------------------------------------------------

REQUIRED = ["point", "status", "device", "network", "accuracy", "latency_p50_s", "latency_p95_s",
            "edge_energy_per_inference_j"]
NUMERIC = ["point", "split_after", "threshold", "accuracy", "latency_p50_s", "latency_p95_s",
           "edge_energy_per_inference_j", "model_final_accuracy", "model_density", "model_macs",
           "model_storage_bytes", "fc_weights", "fc_storage_bytes", "pareto"]
# Configuration columns other than (device, network, criterion, split_after, threshold) that may vary in a sweep.
OTHER_CONFIG = ["fan_outs", "widths", "dataset", "encoding", "server", "device_count", "arrival", "network_model",
                "seed", "samples", "device_exits", "request_timeout_s", "retries", "fallback"]
DPI = 300  # print resolution
MARKERS = "osD^vP<>pX"
MAX_CDF_CURVES = 8


def load_results(path):
    """The CSV as a DataFrame of strings with the NUMERIC columns converted; exits 2 on a bad file."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        die(f"{path}: no such file")
    except IsADirectoryError:
        die(f"{path}: is a directory, expected a results CSV written by `scee sweep`")
    except pd.errors.EmptyDataError:
        die(f"{path}: empty file, expected a results CSV written by `scee sweep`")
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as e:
        die(f"{path}: not a readable CSV ({' '.join(str(e).split())})")
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        die(f"{path}: missing column(s) {', '.join(missing)}; expected a results CSV written by `scee sweep`")
    for column in NUMERIC:
        if column in df.columns:
            df[column] = pd.to_numeric(df[column].str.strip(), errors="coerce")
    for column in df.columns:
        if df[column].dtype == object:
            df[column] = df[column].str.strip()
    return df


def ok_rows(df, path):
    ok = df[(df["status"] == "ok") & df["accuracy"].notna()].sort_values("point", kind="stable")
    if ok.empty:
        failed = int((df["status"] != "ok").sum())
        die(f"{path}: no row with status ok and an accuracy ({len(df)} rows, {failed} not ok); nothing to plot")
    return ok.copy()


# --- small helpers -----------------------------------------------------------------------------------------------

def distinct(df, column):
    """Sorted distinct non-empty values of a column, or [] when it is absent."""
    if column not in df.columns:
        return []
    values = df[column].dropna()
    if values.dtype == object:
        values = values[values != ""]
    return sorted(values.unique(), key=sort_key)


def sort_key(value):
    """Natural order: numbers by value, strings like 2-9-10 by their numbers, then text."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (0, (float(value),), "")
    parts = str(value).replace(",", "-").split("-")
    try:
        return (0, tuple(float(p) for p in parts), "")
    except ValueError:
        return (1, (), str(value))


def varying(df, columns):
    return [c for c in columns if len(distinct(df, c)) > 1]


def fmt_number(value):
    return "" if pd.isna(value) else f"{value:g}"


def fmt_split(value):
    return "?" if pd.isna(value) else str(int(value)) if float(value).is_integer() else f"{value:g}"


PREFIXES = ((1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def prefix(value):
    """(scale, prefix) of the largest SI prefix not above |value|: 0.000153 -> (1e-6, 'µ')."""
    for scale, name in PREFIXES:
        if abs(value) >= scale * 0.9995:
            return scale, name
    return PREFIXES[-1]


def si(value, unit):
    """3 significant digits with an SI prefix: 0.000153 J -> '153 µJ'."""
    if pd.isna(value):
        return "n/a"
    if value == 0:
        return f"0 {unit}"
    scale, name = prefix(value)
    return f"{value / scale:.3g} {name}{unit}"


def config_parts(row, show):
    """Short configuration of a point: split, threshold and whichever of criterion and fan-outs vary."""
    parts = [f"split {fmt_split(row.get('split_after'))}", f"thr {fmt_number(row.get('threshold'))}"]
    if "criterion" in show:
        parts.append(str(row.get("criterion")))
    if "fan_outs" in show:
        parts.append(f"fo {row.get('fan_outs')}")
    return parts


def config_label(row, show):
    return ", ".join(config_parts(row, show))


def pair_colours(pairs):
    cmap = plt.get_cmap("tab10" if len(pairs) <= 10 else "tab20")
    if len(pairs) <= 20:
        return {p: cmap(i % cmap.N) for i, p in enumerate(pairs)}
    return {p: plt.get_cmap("viridis")(i / (len(pairs) - 1)) for i, p in enumerate(pairs)}


def pair_label(pair):
    return f"{pair[0]} / {pair[1]}"


def pairs_of(df):
    return sorted({(d, n) for d, n in zip(df["device"], df["network"])}, key=lambda p: (sort_key(p[0]), sort_key(p[1])))


def front_2d(accuracy, energy):
    """Indices (in increasing energy) of the points no other point beats on both accuracy (up) and energy (down)."""
    order = np.lexsort((-accuracy, energy))
    keep, best = [], -math.inf
    for i in order:
        if accuracy[i] > best:
            keep.append(i)
            best = accuracy[i]
    return keep


def pareto_3d(group):
    """Mask of the group's points on the front: accuracy up, p95 latency down, edge energy down."""
    a = group["accuracy"].to_numpy()
    t = group["latency_p95_s"].to_numpy()
    e = group["edge_energy_per_inference_j"].to_numpy()
    mask = np.ones(len(group), dtype=bool)
    for i in range(len(group)):
        no_worse = (a >= a[i]) & (t <= t[i]) & (e <= e[i])
        better = (a > a[i]) | (t < t[i]) | (e < e[i])
        mask[i] = not np.any(no_worse & better)
    return mask


def pareto_points(ok):
    """The ok rows on the Pareto front of their (device, network) pair: the CSV's `pareto` flags when present."""
    if "pareto" in ok.columns and ok["pareto"].notna().any():
        return ok[ok["pareto"] == 1]
    complete = ok.dropna(subset=["accuracy", "latency_p95_s", "edge_energy_per_inference_j"])
    parts = [g[pareto_3d(g)] for _, g in complete.groupby(["device", "network"], sort=True)]
    return pd.concat(parts) if parts else complete.iloc[0:0]


def text_colour(rgba):
    luminance = 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2]
    return "black" if luminance > 0.5 else "white"


def wide(values, ratio=30.0):
    """Positive values spanning more than `ratio`: worth a log axis."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return len(values) > 0 and values.min() > 0 and values.max() / values.min() > ratio


def plain_ticks(axis):
    """Tick labels 0.01, 0.1, 1, 10 rather than powers of ten (a log axis in ms)."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def save(fig, out, name, formats, written):
    for fmt in formats:
        path = os.path.join(out, f"{name}.{fmt}")
        metadata = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
                    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}}[fmt]
        # Atomic: a figure is either the previous one or the complete new one, never half written.
        tmp = f"{path}.tmp.{os.getpid()}"
        try:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata, bbox_inches="tight", pad_inches=0.05)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        written.append(path)
    plt.close(fig)


def style():
    plt.rcParams.update({
        "svg.hashsalt": "scee",  # fixed ids in the SVG: reruns give identical files
        "svg.fonttype": "path",
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "legend.framealpha": 0.9,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.5,
        "lines.linewidth": 1.4,
        "figure.constrained_layout.use": True,
    })


# --- the figures -------------------------------------------------------------------------------------------------

ACTIVE_PARTS = ["edge_compute_energy_per_inference_j", "radio_tx_energy_per_inference_j",
                "radio_rx_energy_per_inference_j", "radio_promotion_energy_per_inference_j",
                "radio_tail_energy_per_inference_j"]


def add_active_energy(ok):
    """The energy an inference causes (device compute, radio tx/rx/promotion/tail), without the idle power that the
    arrival period alone sets; None when the CSV lacks the parts."""
    if not all(c in ok.columns for c in ACTIVE_PARTS):
        return None
    ok["edge_active_energy_per_inference_j"] = sum(pd.to_numeric(ok[c], errors="coerce") for c in ACTIVE_PARTS)
    return "edge_active_energy_per_inference_j"


def accuracy_vs_energy(ok, colours, column="edge_energy_per_inference_j", what="edge energy per inference"):
    if column is None:
        return None, "the CSV lacks the energy breakdown columns"
    data = ok.dropna(subset=[column])
    data = data[data[column] > 0]
    if len(data) < 2:
        return None, "fewer than two ok points with a positive edge energy"
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    handles = []
    for k, (pair, colour) in enumerate(colours.items()):
        g = data[(data["device"] == pair[0]) & (data["network"] == pair[1])]
        if g.empty:
            continue
        energy = g[column].to_numpy()
        accuracy = 100 * g["accuracy"].to_numpy()
        # A marker shape per pair, each pair's front markers smaller than the previous pair's: fronts that
        # coincide (e.g. two networks when everything runs on the device) show as nested markers.
        marker = MARKERS[k % len(MARKERS)]
        size = 80 - 50 * k / max(len(colours) - 1, 1)
        ax.scatter(energy, accuracy, s=10, color=colour, marker=marker, alpha=0.45, linewidths=0)
        keep = front_2d(accuracy, energy)
        ax.step(energy[keep], accuracy[keep], where="post", color=colour, linewidth=1.3, zorder=2 + k / 100)
        ax.scatter(energy[keep], accuracy[keep], s=size, color=colour, marker=marker, edgecolors="black",
                   linewidths=0.6, zorder=3 + k / 100)
        handles.append(Line2D([], [], color=colour, marker=marker, markersize=6, markeredgecolor="black",
                              markeredgewidth=0.6, label=pair_label(pair)))
    ax.set_xscale("log")
    ax.set_xlabel(f"{what} (J, log scale)")
    ax.set_ylabel("accuracy (%)")
    # The marker key in words (in the series' own colours on the plot): small faint markers are every ok point,
    # large outlined ones joined by a step line the Pareto front; coinciding fronts show as nested markers.
    ax.set_title(f"Accuracy vs {what}, per device / network\n"
                 "small: every ok point; large, outlined, stepped: the Pareto front (nested where fronts coincide)",
                 fontsize=8)
    if len(handles) > 8:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
                  ncol=-(-len(handles) // 24))
    else:
        ax.legend(handles=handles, loc="best")
    return fig, None


def latency_vs_threshold(ok):
    """p50 and p95 latency vs the exit threshold: one panel per (device, network) pair, one line per split. Every
    line is one configuration family: where other columns vary (fan-outs, criteria, ...), one value of each is shown
    (named in the title), never a median across configurations."""
    if "threshold" not in ok.columns or len(distinct(ok, "threshold")) < 2:
        return None, "fewer than two exit thresholds in the CSV"
    data = ok.dropna(subset=["threshold", "latency_p50_s", "latency_p95_s"]).copy()
    if "split_after" not in data.columns:
        data["split_after"] = np.nan
    data["split_key"] = data["split_after"].fillna(-1)
    fixed = []
    for column in ["criterion"] + [c for c in OTHER_CONFIG if c != "device_exits"]:  # (exits follow the split)
        if column in data.columns and len(distinct(data, column)) > 1:
            values = sorted(distinct(data, column), key=sort_key)
            pick = values[0]
            if column == "fan_outs" and "model_density" in data.columns:  # the sparsest network: the paper's question
                pick = data.sort_values("model_density")["fan_outs"].iloc[0]
            data = data[data[column].astype(str) == str(pick)]
            fixed.append(f"{column.replace('_', ' ')} {pick} (of {len(values)})")
    pairs = [p for p in pairs_of(data)]
    if not pairs:
        return None, "no ok point with latencies"
    cols = min(3, len(pairs))
    rows = -(-len(pairs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols + 0.6, 2.2 * rows + 0.9), sharex=True, squeeze=False)
    splits = sorted(data["split_key"].unique())
    cmap = plt.get_cmap("tab10")
    split_colour = {sp: cmap(i % 10) for i, sp in enumerate(splits)}
    for ax in axes.flat[len(pairs):]:
        ax.set_visible(False)
    for ax, pair in zip(axes.flat, pairs):
        g = data[(data["device"] == pair[0]) & (data["network"] == pair[1])]
        values_ms = 1e3 * np.concatenate([g["latency_p50_s"].to_numpy(), g["latency_p95_s"].to_numpy()])
        for split in splits:
            h = g[g["split_key"] == split].groupby("threshold", sort=True).first().reset_index()
            if h.empty:
                continue
            colour = split_colour[split]
            ax.plot(h["threshold"], 1e3 * h["latency_p50_s"], color=colour, marker="o", markersize=3, linestyle="-")
            ax.plot(h["threshold"], 1e3 * h["latency_p95_s"], color=colour, marker="s", markersize=3,
                    linestyle="--")
        ax.set_title(pair_label(pair), fontsize=8)
        if wide(values_ms):
            ax.set_yscale("log")
            plain_ticks(ax.yaxis)
    for ax in axes[-1]:
        ax.set_xlabel("exit threshold")
    for row in axes:
        row[0].set_ylabel("latency (ms)")
    handles = [Line2D([], [], color=split_colour[sp], marker="o", markersize=3,
                      label="split ?" if sp < 0 else f"split after {fmt_split(sp)}")
               for sp in splits]
    handles += [Line2D([], [], color="black", linestyle="-", label="p50"),
                Line2D([], [], color="black", linestyle="--", label="p95")]
    spare = list(axes.flat[len(pairs):])
    if spare:  # an empty panel holds the key
        spare[0].set_visible(True)
        spare[0].axis("off")
        spare[0].legend(handles=handles, loc="center", fontsize=7)
    else:
        axes.flat[0].legend(handles=handles, loc="best", fontsize=6)
    title = "p50 and p95 latency vs exit threshold, per device / network (log scale where the range is wide)"
    if fixed:
        title += "\n" + "; ".join(fixed)
    fig.suptitle(title, fontsize=9)
    return fig, None


def faults(ok):
    """Accuracy and p99 latency vs the request timeout, one line per (fallback, retries), under faults."""
    needed = ["request_timeout_s", "fallback", "retries", "fallback_rate", "failure_rate", "latency_p99_s"]
    if any(c not in ok.columns for c in needed):
        return None, "no fault columns in the CSV (written by scee 0.1 with faults support)"
    data = ok.dropna(subset=["request_timeout_s"]).copy()
    if data.empty or (data["fallback_rate"].astype(float) + data["failure_rate"].astype(float)).max() <= 0:
        return None, "no point with a request timeout and a fallback or a failure"
    for c in ["request_timeout_s", "retries", "accuracy", "latency_p99_s"]:
        data[c] = data[c].astype(float)
    stats = (data.groupby(["fallback", "retries", "request_timeout_s"], sort=True)
             .agg(accuracy=("accuracy", "median"), p99=("latency_p99_s", "median"), n=("point", "size"))
             .reset_index())
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 4.0))
    cmap = plt.get_cmap("tab10")
    lines = list(stats.groupby(["fallback", "retries"], sort=True))
    for i, ((fallback, retries), g) in enumerate(lines):
        style_ = "-" if fallback == "device_exit" else "--"
        label = f"fallback {fallback}, {int(retries)} retr{'y' if int(retries) == 1 else 'ies'}"
        left.plot(g["request_timeout_s"], 100 * g["accuracy"], color=cmap(i % 10), marker=MARKERS[i % len(MARKERS)],
                  markersize=4, linestyle=style_, label=label)
        right.plot(g["request_timeout_s"], g["p99"], color=cmap(i % 10), marker=MARKERS[i % len(MARKERS)],
                   markersize=4, linestyle=style_, label=label)
    timeouts = sorted(stats["request_timeout_s"].unique())
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(timeouts)
        ax.xaxis.set_minor_locator(plt.NullLocator())
        plain_ticks(ax.xaxis)
        ax.set_xlabel("request timeout (s, log scale)")
    left.set_ylabel("accuracy, failures counted wrong (%)")
    right.set_ylabel("p99 latency (s, log scale)")
    right.set_yscale("log")
    plain_ticks(right.yaxis)
    left.legend(loc="best", fontsize=8)
    title = "accuracy and tail latency under faults vs the request timeout (lines of equal retries overlap on the right)"
    if stats["n"].max() > 1:
        over = varying(ok, ["device", "network"] + OTHER_CONFIG) or ["repeated points"]
        title += f"\n(median over up to {int(stats['n'].max())} configurations of {', '.join(over)})"
    fig.suptitle(title, fontsize=10)
    return fig, None


def storage_macs_vs_density(ok):
    """Storage, MACs and accuracy vs density, one panel each (each quantity on its own axis and unit), one point
    per fan-out, the fully connected network marked."""
    needed = ["fan_outs", "model_density", "model_storage_bytes", "model_macs", "model_final_accuracy"]
    absent = [c for c in needed if c not in ok.columns]
    if absent:
        return None, f"the CSV has no {', '.join(absent)} column"
    models = (ok.dropna(subset=needed[1:]).groupby("fan_outs", sort=False)
              .agg(density=("model_density", "median"), storage=("model_storage_bytes", "median"),
                   macs=("model_macs", "median"), accuracy=("model_final_accuracy", "median"))
              .reset_index().sort_values(["density", "fan_outs"]))
    if len(models) < 2:
        return None, "fewer than two distinct fan_outs with model columns"
    x = 100 * models["density"].to_numpy()
    fig, (top, mid, low) = plt.subplots(3, 1, figsize=(3.5, 5.2), sharex=True)
    top.plot(x, models["storage"] / 1e3, color="C0", marker="o", markersize=4)
    mid.plot(x, models["macs"], color="C1", marker="s", markersize=4)
    low.plot(x, 100 * models["accuracy"], color="C2", marker="^", markersize=4)
    dense = models[models["density"] >= 0.9999]
    if dense.empty and {"fc_storage_bytes", "fc_weights"} <= set(ok.columns) and ok["fc_storage_bytes"].notna().any():
        # fc_macs since CNNs (a convolution's MACs are not its weights); an MLP's MACs are its weights
        fc_macs = ok["fc_macs"].median() if "fc_macs" in ok.columns else ok["fc_weights"].median()
        top.plot([100], [ok["fc_storage_bytes"].median() / 1e3], marker="o", markersize=5, color="C0",
                 markerfacecolor="none", linestyle="none")
        mid.plot([100], [fc_macs], marker="s", markersize=5, color="C1", markerfacecolor="none", linestyle="none")
        top.annotate("fully connected (not simulated)", (100, ok["fc_storage_bytes"].median() / 1e3),
                     textcoords="offset points", xytext=(-6, -12), ha="right", fontsize=6)
    if len(models) <= 12:
        # fan-out labels on the accuracy panel, below and right of their markers (under the rising curve); the
        # densest at the right edge goes to the left
        for xi, (_, m) in zip(x, models.iterrows()):
            right_edge = xi >= 0.8 * x.max()
            low.annotate(m["fan_outs"], (xi, 100 * m["accuracy"]), textcoords="offset points",
                         xytext=(-3, 5) if right_edge else (3, -9), ha="right" if right_edge else "left", fontsize=6,
                         color="C2")
    for ax, values in ((top, models["storage"] / 1e3), (mid, models["macs"])):
        if wide(values.to_numpy(), 30):
            ax.set_yscale("log")
            plain_ticks(ax.yaxis)
        else:
            ax.set_ylim(bottom=0)
    top.set_ylabel("storage (kB)")
    mid.set_ylabel("MACs per\ninference")
    low.set_ylabel("accuracy (%)")
    lo, hi = 100 * models["accuracy"].min(), 100 * models["accuracy"].max()
    low.set_ylim(lo - 0.25 * max(hi - lo, 0.2), hi + 0.25 * max(hi - lo, 0.2))
    if wide(x, 5):  # low densities would crowd a linear axis
        low.set_xscale("log")
        low.set_xticks([t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if x.min() / 1.5 <= t <= x.max() * 1.5])
        low.xaxis.set_minor_locator(plt.NullLocator())
        plain_ticks(low.xaxis)
    low.set_xlabel("density (% of fully connected weights" + (", log)" if wide(x, 5) else ")"))
    top.set_title("Predefined sparsity vs density\n(one point per fan-out; the main path)", fontsize=8)
    return fig, None


def best_heatmap(df, ok, target, metric, unit, quantity, show):
    """Device x network grid of the minimum `metric` among ok points with accuracy >= target."""
    devices, networks = distinct(df, "device"), distinct(df, "network")
    if len(devices) * len(networks) < 2:
        return None, "a single (device, network) pair"
    qualifying = ok[(ok["accuracy"] >= target - 1e-12) & ok[metric].notna()]
    values = np.full((len(devices), len(networks)), np.nan)
    best = {}
    for (device, network), g in qualifying.groupby(["device", "network"], sort=False):
        row = g.loc[g[metric].idxmin()]
        i, j = devices.index(device), networks.index(network)
        values[i, j] = row[metric]
        best[(i, j)] = row
    finite = values[np.isfinite(values)]
    if unit == "s":
        scale, unit_prefix = 1e-3, "m"  # latencies in ms, as everywhere else
    elif len(finite) and np.median(finite) > 0:
        scale, unit_prefix = prefix(np.median(finite))
    else:
        scale, unit_prefix = 1.0, ""
    shown = values / scale
    finite = finite / scale
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("white")
    if len(finite) and finite.min() > 0 and finite.max() / finite.min() > 10:
        norm = LogNorm(vmin=finite.min(), vmax=finite.max())
    elif len(finite):
        low, high = finite.min(), finite.max()
        norm = Normalize(vmin=low, vmax=high if high > low else low + 1)
    else:
        norm = Normalize(vmin=0, vmax=1)
    fig, ax = plt.subplots(figsize=(1.7 * len(networks) + 2.6, 0.95 * len(devices) + 2.0))
    image = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto")
    ax.grid(False)
    for i in range(len(devices)):
        for j in range(len(networks)):
            if (i, j) not in best:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="none", edgecolor="0.6", hatch="///",
                                       linewidth=0))
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=9, color="0.3",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
                continue
            row = best[(i, j)]
            colour = text_colour(cmap(norm(shown[i, j])))
            ax.text(j, i - 0.12, si(values[i, j], unit), ha="center", va="center", fontsize=9, fontweight="bold",
                    color=colour)
            parts = config_parts(row, show)
            config = ", ".join(parts[:2]) + ("\n" + ", ".join(parts[2:]) if len(parts) > 2 else "")
            ax.text(j, i + 0.22, config, ha="center", va="center", fontsize=6.5, color=colour, linespacing=1.1)
    ax.set_xticks(range(len(networks)), networks)
    ax.set_yticks(range(len(devices)), devices)
    ax.tick_params(length=0)
    for k in range(len(networks) + 1):
        ax.axvline(k - 0.5, color="white", linewidth=1.5)
    for k in range(len(devices) + 1):
        ax.axhline(k - 0.5, color="white", linewidth=1.5)
    ax.set_xlabel("network")
    ax.set_ylabel("device")
    bar = fig.colorbar(image, ax=ax, fraction=0.06, pad=0.02)
    if isinstance(norm, LogNorm):
        plain_ticks(bar.ax.yaxis)
    bar.set_label(f"{quantity} ({unit_prefix}{unit}{', log scale' if isinstance(norm, LogNorm) else ''})")
    ax.set_title(f"Minimum {quantity} with accuracy ≥ {100 * target:.2f}%\n"
                 "(each cell: the best value, then the configuration reaching it)")
    below = ax.transAxes + ScaledTranslation(0, -0.5, fig.dpi_scale_trans)  # under the tick labels and x label
    ax.legend(handles=[Patch(facecolor="white", edgecolor="0.5", hatch="///",
                             label="n/a: no ok point reaches the accuracy target")],
              loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below, frameon=False)
    return fig, None


def latency_cdf(ok, traces, colours, show):
    curves = cdf_curves(ok, traces)
    if not curves:
        return None, f"no usable trace in {traces} for the Pareto points"
    labels = [f"#{int(row['point'])} {pair_label((row['device'], row['network']))}: {config_label(row, show)}"
              for row, _ in curves]
    ncol = 2 if len(curves) > 4 and max(map(len, labels)) <= 44 else 1
    rows = -(-len(curves) // ncol)
    fig, ax = plt.subplots(figsize=(6.4, 3.6 + 0.18 * rows))
    styles = ["-", "--", ":", "-."]
    used = {}
    for (row, latency), label in zip(curves, labels):
        pair = (row["device"], row["network"])
        k = used.get(pair, 0)
        used[pair] = k + 1
        x = np.sort(latency) * 1e3
        y = np.arange(1, len(x) + 1) / len(x)
        ax.step(np.concatenate([[x[0]], x]), np.concatenate([[0.0], y]), where="post", color=colours[pair],
                linestyle=styles[k % len(styles)], linewidth=1.3, label=label)
    ax.set_xscale("log")
    plain_ticks(ax.xaxis)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of samples answered (cumulative)")
    ax.set_title(f"Latency CDF of Pareto points (at most {MAX_CDF_CURVES}, taken in turn from each "
                 "device / network)", fontsize=9.5)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), ncol=ncol, frameon=False)
    return fig, None


def cdf_curves(ok, traces):
    """[(row, latencies in s)] for at most MAX_CDF_CURVES Pareto points with a usable trace, taken in turn from
    each (device, network) pair, most accurate first."""
    front = pareto_points(ok).dropna(subset=["point"])
    front = front.sort_values(["accuracy", "point"], ascending=[False, True], kind="stable")
    queues = [[row for _, row in g.iterrows()] for _, g in front.groupby(["device", "network"], sort=True)]
    curves = []
    for k in range(max(map(len, queues), default=0)):
        for queue in queues:
            if k >= len(queue) or len(curves) >= MAX_CDF_CURVES:
                continue
            row = queue[k]
            path = os.path.join(traces, f"{int(row['point'])}.csv")
            latency = read_trace(path)
            if latency is None:
                continue
            positive = latency[latency > 0]
            if len(positive) == 0:
                note(f"{path}: no positive latency, not drawn")
                continue
            curves.append((row, np.maximum(latency, positive.min())))  # a log axis cannot show 0 s
    return curves


def read_trace(path):
    """The latency_s column of one trace file (seconds), or None with a note."""
    if not os.path.isfile(path):
        note(f"{path}: no trace for this point")
        return None
    try:
        trace = pd.read_csv(path, usecols=lambda c: c.strip() == "latency_s")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        note(f"{path}: unreadable trace ({' '.join(str(e).split())})")
        return None
    if trace.shape[1] != 1:
        note(f"{path}: no latency_s column")
        return None
    latency = pd.to_numeric(trace.iloc[:, 0], errors="coerce").dropna().to_numpy()
    if len(latency) == 0:
        note(f"{path}: no latency value")
        return None
    return latency


# --- main --------------------------------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description="Figures from a `scee sweep` results CSV.")
    parser.add_argument("results", help="results CSV written by `scee sweep`")
    parser.add_argument("--out", required=True, help="directory for the figures (created if needed)")
    parser.add_argument("--accuracy-target", type=float, default=None,
                        help="minimum accuracy of the heatmaps, a fraction such as 0.93 (or a percentage such as "
                             "93); default: the best accuracy in the CSV minus 0.5 points")
    parser.add_argument("--traces", default=None,
                        help="directory of per-point traces <point>.csv (default: traces/ beside the CSV, if any)")
    parser.add_argument("--formats", default="png,svg", help="comma-separated, among png, svg, pdf (default png,svg)")
    args = parser.parse_args(argv)
    args.formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in args.formats if f not in ("png", "svg", "pdf")]
    if bad or not args.formats:
        die(f"--formats: {', '.join(bad) or 'empty'}; valid: png, svg, pdf")
    return args


def accuracy_target(args, ok):
    best = ok["accuracy"].max()
    if args.accuracy_target is None:
        target = best - 0.005
        print(f"accuracy target {100 * target:.2f}% (best accuracy {100 * best:.2f}% minus 0.5 points)")
        return target
    target = args.accuracy_target
    if not math.isfinite(target) or target < 0 or target > 100:
        die(f"--accuracy-target: {target:g}; give a fraction in [0, 1] such as 0.93 (or a percentage)")
    if target > 1:
        target /= 100
    print(f"accuracy target {100 * target:.2f}% (best accuracy in the CSV {100 * best:.2f}%)")
    return target


def traces_dir(args):
    if args.traces is not None:
        if not os.path.isdir(args.traces):
            die(f"--traces {args.traces}: no such directory")
        return args.traces
    beside = os.path.join(os.path.dirname(os.path.abspath(args.results)), "traces")
    return beside if os.path.isdir(beside) else None


def main(argv):
    args = parse_args(argv)
    df = load_results(args.results)
    ok = ok_rows(df, args.results)
    traces = traces_dir(args)
    target = accuracy_target(args, ok)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        die(f"--out {args.out}: cannot create the directory ({e.strerror})")
    style()
    colours = pair_colours(pairs_of(ok))
    show = varying(ok, ["criterion", "fan_outs"])
    figures = [
        ("accuracy_vs_energy", lambda: accuracy_vs_energy(ok, colours)),
        ("accuracy_vs_active_energy",
         lambda: accuracy_vs_energy(ok, colours, add_active_energy(ok), "active edge energy per inference")),
        ("latency_vs_threshold", lambda: latency_vs_threshold(ok)),
        ("storage_macs_vs_density", lambda: storage_macs_vs_density(ok)),
        ("faults", lambda: faults(ok)),
        ("best_energy_heatmap", lambda: best_heatmap(df, ok, target, "edge_energy_per_inference_j", "J",
                                                     "edge energy per inference", show)),
        ("best_latency_heatmap", lambda: best_heatmap(df, ok, target, "latency_p95_s", "s", "p95 latency",
                                                      show)),
    ]
    if traces is not None:
        figures.append(("latency_cdf", lambda: latency_cdf(ok, traces, colours, show)))
    else:
        note("skipping latency_cdf: no --traces and no traces/ directory beside the CSV")
    written = []
    for name, draw in figures:
        fig, reason = draw()
        if fig is None:
            note(f"skipping {name}: {reason}")
            continue
        try:
            save(fig, args.out, name, args.formats, written)
        except OSError as e:
            die(f"{os.path.join(args.out, name)}: cannot write ({e.strerror})")
    print(f"wrote {len(written)} files:")
    for path in written:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
