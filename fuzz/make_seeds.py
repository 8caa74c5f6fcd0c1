#!/usr/bin/python3
"""Writes every document of examples/ and tests/fixtures/ as one JSON file each into DIR: the
seed corpus of fuzz_validate (real Services, Routes, DomainMappings, ConfigMaps, and the invalid
fixtures next to them)."""
import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "seeds-validate"
    os.makedirs(out, exist_ok=True)
    n = 0
    for top in ("examples", os.path.join("tests", "fixtures")):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if not f.endswith((".yaml", ".yml")):
                    continue
                try:
                    docs = list(yaml.safe_load_all(open(os.path.join(d, f))))
                except yaml.YAMLError:
                    continue  # the fixtures include YAML that is broken on purpose
                for doc in docs:
                    if isinstance(doc, dict):
                        n += 1
                        with open(os.path.join(out, "seed-%04d.json" % n), "w") as fh:
                            json.dump(doc, fh, default=str)
    print("%d seeds in %s" % (n, out))


if __name__ == "__main__":
    main()
