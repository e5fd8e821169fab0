#!/usr/bin/python3
"""Every shipped scenario validates against scenarios/scenario.schema.json, and every shipped model spec
(scenarios/models/) against its model_spec definition, with a real JSON Schema validator (Debian's
python3-jsonschema): the schema cannot drift from what the loader accepts for the shipped files. The schema must
also refuse a few specs the loader refuses (so that the check can fail)."""
import glob
import json
import os
import sys

import jsonschema

src = sys.argv[1]
schema = json.load(open(os.path.join(src, "scenarios/scenario.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
scenario = jsonschema.Draft202012Validator(schema)
spec_schema = dict(schema, **{"$ref": "#/$defs/model_spec"})
spec_schema.pop("properties", None), spec_schema.pop("required", None), spec_schema.pop("type", None)
spec_schema.pop("additionalProperties", None)
model_spec = jsonschema.Draft202012Validator(spec_schema)


def definition(name):
    """A validator of one of the schema's $defs (the shipped profile files follow compute_profile, network_profile)."""
    return jsonschema.Draft202012Validator(dict(spec_schema, **{"$ref": f"#/$defs/{name}"}))


compute_profile, network_profile = definition("compute_profile"), definition("network_profile")
failures = checked = 0
for path, validator in [(p, scenario) for p in sorted(glob.glob(os.path.join(src, "scenarios/*.json")))
                        if not p.endswith("scenario.schema.json")] + \
                       [(p, model_spec) for p in sorted(glob.glob(os.path.join(src, "scenarios/models/*.json")))] + \
                       [(p, compute_profile) for kind in ("devices", "servers")
                        for p in sorted(glob.glob(os.path.join(src, f"scenarios/profiles/{kind}/*.json")))] + \
                       [(p, network_profile) for p in sorted(glob.glob(os.path.join(src, "scenarios/profiles/networks/*.json")))]:
    checked += 1
    for error in validator.iter_errors(json.load(open(path))):
        failures += 1
        print(f"FAIL {os.path.relpath(path, src)}: {error.json_path}: {error.message[:300]}")
b_lenet = json.load(open(os.path.join(src, "scenarios/models/b-lenet.json")))
refused = [dict(b_lenet, widths=[784, 10]),  # both forms
           dict(b_lenet, layers=[{"type": "conv", "out_channels": 5}]),  # no kernel
           dict(b_lenet, layers=[{"type": "fc", "out_features": 10, "fan_out": 2, "density": 0.2}])]
for bad in refused:
    checked += 1
    if model_spec.is_valid(bad):
        failures += 1
        print(f"FAIL the schema accepts a spec the loader refuses: {json.dumps(bad)[:200]}")
# A cost model the loader refuses (speed-up densities must increase) is refused by the schema too.
cm = {"invoke_overhead_s": 0, "layer_overhead_s": 0, "memory_bandwidth_bytes_per_s": 1e9, "default_format": "int8",
      "formats": {"int8": {"fc_rate_macs_per_s": 1e6, "conv_rate_macs_per_s": 1e6,
                           "fc_sparse_speedup": [[0.5, 1.0, 2.0]], "conv_sparse_speedup": [[0.5, 1]]}}}
checked += 1
if definition("cost_model").is_valid(cm):
    failures += 1
    print("FAIL the schema accepts a speed-up point of three numbers")
# The bad-input corpus: every scenario the loader refuses for a reason the schema can express (a type, a range, an
# enum, an unknown or missing key) must be refused by the schema too, so that an editor's schema check and scee agree.
EXPRESSIBLE = ("unknown key", "must be one of", "must be an integer in", "must be a number", "missing required key",
               "must be at most", "must be at least", "must be true or false")
corpus = os.path.join(src, "tests/bad_inputs")
for line in open(os.path.join(corpus, "cases.tsv")):
    if line.startswith("#") or not line.strip():
        continue
    name, command, *expected = line.rstrip("\n").split("\t")
    words = command.split()
    if len(words) < 2 or words[0] != "run" or not words[1].startswith("{cases}/scenarios/"):
        continue
    if not any(e in m for m in expected for e in EXPRESSIBLE):
        continue
    if any("(profile \"" in m or "$.devices.sleep" in m for m in expected):
        continue  # depends on a built-in profile's contents (its pstates, its sleep states): the loader's check
    path = words[1].replace("{cases}", corpus)
    try:
        doc = json.load(open(path))
    except (OSError, ValueError):
        continue  # not JSON: the parser's case, not the schema's
    checked += 1
    if scenario.is_valid(doc):
        failures += 1
        print(f"FAIL the schema accepts bad-input case {name} ({os.path.relpath(path, src)}), which scee refuses with: "
              f"{expected[0][:160]}")
print(f"schema: {checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
