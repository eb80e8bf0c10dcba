"""mfa-registration-gate: an enforced Conditional Access policy must require MFA to register security info.

Which policies count, what their grant demands and whether a Temporary Access Pass meets it are answered
by :mod:`graphlattice.entra.ca` (what-if probes built in :mod:`graphlattice.checks.ca_support`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphlattice.checks.ca_support import (
    ENABLED,
    KNOWN_STATES,
    MODERN_CLIENTS,
    PROBE_PLATFORMS,
    REGISTER_SECURITY_INFO,
    REPORT_ONLY,
    Prober,
    UserScope,
    declared_break_glass,
    describe_user,
    excluded_locations,
    grant_of,
    holders_listing,
    is_admin,
    looks_like_break_glass,
    policy_audits,
    policy_id,
    policy_name,
    report_only_age,
    role_data_gap,
    role_holders,
    role_summary,
    state_of,
    targets_registration,
)
from graphlattice.checks.context import CheckContext, NotEvaluable
from graphlattice.checks.coverage import standing_gap, unresolved_gap, unresolved_members
from graphlattice.checks.methods_view import Tier, methods_view
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Finding, PreCheck, Severity
from graphlattice.checks.text import name_list as names
from graphlattice.entra.ca import SignInContext
from graphlattice.entra.roles import role_display_name
from graphlattice.entra.strengths import BUILTIN_STRENGTHS
from graphlattice.entra.tap import TapPolicy
from graphlattice.errors import InputError
from graphlattice.tenant.model import Json, Tenant

RISK = "mfa-registration-gate"
LOCATION_VARIANT = "trusted-location-exclusion"
_PROBE_USER = "00000000-0000-4000-8000-0000000000a1"  # a member with no groups and no roles


# ---- what each gate policy demands -------------------------------------------------------------------------


@dataclass(slots=True)
class Gate:
    policy: Json
    state: str
    demand: str  # "gate" (password alone is not enough), "open" (password is enough) or "unknown"
    device_path: bool = False  # a password alone is enough from a compliant or joined device
    tap_ok: bool | None = None  # a TAP (on a managed device) satisfies the grant
    blocks: bool = False
    why_unknown: str = ""

    @property
    def name(self) -> str:
        return policy_name(self.policy)

    @property
    def id(self) -> str:
        return policy_id(self.policy)


def _grant_only(policy: Json) -> Json:
    """The policy's grant under a universal scope, so the evaluator answers about the grant alone."""
    return {
        "id": policy_id(policy),
        "displayName": policy_name(policy),
        "state": ENABLED,
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeUserActions": [REGISTER_SECURITY_INFO]},
            "clientAppTypes": ["all"],
        },
        "grantControls": policy.get("grantControls"),
    }


def _classify(prober: Prober, policy: Json) -> Gate:
    probe = [_grant_only(policy)]

    def result(modes: Sequence[str], managed: bool) -> tuple[str, str | None]:
        sign_in = prober.context(
            _PROBE_USER,
            group_ids=(),
            role_ids=(),
            is_guest=False,
            user_action=REGISTER_SECURITY_INFO,
            used_modes=modes,
            compliant=managed,
            joined=managed,
        )
        outcome = prober.results(probe, sign_in)[0]
        return outcome.result, outcome.why_not

    grant = grant_of(policy)
    gate = Gate(
        policy=policy,
        state=state_of(policy),
        demand="unknown",
        blocks=grant is not None and "block" in grant.built_in_controls,
    )
    password_attacker, why = result(("password",), managed=False)
    if password_attacker == "unknown":
        gate.why_unknown = why or "a grant control cannot be evaluated"
        return gate
    if password_attacker != "failure":
        gate.demand = "open"
        return gate
    gate.demand = "gate"
    gate.device_path = result(("password",), managed=True)[0] == "success"
    tap, _ = result(("temporaryAccessPassOneTime",), managed=True)
    gate.tap_ok = True if tap == "success" else (False if tap == "failure" else None)
    return gate


