"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning in particular).

Shape, and why:

- One run; ``tool.driver.rules`` holds one rule per risk that was evaluated, with the risk's article as help
  text, ATT&CK technique ids as tags and a ``security-severity`` score so GitHub shows critical/high/...
- ``results`` holds FAIL findings (one result per affected object, so each object becomes its own alert that
  closes when that object is fixed) and UNKNOWN findings (one ``note`` naming the permission to grant).
  PASS and NOT_APPLICABLE produce no result.
- GitHub rejects a result without a physical location, and a tenant has no files, so every result points at
  a stable pseudo-file ``graphlattice/tenant-<tenantId>.json`` line 1; the real subject is the logical
  location ``tenant/<tenantId>/<type>/<id>``. Because all results share that file and line,
  ``partialFingerprints`` (risk + variant + object) is what keeps alerts apart across runs.
- ``automationDetails.id`` is ``graphlattice/tenant-<tenantId>/`` so uploads for many tenants into one
  repository do not replace each other.
- Waived objects and findings carry a ``suppressions`` entry (kind ``external``, the waiver's rationale as
  justification). Expired waivers do not suppress; the result says the waiver expired.
- GitHub accepts at most 25,000 results per run, so a finding with very many objects lists the first ones
  and one more result that counts the rest (the JSON report has them all).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from graphlattice.checks.article import Article
from graphlattice.checks.engine import Assessment
from graphlattice.checks.result import Affected, Finding, Severity, Status
from graphlattice.report._common import (
    GENERATOR_NAME,
    GENERATOR_VERSION,
    STATUS_ORDER,
    ordered,
    resolve_articles,
    unavailable,
    waiver_state,
)
from graphlattice.report.json_report import dumps

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/graphlattice/graphlattice"
ATTACK_URL = "https://attack.mitre.org/techniques/{}/"

# GitHub maps security-severity to its labels: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "warning",
    Severity.INFO: "note",
}

MAX_RESULTS = 20_000  # below GitHub's hard limit of 25,000 per run
MAX_OBJECT_RESULTS_PER_FINDING = 1_000
MAX_TAGS = 20  # GitHub's limit per rule
FINGERPRINT_KEY = "graphlatticeObject/v1"


def _pascal(risk_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", risk_id) if part)


def _first_paragraph(text: str) -> str:
    for block in re.split(r"\n\s*\n", text.strip()):
        if block.strip():
            return " ".join(line.strip() for line in block.splitlines())
    return ""


def _help_markdown(article: Article) -> str:
    lines = [f"# {article.title}", "", article.body.strip(), ""]
    if article.attack:
        links = ", ".join(f"[{t}]({ATTACK_URL.format(t.replace('.', '/'))})" for t in article.attack)
        lines += [f"**MITRE ATT&CK:** {links}", ""]
    if article.permissions:
        lines += [f"**Read permissions used:** {', '.join(f'`{p}`' for p in article.permissions)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _help_text(article: Article) -> str:
    text = article.body.strip()
    if article.attack:
        text += "\n\nMITRE ATT&CK: " + ", ".join(article.attack)
    return text + "\n"


def _rule(risk_id: str, article: Article | None, finding: Finding) -> dict[str, Any]:
    severity = article.severity if article is not None else finding.severity
    title = article.title if article is not None else finding.title
    tags = ["security", "identity", "entra-id"]
    if article is not None:
        tags += [t for t in article.attack if t not in tags]
    rule: dict[str, Any] = {
        "id": risk_id,
        "name": _pascal(risk_id),
        "shortDescription": {"text": title},
    }
    if article is not None:
        why = article.sections.get("Why it matters", "")
        rule["fullDescription"] = {"text": _first_paragraph(why) or title}
        rule["help"] = {"text": _help_text(article), "markdown": _help_markdown(article)}
    else:
        rule["fullDescription"] = {"text": title}
        rule["help"] = {"text": title, "markdown": f"# {title}\n"}
    rule["defaultConfiguration"] = {"level": LEVEL[severity]}
    rule["properties"] = {
        "tags": tags[:MAX_TAGS],
        "security-severity": SECURITY_SEVERITY[severity],
        "severity": severity.value,
    }
    return rule


def _fingerprint(tenant_id: str, finding: Finding, subject: str) -> str:
    material = "\x1f".join((tenant_id.lower(), finding.risk, finding.variant or "", subject.lower()))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _location(tenant_id: str, name: str, fqn: str, kind: str) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": f"graphlattice/tenant-{tenant_id}.json"},
            "region": {"startLine": 1},
        },
        "logicalLocations": [{"name": name, "fullyQualifiedName": fqn, "kind": kind}],
    }


