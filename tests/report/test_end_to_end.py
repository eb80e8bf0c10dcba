"""Every format over a real assessment: the engine and the whole catalogue on a fixture tenant."""

from __future__ import annotations

from pathlib import Path

import orjson
from rich.cells import cell_len
from rich.console import Console

from graphlattice.checks.config import AssessConfig, load_config
from graphlattice.checks.engine import Assessment, assess
from graphlattice.checks.registry import load_catalog
from graphlattice.checks.result import Status
from graphlattice.report import FORMATS, render_html, render_json, render_sarif, render_table
from graphlattice.tenant.snapshot import load_snapshot
from tests.checks.builder import apply_patch, base_document, write_snapshot
from tests.report.test_sarif import validate_sarif

WEAK_TAP = {
    "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
    "id": "TemporaryAccessPass",
    "state": "enabled",
    "defaultLifetimeInMinutes": 60,
    "minimumLifetimeInMinutes": 60,
    "maximumLifetimeInMinutes": 43200,
    "isUsableOnce": False,
    "includeTargets": [{"targetType": "group", "id": "g-tap"}],
    "excludeTargets": [],
}


def _assessment(tmp_path: Path) -> Assessment:
    patch = {
        "merge": {"authenticationMethodsPolicy": {"authenticationMethodConfigurations": [WEAK_TAP]}},
        "error": {"conditionalAccessPolicies": "403 Authorization_RequestDenied"},
    }
    tenant = load_snapshot(write_snapshot(apply_patch(base_document(), patch), tmp_path / "snap"))
    config = load_config(tenant.config_path) if tenant.config_path else AssessConfig()
    return assess(tenant, config)


def test_formats_are_listed() -> None:
    assert FORMATS == ("table", "json", "sarif", "html")


def test_all_formats_over_the_catalogue(tmp_path: Path) -> None:
    assessment = _assessment(tmp_path)
    catalog = load_catalog()
    statuses = {f.key: f.status for f in assessment.findings}
    assert statuses["tap-policy-weak"] is Status.FAIL
    assert Status.UNKNOWN in statuses.values()

    doc = orjson.loads(render_json(assessment))
    assert {f["risk"] for f in doc["findings"]} == set(catalog)

    sarif = orjson.loads(render_sarif(assessment))  # articles come from the catalogue
    validate_sarif(sarif)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == set(catalog)
    for risk_id, risk in catalog.items():
        assert rules[risk_id]["shortDescription"]["text"] == risk.article.title
        assert "## Safe remediation steps" in rules[risk_id]["help"]["markdown"]
    reported = {(r["ruleId"], r["properties"]["status"]) for r in sarif["runs"][0]["results"]}
    assert ("tap-policy-weak", "FAIL") in reported
    assert {status for _, status in reported} <= {"FAIL", "UNKNOWN"}

    page = render_html(assessment)
    for risk in catalog.values():
        assert risk.article.title.replace("&", "&amp;") in page
        assert f'<span class="anchor" id="risk-{risk.id}"></span>' in page
        for related in risk.article.related:
            assert f'href="#risk-{related}"' in page

    console = Console(record=True, width=100, color_system=None)
    render_table(assessment, console)
    text = console.export_text()
    assert all(cell_len(line) <= 100 for line in text.splitlines())
    for risk_id in catalog:
        assert risk_id in text
