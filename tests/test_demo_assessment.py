"""The demo tenant, assessed end to end: every risk shows up, planted objects are found, clean ones pass."""

from __future__ import annotations

import pytest

from graphlattice.assess import run_assessment
from graphlattice.checks.engine import Assessment
from graphlattice.demo import DemoSummary, generate_demo
from tests.checks.test_catalog import EXPECTED_RISKS


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, Assessment]:
    summary = generate_demo(tmp_path_factory.mktemp("demo") / "snap", users=400, seed=7)
    return summary, run_assessment(summary.out_dir).assessment


def test_every_catalogue_risk_fails_on_the_demo(demo: tuple[DemoSummary, Assessment]) -> None:
    _, assessment = demo
    failing = {f.risk for f in assessment.findings if f.status.value == "FAIL"}
    assert failing >= EXPECTED_RISKS, sorted(EXPECTED_RISKS - failing)
    assert not [f.key for f in assessment.findings if f.status.value == "UNKNOWN"]


@pytest.mark.parametrize("risk", sorted(EXPECTED_RISKS))
def test_planted_objects_are_reported(demo: tuple[DemoSummary, Assessment], risk: str) -> None:
    summary, assessment = demo
    planted = {p.lower() for p in summary.planted.get(risk, ())}
    reported = {a.id.lower() for f in assessment.findings if f.risk == risk for a in f.affected}
    reported |= {a.display_name.lower() for f in assessment.findings if f.risk == risk for a in f.affected}
    assert planted, f"the demo plants nothing for {risk}"
    assert planted & reported, f"{risk}: none of {sorted(planted)[:5]} reported"


def test_the_eligible_with_approval_issuer_passes(demo: tuple[DemoSummary, Assessment]) -> None:
    _, assessment = demo
    affected = {
        a.display_name
        for f in assessment.findings
        if f.risk == "tap-issuers-standing-access"
        for a in f.affected
        if f.status.value == "FAIL"
    }
    assert "Jordan Pike" in affected
    assert "Avery Lindqvist" not in affected


def test_declared_break_glass_passes_inferred_weak_one_fails(demo: tuple[DemoSummary, Assessment]) -> None:
    _, assessment = demo
    failing = {
        a.display_name
        for f in assessment.findings
        if f.risk == "break-glass-accounts" and f.status.value == "FAIL"
        for a in f.affected
    }
    assert "Emergency Access 2" in failing
    assert "Emergency Access 1" not in failing
