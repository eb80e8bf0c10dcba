"""tap-active-passes: Temporary Access Passes that can be used right now.

Each pass read from ``authenticationMethods`` is evaluated at collection time with ``TapPolicy.pass_status``
(expired, not yet valid, one-time used, blocked by the policy as it is now — outside its scope, or a
multi-use pass while the policy requires one-time passes — or usable). Two findings:

* the main finding lists every usable pass (medium), the dangerous ones first;
* the variant ``privileged-or-reusable`` lists the usable passes that are multi-use, live longer than the
  configured bound, or belong to a privileged user (high; critical when a privileged user holds a multi-use
  or long-lived pass).

Users whose methods were not read are looked up in ``userRegistrationDetails``: a registered
``temporaryAccessPass`` there makes them unknown, never clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphlattice.checks.context import CheckContext, NotEvaluable
from graphlattice.checks.registry import register
from graphlattice.checks.result import Cause, Finding, PreCheck, Severity, Status
from graphlattice.checks.text import name_list, privileged_role_labels
from graphlattice.entra.methods import MethodKind, classify_method, classify_registered
from graphlattice.entra.tap import DISABLED_BY_POLICY, ENABLED_BY_POLICY, NOT_YET_VALID, TapPolicy
from graphlattice.errors import InputError
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.model import Tenant, parse_time, plus_minutes

VARIANT = "privileged-or-reusable"
_NAMES_SHOWN = 5
_METHOD_GRANTS = [
    COLLECTIONS["authenticationMethods"].permission,
    COLLECTIONS["userRegistrationDetails"].permission,
]


@dataclass(slots=True)
class _Pass:
    user_id: str
    method_id: str
    status: str
    start: datetime | None
    lifetime: int | None
    once: bool
    roles: list[str] = field(default_factory=list)
    worse: list[str] = field(default_factory=list)  # why this pass belongs to the variant

    @property
    def end(self) -> datetime | None:
        return plus_minutes(self.start, self.lifetime) if self.start and self.lifetime is not None else None

    @property
    def critical(self) -> bool:
        return bool(self.roles) and (not self.once or any(w.startswith("lifetime") for w in self.worse))

    def describe(self, *, with_worse: bool = True) -> str:
        life = self.lifetime if self.lifetime is not None else 0
        parts = [
            "one-time" if self.once else "multi-use",
            f"lifetime {_minutes(life)}",
            f"valid {_stamp(self.start)} to {_stamp(self.end)}",
            f"holder roles: {', '.join(self.roles)}" if self.roles else "holder has no privileged role",
        ]
        if self.worse and with_worse:
            parts.append("worse: " + ", ".join(self.worse))
        return "; ".join(parts)

    def row(self, tenant: Tenant) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "displayName": tenant.display_name(self.user_id),
            "passId": self.method_id,
            "status": self.status,
            "start": _stamp(self.start),
            "end": _stamp(self.end),
            "isUsableOnce": self.once,
            "lifetimeInMinutes": self.lifetime,
        }


def _minutes(value: int) -> str:
    if value >= 1440 and value % 1440 == 0:
        return f"{value} min ({value // 1440} d)"
    return f"{value} min ({value / 60:g} h)" if value >= 60 else f"{value} min"


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ") if moment else "unknown"


@dataclass(slots=True)
class _Scan:
    active: list[_Pass] = field(default_factory=list)
    upcoming: list[_Pass] = field(default_factory=list)
    blocked: list[_Pass] = field(default_factory=list)  # blocked by the policy, still within lifetime
    disabled_holders: list[_Pass] = field(default_factory=list)
    standing_unknown: list[_Pass] = field(default_factory=list)  # holder's accountEnabled not read
    malformed: list[dict[str, str]] = field(default_factory=list)
    unknown_with_pass: list[str] = field(
        default_factory=list
    )  # not read; the registration report shows a pass
    registration_only: int = 0  # not read; the registration report shows no pass
    not_read: list[str] = field(default_factory=list)  # not read and not in the registration report


def _scan(ctx: CheckContext, policy: TapPolicy) -> _Scan:
    tenant = ctx.tenant
    now = ctx.now
    bound = ctx.config.tap_max_lifetime_minutes
    roles_known = tenant.available.get("roleAssignments", False)
    scan = _Scan()
    for uid, methods in tenant.methods.items():
        passes = [m for m in methods if classify_method(m) is MethodKind.TEMPORARY_ACCESS_PASS]
        if not passes:
            continue
        groups = tenant.groups_of(uid)
        user = tenant.users.get(uid)
        for method in passes:
            try:
                status = policy.pass_status(method, uid, groups, now)
            except InputError as exc:
                scan.malformed.append({"id": uid, "passId": str(method.get("id", "")), "reason": str(exc)})
                continue
            lifetime = method.get("lifetimeInMinutes")
            item = _Pass(
                user_id=uid,
                method_id=str(method.get("id", "")),
                status=status,
                start=parse_time(method.get("startDateTime")) or parse_time(method.get("createdDateTime")),
                lifetime=lifetime if isinstance(lifetime, int) and not isinstance(lifetime, bool) else None,
                once=method.get("isUsableOnce") is True,
            )
            if status == NOT_YET_VALID:
                scan.upcoming.append(item)
            elif status == DISABLED_BY_POLICY:
                scan.blocked.append(item)
            if status not in (ENABLED_BY_POLICY, NOT_YET_VALID, DISABLED_BY_POLICY):
                continue  # expired or already used
            if roles_known:
                item.roles = privileged_role_labels(tenant, uid)
            if item.roles:
                item.worse.append("privileged holder")
            if not item.once:
                item.worse.append("multi-use")
            if item.lifetime is not None and item.lifetime > bound:
                item.worse.append(f"lifetime above {_minutes(bound)}")
            if status != ENABLED_BY_POLICY:
                continue
            if user is not None and user.account_enabled is False:
                scan.disabled_holders.append(item)
            elif user is not None and user.account_enabled is None:
                scan.standing_unknown.append(item)
            else:
                scan.active.append(item)
    registration_known = tenant.available.get("userRegistrationDetails", False)
    for user in tenant.users.values():
        if user.id in tenant.methods or user.account_enabled is False:
            continue
        report = tenant.registration.get(user.id) if registration_known else None
        if report is None:
            scan.not_read.append(user.id)
        elif any(
            classify_registered(str(m)) is MethodKind.TEMPORARY_ACCESS_PASS
            for m in report.get("methodsRegistered") or ()
        ):
            scan.unknown_with_pass.append(user.id)
        else:
            scan.registration_only += 1
    scan.active.sort(key=lambda p: (not p.critical, not p.worse, p.start or now, p.user_id))
    return scan


def _prechecks(ctx: CheckContext, scan: _Scan) -> list[PreCheck]:
    tenant = ctx.tenant
    out = []
    holders = [p.user_id for p in scan.active]
    out.append(
        PreCheck(
            "Who holds a usable pass now?",
            f"{len(holders)}: {name_list(tenant, holders)}." if holders else "Nobody.",
        )
    )
    if not tenant.available.get("roleAssignments", False):
        answer = "Unknown: role assignments could not be read."
    else:
        privileged = [p.user_id for p in scan.active if p.roles]
        answer = f"{len(privileged)}: {name_list(tenant, privileged)}." if privileged else "None."
        if scan.active and not tenant.available.get("roleEligibilitySchedules", False):
            answer = (
                answer.rstrip(".") + " among active role holders; eligible (PIM) roles could not be read."
            )
    out.append(PreCheck("Which holders are privileged?", answer))
    parts = []
    if scan.upcoming:
        parts.append(
            f"{len(scan.upcoming)} not yet valid ("
            + ", ".join(f"{tenant.display_name(p.user_id)} from {_stamp(p.start)}" for p in scan.upcoming)
            + ")"
        )
    if scan.blocked:
        blocked = name_list(tenant, [p.user_id for p in scan.blocked])
        parts.append(
            f"{len(scan.blocked)} blocked only by the TAP policy "
            f"(method disabled, holder outside its scope, or a multi-use pass while the policy requires "
            f"one-time passes: {blocked})"
        )
    if scan.disabled_holders:
        parts.append(
            f"{len(scan.disabled_holders)} held by disabled accounts "
            f"({name_list(tenant, [p.user_id for p in scan.disabled_holders])})"
        )
    out.append(
        PreCheck(
            "Are there passes that could become usable without a new pass being created?",
            "; ".join(parts) + "." if parts else "None.",
        )
    )
    read = len(tenant.methods)
    if not scan.not_read and not scan.unknown_with_pass and not scan.registration_only:
        answer = f"Yes: methods were read for every enabled user ({read} users read)."
    else:
        gaps = []
        if scan.registration_only:
            gaps.append(
                f"{scan.registration_only} enabled user(s) are covered only by the registration report "
                "(no pass registered, hours of lag)"
            )
        if scan.unknown_with_pass:
            gaps.append(
                f"{len(scan.unknown_with_pass)} unread user(s) have a pass per that report "
                f"({name_list(tenant, scan.unknown_with_pass)})"
            )
        if scan.not_read:
            gaps.append(f"{len(scan.not_read)} enabled user(s) were not read at all")
        answer = f"No ({read} users read): " + "; ".join(gaps) + "."
    out.append(PreCheck("Were all users' methods read?", answer))
    return out


def _unknown(
    ctx: CheckContext,
    reason: str,
    variant: str | None,
    evidence: dict[str, Any],
    prechecks: list[PreCheck],
    severity: Severity | None = None,
) -> Finding:
    finding = ctx.finding(
        Status.UNKNOWN,
        f"Not evaluated ({Cause.COVERAGE.label}): {reason}",
        cause=Cause.COVERAGE,
        reasons=[reason],
        evidence=evidence,
        prechecks=prechecks,
        variant=variant,
        severity=severity,
    )
    finding.grant = list(_METHOD_GRANTS)
    return finding


@register("tap-active-passes")
def evaluate(ctx: CheckContext) -> list[Finding]:
    tenant = ctx.tenant
    try:
        policy = TapPolicy.from_graph(tenant.method_configuration("TemporaryAccessPass"))
    except InputError as exc:
        raise NotEvaluable(f"The TAP method configuration cannot be interpreted: {exc}") from None
    scan = _scan(ctx, policy)
    prechecks = _prechecks(ctx, scan)
    evidence: dict[str, Any] = {
        "collectedAt": _stamp(ctx.now),
        "maxLifetimeMinutes": ctx.config.tap_max_lifetime_minutes,
        "active": [p.row(tenant) for p in scan.active],
        "upcoming": [p.row(tenant) for p in scan.upcoming],
        "blockedByPolicyScope": [p.row(tenant) for p in scan.blocked],
        "heldByDisabledAccounts": [p.row(tenant) for p in scan.disabled_holders],
        "unknown": [
            {"id": uid, "displayName": tenant.display_name(uid), "source": "userRegistrationDetails"}
            for uid in scan.unknown_with_pass
        ],
        "notRead": len(scan.not_read),
        "readFromRegistrationOnly": scan.registration_only,
    }
    if scan.malformed:
        evidence["malformed"] = scan.malformed
    coverage = tenant.coverage.get("authenticationMethods")
    if coverage is not None:
        evidence["coverage"] = coverage

    open_reasons: list[str] = []
    if scan.unknown_with_pass:
        open_reasons.append(
            f"{len(scan.unknown_with_pass)} user(s) whose methods were not read have a pass per the "
            f"registration report ({name_list(tenant, scan.unknown_with_pass)})"
        )
    if scan.not_read:
        open_reasons.append(
            f"{len(scan.not_read)} enabled user(s) were read from neither the methods collection "
            "nor the registration report"
        )
    if scan.malformed:
        open_reasons.append(f"{len(scan.malformed)} pass record(s) could not be interpreted")
    if scan.standing_unknown:
        open_reasons.append(
            f"{len(scan.standing_unknown)} usable pass(es) belong to users whose accountEnabled was not read "
            f"({name_list(tenant, [p.user_id for p in scan.standing_unknown])}; export users with "
            f"{COLLECTIONS['users'].request})"
        )

    return [
        _main(ctx, scan, evidence, prechecks, open_reasons),
        _variant(ctx, scan, evidence, prechecks, open_reasons),
    ]


def _main(
    ctx: CheckContext,
    scan: _Scan,
    evidence: dict[str, Any],
    prechecks: list[PreCheck],
    open_reasons: list[str],
) -> Finding:
    tenant = ctx.tenant
    if scan.active:
        affected = [ctx.affected(p.user_id, p.describe(), kind="user") for p in scan.active]
        worse = sum(1 for p in scan.active if p.worse)
        reasons = [
            f"{tenant.display_name(p.user_id)} holds a usable pass: {p.describe()}." for p in scan.active
        ]
        reasons.extend(f"Also not evaluated: {r}." for r in open_reasons)
        summary = f"{len(scan.active)} user(s) hold a usable TAP now"
        summary += f"; {worse} of them privileged, multi-use or long-lived." if worse else "."
        return ctx.failed(summary, affected=affected, reasons=reasons, evidence=evidence, prechecks=prechecks)
    if open_reasons:
        return _unknown(
            ctx,
            "no usable pass among the users read, but " + "; ".join(open_reasons) + ".",
            None,
            evidence,
            prechecks,
        )
    extra = f" ({len(scan.upcoming)} not yet valid)" if scan.upcoming else ""
    return ctx.passed(
        f"No user holds a usable TAP at collection time{extra}.", evidence=evidence, prechecks=prechecks
    )


def _variant(
    ctx: CheckContext,
    scan: _Scan,
    evidence: dict[str, Any],
    prechecks: list[PreCheck],
    open_reasons: list[str],
) -> Finding:
    tenant = ctx.tenant
    title = f"{ctx.article.title}: privileged holders, multi-use or long-lived passes"
    bad = [p for p in scan.active if p.worse]
    if bad:
        critical = [p for p in bad if p.critical]
        severity = Severity.CRITICAL if critical else Severity.HIGH
        affected = [ctx.affected(p.user_id, p.describe(), kind="user") for p in bad]
        reasons = [
            f"{tenant.display_name(p.user_id)}: {', '.join(p.worse)} — {p.describe(with_worse=False)}."
            for p in bad
        ]
        summary = f"{len(bad)} usable TAP(s) are privileged, multi-use or long-lived"
        summary += f"; {len(critical)} privileged and reusable or long-lived." if critical else "."
        return ctx.failed(
            summary,
            affected=affected,
            reasons=reasons,
            evidence=evidence,
            prechecks=prechecks,
            severity=severity,
            variant=VARIANT,
            title=title,
        )
    pending = list(open_reasons)
    lost_roles = [
        n for n in ("roleAssignments", "roleEligibilitySchedules") if not tenant.available.get(n, False)
    ]
    if scan.active and lost_roles:
        pending.append(f"the roles of the pass holders could not be read ({', '.join(lost_roles)})")
    if pending:
        finding = _unknown(
            ctx,
            "no dangerous pass among the users read, but " + "; ".join(pending) + ".",
            VARIANT,
            evidence,
            prechecks,
            severity=Severity.HIGH,
        )
        finding.title = title
        if scan.active:
            finding.grant.extend(COLLECTIONS[n].permission for n in lost_roles)
        return finding
    return ctx.passed(
        "No usable pass is multi-use, long-lived or held by a privileged user.",
        evidence=evidence,
        prechecks=prechecks,
        variant=VARIANT,
        title=title,
        severity=Severity.HIGH,
    )