# ---- findings -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Issues:
    reasons: list[str] = field(default_factory=list)
    affected: dict[tuple[str, str], Affected] = field(default_factory=dict)
    severity: Severity = Severity.LOW
    evidence: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    standing: list[str] = field(default_factory=list)  # users who would skip the gate, if enabled members
    unresolved: list[str] = field(default_factory=list)  # members of excluded groups found nowhere

    def add(self, reason: str, severity: Severity, label: str) -> None:
        self.reasons.append(reason)
        if label not in self.labels:
            self.labels.append(label)
        if severity.rank > self.severity.rank:
            self.severity = severity

    def affect(self, item: Affected) -> None:
        self.affected.setdefault((item.type, item.id), item)


def _policy_affected(gate: Gate, detail: str) -> Affected:
    return Affected(id=gate.id, type="conditionalAccessPolicy", display_name=gate.name, detail=detail)


@register(RISK)
def evaluate(ctx: CheckContext) -> list[Finding]:
    tenant = ctx.tenant
    prober = Prober(tenant)
    candidates = [p for p in tenant.ca_policies if targets_registration(p)]
    odd_states = [p for p in candidates if state_of(p) not in KNOWN_STATES]
    gates = [_classify(prober, p) for p in candidates if state_of(p) in KNOWN_STATES]
    enforced = [g for g in gates if g.state == ENABLED and g.demand == "gate"]
    exposure = _exposure(ctx)
    prechecks = _prechecks(ctx, gates, exposure)
    evidence: dict[str, Any] = {
        "policies": [
            {
                "id": g.id,
                "displayName": g.name,
                "state": g.state,
                "demand": g.demand,
                "tapSatisfies": g.tap_ok,
                "passwordEnoughOnManagedDevice": g.device_path,
            }
            for g in gates
        ],
        "usersWithoutMfaMethod": len(exposure.without),
        "usersWithUnknownMethods": len(exposure.unknown),
    }

    if not enforced:
        if odd_states:
            raise NotEvaluable(
                "registration policies have a state this version does not know: "
                + ", ".join(f"{policy_name(p)} ({p.get('state')})" for p in odd_states)
            )
        undecided = [g for g in gates if g.state in (ENABLED, REPORT_ONLY) and g.demand == "unknown"]
        if undecided and all(g.state == ENABLED for g in undecided):
            raise NotEvaluable(
                "cannot tell what these registration policies require: "
                + "; ".join(f"{g.name}: {g.why_unknown}" for g in undecided)
            )
        return [_no_enforced_gate(ctx, gates, exposure, evidence, prechecks)]

    issues = Issues(evidence=evidence)
    bg = declared_break_glass(tenant, ctx.config)
    _scope_gaps(ctx, prober, enforced, bg.ids, issues)
    _exclusions(ctx, prober, enforced, bg.ids, issues)
    _grant_gaps(prober, enforced, issues)
    findings = []
    names_list = ", ".join(f"'{g.name}'" for g in enforced)
    gaps = [
        gap
        for gap in (
            standing_gap(tenant, issues.standing, "excluded user"),
            unresolved_gap(
                tenant,
                issues.unresolved,
                "whether they skip the gate is unknown",
                "excluded-group member",
            ),
        )
        if gap is not None
    ]
    if issues.reasons:
        findings.append(
            ctx.failed(
                f"The registration gate ({names_list}) is enforced but has gaps: {', '.join(issues.labels)}.",
                reasons=issues.reasons,
                affected=list(issues.affected.values()),
                evidence=issues.evidence,
                prechecks=prechecks,
                severity=issues.severity,
                gaps=gaps,
            )
        )
    else:
        findings.append(
            ctx.passed(
                f"Registering security info requires MFA for all users ({names_list}), satisfiable with a "
                "TAP.",
                affected=[_policy_affected(g, "enforced registration gate") for g in enforced],
                evidence=evidence,
                prechecks=prechecks,
                gaps=gaps,
            )
        )
    location = _location_finding(ctx, prober, enforced)
    if location is not None:
        findings.append(location)
    return findings


