"""Microsoft Graph application permission ids (appRole ids of the Microsoft Graph service principal).

Source: https://learn.microsoft.com/graph/permissions-reference ("All permissions", Application identifiers).
"""

from __future__ import annotations

import pytest

from graphlattice.entra.permissions import (
    GRAPH_APP_PERMISSIONS,
    MICROSOFT_GRAPH_APP_ID,
    TAP_WRITING_APP_PERMISSIONS,
    permission_id,
    permission_name,
)

EXPECTED = [
    ("UserAuthenticationMethod.ReadWrite.All", "50483e42-d915-4231-9639-7fdb7fd190e5", True),
    ("UserAuthenticationMethod.Read.All", "38d9df27-64da-44fd-b7c5-a6fbac20248f", False),
    ("UserAuthMethod-TAP.ReadWrite.All", "627169a8-8c15-451c-861a-5b80e383de5c", True),
    ("Directory.ReadWrite.All", "19dbc75e-c2e2-444c-a770-ec69d8559fc7", False),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61", False),
    ("RoleManagement.ReadWrite.Directory", "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", False),
    ("RoleManagement.Read.Directory", "483bed4a-2ad3-4361-a73b-c83ccdbdc53c", False),
    ("Policy.ReadWrite.AuthenticationMethod", "29c18626-4985-4dcd-85c0-193eef327366", False),
    ("Policy.ReadWrite.ConditionalAccess", "01c0a623-fc9b-48e9-b794-0756f8e8f067", False),
    ("Policy.Read.All", "246dd0d5-5bd0-4def-940b-0421030a5b68", False),
    ("AppRoleAssignment.ReadWrite.All", "06b708a9-e830-4db3-a914-8e69da51d44f", False),
    ("User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca", False),
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214", False),
    ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b", False),
    ("GroupMember.Read.All", "98830695-27a2-44f7-8c18-0c3ebc9698f6", False),
    ("AuditLog.Read.All", "b0afded3-3588-46d8-8b3d-9842eff778da", False),
    ("Application.Read.All", "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", False),
    ("RoleEligibilitySchedule.Read.Directory", "ff278e11-4a33-4d0c-83d2-d01dc58929a5", False),
    ("RoleAssignmentSchedule.Read.Directory", "d5fe8ce8-684c-4c83-a52c-46e882ce4be1", False),
    ("RoleManagementPolicy.Read.Directory", "fdc4c997-9942-4479-bfcb-75a36d1138df", False),
    ("Policy.Read.AuthenticationMethod", "8e3bc81b-d2f3-4b7b-838c-32c88218d2f0", False),
]


@pytest.mark.parametrize(("name", "app_role_id", "tap_writer"), EXPECTED)
def test_permission(name: str, app_role_id: str, tap_writer: bool) -> None:
    assert permission_name(app_role_id) == name
    assert permission_name(app_role_id.upper()) == name
    assert permission_id(name) == app_role_id
    assert permission_id(name.lower()) == app_role_id
    assert (app_role_id in TAP_WRITING_APP_PERMISSIONS) is tap_writer


def test_table_has_nothing_else() -> None:
    assert set(GRAPH_APP_PERMISSIONS) == {row[1] for row in EXPECTED}


def test_tap_writers_and_observed_marks() -> None:
    assert {
        "50483e42-d915-4231-9639-7fdb7fd190e5",
        "627169a8-8c15-451c-861a-5b80e383de5c",
    } == TAP_WRITING_APP_PERMISSIONS
    directory_read_write = "19dbc75e-c2e2-444c-a770-ec69d8559fc7"
    assert directory_read_write not in TAP_WRITING_APP_PERMISSIONS
    observed = {p.name for p in GRAPH_APP_PERMISSIONS.values() if p.observed}
    assert observed == {"UserAuthMethod-TAP.ReadWrite.All", "Policy.Read.AuthenticationMethod"}


def test_graph_app_id_and_unknown_ids() -> None:
    assert MICROSOFT_GRAPH_APP_ID == "00000003-0000-0000-c000-000000000000"
    assert permission_name("00000000-0000-0000-0000-000000000000") is None
    assert permission_id("Mail.Send") is None
