"""Writes are Range actions: journaled, logged like the command line's, refused like Entra refuses them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from graphlattice.range.engine import Range
from graphlattice.server.serve import RunningServer
from tests.server.conftest import (
    ELIF,
    LUKAS,
    MIA,
    NO_PERMISSION_APP,
    NOOR,
    WRITER_APP,
    as_app,
    as_user,
    assert_graph_error,
)

PASSWORD_METHOD = "28c10230-6103-485e-b985-444c60001490"


def _journal(server: RunningServer) -> list[dict[str, Any]]:
    return Range.open(server.service.state_dir).journal()


def _range_log(server: RunningServer) -> list[dict[str, Any]]:
    """What 'graphlattice range log' shows (the real command, in its own process)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphlattice",
            "range",
            "log",
            "--state",
            str(server.service.state_dir),
            "--format",
            "json",
            "--kind",
            "audit",
            "--as",
            NOOR,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    records: list[dict[str, Any]] = json.loads(out.stdout)["value"]
    return records


def _files(server: RunningServer) -> str:
    folder = Path(server.service.state_dir)
    return "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.json*"))


def test_create_and_delete_a_tap(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    url = f"/users/{MIA}/authentication/temporaryAccessPassMethods"
    created = noor.post(url, json={"lifetimeInMinutes": 60, "isUsableOnce": True})
    assert created.status_code == 201, created.text
    tap = created.json()
    code = tap["temporaryAccessPass"]
    assert isinstance(code, str) and len(code) >= 8
    assert tap["@odata.type"] == "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    assert tap["lifetimeInMinutes"] == 60 and tap["isUsableOnce"] is True
    assert created.headers["location"].endswith(f"/temporaryAccessPassMethods/{tap['id']}")
    listed = noor.get(url).json()["value"]
    assert [m["id"] for m in listed] == [tap["id"]]  # the new pass replaced the attacker's
    assert listed[0]["temporaryAccessPass"] is None
    entry = _journal(fresh)[-1]
    assert (entry["action"], entry["actor"], entry["outcome"]) == ("issue-tap", NOOR, "ok")
    assert code not in _files(fresh)  # never in state, journal or seed
    newest = _range_log(fresh)[-1]
    assert newest["activityDisplayName"] == "Admin registered security info"
    assert newest["resultReason"] == "Admin registered temporary access pass method for user"
    assert newest["initiatedBy"]["user"]["userPrincipalName"] == NOOR
    assert newest["targetResources"][0]["userPrincipalName"] == MIA

    assert noor.delete(f"{url}/{tap['id']}").status_code == 204
    assert noor.get(url).json()["value"] == []
    assert_graph_error(noor.delete(f"{url}/{tap['id']}"), 404, "Request_ResourceNotFound")
    assert _journal(fresh)[-1]["action"] == "delete-tap"
    assert _range_log(fresh)[-1]["activityDisplayName"] == "Admin deleted security info"


def test_delete_the_attackers_authenticator_and_passkey(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    base = f"/users/{MIA}/authentication"
    apps = noor.get(f"{base}/microsoftAuthenticatorMethods").json()["value"]
    planted = next(m for m in apps if m["displayName"] == "iPhone 15 Pro")
    assert noor.delete(f"{base}/microsoftAuthenticatorMethods/{planted['id']}").status_code == 204
    passkey = noor.get(f"{base}/fido2Methods").json()["value"][0]
    assert noor.delete(f"{base}/fido2Methods/{passkey['id']}").status_code == 204
    remaining = {m["id"] for m in noor.get(f"{base}/methods").json()["value"]}
    assert planted["id"] not in remaining and passkey["id"] not in remaining
    assert "a6ecab05-e94a-5550-b45e-a43c5d4c3a85" in remaining  # her own Galaxy S23 stays
    actions = [e["action"] for e in _journal(fresh)[-2:]]
    assert actions == ["delete-method", "delete-method"]
    # a method of another type under the wrong collection is not found
    assert_graph_error(
        noor.delete(f"{base}/fido2Methods/a6ecab05-e94a-5550-b45e-a43c5d4c3a85"),
        404,
        "Request_ResourceNotFound",
    )
    # the password cannot be deleted
    assert noor.delete(f"{base}/passwordMethods/{PASSWORD_METHOD}").status_code == 405


def test_revoke_sessions(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    before = noor.get(f"/users/{MIA}?$select=signInSessionsValidFromDateTime").json()
    response = noor.post(f"/users/{MIA}/revokeSignInSessions")
    assert response.status_code == 200
    assert response.json() == {"@odata.context": f"{fresh.url}/v1.0/$metadata#Edm.Boolean", "value": True}
    after = noor.get(f"/users/{MIA}?$select=signInSessionsValidFromDateTime").json()
    assert after["signInSessionsValidFromDateTime"] and after != before
    assert _range_log(fresh)[-1]["activityDisplayName"] == "Update StsRefreshTokenValidFrom Timestamp"


def test_reset_password_is_a_long_running_operation(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    url = f"/users/{MIA}/authentication/methods/{PASSWORD_METHOD}/resetPassword"
    response = noor.post(url, json={})
    assert response.status_code == 202
    generated = response.json()["newPassword"]
    assert isinstance(generated, str) and generated
    operation = noor.get(response.headers["location"])
    assert operation.status_code == 200 and operation.json()["status"] == "succeeded"
    assert generated not in _files(fresh)
    assert _journal(fresh)[-1]["action"] == "reset-password"
    chosen = noor.post(url, json={"newPassword": "Correct-Horse-42"})
    assert chosen.status_code == 202 and chosen.json()["newPassword"] is None
    assert "Correct-Horse-42" not in _files(fresh)
    own = f"/users/{NOOR}/authentication/methods/{PASSWORD_METHOD}/resetPassword"
    assert_graph_error(noor.post(own, json={}), 403, "Authorization_RequestDenied")


def test_a_refused_write_is_403_and_journaled(fresh: RunningServer) -> None:
    lukas = as_user(fresh, LUKAS)  # Authentication Administrator: not for a Global Administrator
    response = lukas.post(f"/users/{NOOR}/authentication/temporaryAccessPassMethods", json={})
    error = assert_graph_error(response, 403, "Authorization_RequestDenied")
    assert error["message"].startswith("Insufficient privileges")
    entry = _journal(fresh)[-1]
    assert (entry["action"], entry["actor"], entry["outcome"]) == ("issue-tap", LUKAS, "denied")
    assert (
        as_user(fresh, NOOR).get(f"/users/{NOOR}/authentication/temporaryAccessPassMethods").json()["value"]
        == []
    )


def test_tap_policy_patch(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    url = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
    body = {
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        "isUsableOnce": True,
        "minimumLifetimeInMinutes": 60,
        "defaultLifetimeInMinutes": 60,
        "maximumLifetimeInMinutes": 480,
    }
    assert noor.patch(url, json=body).status_code == 204
    config = noor.get(url).json()
    assert config["isUsableOnce"] is True and config["maximumLifetimeInMinutes"] == 480
    assert _range_log(fresh)[-1]["activityDisplayName"] == "Authentication Methods Policy Update"
    assert_graph_error(noor.patch(url, json={"minimumLifetimeInMinutes": 600}), 400, "badRequest")
    assert_graph_error(
        as_user(fresh, ELIF).patch(url, json={"isUsableOnce": False}), 403, "Authorization_RequestDenied"
    )
    too_long = noor.post(
        f"/users/{MIA}/authentication/temporaryAccessPassMethods", json={"lifetimeInMinutes": 600}
    )
    assert_graph_error(too_long, 400, "badRequest")  # "Invalid LifetimeInMinutes specified. ..."


def test_conditional_access_create_and_update(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    policy = {
        "displayName": "Require phishing-resistant MFA to register security info",
        "state": "enabledForReportingButNotEnforced",
        "conditions": {
            "users": {"includeUsers": ["All"], "excludeUsers": []},
            "applications": {"includeUserActions": ["urn:user:registersecurityinfo"]},
            "clientAppTypes": ["all"],
        },
        "grantControls": {
            "operator": "OR",
            "builtInControls": [],
            "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"},
        },
    }
    created = noor.post("/identity/conditionalAccess/policies", json=policy)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert (
        noor.patch(f"/identity/conditionalAccess/policies/{pid}", json={"state": "enabled"}).status_code
        == 204
    )
    assert noor.get(f"/identity/conditionalAccess/policies/{pid}").json()["state"] == "enabled"
    activities = [r["activityDisplayName"] for r in _range_log(fresh)[-2:]]
    assert activities == ["Add conditional access policy", "Update conditional access policy"]
    assert_graph_error(
        as_user(fresh, MIA).post("/identity/conditionalAccess/policies", json=policy),
        403,
        "Authorization_RequestDenied",
    )
    assert_graph_error(
        noor.post("/identity/conditionalAccess/policies", json={"displayName": "x"}),
        400,
        "BadRequest",  # Conditional Access: "1007: Incoming ConditionalAccessPolicy object is null or ..."
    )


def test_disable_a_user(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    mia = as_user(fresh, MIA)
    assert mia.get("/me").status_code == 200
    assert noor.patch(f"/users/{MIA}", json={"accountEnabled": False}).status_code == 204
    assert as_user(fresh, NOOR, "beta").get(f"/users/{MIA}").json()["accountEnabled"] is False
    assert_graph_error(mia.get("/me"), 401, "InvalidAuthenticationToken")
    assert_graph_error(noor.patch(f"/users/{MIA}", json={"displayName": "M"}), 501, "NotImplemented")
    assert noor.patch(f"/users/{MIA}", json={"accountEnabled": True}).status_code == 204


def test_group_membership_and_roles(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    group = noor.get("/groups?$filter=displayName eq 'TAP Enrolment'").json()["value"][0]
    daan = noor.get("/users?$filter=startswith(displayName,'Daan')").json()["value"][0]
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{daan['id']}"}
    assert noor.post(f"/groups/{group['id']}/members/$ref", json=ref).status_code == 204
    members = noor.get(f"/groups/{group['id']}/members").json()["value"]
    assert daan["id"] in {m["id"] for m in members}
    assert noor.delete(f"/groups/{group['id']}/members/{daan['id']}/$ref").status_code == 204
    reports_reader = "4a5d8f65-41da-4de4-8968-e035b65339cf"
    created = noor.post(
        "/roleManagement/directory/roleAssignments",
        json={"principalId": daan["id"], "roleDefinitionId": reports_reader, "directoryScopeId": "/"},
    )
    assert created.status_code == 201, created.text
    daan_reads = as_user(fresh, daan["userPrincipalName"]).get("/auditLogs/directoryAudits?$top=1")
    assert daan_reads.status_code == 200  # the new role counts at once
    assert noor.delete(f"/roleManagement/directory/roleAssignments/{created.json()['id']}").status_code == 204
    assert as_user(fresh, daan["userPrincipalName"]).get("/auditLogs/directoryAudits").status_code == 403
    ga = "62e90394-69f5-4237-9190-012177145e10"
    scope = "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'"
    assignment = noor.get(
        f"/policies/roleManagementPolicyAssignments?{scope} and roleDefinitionId eq '{ga}'"
    ).json()["value"][0]
    rule_url = (
        f"/policies/roleManagementPolicies/{assignment['policyId']}/rules/Expiration_EndUser_Assignment"
    )
    patched = noor.patch(
        rule_url,
        json={
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "maximumDuration": "PT2H",
        },
    )
    assert patched.status_code == 204, patched.text
    assert noor.get(rule_url).json()["maximumDuration"] == "PT2H"
    assert _journal(fresh)[-1]["action"] == "update-role-policy"


def test_application_writes(fresh: RunningServer) -> None:
    url = f"/users/{MIA}/authentication/temporaryAccessPassMethods"
    assert_graph_error(
        as_app(fresh, NO_PERMISSION_APP).post(url, json={}), 403, "Authorization_RequestDenied"
    )
    assert_graph_error(as_app(fresh, WRITER_APP).post(url, json={}), 501, "NotImplemented")


def test_the_command_line_and_the_endpoint_see_the_same_range(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    count = len(noor.get("/auditLogs/directoryAudits?$top=1000").json()["value"])
    subprocess.run(
        [
            sys.executable,
            "-m",
            "graphlattice",
            "range",
            "act",
            "revoke-sessions",
            f"user={MIA}",
            "--state",
            str(fresh.service.state_dir),
            "--as",
            NOOR,
        ],
        check=True,
        capture_output=True,
    )
    audits = noor.get("/auditLogs/directoryAudits?$top=1000").json()["value"]
    assert len(audits) == count + 1
    assert audits[0]["activityDisplayName"] == "Update StsRefreshTokenValidFrom Timestamp"


def test_concurrent_writes_are_serialised(fresh: RunningServer) -> None:
    before = len(_journal(fresh))
    errors: list[str] = []

    def revoke() -> None:
        response = as_user(fresh, NOOR).post(f"/users/{MIA}/revokeSignInSessions")
        if response.status_code != 200:
            errors.append(response.text)

    threads = [threading.Thread(target=revoke) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(_journal(fresh)) == before + 8
    assert Range.open(fresh.service.state_dir).now is not None  # the state still loads