def _no_enforced_gate(
    ctx: CheckContext,
    gates: list[Gate],
    exposure: _Exposure,
    evidence: dict[str, Any],
    prechecks: list[PreCheck],
) -> Finding:
    now = ctx.now
    audits = policy_audits(ctx.tenant.directory_audits) if ctx.tenant.directory_audits is not None else None
    reasons: list[str] = []
    affected: list[Affected] = []
    report_only = [g for g in gates if g.state == REPORT_ONLY and g.demand == "gate"]
    disabled = [g for g in gates if g.state == "disabled" and g.demand == "gate"]
    open_grants = [g for g in gates if g.demand == "open" and g.state != "disabled"]
    ages: list[dict[str, Any]] = []
    for gate in report_only:
        age = report_only_age(gate.policy, audits)
        days = age.days(now)
        ages.append(
            {
                "policy": gate.name,
                "days": days,
                "since": age.since.isoformat() if age.since else None,
                "exact": age.exact,
                "source": age.source,
            }
        )
        reasons.append(
            f"'{gate.name}' is report-only {age.phrase(now)}: it enforces nothing, and because report-only "
            "mode does not evaluate user actions it has not even recorded what it would have done."
        )
        affected.append(_policy_affected(gate, f"report-only {age.phrase(now)}"))
    for gate in disabled:
        reasons.append(f"'{gate.name}' would gate registration but is disabled.")
        affected.append(_policy_affected(gate, "disabled"))
    for gate in open_grants:
        reasons.append(
            f"'{gate.name}' targets security-info registration but its grant is met by a password alone."
        )
        affected.append(_policy_affected(gate, "grant does not require MFA"))
    for gate in (g for g in gates if g.demand == "unknown"):
        reasons.append(f"'{gate.name}' ({gate.state}) could not be evaluated: {gate.why_unknown}.")
    if not gates:
        reasons.append(
            "No Conditional Access policy targets the user action 'Register security information'."
        )
    exposed = [
        ctx.affected(uid, "no MFA-capable method: a password alone can register the first one")
        for uid in exposure.without
    ]
    if exposure.without:
        reasons.append(
            "Without the gate Entra still asks users who have an MFA-capable method for MFA before they "
            f"change security info, but the {len(exposure.without)} enabled member(s) without one can have "
            f"a first method added with their password alone: {names(ctx.tenant, exposure.without)}."
        )
    evidence = dict(evidence, reportOnly=ages)
    if report_only:
        longest = max((a["days"] or 0 for a in ages), default=0)
        summary = (
            f"The registration gate is only in report-only mode (longest {longest} days); nothing is "
            "enforced."
        )
    elif disabled:
        summary = "The registration gate exists but is disabled; nothing is enforced."
    elif gates:
        summary = (
            "No registration policy requires MFA; security info can be registered with a password alone."
        )
    else:
        summary = "No Conditional Access policy gates security-info registration."
    if exposure.without:
        summary += f" {len(exposure.without)} enabled member(s) have no MFA-capable method."
    return ctx.failed(
        summary,
        reasons=reasons,
        affected=[*affected, *exposed],
        evidence=evidence,
        prechecks=prechecks,
        severity=Severity.HIGH,
    )


