"""The action registry the command line and scenario validation read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from graphlattice.errors import RangeError
from graphlattice.range.actions import ACTIONS, format_duration, parse_duration, parse_params

CONTRACT = {
    "sign-in", "issue-tap", "delete-tap", "register-method", "delete-method", "revoke-sessions",
    "reset-password", "self-service-reset", "change-password", "assign-role", "remove-role",
    "add-eligibility", "remove-eligibility", "activate-role", "approve-activation", "update-role-policy",
    "update-tap-policy", "create-ca-policy", "update-ca-policy", "advance-clock",
}  # fmt: skip


def test_every_contract_action_is_registered_and_described() -> None:
    assert set(ACTIONS) >= CONTRACT
    for name, spec in ACTIONS.items():
        assert spec.name == name and spec.help
        assert all(p.help for p in spec.params), name
        assert len({p.name for p in spec.params}) == len(spec.params), name


def test_parameters_are_checked_and_converted() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    spec = ACTIONS["issue-tap"]
    parsed = parse_params(
        spec, {"user": "a@b", "lifetime_minutes": "90", "usable_once": "yes", "start": "+15"}, now
    )
    assert parsed == {
        "user": "a@b",
        "lifetime_minutes": 90,
        "usable_once": True,
        "start": now + timedelta(minutes=15),
    }
    assert (
        parse_params(spec, {"user": "a@b", "lifetime_minutes": 90, "usable_once": False}, now)["usable_once"]
        is False
    )
    with pytest.raises(RangeError, match="missing required parameter user"):
        parse_params(spec, {}, now)
    with pytest.raises(RangeError, match="must be one of"):
        parse_params(ACTIONS["sign-in"], {"user": "a", "method": "pigeon"}, now)
    with pytest.raises(RangeError, match="true or false"):
        parse_params(spec, {"user": "a", "usable_once": "perhaps"}, now)
    lists = parse_params(ACTIONS["update-tap-policy"], {"include_groups": "g1, g2"}, now)
    assert lists == {"include_groups": ["g1", "g2"]}


def test_durations_read_and_write_like_pim() -> None:
    assert parse_duration("PT8H") == timedelta(hours=8)
    assert parse_duration("P1DT30M") == timedelta(days=1, minutes=30)
    assert parse_duration("4") == timedelta(hours=4)
    assert format_duration(timedelta(hours=4)) == "PT4H"
    assert format_duration(timedelta(days=365)) == "P365D"
    with pytest.raises(RangeError, match="ISO 8601 duration"):
        parse_duration("eight hours")
