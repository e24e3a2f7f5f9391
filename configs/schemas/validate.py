#!/usr/bin/env python3
"""Validates JSON Lines against one of the schemas here.

    python3 configs/schemas/validate.py SCHEMA.json FILE.jsonl [FILE.jsonl ...]

Prints each invalid line (file:line: reason) and exits 1 if there was one,
0 when every line is valid. Needs the jsonschema module (Debian:
python3-jsonschema; pip install jsonschema).
"""
import json
import pathlib
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
except ImportError:  # jsonschema before 4.18 (Debian 12 ships 4.10) resolves $ref itself
    import jsonschema
    from jsonschema import Draft202012Validator
    Registry = None


def validator(schema_path):
    here = pathlib.Path(schema_path).resolve().parent
    schemas = {p.name: json.loads(p.read_text()) for p in here.glob("*.schema.json")}
    schema = json.loads(pathlib.Path(schema_path).read_text())
    if Registry is not None:
        registry = Registry()
        for name, s in schemas.items():
            resource = Resource.from_contents(s)
            registry = registry.with_resource(s["$id"], resource).with_resource(name, resource)
        return Draft202012Validator(schema, registry=registry)
    store = {}
    for name, s in schemas.items():
        store[s["$id"]] = s
        store[name] = s
    resolver = jsonschema.RefResolver(base_uri=schema["$id"], referrer=schema, store=store)
    return Draft202012Validator(schema, resolver=resolver)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    v = validator(sys.argv[1])
    bad = 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                except ValueError as e:
                    print(f"{path}:{n}: not JSON: {e}")
                    bad += 1
                    continue
                errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
                if errors:
                    bad += 1
                    print(f"{path}:{n}: {errors[0].message}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
