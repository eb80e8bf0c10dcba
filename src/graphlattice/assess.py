"""Assess a snapshot folder end to end: load, read settings and waivers, run the catalogue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from graphlattice.checks.config import AssessConfig, load_config
from graphlattice.checks.engine import Assessment, assess
from graphlattice.checks.registry import get_risk
from graphlattice.checks.waivers import load_waivers
from graphlattice.tenant.snapshot import load_snapshot


@dataclass(slots=True)
class AssessRun:
    assessment: Assessment
    config_note: str | None = None
    extra_notes: list[str] = field(default_factory=list)

    def notes_for_user(self) -> list[str]:
        notes = [self.config_note] if self.config_note else []
        notes.extend(self.assessment.tenant.warnings)
        notes.extend(self.assessment.notes)
        notes.extend(self.extra_notes)
        return notes


def run_assessment(
    snapshot: str | Path,
    *,
    config_path: str | Path | None = None,
    waivers_path: str | Path | None = None,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> AssessRun:
    if only:
        only = [get_risk(risk_id).id for risk_id in only]
    config = load_config(config_path) if config_path else None
    waivers = load_waivers(waivers_path) if waivers_path else None
    tenant = load_snapshot(
        snapshot, progress=(lambda name: progress(f"loading {name}")) if progress else None
    )
    note = None
    if config is None:
        if tenant.config_path:
            config = load_config(tenant.config_path)
            note = f"using settings from {tenant.config_path}"
        else:
            config = AssessConfig()
    assessment = assess(tenant, config, only=only, waivers=waivers, progress=progress)
    return AssessRun(assessment=assessment, config_note=note)
