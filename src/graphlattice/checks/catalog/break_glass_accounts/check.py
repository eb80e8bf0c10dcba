"""break-glass-accounts: declared or inferred emergency-access accounts, each held to Microsoft's rules.

Rules (Microsoft Entra "Manage emergency access accounts"): cloud-only; Global Administrator assigned active
and permanent; phishing-resistant, passwordless methods; never locked out by Conditional Access. Lock-out is
decided with :mod:`graphlattice.entra.ca` for a sign-in to the admin portals with the account's best methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphlattice.checks.ca_support import (
    ANY_OTHER_APP,
    ENABLED,
    Prober,
    UserScope,
    active_tenant_roles,
    app_probe_for,
    looks_like_break_glass,
    method_kinds,
    policy_name,
    state_of,
)
from graphlattice.checks.context import CheckContext
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Cause, Finding, PreCheck
from graphlattice.entra.methods import AUTH_METHOD_MODES, MethodKind
from graphlattice.entra.roles import GLOBAL_ADMINISTRATOR
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.model import Json, Tenant, User, parse_time

RISK = "break-glass-accounts"
_ADMIN_PORTALS = "MicrosoftAdminPortals"

RULE_EXISTS = "declared-account-exists"
RULE_CLOUD = "cloud-only"
RULE_GA = "permanent-global-admin"
RULE_METHODS = "phishing-resistant-method"
RULE_LOCKOUT = "not-locked-out"
_SELECT_HINT = f"export users with {COLLECTIONS['users'].request}"


@dataclass(slots=True)
class Account:
    user: User
    declared: bool
    signals: list[str] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # rule -> what is wrong
    unknown: dict[str, str] = field(default_factory=dict)  # rule -> why it could not be decided
    notes: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    policies_in_scope: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return "declared" if self.declared else "inferred: " + ", ".join(self.signals)


def _ga_status(tenant: Tenant, user_id: str) -> tuple[str, str | None]:
    """("permanent", None) or (problem kind, explanation) for the account's Global Administrator role."""
    grants = [g for g in tenant.grants_of(user_id) if g.role_id == GLOBAL_ADMINISTRATOR and g.tenant_wide]
    standing = [g for g in grants if g.kind == "standing"]
    ends: list[str] = []
    for grant in standing:
        end = _assignment_end(tenant, grant.assignment_id, grant.via_group_id or user_id)
        if end is None:
            return "permanent", None
        ends.append(end)
    if ends:
        return "time-bound", f"its active Global Administrator assignment expires on {min(ends)}"
    if any(g.kind == "activated" for g in grants):
        return "activated", "it holds Global Administrator only through a PIM activation, which expires"
    if grants:
        return "eligible", (
            "it is only eligible for Global Administrator: using it needs a PIM activation, which "
            "can itself depend on MFA, approvers or a working PIM"
        )
    return "none", "it does not hold Global Administrator at tenant scope"


def _assignment_end(tenant: Tenant, assignment_id: str, principal_id: str) -> str | None:
    """End date of an active ('Assigned') schedule instance for this assignment, if it has one."""
    for inst in tenant.role_schedule_instances or ():
        if str(inst.get("assignmentType", "")).casefold() != "assigned":
            continue
        ids = {str(inst.get(k, "")).casefold() for k in ("id", "roleAssignmentOriginId")}
        same = assignment_id and assignment_id in ids
        same = same or (
            str(inst.get("principalId", "")).casefold() == principal_id
            and str(inst.get("roleDefinitionId", "")).casefold() == GLOBAL_ADMINISTRATOR
        )
        if same:
            end = parse_time(inst.get("endDateTime"))
            if end is not None:
                return end.date().isoformat()
    return None


def _excluded_from(policy: Json, tenant: Tenant, user_id: str) -> bool:
    """Named in the policy's user exclusions, directly, through a group, or through an active role."""
    scope = UserScope.of(policy)
    if user_id in scope.exclude_users:
        return True
    if set(scope.exclude_groups) & tenant.groups_of(user_id):
        return True
    return bool(set(scope.exclude_roles) & active_tenant_roles(tenant, user_id))


