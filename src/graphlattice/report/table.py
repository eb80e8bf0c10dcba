"""The terminal report: one row per finding, most urgent first, and a footer with the totals.

Built for a 100-column terminal and for ``| less -R``: only SGR colours (no hyperlinks or cursor moves), a
border-light table, and every fact also spelt out in words so nothing depends on colour. Text that comes from
the tenant (display names in summaries, error messages in the manifest, warnings quoting files) is passed
through :func:`~graphlattice.safetext.terminal_safe` before layout, so it can neither steer the terminal nor
throw the columns out.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from graphlattice.checks.engine import Assessment
from graphlattice.checks.result import Finding, Severity, Status
from graphlattice.report._common import (
    SEVERITY_ORDER,
    STATUS_ORDER,
    not_evaluated_line,
    ordered,
    summary,
    unavailable,
    waived_objects,
    waiver_state,
)
from graphlattice.safetext import terminal_safe

STATUS_STYLE: dict[Status, str] = {
    Status.FAIL: "bold red",
    Status.UNKNOWN: "bold magenta",
    Status.PASS: "green",
    Status.NOT_APPLICABLE: "dim",
}
STATUS_TEXT: dict[Status, str] = {
    Status.FAIL: "FAIL",
    Status.UNKNOWN: "UNKNOWN",
    Status.PASS: "PASS",
    Status.NOT_APPLICABLE: "N/A",
}
STATUS_WIDTH = 8  # "UNKNOWN", "expired!"
SEVERITY_WIDTH = 8  # "critical"
OBJECTS_WIDTH = 7
MIN_SUMMARY_WIDTH = 20
SUMMARY_LINES = 2

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _status_cell(finding: Finding) -> Text:
    text = Text(STATUS_TEXT[finding.status], style=STATUS_STYLE[finding.status])
    state = waiver_state(finding)
    if state == "expired":
        text.append("\nexpired!", style="bold yellow")
    elif state == "active":
        text.style = "red" if finding.status is Status.FAIL else text.style
        text.append("\nwaived", style="italic cyan")
    elif state == "partial":
        text.append(f"\n{waived_objects(finding)} waived", style="italic cyan")
    return text


def _summary_cell(finding: Finding) -> Text:
    if finding.status is Status.UNKNOWN:
        return Text(_safe(not_evaluated_line(finding)), style="magenta")
    text = Text()
    if waiver_state(finding) == "expired" and finding.waiver is not None:
        text.append(_safe(f"waiver expired {finding.waiver.get('expires', '?')}: "), style="yellow")
    text.append(_safe(finding.summary))
    return text


def _safe(text: object) -> str:
    """A value from the tenant, on one line and with nothing that steers the terminal."""
    return terminal_safe(str(text), single_line=True)


def _affected_cell(finding: Finding) -> Text:
    if finding.status is Status.UNKNOWN:
        return Text("-", style="dim")
    count = len(finding.affected)
    return Text(str(count), style="bold" if count and finding.status is Status.FAIL else "")


def _label(text: str, style: str = "bold") -> Text:
    return Text(text, style=style)


def _joined(parts: list[Text]) -> Text:
    return Text(", ").join(parts)


def _footer(assessment: Assessment, console: Console) -> None:
    counts = summary(assessment)
    statuses = [
        Text(
            f"{counts['byStatus'][status.value]} {STATUS_TEXT[status]}",
            style=STATUS_STYLE[status] if counts["byStatus"][status.value] else "dim",
        )
        for status in STATUS_ORDER
    ]
    console.print(Text.assemble(_label("Findings: "), _joined(statuses)))

    severities = [
        Text(
            f"{counts['failingBySeverity'][sev.value]} {sev.value}",
            style=SEVERITY_STYLE[sev] if counts["failingBySeverity"][sev.value] else "dim",
        )
        for sev in SEVERITY_ORDER
    ]
    console.print(Text.assemble(_label("Open failures by severity: "), _joined(severities)))

    waivers = []
    if counts["waived"]:
        waivers.append(Text(f"{counts['waived']} waived", style="cyan"))
    if counts["partiallyWaived"]:
        waivers.append(Text(f"{counts['partiallyWaived']} partly waived", style="cyan"))
    if counts["expiredWaivers"]:
        waivers.append(
            Text(f"{counts['expiredWaivers']} with an expired waiver (counted again)", style="bold yellow")
        )
    if waivers:
        console.print(Text.assemble(_label("Waivers: "), _joined(waivers)))

    tenant = assessment.tenant_json()
    console.print(
        Text.assemble(
            _label("Tenant: "),
            _safe(tenant["tenantId"]),
            _label("  collected: "),
            _safe(tenant["collectedAt"]),
        )
    )
    console.print(Text.assemble(_label("Source: "), _safe(tenant["source"])))
    missing = unavailable(assessment)
    if missing:
        console.print(_label("Data not collected (checks that need it are UNKNOWN):", "bold magenta"))
        for name, reason, permission in missing:
            entry = Text.assemble(("  " + _safe(name), "magenta"), ": ", _safe(reason))
            if permission:
                entry.append_text(Text.assemble(" — grant ", (_safe(permission), "bold")))
            console.print(entry)


def _clip(text: Text, console: Console, width: int, lines: int = SUMMARY_LINES) -> Text:
    """Wrap to ``width`` and keep at most ``lines`` lines, marking a cut with an ellipsis."""
    wrapped = text.wrap(console, width, overflow="fold")
    if len(wrapped) <= lines:
        return Text("\n").join(wrapped)
    kept = list(wrapped[:lines])
    last = kept[-1]
    last.rstrip()
    if last.cell_len >= width:
        last.truncate(width - 1)
        last.rstrip()
    last.append("…")
    return Text("\n").join(kept)


def _risk_cell(finding: Finding) -> Text:
    text = Text(finding.risk)
    if finding.variant:
        text.append(f"\n· {finding.variant}", style="not bold dim")
    return text


def _severity_cell(finding: Finding) -> Text:
    acted = finding.status in (Status.FAIL, Status.UNKNOWN)
    return Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity] if acted else "dim")


def _stacked(findings: list[Finding], console: Console) -> None:
    """For terminals too narrow for the table: a heading line per finding, its summary indented below."""
    for finding in findings:
        status = _status_cell(finding)
        status.plain = status.plain.replace("\n", " ")
        head = Text.assemble(status, "  ", _severity_cell(finding), "  ", (finding.risk, "bold"))
        if finding.variant:
            head.append(f" · {finding.variant}", style="dim")
        if finding.status is not Status.UNKNOWN:
            count = len(finding.affected)
            head.append(f"  {count} object{'' if count == 1 else 's'}", style="dim")
        console.print(head)
        body = _clip(_summary_cell(finding), console, max(10, console.width - 4), lines=3)
        for line in body.split("\n"):
            console.print(Text.assemble("    ", line), overflow="fold")


def render_table(assessment: Assessment, console: Console) -> None:
    """Print the findings table and its footer to ``console``."""
    findings = ordered(assessment.findings)
    risk_width = max([len(f.risk) for f in findings] + [4])
    fixed = STATUS_WIDTH + SEVERITY_WIDTH + risk_width + OBJECTS_WIDTH
    # Five columns: one padding cell after each and a separator between each pair.
    summary_width = console.width - fixed - 5 - 4
    if not findings:
        console.print(Text("No findings: no risks were evaluated.", style="dim"))
    elif summary_width < MIN_SUMMARY_WIDTH:
        _stacked(findings, console)
    else:
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            padding=(0, 1, 0, 0),
            expand=False,
            header_style="bold",
        )
        table.add_column("Status", no_wrap=True, width=STATUS_WIDTH)
        table.add_column("Severity", no_wrap=True, width=SEVERITY_WIDTH)
        table.add_column("Risk", no_wrap=True, overflow="ellipsis", width=risk_width, style="bold")
        table.add_column("Summary", no_wrap=True, width=summary_width)
        table.add_column("Objects", justify="right", no_wrap=True, width=OBJECTS_WIDTH)
        for finding in findings:
            table.add_row(
                _status_cell(finding),
                _severity_cell(finding),
                _risk_cell(finding),
                _clip(_summary_cell(finding), console, summary_width),
                _affected_cell(finding),
            )
        console.print(table)
    console.print()
    _footer(assessment, console)
    for warning in [*assessment.tenant.warnings, *assessment.notes]:
        console.print(Text.assemble(("warning: ", "yellow"), terminal_safe(str(warning))))
