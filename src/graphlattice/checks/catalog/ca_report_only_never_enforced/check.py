"""ca-report-only-never-enforced: Conditional Access policies left in report-only mode past a bound."""

from __future__ import annotations

from collections import Counter
from typing import Any

from graphlattice.checks.ca_support import (
    REPORT_ONLY,
    ReportOnlyAge,
    describe_grant,
    policy_audits,
    policy_id,
    policy_name,
    report_only_age,
    state_of,
    tenant_strengths,
    user_actions,
)
from graphlattice.checks.context import CheckContext
from graphlattice.checks.registry import register
from graphlattice.checks.result import Affected, Finding, PreCheck, Status
from graphlattice.tenant.model import Json

RISK = "ca-report-only-never-enforced"
_WOULD_STOP = ("reportonlyfailure", "reportonlyinterrupted")


@register(RISK)
def evaluate(ctx: CheckContext) -> Finding:
    tenant = ctx.tenant
    bound = ctx.config.report_only_max_days
    strengths = tenant_strengths(tenant)
    audits = policy_audits(tenant.directory_audits) if tenant.directory_audits is not None else None
    report_only = [p for p in tenant.ca_policies if state_of(p) == REPORT_ONLY]
    ages: dict[str, ReportOnlyAge] = {policy_id(p): report_only_age(p, audits) for p in report_only}
    overdue: list[Json] = []
    recent: list[Json] = []
    unknown: list[Json] = []
    for policy in report_only:
        days = ages[policy_id(policy)].days(ctx.now)
        if days is None:
            unknown.append(policy)
        elif days > bound:
            overdue.append(policy)
        else:
            recent.append(policy)
    usage = _sign_in_results(ctx, [policy_id(p) for p in overdue + unknown])
    evidence: dict[str, Any] = {
        "boundDays": bound,
        "auditLogs": "used" if audits is not None else "not collected",
        "reportOnly": [
            {
                "id": policy_id(p),
                "displayName": policy_name(p),
                "days": ages[policy_id(p)].days(ctx.now),
                "since": _iso(ages[policy_id(p)]),
                "exact": ages[policy_id(p)].exact,
                "source": ages[policy_id(p)].source,
            }
            for p in report_only
        ],
    }
    if usage is not None:
        evidence["signInResults"] = usage

    def line(policy: Json) -> str:
        age = ages[policy_id(policy)]
        text = (
            f"'{policy_name(policy)}' ({describe_grant(policy, strengths)}) has been report-only "
            f"{age.phrase(ctx.now)}"
        )
        if user_actions(policy):
            return text + (
                "; report-only mode does not evaluate user actions, so it has not even recorded what it "
                "would have done."
            )
        counts = (usage or {}).get(policy_id(policy))
        if counts:
            text += (
                f"; in the collected sign-ins it would have interrupted or blocked "
                f"{counts['wouldStop']} sign-in(s) of {counts['usersStopped']} user(s)"
            )
        return text + "."

    affected = [
        Affected(
            id=policy_id(p).lower(),
            type="conditionalAccessPolicy",
            display_name=policy_name(p),
            detail=f"report-only {ages[policy_id(p)].phrase(ctx.now)}",
        )
        for p in overdue + unknown
    ]
    prechecks = _prechecks(ctx, overdue + unknown, usage)
    if overdue:
        reasons = [line(p) for p in overdue]
        reasons += [
            f"'{policy_name(p)}' is report-only for an unknown time: it has no createdDateTime or "
            "modifiedDateTime and no audit record mentions it."
            for p in unknown
        ]
        longest = max(ages[policy_id(p)].days(ctx.now) or 0 for p in overdue)
        return ctx.failed(
            f"{len(overdue)} Conditional Access polic{'y has' if len(overdue) == 1 else 'ies have'} been "
            "report-only "
            f"longer than {bound} days (longest {longest} days); they enforce nothing.",
            reasons=reasons,
            affected=affected,
            evidence=evidence,
            prechecks=prechecks,
        )
    if unknown:
        return ctx.finding(
            Status.UNKNOWN,
            f"{len(unknown)} report-only polic{'y' if len(unknown) == 1 else 'ies'} of unknown age: neither "
            "timestamps nor audit records say when they were switched to report-only.",
            reasons=[
                f"'{policy_name(p)}': no createdDateTime, no modifiedDateTime, no audit record."
                for p in unknown
            ]
            + (
                ["Collect directory audit logs (AuditLog.Read.All) to date the switch."]
                if audits is None
                else []
            ),
            affected=affected,
            evidence=evidence,
            prechecks=prechecks,
        )
    if recent:
        return ctx.passed(
            f"{len(recent)} polic{'y is' if len(recent) == 1 else 'ies are'} in report-only mode, all for "
            f"{bound} days or less.",
            evidence=evidence,
            prechecks=prechecks,
            affected=[
                Affected(
                    id=policy_id(p).lower(),
                    type="conditionalAccessPolicy",
                    display_name=policy_name(p),
                    detail=f"report-only {ages[policy_id(p)].phrase(ctx.now)}",
                )
                for p in recent
            ],
        )
    return ctx.passed("No Conditional Access policy is in report-only mode.", evidence=evidence)


