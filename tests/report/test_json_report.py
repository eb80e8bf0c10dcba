"""The JSON report: the engine's document plus generator and summary, stable and round-trippable."""

from __future__ import annotations

from pathlib import Path

import orjson

from graphlattice import __version__
from graphlattice.checks.article import Article
from graphlattice.checks.engine import Assessment
from graphlattice.checks.result import Finding, Severity, Status
from graphlattice.report import render_json
from tests.report.conftest import TENANT_ID, build_assessment


def test_top_level_keys_in_documented_order(assessment: Assessment) -> None:
    doc = orjson.loads(render_json(assessment))
    assert list(doc) == ["generator", "tenant", "summary", "findings", "warnings"]
    assert doc["generator"] == {"name": "graphlattice", "version": __version__}


def test_body_is_exactly_the_assessment_document(assessment: Assessment) -> None:
    doc = orjson.loads(render_json(assessment))
    expected = orjson.loads(orjson.dumps(assessment.to_json(), default=sorted))
    for key in ("tenant", "findings", "warnings"):
        assert doc[key] == expected[key]


def test_tenant_and_findings_carry_the_documented_fields(assessment: Assessment) -> None:
    doc = orjson.loads(render_json(assessment))
    tenant = doc["tenant"]
    assert tenant["tenantId"] == TENANT_ID
    assert tenant["collectedAt"] == "2026-11-16T09:00:00Z"
    assert set(tenant["unavailable"]) == {"userRegistrationDetails"}
    assert len(doc["findings"]) == len(assessment.findings)
    for finding in doc["findings"]:
        for key in ("risk", "status", "severity", "title", "summary", "affected", "evidence", "reasons"):
            assert key in finding, (finding["risk"], key)
    by_key = {(f["risk"], f.get("variant")): f for f in doc["findings"]}
    unknown = by_key[("mfa-registration-gate", None)]
    assert unknown["status"] == "UNKNOWN"
    assert unknown["grant"] == ["AuditLog.Read.All"]
    assert by_key[("admins-risky-mfa", "sms")]["waiver"] == {"state": "partial", "objects": 1}
    waived = [a for a in by_key[("admins-risky-mfa", "sms")]["affected"] if a.get("waived")]
    assert [a["id"] for a in waived] == ["u-alice"]
    assert by_key[("ca-report-only-never-enforced", None)]["waiver"]["state"] == "expired"
    # a set in the evidence is written as a sorted list
    assert by_key[("tap-policy-weak", None)]["evidence"]["holders"] == ["u-alice", "u-bob"]


def test_summary_counts(assessment: Assessment) -> None:
    summary = orjson.loads(render_json(assessment))["summary"]
    assert summary == {
        "findings": 7,
        "byStatus": {"FAIL": 4, "UNKNOWN": 1, "PASS": 1, "NOT_APPLICABLE": 1},
        # users-without-mfa (medium) is fully waived, so it is not an open failure
        "failingBySeverity": {"critical": 1, "high": 1, "medium": 0, "low": 1, "info": 0},
        "waived": 1,
        "partiallyWaived": 1,
        "expiredWaivers": 1,
    }
    assert summary["byStatus"] == {k: assessment.counts().get(k, 0) for k in summary["byStatus"]}


def test_output_is_indented_stable_and_ends_with_newline(assessment: Assessment) -> None:
    first = render_json(assessment)
    assert first == render_json(assessment)
    assert first.startswith(b'{\n  "generator": {\n    "name": "graphlattice"')
    assert first.endswith(b"}\n")


def test_empty_assessment(tmp_path: Path, tap_article: Article) -> None:
    doc = orjson.loads(render_json(build_assessment(tmp_path, tap_article, findings=[])))
    assert doc["findings"] == []
    assert doc["summary"]["findings"] == 0
    # the waivers matched nothing, and the report says so
    assert any("matched no finding" in w for w in doc["warnings"])


def test_unicode_survives(tmp_path: Path, tap_article: Article) -> None:
    finding = Finding(
        risk="users-without-mfa",
        status=Status.FAIL,
        severity=Severity.LOW,
        title="Utilisateurs sans MFA",
        summary="Zoë and Łukasz — no method",
    )
    doc = orjson.loads(render_json(build_assessment(tmp_path, tap_article, findings=[finding])))
    assert doc["findings"][0]["summary"] == "Zoë and Łukasz — no method"
