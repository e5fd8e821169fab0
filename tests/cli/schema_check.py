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
failures = checked = 0
for path, validator in [(p, scenario) for p in sorted(glob.glob(os.path.join(src, "scenarios/*.json")))
                        if not p.endswith("scenario.schema.json")] + \
                       [(p, model_spec) for p in sorted(glob.glob(os.path.join(src, "scenarios/models/*.json")))]:
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
print(f"schema: {checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
