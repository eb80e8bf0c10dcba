"""The verifier: read-only, foothold by foothold, root cause apart from containment, collateral and score."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlattice.range.engine import Range
from graphlattice.range.scenario import load_scenario
from graphlattice.range.score import score
from graphlattice.range.store import JOURNAL_FILE, SEED_FILE, STATE_FILE
from graphlattice.range.verify import verify

FILES = (STATE_FILE, JOURNAL_FILE, SEED_FILE)


@pytest.fixture
def tap_range(tmp_path: Path) -> Range:
    return Range.start(tmp_path / "range", load_scenario("tap-persistence"))


def planted(rng: Range) -> list[str]:
    """Method ids on the victim's account whose device the attacker holds."""
    state = rng.peek()
    victim = state.user_id(rng.scenario.victim_upn)
    ids = {str(m["id"]).casefold(): str(m["id"]) for m in state.methods_of(victim)}
    return [ids[mid] for mid, holder in state.secrets.devices.items() if holder == "attacker" and mid in ids]


def test_verify_changes_nothing(tap_range: Range) -> None:
    folder = tap_range.state_dir
    before = {name: (folder / name).read_bytes() for name in FILES}
    audits, sign_ins = len(tap_range.records("audit")), len(tap_range.records("signin"))
    first = verify(tap_range).to_json()
    second = verify(tap_range).to_json()
    assert first == second
    assert {name: (folder / name).read_bytes() for name in FILES} == before
    assert (len(tap_range.records("audit")), len(tap_range.records("signin"))) == (audits, sign_ins)
    # a new process sees exactly the same range
    reopened = Range.open(folder)
    assert reopened.peek().dumps() == tap_range.peek().dumps()


def test_fresh_range_attacker_is_in_everywhere(tap_range: Range) -> None:
    verdict = verify(tap_range).to_json()
    assert set(verdict) == {"contained", "footholds", "rootCause", "collateral", "score"}
    assert verdict["contained"] is False
    assert [f["id"] for f in verdict["footholds"]] == [
        "attacker-sessions",
        "attacker-authenticator",
        "attacker-passkey",
        "live-pass",
    ]
    assert all(f["attackerStillIn"] for f in verdict["footholds"])
    assert all(set(f) == {"id", "description", "attackerStillIn"} for f in verdict["footholds"])
    assert [(r["id"], r["fixed"]) for r in verdict["rootCause"]] == [
        ("tap-policy-weak", False),
        ("tap-issuance-unscoped", False),
        ("tap-issuers-standing-access", False),
        ("operator-can-issue-tap", False),
    ]
    assert "Lukas Brandt" in verdict["rootCause"][2]["detail"]
    assert verdict["collateral"] == []
    assert verdict["score"] == 0


def test_each_foothold_closes_on_its_own(tap_range: Range) -> None:
    scenario = tap_range.scenario
    admin, victim = scenario.defender_upn, scenario.victim_upn
    tap_range.act("delete-tap", {"user": victim}, actor=admin)
    held = {f.id: f.attacker_still_in for f in verify(tap_range).footholds}
    assert held == {
        "attacker-sessions": True,
        "attacker-authenticator": True,
        "attacker-passkey": True,
        "live-pass": False,
    }
    tap_range.act("revoke-sessions", {"user": victim}, actor=admin)
    held = {f.id: f.attacker_still_in for f in verify(tap_range).footholds}
    assert held["attacker-sessions"] is False and held["attacker-passkey"] is True
    verdict = verify(tap_range)
    assert verdict.score == 30  # two of four 15-point footholds closed
    assert not verdict.contained


def test_root_cause_is_scored_apart_from_containment(tap_range: Range) -> None:
    scenario = tap_range.scenario
    admin = scenario.defender_upn
    operator = scenario.operator_upn
    assert operator is not None
    tap_range.act("remove-role", {"principal": operator, "role": "Authentication Administrator"}, actor=admin)
    tap_range.act(
        "add-eligibility",
        {"principal": operator, "role": "Authentication Administrator", "approval": "true"},
        actor=admin,
    )
    verdict = verify(tap_range)
    fixed = {r.id: r.fixed for r in verdict.root_cause}
    assert fixed["tap-issuers-standing-access"] and fixed["operator-can-issue-tap"]
    assert not fixed["tap-policy-weak"]
    assert not verdict.contained  # the attacker's methods and pass are untouched
    assert verdict.score == 20


def test_deleting_the_victims_own_methods_is_collateral(tap_range: Range) -> None:
    scenario = tap_range.scenario
    admin, victim = scenario.defender_upn, scenario.victim_upn
    own = scenario.victim_method_ids()
    assert sorted(own.values()) == ["Microsoft Authenticator (Galaxy S23)", "Mobile phone (+49 151 23456789)"]
    for method in [*planted(tap_range), *own]:
        tap_range.act("delete-method", {"user": victim, "method": method}, actor=admin)
    tap_range.act("delete-tap", {"user": victim}, actor=admin)
    tap_range.act("revoke-sessions", {"user": victim}, actor=admin)
    verdict = verify(tap_range)
    assert verdict.contained
    assert sorted(c.kind for c in verdict.collateral) == ["method-deleted", "method-deleted"]
    assert {c.id for c in verdict.collateral} == set(own)
    assert verdict.score == 60 - 2 * scenario.collateral_penalty


def test_disabling_the_victim_is_collateral(tap_range: Range) -> None:
    scenario = tap_range.scenario
    tap_range.act("disable-user", {"user": scenario.victim_upn}, actor=scenario.defender_upn)
    verdict = verify(tap_range)
    assert [c.kind for c in verdict.collateral] == ["account-disabled"]
    assert verdict.contained  # nobody signs in to a disabled account, but it cost the victim their job


def test_hints_cost_points(tap_range: Range) -> None:
    scenario = tap_range.scenario
    for method in planted(tap_range):
        tap_range.act(
            "delete-method", {"user": scenario.victim_upn, "method": method}, actor=scenario.defender_upn
        )
    assert verify(tap_range).score == 30
    tap_range.use_hint()
    tap_range.use_hint()
    assert verify(tap_range).score == 30 - scenario.hints[0].cost - scenario.hints[1].cost


def test_score_never_below_zero() -> None:
    sheet = score([(50, True)], [(50, False)], hint_costs=[5, 10], collateral_items=2, collateral_penalty=15)
    assert sheet.total == 0
    sheet = score(
        [(30, False), (30, True)], [(40, True)], hint_costs=[5], collateral_items=1, collateral_penalty=15
    )
    assert (sheet.containment, sheet.root_cause, sheet.hints, sheet.collateral, sheet.total) == (
        30,
        40,
        5,
        15,
        50,
    )


def test_registration_gate_root_cause_ignores_the_attackers_authenticator(tmp_path: Path) -> None:
    rng = Range.start(tmp_path / "gate", load_scenario("registration-gate-bypass"))
    verdict = verify(rng)
    by_id = {r.id: r for r in verdict.root_cause}
    # Tom "has" an Authenticator, but it is the intruder's: he still has no MFA of his own.
    assert by_id["users-without-mfa"].fixed is False
    assert "Tom Verbeek" in by_id["users-without-mfa"].detail
    assert by_id["mfa-registration-gate"].fixed is False
    assert "report-only" in by_id["mfa-registration-gate"].detail
