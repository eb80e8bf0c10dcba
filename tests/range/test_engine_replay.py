"""Determinism: same seed, same bytes; reset replays exactly; dry runs change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlattice.errors import ActionDenied
from graphlattice.range.engine import Range
from tests.range.engine_fixture import state, upn


def _prelude(rng: Range) -> None:
    rng.act("update-tap-policy", {"include_groups": "all_users"}, actor=upn("admin"))
    rng.act("advance-clock", {"to": "2026-11-14T01:47:12Z"})
    rng.act("issue-tap", {"user": upn("victim"), "lifetime_minutes": "480"}, actor=upn("aa"))
    rng.act("advance-clock", {"minutes": "20"})
    tap = rng.act(
        "sign-in", {"user": upn("victim"), "method": "tap", "holder": "attacker", "ip": "192.0.2.201"}
    ).data["session"]
    rng.act("register-method", {"session": tap, "kind": "passkey", "device_name": "iPhone 15 Pro"})
    with pytest.raises(ActionDenied):
        rng.act("issue-tap", {"user": upn("admin")}, actor=upn("aa"))
    rng.act("self-service-reset", {"user": upn("victim")})


def test_two_runs_with_one_seed_are_byte_identical(tmp_path: Path) -> None:
    one = Range.seeded(tmp_path / "one", state(seed=42), play=_prelude)
    two = Range.seeded(tmp_path / "two", state(seed=42), play=_prelude)
    assert one.peek().dumps() == two.peek().dumps()
    assert (one.state_dir / "state.json").read_bytes() == (two.state_dir / "state.json").read_bytes()
    other = Range.seeded(tmp_path / "other", state(seed=43), play=_prelude)
    assert other.peek().dumps() != one.peek().dumps()


def test_reset_re_seeds_and_replays_exactly(tmp_path: Path) -> None:
    rng = Range.seeded(tmp_path / "r", state(), play=_prelude)
    started = rng.peek().dumps()
    journal = rng.journal()
    rng.act("revoke-sessions", {"user": upn("victim")}, actor=upn("admin"))
    rng.act("advance-clock", {"minutes": "90"})
    rng.use_hint()
    rng.reset()
    assert rng.peek().dumps() == started
    assert rng.hints_used == 0
    assert rng.journal() == journal
    reopened = Range.open(rng.state_dir)
    assert reopened.peek().dumps() == started
    reopened.reset()
    assert reopened.peek().dumps() == started


def test_a_denied_action_keeps_only_its_failure_record(tmp_path: Path) -> None:
    rng = Range.seeded(tmp_path / "r", state())
    before = rng.peek()
    with pytest.raises(ActionDenied):
        rng.act("sign-in", {"user": upn("victim"), "method": "password", "holder": "attacker"})
    after = rng.peek()
    assert len(after.sign_ins) == len(before.sign_ins) + 1
    assert after.sign_ins[-1]["status"]["errorCode"] == 50126
    assert after.collections == before.collections
    assert after.sessions.keys() == before.sessions.keys()


def test_simulate_and_peek_change_nothing(tmp_path: Path) -> None:
    rng = Range.seeded(tmp_path / "r", state())
    before = (rng.state_dir / "state.json").read_bytes()
    result = rng.simulate("issue-tap", {"user": upn("victim")}, actor=upn("aa"))
    assert result.data["code"]
    with pytest.raises(ActionDenied):
        rng.simulate("issue-tap", {"user": upn("admin")}, actor=upn("aa"))
    copy = rng.peek()
    copy.collections["users"].clear()
    assert (rng.state_dir / "state.json").read_bytes() == before
    assert rng.tenant().users
    assert rng.journal() == []