class _Review:
    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.tenant = ctx.tenant
        self.enabled = [p for p in ctx.tenant.ca_policies if state_of(p) == ENABLED]
        self.prober = Prober(ctx.tenant)
        self.instances_known = ctx.tenant.role_schedule_instances is not None

    # -- finding the accounts -----------------------------------------------------------------------------

    def accounts(self) -> tuple[dict[str, Account], list[str]]:
        tenant = self.tenant
        found: dict[str, Account] = {}
        missing: list[str] = []
        for key in self.ctx.config.break_glass:
            user = tenant.user_by_upn_or_id(key)
            if user is None:
                missing.append(key)
            elif user.id not in found:
                found[user.id] = Account(user=user, declared=True)
        for uid in sorted(self._candidates() - set(found)):
            user = tenant.users[uid]
            if user.enabled_member is False:
                continue
            if not looks_like_break_glass(user) and not any(
                g.role_id == GLOBAL_ADMINISTRATOR for g in tenant.grants_of(uid)
            ):
                continue  # neither signal that every inference rule needs
            signals = self._signals(user)
            named = "name suggests emergency access" in signals
            holds_ga = any(g.role_id == GLOBAL_ADMINISTRATOR for g in tenant.grants_of(uid))
            excluded = "excluded from every enabled Conditional Access policy" in signals
            strong = {"permanent Global Administrator", "cloud-only"} <= set(signals) and excluded
            if (named and (holds_ga or excluded)) or strong:
                found[uid] = Account(user=user, declared=False, signals=signals)
        return found, missing

    def _candidates(self) -> set[str]:
        tenant = self.tenant
        out = {g.principal_id for g in tenant.holders(GLOBAL_ADMINISTRATOR) if g.principal_id in tenant.users}
        out |= {u.id for u in tenant.users.values() if looks_like_break_glass(u)}
        for policy in self.enabled:
            scope = UserScope.of(policy)
            out |= {u for u in scope.exclude_users if u in tenant.users}
            for gid in scope.exclude_groups:
                out |= {m for m in tenant.members_of(gid) if m in tenant.users}
        return out

    def _signals(self, user: User) -> list[str]:
        signals: list[str] = []
        if looks_like_break_glass(user):
            signals.append("name suggests emergency access")
        if _ga_status(self.tenant, user.id)[0] == "permanent":
            signals.append("permanent Global Administrator")
        if user.on_premises_sync is False:
            signals.append("cloud-only")
        if self.enabled and all(_excluded_from(p, self.tenant, user.id) for p in self.enabled):
            signals.append("excluded from every enabled Conditional Access policy")
        return signals

    # -- the rules ----------------------------------------------------------------------------------------

    def review(self, account: Account) -> None:
        user = account.user
        if user.account_enabled is False:
            account.broken[RULE_EXISTS] = "the account is disabled"
        elif user.account_enabled is None:
            account.unknown[RULE_EXISTS] = f"users.json has no accountEnabled for it ({_SELECT_HINT})"
        if user.on_premises_sync:
            account.broken[RULE_CLOUD] = "it is synchronised from on-premises Active Directory"
        elif user.on_premises_sync is None:
            account.unknown[RULE_CLOUD] = f"users.json has no onPremisesSyncEnabled for it ({_SELECT_HINT})"
        _, why = _ga_status(self.tenant, user.id)
        if why is not None:
            account.broken[RULE_GA] = why
        elif not self.instances_known:
            account.notes.append(
                "PIM assignment instances were not collected, so an activation could look permanent"
            )
        modes = self._methods(account)
        self._lockout(account, modes)

    def _methods(self, account: Account) -> frozenset[str] | None:
        found = method_kinds(self.tenant, account.user.id)
        if found is None:
            account.unknown[RULE_METHODS] = (
                "neither per-user methods nor the registration report covers this account"
            )
            return None
        kinds, source = found
        account.methods = sorted(k.value for k in kinds)
        if any(k.is_phishing_resistant for k in kinds):
            return frozenset(m for k in kinds for m in k.auth_modes) | {"password"}
        if MethodKind.UNKNOWN in kinds:
            account.unknown[RULE_METHODS] = f"it has a method this version does not recognise ({source})"
            return None
        second = [k for k in kinds if k.is_mfa_capable]
        if not second:
            account.broken[RULE_METHODS] = "it has no MFA-capable method at all (password only)"
        elif all(k.is_weak_second_factor for k in second):
            account.broken[RULE_METHODS] = "its only second factors are SMS or voice calls"
        else:
            account.broken[RULE_METHODS] = (
                "it has no phishing-resistant method (registered: "
                + ", ".join(sorted(k.value for k in kinds))
                + ")"
            )
        return frozenset(m for k in kinds for m in k.auth_modes) | {"password"}

    def _lockout(self, account: Account, modes: frozenset[str] | None) -> None:
        uid = account.user.id
        account.policies_in_scope = [
            policy_name(p) for p in self.enabled if not _excluded_from(p, self.tenant, uid)
        ]
        best = modes if modes is not None else AUTH_METHOD_MODES
        blocking: list[str] = []
        undetermined: list[str] = []
        portals = app_probe_for(_ADMIN_PORTALS)
        for application, suites in (portals, (ANY_OTHER_APP, frozenset())):
            sign_in = self.prober.context(uid, application=application, suites=suites, used_modes=best)
            results = self.prober.results(self.enabled, sign_in)
            for result in results:
                if result.state.casefold() != ENABLED:
                    continue
                if result.result == "failure":
                    needs = ", ".join(result.unmet_controls) or "a control"
                    text = f"'{result.display_name}' (requires {needs})"
                    if text not in blocking:
                        blocking.append(text)
                elif result.result == "unknown":
                    note = f"'{result.display_name}': {result.why_not}"
                    if note not in undetermined:
                        undetermined.append(note)
        if blocking:
            account.broken[RULE_LOCKOUT] = (
                "these enabled policies include it and demand what it cannot provide "
                "from an arbitrary device and place: " + "; ".join(blocking)
            )
        elif undetermined:
            account.unknown[RULE_LOCKOUT] = "cannot tell whether these policies would stop it: " + "; ".join(
                undetermined
            )
        elif modes is None and RULE_METHODS in account.unknown:
            account.unknown[RULE_LOCKOUT] = "its methods are unknown, so MFA requirements cannot be checked"


