"""The HTML report: one self-contained file to read with a CISO or print.

Everything is inline (CSS, an SVG chart, a few lines of vanilla JavaScript for filtering); the page loads
nothing from the network. Text from the tenant and from findings is escaped by Jinja2's autoescaping; the
risk articles are rendered from Markdown with raw HTML and images disabled, so they cannot inject markup or
fetch anything either. Links (ATT&CK techniques, links written in articles) are plain anchors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

from graphlattice.checks.article import SECTIONS, Article
from graphlattice.checks.engine import Assessment
from graphlattice.checks.result import Affected, Finding, Severity, Status
from graphlattice.report._common import (
    GENERATOR_NAME,
    GENERATOR_VERSION,
    SEVERITY_ORDER,
    STATUS_LABEL,
    STATUS_ORDER,
    ordered,
    resolve_articles,
    summary,
    unavailable,
    waived_objects,
    waiver_rationale,
    waiver_state,
)

TEMPLATES = Path(__file__).parent / "templates"
ATTACK_URL = "https://attack.mitre.org/techniques/{}/"
VISIBLE_ROWS = 50  # affected objects shown without expanding
HIDDEN_ROWS = 2_000  # further rows kept in a collapsed block; the JSON report has the rest
TOP_ACTIONS = 5
REMEDIATION = "Safe remediation steps"
EVIDENCE_CHARS = 6_000
STEP_CHARS = 240  # the 'first step' in the executive summary stays short

SEVERITY_COLOUR: dict[str, str] = {
    Severity.CRITICAL.value: "#9f1239",
    Severity.HIGH.value: "#dc2626",
    Severity.MEDIUM.value: "#d97706",
    Severity.LOW.value: "#2563eb",
    Severity.INFO.value: "#64748b",
}
STATUS_COLOUR: dict[str, str] = {
    Status.FAIL.value: "#dc2626",
    Status.UNKNOWN.value: "#7c3aed",
    Status.PASS.value: "#16a34a",
    Status.NOT_APPLICABLE.value: "#94a3b8",
}


# ---- Markdown ----------------------------------------------------------------------------------------------


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    if not href.startswith("#"):
        token.attrSet("rel", "noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.disable("image")  # an image would be a network fetch; its alt text and link stay readable
    md.add_render_rule("link_open", _link_open)
    return md


_CODE_ID = re.compile(r"<code>([a-z][a-z0-9]*(?:-[a-z0-9]+)+)</code>")


def _link_risk_ids(html: str, anchors: Mapping[str, str]) -> str:
    """Turn `risk-id` code spans that name a risk in this report into in-page links."""

    def swap(match: re.Match[str]) -> str:
        risk = match.group(1)
        if risk in anchors:
            return f'<a class="risk-link" href="#{anchors[risk]}">{match.group(0)}</a>'
        return match.group(0)

    return _CODE_ID.sub(swap, html)


def markdown_html(text: str, anchors: Mapping[str, str]) -> Markup:
    # Raw HTML is off, so every '<' in the source comes out escaped; the output is safe to embed.
    return Markup(_link_risk_ids(_markdown().render(text), anchors))


def markdown_inline(text: str, anchors: Mapping[str, str]) -> Markup:
    return Markup(_link_risk_ids(_markdown().renderInline(text), anchors))


# ---- view model --------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _attack_url(technique: str) -> str:
    return ATTACK_URL.format(technique.replace(".", "/"))


def _first_step(article: Article) -> str | None:
    """The first numbered or bulleted item of 'Safe remediation steps', joined onto one line."""
    text = article.sections.get(REMEDIATION, "")
    lines: list[str] = []
    item = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+(.*)$")
    for line in text.splitlines():
        match = item.match(line)
        if match:
            if lines:
                break
            lines.append(match.group(1).strip())
        elif lines:
            if not line.strip():
                break
            lines.append(line.strip())
    return _first_sentences(" ".join(lines)) or None


def _first_sentences(text: str, limit: int = STEP_CHARS) -> str:
    """Cut Markdown text after the last sentence that ends within ``limit`` characters (never inside code)."""
    if len(text) <= limit:
        return text
    in_code = False
    cut = -1
    for index, char in enumerate(text):
        if char == "`":
            in_code = not in_code
        elif char in ".:;" and not in_code and text[index + 1 : index + 2] in (" ", ""):
            if index >= limit:
                break
            cut = index
    if cut < 0:
        return text
    return text[: cut + 1].rstrip(":;") + " …"


def _scalar(value: Any) -> str | None:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if (
        isinstance(value, list | tuple)
        and len(value) <= 12
        and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value)
    ):
        return ", ".join(str(v) for v in value) if value else "(none)"
    return None


def _evidence(evidence: Mapping[str, Any]) -> list[dict[str, Any]]:
    from graphlattice.report.json_report import dumps

    rows = []
    for key, value in evidence.items():
        text = _scalar(value)
        if text is not None:
            rows.append({"key": str(key), "text": text, "block": None})
            continue
        block = dumps(value).decode("utf-8").rstrip()
        if len(block) > EVIDENCE_CHARS:
            block = block[:EVIDENCE_CHARS].rstrip() + "\n… (cut here; the JSON report has all of it)"
        rows.append({"key": str(key), "text": None, "block": block})
    return rows


def _affected_row(item: Affected) -> dict[str, Any]:
    return {
        "name": item.display_name or item.id,
        "type": item.type,
        "id": item.id,
        "detail": item.detail,
        "waived_by": item.waived_by,
    }


def _waiver_view(finding: Finding) -> dict[str, Any] | None:
    state = waiver_state(finding)
    if state is None or finding.waiver is None:
        return None
    waiver = finding.waiver
    return {
        "state": state,
        "rationale": waiver_rationale(finding),
        "owner": waiver.get("owner"),
        "expires": waiver.get("expires"),
        "object": waiver.get("object"),
        "objects": waived_objects(finding),
        "total": len(finding.affected),
    }


def _format_time(assessment: Assessment) -> str:
    when = assessment.tenant.collected_at
    when = when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return f"{when.day} {when.strftime('%b %Y, %H:%M')} UTC"


def _donut(by_status: Mapping[str, int]) -> dict[str, Any]:
    radius = 52.0
    circumference = 2 * math.pi * radius
    total = sum(by_status.values())
    segments = []
    offset = 0.0
    for status in STATUS_ORDER:
        count = by_status.get(status.value, 0)
        if not count or not total:
            continue
        length = circumference * count / total
        segments.append(
            {
                "colour": STATUS_COLOUR[status.value],
                "dash": f"{length:.2f} {circumference - length:.2f}",
                "offset": f"{-offset:.2f}",
                "label": STATUS_LABEL[status],
                "count": count,
            }
        )
        offset += length
    return {"radius": radius, "segments": segments, "total": total}


def _bars(failing: Mapping[str, int]) -> list[dict[str, Any]]:
    top = max(failing.values(), default=0) or 1
    width = 230.0
    bars = []
    for index, severity in enumerate(SEVERITY_ORDER):
        count = failing.get(severity.value, 0)
        bars.append(
            {
                "label": severity.value.capitalize(),
                "count": count,
                "y": index * 30,
                "width": f"{max(width * count / top, 2.0 if count else 0.0):.1f}",
                "colour": SEVERITY_COLOUR[severity.value],
            }
        )
    return bars


def build_context(assessment: Assessment, articles: Mapping[str, Article]) -> dict[str, Any]:
    findings = ordered(assessment.findings)
    # Every finding has its own anchor; the first finding of each risk also carries "risk-<id>", which is
    # where related-risk links and risk ids written in articles point.
    anchors = {finding.risk: f"risk-{slug(finding.risk)}" for finding in findings}
    finding_anchor: dict[int, str] = {}
    risk_anchor: dict[int, str] = {}
    used: set[str] = set(anchors.values())
    for finding in findings:
        anchor = base = "finding-" + slug(finding.key)
        number = 1
        while anchor in used:
            number += 1
            anchor = f"{base}-{number}"
        used.add(anchor)
        finding_anchor[id(finding)] = anchor
        if finding.risk in anchors and anchors[finding.risk] not in risk_anchor.values():
            risk_anchor[id(finding)] = anchors[finding.risk]
    titles = {f.risk: f.title for f in findings}
    titles.update({rid: a.title for rid, a in articles.items()})

    missing_reason = {name: reason for name, reason, _ in unavailable(assessment)}
    views = []
    for finding in findings:
        article = articles.get(finding.risk)
        total = len(finding.affected)
        rows = [_affected_row(a) for a in finding.affected[: VISIBLE_ROWS + HIDDEN_ROWS]]
        article_view = None
        if article is not None:
            known = [name for name in SECTIONS if article.sections.get(name)]
            extra = [name for name in article.sections if name not in SECTIONS]
            # An open failure shows its remediation steps in the finding itself; the rest of the article
            # (or all of it, for other statuses) sits in a collapsed block that printing expands.
            promote = finding.status is Status.FAIL and REMEDIATION in known
            article_view = {
                "remediation": markdown_html(article.sections[REMEDIATION], anchors) if promote else None,
                "sections": [
                    {"name": name, "html": markdown_html(article.sections[name], anchors)}
                    for name in [*known, *extra]
                    if not (promote and name == REMEDIATION)
                ],
                "attack": [{"id": t, "url": _attack_url(t)} for t in article.attack],
                "related": [
                    {"id": r, "anchor": anchors.get(r), "title": titles.get(r)} for r in article.related
                ],
                "permissions": list(article.permissions),
            }
        views.append(
            {
                "anchor": finding_anchor[id(finding)],
                "risk_anchor": risk_anchor.get(id(finding)),
                "risk": finding.risk,
                "variant": finding.variant,
                "status": finding.status.value,
                "status_label": STATUS_LABEL[finding.status],
                "severity": finding.severity.value,
                "title": finding.title,
                "summary": finding.summary,
                "reasons": finding.reasons,
                "prechecks": [{"question": p.question, "answer": p.answer} for p in finding.prechecks],
                "affected_total": total,
                "affected_visible": rows[:VISIBLE_ROWS],
                "affected_hidden": rows[VISIBLE_ROWS : VISIBLE_ROWS + HIDDEN_ROWS],
                "affected_omitted": max(0, total - VISIBLE_ROWS - HIDDEN_ROWS),
                "waived_objects": waived_objects(finding),
                "waived": finding.waived,
                "waiver": _waiver_view(finding),
                "evidence": _evidence(finding.evidence),
                "grant": finding.grant,
                "cause": finding.cause.label if finding.cause is not None else "",
                "missing": [
                    {"name": name, "reason": missing_reason.get(name, "not collected")}
                    for name in finding.missing
                ],
                "article": article_view,
                "open": finding.status in (Status.FAIL, Status.UNKNOWN) and not finding.waived,
            }
        )

    counts = summary(assessment)
    urgent = sorted(
        (f for f in findings if f.status is Status.FAIL and not f.waived),
        key=lambda f: (-f.severity.rank, -len(f.affected), f.risk),
    )[:TOP_ACTIONS]
    actions = []
    for finding in urgent:
        article = articles.get(finding.risk)
        step = _first_step(article) if article is not None else None
        actions.append(
            {
                "anchor": finding_anchor[id(finding)],
                "title": finding.title,
                "severity": finding.severity.value,
                "affected": len(finding.affected),
                "summary": finding.summary,
                "step": markdown_inline(step, anchors) if step else None,
            }
        )
    grants: list[str] = []
    for finding in findings:
        if finding.status is Status.UNKNOWN:
            grants.extend(g for g in finding.grant if g not in grants)
    expired = [
        {
            "anchor": finding_anchor[id(f)],
            "title": f.title,
            "owner": (f.waiver or {}).get("owner"),
            "expires": (f.waiver or {}).get("expires"),
        }
        for f in findings
        if waiver_state(f) == "expired"
    ]
    missing_by_collection: dict[str, list[str]] = {}
    for finding in findings:
        for name in finding.missing:
            missing_by_collection.setdefault(name, []).append(finding.risk)
    tenant = assessment.tenant
    failing_total = sum(counts["failingBySeverity"].values())
    failing_risks = len({f.risk for f in findings if f.status is Status.FAIL and not f.waived})
    return {
        "generator": {"name": GENERATOR_NAME, "version": GENERATOR_VERSION},
        "tenant": {
            "id": tenant.tenant_id,
            "collected": _format_time(assessment),
            "collected_iso": assessment.tenant_json()["collectedAt"],
            "source": tenant.source,
            "users": len(tenant.users),
            "groups": len(tenant.groups),
            "service_principals": len(tenant.service_principals),
        },
        "counts": counts,
        "failing_total": failing_total,
        "failing_risks": failing_risks,
        "failing_breakdown": ", ".join(
            f"{counts['failingBySeverity'][sev.value]} {sev.value}"
            for sev in SEVERITY_ORDER
            if counts["failingBySeverity"][sev.value]
        ),
        "status_cards": [
            {
                "status": s.value,
                "label": STATUS_LABEL[s],
                "count": counts["byStatus"][s.value],
                "colour": STATUS_COLOUR[s.value],
            }
            for s in STATUS_ORDER
        ],
        "donut": _donut(counts["byStatus"]),
        "bars": _bars(counts["failingBySeverity"]),
        "severity_colour": SEVERITY_COLOUR,
        "status_colour": STATUS_COLOUR,
        "actions": actions,
        "grants": grants,
        "expired": expired,
        "unavailable": [
            {
                "name": name,
                "reason": reason,
                "permission": permission,
                "risks": missing_by_collection.get(name, []),
            }
            for name, reason, permission in unavailable(assessment)
        ],
        "warnings": [*tenant.warnings, *assessment.notes],
        "findings": views,
    }


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(assessment: Assessment, *, articles: Mapping[str, Article] | None = None) -> str:
    """The report as one self-contained HTML document."""
    context = build_context(assessment, resolve_articles(assessment, articles))
    return _environment().get_template("report.html.j2").render(**context)
