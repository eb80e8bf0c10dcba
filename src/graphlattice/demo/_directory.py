"""The plan of the directory: who holds which role, how, and the ids of groups and apps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from graphlattice.demo._common import (
    DAY,
    NOW_TS,
    Gen,
    days_ago,
    hm,
)
from graphlattice.demo._people import Roster
from graphlattice.entra import roles as R

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
ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
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
MAX_ACTIVATION = {R.GLOBAL_ADMINISTRATOR: "PT4H"}

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


def _office_hours(gen: Gen, ts: int) -> int:
    """The same day, at a random time between 08:00 and 17:00 UTC."""
    return ts - ts % DAY + 8 * 3600 + gen.randint(0, 9 * 3600)


def plan_directory(gen: Gen, roster: Roster, tenant_id: str) -> Directory:
    groups = SpecialGroups(*(gen.uuid() for _ in range(7)))
    au_id = gen.uuid()
    grants: list[Grant] = []
    for key, role, kind, scope in PERSONA_ROLES:
        index = roster.at(key)
        start = _office_hours(gen, roster.created[index] + 2 * DAY)
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
    tier0_start = _office_hours(gen, roster.created[roster.at("tier0")] + 30 * DAY)
    grants.append(Grant(groups.tier0, "group", R.GLOBAL_ADMINISTRATOR, "standing", "/", tier0_start))
    weights = [w for _, _, w in _POPULATION_ROLES]
    for index in roster.population_admins:
        role, kind, _ = gen.rng.choices(_POPULATION_ROLES, weights=weights)[0]
        start = _office_hours(gen, min(roster.created[index] + gen.randint(5, 200) * DAY, NOW_TS - 20 * DAY))
        end = NOW_TS + gen.randint(30, 330) * DAY if kind == "eligible" and gen.random() < 0.5 else None
        grants.append(Grant(roster.ids[index], "user", role, kind, "/", start, end))
    used = sorted({g.role for g in grants} | {R.AUTHENTICATION_ADMINISTRATOR})
    role_policy_ids = {role: f"DirectoryRole_{tenant_id}_{gen.uuid()}" for role in used}
    sps = ServicePrincipals(*(gen.uuid() for _ in range(7)))
    team_count = max(4, len(roster) // 150)
    return Directory(tenant_id, au_id, groups, grants, sps, role_policy_ids, team_count)
