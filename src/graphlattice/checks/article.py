"""Risk articles: Markdown with YAML front matter, one per risk folder, validated with file:line errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from graphlattice.checks.result import Severity
from graphlattice.errors import CatalogError
from graphlattice.tenant.collections import COLLECTIONS

SECTIONS: tuple[str, ...] = (
    "Why it matters",
    "What abuse looks like",
    "When it is expected or acceptable",
    "Checks before taking action",
    "Safe remediation steps",
    "Related risks and follow-on checks",
)

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_ATTACK = re.compile(r"^T\d{4}(\.\d{3})?$")
_REQUIRED = ("id", "title", "severity", "attack", "related", "requires")


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    severity: Severity
    attack: tuple[str, ...]
    related: tuple[str, ...]
    requires: tuple[str, ...]
    optional: tuple[str, ...]
    sections: dict[str, str]
    body: str
    path: Path

    @property
    def permissions(self) -> tuple[str, ...]:
        seen: list[str] = []
        for name in (*self.requires, *self.optional):
            perm = COLLECTIONS[name].permission
            if perm not in seen:
                seen.append(perm)
        return tuple(seen)


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def parse_article(path: Path) -> Article:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise CatalogError(str(path), "an article starts with a '---' front-matter block", 1)
    end = text.find("\n---\n", 4)
    if end < 0:
        raise CatalogError(str(path), "front matter is not closed with '---'", 1)
    try:
        meta: Any = yaml.safe_load(text[4:end])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogError(
            str(path), f"front matter is not YAML: {exc}", mark.line + 2 if mark else None
        ) from None
    if not isinstance(meta, dict):
        raise CatalogError(str(path), "front matter must be a mapping", 2)
    for key in _REQUIRED:
        if key not in meta:
            raise CatalogError(str(path), f"front matter lacks '{key}'", 2)

    def where(key: str) -> int | None:
        return _line_of(text[:end], f"{key}:")

    risk_id = str(meta["id"])
    if not _ID.match(risk_id):
        raise CatalogError(str(path), f"id {risk_id!r} must be lower-case words joined by '-'", where("id"))
    try:
        severity = Severity.parse(str(meta["severity"]))
    except ValueError as exc:
        raise CatalogError(str(path), str(exc), where("severity")) from None
    attack = tuple(str(t) for t in meta.get("attack") or ())
    for tech in attack:
        if not _ATTACK.match(tech):
            raise CatalogError(
                str(path), f"{tech!r} is not an ATT&CK technique id (T1234 or T1234.001)", where("attack")
            )
    requires = tuple(str(c) for c in meta.get("requires") or ())
    optional = tuple(str(c) for c in meta.get("optional") or ())
    for name in (*requires, *optional):
        if name not in COLLECTIONS:
            raise CatalogError(str(path), f"unknown collection {name!r}", _line_of(text[:end], name))

    body = text[end + 5 :]
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in body.splitlines():
        if line.startswith("## "):
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current = line[3:].strip()
            lines = []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    for name in SECTIONS:
        if not sections.get(name):
            raise CatalogError(str(path), f"article lacks the section '## {name}' (or it is empty)")
    return Article(
        id=risk_id,
        title=str(meta["title"]),
        severity=severity,
        attack=attack,
        related=tuple(str(r) for r in meta.get("related") or ()),
        requires=requires,
        optional=optional,
        sections=sections,
        body=body.strip(),
        path=path,
    )
