"""Groups, directory roles, PIM schedules and policies, and service principals of the demo tenant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from graphlattice.entra import roles as R
from graphlattice.entra.permissions import MICROSOFT_GRAPH_APP_ID, permission_id
from graphlattice.errors import EntraRuleError
from graphlattice.tenant.demo._common import (
    DAY,
    DOMAIN,
    MICROSOFT_TENANT_ID,
    NOW_TS,
    Gen,
    Json,
    days_ago,
    hm,
    iso,
)
from graphlattice.tenant.demo._people import DEPARTMENTS, NO_DEPT, Roster

# Microsoft Graph application permissions (app-role ids on the Microsoft Graph service principal).


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

ROLE_NAMES: dict[str, tuple[str, str]] = {
    R.GLOBAL_ADMINISTRATOR: (
        "Global Administrator",
        "Manages every aspect of the directory and its services.",
    ),
    R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: (
        "Privileged Authentication Administrator",
        "Manages authentication methods of every user, admins included.",
    ),
    R.AUTHENTICATION_ADMINISTRATOR: (
        "Authentication Administrator",
        "Manages authentication methods of users without admin roles.",
    ),
    R.HELPDESK_ADMINISTRATOR: (
        "Helpdesk Administrator",
        "Resets passwords of non-admins and helpdesk admins.",
    ),
    R.USER_ADMINISTRATOR: ("User Administrator", "Manages users and groups, with limits on admin accounts."),
    R.PRIVILEGED_ROLE_ADMINISTRATOR: ("Privileged Role Administrator", "Manages role assignments and PIM."),
    R.SECURITY_ADMINISTRATOR: ("Security Administrator", "Manages security features and policies."),
    R.CONDITIONAL_ACCESS_ADMINISTRATOR: ("Conditional Access Administrator", "Manages Conditional Access."),
    R.AUTHENTICATION_POLICY_ADMINISTRATOR: (
        "Authentication Policy Administrator",
        "Manages the authentication methods policy.",
    ),
    R.GLOBAL_READER: ("Global Reader", "Reads everything a Global Administrator can, changes nothing."),
    R.SECURITY_READER: ("Security Reader", "Reads security information and reports."),
    R.REPORTS_READER: ("Reports Reader", "Reads usage and sign-in reports."),
    R.PASSWORD_ADMINISTRATOR: ("Password Administrator", "Resets passwords of non-admins."),
    R.GROUPS_ADMINISTRATOR: ("Groups Administrator", "Manages groups and group settings."),
}
_ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
    R.GLOBAL_ADMINISTRATOR: (
        "microsoft.directory/users/allProperties/allTasks",
        "microsoft.directory/groups/allProperties/allTasks",
        "microsoft.directory/roleAssignments/allProperties/allTasks",
        "microsoft.directory/users/authenticationMethods/create",
        "microsoft.directory/users/authenticationMethods/delete",
    ),
    R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: (
        "microsoft.directory/users/authenticationMethods/create",
        "microsoft.directory/users/authenticationMethods/delete",
        "microsoft.directory/users/password/update",
        "microsoft.directory/users/invalidateAllRefreshTokens",
    ),
    R.AUTHENTICATION_ADMINISTRATOR: (
        "microsoft.directory/users/authenticationMethods/create",
        "microsoft.directory/users/authenticationMethods/delete",
        "microsoft.directory/users/password/update",
        "microsoft.directory/users/invalidateAllRefreshTokens",
    ),
    R.HELPDESK_ADMINISTRATOR: (
        "microsoft.directory/users/password/update",
        "microsoft.directory/users/invalidateAllRefreshTokens",
    ),
    R.PASSWORD_ADMINISTRATOR: ("microsoft.directory/users/password/update",),
}

# Roles whose activation needs an approver (others, notably Authentication Administrator, do not).
APPROVAL_REQUIRED = frozenset(
    {
        R.GLOBAL_ADMINISTRATOR,
        R.PRIVILEGED_ROLE_ADMINISTRATOR,
        R.SECURITY_ADMINISTRATOR,
        R.CONDITIONAL_ACCESS_ADMINISTRATOR,
    }
)
_MAX_ACTIVATION = {R.GLOBAL_ADMINISTRATOR: "PT4H"}

Kind = Literal["standing", "eligible"]

# (persona, role, kind, scope) for the cast; "au" scope means the EMEA administrative unit.
PERSONA_ROLES: tuple[tuple[str, str, Kind, str], ...] = (
    ("defender", R.GLOBAL_ADMINISTRATOR, "eligible", "/"),
    ("breakglass1", R.GLOBAL_ADMINISTRATOR, "standing", "/"),
    ("breakglass2", R.GLOBAL_ADMINISTRATOR, "standing", "/"),
    ("operator", R.AUTHENTICATION_ADMINISTRATOR, "standing", "/"),
    ("paa", R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, "eligible", "/"),
    ("helpdesk_aa", R.HELPDESK_ADMINISTRATOR, "standing", "/"),
    ("helpdesk_aa", R.AUTHENTICATION_ADMINISTRATOR, "eligible", "/"),
    ("helpdesk", R.HELPDESK_ADMINISTRATOR, "standing", "/"),
    ("pra", R.PRIVILEGED_ROLE_ADMINISTRATOR, "eligible", "/"),
    ("secadmin", R.SECURITY_ADMINISTRATOR, "eligible", "/"),
    ("au_aa", R.AUTHENTICATION_ADMINISTRATOR, "standing", "au"),
    ("useradmin", R.USER_ADMINISTRATOR, "standing", "/"),
)
# tier0 holds Global Administrator through the role-assignable group "Tier0 Platform Admins".
PERSONA_ADMINS = frozenset({p for p, _, _, _ in PERSONA_ROLES} | {"tier0"})

_POPULATION_ROLES: tuple[tuple[str, Kind, float], ...] = (
    (R.HELPDESK_ADMINISTRATOR, "eligible", 25),
    (R.USER_ADMINISTRATOR, "eligible", 10),
    (R.GLOBAL_READER, "standing", 15),
    (R.SECURITY_READER, "standing", 15),
    (R.REPORTS_READER, "standing", 10),
    (R.PASSWORD_ADMINISTRATOR, "standing", 10),
    (R.GROUPS_ADMINISTRATOR, "eligible", 10),
    (R.CONDITIONAL_ACCESS_ADMINISTRATOR, "eligible", 5),
)

# Times of the PIM activations that are live at DEMO_NOW (the logs write the matching audit records).
DEFENDER_ACTIVATION = (days_ago(0, at=hm(8, 10)), days_ago(0, at=hm(12, 10)))
HELPDESK_AA_ACTIVATION = (days_ago(0, at=hm(8, 21)), days_ago(0, at=hm(16, 21)))
HELPDESK_AA_ELIGIBLE_SINCE = days_ago(12, at=hm(10, 4))


@dataclass(frozen=True, slots=True)
class Grant:
    principal_id: str
    principal_type: Literal["user", "group"]
    role: str
    kind: Kind
    scope: str
    start: int
    end: int | None = None
    activation: tuple[int, int] | None = None  # eligible and activated right now


@dataclass
class SpecialGroups:
    tier0: str
    service_desk: str
    breakglass: str
    kiosk: str
    tap_enrolment: str
    approvers: str
    partners: str


@dataclass
class ServicePrincipals:
    graph: str
    helpdesk_automation: str
    directory_portal: str
    reporting: str
    helpdesk_app_id: str
    portal_app_id: str
    reporting_app_id: str


@dataclass
class Directory:
    tenant_id: str
    au_id: str
    groups: SpecialGroups
    grants: list[Grant]
    sps: ServicePrincipals
    role_policy_ids: dict[str, str]
    team_count: int


def plan_directory(gen: Gen, roster: Roster, tenant_id: str) -> Directory:
    groups = SpecialGroups(*(gen.uuid() for _ in range(7)))
    au_id = gen.uuid()
    grants: list[Grant] = []
    for key, role, kind, scope in PERSONA_ROLES:
        index = roster.at(key)
        start = roster.created[index] + 2 * DAY
        activation = None
        end = None
        if key == "defender":
            activation = DEFENDER_ACTIVATION
        if key == "helpdesk_aa" and role == R.AUTHENTICATION_ADMINISTRATOR:
            activation = HELPDESK_AA_ACTIVATION
            start = HELPDESK_AA_ELIGIBLE_SINCE
            end = start + 180 * DAY
        grants.append(
            Grant(
                roster.ids[index],
                "user",
                role,
                kind,
                "/" if scope == "/" else f"/administrativeUnits/{au_id}",
                start,
                end,
                activation,
            )
        )
    tier0_start = roster.created[roster.at("tier0")] + 30 * DAY
    grants.append(Grant(groups.tier0, "group", R.GLOBAL_ADMINISTRATOR, "standing", "/", tier0_start))
    weights = [w for _, _, w in _POPULATION_ROLES]
    for index in roster.population_admins:
        role, kind, _ = gen.rng.choices(_POPULATION_ROLES, weights=weights)[0]
        start = roster.created[index] + gen.randint(5, 200) * DAY
        start = min(start, NOW_TS - 20 * DAY)
        end = start + 365 * DAY if kind == "eligible" and gen.random() < 0.5 else None
        grants.append(Grant(roster.ids[index], "user", role, kind, "/", start, end))
    used = sorted({g.role for g in grants} | {R.AUTHENTICATION_ADMINISTRATOR})
    role_policy_ids = {role: f"DirectoryRole_{tenant_id}_{gen.uuid()}" for role in used}
    sps = ServicePrincipals(*(gen.uuid() for _ in range(7)))
    team_count = max(4, len(roster) // 150)
    return Directory(tenant_id, au_id, groups, grants, sps, role_policy_ids, team_count)


# -- roles ------------------------------------------------------------------------------------------------


def role_definitions(directory: Directory) -> list[Json]:
    out: list[Json] = []
    for role in directory.role_policy_ids:
        name, description = ROLE_NAMES[role]
        actions = _ROLE_ACTIONS.get(role, ("microsoft.directory/users/standard/read",))
        out.append(
            {
                "id": role,
                "description": description,
                "displayName": name,
                "isBuiltIn": True,
                "isEnabled": True,
                "resourceScopes": ["/"],
                "templateId": role,
                "version": "1",
                "rolePermissions": [{"allowedResourceActions": list(actions), "condition": None}],
            }
        )
    return out


def role_assignments(gen: Gen, directory: Directory, roster: Roster) -> tuple[list[Json], list[Json]]:
    """Active assignments and their schedule instances (standing ones and live PIM activations)."""
    assignments: list[Json] = []
    instances: list[Json] = []
    tier0_members = [roster.ids[roster.at("tier0")]]
    for grant in directory.grants:
        window: tuple[int, int | None]
        if grant.kind == "standing":
            window = (grant.start, grant.end)
            assignment_type = "Assigned"
        elif grant.activation is not None:
            window = grant.activation
            assignment_type = "Activated"
        else:
            continue
        assignment_id = gen.b64id(43) + "-1"
        assignments.append(
            {
                "id": assignment_id,
                "principalId": grant.principal_id,
                "roleDefinitionId": grant.role,
                "directoryScopeId": grant.scope,
            }
        )
        schedule_id = gen.uuid()
        base = {
            "roleDefinitionId": grant.role,
            "directoryScopeId": grant.scope,
            "appScopeId": None,
            "startDateTime": iso(window[0]),
            "endDateTime": iso(window[1]) if window[1] else None,
            "assignmentType": assignment_type,
            "roleAssignmentOriginId": assignment_id,
            "roleAssignmentScheduleId": schedule_id,
        }
        instances.append(
            {"id": assignment_id, "principalId": grant.principal_id, "memberType": "Direct", **base}
        )
        if grant.principal_type == "group":
            for member in tier0_members:
                instances.append(
                    {"id": gen.b64id(43) + "-1-g", "principalId": member, "memberType": "Group", **base}
                )
    return assignments, instances


def role_eligibilities(gen: Gen, directory: Directory) -> list[Json]:
    out: list[Json] = []
    for grant in directory.grants:
        if grant.kind != "eligible":
            continue
        schedule_id = gen.uuid()
        expiration: Json = (
            {"type": "afterDateTime", "endDateTime": iso(grant.end), "duration": None}
            if grant.end
            else {"type": "noExpiration", "endDateTime": None, "duration": None}
        )
        out.append(
            {
                "id": schedule_id,
                "principalId": grant.principal_id,
                "roleDefinitionId": grant.role,
                "directoryScopeId": grant.scope,
                "appScopeId": None,
                "createdUsing": schedule_id,
                "createdDateTime": iso(grant.start),
                "modifiedDateTime": None,
                "status": "Provisioned",
                "memberType": "Direct",
                "scheduleInfo": {
                    "startDateTime": iso(grant.start),
                    "recurrence": None,
                    "expiration": expiration,
                },
            }
        )
    return out


def _target(caller: str, level: str) -> Json:
    return {
        "caller": caller,
        "operations": ["all"],
        "level": level,
        "inheritableSettings": [],
        "enforcedSettings": [],
    }


def _rules(role: str, approvers_group: str) -> list[Json]:
    approval = role in APPROVAL_REQUIRED
    ns = "#microsoft.graph.unifiedRoleManagementPolicy"
    stage = {
        "approvalStageTimeOutInDays": 1,
        "isApproverJustificationRequired": True,
        "escalationTimeInMinutes": 0,
        "isEscalationEnabled": False,
        "primaryApprovers": (
            [
                {
                    "@odata.type": "#microsoft.graph.groupMembers",
                    "groupId": approvers_group,
                    "description": "PIM Approvers",
                }
            ]
            if approval
            else []
        ),
        "escalationApprovers": [],
    }
    rules: list[Json] = [
        {
            "@odata.type": ns + "ApprovalRule",
            "id": "Approval_EndUser_Assignment",
            "setting": {
                "isApprovalRequired": approval,
                "isApprovalRequiredForExtension": False,
                "isRequestorJustificationRequired": True,
                "approvalMode": "SingleStage",
                "approvalStages": [stage],
            },
            "target": _target("EndUser", "Assignment"),
        },
        {
            "@odata.type": ns + "AuthenticationContextRule",
            "id": "AuthenticationContext_EndUser_Assignment",
            "isEnabled": False,
            "claimValue": "",
            "target": _target("EndUser", "Assignment"),
        },
        {
            "@odata.type": ns + "EnablementRule",
            "id": "Enablement_EndUser_Assignment",
            "enabledRules": ["MultiFactorAuthentication", "Justification"],
            "target": _target("EndUser", "Assignment"),
        },
        {
            "@odata.type": ns + "ExpirationRule",
            "id": "Expiration_EndUser_Assignment",
            "isExpirationRequired": True,
            "maximumDuration": _MAX_ACTIVATION.get(role, "PT8H"),
            "target": _target("EndUser", "Assignment"),
        },
        {
            "@odata.type": ns + "EnablementRule",
            "id": "Enablement_Admin_Eligibility",
            "enabledRules": [],
            "target": _target("Admin", "Eligibility"),
        },
        {
            "@odata.type": ns + "ExpirationRule",
            "id": "Expiration_Admin_Eligibility",
            "isExpirationRequired": False,
            "maximumDuration": "P365D",
            "target": _target("Admin", "Eligibility"),
        },
        {
            "@odata.type": ns + "EnablementRule",
            "id": "Enablement_Admin_Assignment",
            "enabledRules": ["Justification"],
            "target": _target("Admin", "Assignment"),
        },
        {
            "@odata.type": ns + "ExpirationRule",
            "id": "Expiration_Admin_Assignment",
            "isExpirationRequired": False,
            "maximumDuration": "P180D",
            "target": _target("Admin", "Assignment"),
        },
    ]
    for recipient in ("Admin", "Requestor", "Approver"):
        for caller, level, suffix in (
            ("Admin", "Eligibility", "Admin_Eligibility"),
            ("Admin", "Assignment", "Admin_Assignment"),
            ("EndUser", "Assignment", "EndUser_Assignment"),
        ):
            rules.append(
                {
                    "@odata.type": ns + "NotificationRule",
                    "id": f"Notification_{recipient}_{suffix}",
                    "notificationType": "Email",
                    "recipientType": recipient,
                    "notificationLevel": "All",
                    "isDefaultRecipientsEnabled": True,
                    "notificationRecipients": [],
                    "target": _target(caller, level),
                }
            )
    return rules


def role_policies(directory: Directory, defender: tuple[str, str]) -> tuple[list[Json], list[Json]]:
    policies: list[Json] = []
    assignments: list[Json] = []
    modified = iso(days_ago(210, at=hm(13, 5)))
    for role, policy_id in directory.role_policy_ids.items():
        policies.append(
            {
                "id": policy_id,
                "displayName": "DirectoryRole",
                "description": "DirectoryRole",
                "isOrganizationDefault": False,
                "scopeId": "/",
                "scopeType": "DirectoryRole",
                "lastModifiedDateTime": modified,
                "lastModifiedBy": {"displayName": defender[1], "id": defender[0]},
                "rules": _rules(role, directory.groups.approvers),
            }
        )
        assignments.append(
            {
                "id": f"{policy_id}_{role}",
                "policyId": policy_id,
                "roleDefinitionId": role,
                "scopeId": "/",
                "scopeType": "DirectoryRole",
            }
        )
    return policies, assignments


# -- groups -----------------------------------------------------------------------------------------------


def _group(
    gid: str,
    name: str,
    description: str,
    created: int,
    members: list[Json],
    owners: list[Json],
    *,
    assignable: bool = False,
    unified: bool = False,
) -> Json:
    nickname = "".join(ch for ch in name.lower() if ch.isalnum())[:56]
    return {
        "id": gid,
        "displayName": name,
        "description": description,
        "mailNickname": nickname,
        "mail": f"{nickname}@{DOMAIN}" if unified else None,
        "mailEnabled": unified,
        "securityEnabled": not unified,
        "groupTypes": ["Unified"] if unified else [],
        "isAssignableToRole": assignable,
        "visibility": "Private" if unified else None,
        "membershipRule": None,
        "onPremisesSyncEnabled": None,
        "createdDateTime": iso(created),
        "members": members,
        "owners": owners,
    }


_TEAM_TOPICS = (
    "Apollo",
    "Harbour",
    "Northstar",
    "Quarterly Close",
    "Onboarding",
    "Atlas",
    "Beacon",
    "Delta",
    "Evergreen",
    "Falcon",
    "Horizon",
    "Lighthouse",
    "Meridian",
    "Orbit",
    "Pioneer",
    "Summit",
)


def iter_groups(gen: Gen, directory: Directory, roster: Roster) -> Iterator[Json]:
    """Yield every group with complete members and owners (department groups can be very large)."""
    g = directory.groups
    ref = roster.ref
    at = roster.at
    yield _group(
        g.tier0,
        "Tier0 Platform Admins",
        "Platform engineers holding Global Administrator.",
        days_ago(700),
        [ref(at("tier0"))],
        [],
        assignable=True,
    )
    yield _group(
        g.service_desk,
        "Service Desk Tier 2",
        "Senior service desk staff (planned role group).",
        days_ago(500),
        [ref(at("operator")), ref(at("helpdesk_aa")), ref(at("helpdesk"))],
        [],
        assignable=True,
    )
    yield _group(
        g.breakglass,
        "Break Glass - CA Exclusion",
        "Emergency access accounts excluded from Conditional Access.",
        days_ago(1390),
        [ref(at("breakglass1")), ref(at("breakglass2"))],
        [],
        assignable=True,
    )
    yield _group(
        g.kiosk,
        "Legacy Kiosk Devices - MFA Exclusion",
        "Shared kiosk accounts that cannot do MFA. Excluded from the MFA policy.",
        days_ago(980),
        [ref(at("kiosk1")), ref(at("kiosk2"))],
        [ref(at("kiosk_owner"))],
    )
    yield _group(
        g.tap_enrolment,
        "TAP Enrolment - New Joiners",
        "New joiners who may receive a Temporary Access Pass for first registration.",
        days_ago(400),
        [ref(at("joiner")), ref(at("onboarded"))],
        [ref(at("helpdesk_aa"))],
    )
    yield _group(
        g.approvers,
        "PIM Approvers",
        "Approves activation of privileged roles.",
        days_ago(800),
        [ref(at("defender")), ref(at("pra"))],
        [ref(at("defender"))],
    )
    guests = [i for i in range(len(roster)) if roster.is_guest(i)]
    yield _group(
        g.partners,
        "External Partners",
        "Guests from partner organisations.",
        days_ago(600),
        [ref(i) for i in guests],
        [ref(at("useradmin"))],
    )

    by_dept: list[list[int]] = [[] for _ in DEPARTMENTS]
    members_pool: list[int] = []
    for i, d in enumerate(roster.dept):
        if d != NO_DEPT and not roster.is_guest(i):
            by_dept[d].append(i)
            members_pool.append(i)
    for d, name in enumerate(DEPARTMENTS):
        indexes = by_dept[d]
        owners = [ref(indexes[0])] if indexes and d % 2 == 0 else []
        yield _group(
            gen.uuid(),
            f"Dept - {name}",
            f"Everyone in {name}.",
            days_ago(1600 - d),
            [ref(i) for i in indexes],
            owners,
        )
    rng = gen.rng
    for t in range(directory.team_count):
        size = min(len(members_pool), rng.randint(6, 25))
        chosen = sorted(rng.sample(members_pool, size))
        owners = [ref(chosen[0])] + ([ref(chosen[1])] if size > 1 and rng.random() < 0.4 else [])
        topic = _TEAM_TOPICS[t % len(_TEAM_TOPICS)]
        yield _group(
            gen.uuid(),
            f"Team {topic} {t // len(_TEAM_TOPICS) + 1}",
            f"Collaboration space for {topic}.",
            NOW_TS - rng.randrange(20 * DAY, 1200 * DAY),
            [ref(i) for i in chosen],
            owners,
            unified=True,
        )


def group_members(directory: Directory, roster: Roster) -> dict[str, list[int]]:
    """Membership of the special groups, by roster index (CA and logs need it)."""
    at = roster.at
    g = directory.groups
    return {
        g.tier0: [at("tier0")],
        g.breakglass: [at("breakglass1"), at("breakglass2")],
        g.kiosk: [at("kiosk1"), at("kiosk2")],
    }


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
