"""What a check returns: statuses, severities and findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    UNKNOWN = "UNKNOWN"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose from {choices})") from None


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}


class Cause(StrEnum):
    """Why a finding is UNKNOWN (or why part of its scope was not covered)."""

    PARTIAL_DATA = "partial-data"  # a collection file holds one page of a longer collection
    PERMISSION = "permission"  # the collector recorded that a collection could not be read (403, licence)
    NOT_COLLECTED = "not-collected"  # a collection's file is absent from the snapshot
    COVERAGE = "coverage"  # some objects in the risk's scope could not be evaluated
    DATA = "data"  # the data is there but this version cannot interpret it

    @property
    def label(self) -> str:
        return _CAUSE_LABELS[self]

    @property
    def weight(self) -> int:
        """The cause an UNKNOWN names when several apply: the one that says most about what to fix."""
        return len(_CAUSE_LABELS) - list(_CAUSE_LABELS).index(self)


_CAUSE_LABELS = {
    Cause.PARTIAL_DATA: "partial data",
    Cause.PERMISSION: "permission missing",
    Cause.NOT_COLLECTED: "not collected",
    Cause.COVERAGE: "coverage incomplete",
    Cause.DATA: "data not understood",
}


@dataclass(frozen=True, slots=True)
class Gap:
    """Part of a risk's scope that could not be evaluated, and why (see ``checks.engine.settle``)."""

    what: str  # e.g. "3 enabled members appear in neither method source"
    cause: Cause = Cause.COVERAGE
    grant: tuple[str, ...] = ()  # permissions that would close it

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cause": self.cause.value, "what": self.what}
        if self.grant:
            out["grant"] = list(self.grant)
        return out


@dataclass(frozen=True, slots=True)
class Affected:
    """An object a finding is about."""

    id: str
    type: str
    display_name: str
    detail: str = ""
    waived_by: str | None = None  # waiver rationale when a valid waiver covers this object

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "displayName": self.display_name}
        if self.detail:
            out["detail"] = self.detail
        if self.waived_by is not None:
            out["waived"] = True
        return out


@dataclass(frozen=True, slots=True)
class PreCheck:
    """A 'check before taking action', answered from the tenant."""

    question: str
    answer: str

    def to_json(self) -> dict[str, str]:
        return {"question": self.question, "answer": self.answer}


@dataclass(slots=True)
class Finding:
    risk: str
    status: Status
    severity: Severity
    title: str
    summary: str
    affected: list[Affected] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    prechecks: list[PreCheck] = field(default_factory=list)
    variant: str | None = None
    missing: list[str] = field(default_factory=list)  # collections that could not be read
    grant: list[str] = field(default_factory=list)  # permissions to grant for UNKNOWN results
    waiver: dict[str, Any] | None = None  # applied waiver (whole finding) or expired-waiver notice
    cause: Cause | None = None  # why an UNKNOWN finding could not be decided
    gaps: list[Gap] = field(default_factory=list)  # parts of the scope that were not covered

    @property
    def key(self) -> str:
        return f"{self.risk}/{self.variant}" if self.variant else self.risk

    @property
    def waived(self) -> bool:
        return self.waiver is not None and self.waiver.get("state") == "active"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "risk": self.risk,
            "status": self.status.value,
            "severity": self.severity.value,
            "title": self.title,
            "summary": self.summary,
            "affected": [a.to_json() for a in self.affected],
            "evidence": self.evidence,
            "reasons": self.reasons,
            "prechecks": [p.to_json() for p in self.prechecks],
        }
        if self.variant:
            out["variant"] = self.variant
        if self.status is Status.UNKNOWN and self.cause is not None:
            out["cause"] = self.cause.value
        if self.gaps:
            out["notCovered"] = [gap.to_json() for gap in self.gaps]
        if self.missing:
            out["missing"] = self.missing
            out["grant"] = self.grant
        if self.waiver is not None:
            out["waiver"] = self.waiver
        return out
