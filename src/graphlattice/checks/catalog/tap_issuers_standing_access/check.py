"""tap-issuers-standing-access: who can create a Temporary Access Pass without a just-in-time approval step.

Issuers are holders of the TAP-issuing roles (``entra.roles.TAP_ISSUER_ROLES``) by any path — direct, through
a role-assignable group, or scoped to an administrative unit — and service principals holding a TAP-writing
Microsoft Graph application permission. A holder fails when the role is standing (active, not a PIM
activation) or eligible with an activation that needs no approval; app permissions are always standing.
Declared break-glass accounts with standing Global Administrator are accepted and listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphlattice.checks.context import CheckContext
from graphlattice.checks.coverage import collection_cause, unread_gap, unresolved_gap
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Cause, Finding, Gap, PreCheck
from graphlattice.checks.tap_scope import tap_usable_users
from graphlattice.entra.authority import ELIGIBLE_ROLES_PROTECT_TARGET, Action, TargetProfile, decide
from graphlattice.entra.permissions import (
    MICROSOFT_GRAPH_APP_ID,
    TAP_WRITING_APP_PERMISSIONS,
    permission_name,
)
from graphlattice.entra.roles import GLOBAL_ADMINISTRATOR, TAP_ISSUER_ROLES, role_display_name
from graphlattice.entra.tap import TapPolicy
from graphlattice.errors import InputError
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.model import RoleGrant, Tenant, parse_time

_NAMES_SHOWN = 5
_ISSUER_ROLES = frozenset(r.casefold() for r in TAP_ISSUER_ROLES)
_TAP_PERMISSIONS = frozenset(p.casefold() for p in TAP_WRITING_APP_PERMISSIONS)
_GA = GLOBAL_ADMINISTRATOR.casefold()


@dataclass(slots=True)
class _Issuer:
    """One principal's ways to issue a pass, split by how acceptable each is."""

    failing: list[str] = field(default_factory=list)  # "role — path — why" lines that fail
    failing_roles: set[str] = field(default_factory=set)  # tenant-wide issuer roles usable without approval
    scoped_only: list[str] = field(default_factory=list)  # AU/object scopes of failing grants
    app_permissions: list[str] = field(default_factory=list)
    standing: bool = False
    no_approval: bool = False


def _path(tenant: Tenant, grant: RoleGrant) -> str:
    parts = [f"group {tenant.display_name(grant.via_group_id)}" if grant.via_group_id else "direct"]
    if grant.scope.lower().startswith("/administrativeunits/"):
        parts.append(f"AU-scoped {grant.scope}")
    elif not grant.tenant_wide:
        parts.append(f"scoped to object {grant.scope}")
    else:
        parts.append("tenant-wide")
    return ", ".join(parts)


def _approval(tenant: Tenant, role_id: str) -> tuple[bool | None, str]:
    """Whether activating ``role_id`` needs approval; None (with the reason) when the policy cannot tell."""
    return tenant.activation_approval(role_id)


def _active_until(tenant: Tenant) -> dict[str, str]:
    """Assignment id -> end of an active (not activated) time-bound assignment, from schedule instances."""
    out: dict[str, str] = {}
    for inst in tenant.role_schedule_instances or ():
        if str(inst.get("assignmentType", "")).lower() != "assigned":
            continue
        end = parse_time(inst.get("endDateTime"))
        if end is None:
            continue
        for key in ("roleAssignmentOriginId", "id"):
            value = inst.get(key)
            if isinstance(value, str) and value:
                out[value.lower()] = end.strftime("%Y-%m-%d")
    return out


_PLAIN = TargetProfile(role_ids=frozenset())