class _Builder:
    def __init__(self, assessment: Assessment, articles: Mapping[str, Article]) -> None:
        self.tenant_id = assessment.tenant.tenant_id
        self.articles = articles
        self.rules: list[dict[str, Any]] = []
        self.rule_index: dict[str, int] = {}
        self.results: list[dict[str, Any]] = []

    def add_rule(self, finding: Finding) -> None:
        if finding.risk in self.rule_index:
            return
        self.rule_index[finding.risk] = len(self.rules)
        self.rules.append(_rule(finding.risk, self.articles.get(finding.risk), finding))

    def _result(
        self, finding: Finding, level: str, text: str, location: dict[str, Any], subject: str
    ) -> dict[str, Any]:
        digest = _fingerprint(self.tenant_id, finding, subject)
        result: dict[str, Any] = {
            "ruleId": finding.risk,
            "ruleIndex": self.rule_index[finding.risk],
            "level": level,
            "message": {"text": text},
            "locations": [location],
            "partialFingerprints": {
                FINGERPRINT_KEY: digest,
                # The upload action only computes this hash for files present in the repository; ours is
                # a pseudo-file, so we supply a stable value ourselves.
                "primaryLocationLineHash": f"{digest[:16]}:1",
            },
            "properties": {"status": finding.status.value, "severity": finding.severity.value},
        }
        if finding.variant:
            result["properties"]["variant"] = finding.variant
        return result

    def _tenant_location(self) -> dict[str, Any]:
        return _location(self.tenant_id, self.tenant_id, f"tenant/{self.tenant_id}", "namespace")

    def add_unknown(self, finding: Finding) -> None:
        if finding.missing:
            what = ", ".join(finding.missing)
            text = (
                f"{finding.title}: not evaluated because {what} could not be read. "
                f"Grant {', '.join(finding.grant)} to the app registration and collect again."
            )
        else:
            text = f"{finding.title}: not evaluated. {finding.summary}"
        result = self._result(finding, "note", text, self._tenant_location(), "__not-evaluated__")
        result["properties"]["grant"] = list(finding.grant)
        if finding.cause is not None:
            result["properties"]["cause"] = finding.cause.value
        if finding.missing:
            result["properties"]["missing"] = list(finding.missing)
        self.results.append(result)

    def _suppression(self, finding: Finding, item: Affected | None) -> list[dict[str, Any]]:
        state = waiver_state(finding)
        rationale: str | None = None
        if state == "active" and finding.waiver is not None and finding.waiver.get("rationale"):
            rationale = str(finding.waiver["rationale"])
        elif item is not None and item.waived_by is not None:
            rationale = item.waived_by
        elif state == "active" and item is None and finding.affected:
            rationale = next((a.waived_by for a in finding.affected if a.waived_by), None)
        if rationale is None:
            return []
        return [{"kind": "external", "status": "accepted", "justification": rationale}]

    def _expiry_note(self, finding: Finding) -> str:
        if waiver_state(finding) != "expired" or finding.waiver is None:
            return ""
        owner = finding.waiver.get("owner", "unknown owner")
        return f" A waiver for this finding expired on {finding.waiver.get('expires', '?')} (owner {owner})."

    def add_failure(self, finding: Finding, budget: int) -> None:
        level = LEVEL[finding.severity]
        note = self._expiry_note(finding)
        if not finding.affected:
            result = self._result(
                finding,
                level,
                f"{finding.title}: {finding.summary}{note}",
                self._tenant_location(),
                "__tenant__",
            )
            self._decorate(result, finding, None)
            self.results.append(result)
            return
        shown = finding.affected[: max(0, budget)]
        for item in shown:
            parts = [f"{finding.title}: {item.display_name or item.id} ({item.type})."]
            if item.detail:
                parts.append(item.detail.rstrip(".") + ".")
            parts.append(finding.summary + note)
            text = " ".join(parts)
            fqn = f"tenant/{self.tenant_id}/{item.type}/{item.id}"
            location = _location(self.tenant_id, item.display_name or item.id, fqn, "object")
            result = self._result(finding, level, text, location, f"{item.type}/{item.id}")
            result["properties"]["objectId"] = item.id
            self._decorate(result, finding, item)
            self.results.append(result)
        rest = len(finding.affected) - len(shown)
        if rest > 0:
            text = (
                f"{finding.title}: {rest} more affected object(s) not listed here; "
                f"the JSON report lists all {len(finding.affected)}. {finding.summary}{note}"
            )
            result = self._result(finding, level, text, self._tenant_location(), "__more__")
            result["properties"]["omittedObjects"] = rest
            self._decorate(result, finding, None)
            self.results.append(result)

    def _decorate(self, result: dict[str, Any], finding: Finding, item: Affected | None) -> None:
        suppressions = self._suppression(finding, item)
        if suppressions:
            result["suppressions"] = suppressions
        if finding.waiver is not None:
            result["properties"]["waiver"] = dict(finding.waiver)


