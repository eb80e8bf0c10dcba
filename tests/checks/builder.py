"""Build fixture snapshot directories: the base tenant (base_tenant.yaml) plus a case's patch."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import yaml

from graphlattice.tenant.collections import COLLECTIONS

HERE = Path(__file__).parent
BASE = HERE / "base_tenant.yaml"
FIXTURES = HERE / "fixtures"


def base_document() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    return doc


def _merge(target: Any, patch: Any) -> Any:
    if (
        isinstance(target, list)
        and isinstance(patch, list)
        and all(isinstance(x, dict) and "id" in x for x in [*target, *patch])
    ):
        merged = [copy.deepcopy(x) for x in target]
        for item in patch:
            for index, existing in enumerate(merged):
                if str(existing["id"]).lower() == str(item["id"]).lower():
                    merged[index] = _merge(existing, item)
                    break
            else:
                merged.append(copy.deepcopy(item))
        return merged
    if isinstance(target, dict) and isinstance(patch, dict):
        out = dict(target)
        for key, value in patch.items():
            out[key] = _merge(target.get(key), value) if key in target else copy.deepcopy(value)
        return out
    return copy.deepcopy(patch)


def _items(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    content = doc["collections"][name]
    if isinstance(content, dict) and "value" in content:
        items: list[dict[str, Any]] = content["value"]
        return items
    if isinstance(content, list):
        return content
    raise ValueError(f"{name} is a singleton; use 'set' or 'merge' with a mapping")


def apply_patch(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc.setdefault("errors", {})
    for name, content in (patch.get("set") or {}).items():
        doc["collections"][name] = copy.deepcopy(content)
    for name, items in (patch.get("merge") or {}).items():
        if isinstance(items, dict):  # singleton
            doc["collections"][name] = _merge(doc["collections"][name], items)
            continue
        current = _items(doc, name)
        key = "userId" if name == "authenticationMethods" else "id"
        for item in items:
            for index, existing in enumerate(current):
                if existing.get(key) == item.get(key):
                    current[index] = _merge(existing, item)
                    break
            else:
                current.append(copy.deepcopy(item))
    for name, ids in (patch.get("remove") or {}).items():
        key = "userId" if name == "authenticationMethods" else "id"
        current = _items(doc, name)
        current[:] = [item for item in current if item.get(key) not in set(ids)]
    for name in patch.get("delete") or ():
        doc["collections"].pop(name, None)
    for name, error in (patch.get("error") or {}).items():
        doc["collections"].pop(name, None)
        doc["errors"][name] = error
    if "config" in patch:
        doc["config"] = patch["config"]
    for key in ("collectedAt",):
        if key in patch:
            doc["manifest"][key] = patch[key]
    return doc


def write_snapshot(doc: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    collections: dict[str, Any] = {}
    for name, content in doc["collections"].items():
        spec = COLLECTIONS[name]
        path = out / spec.filename
        if spec.shape == "jsonl":
            lines = content if isinstance(content, list) else content.get("value", [])
            path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
        else:
            path.write_bytes(orjson.dumps(content))
        collections[name] = {"status": "ok"}
    for name, error in (doc.get("errors") or {}).items():
        collections[name] = {
            "status": "error",
            "error": error,
            "requiredPermission": COLLECTIONS[name].permission,
        }
    manifest = dict(doc["manifest"], collections=collections)
    (out / "manifest.json").write_bytes(orjson.dumps(manifest))
    if doc.get("config"):
        (out / "graphlattice.yaml").write_text(yaml.safe_dump(doc["config"]), encoding="utf-8")
    return out


def load_cases(risk_id: str) -> list[dict[str, Any]]:
    path = FIXTURES / risk_id / "cases.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = doc["cases"]
    return cases
