"""Writes over real HTTP that Graph would refuse: 400 in Graph's error shape for the resource, nothing
changed, and the range keeps working (before, such a write was stored and broke ``range verify``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphlattice.server.serve import RunningServer
from tests.server.conftest import LUKAS, MIA, NOOR, as_user, assert_graph_error

CA = "/identity/conditionalAccess/policies"
TAP_CONFIG = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"


def _policy(**grant: Any) -> dict[str, Any]:
    return {
        "displayName": "Hostile grant",
        "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
        **grant,
    }


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("state.json", "journal.jsonl")}


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", "range", *args, "--state", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.parametrize(
    ("body", "status", "code", "where"),
    [
        (
            _policy(grantControls={"operator": "OR", "builtInControls": 5}),
            400,
            "BadRequest",
            "builtInControls",
        ),
        (_policy(grantControls={"builtInControls": "mfa"}), 400, "BadRequest", "builtInControls"),
        (_policy(grantControls=5), 400, "BadRequest", "grantControls"),
        (_policy(grantControls={"builtInControls": ["teleport"]}), 400, "BadRequest", "builtInControls"),
        (_policy(conditions={"users": {"includeUsers": "All"}}), 400, "BadRequest", "includeUsers"),
        (_policy(conditions={"clientAppTypes": [1]}), 400, "BadRequest", "clientAppTypes"),
        (_policy(sessionControls={"signInFrequency": {"value": 10**9}}), 400, "BadRequest", "value"),
        (_policy(displayName="x" * 10_000), 400, "BadRequest", "displayName"),
        (_policy(colour="blue"), 400, "BadRequest", "colour"),
    ],
)
def test_conditional_access_policy_graph_would_refuse(
    fresh: RunningServer, body: dict[str, Any], status: int, code: str, where: str
) -> None:
    folder = fresh.service.state_dir
    before = _files(folder)
    error = assert_graph_error(as_user(fresh, NOOR).post(CA, json=body), status, code)
    assert error["message"].startswith("1007: Incoming ConditionalAccessPolicy object")
    assert where in error["message"]
    assert _files(folder) == before


def test_a_patched_policy_keeps_the_range_working(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    pid = noor.get(CA).json()["value"][0]["id"]
    before = _files(fresh.service.state_dir)
    for grant in ({"builtInControls": 5}, "mfa", 5, {"operator": "XOR"}):
        response = noor.patch(f"{CA}/{pid}", json={"grantControls": grant})
        assert_graph_error(response, 400, "BadRequest")
    assert_graph_error(noor.patch(f"{CA}/{pid}", json={"id": "other"}), 400, "BadRequest")
    assert _files(fresh.service.state_dir) == before
    assert noor.post(CA, json=_policy(grantControls={"builtInControls": ["mfa"]})).status_code == 201
    folder = fresh.service.state_dir
    for args in (("verify",), ("act", "sign-in", "user=mia.hoffmann", "method=password"), ("export", "out")):
        proc = _cli(folder, *[str(folder.parent / a) if a == "out" else a for a in args])
        assert proc.returncode in (0, 4), (args, proc.stderr)


@pytest.mark.parametrize(
    "body",
    [
        {"defaultLength": 0},
        {"defaultLength": 10**9},
        {"defaultLength": 7},
        {"defaultLength": 49},
        {"defaultLifetimeInMinutes": 0},
        {"maximumLifetimeInMinutes": 43201},
        {"minimumLifetimeInMinutes": 9},
        {"defaultLength": "8"},
        {"isUsableOnce": "yes"},
        {"includeTargets": "all_users"},
        {"includeTargets": [{"id": 5}]},
        {"state": "on"},
    ],
)
def test_tap_policy_outside_entra_limits_is_400(fresh: RunningServer, body: dict[str, Any]) -> None:
    before = _files(fresh.service.state_dir)
    assert_graph_error(as_user(fresh, NOOR).patch(TAP_CONFIG, json=body), 400, "badRequest")
    assert _files(fresh.service.state_dir) == before


@pytest.mark.parametrize(
    "body",
    [
        {"startDateTime": "9999-12-31T23:59:59Z"},
        {"startDateTime": "0001-01-01T00:00:00Z"},
        {"startDateTime": "9999-12-31T23:59:59-14:00"},
        {"startDateTime": "soon"},
        {"lifetimeInMinutes": 10**30},
        {"lifetimeInMinutes": 9},
        {"lifetimeInMinutes": 43201},
        {"lifetimeInMinutes": 60.5},
        {"isUsableOnce": "true"},
    ],
)
def test_tap_create_outside_graph_limits_is_400_not_500(fresh: RunningServer, body: dict[str, Any]) -> None:
    before = _files(fresh.service.state_dir)
    response = as_user(fresh, NOOR).post(f"/users/{MIA}/authentication/temporaryAccessPassMethods", json=body)
    error = assert_graph_error(response, 400, "badRequest")
    assert error["message"].startswith("Invalid ")
    assert _files(fresh.service.state_dir) == before


@pytest.mark.parametrize(
    ("password", "status"),
    [
        ("Aa1!" * 65, 400),  # 260 characters: Entra allows 256
        ("alllowercaseletters", 400),
        ("Pässwörd-1234", 400),
        ("", 400),
        ("A" * 10_000_000, 413),  # the body itself is too large
    ],
)
def test_reset_password_outside_the_password_policy(fresh: RunningServer, password: str, status: int) -> None:
    before = _files(fresh.service.state_dir)
    url = f"/users/{MIA}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"
    response = as_user(fresh, NOOR).post(url, json={"newPassword": password})
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"code", "message", "innerError"}
    assert _files(fresh.service.state_dir) == before


def _schedule_request(
    server: RunningServer, upn: str, kind: str, action: str, principal: str, schedule: Any
) -> httpx.Response:
    return as_user(server, upn).post(
        f"/roleManagement/directory/{kind}ScheduleRequests",
        json={
            "action": action,
            "principalId": principal,
            "roleDefinitionId": GLOBAL_READER,
            "directoryScopeId": "/",
            "scheduleInfo": schedule,
        },
    )


def _principal_id(server: RunningServer, upn: str) -> str:
    return str(as_user(server, NOOR).get(f"/users/{upn}").json()["id"])


@pytest.mark.parametrize(
    "schedule",
    [
        {"startDateTime": "9999-12-31T23:59:59Z"},
        {"startDateTime": "0001-01-01T00:00:00Z"},
        {"expiration": {"type": "afterDuration", "duration": "P99999999D"}},
        {"expiration": {"type": "afterDuration", "duration": "P" + "9" * 5000 + "D"}},
        {"expiration": {"type": "afterDateTime", "endDateTime": "9999-12-31T23:59:59Z"}},
        {"expiration": 5},
    ],
)
def test_schedule_requests_with_dates_out_of_range_are_400(
    fresh: RunningServer, schedule: dict[str, Any]
) -> None:
    before = _files(fresh.service.state_dir)
    lukas = _principal_id(fresh, LUKAS)
    eligibility = _schedule_request(fresh, NOOR, "roleEligibility", "adminAssign", lukas, schedule)
    assert eligibility.status_code in (400, 501), eligibility.text
    assert set(eligibility.json()["error"]) == {"code", "message", "innerError"}
    activation = _schedule_request(fresh, LUKAS, "roleAssignment", "selfActivate", lukas, schedule)
    assert activation.status_code in (400, 501), activation.text
    assert _files(fresh.service.state_dir) == before


def test_an_eligibility_longer_than_the_policy_allows_names_the_rule(fresh: RunningServer) -> None:
    year_and_a_month = {"expiration": {"type": "afterDuration", "duration": "P400D"}}
    mia = _principal_id(fresh, MIA)
    response = _schedule_request(fresh, NOOR, "roleEligibility", "adminAssign", mia, year_and_a_month)
    error = assert_graph_error(response, 400, "RoleAssignmentRequestPolicyValidationFailed")
    assert '["ExpirationRule"]' in error["message"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer é.é.é",
        "Bearer ünïcode",
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer !!!.@@@.###",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.ÿÿÿÿ",
        "Bearer ....",
    ],
)
def test_malformed_tokens_are_401_not_500(served: RunningServer, authorization: str) -> None:
    response = httpx.get(
        f"{served.url}/v1.0/users", headers={"Authorization": authorization.encode("utf-8")}, timeout=30
    )
    assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_a_token_with_a_non_ascii_signature_is_401(served: RunningServer) -> None:
    token = served.token(NOOR)
    forged = token[:-2] + "é"
    response = httpx.get(
        f"{served.url}/v1.0/users", headers={"Authorization": f"Bearer {forged}".encode()}, timeout=30
    )
    assert_graph_error(response, 401, "InvalidAuthenticationToken")


@pytest.mark.parametrize(
    ("rule", "body"),
    [
        ("Approval_EndUser_Assignment", {"setting": {"isApprovalRequired": True, "approvalStages": "abc"}}),
        ("Approval_EndUser_Assignment", {"setting": {"isApprovalRequired": True, "approvalStages": [5]}}),
        ("Approval_EndUser_Assignment", {"setting": "yes"}),
        ("Expiration_EndUser_Assignment", {"maximumDuration": "P99999999D"}),
        ("Expiration_EndUser_Assignment", {"maximumDuration": "PT25H"}),
        ("Enablement_EndUser_Assignment", {"enabledRules": "MultiFactorAuthentication"}),
    ],
)
def test_pim_rule_patches_graph_would_refuse_are_400(
    fresh: RunningServer, rule: str, body: dict[str, Any]
) -> None:
    noor = as_user(fresh, NOOR)
    policies = noor.get(
        "/policies/roleManagementPolicies",
        params={"$filter": "scopeId eq '/' and scopeType eq 'DirectoryRole'", "$expand": "rules"},
    ).json()["value"]
    policy = next(p for p in policies if any(r["id"] == rule for r in p["rules"]))
    before = _files(fresh.service.state_dir)
    response = noor.patch(f"/policies/roleManagementPolicies/{policy['id']}/rules/{rule}", json=body)
    assert_graph_error(response, 400, "Request_BadRequest")
    assert _files(fresh.service.state_dir) == before