class _Reach:
    """How many enabled users each set of issuing roles may issue a pass to (one pass over users)."""

    def __init__(self, tenant: Tenant, policy: TapPolicy | None) -> None:
        self.tenant = tenant
        self.profiles: Counter[TargetProfile] = Counter()
        self.in_scope: Counter[TargetProfile] = Counter()
        self.total = 0
        self._cache: dict[frozenset[str], tuple[int, int]] = {}
        self.policy = policy
        self.usable = tap_usable_users(tenant, policy) if policy is not None else frozenset()
        for user in tenant.users.values():
            if user.account_enabled is False:
                continue
            self.total += 1
            profile = self.profile(user.id)
            self.profiles[profile] += 1
            if user.id in self.usable:
                self.in_scope[profile] += 1

    def profile(self, user_id: str) -> TargetProfile:
        t = self.tenant
        protected_by_group = user_id in t.role_assignable_members
        if not protected_by_group and not t.grants_of(user_id):
            return _PLAIN  # most users: no role, no role-assignable group
        roles = t.any_role_ids(user_id) if ELIGIBLE_ROLES_PROTECT_TARGET else t.active_role_ids(user_id)
        return TargetProfile(role_ids=roles, in_role_assignable_group=protected_by_group)

    def count(self, roles: frozenset[str]) -> tuple[int, int]:
        if roles not in self._cache:
            reach = scope = 0
            for profile, n in self.profiles.items():
                if decide(Action.MANAGE_AUTH_METHODS, roles, profile).allowed:
                    reach += n
                    scope += self.in_scope.get(profile, 0)
            self._cache[roles] = (reach, scope)
        return self._cache[roles]

    def describe(self, principal_id: str, issuer: _Issuer) -> str:
        t = self.tenant
        if issuer.app_permissions:
            reach, scope = self.total, sum(self.in_scope.values())
        elif issuer.failing_roles:
            reach, scope = self.count(frozenset(issuer.failing_roles))
            user = t.users.get(principal_id)
            if user is not None and user.account_enabled is not False:
                own = self.profile(principal_id)
                if decide(Action.MANAGE_AUTH_METHODS, issuer.failing_roles, own).allowed:
                    reach -= 1  # nobody may issue a pass to themselves
                    if principal_id in self.usable:
                        scope -= 1
        else:
            return (
                "limited to the users of "
                + ", ".join(sorted(set(issuer.scoped_only)))
                + " it may manage (unit membership is not collected)"
            )
        text = f"can issue a pass to {reach} of {self.total} enabled users"
        if self.policy is not None:
            text += f", {scope} of whom can use one under the current TAP policy"
        return text


def _tap_policy(tenant: Tenant) -> TapPolicy | None:
    if not tenant.available.get("authenticationMethodsPolicy", False):
        return None
    try:
        policy = TapPolicy.from_graph(tenant.method_configuration("TemporaryAccessPass"))
    except InputError:
        return None
    return policy


