"""Render a kustomization as `kubectl kustomize` (and so `kubectl apply -k`) does, for
the subset infra/k8s uses, without kustomize: `resources` (files and folders with
their own kustomization), `namespace`, `labels` (metadata only), `images` and
`patches` made of JSON 6902 operations with a `target`. Anything else is refused
rather than rendered differently; tests/infra/unit/test_k8s.py compares the result
with `kubectl kustomize` wherever kubectl is installed.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images"}
SUPPORTED |= {"patches"}
# kinds kustomize does not give a namespace (the ones infra/k8s could hold)
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "ClusterSecretStore",
    "ClusterTriggerAuthentication",
}
POD_SPECS = (
    ("spec",),  # a Pod
    ("spec", "template", "spec"),  # Deployment, Job, StatefulSet, DaemonSet...
    ("spec", "jobTemplate", "spec", "template", "spec"),  # CronJob
)


class Unsupported(Exception):
    """The kustomization uses a feature this renderer does not implement."""


def render(folder: str | Path) -> list[dict[str, Any]]:
    root = Path(folder)
    path = root / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise Unsupported(f"{path}: {sorted(unknown)}")
    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = (root / entry).resolve()
        if target.is_dir():
            resources += render(target)
        else:
            resources += [d for d in yaml.safe_load_all(target.read_text()) if d]
    for patch in kustomization.get("patches", []):
        _patch(resources, patch, path)
    if "namespace" in kustomization:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = kustomization["namespace"]
    for label in kustomization.get("labels", []):
        if set(label) - {"pairs"}:
            raise Unsupported(f"{path}: labels with {sorted(set(label) - {'pairs'})}")
        for resource in resources:
            resource["metadata"].setdefault("labels", {}).update(label["pairs"])
    for image in kustomization.get("images", []):
        for resource in resources:
            for container in containers(resource):
                container["image"] = _new_image(container["image"], image)
    return resources


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container and init container of a resource's pod template, if any."""
    found: list[dict[str, Any]] = []
    for path in POD_SPECS:
        node: Any = resource
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            for field in ("initContainers", "containers"):
                found += [c for c in node.get(field, []) if "image" in c]
    return found


def _new_image(current: str, rule: dict[str, str]) -> str:
    name, tag = current, ""
    if "@" in current:
        raise Unsupported(f"image by digest: {current}")
    if ":" in current.rsplit("/", 1)[-1]:
        name, tag = current.rsplit(":", 1)
    if name != rule["name"]:
        return current
    if set(rule) - {"name", "newName", "newTag"}:
        raise Unsupported(f"images: {rule}")
    name = rule.get("newName", name)
    tag = rule.get("newTag", tag)
    return f"{name}:{tag}" if tag else name


def _matches(resource: dict[str, Any], target: dict[str, str]) -> bool:
    group, _, version = resource["apiVersion"].rpartition("/")
    for key, value in target.items():
        if key == "kind" and resource["kind"] != value:
            return False
        elif key == "name" and not re.fullmatch(value, resource["metadata"]["name"]):
            return False
        elif key == "group" and group != value:
            return False
        elif key == "version" and version != value:
            return False
        elif key not in ("kind", "name", "group", "version"):
            raise Unsupported(f"patch target by {key}")
    return True


def _patch(resources: list[dict[str, Any]], patch: dict[str, Any], where: Path) -> None:
    if set(patch) != {"target", "patch"}:
        raise Unsupported(f"{where}: a patch needs exactly a target and a patch")
    operations = yaml.safe_load(patch["patch"])
    if not isinstance(operations, list):
        raise Unsupported(f"{where}: strategic merge patches")
    hits = [r for r in resources if _matches(r, patch["target"])]
    if not hits:  # kustomize, too, fails on a patch that matches nothing
        raise ValueError(f"{where}: no resource matches {patch['target']}")
    for resource in hits:
        for operation in operations:
            apply_operation(resource, operation)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"not a JSON pointer: {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def apply_operation(document: dict[str, Any], operation: dict[str, Any]) -> None:
    """One RFC 6902 operation (add, replace, remove), in place."""
    op = operation["op"]
    *parents, last = _pointer(operation["path"])
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op == "add":
            node.insert(index, value)
        elif op == "replace":
            node[index] = value
        elif op == "remove":
            del node[index]
        else:
            raise Unsupported(f"operation {op}")
        return
    if op == "add":
        node[last] = value
    elif op == "replace":
        if last not in node:
            raise ValueError(f"replace: {operation['path']} does not exist")
        node[last] = value
    elif op == "remove":
        del node[last]
    else:
        raise Unsupported(f"operation {op}")