@register(RISK)
def evaluate(ctx: CheckContext) -> Finding:
    review = _Review(ctx)
    accounts, missing = review.accounts()
    for account in accounts.values():
        review.review(account)
    evidence: dict[str, Any] = {
        "accounts": [
            {
                "id": a.user.id,
                "userPrincipalName": a.user.upn,
                "origin": "declared" if a.declared else "inferred",
                "signals": a.signals,
                "broken": a.broken,
                "unknown": a.unknown,
                "methods": a.methods,
                "enabledPoliciesInScope": a.policies_in_scope,
                "notes": a.notes,
            }
            for a in accounts.values()
        ],
        "declaredNotFound": missing,
    }
    prechecks = _prechecks(ctx, accounts)
    reasons = [
        f"Declared emergency account {key} matches no user in the tenant ({RULE_EXISTS})." for key in missing
    ]
    compliant: list[Affected] = []
    affected: list[Affected] = [
        Affected(
            id=key,
            type="declaredAccount",
            display_name=key,
            detail="declared in breakGlassAccounts, not found",
        )
        for key in missing
    ]
    for account in accounts.values():
        label = f"{account.user.display_name} ({account.user.upn}; {account.origin})"
        for rule, what in account.broken.items():
            reasons.append(f"{label} breaks {rule}: {what}.")
        if account.broken:
            detail = f"{account.origin}; breaks " + ", ".join(account.broken)
        elif account.unknown:
            detail = f"{account.origin}; not verified: " + ", ".join(account.unknown)
        else:
            detail = f"{account.origin}; meets every rule"
        item = ctx.affected(account.user.id, detail)
        (affected if account.broken or account.unknown else compliant).append(item)
    if not accounts:
        reasons.append(
            "No emergency-access account is declared (breakGlassAccounts) and none could be inferred: "
            "a broken Conditional Access policy or an MFA or federation outage can lock every "
            "administrator out."
        )
        return ctx.failed(
            "No emergency-access (break-glass) account found.",
            reasons=reasons,
            affected=affected,
            evidence=evidence,
            prechecks=prechecks,
        )
    broken = [a for a in accounts.values() if a.broken]
    if broken or missing:
        return ctx.failed(
            f"{len(broken) + len(missing)} of {len(accounts) + len(missing)} emergency-access account(s) "
            "break "
            "Microsoft's rules.",
            reasons=reasons,
            affected=affected,
            evidence=evidence,
            prechecks=prechecks,
        )
    undecided = [a for a in accounts.values() if a.unknown]
    if undecided:
        return ctx.unknown(
            f"Not evaluated ({Cause.COVERAGE.label}): {len(undecided)} emergency-access account(s) could "
            "not be fully verified.",
            Cause.COVERAGE,
            reasons=[
                f"{a.user.display_name}: {rule} not verified: {why}."
                for a in undecided
                for rule, why in a.unknown.items()
            ],
            affected=affected,
            evidence=evidence,
            prechecks=prechecks,
        )
    declared = sum(1 for a in accounts.values() if a.declared)
    return ctx.passed(
        f"{len(accounts)} emergency-access account(s) ({declared} declared, "
        f"{len(accounts) - declared} inferred) "
        "meet every rule.",
        affected=compliant,
        evidence=evidence,
        prechecks=prechecks,
    )


