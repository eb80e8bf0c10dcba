"""tap-issuance-unscoped: who can sign in with a Temporary Access Pass, per the policy's include targets.

A pass can be created for anyone, but only users the TAP policy includes (and does not exclude) can use it.
The scope fails when it is ``all_users`` or reaches privileged accounts (high), or when an included group is
larger than the configured bound (medium: the attacker must still find a target inside the group).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from graphlattice.checks.context import CheckContext, NotEvaluable
from graphlattice.checks.coverage import standing_gap, unread_gap, unresolved_gap, unresolved_members
from graphlattice.checks.methods_view import methods_view
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Finding, Gap, PreCheck, Severity
from graphlattice.checks.tap_scope import tap_usable_users
from graphlattice.checks.text import name_list, privileged_role_labels
from graphlattice.entra.tap import TapPolicy
from graphlattice.errors import InputError
from graphlattice.tenant.model import Tenant

_NAMES_SHOWN = 5


@dataclass(slots=True)
class _Scope:
    usable: list[str] = field(default_factory=list)  # enabled users who can sign in with a pass
    privileged: dict[str, list[str]] = field(default_factory=dict)  # usable user -> privileged role labels
    via: dict[str, list[str]] = field(default_factory=dict)  # usable user -> include targets that match
    enabled_users: int = 0


def _target_label(tenant: Tenant, target_id: str, target_type: str) -> str:
    if target_id.casefold() == "all_users":
        return "all users"
    kind = "user" if target_type.casefold() == "user" else "group"
    return f"{kind} {tenant.display_name(target_id)}"


def _scan(tenant: Tenant, policy: TapPolicy, roles_known: bool) -> _Scope:
    scope = _Scope()
    usable = tap_usable_users(tenant, policy)
    # Who each include target covers, by entra's own rule (exclusions are already applied by `usable`).
    targets = [
        (
            _target_label(tenant, t.id, t.target_type),
            replace(policy, include_targets=(t,), exclude_targets=()).usable_user_ids(
                tenant.users.keys(), tenant.members_of
            ),
        )
        for t in policy.include_targets
    ]
    for user in tenant.users.values():
        if user.account_enabled is False:
            continue
        scope.enabled_users += 1
        if user.id not in usable:
            continue
        scope.usable.append(user.id)
        scope.via[user.id] = [label for label, covered in targets if user.id in covered]
        if roles_known:
            labels = privileged_role_labels(tenant, user.id)
            if labels:
                scope.privileged[user.id] = labels
    return scope


def _pass_holders(tenant: Tenant) -> list[str]:
    view = methods_view(tenant)
    return sorted(uid for uid in tenant.methods if view.of(uid).has_pass)


def _break_glass_ids(ctx: CheckContext) -> list[str]:
    found = []
    for key in ctx.config.break_glass:
        user = ctx.tenant.user_by_upn_or_id(key)
        if user is not None:
            found.append(user.id)
    return found


@register("tap-issuance-unscoped")
def evaluate(ctx: CheckContext) -> Finding:
    tenant = ctx.tenant
    bound = ctx.config.tap_issuance_max_group_size
    try:
        policy = TapPolicy.from_graph(tenant.method_configuration("TemporaryAccessPass"))
    except InputError as exc:
        raise NotEvaluable(f"The TAP method configuration cannot be interpreted: {exc}") from None
    evidence: dict[str, object] = {
        "state": policy.state,
        "includesAllUsers": policy.includes_all_users,
        "includeTargets": [{"id": t.id, "targetType": t.target_type} for t in policy.include_targets],
        "excludeTargets": [{"id": t.id, "targetType": t.target_type} for t in policy.exclude_targets],
        "maxGroupSize": bound,
    }
    if not policy.enabled:
        return ctx.not_applicable(
            "The Temporary Access Pass method is disabled: no one can sign in with a pass.", evidence=evidence
        )

    available = tenant.available
    not_evaluated: list[str] = []  # collections whose absence leaves part of the answer open
    groups_known = available.get("groups", False)
    if not groups_known and (policy.included_group_ids or policy.exclude_targets):
        not_evaluated.append("groups")
    roles_known = available.get("roleAssignments", False)
    for name in ("roleAssignments", "roleEligibilitySchedules"):
        if not available.get(name, False):
            not_evaluated.append(name)

    # Included groups: transitive size, and whether they exist at all.
    large: list[Affected] = []
    unresolved: list[str] = []
    group_rows: list[dict[str, object]] = []
    members_by_group: dict[str, frozenset[str]] = {}
    lost_members: list[str] = []
    if groups_known:
        for gid in sorted(policy.included_group_ids):
            if gid not in tenant.groups:
                unresolved.append(gid)
                continue
            members = frozenset(m for m in tenant.members_of(gid) if m in tenant.users)
            lost_members.extend(unresolved_members(tenant, gid))
            members_by_group[gid] = members
            group_rows.append(
                {"id": gid, "displayName": tenant.display_name(gid), "transitiveUsers": len(members)}
            )
            if len(members) > bound:
                large.append(
                    ctx.affected(
                        gid,
                        f"{len(members)} transitive user members, above the bound of {bound}",
                        kind="group",
                    )
                )
    evidence["includedGroups"] = group_rows
    if unresolved:
        evidence["unresolvedGroups"] = unresolved

    scope = _scan(tenant, policy, roles_known)
    evidence["usableBy"] = len(scope.usable)
    evidence["enabledUsers"] = scope.enabled_users
    evidence["privilegedInScope"] = sorted(scope.privileged)

    affected: list[Affected] = []
    reasons: list[str] = []
    severity = Severity.MEDIUM
    if policy.includes_all_users:
        severity = Severity.HIGH
        reasons.append(
            f"The policy includes all users: {len(scope.usable)} of {scope.enabled_users} enabled "
            "users can sign in with a pass that anyone holding a TAP-issuing role or app creates."
        )
        affected.append(
            Affected(
                id="temporaryaccesspass",  # lower-case like every other object id
                type="authenticationMethodConfiguration",
                display_name="Temporary Access Pass policy",
                detail="include target: all users (all_users)",
            )
        )
    if scope.privileged:
        severity = Severity.HIGH
        reasons.append(
            f"{len(scope.privileged)} privileged user(s) can sign in with a pass: "
            f"{name_list(tenant, scope.privileged, sort=True)}."
        )
        for uid in sorted(scope.privileged, key=lambda i: tenant.display_name(i).lower()):
            detail = f"{'; '.join(scope.privileged[uid])} — in scope via {', '.join(scope.via[uid])}"
            affected.append(ctx.affected(uid, detail, kind="user"))
    if large:
        reasons.append(
            f"{len(large)} included group(s) exceed {bound} transitive members: "
            f"{name_list(tenant, [a.id for a in large], sort=True)}."
        )
        affected.extend(large)

    groups_open = not groups_known and bool(policy.included_group_ids or policy.exclude_targets)
    prechecks = _prechecks(ctx, policy, scope, members_by_group, roles_known, groups_open)
    gaps: list[Gap] = []
    if unresolved:
        gaps.append(Gap(f"included group(s) {', '.join(unresolved)} are not in the groups collection"))
    for name in sorted(set(not_evaluated)):
        gaps.append(
            unread_gap(
                tenant,
                name,
                "the members of the included groups are unknown"
                if name == "groups"
                else "privileged users in scope cannot be ruled out",
            )
        )
    unknown_standing = standing_gap(
        tenant, [uid for uid in scope.usable if tenant.users[uid].account_enabled is None], "user in scope"
    )
    if unknown_standing is not None:
        gaps.append(unknown_standing)
    lost = unresolved_gap(
        tenant, lost_members, "whether they are privileged is unknown", "included-group member"
    )
    if lost is not None:
        gaps.append(lost)
    if not_evaluated:
        evidence["notEvaluated"] = sorted(set(not_evaluated))
    if not reasons:
        return ctx.passed(
            f"{len(scope.usable)} of {scope.enabled_users} enabled users can use a pass, through "
            f"{len(policy.include_targets)} target(s) of at most {bound} members, none privileged.",
            evidence=evidence,
            prechecks=prechecks,
            gaps=gaps,
        )
    return ctx.failed(
        f"{len(scope.usable)} of {scope.enabled_users} enabled users can sign in with a TAP"
        f"{f', {len(scope.privileged)} of them privileged' if scope.privileged else ''}"
        f"{'; the policy targets all users' if policy.includes_all_users else ''}"
        f"{f'; {len(large)} group(s) above {bound} members' if large else ''}.",
        affected=affected,
        reasons=reasons,
        evidence=evidence,
        prechecks=prechecks,
        severity=severity,
        gaps=gaps,
    )


def _prechecks(
    ctx: CheckContext,
    policy: TapPolicy,
    scope: _Scope,
    members_by_group: dict[str, frozenset[str]],
    roles_known: bool,
    groups_open: bool,
) -> list[PreCheck]:
    tenant = ctx.tenant
    count = f"{len(scope.usable)} of {scope.enabled_users} enabled users"
    if groups_open:
        count = f"Unknown: groups could not be read ({count} matched without group memberships)"
    out = [
        PreCheck(
            "How many users can use a TAP now?",
            count
            + (
                " (the policy includes all users)."
                if policy.includes_all_users
                else f" through {len(policy.include_targets)} include target(s)."
            ),
        )
    ]
    if not roles_known:
        answer = "Unknown: role assignments could not be read."
    else:
        answer = (
            f"{len(scope.privileged)}: {name_list(tenant, scope.privileged, sort=True)}."
            if scope.privileged
            else "None."
        )
        if not tenant.available.get("roleEligibilitySchedules", False):
            answer = (
                answer.rstrip(".") + " among active role holders; eligible (PIM) roles could not be read."
            )
        if groups_open:
            answer = "Unknown: groups could not be read. " + answer
    out.append(PreCheck("How many of them hold a privileged role (active or eligible)?", answer))
    if policy.includes_all_users:
        answer = "There is no enrolment group: the policy includes all users."
    elif not members_by_group:
        answer = "No included group could be resolved."
    else:
        parts = []
        for gid, members in members_by_group.items():
            names = name_list(tenant, members, sort=True) if members else "no members"
            parts.append(f"{tenant.display_name(gid)}: {len(members)} user(s) ({names})")
        answer = "; ".join(parts) + "."
    out.append(PreCheck("Who is in the enrolment group?", answer))
    if tenant.available.get("authenticationMethods", False):
        holders = _pass_holders(tenant)
        usable = set(scope.usable)
        outside = [h for h in holders if h not in usable]
        answer = (
            f"{len(holders)} user(s) hold a pass ({name_list(tenant, holders, sort=True)}); "
            f"{len(outside)} of them cannot use it under the current scope."
            if holders
            else "Nobody holds a pass."
        )
    else:
        answer = "Unknown: per-user authentication methods were not collected."
    out.append(PreCheck("Who holds a pass right now (add them to the group before narrowing)?", answer))
    glass = _break_glass_ids(ctx)
    if not glass:
        answer = "No declared break-glass account was found in the tenant."
    else:
        usable = set(scope.usable)
        inside = [g for g in glass if g in usable]
        answer = (
            f"No: {name_list(tenant, inside, sort=True)} can sign in with a pass."
            if inside
            else "Yes: no declared break-glass account can use a pass."
        )
    out.append(PreCheck("Are break-glass accounts outside the TAP scope?", answer))
    return out
