"""Roles and PIM: assignments, eligibility, activation with and without approval, expiry, role settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlattice.entra import roles as R
from graphlattice.errors import ActionDenied, RangeError
from graphlattice.range.engine import Range
from tests.range.engine_fixture import new_range, sign_in, upn


def _kinds(rng: Range, key: str, role: str) -> set[str]:
    return {g.kind for g in rng.tenant().grants_of(f"u-{key}") if g.role_id == role}


def test_assign_and_remove_a_role_with_records(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    result = rng.act(
        "assign-role", {"principal": upn("victim"), "role": "Helpdesk Administrator"}, actor=upn("pra")
    )
    assert _kinds(rng, "victim", R.HELPDESK_ADMINISTRATOR) == {"standing"}
    activities = [(r["loggedByService"], r["activityDisplayName"]) for r in result.records]
    assert activities == [
        ("PIM", "Add member to role outside of PIM (permanent)"),
        ("Core Directory", "Add member to role"),
    ]
    props = {
        p["displayName"]: p["newValue"] for p in result.records[1]["targetResources"][0]["modifiedProperties"]
    }
    assert props["Role.DisplayName"] == '"Helpdesk Administrator"'
    assert props["Role.TemplateId"] == f'"{R.HELPDESK_ADMINISTRATOR}"'
    with pytest.raises(RangeError, match="already holds"):
        rng.act(
            "assign-role", {"principal": upn("victim"), "role": R.HELPDESK_ADMINISTRATOR}, actor=upn("pra")
        )
    removed = rng.act(
        "remove-role", {"principal": upn("victim"), "role": "helpdesk administrator"}, actor=upn("pra")
    )
    assert [r["activityDisplayName"] for r in removed.records] == ["Remove member from role"]
    assert _kinds(rng, "victim", R.HELPDESK_ADMINISTRATOR) == set()


def test_standing_access_becomes_eligible_with_approval(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    admin = upn("admin")
    rng.act("remove-role", {"principal": upn("aa"), "role": "Authentication Administrator"}, actor=admin)
    with pytest.raises(ActionDenied, match="holds no role that can manage authentication methods"):
        rng.act("issue-tap", {"user": upn("victim")}, actor=upn("aa"))
    added = rng.act(
        "add-eligibility",
        {"principal": upn("aa"), "role": "Authentication Administrator", "approval": "true"},
        actor=admin,
    )
    assert [r["activityDisplayName"] for r in added.records] == [
        "Add eligible member to role in PIM completed (permanent)",
        "Add eligible member to role",
        "Update role setting in PIM",
    ]
    # The operator asks; nothing happens until someone approves.
    session = sign_in(rng, "aa", "authenticator", holder="attacker")["session"]
    pending = rng.act(
        "activate-role", {"role": "Authentication Administrator", "session": session}, actor=upn("aa")
    )
    assert pending.data["status"] == "PendingApproval"
    assert _kinds(rng, "aa", R.AUTHENTICATION_ADMINISTRATOR) == {"eligible"}
    with pytest.raises(ActionDenied, match="holds no role that can manage"):
        rng.act("issue-tap", {"user": upn("victim")}, actor=upn("aa"))
    with pytest.raises(ActionDenied, match="cannot approve their own"):
        rng.act("approve-activation", {"request": pending.data["request"]}, actor=upn("aa"))
    with pytest.raises(ActionDenied, match="lacks a role that may approve"):
        rng.act("approve-activation", {"request": pending.data["request"]}, actor=upn("reader"))
    approved = rng.act("approve-activation", {"request": pending.data["request"]}, actor=upn("pra"))
    assert [r["activityDisplayName"] for r in approved.records] == [
        "Add member to role request approved (PIM activation)",
        "Add member to role completed (PIM activation)",
        "Add member to role",
    ]
    assert approved.records[2]["initiatedBy"]["app"]["displayName"] == "MS-PIM"
    assert _kinds(rng, "aa", R.AUTHENTICATION_ADMINISTRATOR) == {"eligible", "activated"}
    rng.act("issue-tap", {"user": upn("victim")}, actor=upn("aa"))
    # Eight hours later (the default maximum) the activation lapses on its own.
    rng.act("advance-clock", {"minutes": str(8 * 60)})
    assert _kinds(rng, "aa", R.AUTHENTICATION_ADMINISTRATOR) == {"eligible"}
    expired = [r["activityDisplayName"] for r in rng.records("audit")[-2:]]
    assert expired == ["Remove member from role (PIM activation expired)", "Remove member from role"]
    with pytest.raises(ActionDenied):
        rng.act("issue-tap", {"user": upn("victim")}, actor=upn("aa"))


def test_activation_without_approval_and_mfa_rules(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    with pytest.raises(ActionDenied, match="requires multifactor authentication"):
        rng.act("activate-role", {"role": "Global Administrator"}, actor=upn("eligible_ga"))
    sign_in(rng, "eligible_ga", "authenticator")
    with pytest.raises(ActionDenied, match="exceeds the maximum of PT8H"):
        rng.act(
            "activate-role", {"role": "Global Administrator", "duration": "PT9H"}, actor=upn("eligible_ga")
        )
    done = rng.act(
        "activate-role", {"role": "Global Administrator", "duration": "PT1H"}, actor=upn("eligible_ga")
    )
    assert done.data["status"] == "Provisioned"
    assert _kinds(rng, "eligible_ga", R.GLOBAL_ADMINISTRATOR) == {"eligible", "activated"}
    with pytest.raises(ActionDenied, match="not eligible"):
        rng.act("activate-role", {"role": "Global Administrator"}, actor=upn("victim"))


def test_role_settings_change_with_a_pim_record(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    result = rng.act(
        "update-role-policy",
        {
            "role": "Global Administrator",
            "approval_required": "true",
            "max_duration": "PT4H",
            "approvers": upn("pra"),
        },
        actor=upn("pra"),
    )
    (record,) = result.records
    assert record["activityDisplayName"] == "Update role setting in PIM"
    rules = rng.tenant().activation_rules[R.GLOBAL_ADMINISTRATOR]
    assert rules.approval_required is True and rules.max_duration == "PT4H" and rules.mfa_required is True
    sign_in(rng, "eligible_ga", "authenticator")
    request = rng.act("activate-role", {"role": "Global Administrator"}, actor=upn("eligible_ga")).data[
        "request"
    ]
    with pytest.raises(ActionDenied, match="not a designated approver"):
        rng.act("approve-activation", {"request": request}, actor=upn("admin"))
    rng.act("approve-activation", {"request": request}, actor=upn("pra"))