@register("tap-issuers-standing-access")
def evaluate(ctx: CheckContext) -> Finding:
    tenant = ctx.tenant
    available = tenant.available
    activation_known = available.get("roleAssignmentScheduleInstances", False)
    glass = {u.id for key in ctx.config.break_glass if (u := tenant.user_by_upn_or_id(key)) is not None}
    until = _active_until(tenant)

    issuers: dict[str, _Issuer] = {}
    accepted: list[dict[str, Any]] = []
    gated: list[dict[str, Any]] = []
    activated: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    unresolved: set[str] = set()
    approvals: dict[str, tuple[bool | None, str]] = {}

    for grant in tenant.role_grants:
        role = grant.role_id
        if role not in _ISSUER_ROLES:
            continue
        name = role_display_name(role)
        principal = grant.principal_id
        if principal in tenant.groups:
            group = tenant.groups[principal]
            groups.append(
                {
                    "id": principal,
                    "displayName": group.display_name,
                    "role": name,
                    "kind": grant.kind,
                    "scope": grant.scope,
                    "users": len(tenant.members_of(principal)),
                    "owners": sorted(tenant.display_name(o) for o in group.owner_ids),
                }
            )
            continue
        if principal not in tenant.users and principal not in tenant.service_principals:
            unresolved.add(principal)
            continue
        path = _path(tenant, grant)
        row = {"id": principal, "displayName": tenant.display_name(principal), "role": name, "path": path}
        if grant.kind == "activated":
            activated.append(row)
            continue
        if grant.kind == "standing":
            if principal in glass and role == _GA and grant.tenant_wide:
                accepted.append(row)
                continue
            end = until.get(grant.assignment_id)
            why = f"standing (active until {end})" if end else "standing (active, permanent)"
            if not activation_known:
                why += "; activations were not read, so this may be a PIM activation"
        else:
            if role not in approvals:
                approvals[role] = _approval(tenant, role)
            needed, reason = approvals[role]
            if needed is True:
                gated.append(row)
                continue
            if needed is None:
                unknown.append({**row, "reason": reason})
                continue
            why = "eligible, activation needs no approval"
        issuer = issuers.setdefault(principal, _Issuer())
        line = f"{name} — {path} — {why}"
        if line not in issuer.failing:
            issuer.failing.append(line)
        if grant.kind == "standing":
            issuer.standing = True
        else:
            issuer.no_approval = True
        if grant.tenant_wide:
            issuer.failing_roles.add(role)
        else:
            issuer.scoped_only.append(grant.scope)

    _apps(tenant, issuers)

    not_evaluated = [
        n for n in ("roleEligibilitySchedules", "servicePrincipals") if not available.get(n, False)
    ]
    gaps = _gaps(tenant, unknown, unresolved, not_evaluated)

    policy = _tap_policy(tenant)
    reach = _Reach(tenant, policy)
    affected: list[Affected] = []
    for pid in sorted(issuers, key=lambda i: tenant.display_name(i).lower()):
        issuer = issuers[pid]
        lines = [*issuer.failing, *issuer.app_permissions]
        user = tenant.users.get(pid)
        suffix = " (account disabled)" if user is not None and user.account_enabled is False else ""
        detail = "; ".join(lines) + f"{suffix}. Reach: {reach.describe(pid, issuer)}."
        affected.append(ctx.affected(pid, detail))

    evidence: dict[str, Any] = {
        "activationStateKnown": activation_known,
        "acceptedBreakGlass": accepted,
        "approvalRequired": gated,
        "activatedNow": activated,
        "approvalUnknown": unknown,
        "issuerGroups": groups,
    }
    if not activation_known:
        evidence["note"] = (
            "roleAssignmentScheduleInstances was not read: every active assignment is counted as standing."
        )
    if unresolved:
        evidence["unresolvedPrincipals"] = sorted(unresolved)
    if not_evaluated:
        evidence["notEvaluated"] = sorted(not_evaluated)
    prechecks = _prechecks(ctx, issuers, reach, accepted, activation_known)

    if issuers:
        standing = sum(1 for i in issuers.values() if i.standing and not i.app_permissions)
        eligible = sum(
            1 for i in issuers.values() if i.no_approval and not i.standing and not i.app_permissions
        )
        apps = sum(1 for i in issuers.values() if i.app_permissions)
        reasons = [f"{a.display_name}: {a.detail}" for a in affected]
        parts = [
            f"{standing} with a standing role" if standing else "",
            f"{eligible} eligible without approval" if eligible else "",
            f"{apps} app(s) with a TAP-writing permission" if apps else "",
        ]
        summary = (
            f"{len(issuers)} principal(s) can issue a TAP without approval: "
            + ", ".join(p for p in parts if p)
            + "."
        )
        return ctx.failed(
            summary, affected=affected, reasons=reasons, evidence=evidence, prechecks=prechecks, gaps=gaps
        )
    return ctx.passed(
        f"Every TAP issuer must activate with approval ({len(gated)} eligible assignment(s)); "
        f"{len(accepted)} break-glass account(s) accepted.",
        evidence=evidence,
        prechecks=prechecks,
        gaps=gaps,
    )


