"""Run the catalogue over a tenant: missing data becomes UNKNOWN, never PASS or FAIL."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graphlattice.checks.config import AssessConfig
from graphlattice.checks.context import CheckContext, NotEvaluable
from graphlattice.checks.registry import Risk, load_catalog
from graphlattice.checks.result import Finding, Severity, Status
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
    return Finding(
        risk=risk.id,
        status=Status.UNKNOWN,
        severity=risk.article.severity,
        title=risk.article.title,
        summary=f"Not evaluated: {', '.join(missing)} could not be read; grant {', '.join(grants)}.",
        reasons=reasons,
        missing=list(missing),
        grant=grants,
    )


def run_risk(risk: Risk, tenant: Tenant, config: AssessConfig) -> list[Finding]:
    missing = [name for name in risk.article.requires if not tenant.available.get(name, False)]
    if missing:
        return [_unknown(risk, missing, tenant)]
    ctx = CheckContext(tenant=tenant, config=config, article=risk.article)
    try:
        result = risk.evaluate(ctx)
    except NotEvaluable as exc:
        return [
            Finding(
                risk=risk.id,
                status=Status.UNKNOWN,
                severity=risk.article.severity,
                title=risk.article.title,
                summary=f"Not evaluated: {exc.reason}",
                reasons=[exc.reason],
                grant=exc.grant,
            )
        ]
    return [result] if isinstance(result, Finding) else list(result)


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
