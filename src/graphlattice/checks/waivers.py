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

from graphlattice.checks.result import Finding
from graphlattice.errors import ConfigError
from graphlattice.files import WAIVERS
from graphlattice.safeyaml import Node, load_yaml


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


def _unknown_risk(risk: str) -> str | None:
    """A complaint about a risk id the catalogue does not have, with the nearest id; None when it has it."""
    from graphlattice.checks.registry import load_catalog

    known = list(load_catalog())
    if risk in known:
        return None
    close = difflib.get_close_matches(risk, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else " ('graphlattice risks' lists them)"
    return f"waiver for unknown risk {risk!r}{hint}"


def _expiry(value: object) -> date | None:
    """A waiver's ``expires``: a date, or a date-time whose date counts; None when it is neither."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00")).date()
    except ValueError:
        return None


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read a waivers file (a regular file of at most 16 MiB, through the safe YAML reader)."""
    file = Path(path)
    doc: Any = load_yaml(file, WAIVERS, ConfigError)
    if isinstance(doc, Node) and "waivers" in doc:
        doc = doc["waivers"]
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise ConfigError(str(file), "expected a list of waivers (or a 'waivers:' key holding one)", 1)
    out: list[Waiver] = []
    for entry in doc:
        if not isinstance(entry, Node):
            raise ConfigError(str(file), "each waiver must be a mapping", getattr(doc, "line", None))
        line = entry.line
        for key in ("risk", "rationale", "owner", "expires"):
            if not entry.get(key):
                raise ConfigError(str(file), f"waiver needs '{key}'", line)
        for key in ("risk", "rationale", "owner", "object"):
            if isinstance(entry.get(key), (dict, list)):
                raise ConfigError(str(file), f"'{key}' of a waiver must be text", entry.line_of(key))
        expires = _expiry(entry["expires"])
        if expires is None:
            shown = entry["expires"] if isinstance(entry["expires"], str) else type(entry["expires"]).__name__
            raise ConfigError(
                str(file),
                f"expires {shown!r} is not a date that exists (YYYY-MM-DD)",
                entry.line_of("expires"),
            )
        problem = _unknown_risk(str(entry["risk"]))
        if problem:
            raise ConfigError(str(file), problem, entry.line_of("risk"))
        obj = entry.get("object")
        out.append(
            Waiver(
                risk=str(entry["risk"]),
                object=str(obj) if obj else None,
                rationale=str(entry["rationale"]).strip(),
                owner=str(entry["owner"]),
                expires=expires,
                line=line,
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
