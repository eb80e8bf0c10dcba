"""Service principals, each with its complete Microsoft Graph app-role assignments."""

from __future__ import annotations

from graphlattice.demo._common import (
    MICROSOFT_TENANT_ID,
    Gen,
    Json,
    days_ago,
    hm,
    iso,
)
from graphlattice.demo._directory import Directory
from graphlattice.entra.permissions import MICROSOFT_GRAPH_APP_ID, permission_id
from graphlattice.errors import EntraRuleError


def _app_role(name: str) -> str:
    role_id = permission_id(name)
    if role_id is None:
        raise EntraRuleError(f"the Graph permission table has no {name}")
    return role_id


USER_AUTH_METHOD_RW_ALL = _app_role("UserAuthenticationMethod.ReadWrite.All")
USER_READ_ALL = _app_role("User.Read.All")
AUDIT_LOG_READ_ALL = _app_role("AuditLog.Read.All")
DIRECTORY_READ_ALL = _app_role("Directory.Read.All")
GRAPH_APP_ROLES: tuple[tuple[str, str, str], ...] = (
    (
        USER_AUTH_METHOD_RW_ALL,
        "UserAuthenticationMethod.ReadWrite.All",
        "Read and write all users' authentication methods",
    ),
    (USER_READ_ALL, "User.Read.All", "Read all users' full profiles"),
    (AUDIT_LOG_READ_ALL, "AuditLog.Read.All", "Read all audit log data"),
    (DIRECTORY_READ_ALL, "Directory.Read.All", "Read directory data"),
)

# -- service principals -----------------------------------------------------------------------------------


def service_principals(gen: Gen, directory: Directory, tenant_id: str) -> list[Json]:
    sps = directory.sps
    graph_id = sps.graph

    def grant(principal: str, principal_name: str, role_id: str, created: int) -> Json:
        return {
            "id": gen.b64id(43),
            "appRoleId": role_id,
            "createdDateTime": iso(created),
            "deletedDateTime": None,
            "principalDisplayName": principal_name,
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "resourceDisplayName": "Microsoft Graph",
            "resourceId": graph_id,
        }

    def sp(sid: str, app_id: str, name: str, owner_tenant: str, grants: list[Json], tags: list[str]) -> Json:
        return {
            "id": sid,
            "appId": app_id,
            "displayName": name,
            "accountEnabled": True,
            "servicePrincipalType": "Application",
            "appOwnerOrganizationId": owner_tenant,
            "signInAudience": "AzureADMyOrg" if owner_tenant == tenant_id else "AzureADMultipleOrgs",
            "tags": tags,
            "appRoles": [],
            "appRoleAssignments": grants,
        }

    graph = sp(graph_id, MICROSOFT_GRAPH_APP_ID, "Microsoft Graph", MICROSOFT_TENANT_ID, [], [])
    graph["appRoles"] = [
        {
            "id": rid,
            "value": value,
            "displayName": label,
            "description": f"Allows the app to {label[0].lower()}{label[1:]} without a signed-in user.",
            "allowedMemberTypes": ["Application"],
            "isEnabled": True,
            "origin": "Application",
        }
        for rid, value, label in GRAPH_APP_ROLES
    ]
    automation = "Helpdesk Automation"
    portal = "Staff Directory Portal"
    reporting = "Security Reporting Connector"
    items = [
        graph,
        sp(gen.uuid(), "19db86c3-b2b9-44cc-b339-36da233a3be2", "My Signins", MICROSOFT_TENANT_ID, [], []),
        sp(
            gen.uuid(),
            "0000000c-0000-0000-c000-000000000000",
            "Microsoft App Access Panel",
            MICROSOFT_TENANT_ID,
            [],
            [],
        ),
        sp(
            sps.helpdesk_automation,
            sps.helpdesk_app_id,
            automation,
            tenant_id,
            [
                grant(
                    sps.helpdesk_automation, automation, USER_AUTH_METHOD_RW_ALL, days_ago(420, at=hm(14, 2))
                ),
                grant(sps.helpdesk_automation, automation, USER_READ_ALL, days_ago(420, at=hm(14, 2))),
            ],
            ["WindowsAzureActiveDirectoryIntegratedApp"],
        ),
        sp(
            sps.directory_portal,
            sps.portal_app_id,
            portal,
            tenant_id,
            [
                grant(sps.directory_portal, portal, USER_READ_ALL, days_ago(610, at=hm(11, 40))),
            ],
            ["WindowsAzureActiveDirectoryIntegratedApp"],
        ),
        sp(
            sps.reporting,
            sps.reporting_app_id,
            reporting,
            tenant_id,
            [
                grant(sps.reporting, reporting, AUDIT_LOG_READ_ALL, days_ago(300, at=hm(9, 15))),
                grant(sps.reporting, reporting, DIRECTORY_READ_ALL, days_ago(300, at=hm(9, 15))),
            ],
            ["WindowsAzureActiveDirectoryIntegratedApp"],
        ),
    ]
    return items
