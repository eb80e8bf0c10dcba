"""Show a detection run: a terminal table, a JSON document, or one self-contained HTML page.

The table fits a 100-column terminal and survives ``| less -R`` (SGR colours only, every level also in
words); every value from the logs or a rule file goes through :func:`~graphlattice.safetext.terminal_safe`
first, so a device or display name cannot steer the terminal. JSON is :meth:`DetectionRun.to_json`, the
original text JSON-encoded. The HTML page loads nothing from the network; every value from the logs is
escaped by Jinja2's autoescaping.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import orjson
from jinja2 import Environment, FileSystemLoader
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from graphlattice._version import __version__
from graphlattice.detect.incidents import Incident, iso
from graphlattice.detect.run import DetectionRun
from graphlattice.safetext import terminal_safe

__all__ = ["LEVEL_STYLE", "render_html", "render_json", "render_table"]

LEVEL_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}


def render_json(run: DetectionRun) -> bytes:
    return orjson.dumps(run.to_json(), option=orjson.OPT_INDENT_2) + b"\n"


def _safe(value: object) -> str:
    """A value from the logs or a rule, on one line and with nothing that steers the terminal."""
    return terminal_safe(str(value), single_line=True)


def _who(incident: Incident) -> str:
    parts = []
    for role, principal in incident.principals.items():
        name = principal.get("displayName") or principal.get("userPrincipalName") or principal.get("id")
        parts.append(f"{_safe(role)}: {_safe(name)}")
    return "\n".join(parts)


def render_table(run: DetectionRun, console: Console) -> None:
    """Incidents, most severe first; then the containment plan of each critical or high incident."""
    if not run.incidents:
        console.print("No incidents.", style="green")
    else:
        table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=True, title_justify="left")
        table.add_column("#", justify="right", no_wrap=True, width=3)
        table.add_column("Level", no_wrap=True, width=8)
        table.add_column("Start (UTC)", width=10)
        table.add_column("Who", ratio=1)
        table.add_column("Rule and what happened", ratio=3)
        for number, incident in enumerate(run.incidents, start=1):
            what = Text(_safe(incident.rule), style="bold")
            what.append("\n" + _safe(incident.summary), style="")
            table.add_row(
                str(number),
                Text(incident.level, style=LEVEL_STYLE.get(incident.level, "")),
                (iso(incident.start) or "")[:16].replace("T", " "),
                _who(incident),
                what,
            )
        console.print(table)
    for number, incident in enumerate(run.incidents, start=1):
        if incident.rank < 3:  # high and critical only; the rest are in --format json
            continue
        console.print(Text(f"Containment for #{number} ({_safe(incident.rule)}):", style="bold"))
        if not incident.containment:
            evidence = _safe(", ".join(incident.evidence))
            console.print(f"  No plan for this rule; the matching records: {evidence}", markup=False)
        for step in incident.containment:
            request = step.get("request")
            call = _safe(f"  {request['method']} {request['url']}") if request else ""
            when = f" — {step['condition']}" if step.get("condition") else ""
            line = _safe(f"  {step['order']}. [{step['kind']}] {step['summary']}{when}")
            console.print(line, markup=False, highlight=False)
            if call:
                console.print(Text(call, style="dim"), highlight=False)
        risks = _safe(", ".join(r["id"] for r in incident.root_cause_risks))
        if risks:
            console.print(f"  Root causes to review: {risks} (graphlattice risks show ID)", highlight=False)
    counts: dict[str, int] = {}
    for incident in run.incidents:
        counts[incident.level] = counts.get(incident.level, 0) + 1
    by_level = ", ".join(f"{n} {level}" for level, n in counts.items()) or "none"
    records = f"{run.totals['audit']:,} audit and {run.totals['signin']:,} sign-in records"
    footer = _safe(f"{len(run.incidents)} incident(s): {by_level}. Store: {run.store}, {records}.")
    console.print(footer, highlight=False)


_LEVEL_CLASS = {"critical": "crit", "high": "high", "medium": "med", "low": "low", "informational": "info"}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    templates = Path(__file__).parent / "templates"
    return Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(run: DetectionRun) -> str:
    template = _environment().get_template("incidents.html.j2")
    return template.render(
        run=run,
        doc=run.to_json(),
        version=__version__,
        level_class=_LEVEL_CLASS,
    )
