"""ca-mfa-bypass-paths: exclusions and gaps in the MFA-requiring Conditional Access policies, and who
benefits.

Every exclusion is tested with :mod:`graphlattice.entra.ca`: a password-only sign-in by the excluded principal
(or a synthetic member of the excluded group or holder of the excluded role) to what the policy protects. It
is a bypass only when no enabled policy stops that sign-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphlattice.checks.ca_support import (
    ANY_OTHER_APP,
    ENABLED,
    LEGACY_CLIENTS,
    MODERN_CLIENTS,
    REGISTER_SECURITY_INFO,
    Prober,
    UserScope,
    app_probe_for,
    app_probes,
    client_app_types,
    declared_break_glass,
    describe_user,
    excluded_applications,
    excluded_locations,
    holders_listing,
    is_admin,
    looks_like_break_glass,
    policy_id,
    policy_name,
    requires_mfa,
    role_holders,
    role_summary,
    state_of,
    targets_registration,
    user_actions,
)
from graphlattice.checks.context import CheckContext
from graphlattice.checks.coverage import standing_gap, unresolved_gap, unresolved_members
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Cause, Finding, PreCheck, Severity
from graphlattice.checks.text import name_list as names
from graphlattice.entra.ca import SignInContext
from graphlattice.entra.groups import membership_control
from graphlattice.entra.roles import role_display_name
from graphlattice.tenant.model import Json, Tenant

RISK = "ca-mfa-bypass-paths"
_NOBODY = "00000000-0000-4000-8000-0000000000b1"  # a member with no groups and no roles


@dataclass(frozen=True, slots=True)
class Target:
    """What a policy protects, as a probe: an application (with its app groups) or a user action."""

    label: str
    application: str | None = None
    suites: frozenset[str] = frozenset()
    user_action: str | None = None


def _targets(policy: Json) -> list[Target]:
    actions = user_actions(policy)
    if actions:
        return [
            Target(label="security-info registration" if a == REGISTER_SECURITY_INFO else a, user_action=a)
            for a in actions
        ]
    return [Target(label=label, application=app, suites=suites) for app, suites, label in app_probes(policy)]


@dataclass(slots=True)
class Paths:
    reasons: list[str] = field(default_factory=list)
    affected: dict[tuple[str, str], Affected] = field(default_factory=dict)
    severity: Severity = Severity.MEDIUM
    accepted: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # excluded ids that match no object (deleted objects)
    standing_unknown: list[str] = field(default_factory=list)  # excluded users of unknown accountEnabled/type
    unresolved: list[str] = field(default_factory=list)  # members of excluded groups found nowhere
    count: int = 0

    def add(self, reason: str, *, high: bool) -> None:
        self.reasons.append(reason)
        self.count += 1
        if high:
            self.severity = Severity.HIGH

    def affect(self, item: Affected) -> None:
        key = (item.type, item.id)
        if key in self.affected:
            old = self.affected[key]
            if item.detail and item.detail not in old.detail:
                item = Affected(
                    id=old.id,
                    type=old.type,
                    display_name=old.display_name,
                    detail=f"{old.detail}; {item.detail}",
                )
            else:
                return
        self.affected[key] = item


class _Walker:
    def __init__(self, ctx: CheckContext, enabled: list[Json]) -> None:
        self.ctx = ctx
        self.tenant: Tenant = ctx.tenant
        self.prober = Prober(ctx.tenant)
        self.enabled = enabled
        self.break_glass = declared_break_glass(ctx.tenant, ctx.config).ids
        self.paths = Paths()

    # -- probes ---------------------------------------------------------------------------------------------

    def sign_in(self, user: str, target: Target, **kw: Any) -> SignInContext:
        if target.user_action:
            return self.prober.context(user, user_action=target.user_action, **kw)
        return self.prober.context(user, application=target.application, suites=target.suites, **kw)

    def open_targets(self, user: str, targets: Sequence[Target], **kw: Any) -> list[str]:
        """Targets a password-only sign-in reaches without any enabled policy stopping it.

        A sign-in that no policy certainly stops but that some policy might (a condition or control that
        cannot be evaluated) is not counted; it is recorded as not verified instead.
        """
        out = []
        for target in targets:
            verdict = self.prober.verdict(self.enabled, self.sign_in(user, target, **kw))
            if verdict.stopped:
                continue
            if verdict.undetermined:
                note = f"{target.label} for {self.tenant.display_name(user)}: " + "; ".join(
                    verdict.undetermined
                )
                if note not in self.paths.unverified:
                    self.paths.unverified.append(note)
                continue
            out.append(target.label)
        return out

    def nobody(self) -> dict[str, Any]:
        return {"group_ids": (), "role_ids": (), "is_guest": False}

    # -- one policy ------------------------------------------------------------------------------------------

    def policy(self, policy: Json) -> None:
        targets = _targets(policy)
        if not targets:
            return
        name = policy_name(policy)
        scope = UserScope.of(policy)
        if scope.excludes_guests:
            self.paths.accepted.append(f"guests and external users ('{name}')")
        for uid in scope.exclude_users:
            self.excluded_user(name, uid, targets)
        for gid in scope.exclude_groups:
            self.excluded_group(name, gid, targets)
        for rid in scope.exclude_roles:
            self.excluded_role(name, rid, targets)
        for location in excluded_locations(policy):
            self.excluded_location(name, location, targets)
        for app in excluded_applications(policy):
            self.excluded_app(name, app)
        self.client_gaps(policy, targets)

    def excluded_user(self, name: str, uid: str, targets: list[Target]) -> None:
        tenant = self.tenant
        user = tenant.users.get(uid)
        if uid in self.break_glass:
            self.paths.accepted.append(f"{tenant.display_name(uid)} (declared break-glass, '{name}')")
            return
        if user is not None and user.user_type == "guest":
            self.paths.accepted.append(f"{tenant.display_name(uid)} (guest, '{name}')")
            return
        if user is not None and user.account_enabled is False:
            self.paths.accepted.append(f"{tenant.display_name(uid)} (disabled account, '{name}')")
            return
        if user is None:
            self.paths.stale.append(f"{uid} ('{name}')")
            return
        reached = self.open_targets(uid, targets)
        if not reached:
            return
        if user.enabled_member is None:
            if uid not in self.paths.standing_unknown:
                self.paths.standing_unknown.append(uid)
            return
        roles = role_summary(tenant, uid)
        admin = is_admin(tenant, uid)
        self.paths.add(
            f"'{name}' excludes {'administrator' if admin else 'user'} {describe_user(user)}"
            + (f" ({', '.join(roles)})" if roles else "")
            + f": no enabled policy stops a password-only sign-in to {', '.join(reached)}"
            + (
                " (it looks like an emergency account: declare it in breakGlassAccounts if it is)."
                if looks_like_break_glass(user)
                else "."
            ),
            high=admin,
        )
        self.paths.affect(
            self.ctx.affected(
                uid, f"excluded from '{name}'" + (f"; holds {', '.join(roles)}" if roles else "")
            )
        )

    def excluded_group(self, name: str, gid: str, targets: list[Target]) -> None:
        tenant = self.tenant
        group = tenant.groups.get(gid)
        if group is None:
            self.paths.stale.append(f"group {gid} ('{name}')")
            return
        parents = tenant.groups_of(gid)
        newcomer = self.open_targets(
            f"new-member-of-{gid}", targets, group_ids={gid, *parents}, role_ids=(), is_guest=False
        )
        if not newcomer:
            return  # another enabled policy covers this group's members
        control = membership_control(group.raw)
        members = sorted(m for m in tenant.members_of(gid) if m in tenant.users)
        self.paths.unresolved.extend(unresolved_members(tenant, gid))
        empty = not tenant.members_of(gid)
        exposed: list[str] = []
        for member in members:
            user = tenant.users[member]
            if member in self.break_glass or user.enabled_member is False:
                continue
            if not self.open_targets(member, targets):
                continue
            if user.enabled_member is None:
                if member not in self.paths.standing_unknown:
                    self.paths.standing_unknown.append(member)
                continue
            exposed.append(member)
        owners = [o for o in group.owner_ids if o not in self.break_glass]
        managers: dict[str, list[str]] = {}
        for role in sorted(control.role_ids):
            for holder, kind in sorted(role_holders(tenant, role).items()):
                if holder not in self.break_glass:
                    managers.setdefault(holder, []).append(f"{role_display_name(role)} ({kind})")
        only_break_glass = bool(members) and all(m in self.break_glass for m in members)
        if only_break_glass and group.is_assignable_to_role and not owners:
            self.paths.accepted.append(
                f"group {group.display_name} (break-glass accounts only, role-assignable, "
                f"no owners; '{name}')"
            )
            return
        kind = "role-assignable" if group.is_assignable_to_role else "not role-assignable"
        how = []
        if owners:
            how.append(f"its owners {names(tenant, owners)} can add any account")
        if control.self_join:
            how.append("it is a public Microsoft 365 group any member can join")
        if control.dynamic_rule:
            how.append(
                f"it is dynamic (rule: {control.dynamic_rule}), so whoever can change those attributes "
                "decides membership"
            )
        by_role: dict[str, list[str]] = {}
        for holder, held in managers.items():
            for entry in held:
                role, _, how_held = entry.rpartition(" (")
                by_role.setdefault(role, []).append(f"{tenant.display_name(holder)}, {how_held.rstrip(')')}")
        staffed = [f"{role} ({'; '.join(people)})" for role, people in sorted(by_role.items())]
        idle = len({role_display_name(r) for r in control.role_ids} - set(by_role))
        how.append(
            (
                "administrators who can change its membership: " + "; ".join(staffed)
                if staffed
                else "no one holds a role that can change its membership"
            )
            + (f" (and {idle} other role(s) that could, held by nobody)" if idle and staffed else "")
        )
        admins = [m for m in exposed if is_admin(tenant, m)]
        lookalikes = [m for m in exposed if looks_like_break_glass(tenant.users[m])]
        who = (
            f"{len(exposed)} member(s) skip MFA"
            + (f": {names(tenant, exposed)}" if exposed else "")
            + (f" (administrators: {names(tenant, admins)})" if admins else "")
            + ("; it holds only emergency accounts today" if only_break_glass else "")
            + ("; it is empty today" if empty else "")
            + (
                f" ({names(tenant, lookalikes)} look like emergency accounts: declare them in "
                "breakGlassAccounts if they are)"
                if lookalikes
                else ""
            )
        )
        self.paths.add(
            f"'{name}' excludes group {group.display_name} ({kind}): {who}; " + "; ".join(how) + ".",
            high=bool(admins) or bool(owners) or control.self_join,
        )
        self.paths.affect(self.ctx.affected(gid, f"excluded from '{name}' ({kind})", kind="group"))
        for member in exposed:
            roles = role_summary(tenant, member)
            self.paths.affect(
                self.ctx.affected(
                    member,
                    f"member of excluded group {group.display_name}"
                    + (f"; holds {', '.join(roles)}" if roles else ""),
                )
            )
        for owner in owners:
            self.paths.affect(
                self.ctx.affected(
                    owner,
                    f"owner of excluded group {group.display_name}: can add any account, including their own",
                )
            )
        for holder, held in managers.items():
            self.paths.affect(
                self.ctx.affected(
                    holder,
                    f"can change the membership of excluded group {group.display_name} as {', '.join(held)}",
                )
            )

    def excluded_role(self, name: str, rid: str, targets: list[Target]) -> None:
        tenant = self.tenant
        reached = self.open_targets(f"holder-of-{rid}", targets, group_ids=(), role_ids={rid}, is_guest=False)
        if not reached:
            return
        holders = {u: k for u, k in role_holders(tenant, rid).items() if u not in self.break_glass}
        role = role_display_name(rid)
        listing = holders_listing(
            tenant, holders, "nobody today, but whoever is assigned it later inherits the bypass"
        )
        self.paths.add(
            f"'{name}' excludes role {role}: its holders skip MFA for {', '.join(reached)} "
            f"(active and eligible holders: {listing}).",
            high=True,
        )
        self.paths.affect(
            Affected(id=rid, type="directoryRole", display_name=role, detail=f"excluded from '{name}'")
        )
        for uid, kind in holders.items():
            self.paths.affect(self.ctx.affected(uid, f"{kind} holder of excluded role {role} ('{name}')"))

    def excluded_location(self, name: str, location: str, targets: list[Target]) -> None:
        tenant = self.tenant
        named = tenant.named_locations.get(location)
        label = (
            "All trusted locations"
            if location == "alltrusted"
            else (str(named.get("displayName") or location) if named is not None else location)
        )
        origins = self.prober.inside(location)
        if not origins:
            reason = (
                "named locations were not collected"
                if not tenant.available.get("namedLocations")
                else "it has no address range or country to test"
            )
            self.paths.add(
                f"'{name}' excludes location {label}: every sign-in from it skips this policy "
                f"(not tested further: {reason}).",
                high=False,
            )
        else:
            reached: list[str] = []
            for ip, country, where in origins:
                open_ = self.open_targets(_NOBODY, targets, ip=ip, country=country, **self.nobody())
                reached += [f"{t} from {where}" for t in open_]
            if not reached:
                return
            self.paths.add(
                f"'{name}' excludes location {label}: anyone who can sign in from there (office or "
                f"guest network, VPN, a compromised host) skips MFA for {', '.join(reached)}.",
                high=False,
            )
        self.paths.affect(
            Affected(id=location, type="namedLocation", display_name=label, detail=f"excluded from '{name}'")
        )

    def excluded_app(self, name: str, app: str) -> None:
        application, suites = app_probe_for(app)
        target = Target(label=app, application=application, suites=suites)
        if not self.open_targets(_NOBODY, [target], **self.nobody()):
            return
        label = self._app_name(app)
        self.paths.add(
            f"'{name}' excludes the application {label}: a password alone gets a token for it.", high=False
        )
        self.paths.affect(
            Affected(id=app, type="application", display_name=label, detail=f"excluded from '{name}'")
        )

    def _app_name(self, app: str) -> str:
        for sp in self.tenant.service_principals.values():
            if sp.app_id == app:
                return f"{sp.display_name} ({app})"
        return app

    def client_gaps(self, policy: Json, targets: list[Target]) -> None:
        listed = set(client_app_types(policy))
        if not listed or "all" in listed:
            return
        missing = [c for c in MODERN_CLIENTS if c.casefold() not in listed]
        reached: list[str] = []
        for client in missing:
            reached += [
                f"{t} with {client}"
                for t in self.open_targets(_NOBODY, targets, client_app_type=client, **self.nobody())
            ]
        if reached:
            name = policy_name(policy)
            self.paths.add(
                f"'{name}' covers only the client app types {', '.join(sorted(listed))}: sign-ins to "
                f"{', '.join(reached)} skip MFA.",
                high=False,
            )
            self.paths.affect(
                Affected(
                    id=policy_id(policy).lower(),
                    type="conditionalAccessPolicy",
                    display_name=name,
                    detail="limited to some client app types",
                )
            )

    # -- tenant-wide ----------------------------------------------------------------------------------------

    def legacy(self, mfa: list[Json]) -> None:
        target = Target(label="any cloud app", application=ANY_OTHER_APP)
        open_ = [
            c
            for c in LEGACY_CLIENTS
            if self.open_targets(_NOBODY, [target], client_app_type=c, **self.nobody())
        ]
        if not open_:
            return
        narrowed = [
            f"'{policy_name(p)}' covers only {', '.join(client_app_types(p))}"
            for p in mfa
            if client_app_types(p) and "all" not in client_app_types(p) and not user_actions(p)
        ]
        self.paths.add(
            "Legacy authentication ("
            + ", ".join(open_)
            + ") is neither blocked nor covered by an MFA policy"
            + (f" ({'; '.join(narrowed)})" if narrowed else "")
            + ": every user's password works over IMAP, POP, SMTP AUTH, ActiveSync and other basic-auth "
            "clients, which cannot perform MFA, so password spraying there meets no second factor.",
            high=True,
        )
        for client in open_:
            self.paths.affect(
                Affected(
                    id=client.lower(),
                    type="clientAppType",
                    display_name=client,
                    detail="not blocked, not covered by an MFA policy",
                )
            )

    def baseline(self) -> None:
        target = Target(label="any cloud app", application=ANY_OTHER_APP)
        if self.open_targets(_NOBODY, [target], **self.nobody()):
            self.paths.add(
                "No enabled policy requires MFA for all users on all cloud apps: a member without "
                "an admin role or a targeted group signs in to most apps with a password alone.",
                high=False,
            )
            self.paths.affect(
                Affected(
                    id="all-users",
                    type="coverageGap",
                    display_name="All users",
                    detail="no MFA policy covers every user and app",
                )
            )


@register(RISK)
def evaluate(ctx: CheckContext) -> Finding:
    tenant = ctx.tenant
    enabled = [p for p in tenant.ca_policies if state_of(p) == ENABLED]
    mfa = sorted(
        (p for p in enabled if requires_mfa(p)),
        key=lambda p: (not targets_registration(p), policy_name(p).casefold()),
    )
    evidence: dict[str, Any] = {"mfaPolicies": [policy_name(p) for p in mfa]}
    if not mfa:
        return ctx.not_applicable(
            "No enabled Conditional Access policy requires MFA, so there is nothing to bypass; if security "
            "defaults are also off, nothing enforces MFA at all (see mfa-registration-gate).",
            evidence=evidence,
        )
    walker = _Walker(ctx, enabled)
    for policy in mfa:
        walker.policy(policy)
    walker.legacy(mfa)
    walker.baseline()
    paths = walker.paths
    evidence.update(
        {
            "acceptedExclusions": paths.accepted,
            "notVerified": paths.unverified,
            "staleExclusions": paths.stale,
        }
    )
    prechecks = _prechecks(ctx, paths)
    gaps = [
        gap
        for gap in (
            standing_gap(tenant, paths.standing_unknown, "excluded user"),
            unresolved_gap(
                tenant, paths.unresolved, "whether they skip MFA is unknown", "excluded-group member"
            ),
        )
        if gap is not None
    ]
    if paths.reasons:
        people = sum(1 for a in paths.affected.values() if a.type == "user")
        return ctx.failed(
            f"{paths.count} way(s) around the MFA policies; {people} user(s) benefit or can add themselves.",
            reasons=paths.reasons,
            affected=list(paths.affected.values()),
            evidence=evidence,
            prechecks=prechecks,
            severity=paths.severity,
            gaps=gaps,
        )
    if paths.unverified:
        return ctx.unknown(
            f"Not evaluated ({Cause.DATA.label}): no certain bypass found, but {len(paths.unverified)} "
            "sign-in path(s) could not be evaluated.",
            Cause.DATA,
            reasons=paths.unverified,
            evidence=evidence,
            prechecks=prechecks,
            gaps=gaps,
        )
    return ctx.passed(
        f"Every exclusion from the {len(mfa)} enabled MFA polic{'y' if len(mfa) == 1 else 'ies'} is an "
        "accepted "
        "emergency or guest exclusion or is covered by another policy; legacy authentication is stopped.",
        evidence=evidence,
        prechecks=prechecks,
        gaps=gaps,
    )


def _prechecks(ctx: CheckContext, paths: Paths) -> list[PreCheck]:
    users = [a for a in paths.affected.values() if a.type == "user"]
    methods_known = ctx.tenant.available.get("userRegistrationDetails") or ctx.tenant.available.get(
        "authenticationMethods"
    )
    checks = [
        PreCheck(
            "Which exclusions are accepted as emergency or guest exclusions?",
            "; ".join(paths.accepted) + "." if paths.accepted else "None.",
        )
    ]
    if users and methods_known:
        from graphlattice.checks.ca_support import method_kinds

        without = []
        for item in users:
            found = method_kinds(ctx.tenant, item.id)
            if found is not None and not any(k.is_mfa_capable for k in found[0]):
                without.append(item.id)
        checks.append(
            PreCheck(
                "Would removing the exclusions block anyone who has no MFA method yet?",
                f"{len(without)} of the {len(users)} user(s) named here have no MFA-capable method"
                + (
                    f": {names(ctx.tenant, without)}; issue them a Temporary Access Pass first."
                    if without
                    else "."
                ),
            )
        )
    if paths.unverified:
        checks.append(
            PreCheck("Were any exclusions impossible to verify?", "; ".join(paths.unverified) + ".")
        )
    if paths.stale:
        checks.append(
            PreCheck(
                "Do the policies name objects that no longer exist?",
                "Yes, remove them (a restored object would regain the exclusion): "
                + "; ".join(paths.stale)
                + ".",
            )
        )
    return checks
