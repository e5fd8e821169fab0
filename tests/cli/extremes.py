#!/usr/bin/python3
"""Every number of a resolved scenario (profiles inline, faults, battery, sleep, cost model) set in turn to extreme
values: scee must either refuse the scenario with its one-line error (exit 2, naming the file) or run it to finite
metrics (exit 0, no NaN, no infinity, no empty metric). A crash, an abort, an internal error, a hang or a null
metric fails the test. Usage: extremes.py SCEE BASE_RUN_DIR WORK_DIR"""
import concurrent.futures, copy, csv, json, math, os, subprocess, sys

scee, base_run, work = sys.argv[1:4]
base = json.load(open(os.path.join(base_run, "manifest.json")))["scenario"]
VALUES = [1e308, 1e15, 3e9, 5e-324, 1e-9, 0, -1]
# Metrics that may legitimately be empty: no request timeout; no battery.
MAY_BE_EMPTY = {"request_timeout_s", "device_number_format", "battery_lifetime_s", "inferences_per_charge"}


def leaves(node, path):
    if isinstance(node, dict):
        for k, v in node.items():
            if k not in ("model", "name"):
                yield from leaves(v, path + [k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, path + [i])
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path


def run(case):
    index, path, value = case
    doc = copy.deepcopy(base)
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    folder = os.path.join(work, f"case{index}")
    os.makedirs(folder, exist_ok=True)
    scenario = os.path.join(folder, "s.json")
    json.dump(doc, open(scenario, "w"))
    where = ".".join(map(str, path)) + f" = {value!r}"
    try:
        p = subprocess.run([scee, "run", scenario, "--out", os.path.join(folder, "out"), "--quiet"],
                           capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return f"{where}: no answer within 60 s"
    err = p.stderr.strip()
    if p.returncode == 2:
        if "\n" in err or not err.startswith("scee: error: ") or "s.json" not in err:
            return f"{where}: exit 2 without a one-line error naming the file: {err[:300]!r}"
        return None
    if p.returncode != 0:
        return f"{where}: exit {p.returncode}: {err[-300:]!r}"
    row = next(csv.DictReader(open(os.path.join(folder, "out", "summary.csv"))))
    if row["feasible"] in ("0", "false"):
        return None
    for k, v in row.items():
        if v == "" and k not in MAY_BE_EMPTY:
            return f"{where}: exit 0 with an empty {k}"
        try:
            if not math.isfinite(float(v)):
                return f"{where}: exit 0 with {k} = {v}"
        except ValueError:
            pass
    return None


cases = [(i, path, v) for i, (path, v) in enumerate((p, v) for p in leaves(base, []) for v in VALUES)]
with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
    problems = [r for r in pool.map(run, cases) if r]
for r in problems[:30]:
    print("FAIL", r)
print(f"extremes: {len(cases)} cases ({len(cases) // len(VALUES)} numbers x {len(VALUES)} values), {len(problems)} failed")
sys.exit(1 if problems else 0)