def _scope_gaps(
    ctx: CheckContext, prober: Prober, enforced: list[Gate], break_glass: frozenset[str], issues: Issues
) -> None:
    """Does a member with no groups and no roles meet the gate, from every platform and modern client?"""
    policies = [g.policy for g in enforced]

    def probe(client: str, platform: str | None, user: str = _PROBE_USER, **kw: Any) -> SignInContext:
        return prober.context(
            user, user_action=REGISTER_SECURITY_INFO, client_app_type=client, platform=platform, **kw
        )

    def stopped(client: str, platform: str | None, user: str = _PROBE_USER, **kw: Any) -> bool:
        return prober.verdict(policies, probe(client, platform, user, **kw)).stopped

    everyone: dict[str, Any] = {"group_ids": (), "role_ids": (), "is_guest": False}
    if not stopped("browser", "windows", **everyone):
        all_users = [g for g in enforced if UserScope.of(g.policy).all_users]
        if not all_users:
            uncovered = [
                u.id
                for u in ctx.tenant.iter_members()
                if u.id not in break_glass and not stopped("browser", "windows", u.id)
            ]
            scoped = ", ".join(f"'{g.name}'" for g in enforced)
            issues.add(
                f"The gate ({scoped}) does not apply to all users: {len(uncovered)} enabled member(s) can "
                f"register security info without MFA"
                + (f", e.g. {names(ctx.tenant, uncovered)}." if uncovered else "."),
                Severity.HIGH,
                "not all users in scope",
            )
            for gate in enforced:
                issues.affect(_policy_affected(gate, "applies to selected users only"))
            issues.evidence["membersOutsideGate"] = len(uncovered)
            return
        results = prober.results([g.policy for g in all_users], probe("browser", "windows", **everyone))
        why = "; ".join(f"'{r.display_name}': {r.why_not or r.result}" for r in results)
        issues.add(
            "Conditions keep the gate from applying to an ordinary sign-in (no risk, browser, Windows, "
            f"unmanaged device): {why}.",
            Severity.HIGH,
            "conditions narrow it",
        )
        for gate in all_users:
            issues.affect(_policy_affected(gate, "conditions narrow where the gate applies"))
        issues.evidence["narrowedFor"] = ["browser on windows"]
        return
    gaps: dict[str, list[str]] = {}
    for client in MODERN_CLIENTS:
        for platform in PROBE_PLATFORMS:
            if not stopped(client, platform, **everyone):
                gaps.setdefault(client, []).append(platform or "an unknown platform")
    if gaps:
        issues.add(
            "Conditions narrow the gate: registration is not gated for sign-ins from "
            + "; ".join(f"{client} on {', '.join(platforms)}" for client, platforms in gaps.items())
            + ".",
            Severity.HIGH,
            "conditions narrow it",
        )
        for gate in enforced:
            issues.affect(_policy_affected(gate, "conditions narrow where the gate applies"))
        issues.evidence["narrowedFor"] = [f"{c} on {p}" for c, ps in gaps.items() for p in ps]