def sarif_document(
    assessment: Assessment, *, articles: Mapping[str, Article] | None = None
) -> dict[str, Any]:
    chosen = resolve_articles(assessment, articles)
    builder = _Builder(assessment, chosen)
    findings = ordered(assessment.findings)
    for finding in findings:
        builder.add_rule(finding)
    reportable = [f for f in findings if f.status in (Status.FAIL, Status.UNKNOWN)]
    for position, finding in enumerate(reportable):
        if finding.status is Status.UNKNOWN:
            builder.add_unknown(finding)
            continue
        # Keep one slot for every finding still to come, so none of them is dropped.
        still_to_come = len(reportable) - position - 1
        room = MAX_RESULTS - len(builder.results) - still_to_come - 1  # -1: a possible "N more" result
        builder.add_failure(finding, min(MAX_OBJECT_RESULTS_PER_FINDING, room))

    tenant = assessment.tenant_json()
    notifications = [
        {
            "level": "warning",
            "descriptor": {"id": "collection-unavailable"},
            "message": {
                "text": f"{name} could not be read ({reason})"
                + (f"; grant {permission}" if permission else "")
            },
        }
        for name, reason, permission in unavailable(assessment)
    ]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    counts = {status.value: 0 for status in STATUS_ORDER}
    for finding in assessment.findings:
        counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": GENERATOR_NAME,
                "version": GENERATOR_VERSION,
                "semanticVersion": GENERATOR_VERSION,
                "informationUri": INFORMATION_URI,
                "rules": builder.rules,
            }
        },
        "automationDetails": {"id": f"graphlattice/tenant-{assessment.tenant.tenant_id}/"},
        "invocations": [invocation],
        "results": builder.results,
        "properties": {
            "tenantId": tenant["tenantId"],
            "collectedAt": tenant["collectedAt"],
            "source": tenant["source"],
            "findingsByStatus": counts,
            "unavailable": tenant["unavailable"],
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(assessment: Assessment, *, articles: Mapping[str, Article] | None = None) -> bytes:
    """SARIF 2.1.0 as indented UTF-8 JSON bytes."""
    return dumps(sarif_document(assessment, articles=articles))
