"""Run one rule of the pack over a fixture case: logs written as real files, ingested, enriched, matched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from graphlattice.detect.engine import Match, run_rule
from graphlattice.detect.enrich import PrivilegedUsers, enrich
from graphlattice.detect.ingest import ingest_files
from graphlattice.detect.pack import load_pack
from graphlattice.detect.settings import DetectSettings, Ticket, parse_since, parse_working_hours
from graphlattice.detect.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


def sigmahq_dir() -> Path:
    """SigmaHQ's Azure rules (test data kept outside the project): $GRAPHLATTICE_SIGMAHQ_DIR, else
    ``shared/data/sigmahq-azure`` beside any folder above this checkout."""
    if os.environ.get("GRAPHLATTICE_SIGMAHQ_DIR"):
        return Path(os.environ["GRAPHLATTICE_SIGMAHQ_DIR"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "sigmahq-azure"
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[3] / "shared/data/sigmahq-azure"


def load_cases(rule: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((FIXTURES / rule / "cases.yaml").read_text(encoding="utf-8"))
    assert doc["rule"] == rule, f"{rule}/cases.yaml names rule {doc['rule']!r}"
    return list(doc["cases"])


def flatten(records: list[Any]) -> list[dict[str, Any]]:
    """Cases may list a shared YAML anchor holding several records as one item."""
    out: list[dict[str, Any]] = []
    for item in records:
        out.extend(flatten(item) if isinstance(item, list) else [item])
    return out


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in flatten(records)))
    return path


def case_settings(case: dict[str, Any]) -> DetectSettings:
    raw = dict(case.get("settings") or {})
    kwargs: dict[str, Any] = {}
    if "working_hours" in raw:
        kwargs["working_start"], kwargs["working_end"] = parse_working_hours(raw.pop("working_hours"))
    if "since" in raw:
        kwargs["since"] = parse_since(raw.pop("since"))
    for key in ("timezone", "window_minutes", "lookback_days", "session_minutes", "tap_signin_minutes"):
        if key in raw:
            kwargs[key] = raw.pop(key)
    raw.pop("privileged_users", None)
    raw.pop("tickets", None)
    assert not raw, f"unknown settings in case {case['name']!r}: {sorted(raw)}"
    return DetectSettings(**kwargs)


@dataclass(frozen=True)
class CaseInputs:
    """A case's logs written as files, and what its enrichment is given."""

    files: list[Path]
    settings: DetectSettings
    privileged: PrivilegedUsers
    tickets: list[Ticket] | None


def case_inputs(tmp: Path, case: dict[str, Any]) -> CaseInputs:
    tmp.mkdir(parents=True, exist_ok=True)
    files = []
    if case.get("audits"):
        files.append(write_jsonl(tmp / "directoryAudits.jsonl", case["audits"]))
    if case.get("signins"):
        files.append(write_jsonl(tmp / "signIns.jsonl", case["signins"]))
    raw = case.get("settings") or {}
    privileged = (
        PrivilegedUsers(frozenset(u.lower() for u in raw["privileged_users"]), "fixture")
        if "privileged_users" in raw
        else PrivilegedUsers(None, "audit records")
    )
    tickets = (
        [Ticket(t["ticket"], t["user"].lower(), parse_since(t["time"])) for t in raw["tickets"]]
        if "tickets" in raw
        else None
    )
    return CaseInputs(files, case_settings(case), privileged, tickets)


@contextmanager
def case_store(tmp: Path, case: dict[str, Any]) -> Iterator[tuple[Store, DetectSettings]]:
    """A fresh store holding the case's logs, ingested and enriched with the case's settings."""
    inputs = case_inputs(tmp, case)
    with Store() as store:
        ingest_files(store, inputs.files)
        enrich(store, inputs.settings, inputs.privileged, inputs.tickets)
        yield store, inputs.settings


def run_case(tmp: Path, rule: str, case: dict[str, Any]) -> list[Match]:
    """Every match of ``rule`` on the case's logs."""
    with case_store(tmp, case) as (store, settings):
        return run_rule(store, load_pack()[rule], settings)
