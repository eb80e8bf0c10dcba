"""Honest answers over incomplete data: one coverage rule for every risk, and UNKNOWNs that name their cause.

Real snapshot folders, loaded and assessed as ``graphlattice assess`` does. The rule (README, "Results"):
a FAIL found among what was covered stays FAIL and says what was not covered; a PASS or NOT_APPLICABLE over
incomplete coverage is UNKNOWN; partial data (a page left with ``@odata.nextLink``) is UNKNOWN.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from graphlattice.checks.engine import assess
from graphlattice.checks.registry import load_catalog
from graphlattice.checks.result import Finding, Status
from graphlattice.tenant.snapshot import load_snapshot
from tests.checks.builder import apply_patch, base_document, write_snapshot
from tests.tenant.test_incomplete_data import (
    APP_AND_GROUP_HOLDERS,
    DOCUMENTED_USERS,
    NEXT_LINK,
    ORPHAN_ASSIGNMENTS,
)

GA = "62e90394-69f5-4237-9190-012177145e10"
ORPHAN = "f1847572-48aa-47aa-96a3-2ec61904f41f"


def _assess(tmp_path: Path, patch: dict[str, Any], only: list[str] | None = None) -> dict[str, Finding]:
    tenant = load_snapshot(write_snapshot(apply_patch(base_document(), patch), tmp_path / "snap"))
    return {f.key: f for f in assess(tenant, only=only).findings}


# ---- role holders that resolve to nothing ------------------------------------------------------------------


def test_only_admin_unresolved_is_unknown_not_not_applicable(tmp_path: Path) -> None:
    """users.json cut short: the only privileged holder is in no collection."""
    patch = {
        "set": {"roleAssignments": {"value": ORPHAN_ASSIGNMENTS}, "roleEligibilitySchedules": {"value": []}},
        "delete": ["roleAssignmentScheduleInstances"],
    }
    found = _assess(tmp_path, patch, ["admins-risky-mfa"])
    for key in ("admins-risky-mfa", "admins-risky-mfa/no-phishing-resistant"):
        finding = found[key]
        assert finding.status is Status.UNKNOWN, finding.summary
        assert finding.to_json()["cause"] == "coverage"
        assert ORPHAN in finding.summary and "users.json may be incomplete" in finding.summary


def test_unresolved_admin_beside_clean_admins_is_unknown_not_pass(tmp_path: Path) -> None:
    found = _assess(tmp_path, {"merge": {"roleAssignments": ORPHAN_ASSIGNMENTS}}, ["admins-risky-mfa"])
    finding = found["admins-risky-mfa"]
    assert finding.status is Status.UNKNOWN and ORPHAN in finding.summary
    assert finding.evidence["unresolvedPrincipals"] == [ORPHAN]


def test_unreadable_service_principals_leave_an_app_admin_unresolved(tmp_path: Path) -> None:
    patch = {
        "error": {"servicePrincipals": "403 Authorization_RequestDenied"},
        "merge": {
            "roleAssignments": [
                {"id": "ra-app", "principalId": "sp-ops", "roleDefinitionId": GA, "directoryScopeId": "/"}
            ]
        },
    }
    finding = _assess(tmp_path, patch, ["admins-risky-mfa"])["admins-risky-mfa"]
    assert finding.status is Status.UNKNOWN
    assert "sp-ops" in finding.summary and "servicePrincipals could not be read" in finding.summary
    assert "Application.Read.All" in finding.grant


def test_assess_and_detect_share_who_is_privileged(tmp_path: Path) -> None:
    """Roles held by a user, a role-assignable group, an application and an unresolved id."""
    patch = copy.deepcopy(APP_AND_GROUP_HOLDERS)
    patch["merge"]["roleAssignments"] += ORPHAN_ASSIGNMENTS
    from graphlattice.detect.run import _privileged
    from graphlattice.entra.privileged import privileged_holders

    snap = write_snapshot(apply_patch(base_document(), patch), tmp_path / "snap")
    tenant = load_snapshot(snap)
    holders = privileged_holders(tenant)
    assert set(holders.users) == {"u-bg1", "u-admin", "u-helpdesk"}  # the group's member, not the group
    assert set(holders.service_principals) == {"sp-ops"} and set(holders.unresolved) == {ORPHAN}
    finding = {f.key: f for f in assess(tenant, only=["admins-risky-mfa"]).findings}["admins-risky-mfa"]
    assert finding.evidence["privilegedUsers"] == len(holders.users)

    detected = _privileged(snap, lambda _message: None)
    assert detected.user_ids == frozenset(holders.users) | {ORPHAN}
    assert "1 of them in no collection" in detected.source


# ---- users.json without accountEnabled / userType ----------------------------------------------------------


@pytest.mark.parametrize("risk", ["users-without-mfa", "users-risky-mfa"])
def test_documented_users_without_select_make_member_risks_unknown(tmp_path: Path, risk: str) -> None:
    finding = _assess(tmp_path, {"set": {"users": DOCUMENTED_USERS}}, [risk])[risk]
    assert finding.status is Status.UNKNOWN, finding.summary
    assert finding.cause is not None and finding.cause.value == "coverage"
    assert "no accountEnabled or userType" in finding.summary
    assert "$select=id,displayName,userPrincipalName,userType,accountEnabled" in finding.summary


def test_a_failing_member_stays_failing_when_others_lack_account_state(tmp_path: Path) -> None:
    patch = {
        "merge": {
            "users": [
                {"id": "u-carol", "displayName": "Carol New", "userPrincipalName": "carol@fixture.example"},
                {
                    "id": "u-dan",
                    "displayName": "Dan Password",
                    "userPrincipalName": "dan@fixture.example",
                    "userType": "Member",
                    "accountEnabled": True,
                },
            ],
            "authenticationMethods": [
                {
                    "userId": "u-dan",
                    "value": [{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "pw"}],
                }
            ],
        }
    }
    finding = _assess(tmp_path, patch, ["users-without-mfa"])["users-without-mfa"]
    assert finding.status is Status.FAIL and [a.id for a in finding.affected] == ["u-dan"]
    assert "Not covered: 1 user cannot be told enabled or disabled" in finding.summary
    assert any("Carol New" in r for r in finding.reasons)


def test_break_glass_sync_state_unknown_is_not_cloud_only(tmp_path: Path) -> None:
    users = base_document()["collections"]["users"]["value"]
    plain = [{k: v for k, v in u.items() if k != "onPremisesSyncEnabled"} for u in users]
    finding = _assess(tmp_path, {"set": {"users": {"value": plain}}}, ["break-glass-accounts"])[
        "break-glass-accounts"
    ]
    assert finding.status is Status.UNKNOWN, finding.summary
    assert any("cloud-only not verified" in r and "onPremisesSyncEnabled" in r for r in finding.reasons)


# ---- one rule for partial coverage ------------------------------------------------------------------------


def test_the_same_gap_gives_the_same_answer_in_every_risk(tmp_path: Path) -> None:
    """A member in neither method source: users-without-mfa used to PASS while tap-active-passes said
    UNKNOWN for the very same gap."""
    patch = {
        "merge": {
            "users": [
                {
                    "id": "u-carol",
                    "displayName": "Carol New",
                    "userPrincipalName": "carol@fixture.example",
                    "userType": "Member",
                    "accountEnabled": True,
                    "onPremisesSyncEnabled": None,
                }
            ]
        }
    }
    found = _assess(tmp_path, patch, ["users-without-mfa", "users-risky-mfa", "tap-active-passes"])
    for key in ("users-without-mfa", "users-risky-mfa", "tap-active-passes"):
        assert found[key].status is Status.UNKNOWN, (key, found[key].summary)
        assert found[key].to_json()["cause"] == "coverage", key
        assert (
            "Carol New" in found[key].summary
            or "1 enabled user(s) were read from neither" in found[key].summary
        )


def test_a_users_page_with_next_link_makes_every_risk_that_reads_users_unknown(tmp_path: Path) -> None:
    page = {**base_document()["collections"]["users"], "@odata.nextLink": NEXT_LINK}
    found = _assess(tmp_path, {"set": {"users": page}})
    catalog = load_catalog()
    readers = {
        r for r, risk in catalog.items() if "users" in (*risk.article.requires, *risk.article.optional)
    }
    assert readers >= {"users-without-mfa", "admins-risky-mfa", "mfa-registration-gate"}
    for finding in found.values():
        if finding.risk in readers:
            assert finding.status is Status.UNKNOWN, (finding.key, finding.summary)
            assert finding.to_json()["cause"] == "partial-data"
            assert finding.summary.startswith(
                "Not evaluated (partial data): users.json ends with @odata.nextLink"
            )
        else:
            assert finding.status is Status.PASS, (finding.key, finding.summary)


def test_partial_data_keeps_what_was_found_in_the_part_read(tmp_path: Path) -> None:
    users = base_document()["collections"]["users"]["value"]
    dan = {
        **users[2],
        "id": "u-dan",
        "displayName": "Dan Password",
        "userPrincipalName": "dan@fixture.example",
    }
    page = {"value": [*users, dan], "@odata.nextLink": NEXT_LINK}
    password_only = [{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "pw"}]
    patch = {
        "set": {"users": page},
        "merge": {"authenticationMethods": [{"userId": "u-dan", "value": password_only}]},
    }
    finding = _assess(tmp_path, patch, ["users-without-mfa"])["users-without-mfa"]
    assert finding.status is Status.UNKNOWN
    assert [a.id for a in finding.affected] == ["u-dan"]
    assert (
        "In the data that was read: 1 of 6 evaluated enabled members lack any MFA method" in finding.summary
    )


def test_a_missing_collection_names_its_cause(tmp_path: Path) -> None:
    absent = _assess(tmp_path / "a", {"delete": ["users"]}, ["users-without-mfa"])["users-without-mfa"]
    assert absent.to_json()["cause"] == "not-collected"
    assert absent.summary.startswith("Not evaluated (not collected): users could not be read")
    refused = _assess(tmp_path / "b", {"error": {"users": "403 Forbidden"}}, ["users-without-mfa"])
    assert refused["users-without-mfa"].to_json()["cause"] == "permission"
    assert refused["users-without-mfa"].summary.startswith("Not evaluated (permission missing)")
