#!/usr/bin/env python3
"""Validate YAML runbooks against the runbook JSON Schema.

Usage: check-schema.py SCHEMA.json FILE.yaml...

Prints one JSON object per file: {"file", "valid", "error"}. Exits 3 when
PyYAML or jsonschema is missing (`make test` installs them), 2 when the
schema itself is not a valid draft 2020-12 schema.

YAML is read the way policy-change reads it, which is the YAML 1.2 core
schema, not PyYAML's YAML 1.1 default: only true/false are booleans (yes, no,
on, off are strings), integers are decimal (0755 is 755, not octal 493),
timestamps stay strings, and there are no merge keys.
"""
import json
import re
import sys

try:
    import jsonschema
    import yaml
except ImportError as error:
    print(f"missing Python module '{error.name}'", file=sys.stderr)
    sys.exit(3)


class CoreSchemaLoader(yaml.SafeLoader):
    pass


CoreSchemaLoader.yaml_implicit_resolvers = {}


def resolver(tag, pattern, first):
    CoreSchemaLoader.add_implicit_resolver(tag, re.compile(pattern), list(first))


resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
resolver("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789")
resolver("tag:yaml.org,2002:float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", "-+.0123456789")
resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])
CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node), 10))
CoreSchemaLoader.add_constructor("tag:yaml.org,2002:float", lambda loader, node: float(loader.construct_scalar(node)))


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        print(f"the schema is not a valid draft 2020-12 schema: {error.message}", file=sys.stderr)
        sys.exit(2)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sys.argv[2:]:
        result = {"file": path, "valid": False, "error": None}
        try:
            with open(path, encoding="utf-8") as f:
                document = yaml.load(f, Loader=CoreSchemaLoader)
            # Through JSON and back: what a JSON validator would see (keys become strings).
            document = json.loads(json.dumps(document))
            error = jsonschema.exceptions.best_match(validator.iter_errors(document))
            if error is None:
                result["valid"] = True
            else:
                where = "/".join(str(p) for p in error.absolute_path)
                result["error"] = f"{where}: {error.message}"
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            result["error"] = f"not YAML: {error}"
        except (ValueError, TypeError, RecursionError) as error:
            # A self-referencing alias or a !!binary value cannot become JSON.
            result["error"] = f"not JSON-shaped: {error}"
        print(json.dumps(result))


main()
