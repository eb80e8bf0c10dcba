"""Data that is present but incomplete loads, is flagged and warned about, never silently taken as whole.

The shapes are Microsoft's documented responses: ``GET /users`` without ``$select`` (the List users page,
example 1), a page that still carries ``@odata.nextLink`` (Graph paging), unifiedRoleAssignment objects
(List unifiedRoleAssignments, example 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphlattice.errors import InputError
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.snapshot import load_snapshot
from tests.checks.builder import apply_patch, base_document, write_snapshot

# GET https://graph.microsoft.com/v1.0/users as Microsoft documents the answer: no accountEnabled or userType.
DOCUMENTED_USERS: dict[str, Any] = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
    "value": [
        {
            "businessPhones": [],
            "displayName": "Conf Room Adams",
            "givenName": None,
            "jobTitle": None,
            "mail": "Adams@contoso.com",
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "surname": None,
            "userPrincipalName": "Adams@contoso.com",
            "id": "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0",
        },
        {
            "businessPhones": ["425-555-0100"],
            "displayName": "MOD Administrator",
            "givenName": "MOD",
            "jobTitle": None,
            "mail": None,
            "mobilePhone": "425-555-0101",
            "officeLocation": None,
            "preferredLanguage": "en-US",
            "surname": "Administrator",
            "userPrincipalName": "admin@contoso.com",
            "id": "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e",
        },
    ],
}
NEXT_LINK = "https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=RFNwdAIAAQAAACpHcm91cF8x"
# Documented unifiedRoleAssignment objects whose principal is in no collection of the snapshot.
ORPHAN_ASSIGNMENTS = [
    {
        "id": "lAPpYvVpN0KRkAEhdxReEHJ1hPGqSKpHlqMuxhkE9B8-1",
        "principalId": "f1847572-48aa-47aa-96a3-2ec61904f41f",
        "resourceScope": "/",
        "directoryScopeId": "/",
        "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10",
    },
    {
        "id": "LJnv8vs6uUa3z6Em7nTEUXJ1hPGqSKpHlqMuxhkE9B8-1",
        "principalId": "f1847572-48aa-47aa-96a3-2ec61904f41f",
        "resourceScope": "/",
        "directoryScopeId": "/",
        "roleDefinitionId": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    },
]

_GA = "62e90394-69f5-4237-9190-012177145e10"
# Global Administrator held by an application and by the role-assignable group g-bg of the base tenant.
APP_AND_GROUP_HOLDERS: dict[str, Any] = {
    "merge": {
        "servicePrincipals": [
            {"id": "sp-ops", "appId": "app-ops", "displayName": "Ops automation", "appRoleAssignments": []}
        ],
        "roleAssignments": [
            {"id": "ra-app", "principalId": "sp-ops", "roleDefinitionId": _GA, "directoryScopeId": "/"},
            {"id": "ra-grp", "principalId": "g-bg", "roleDefinitionId": _GA, "directoryScopeId": "/"},
        ],
    }
}


def _snap(tmp_path: Path, patch: dict[str, Any]) -> Path:
    return write_snapshot(apply_patch(base_document(), patch), tmp_path / "snap")


def test_documented_users_without_select_are_unknown_not_enabled_members(tmp_path: Path) -> None:
    tenant = load_snapshot(_snap(tmp_path, {"set": {"users": DOCUMENTED_USERS}}))
    adams = tenant.users["6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"]
    assert (adams.account_enabled, adams.user_type, adams.on_premises_sync) == (None, None, None)
    assert adams.enabled_member is None
    assert list(tenant.iter_members()) == []
    assert sorted(tenant.standing_unknown) == sorted(u["id"] for u in DOCUMENTED_USERS["value"])
    [warning] = [w for w in tenant.warnings if w.startswith("users.json")]
    assert "2 have no accountEnabled" in warning and "2 have no userType" in warning
    assert COLLECTIONS["users"].request in warning
    assert "$select=id,displayName,userPrincipalName,userType,accountEnabled,onPremisesSyncEnabled" in warning


def test_known_values_stay_known_and_a_present_null_type_is_a_member(tmp_path: Path) -> None:
    users = [
        {"id": "u-1", "displayName": "Off", "accountEnabled": False},  # type unknown, but disabled
        {"id": "u-2", "displayName": "Guest", "userType": "Guest"},  # enabled unknown, but a guest
        {"id": "u-3", "displayName": "Old", "userType": None, "accountEnabled": True},
    ]
    tenant = load_snapshot(_snap(tmp_path, {"set": {"users": {"value": users}}}))
    assert tenant.users["u-1"].enabled_member is False
    assert tenant.users["u-2"].enabled_member is False
    assert tenant.users["u-3"].enabled_member is True
    assert tenant.standing_unknown == ()


def test_a_page_with_next_link_is_partial_data(tmp_path: Path) -> None:
    page = {**base_document()["collections"]["users"], "@odata.nextLink": NEXT_LINK}
    tenant = load_snapshot(_snap(tmp_path, {"set": {"users": page}}))
    assert tenant.available["users"] is True  # what was read is kept ...
    assert "users" in tenant.partial and "@odata.nextLink" in tenant.partial["users"]  # ... and flagged
    [warning] = [w for w in tenant.warnings if "partial data" in w]
    assert warning.startswith("users.json: partial data") and "UNKNOWN" in warning


def test_a_group_whose_members_stop_at_a_next_link_is_partial_data(tmp_path: Path) -> None:
    link = "https://graph.microsoft.com/v1.0/groups/g-tap/members?$skiptoken=X"
    patch = {"merge": {"groups": [{"id": "g-tap", "members@odata.nextLink": link}]}}
    tenant = load_snapshot(_snap(tmp_path, patch))
    assert "members" in tenant.partial["groups"]


def test_a_complete_snapshot_has_no_partial_data_and_no_warnings(tmp_path: Path) -> None:
    tenant = load_snapshot(_snap(tmp_path, {}))
    assert tenant.partial == {} and tenant.standing_unknown == () and tenant.unresolved_grants == ()
    assert tenant.warnings == []


def test_role_holders_in_no_collection_are_listed_with_a_warning(tmp_path: Path) -> None:
    tenant = load_snapshot(_snap(tmp_path, {"merge": {"roleAssignments": ORPHAN_ASSIGNMENTS}}))
    assert {g.principal_id for g in tenant.unresolved_grants} == {"f1847572-48aa-47aa-96a3-2ec61904f41f"}
    [warning] = [w for w in tenant.warnings if w.startswith("role assignments")]
    assert "f1847572-48aa-47aa-96a3-2ec61904f41f" in warning and "users.json may be incomplete" in warning


def test_holders_resolve_through_service_principals_and_groups(tmp_path: Path) -> None:
    """A role assigned to an application or a role-assignable group is not an unresolved holder."""
    patch = APP_AND_GROUP_HOLDERS
    tenant = load_snapshot(_snap(tmp_path, patch))
    assert tenant.unresolved_grants == ()
    # Unreadable service principals make the application's assignment unresolved, and the warning says why.
    tenant = load_snapshot(_snap(tmp_path / "b", {**patch, "error": {"servicePrincipals": "403 Forbidden"}}))
    assert {g.principal_id for g in tenant.unresolved_grants} == {"sp-ops"}
    assert any("servicePrincipals could not be read" in w for w in tenant.warnings)


@pytest.mark.parametrize("content", ["nothing", "parent"])
def test_a_folder_without_any_collection_file_is_unusable_input(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "snapshots"
    folder.mkdir()
    if content == "parent":  # the folder that holds snapshots, given by mistake
        _snap(folder / "contoso", {})
        (folder / "notes.txt").write_text("weekly run\n")
    with pytest.raises(InputError) as caught:
        load_snapshot(folder)
    assert str(caught.value) == f"no Graph collection files in {folder} — is this the snapshot folder?"
