"""Stripe's component schemas for the objects the sandbox serves, as JSON Schema.

`stripe-schemas.json` beside this file is an extract of Stripe's OpenAPI description
(../shared/stripe/openapi-spec3.json, API version 2020-08-27): the listed schemas and
every schema they reference, descriptions and x- annotations removed, nothing else
changed. Regenerate it with `python -m tests.contracts.stripe_spec.schemas [spec]`; a
contract test checks it against the spec when the spec is present.

OpenAPI 3.0 is not JSON Schema; `to_json_schema` converts the one difference these
schemas use, `nullable: true`, into an explicit null: `type: T` becomes
`type: [T, "null"]`, an `enum` gains null, an `anyOf` gains `{"type": "null"}`. A
schema with `nullable` but neither (none exists in these schemas) is refused rather
than guessed at. `$ref` resolves inside components; `format` (unix-time...) is not
checked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema

HERE = Path(__file__).parent
EXTRACT = HERE / "stripe-schemas.json"
SPEC = HERE.parents[2].parent / "shared" / "stripe" / "openapi-spec3.json"
ROOTS = (
    "account",
    "account_link",
    "balance",
    "balance_transaction",
    "event",
    "payout",
    "transfer",
    "transfer_reversal",
)


def _strip(node: Any) -> Any:
    """Drop the annotations of a schema object; a property may be called
    "description", so the names under `properties` are kept."""
    if isinstance(node, list):
        return [_strip(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "description" or key.startswith("x-"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strip(schema) for name, schema in value.items()}
        else:
            out[key] = _strip(value)
    return out


def _refs(node: Any, found: set[str], schemas: dict[str, Any]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[1]
            if name not in found:
                found.add(name)
                _refs(schemas[name], found, schemas)
        for value in node.values():
            _refs(value, found, schemas)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found, schemas)


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = {k: _strip(v) for k, v in spec["components"]["schemas"].items()}
    found = set(ROOTS)
    for root in ROOTS:
        _refs(schemas[root], found, schemas)
    return {name: schemas[name] for name in sorted(found)}


def dump(schemas: dict[str, Any]) -> str:
    """One schema per line: diffs stay readable, the file stays small."""
    lines = [
        f"{json.dumps(name)}: {json.dumps(schema, sort_keys=True)}"
        for name, schema in schemas.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def load() -> dict[str, Any]:
    return dict(json.loads(EXTRACT.read_text()))


SCHEMA_KEYS = ("items", "additionalProperties", "not")
SCHEMA_LISTS = ("anyOf", "oneOf", "allOf")


def to_json_schema(node: Any) -> Any:
    """Convert one OpenAPI 3.0 schema object (recursively) to JSON Schema draft 4."""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    if "properties" in out:
        out["properties"] = {k: to_json_schema(v) for k, v in out["properties"].items()}
    for key in SCHEMA_KEYS:
        if isinstance(out.get(key), dict):
            out[key] = to_json_schema(out[key])
    for key in SCHEMA_LISTS:
        if key in out:
            out[key] = [to_json_schema(v) for v in out[key]]
    if out.pop("nullable", False):
        converted = False
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
            converted = True
        if "type" in out:
            out["type"] = [out["type"], "null"]
            converted = True
        if "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
            converted = True
        if not converted:
            raise ValueError(f"nullable schema without type, enum or anyOf: {node}")
    return out


class Schemas:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.components = {k: to_json_schema(v) for k, v in schemas.items()}

    def validator(self, name: str) -> jsonschema.Draft4Validator:
        root = {
            "$ref": f"#/components/schemas/{name}",
            "components": {"schemas": self.components},
        }
        return jsonschema.Draft4Validator(root)

    def errors(self, name: str, instance: Any) -> list[str]:
        found = [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in self.validator(name).iter_errors(instance)
        ]
        found += [
            f"{path}: not a field of Stripe's {name}"
            for path in self.undeclared(self.components[name], instance, name)
        ]
        return found

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def undeclared(self, schema: dict[str, Any], instance: Any, path: str) -> list[str]:
        """Fields the instance has that the schema does not declare (where the
        schema lists its properties and allows no free-form map). JSON Schema lets
        them through; a stand-in that invents fields should not pass."""
        schema = self.resolve(schema)
        if "anyOf" in schema:
            for branch in schema["anyOf"]:
                branch = self.resolve(branch)
                root = {"components": {"schemas": self.components}, **branch}
                if jsonschema.Draft4Validator(root).is_valid(instance):
                    return self.undeclared(branch, instance, path)
            return []
        if isinstance(instance, list) and isinstance(schema.get("items"), dict):
            return [
                p
                for i, item in enumerate(instance)
                for p in self.undeclared(schema["items"], item, f"{path}[{i}]")
            ]
        if not isinstance(instance, dict) or "properties" not in schema:
            return []
        if schema.get("additionalProperties") not in (None, False):
            return []
        out = []
        for key, value in instance.items():
            if key not in schema["properties"]:
                out.append(f"{path}.{key}")
            else:
                out += self.undeclared(
                    schema["properties"][key], value, f"{path}.{key}"
                )
        return out


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SPEC
    EXTRACT.write_text(dump(extract(json.loads(source.read_text()))))
    print(f"wrote {EXTRACT}")
