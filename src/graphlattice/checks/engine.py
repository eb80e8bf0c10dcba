"""Run the catalogue over a tenant: missing data becomes UNKNOWN, never PASS or FAIL.

One rule for data that is there but incomplete, applied here to every finding (:func:`settle`), so no risk
answers it its own way. A check names what it could not cover as :class:`Gap` objects; then

* a FAIL found among what was covered stays FAIL, and its reasons state what was not covered;
* a PASS or NOT_APPLICABLE over incomplete coverage becomes UNKNOWN and names what was not covered;
* partial data (a collection file that is one page of a longer collection) makes every finding of a risk
  that reads that collection UNKNOWN, FAIL included: the pages never read may hold the very policy,
  exclusion or assignment that changes the answer. What was found in the part read stays listed.

An UNKNOWN names its cause (:class:`Cause`): permission missing, not collected, partial data, coverage
incomplete, or data this version cannot interpret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graphlattice.checks.config import AssessConfig
from graphlattice.checks.context import CheckContext, NotEvaluable
from graphlattice.checks.registry import Risk, load_catalog
from graphlattice.checks.result import Cause, Finding, Gap, Severity, Status
from graphlattice.checks.waivers import Waiver, apply_waivers
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.gcpause import gc_paused
from graphlattice.tenant.model import Tenant


@dataclass(slots=True)
class Assessment:
    tenant: Tenant
    config: AssessConfig
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)

    def tenant_json(self) -> dict[str, Any]:
        t = self.tenant
        return {
            "tenantId": t.tenant_id,
            "collectedAt": t.collected_at.isoformat().replace("+00:00", "Z"),
            "source": t.source,
            "users": len(t.users),
            "groups": len(t.groups),
            "servicePrincipals": len(t.service_principals),
            "unavailable": {name: reason for name, reason in sorted(t.errors.items())},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_json(),
            "findings": [f.to_json() for f in self.findings],
            "warnings": [*self.tenant.warnings, *self.notes],
        }

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.status.value] = out.get(f.status.value, 0) + 1
        return out

    def unknown(self) -> list[Finding]:
        """Unwaived UNKNOWN findings (for ``--fail-on-unknown``)."""
        return [f for f in self.findings if f.status is Status.UNKNOWN and not f.waived]

    def failing_at_or_above(self, severity: Severity) -> list[Finding]:
        return [
            f
            for f in self.findings
            if f.status is Status.FAIL and not f.waived and f.severity.rank >= severity.rank
        ]


def _unknown(risk: Risk, missing: list[str], tenant: Tenant) -> Finding:
    grants: list[str] = []
    reasons = []
    for name in missing:
        spec = COLLECTIONS[name]
        if spec.permission not in grants:
            grants.append(spec.permission)
        reasons.append(f"{name}: {tenant.errors.get(name, 'not collected')}")
    cause = Cause.NOT_COLLECTED if set(missing) <= tenant.not_collected else Cause.PERMISSION
    return Finding(
        risk=risk.id,
        status=Status.UNKNOWN,
        severity=risk.article.severity,
        title=risk.article.title,
        summary=f"Not evaluated ({cause.label}): {', '.join(missing)} could not be read; grant "
        f"{', '.join(grants)}.",
        reasons=reasons,
        missing=list(missing),
        grant=grants,
        cause=cause,
    )


def _partial_gaps(risk: Risk, tenant: Tenant) -> list[Gap]:
    reads = [*risk.article.requires, *risk.article.optional]
    return [Gap(tenant.partial[name], Cause.PARTIAL_DATA) for name in reads if name in tenant.partial]


def _brief(gaps: list[Gap]) -> str:
    first = gaps[0].what
    return first if len(gaps) == 1 else f"{first} (and {len(gaps) - 1} more, see the reasons)"


def settle(finding: Finding) -> Finding:
    """Apply the coverage rule (see the module docstring) to a finding and its gaps, in place."""
    gaps = finding.gaps
    for gap in gaps:
        finding.grant.extend(g for g in gap.grant if g not in finding.grant)
    if not gaps:
        if finding.status is Status.UNKNOWN and finding.cause is None:
            finding.cause = Cause.DATA
        return finding
    strongest = max((gap.cause for gap in gaps), key=lambda c: c.weight)
    lines = [f"Not covered ({gap.cause.label}): {gap.what}." for gap in gaps]
    partial = strongest is Cause.PARTIAL_DATA
    if finding.status is Status.UNKNOWN:
        finding.reasons.extend(line for line in lines if line not in finding.reasons)
        if finding.cause is None or strongest.weight > finding.cause.weight:
            finding.cause = strongest
        return finding
    if finding.status is Status.FAIL and not partial:
        finding.reasons.extend(lines)
        finding.summary = f"{finding.summary.rstrip()} Not covered: {_brief(gaps)}."
        return finding
    was_fail = finding.status is Status.FAIL
    head = f"Not evaluated ({strongest.label}): {'; '.join(gap.what for gap in gaps)}."
    if was_fail:
        finding.summary = f"{head} In the data that was read: {finding.summary}"
        finding.reasons = [*lines, *(f"In the data that was read: {r}" for r in finding.reasons)]
    else:
        finding.summary = f"{head} Among what was covered: {finding.summary}"
        finding.reasons = [*lines, *finding.reasons]
    finding.status = Status.UNKNOWN
    finding.cause = strongest
    return finding


def run_risk(risk: Risk, tenant: Tenant, config: AssessConfig) -> list[Finding]:
    partial = _partial_gaps(risk, tenant)
    missing = [name for name in risk.article.requires if not tenant.available.get(name, False)]
    results: list[Finding]
    if missing:
        results = [_unknown(risk, missing, tenant)]
    else:
        ctx = CheckContext(tenant=tenant, config=config, article=risk.article)
        try:
            result = risk.evaluate(ctx)
        except NotEvaluable as exc:
            result = Finding(
                risk=risk.id,
                status=Status.UNKNOWN,
                severity=risk.article.severity,
                title=risk.article.title,
                summary=f"Not evaluated ({exc.cause.label}): {exc.reason}",
                reasons=[exc.reason],
                grant=exc.grant,
                cause=exc.cause,
            )
        results = [result] if isinstance(result, Finding) else list(result)
    for finding in results:
        finding.gaps.extend(partial)
        settle(finding)
    return results


def assess(
    tenant: Tenant,
    config: AssessConfig | None = None,
    *,
    only: Iterable[str] | None = None,
    waivers: list[Waiver] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Assessment:
    config = config or AssessConfig()
    catalog = load_catalog()
    wanted = list(only) if only is not None else list(catalog)
    findings: list[Finding] = []
    with gc_paused():
        for risk_id in wanted:
            risk = catalog[risk_id]
            if progress is not None:
                progress(risk_id)
            findings.extend(run_risk(risk, tenant, config))
    notes: list[str] = []
    if waivers:
        upns = {u.id: u.upn for u in tenant.users.values()}
        notes = apply_waivers(findings, waivers, tenant.collected_at.date(), upns)
    return Assessment(tenant=tenant, config=config, findings=findings, notes=notes)