def _exclusions(
    ctx: CheckContext, prober: Prober, enforced: list[Gate], break_glass: frozenset[str], issues: Issues
) -> None:
    tenant = ctx.tenant
    policies = [g.policy for g in enforced]

    def stopped(user: str, **kw: Any) -> bool:
        sign_in = prober.context(user, user_action=REGISTER_SECURITY_INFO, **kw)
        return prober.verdict(policies, sign_in).stopped

    accepted: list[str] = []
    excluded_admins: list[str] = []
    excluded_others: list[str] = []
    for gate in enforced:
        scope = UserScope.of(gate.policy)
        if scope.excludes_guests:
            accepted.append(f"guests and external users ({gate.name})")
        for uid in scope.exclude_users:
            user = tenant.users.get(uid)
            if uid in break_glass or (user is not None and user.user_type == "guest"):
                accepted.append(
                    f"{tenant.display_name(uid)} ({'break-glass' if uid in break_glass else 'guest'})"
                )
                continue
            if user is not None and user.account_enabled is False:
                accepted.append(f"{tenant.display_name(uid)} (disabled account)")
                continue
            if user is None:
                issues.evidence.setdefault("staleExclusions", []).append(uid)
                continue
            if stopped(uid):
                continue
            if user.enabled_member is None:
                issues.standing.append(uid)
                continue
            admin = is_admin(tenant, uid)
            roles = ", ".join(role_summary(tenant, uid))
            label = describe_user(user)
            if looks_like_break_glass(user):
                label += " (looks like an emergency account: declare it in breakGlassAccounts if it is)"
            detail = f"excluded from '{gate.name}'" + (f"; holds {roles}" if roles else "")
            issues.affect(ctx.affected(uid, detail))
            (excluded_admins if admin else excluded_others).append(label)
        for gid in scope.exclude_groups:
            if gid not in tenant.groups:
                issues.evidence.setdefault("staleExclusions", []).append(gid)
                continue
            members = sorted(m for m in tenant.members_of(gid) if m in tenant.users)
            issues.unresolved.extend(unresolved_members(tenant, gid))
            if members and all(m in break_glass for m in members):
                accepted.append(f"group {tenant.display_name(gid)} (break-glass accounts only)")
                continue
            parents = tenant.groups_of(gid)
            if stopped(f"new-member-of-{gid}", group_ids={gid, *parents}, role_ids=(), is_guest=False):
                continue
            reachable = [
                m
                for m in members
                if m not in break_glass and tenant.users[m].enabled_member is not False and not stopped(m)
            ]
            exposed = [m for m in reachable if tenant.users[m].enabled_member]
            issues.standing.extend(m for m in reachable if m not in exposed and m not in issues.standing)
            admins = [m for m in exposed if is_admin(tenant, m)]
            group = tenant.groups.get(gid)
            kind = (
                "role-assignable"
                if group is not None and group.is_assignable_to_role
                else "not role-assignable"
            )
            detail = f"group excluded from '{gate.name}' ({kind}); {len(exposed)} member(s) skip the gate" + (
                f", {len(admins)} of them admins" if admins else ""
            )
            issues.affect(ctx.affected(gid, detail, kind="group"))
            for member in exposed:
                roles = ", ".join(role_summary(tenant, member))
                issues.affect(
                    ctx.affected(
                        member,
                        f"member of excluded group {tenant.display_name(gid)}"
                        + (f"; holds {roles}" if roles else ""),
                    )
                )
            text = (
                f"group {tenant.display_name(gid)} ({len(exposed)} member(s)"
                + (f", admins: {names(tenant, admins)}" if admins else "")
                + ("; empty today, anyone added later skips the gate" if not tenant.members_of(gid) else "")
                + ")"
            )
            (excluded_admins if admins else excluded_others).append(text)
        for rid in scope.exclude_roles:
            if stopped(f"holder-of-{rid}", group_ids=(), role_ids={rid}, is_guest=False):
                continue
            holders = role_holders(tenant, rid)
            name = role_display_name(rid)
            listing = holders_listing(tenant, holders, "nobody today")
            issues.affect(
                Affected(
                    id=rid,
                    type="directoryRole",
                    display_name=name,
                    detail=f"role excluded from '{gate.name}'; holders: {listing}",
                )
            )
            for uid, kind in holders.items():
                if uid not in break_glass:
                    issues.affect(ctx.affected(uid, f"{kind} holder of excluded role {name}"))
            excluded_admins.append(f"role {name} (holders, active and eligible: {listing})")
    gap = role_data_gap(tenant)
    if gap is not None and excluded_others:
        issues.evidence["roleDataGap"] = f"{gap}: excluded users may hold admin roles that cannot be seen"
    if excluded_admins:
        issues.add(
            "Administrators are excluded from the gate: "
            + "; ".join(excluded_admins)
            + ". A password alone can register their MFA if they have no method.",
            Severity.HIGH,
            "administrators excluded",
        )
    if excluded_others:
        issues.add(
            "Exclusions let these users register security info without MFA: "
            + "; ".join(excluded_others)
            + ".",
            Severity.MEDIUM,
            "users excluded",
        )
    if accepted:
        issues.evidence["acceptedExclusions"] = accepted


