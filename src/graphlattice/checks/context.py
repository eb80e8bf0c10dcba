"""What a check receives, and helpers that build its findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphlattice.checks.article import Article
from graphlattice.checks.config import AssessConfig
from graphlattice.checks.result import Affected, Cause, Finding, Gap, PreCheck, Severity, Status
from graphlattice.tenant.model import Tenant


class NotEvaluable(Exception):
    """Raised by a check that cannot decide at all: the reason, what to grant, and the kind of cause."""

    def __init__(self, reason: str, grant: Sequence[str] = (), cause: Cause = Cause.DATA) -> None:
        super().__init__(reason)
        self.reason = reason
        self.grant = list(grant)
        self.cause = cause


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
        gaps: Iterable[Gap] = (),
        cause: Cause | None = None,
    ) -> Finding:
        """A finding; ``gaps`` name what was not covered, and the engine applies the coverage rule to them."""
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
            cause=cause,
            gaps=list(gaps),
        )

    def passed(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.PASS, summary, **kw)

    def failed(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.FAIL, summary, **kw)

    def not_applicable(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.NOT_APPLICABLE, summary, **kw)

    def unknown(self, summary: str, cause: Cause, **kw: Any) -> Finding:
        return self.finding(Status.UNKNOWN, summary, cause=cause, **kw)
