"""Reports over an assessment: a terminal table, JSON, SARIF 2.1.0 and a self-contained HTML page."""

from __future__ import annotations

from graphlattice.report.html import render_html
from graphlattice.report.json_report import render_json
from graphlattice.report.sarif import render_sarif
from graphlattice.report.table import render_table

FORMATS: tuple[str, ...] = ("table", "json", "sarif", "html")

__all__ = ["FORMATS", "render_html", "render_json", "render_sarif", "render_table"]