def _gaps(
    tenant: Tenant, unknown: list[dict[str, Any]], unresolved: set[str], unread: list[str]
) -> list[Gap]:
    """What keeps the list of issuers without approval from being complete."""
    gaps: list[Gap] = []
    if unknown:
        lost = [
            n
            for n in ("roleManagementPolicies", "roleManagementPolicyAssignments")
            if not tenant.available.get(n, False)
        ]
        gaps.append(
            Gap(
                f"the approval requirement of {len(unknown)} eligible issuer assignment(s) is unknown ("
                + "; ".join(sorted({f"{u['role']}: {u['reason']}" for u in unknown}))
                + ")",
                collection_cause(tenant, lost[0]) if lost else Cause.DATA,
                (COLLECTIONS["roleManagementPolicies"].permission,),
            )
        )
    lost_holders = unresolved_gap(
        tenant, sorted(unresolved), "whether they can issue a pass without approval is unknown"
    )
    if lost_holders is not None:
        gaps.append(lost_holders)
    consequences = {
        "roleEligibilitySchedules": "eligible issuers and their approval settings are missing",
        "servicePrincipals": "applications holding a TAP-writing permission are missing",
    }
    gaps.extend(unread_gap(tenant, name, consequences[name]) for name in unread)
    return gaps


def _apps(tenant: Tenant, issuers: dict[str, _Issuer]) -> None:
    """Service principals holding a TAP-writing Microsoft Graph application permission."""
    graph_ids = {sp.id for sp in tenant.service_principals.values() if sp.app_id == MICROSOFT_GRAPH_APP_ID}
    for sp in tenant.service_principals.values():
        if not sp.app_role_ids & _TAP_PERMISSIONS:
            continue
        for assignment in sp.raw.get("appRoleAssignments") or ():
            if not isinstance(assignment, Mapping):
                continue
            role_id = str(assignment.get("appRoleId", "")).lower()
            if role_id not in _TAP_PERMISSIONS:
                continue
            resource = str(assignment.get("resourceId") or "").lower()
            if graph_ids and resource and resource not in graph_ids:
                continue  # the same id on another API is not a Graph permission
            where = "Microsoft Graph" if resource in graph_ids else "resource not verified as Microsoft Graph"
            line = (
                f"{permission_name(role_id) or role_id} — application permission ({where}) — standing "
                "(app permissions cannot be activated just in time)"
            )
            if sp.raw.get("accountEnabled") is False:
                line += " (service principal disabled)"
            issuer = issuers.setdefault(sp.id, _Issuer())
            if line not in issuer.app_permissions:
                issuer.app_permissions.append(line)
            issuer.standing = True


def _prechecks(
    ctx: CheckContext,
    issuers: dict[str, _Issuer],
    reach: _Reach,
    accepted: list[dict[str, Any]],
    activation_known: bool,
) -> list[PreCheck]:
    tenant = ctx.tenant
    out: list[PreCheck] = []
    if issuers:
        ordered = sorted(issuers, key=lambda i: tenant.display_name(i).lower())
        parts = []
        for pid in ordered[:_NAMES_SHOWN]:
            issuer = issuers[pid]
            roles = sorted({line.split(" — ")[0] for line in [*issuer.failing, *issuer.app_permissions]})
            parts.append(f"{tenant.display_name(pid)} ({', '.join(roles)}) {reach.describe(pid, issuer)}")
        more = len(ordered) - _NAMES_SHOWN
        answer = "; ".join(parts) + (f"; and {more} more" if more > 0 else "") + "."
    else:
        answer = "No principal can issue a pass without an approved activation."
    out.append(PreCheck("What can each issuer without approval reach?", answer))
    parts = []
    for role in sorted(_ISSUER_ROLES, key=role_display_name):
        needed, reason = _approval(tenant, role)
        state = (
            "approval required" if needed else ("no approval" if needed is False else f"unknown ({reason})")
        )
        parts.append(f"{role_display_name(role)}: {state}")
    out.append(PreCheck("Do the issuing roles require approval to activate?", "; ".join(parts) + "."))
    out.append(
        PreCheck(
            "Were PIM activations read (roleAssignmentScheduleInstances)?",
            "Yes: activated assignments are told apart from standing ones."
            if activation_known
            else "No: every active assignment is counted as standing.",
        )
    )
    names = sorted({row["displayName"] for row in accepted})
    out.append(
        PreCheck(
            "Which break-glass accounts hold standing Global Administrator (accepted)?",
            ", ".join(names) + "." if names else "None.",
        )
    )
    return out
