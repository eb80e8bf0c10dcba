"""The records the Range writes are what Graph returns, and an export loads like any snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphlattice.checks.engine import assess
from graphlattice.errors import ActionDenied
from graphlattice.tenant.snapshot import load_snapshot, read_log
from tests.range.engine_fixture import new_range, sign_in, upn

_SIGN_IN_FIELDS = {
    "id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appId", "appDisplayName",
    "ipAddress", "clientAppUsed", "correlationId", "conditionalAccessStatus", "isInteractive", "riskDetail",
    "riskLevelAggregated", "riskLevelDuringSignIn", "riskState", "resourceDisplayName", "resourceId",
    "status", "deviceDetail", "location", "appliedConditionalAccessPolicies", "authenticationRequirement",
    "signInEventTypes", "authenticationDetails",
}  # fmt: skip
_AUDIT_FIELDS = {
    "id", "category", "correlationId", "result", "resultReason", "activityDisplayName", "activityDateTime",
    "loggedByService", "operationType", "initiatedBy", "targetResources", "additionalDetails",
}  # fmt: skip


def test_a_pass_sign_in_record(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa"))
    sign_in(rng, "enrolled", "tap", holder="attacker", ip="192.0.2.201", country="SG", city="Singapore")
    record = rng.records("signin")[-1]
    assert set(record) >= _SIGN_IN_FIELDS
    assert (
        record["appDisplayName"] == "My Signins" and record["appId"] == "19db86c3-b2b9-44cc-b339-36da233a3be2"
    )
    assert record["ipAddress"] == "192.0.2.201"
    assert record["location"]["countryOrRegion"] == "SG" and record["location"]["city"] == "Singapore"
    assert record["status"] == {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None}
    (step,) = record["authenticationDetails"]
    assert step["authenticationMethod"] == "Temporary Access Pass"
    assert step["authenticationStepRequirement"] == "Primary authentication"
    assert step["authenticationStepResultDetail"] == "MFA requirement satisfied by strong authentication"
    assert record["signInEventTypes"] == ["interactiveUser"] and record["isInteractive"] is True
    assert record["createdDateTime"].endswith("Z")


def test_refresh_and_failure_records(tmp_path: Path) -> None:
    rng = new_range(tmp_path, mfa_all="enabled")
    token = sign_in(rng, "victim", "authenticator", app="office")["session"]
    mfa = rng.records("signin")[-1]
    assert [s["authenticationMethod"] for s in mfa["authenticationDetails"]] == [
        "Password",
        "Authenticator App",
    ]
    assert mfa["appDisplayName"] == "OfficeHome"
    assert {
        p["displayName"]: p["enforcedGrantControls"] for p in mfa["appliedConditionalAccessPolicies"]
    } == {
        "Require MFA to register security info": [],
        "Require MFA for all users": ["Mfa"],
    }
    sign_in(rng, "victim", "refresh-token", token=token)
    refresh = rng.records("signin")[-1]
    assert [s["authenticationMethod"] for s in refresh["authenticationDetails"]] == [
        "Previously satisfied"
    ] * 2
    assert refresh["isInteractive"] is False
    with pytest.raises(ActionDenied):
        sign_in(rng, "victim", "password", holder="attacker")
    failed = rng.records("signin")[-1]
    assert failed["status"]["errorCode"] == 50126
    assert failed["status"]["failureReason"].startswith("Error validating credentials")
    assert failed["authenticationDetails"][0]["succeeded"] is False


def test_policy_change_records(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    admin = upn("admin")
    (tap,) = rng.act(
        "update-tap-policy", {"usable_once": "true", "include_groups": "g-tap"}, actor=admin
    ).records
    assert (tap["loggedByService"], tap["category"], tap["activityDisplayName"]) == (
        "Authentication Methods",
        "ApplicationManagement",
        "Authentication Methods Policy Update",
    )
    change = tap["targetResources"][0]["modifiedProperties"][0]
    assert json.loads(change["oldValue"])["isUsableOnce"] is False
    assert json.loads(change["newValue"])["isUsableOnce"] is True
    created = rng.act(
        "create-ca-policy", {"template": "require-mfa-all", "exclude_users": upn("admin")}, actor=admin
    )
    (add,) = created.records
    assert (add["loggedByService"], add["category"], add["activityDisplayName"]) == (
        "Conditional Access",
        "Policy",
        "Add conditional access policy",
    )
    body = json.loads(add["targetResources"][0]["modifiedProperties"][0]["newValue"])
    assert body["conditions"]["users"]["excludeUsers"] == ["u-admin"]
    (update,) = rng.act(
        "update-ca-policy", {"policy": created.data["id"], "state": "disabled"}, actor=admin
    ).records
    assert update["activityDisplayName"] == "Update conditional access policy"
    (group,) = rng.act("add-group-member", {"group": "g-tap", "member": upn("victim")}, actor=admin).records
    assert (group["category"], group["activityDisplayName"]) == ("GroupManagement", "Add member to group")


def test_every_audit_record_has_graphs_shape(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("victim")}, actor=upn("aa"))
    rng.act("revoke-sessions", {"user": upn("victim")}, actor=upn("admin"))
    rng.act("reset-password", {"user": upn("victim")}, actor=upn("admin"))
    rng.act("self-service-reset", {"user": upn("victim")})
    for record in rng.records("audit"):
        assert set(record) == _AUDIT_FIELDS
        assert record["activityDateTime"].endswith("Z")
        assert record["result"] == "success"
        prefix = {"Core Directory": "Directory_", "Self-service Password Management": "SSPR_"}.get(
            record["loggedByService"], record["loggedByService"] + "_"
        )
        assert record["id"].startswith(prefix + record["correlationId"])


def test_an_export_is_a_snapshot_the_checks_read(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa"))
    sign_in(rng, "enrolled", "tap", holder="attacker")
    out = tmp_path / "export"
    rng.export(out)
    tenant = load_snapshot(out)
    assert tenant.errors == {}
    assert tenant.source == "range"
    assert set(tenant.users) == set(rng.tenant().users)
    assert len(read_log(out / "directoryAudits.jsonl")) == len(rng.records("audit"))
    assert len(read_log(out / "signIns.jsonl")) == len(rng.records("signin"))
    from_disk = assess(tenant, only=["tap-policy-weak", "mfa-registration-gate"])
    in_memory = assess(rng.tenant(), only=["tap-policy-weak", "mfa-registration-gate"])
    assert [(f.risk, f.status) for f in from_disk.findings] == [
        (f.risk, f.status) for f in in_memory.findings
    ]
    assert {f.risk for f in in_memory.findings} == {"tap-policy-weak", "mfa-registration-gate"}
