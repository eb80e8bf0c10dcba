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
        if self.missing:
            out["missing"] = self.missing
            out["grant"] = self.grant
        if self.waiver is not None:
            out["waiver"] = self.waiver
        return out
