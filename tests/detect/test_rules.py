"""Every alerting rule of the pack against its fixture logs: expected matches and non-matches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphlattice.detect.pack import load_pack
from tests.detect.harness import FIXTURES, load_cases, run_case

PACK = load_pack()
REQUIRED_RULES = {
    "tap-bootstrapped-persistence",
    "tap-issued-to-privileged-user",
    "tap-issued-outside-hours",
    "tap-issued-without-ticket",
    "security-info-registered-without-mfa",
    "mfa-methods-reset-then-reregistered",
    "strong-auth-disabled",
    "tap-issuer-role-activated-without-approval",
}


def _cases() -> list[Any]:
    out = []
    for rule in PACK.alerting:
        if (FIXTURES / rule / "cases.yaml").exists():
            for case in load_cases(rule):
                out.append(pytest.param(rule, case, id=f"{rule}: {case['name']}"))
    return out


def test_the_pack_has_every_required_rule() -> None:
    assert set(PACK.alerting) >= REQUIRED_RULES


@pytest.mark.parametrize("rule", PACK.alerting)
def test_every_rule_has_fixtures_with_matches_and_non_matches(rule: str) -> None:
    path = FIXTURES / rule / "cases.yaml"
    assert path.exists(), f"rule {rule} has no fixture logs ({path})"
    cases = load_cases(rule)
    assert any(c.get("match") for c in cases), f"{rule}: no case with expected matches"
    assert any(c.get("no_match") for c in cases), f"{rule}: no case with expected non-matches"


def test_no_fixture_folder_without_a_rule() -> None:
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders <= set(PACK.alerting), folders - set(PACK.alerting)


@pytest.mark.parametrize(("rule", "case"), _cases())
def test_rule_on_fixture(rule: str, case: dict[str, Any], tmp_path: Path) -> None:
    matches = run_case(tmp_path, rule, case)
    evidence = {rid for m in matches for rid in m.record_ids}
    missing = [rid for rid in case.get("match", []) if rid not in evidence]
    unexpected = [rid for rid in case.get("no_match", []) if rid in evidence]
    assert not missing, f"expected matches not found: {missing} (evidence: {sorted(evidence)})"
    assert not unexpected, f"records matched that must not: {unexpected}"
    if "incidents" in case:
        assert len(matches) == case["incidents"]