def _prechecks(ctx: CheckContext, accounts: dict[str, Account]) -> list[PreCheck]:
    declared = [a for a in accounts.values() if a.declared]
    inferred = [a for a in accounts.values() if not a.declared]
    answer = (
        "Declared: "
        + (", ".join(a.user.display_name for a in declared) or "none")
        + ". Inferred: "
        + (", ".join(f"{a.user.display_name} ({', '.join(a.signals)})" for a in inferred) or "none")
        + "."
    )
    if len(accounts) < 2:
        answer += " Microsoft recommends two or more emergency-access accounts."
    checks = [PreCheck("Which accounts are the emergency accounts?", answer)]
    if accounts:
        checks.append(
            PreCheck(
                "Which policies include each account, and would any of them block it?",
                " ".join(
                    f"{a.user.display_name}: in scope of {len(a.policies_in_scope)} enabled polic"
                    f"{'y' if len(a.policies_in_scope) == 1 else 'ies'}"
                    + (f" ({', '.join(a.policies_in_scope)})" if a.policies_in_scope else "")
                    + (
                        "; would be blocked."
                        if RULE_LOCKOUT in a.broken
                        else ("; cannot tell." if RULE_LOCKOUT in a.unknown else "; none would block it.")
                    )
                    for a in accounts.values()
                ),
            )
        )
        checks.append(
            PreCheck(
                "Which methods are registered on each account?",
                " ".join(
                    f"{a.user.display_name}: {', '.join(a.methods) if a.methods else 'unknown'}."
                    for a in accounts.values()
                ),
            )
        )
        checks.append(
            PreCheck(
                "Is each account synchronised from on-premises?",
                " ".join(f"{a.user.display_name}: {_sync_label(a.user)}." for a in accounts.values()),
            )
        )
        checks.append(
            PreCheck(
                "When were they last used?",
                " ".join(
                    f"{a.user.display_name}: {_last_sign_in(ctx.tenant, a.user)}." for a in accounts.values()
                ),
            )
        )
    return checks


def _sync_label(user: User) -> str:
    if user.on_premises_sync is None:
        return "unknown (onPremisesSyncEnabled not read)"
    return "synchronised" if user.on_premises_sync else "cloud-only"


def _last_sign_in(tenant: Tenant, user: User) -> str:
    activity = user.raw.get("signInActivity")
    if isinstance(activity, dict):
        when = parse_time(activity.get("lastSignInDateTime"))
        if when is not None:
            return when.date().isoformat()
    if tenant.sign_ins is not None:
        times = [
            parse_time(s.get("createdDateTime"))
            for s in tenant.sign_ins
            if str(s.get("userId", "")).casefold() == user.id
        ]
        known = [t for t in times if t is not None]
        return max(known).date().isoformat() if known else "no sign-in in the collected logs"
    return "unknown (signInActivity and sign-in logs not collected)"