def _grant_gaps(prober: Prober, enforced: list[Gate], issues: Issues) -> None:
    for gate in enforced:
        if gate.tap_ok is False:
            if gate.blocks:
                issues.add(
                    f"'{gate.name}' blocks security-info registration, even with a Temporary Access Pass; "
                    "users without a method cannot enrol where it applies.",
                    Severity.MEDIUM,
                    "blocks enrolment even with a TAP",
                )
                issues.affect(_policy_affected(gate, "blocks registration, TAP included"))
            else:
                strength = gate_strength_name(prober, gate)
                issues.add(
                    f"'{gate.name}' requires {strength}, which a Temporary Access Pass cannot satisfy: new "
                    "users and users who lost their methods cannot bootstrap (use a strength that includes "
                    "TAP for this user action).",
                    Severity.MEDIUM,
                    "a TAP cannot satisfy it",
                )
                issues.affect(_policy_affected(gate, f"requires {strength}; a TAP cannot satisfy it"))
        elif gate.tap_ok is None:
            issues.evidence.setdefault("tapUndecided", []).append(gate.name)
        if gate.device_path:
            issues.add(
                f"'{gate.name}' can be met without MFA from a compliant or hybrid-joined device: anyone "
                "with a password on such a device can register methods.",
                Severity.MEDIUM,
                "met by device state without MFA",
            )
            issues.affect(_policy_affected(gate, "met by device state alone"))


def gate_strength_name(prober: Prober, gate: Gate) -> str:
    grant = grant_of(gate.policy)
    if grant is None or grant.authentication_strength_id is None:
        return "a control"
    key = grant.authentication_strength_id.casefold()
    strength = prober.strengths.get(key) or grant.authentication_strength or BUILTIN_STRENGTHS.get(key)
    shown = strength.display_name if strength else grant.authentication_strength_id
    return f"the authentication strength '{shown}'"


def _location_finding(ctx: CheckContext, prober: Prober, enforced: list[Gate]) -> Finding | None:
    """Registration from an excluded (usually trusted) network needs no MFA: a separate, lower finding."""
    policies = [g.policy for g in enforced]
    reasons: list[str] = []
    affected: list[Affected] = []
    severity = Severity.LOW
    for gate in enforced:
        for location in excluded_locations(gate.policy):
            origins = prober.inside(location)
            label = "All trusted locations" if location == "alltrusted" else ctx.tenant.display_name(location)
            named = ctx.tenant.named_locations.get(location)
            if named is not None:
                label = str(named.get("displayName") or location)
            if not origins:
                reasons.append(
                    f"'{gate.name}' excludes {label}, which could not be resolved to a network; "
                    "sign-ins from it skip the gate."
                )
            elif all(
                prober.verdict(
                    policies,
                    prober.context(
                        _PROBE_USER,
                        group_ids=(),
                        role_ids=(),
                        is_guest=False,
                        user_action=REGISTER_SECURITY_INFO,
                        ip=ip,
                        country=country,
                    ),
                ).stopped
                for ip, country, _ in origins
            ):
                continue
            else:
                reasons.append(
                    f"'{gate.name}' excludes {label}: anyone on that network who knows a user's "
                    "password can register security info for them without MFA."
                )
            trusted = location == "alltrusted" or (named is not None and named.get("isTrusted") is True)
            if not trusted:
                severity = Severity.MEDIUM
            affected.append(
                Affected(
                    id=location,
                    type="namedLocation",
                    display_name=label,
                    detail=f"excluded from '{gate.name}'" + ("" if trusted else " (not marked trusted)"),
                )
            )
    if not reasons:
        return None
    return ctx.failed(
        f"Security info can be registered without MFA from {len(affected)} excluded location(s).",
        reasons=reasons,
        affected=affected,
        severity=severity,
        variant=LOCATION_VARIANT,
        title="The registration gate exempts trusted locations",
        evidence={"locations": [a.display_name for a in affected]},
    )


# ---- who would be blocked ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Exposure:
    known: bool
    without: list[str] = field(default_factory=list)  # enabled members with no MFA-capable method
    unknown: list[str] = field(default_factory=list)  # enabled members whose methods cannot be told
    cannot_use_tap: list[str] = field(default_factory=list)
    tap: TapPolicy | None = None
    tap_error: str = ""


