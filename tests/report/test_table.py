"""The terminal table: fits 100 columns, most urgent first, waivers and missing data spelt out."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from graphlattice.checks.article import Article
from graphlattice.checks.engine import Assessment
from graphlattice.checks.result import Finding, Severity, Status
from graphlattice.report import render_table
from tests.report.conftest import TENANT_ID, build_assessment


def _text(assessment: Assessment, width: int = 100) -> str:
    console = Console(record=True, width=width, force_terminal=False, color_system=None)
    render_table(assessment, console)
    return console.export_text()


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines()):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in output")


@pytest.mark.parametrize("width", [100, 80, 60])
def test_fits_the_width(assessment: Assessment, width: int) -> None:
    text = _text(assessment, width)
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert too_wide == []


@pytest.mark.parametrize("width", [100, 80, 60])
def test_risk_ids_are_never_cut(assessment: Assessment, width: int) -> None:
    text = _text(assessment, width)
    for finding in assessment.findings:
        assert finding.risk in text, finding.risk
    assert "ca-report-only-never-enforced" in text  # the longest id, 29 characters


def test_rows_are_ordered(assessment: Assessment) -> None:
    text = _text(assessment)
    rows = [
        _line_of(text, risk)
        for risk in (
            "admins-risky-mfa",  # FAIL critical
            "tap-policy-weak",  # FAIL high
            "ca-report-only-never-enforced",  # FAIL low (its waiver expired, so it counts)
            "users-without-mfa",  # FAIL, fully waived
            "mfa-registration-gate",  # UNKNOWN
            "tap-issuance-unscoped",  # PASS
            "tap-active-passes",  # NOT_APPLICABLE
        )
    ]
    assert rows == sorted(rows)
    assert text.splitlines()[rows[4]].startswith("UNKNOWN")
    assert text.splitlines()[rows[6]].startswith("N/A")


def test_columns_and_cells(assessment: Assessment) -> None:
    text = _text(assessment)
    header = text.splitlines()[0]
    for column in ("Status", "Severity", "Risk", "Summary", "Objects"):
        assert column in header
    row = text.splitlines()[_line_of(text, "users-without-mfa")]
    assert row.split()[:3] == ["FAIL", "medium", "users-without-mfa"]
    assert row.rstrip().endswith("120")
    number = _line_of(text, "admins-risky-mfa")
    assert "· sms" in text.splitlines()[number + 1]  # the variant sits under the risk id
    assert "3 privileged users can satisfy" in text.splitlines()[number]


def test_waivers_are_marked(assessment: Assessment) -> None:
    lines = _text(assessment).splitlines()
    below = {
        risk: lines[_line_of("\n".join(lines), risk) + 1]
        for risk in ("users-without-mfa", "admins-risky-mfa", "ca-report-only-never-enforced")
    }
    assert below["users-without-mfa"].startswith("waived")
    assert below["admins-risky-mfa"].startswith("1 waived")
    assert below["ca-report-only-never-enforced"].startswith("expired!")
    row = lines[_line_of("\n".join(lines), "ca-report-only-never-enforced")]
    assert "waiver expired 2026-01-31" in row


def test_unknown_shows_the_permission(assessment: Assessment) -> None:
    text = _text(assessment)
    row = text.splitlines()[_line_of(text, "mfa-registration-gate")]
    assert "grant AuditLog.Read.All" in row


def test_footer(assessment: Assessment) -> None:
    text = _text(assessment)
    assert "Findings: 4 FAIL, 1 UNKNOWN, 1 PASS, 1 N/A" in text
    assert "Open failures by severity: 1 critical, 1 high, 0 medium, 1 low, 0 info" in text
    assert "Waivers: 1 waived, 1 partly waived, 1 with an expired waiver (counted again)" in text
    assert f"Tenant: {TENANT_ID}  collected: 2026-11-16T09:00:00Z" in text
    assert "Source: fixture" in text
    assert "userRegistrationDetails: 403 Authorization_RequestDenied — grant AuditLog.Read.All" in text


def test_colours_are_plain_sgr(assessment: Assessment) -> None:
    console = Console(record=True, width=100, force_terminal=True, color_system="standard")
    render_table(assessment, console)
    styled = console.export_text(styles=True)
    assert "\x1b[" in styled  # coloured
    assert "\x1b]8;" not in styled  # no hyperlinks: they garble `less -R`


def test_long_summaries_take_at_most_two_lines(tmp_path: Path, tap_article: Article) -> None:
    finding = Finding(
        risk="tap-policy-weak", status=Status.FAIL, severity=Severity.HIGH, title="TAP", summary="word " * 80
    )
    text = _text(build_assessment(tmp_path, tap_article, findings=[finding]))
    lines = text.splitlines()
    start = _line_of(text, "tap-policy-weak")
    assert lines[start + 1].strip().endswith("…")
    assert lines[start + 2].strip() == ""


def test_empty_assessment(tmp_path: Path, tap_article: Article) -> None:
    text = _text(build_assessment(tmp_path, tap_article, findings=[]))
    assert "No findings" in text
    assert "Findings: 0 FAIL" in text


def test_narrow_terminals_get_one_block_per_finding(assessment: Assessment) -> None:
    lines = _text(assessment, 60).splitlines()
    first = lines.index(next(line for line in lines if "admins-risky-mfa" in line))
    assert lines[first].split() == [
        "FAIL",
        "1",
        "waived",
        "critical",
        "admins-risky-mfa",
        "·",
        "sms",
        "3",
        "objects",
    ]
    assert lines[first + 1].startswith("    3 privileged users")
    unknown = next(line for line in lines if "mfa-registration-gate" in line)
    assert "grant AuditLog.Read.All" in lines[lines.index(unknown) + 1]
