"""Documented exceptions: a YAML list of {risk, object?, rationale, owner, expires}.

A waiver covers one affected object (by id, UPN or display name) or, without ``object``, the whole finding.
It is applied only until its expiry date; after that the finding shows it as expired and counts again.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from graphlattice.checks.result import Finding
from graphlattice.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Waiver:
    risk: str
    object: str | None
    rationale: str
    owner: str
    expires: date
    line: int

    def expired(self, today: date) -> bool:
        return self.expires < today

    def to_json(self, state: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "state": state,
            "rationale": self.rationale,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }
        if self.object:
            out["object"] = self.object
        return out


class _LineLoader(yaml.SafeLoader):
    pass


def _mapping_with_line(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """An unquoted date YAML cannot build (``2027-02-30``) stays text, so the waiver check names its line."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return str(node.value)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def _unknown_risk(risk: str) -> str | None:
    """A complaint about a risk id the catalogue does not have, with the nearest id; None when it has it."""
    from graphlattice.checks.registry import load_catalog

    known = list(load_catalog())
    if risk in known:
        return None
    close = difflib.get_close_matches(risk, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else " ('graphlattice risks' lists them)"
    return f"waiver for unknown risk {risk!r}{hint}"


def load_waivers(path: str | Path) -> list[Waiver]:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(file), f"cannot read: {exc.strerror or exc}") from None
    try:
        doc: Any = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(str(file), "not valid YAML", mark.line + 1 if mark else None) from None
    if isinstance(doc, dict) and "waivers" in doc:
        doc = doc["waivers"]
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise ConfigError(str(file), "expected a list of waivers (or a 'waivers:' key holding one)", 1)
    out: list[Waiver] = []
    for entry in doc:
        if not isinstance(entry, dict):
            raise ConfigError(str(file), "each waiver must be a mapping", None)
        line = int(entry.get("__line__", 0)) or None
        for key in ("risk", "rationale", "owner", "expires"):
            if not entry.get(key):
                raise ConfigError(str(file), f"waiver needs '{key}'", line)
        expires = entry["expires"]
        if isinstance(expires, datetime):
            expires = expires.date()
        if not isinstance(expires, date):
            try:
                expires = date.fromisoformat(str(expires))
            except ValueError as exc:
                raise ConfigError(
                    str(file), f"expires {expires!r} is not a date (YYYY-MM-DD): {exc}", line
                ) from None
        problem = _unknown_risk(str(entry["risk"]))
        if problem:
            raise ConfigError(str(file), problem, line)
        obj = entry.get("object")
        out.append(
            Waiver(
                risk=str(entry["risk"]),
                object=str(obj) if obj else None,
                rationale=str(entry["rationale"]).strip(),
                owner=str(entry["owner"]),
                expires=expires,
                line=line or 0,
            )
        )
    return out


def _matches(waiver_object: str, affected_id: str, display: str, upn: str) -> bool:
    key = waiver_object.lower()
    return key in {affected_id.lower(), display.lower(), upn.lower()}


def apply_waivers(
    findings: list[Finding], waivers: list[Waiver], today: date, upn_of: dict[str, str]
) -> list[str]:
    """Mark waived objects and findings in place; return notes about waivers that matched nothing."""
    used: set[int] = set()
    for finding in findings:
        for index, waiver in enumerate(waivers):
            if waiver.risk != finding.risk:
                continue
            expired = waiver.expired(today)
            if waiver.object is None:
                used.add(index)
                finding.waiver = waiver.to_json("expired" if expired else "active")
                continue
            hit = False
            new_affected = []
            for item in finding.affected:
                if _matches(waiver.object, item.id, item.display_name, upn_of.get(item.id, "")):
                    hit = True
                    if not expired:
                        item = replace(item, waived_by=waiver.rationale)
                new_affected.append(item)
            if hit:
                used.add(index)
                finding.affected = new_affected
                if expired:
                    finding.waiver = waiver.to_json("expired")
        if finding.affected and finding.waiver is None and any(a.waived_by for a in finding.affected):
            state = "active" if all(a.waived_by for a in finding.affected) else "partial"
            finding.waiver = {"state": state, "objects": sum(1 for a in finding.affected if a.waived_by)}
    return [
        f"waiver for {w.risk}{' / ' + w.object if w.object else ''} (line {w.line}) matched no finding"
        for i, w in enumerate(waivers)
        if i not in used
    ]
