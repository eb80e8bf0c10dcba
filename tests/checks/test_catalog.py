"""Every risk: consistent folder/article/registration, and fixtures with PASS, FAIL and UNKNOWN cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphlattice.checks.config import AssessConfig, load_config
from graphlattice.checks.engine import assess
from graphlattice.checks.registry import load_catalog
from graphlattice.checks.result import Finding
from graphlattice.tenant.snapshot import load_snapshot
from tests.checks.builder import FIXTURES, apply_patch, base_document, load_cases, write_snapshot

RISKS = sorted(load_catalog())
EXPECTED_RISKS = {
    "mfa-registration-gate",
    "tap-policy-weak",
    "tap-issuance-unscoped",
    "tap-issuers-standing-access",
    "tap-active-passes",
    "users-without-mfa",
    "admins-risky-mfa",
    "users-risky-mfa",
    "ca-mfa-bypass-paths",
    "break-glass-accounts",
    "ca-report-only-never-enforced",
}


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for risk in RISKS:
        if (FIXTURES / risk / "cases.yaml").exists():
            out.extend((risk, case) for case in load_cases(risk))
    return out


def _run(tmp_path: Path, risk: str, patch: dict[str, Any]) -> list[Finding]:
    snap = write_snapshot(apply_patch(base_document(), patch), tmp_path / "snap")
    tenant = load_snapshot(snap)
    config = load_config(tenant.config_path) if tenant.config_path else AssessConfig()
    return assess(tenant, config, only=[risk]).findings


def test_catalogue_has_every_required_risk() -> None:
    assert set(RISKS) >= EXPECTED_RISKS


@pytest.mark.parametrize("risk", RISKS)
def test_every_risk_has_pass_fail_and_unknown_fixtures(risk: str) -> None:
    path = FIXTURES / risk / "cases.yaml"
    assert path.exists(), f"{risk} has no fixture file {path}"
    expected = {case["expect"] for case in load_cases(risk) if not case.get("variant")}
    assert {"PASS", "FAIL", "UNKNOWN"} <= expected, f"{risk} fixtures cover only {sorted(expected)}"


@pytest.mark.parametrize("risk", RISKS)
def test_base_tenant_passes(tmp_path: Path, risk: str) -> None:
    findings = _run(tmp_path, risk, {})
    assert [(f.key, f.status.value) for f in findings if f.status.value != "PASS"] == []


@pytest.mark.parametrize(("risk", "case"), _cases(), ids=lambda v: v["name"] if isinstance(v, dict) else v)
def test_fixture_case(tmp_path: Path, risk: str, case: dict[str, Any]) -> None:
    findings = _run(tmp_path, risk, case.get("patch") or {})
    variant = case.get("variant")
    chosen = [f for f in findings if f.variant == variant]
    if case["expect"] == "ABSENT":
        assert chosen == [], f"unexpected finding {variant}"
        return
    assert len(chosen) == 1, f"expected one finding with variant {variant!r}, got {[f.key for f in findings]}"
    finding = chosen[0]
    assert finding.status.value == case["expect"], finding.summary
    if "affected" in case:
        assert sorted(a.id.lower() for a in finding.affected) == sorted(
            str(x).lower() for x in case["affected"]
        )
    for text in case.get("reasons_contain") or ():
        assert any(text.lower() in r.lower() for r in finding.reasons), (text, finding.reasons)
    for text in case.get("summary_contains") or ():
        assert text.lower() in finding.summary.lower(), (text, finding.summary)
    if "severity" in case:
        assert finding.severity.value == case["severity"]
    for question_part, answer_part in (case.get("precheck") or {}).items():
        match = [p for p in finding.prechecks if question_part.lower() in p.question.lower()]
        assert match, (question_part, [p.question for p in finding.prechecks])
        assert str(answer_part).lower() in match[0].answer.lower(), (answer_part, match[0].answer)
    if case["expect"] == "UNKNOWN":
        assert finding.grant or finding.reasons, "UNKNOWN must say why"
    if "evidence" in case:
        for key, value in case["evidence"].items():
            assert finding.evidence.get(key) == value, (key, finding.evidence.get(key))
