"""What every report format shares: ordering, counts, waiver states and article lookup."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from graphlattice._version import __version__
from graphlattice.checks.article import Article
from graphlattice.checks.engine import Assessment
from graphlattice.checks.result import Finding, Severity, Status

GENERATOR_NAME = "graphlattice"
GENERATOR_VERSION = __version__

# Reports list statuses in this order: what needs action, what could not be judged, then the rest.
STATUS_ORDER: tuple[Status, ...] = (Status.FAIL, Status.UNKNOWN, Status.PASS, Status.NOT_APPLICABLE)
SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFO,
)
STATUS_LABEL: dict[Status, str] = {
    Status.FAIL: "Fail",
    Status.UNKNOWN: "Not evaluated",
    Status.PASS: "Pass",
    Status.NOT_APPLICABLE: "Not applicable",
}
_GRANT_SUFFIX = re.compile(r"^(.*\S)\s+\(grant ([^()]+)\)$", re.DOTALL)
_STATUS_RANK = {status: index for index, status in enumerate(STATUS_ORDER)}


def waiver_state(finding: Finding) -> str | None:
    """``active``, ``partial`` or ``expired`` when a waiver touches the finding, else ``None``."""
    if finding.waiver is None:
        return None
    state = finding.waiver.get("state")
    return str(state) if state else None


def waived_objects(finding: Finding) -> int:
    return sum(1 for item in finding.affected if item.waived_by is not None)


def waiver_rationale(finding: Finding) -> str | None:
    """The rationale of a whole-finding waiver, or the shared rationale of its waived objects."""
    if finding.waiver is not None and finding.waiver.get("rationale"):
        return str(finding.waiver["rationale"])
    reasons = sorted({item.waived_by for item in finding.affected if item.waived_by})
    return "; ".join(reasons) if reasons else None


def sort_key(finding: Finding) -> tuple[int, int, int, str, str]:
    """FAIL (unwaived first, then by severity), UNKNOWN, PASS, NOT_APPLICABLE; ties by risk and variant."""
    accepted = 1 if finding.status is Status.FAIL and finding.waived else 0
    return (
        _STATUS_RANK.get(finding.status, len(STATUS_ORDER)),
        accepted,
        -finding.severity.rank,
        finding.risk,
        finding.variant or "",
    )


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=sort_key)


def summary(assessment: Assessment) -> dict[str, Any]:
    """Counts shared by every format: findings by status, open failures by severity, waiver states."""
    by_status = {status.value: 0 for status in STATUS_ORDER}
    failing = {severity.value: 0 for severity in SEVERITY_ORDER}
    waived = partial = expired = 0
    for finding in assessment.findings:
        by_status[finding.status.value] = by_status.get(finding.status.value, 0) + 1
        state = waiver_state(finding)
        if finding.status is Status.FAIL and not finding.waived:
            failing[finding.severity.value] += 1
        if state == "active":
            waived += 1
        elif state == "partial":
            partial += 1
        elif state == "expired":
            expired += 1
    return {
        "findings": len(assessment.findings),
        "byStatus": by_status,
        "failingBySeverity": failing,
        "waived": waived,
        "partiallyWaived": partial,
        "expiredWaivers": expired,
    }


def unavailable(assessment: Assessment) -> list[tuple[str, str, str]]:
    """(collection, reason, permission to grant) for every collection that could not be read."""
    from graphlattice.tenant.collections import COLLECTIONS

    out = []
    for name, text in sorted(assessment.tenant.errors.items()):
        spec = COLLECTIONS.get(name)
        match = _GRANT_SUFFIX.match(text)
        if match:  # the loader appends "(grant X)"; report the permission once, in its own place
            out.append((name, match.group(1), match.group(2)))
        else:
            out.append((name, text, spec.permission if spec else ""))
    # A check may also miss a collection the snapshot simply does not hold (an optional one, say).
    listed = {name for name, _, _ in out}
    for finding in assessment.findings:
        for name in finding.missing:
            if name not in listed:
                listed.add(name)
                spec = COLLECTIONS.get(name)
                out.append((name, "not in the snapshot", spec.permission if spec else ""))
    return out


def resolve_articles(assessment: Assessment, articles: Mapping[str, Article] | None) -> Mapping[str, Article]:
    """The articles to explain findings with: the ones given, or the whole catalogue."""
    if articles is not None:
        return articles
    from graphlattice.checks.registry import load_catalog

    wanted = {finding.risk for finding in assessment.findings}
    return {risk_id: risk.article for risk_id, risk in load_catalog().items() if risk_id in wanted}


def not_evaluated_line(finding: Finding) -> str:
    """One line for an UNKNOWN finding: its cause first, then what to grant or what was not covered."""
    if finding.missing:
        return f"grant {', '.join(finding.grant)} ({', '.join(finding.missing)} could not be read)"
    text = finding.summary
    if finding.cause is not None:
        text = text.removeprefix(f"Not evaluated ({finding.cause.label}): ")
        text = f"{finding.cause.label}: {text}"
    return text
