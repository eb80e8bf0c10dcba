"""What a check receives, and helpers that build its findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphlattice.checks.article import Article
from graphlattice.checks.config import AssessConfig
from graphlattice.checks.result import Affected, Finding, PreCheck, Severity, Status
from graphlattice.tenant.model import Tenant


class NotEvaluable(Exception):
    """Raised by a check when the data it needs is present but cannot be interpreted."""

    def __init__(self, reason: str, grant: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.grant = list(grant)


@dataclass(frozen=True, slots=True)
class CheckContext:
    tenant: Tenant
    config: AssessConfig
    article: Article

    @property
    def now(self) -> datetime:
        return self.tenant.collected_at

    def affected(self, object_id: str, detail: str = "", *, kind: str | None = None) -> Affected:
        return Affected(
            id=object_id,
            type=kind or self.tenant.object_type(object_id),
            display_name=self.tenant.display_name(object_id),
            detail=detail,
        )

    def finding(
        self,
        status: Status,
        summary: str,
        *,
        affected: Iterable[Affected] = (),
        reasons: Iterable[str] = (),
        evidence: dict[str, Any] | None = None,
        prechecks: Iterable[PreCheck] = (),
        severity: Severity | None = None,
        variant: str | None = None,
        title: str | None = None,
    ) -> Finding:
        return Finding(
            risk=self.article.id,
            status=status,
            severity=severity or self.article.severity,
            title=title or self.article.title,
            summary=summary,
            affected=list(affected),
            evidence=evidence or {},
            reasons=list(reasons),
            prechecks=list(prechecks),
            variant=variant,
        )

    def passed(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.PASS, summary, **kw)

    def failed(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.FAIL, summary, **kw)

    def not_applicable(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.NOT_APPLICABLE, summary, **kw)
