"""Prowler's own Entra services (a real third-party Graph client) read a served Range over HTTP.

Prowler pins msgraph-sdk, azure-identity and pydantic at versions other than ours, so it lives in its own
virtualenv, ``.venv-prowler`` (``make test`` creates it), and runs in a subprocess:
``tests/server/prowler_entra.py`` instantiates ``prowler.providers.azure.services.entra.entra_service.Entra``
and the Microsoft 365 provider's ``Entra`` against the real uvicorn server on 127.0.0.1 and prints what they
collected. The assertions compare that with the Range's own state, read from its folder, not through HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from graphlattice.entra.roles import GLOBAL_ADMINISTRATOR
from graphlattice.range.engine import Range
from graphlattice.server.serve import RunningServer
from tests.server.conftest import MIA, NOOR, READER_APP

ROOT = Path(__file__).resolve().parents[2]
PROWLER_PYTHON = ROOT / ".venv-prowler" / "bin" / "python"
DRIVER = Path(__file__).with_name("prowler_entra.py")
TENANT = "range.example"  # the tenant domain the driver gives Prowler's Azure provider


def _prowler(server: RunningServer, token: str) -> dict[str, Any]:
    if not PROWLER_PYTHON.exists():
        reason = (
            "Prowler's virtualenv .venv-prowler is missing: `make test` creates it (prowler pins "
            "msgraph-sdk, azure-identity and pydantic versions that conflict with ours)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [str(PROWLER_PYTHON), str(DRIVER), server.url, token],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@pytest.fixture(scope="module")
def held(served: RunningServer) -> dict[str, Any]:
    """The Range's own collections (what it holds), read from its folder."""
    collections: dict[str, Any] = Range.open(served.service.state_dir).peek().collections
    return collections


@pytest.fixture(scope="module")
def prowler_as_reader(served: RunningServer) -> dict[str, Any]:
    return _prowler(served, served.app_token(READER_APP))


def test_prowler_reads_users_with_sign_in_activity(
    prowler_as_reader: dict[str, Any], held: dict[str, Any]
) -> None:
    azure = prowler_as_reader["azure"]
    assert azure["sign_in_activity_errors"] == {}
    assert azure["users_retrieval_errors"] == {}
    users = azure["users"][TENANT]
    assert set(users) == {u["id"] for u in held["users"]}
    signed_in = 0
    for user in held["users"]:
        got = users[user["id"]]
        assert got["name"] == user["displayName"]
        assert got["account_enabled"] == user["accountEnabled"]
        expected = (user.get("signInActivity") or {}).get("lastSignInDateTime")
        assert _when(got["last_sign_in"]) == _when(expected), user["displayName"]
        signed_in += expected is not None
    assert signed_in >= 2  # the timeline signs people in: the victim and the operator at least


def test_prowler_reads_directory_roles_and_members(
    prowler_as_reader: dict[str, Any], held: dict[str, Any]
) -> None:
    names = {d["id"]: d["displayName"] for d in held["roleDefinitions"]}
    users = {u["id"] for u in held["users"]}
    expected: dict[str, set[str]] = {names[GLOBAL_ADMINISTRATOR]: set()}
    for grant in held["roleAssignments"]:
        if grant["directoryScopeId"] == "/":
            members = expected.setdefault(names[grant["roleDefinitionId"]], set())
            if grant["principalId"] in users:  # Prowler keeps the members that are users
                members.add(grant["principalId"])
    for grant in held["roleEligibilitySchedules"]:  # eligible roles are activated, without members
        expected.setdefault(names[grant["roleDefinitionId"]], set())
    roles = prowler_as_reader["azure"]["directory_roles"][TENANT]
    assert {name: {m["id"] for m in role["members"]} for name, role in roles.items()} == expected
    assert len(roles[names[GLOBAL_ADMINISTRATOR]]["members"]) == 2  # the defender and the break-glass account

    # Prowler's Microsoft 365 provider maps every user to the role templates it holds (from /directoryRoles)
    m365 = prowler_as_reader["m365"]["users"]
    assert set(m365) == users
    noor = next(u["id"] for u in held["users"] if u["userPrincipalName"] == NOOR)
    mia = next(u["id"] for u in held["users"] if u["userPrincipalName"] == MIA)
    assert m365[noor]["directory_roles_ids"] == [GLOBAL_ADMINISTRATOR]
    assert m365[mia]["directory_roles_ids"] == []


def test_prowler_reads_applications_group_settings_and_policies(
    prowler_as_reader: dict[str, Any], held: dict[str, Any]
) -> None:
    azure = prowler_as_reader["azure"]
    apps = azure["app_registrations"][TENANT]
    assert len(held["applications"]) == 2
    assert set(apps) == {a["id"] for a in held["applications"]}
    for app in held["applications"]:
        got = apps[app["id"]]
        assert got["name"] == app["displayName"]
        want = [("password", c["displayName"], c["endDateTime"]) for c in app["passwordCredentials"]]
        want += [("certificate", c["displayName"], c["endDateTime"]) for c in app["keyCredentials"]]
        have = [(c["credential_type"], c["display_name"], c["end_date_time"]) for c in got["credentials"]]
        assert [(t, n, _when(e)) for t, n, e in have] == [(t, n, _when(e)) for t, n, e in want]

    settings = azure["group_settings"][TENANT]
    assert len(held["groupSettings"]) == 1
    for setting in held["groupSettings"]:
        got = settings[setting["id"]]
        assert (got["name"], got["template_id"]) == (setting["displayName"], setting["templateId"])
        assert {v["name"]: v["value"] for v in got["settings"]} == {
            v["name"]: v["value"] for v in setting["values"]
        }
        assert {v["name"]: v["value"] for v in got["settings"]}["EnableGroupCreation"] == "false"

    defaults = held["identitySecurityDefaultsEnforcementPolicy"]
    assert azure["security_default"][TENANT] == {
        "id": defaults["id"],
        "name": defaults["displayName"],
        "is_enabled": defaults["isEnabled"],
    }
    policy = held["authorizationPolicy"]
    got = azure["authorization_policy"][TENANT]
    assert got["id"] == policy["id"]
    assert got["guest_user_role_id"] == policy["guestUserRoleId"]
    assert got["guest_invite_settings"] == policy["allowInvitesFrom"]
    assert (
        got["default_user_role_permissions"]["allowed_to_create_apps"]
        == policy["defaultUserRolePermissions"]["allowedToCreateApps"]
    )
    assert prowler_as_reader["m365"]["authorization_policy"]["id"] == policy["id"]
    assert set(prowler_as_reader["m365"]["app_registrations"]) == set(apps)


def test_prowler_without_a_sign_in_reader_role_records_why(
    served: RunningServer, held: dict[str, Any]
) -> None:
    """Mia has no role that reads sign-in reports: Graph's 403 on signInActivity makes Prowler record the
    reason and read the users again without it; the other collections still succeed for a member user."""
    azure = _prowler(served, served.token(MIA))["azure"]
    assert azure["sign_in_activity_errors"] == {TENANT: "ODataError HTTP 403 Authorization_RequestDenied"}
    assert azure["users_retrieval_errors"] == {}
    users = azure["users"][TENANT]
    assert set(users) == {u["id"] for u in held["users"]}
    assert all(u["last_sign_in"] is None for u in users.values())
    assert azure["security_default"][TENANT]["is_enabled"] is False
    assert len(azure["directory_roles"][TENANT]) >= 4
