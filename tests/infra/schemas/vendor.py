"""Vendor a custom resource's OpenAPI schema from its operator's CRD, for
tests/infra/unit/test_k8s.py.

    python tests/infra/schemas/vendor.py OWNER/REPO COMMIT VERSION CRD.yaml

reads the CustomResourceDefinition (a file of the operator's repository at COMMIT,
its release VERSION), and writes `<group>_<kind>.json` beside this file: the
schema of the version the API server stores, descriptions dropped (they do not
validate anything), with where it came from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main() -> None:
    repo, commit, version, path = sys.argv[1:5]
    crd = yaml.safe_load(Path(path).read_text())
    spec = crd["spec"]
    stored = next(v for v in spec["versions"] if v.get("storage"))
    out = {
        "source": f"https://github.com/{repo}",
        "file": sys.argv[5] if len(sys.argv) > 5 else Path(path).name,
        "commit": commit,
        "release": version,
        "apiVersion": f"{spec['group']}/{stored['name']}",
        "kind": spec["names"]["kind"],
        "schema": strip(stored["schema"]["openAPIV3Schema"]),
    }
    target = HERE / f"{spec['group']}_{spec['names']['kind']}.json"
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"{target.name}: {out['apiVersion']} {out['kind']}")


if __name__ == "__main__":
    main()