def _exposure(ctx: CheckContext) -> _Exposure:
    tenant: Tenant = ctx.tenant
    known = bool(
        tenant.available.get("authenticationMethods") or tenant.available.get("userRegistrationDetails")
    )
    out = _Exposure(known=known)
    if tenant.available.get("authenticationMethodsPolicy"):
        try:
            out.tap = TapPolicy.from_graph(tenant.method_configuration("TemporaryAccessPass"))
        except InputError as exc:
            out.tap_error = str(exc)
    if not known:
        return out
    view = methods_view(tenant)  # the same reading of methods as users-without-mfa, shared per tenant
    for user in tenant.iter_members():
        lacking = view.of(user.id).decided_below(Tier.WEAK)
        if lacking is None:
            out.unknown.append(user.id)
            continue
        if not lacking:
            continue
        out.without.append(user.id)
        if out.tap is not None and not out.tap.usable_by(user.id, view.groups_of(user.id)):
            out.cannot_use_tap.append(user.id)
    return out


def _prechecks(ctx: CheckContext, gates: list[Gate], exposure: _Exposure) -> list[PreCheck]:
    tenant = ctx.tenant
    checks: list[PreCheck] = []
    tap = exposure.tap
    if tap is None:
        answer = (
            "Unknown: the authentication methods policy was not collected."
            if not exposure.tap_error
            else f"Unknown: {exposure.tap_error}"
        )
    elif not tap.enabled:
        answer = (
            "No: the Temporary Access Pass method is disabled, so users without a method have no safe way "
            "to enrol once the gate is enforced."
        )
    elif tap.includes_all_users:
        answer = "Yes, for all users."
    else:
        groups = sorted(tap.included_group_ids)
        answer = f"Yes, for {len(groups)} group(s): {names(tenant, groups)}."
    checks.append(PreCheck("Is the Temporary Access Pass method enabled, and for whom?", answer))

    if not exposure.known:
        answer = (
            "Unknown: neither per-user authentication methods nor the registration report were collected "
            "(grant UserAuthenticationMethod.Read.All or AuditLog.Read.All)."
        )
    else:
        answer = (
            f"{len(exposure.without)} enabled member(s) have no MFA-capable method and would be blocked "
            "until they get a TAP" + (f": {names(tenant, exposure.without)}." if exposure.without else ".")
        )
        if tap is not None and exposure.without:
            answer += (
                f" {len(exposure.cannot_use_tap)} of them cannot use a TAP under the current TAP policy."
                if tap.enabled
                else " The TAP method is disabled."
            )
        if exposure.unknown:
            answer += f" Methods unknown for {len(exposure.unknown)} member(s)."
    checks.append(
        PreCheck("How many enabled members have no MFA-capable method and would be blocked?", answer)
    )

    audits = policy_audits(tenant.directory_audits) if tenant.directory_audits is not None else None
    report_only = [g for g in gates if g.state == REPORT_ONLY]
    if report_only:
        parts = [
            f"'{g.name}' is report-only {report_only_age(g.policy, audits).phrase(ctx.now)}"
            for g in report_only
        ]
        answer = (
            "Yes: " + "; ".join(parts) + ". Report-only mode does not evaluate user actions, so there are no "
            "report-only results to review and there never will be: measure the gate by simulating it for "
            "every user instead, as this check does (who has no method and would be stopped, whether a TAP "
            "gets through)."
        )
    else:
        answer = (
            "No registration policy is in report-only mode. Report-only could not measure one anyway "
            "(user actions are not evaluated in report-only mode); simulate it instead."
        )
    checks.append(PreCheck("Is there a report-only gate, and for how long?", answer))

    relevant = [g for g in gates if g.demand == "gate" and g.state in (ENABLED, REPORT_ONLY)]
    if relevant:
        parts = [
            f"'{g.name}': " + {True: "yes", False: "no", None: "cannot tell"}[g.tap_ok] for g in relevant
        ]
        answer = "; ".join(parts) + "."
    else:
        answer = "No policy gates registration yet; a gate requiring MFA would accept a TAP."
    checks.append(PreCheck("Would a Temporary Access Pass satisfy the gate?", answer))
    return checks