def _iso(age: ReportOnlyAge) -> str | None:
    return age.since.isoformat().replace("+00:00", "Z") if age.since else None


def _sign_in_results(ctx: CheckContext, ids: list[str]) -> dict[str, dict[str, Any]] | None:
    """Per policy: report-only results recorded in the collected sign-ins (one pass over the log)."""
    sign_ins = ctx.tenant.sign_ins
    if sign_ins is None or not ids:
        return None
    wanted = {i.casefold() for i in ids}
    results: dict[str, Counter[str]] = {i: Counter() for i in wanted}
    stopped_users: dict[str, set[str]] = {i: set() for i in wanted}
    for record in sign_ins:
        for applied in record.get("appliedConditionalAccessPolicies") or ():
            if not isinstance(applied, dict):
                continue
            pid = str(applied.get("id", "")).casefold()
            if pid not in wanted:
                continue
            result = str(applied.get("result", "")).casefold()
            results[pid][result] += 1
            if result in _WOULD_STOP:
                stopped_users[pid].add(str(record.get("userId") or record.get("userPrincipalName") or ""))
    out: dict[str, dict[str, Any]] = {}
    for pid in ids:
        counts = results[pid.casefold()]
        out[pid] = {
            "results": dict(sorted(counts.items())),
            "wouldStop": sum(counts[r] for r in _WOULD_STOP),
            "usersStopped": len(stopped_users[pid.casefold()] - {""}),
        }
    return out


def _prechecks(
    ctx: CheckContext, listed: list[Json], usage: dict[str, dict[str, Any]] | None
) -> list[PreCheck]:
    checks: list[PreCheck] = []
    if not listed:
        return checks
    if ctx.tenant.sign_ins is None:
        answer = (
            "Unknown: sign-in logs were not collected; review the policies' report-only results in the "
            "Conditional Access insights workbook or the sign-in log."
        )
    else:
        parts = []
        for policy in listed:
            counts = (usage or {}).get(policy_id(policy), {})
            if user_actions(policy):
                parts.append(
                    f"'{policy_name(policy)}': none (user-action policies are not evaluated in "
                    "report-only mode)"
                )
                continue
            parts.append(
                f"'{policy_name(policy)}': {counts.get('wouldStop', 0)} sign-in(s) of "
                f"{counts.get('usersStopped', 0)} user(s) would have been interrupted or blocked"
            )
        answer = "; ".join(parts) + f" (in {len(ctx.tenant.sign_ins)} collected sign-in(s))."
    checks.append(PreCheck("What would the policy have done (report-only results)?", answer))
    bg = ctx.config.break_glass
    if bg:
        missing = []
        for policy in listed:
            users = (policy.get("conditions") or {}).get("users") or {}
            excluded = {str(x).casefold() for x in users.get("excludeUsers") or ()}
            excluded_groups = {str(x).casefold() for x in users.get("excludeGroups") or ()}
            for key in bg:
                user = ctx.tenant.user_by_upn_or_id(key)
                if user is None:
                    continue
                if user.id not in excluded and not (ctx.tenant.groups_of(user.id) & excluded_groups):
                    missing.append(f"{user.display_name} is not excluded from '{policy_name(policy)}'")
        answer = (
            ("; ".join(missing) + ".") if missing else "Yes: every declared emergency account is excluded."
        )
    else:
        answer = "Unknown: no emergency-access accounts are declared (breakGlassAccounts)."
    checks.append(
        PreCheck(
            "Are the emergency-access accounts excluded, so enforcing cannot lock the tenant out?", answer
        )
    )
    return checks
