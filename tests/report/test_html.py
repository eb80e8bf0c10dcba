"""The HTML report: self-contained, escaped, and complete enough to hand to a CISO."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from markupsafe import escape

from graphlattice import __version__
from graphlattice.checks.article import Article
from graphlattice.checks.engine import Assessment
from graphlattice.checks.result import Affected, Finding, Severity, Status
from graphlattice.report import render_html
from graphlattice.report.html import HIDDEN_ROWS, VISIBLE_ROWS
from tests.report.conftest import INJECTED, KIOSK_RATIONALE, TENANT_ID, build_assessment


class _Tags(HTMLParser):
    """Collects every start tag with its attributes, and the text of <script> and <style> blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in {"script", "style"}:
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.inline.append(data)


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def _render(assessment: Assessment, articles: dict[str, Article]) -> str:
    return render_html(assessment, articles=articles)


def test_every_finding_title_and_summary_appears(
    assessment: Assessment, articles: dict[str, Article]
) -> None:
    page = _render(assessment, articles)
    for finding in assessment.findings:
        assert str(escape(finding.title)) in page, finding.title
        assert str(escape(finding.summary)) in page, finding.summary
    assert page.count('<article class="finding') == len(assessment.findings)


def test_header_shows_tenant_time_and_source(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    assert TENANT_ID in page
    assert "16 Nov 2026, 09:00 UTC" in page
    assert '<time datetime="2026-11-16T09:00:00Z">' in page
    assert "<dt>Source</dt><dd>fixture</dd>" in page


def test_injected_markup_is_escaped(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    assert INJECTED not in page
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page
    # waiver rationales come from a user file and are escaped too
    assert "<b>2027</b>" not in page
    assert str(escape(KIOSK_RATIONALE)) in page
    scripts = [attrs for tag, attrs in _parse(page).tags if tag == "script"]
    assert scripts == [{}], "one inline script, no others"


def test_loads_nothing_from_the_network(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    parsed = _parse(page)
    external = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
    for tag, attrs in parsed.tags:
        assert tag not in {"link", "img", "iframe", "object", "embed", "video", "audio", "source", "base"}, (
            tag
        )
        for name in ("src", "srcset", "data", "poster", "action", "formaction", "xlink:href"):
            assert not external.match(attrs.get(name, "")), (tag, name, attrs)
        if external.match(attrs.get("href", "")):
            assert tag == "a", (tag, attrs)  # plain links to ATT&CK or docs are fine
    inline = "\n".join(parsed.inline)
    assert "@import" not in inline
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", inline)
    assert not re.search(r"\bfetch\(|XMLHttpRequest|import\(", inline)


def test_prechecks_are_shown_with_their_answers(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    assert "Checks before taking action — answered from this tenant" in page
    assert "<dt>Is the TAP method enabled, and for whom?</dt><dd>Enabled for 1 group(s).</dd>" in page
    assert "<dd>2 user(s) hold a usable pass.</dd>" in page


def test_executive_summary(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    summary = page[page.index('id="summary"') : page.index('<div class="toolbar"')]
    assert "3 open findings need attention</strong>" in summary
    assert "(1 critical, 1 high, 1 low)." in summary
    assert "<svg" in summary and 'aria-label="Findings by status"' in summary
    # what to do first: open failures, most severe first; the fully waived one is not among them
    first = summary[summary.index("What to do first") :]
    order = [
        first.index(t)
        for t in (
            "Administrators sign in with phishable methods",
            "Temporary Access Pass policy allows reusable",
            "Conditional Access policies left in report-only mode",
        )
    ]
    assert order == sorted(order)
    assert "Users who cannot complete MFA" not in first
    # the first remediation step comes from the article, rendered from Markdown
    assert (
        "<b>First step:</b> In Entra ID &gt; Authentication methods &gt; Temporary Access Pass, set "
        "<strong>One-time</strong> to Yes." in first
    )
    assert "AuditLog.Read.All" in summary  # the permission to grant, up front


def test_findings_are_ordered_by_status_then_severity(
    assessment: Assessment, articles: dict[str, Article]
) -> None:
    page = _render(assessment, articles)
    anchors = re.findall(r'<article class="finding[^"]*" id="([^"]+)" data-status="([A-Z_]+)"', page)
    assert anchors == [
        ("finding-admins-risky-mfa-sms", "FAIL"),
        ("finding-tap-policy-weak", "FAIL"),
        ("finding-ca-report-only-never-enforced", "FAIL"),
        ("finding-users-without-mfa", "FAIL"),  # fully waived: after the open failures
        ("finding-mfa-registration-gate", "UNKNOWN"),
        ("finding-tap-issuance-unscoped", "PASS"),
        ("finding-tap-active-passes", "NOT_APPLICABLE"),
    ]


def test_waiver_states_are_explained(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    assert "<strong>Waiver expired on 2026-01-31</strong> (owner ravi@fixture.example)" in page
    assert "this finding counts again" in page
    assert "<strong>Accepted by a waiver</strong> — owner it-ops@fixture.example, expires 2027-06-30." in page
    assert "<strong>1 of 3 affected objects are waived</strong>" in page
    assert '<span class="tag expired">Waiver expired</span>' in page


def test_unknown_says_which_permission_to_grant(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    card = page[page.index('id="finding-mfa-registration-gate"') :]
    card = card[: card.index("</article>")]
    assert "Grant <code>AuditLog.Read.All</code> to the app registration, then collect again." in card
    assert "<code>userRegistrationDetails</code>: 403 Authorization_RequestDenied</li>" in card


def test_data_not_collected_section(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    section = page[page.index('id="not-collected"') :]
    assert '<td class="mono">userRegistrationDetails</td>' in section
    assert "<td>403 Authorization_RequestDenied</td>" in section
    assert "<code>AuditLog.Read.All</code>" in section
    assert '<span class="mono">mfa-registration-gate</span>' in section


def test_article_is_rendered_in_full(
    assessment: Assessment, articles: dict[str, Article], tap_article: Article
) -> None:
    page = _render(assessment, articles)
    card = page[page.index('id="finding-tap-policy-weak"') :]
    card = card[: card.index("</article>")]
    for section in tap_article.sections:
        assert re.search(f"<h([34])>{re.escape(html.escape(section))}</h\\1>", card), section
    # an open failure shows its remediation steps up front, the rest of the article below
    assert card.index('<div class="remediation">') < card.index('<details class="article">')
    assert "<h4>Safe remediation steps</h4>" not in card
    assert "set <strong>One-time</strong> to Yes." in card
    assert "<li>Is the TAP method enabled, and for whom (all users or specific groups)?</li>" in card
    assert (
        "<code>PATCH /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"
        "TemporaryAccessPass</code>" in card
    )
    assert (
        '<a href="https://attack.mitre.org/techniques/T1556/006/" rel="noopener noreferrer">T1556.006</a>'
        in card
    )
    # related risks in this report are in-page anchors; the one that is not stays plain text
    assert '<a href="#risk-tap-issuance-unscoped"' in card
    assert '<a href="#risk-mfa-registration-gate"' in card
    assert '<span class="anchor" id="risk-tap-issuance-unscoped"></span>' in page
    assert '<span class="mono" title="not part of this report">tap-issuers-standing-access</span>' in card
    # backticked risk ids in the article text link to their findings as well
    assert '<a class="risk-link" href="#risk-tap-active-passes"><code>tap-active-passes</code></a>' in card
    assert "<code>Policy.Read.AuthenticationMethod</code>" in card  # the permission the check reads with


def test_article_markdown_cannot_inject_or_fetch(tmp_path: Path, tap_article: Article) -> None:
    hostile = replace(
        tap_article,
        sections={
            **tap_article.sections,
            "Why it matters": 'Look: <img src="https://evil.example/x.png" onerror="alert(1)">\n\n'
            "![pixel](https://evil.example/pixel.png) and [a link](javascript:alert(1))",
        },
    )
    assessment = build_assessment(tmp_path, tap_article)
    page = render_html(assessment, articles={hostile.id: hostile})
    assert "&lt;img src=&quot;https://evil.example/x.png&quot;" in page
    assert not any(tag == "img" for tag, _ in _parse(page).tags)
    assert 'href="javascript:' not in page


def test_affected_rows_are_capped_with_the_rest_collapsed(tmp_path: Path, tap_article: Article) -> None:
    total = VISIBLE_ROWS + HIDDEN_ROWS + 30
    finding = Finding(
        risk="users-risky-mfa",
        status=Status.FAIL,
        severity=Severity.MEDIUM,
        title="Risky MFA for users",
        summary="Many users use SMS.",
        affected=[Affected(id=f"u-{n:05d}", type="user", display_name=f"User {n:05d}") for n in range(total)],
    )
    page = render_html(build_assessment(tmp_path, tap_article, findings=[finding]), articles={})
    visible = page[: page.index('<details class="more-rows">')]
    assert visible.count('<td class="mono">u-') == VISIBLE_ROWS
    assert f"{HIDDEN_ROWS + 30:,} more affected objects — show {HIDDEN_ROWS:,}" in page
    assert page.count('<td class="mono">u-') == VISIBLE_ROWS + HIDDEN_ROWS
    assert "30 further objects are not shown here; the JSON report lists all" in page


def test_the_bulk_finding_shows_fifty_rows_and_a_note(
    assessment: Assessment, articles: dict[str, Article]
) -> None:
    page = _render(assessment, articles)
    card = page[page.index('id="finding-users-without-mfa"') :]
    card = card[: card.index("</article>")]
    assert "70 more affected objects — show 70" in card
    assert card.count("Batch Account") == 120


def test_footer_names_the_generator(assessment: Assessment, articles: dict[str, Article]) -> None:
    page = _render(assessment, articles)
    assert f"Generated by graphlattice {__version__}" in page
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")


def test_print_styles_and_no_findings(tmp_path: Path, tap_article: Article) -> None:
    page = render_html(build_assessment(tmp_path, tap_article, findings=[]), articles={})
    assert "@media print" in page
    assert "No open failing findings</strong> among the 0 checked." in page
    assert "No open failing findings." in page


def test_other_statuses_keep_remediation_inside_the_article(tmp_path: Path, tap_article: Article) -> None:
    finding = Finding(
        risk=tap_article.id,
        status=Status.PASS,
        severity=tap_article.severity,
        title=tap_article.title,
        summary="Passes are one-time and short-lived.",
    )
    page = render_html(
        build_assessment(tmp_path, tap_article, findings=[finding]), articles={tap_article.id: tap_article}
    )
    assert '<div class="remediation">' not in page
    assert "<h4>Safe remediation steps</h4>" in page
    assert "<details open>" not in page  # a passing finding starts collapsed


def test_a_missing_optional_collection_is_listed_too(tmp_path: Path, tap_article: Article) -> None:
    finding = Finding(
        risk="ca-mfa-bypass-paths",
        status=Status.UNKNOWN,
        severity=Severity.HIGH,
        title="MFA bypass paths",
        summary="Not evaluated: signIns could not be read.",
        missing=["signIns"],
        grant=["AuditLog.Read.All and Directory.Read.All"],
    )
    page = render_html(build_assessment(tmp_path, tap_article, findings=[finding]), articles={})
    section = page[page.index('id="not-collected"') :]
    assert '<td class="mono">signIns</td>' in section
    assert "<td>not in the snapshot</td>" in section
    assert '<span class="mono">ca-mfa-bypass-paths</span>' in section


def test_variants_count_as_findings_of_one_risk(tmp_path: Path, tap_article: Article) -> None:
    findings = [
        Finding(
            risk="users-risky-mfa",
            status=Status.FAIL,
            severity=Severity.MEDIUM,
            title="Risky MFA",
            summary=f"Users rely on {v}.",
            variant=v,
            affected=[Affected("u-bob", "user", "Bob")],
        )
        for v in ("sms", "voice")
    ]
    page = render_html(build_assessment(tmp_path, tap_article, findings=findings), articles={})
    assert "2 open findings need attention</strong> (2 medium), across 1 risk." in page
    assert 'id="finding-users-risky-mfa-sms"' in page and 'id="finding-users-risky-mfa-voice"' in page
    assert "users-risky-mfa · voice" in page
