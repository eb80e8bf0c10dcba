"""SARIF 2.1.0: the required structure, GitHub code scanning's extra rules, levels, suppressions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from graphlattice import __version__
from graphlattice.checks.article import Article
from graphlattice.checks.engine import Assessment
from graphlattice.checks.result import Affected, Finding, Severity, Status
from graphlattice.report import render_sarif
from graphlattice.report.sarif import MAX_OBJECT_RESULTS_PER_FINDING
from tests.report.conftest import KIOSK_RATIONALE, LEGACY_RATIONALE, TENANT_ID, build_assessment

LEVELS = {"none", "note", "warning", "error"}


def _text_message(message: Any, where: str) -> None:
    assert isinstance(message, dict), where
    assert isinstance(message.get("text"), str) or isinstance(message.get("id"), str), where


def validate_sarif(doc: dict[str, Any]) -> None:
    """Required properties and constraints of the SARIF 2.1.0 schema, plus GitHub's ingestion rules."""
    assert doc["version"] == "2.1.0"
    assert isinstance(doc["$schema"], str) and doc["$schema"].startswith("https://")
    assert isinstance(doc["runs"], list)
    for r, run in enumerate(doc["runs"]):
        driver = run["tool"]["driver"]  # run.tool and tool.driver are required
        assert isinstance(driver["name"], str) and driver["name"]  # toolComponent.name is required
        rules = driver.get("rules", [])
        ids = [rule["id"] for rule in rules]  # reportingDescriptor.id is required
        assert len(ids) == len(set(ids)), "rule ids are unique"
        for rule in rules:
            for key in ("shortDescription", "fullDescription"):
                _text_message(rule[key], f"{rule['id']}.{key}")  # multiformatMessageString needs text
                assert isinstance(rule[key]["text"], str)
            assert isinstance(rule["help"]["text"], str)
            assert rule["defaultConfiguration"]["level"] in LEVELS
            props = rule["properties"]
            assert len(props["tags"]) <= 20 and len(set(props["tags"])) == len(props["tags"])
            score = float(props["security-severity"])
            assert 0.0 <= score <= 10.0
        for invocation in run.get("invocations", []):
            assert isinstance(invocation["executionSuccessful"], bool)  # required
            for note in invocation.get("toolExecutionNotifications", []):
                _text_message(note["message"], "notification")
        auto = run.get("automationDetails")
        if auto is not None:
            assert isinstance(auto["id"], str)
        assert isinstance(run["results"], list)
        for i, result in enumerate(run["results"]):
            where = f"runs[{r}].results[{i}]"
            _text_message(result["message"], where)  # result.message is required
            assert result.get("ruleId") in ids, where
            if "ruleIndex" in result:
                assert rules[result["ruleIndex"]]["id"] == result["ruleId"], where
            assert result.get("level", "warning") in LEVELS, where
            # GitHub: at least one location, each with a physical artifact URI and a start line
            assert result["locations"], where
            for location in result["locations"]:
                physical = location["physicalLocation"]
                assert (
                    isinstance(physical["artifactLocation"]["uri"], str)
                    and physical["artifactLocation"]["uri"]
                )
                assert (
                    isinstance(physical["region"]["startLine"], int) and physical["region"]["startLine"] >= 1
                )
                for logical in location.get("logicalLocations", []):
                    assert all(isinstance(logical[k], str) for k in ("name", "fullyQualifiedName", "kind"))
            fingerprints = result.get("partialFingerprints", {})
            assert fingerprints and all(isinstance(v, str) for v in fingerprints.values()), where
            for suppression in result.get("suppressions", []):
                assert suppression["kind"] in {"inSource", "external"}, where  # kind is required
                assert suppression.get("status", "accepted") in {"accepted", "underReview", "rejected"}


def _doc(assessment: Assessment, articles: dict[str, Article]) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(render_sarif(assessment, articles=articles))
    validate_sarif(doc)
    return doc


def _results_for(doc: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [r for r in doc["runs"][0]["results"] if r["ruleId"] == rule]


def test_valid_sarif_with_one_run_and_the_driver(
    assessment: Assessment, articles: dict[str, Article]
) -> None:
    doc = _doc(assessment, articles)
    assert len(doc["runs"]) == 1
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "graphlattice"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    assert doc["runs"][0]["automationDetails"]["id"] == f"graphlattice/tenant-{TENANT_ID}/"


def test_one_rule_per_risk(assessment: Assessment, articles: dict[str, Article]) -> None:
    rules = _doc(assessment, articles)["runs"][0]["tool"]["driver"]["rules"]
    assert sorted(r["id"] for r in rules) == sorted({f.risk for f in assessment.findings})


def test_rule_from_article(
    assessment: Assessment, articles: dict[str, Article], tap_article: Article
) -> None:
    rules = {r["id"]: r for r in _doc(assessment, articles)["runs"][0]["tool"]["driver"]["rules"]}
    rule = rules["tap-policy-weak"]
    assert rule["name"] == "TapPolicyWeak"
    assert rule["shortDescription"]["text"] == tap_article.title
    assert rule["fullDescription"]["text"].startswith("A Temporary Access Pass (TAP) is a passcode")
    for section in ("## Why it matters", "## Safe remediation steps", "## Checks before taking action"):
        assert section in rule["help"]["markdown"]
        assert section in rule["help"]["text"]
    assert "[T1556.006](https://attack.mitre.org/techniques/T1556/006/)" in rule["help"]["markdown"]
    assert {"security", "T1098", "T1556.006"} <= set(rule["properties"]["tags"])
    assert rule["properties"]["security-severity"] == "8.0"
    assert rule["defaultConfiguration"]["level"] == "error"
    # a risk without an article still gets a usable rule
    assert rules["admins-risky-mfa"]["properties"]["security-severity"] == "9.5"
    assert rules["ca-report-only-never-enforced"]["properties"]["security-severity"] == "3.0"
    assert rules["users-without-mfa"]["defaultConfiguration"]["level"] == "warning"


def test_results_only_for_fail_and_unknown(assessment: Assessment, articles: dict[str, Article]) -> None:
    results = _doc(assessment, articles)["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {
        "tap-policy-weak",
        "admins-risky-mfa",
        "users-without-mfa",
        "ca-report-only-never-enforced",
        "mfa-registration-gate",
    }
    assert {r["properties"]["status"] for r in results} == {"FAIL", "UNKNOWN"}
    # one result per affected object of each failing finding, one for the UNKNOWN
    assert len(results) == 3 + 1 + 120 + 1 + 1


def test_levels_by_severity(assessment: Assessment, articles: dict[str, Article]) -> None:
    doc = _doc(assessment, articles)
    levels = {r["ruleId"]: r["level"] for r in doc["runs"][0]["results"]}
    assert levels == {
        "admins-risky-mfa": "error",  # critical
        "tap-policy-weak": "error",  # high
        "users-without-mfa": "warning",  # medium
        "ca-report-only-never-enforced": "warning",  # low
        "mfa-registration-gate": "note",  # UNKNOWN
    }


def test_unknown_names_the_permission(assessment: Assessment, articles: dict[str, Article]) -> None:
    [result] = _results_for(_doc(assessment, articles), "mfa-registration-gate")
    assert "Grant AuditLog.Read.All" in result["message"]["text"]
    assert "userRegistrationDetails" in result["message"]["text"]
    assert result["properties"]["grant"] == ["AuditLog.Read.All"]


def test_logical_and_physical_locations(assessment: Assessment, articles: dict[str, Article]) -> None:
    results = _results_for(_doc(assessment, articles), "admins-risky-mfa")
    locations = [r["locations"][0] for r in results]
    assert {loc["physicalLocation"]["artifactLocation"]["uri"] for loc in locations} == {
        f"graphlattice/tenant-{TENANT_ID}.json"
    }
    logical = sorted(
        (
            loc["logicalLocations"][0]["name"],
            loc["logicalLocations"][0]["fullyQualifiedName"],
            loc["logicalLocations"][0]["kind"],
        )
        for loc in locations
    )
    assert logical == [
        ("Ada Admin", f"tenant/{TENANT_ID}/user/u-admin", "object"),
        ("Alice Member", f"tenant/{TENANT_ID}/user/u-alice", "object"),
        ("Hana Helpdesk", f"tenant/{TENANT_ID}/user/u-helpdesk", "object"),
    ]
    assert all(
        "Helpdesk Administrator" in r["message"]["text"]
        for r in results
        if r["properties"]["objectId"] == "u-alice"
    )


def test_suppressions_follow_waivers(assessment: Assessment, articles: dict[str, Article]) -> None:
    doc = _doc(assessment, articles)
    admins = {r["properties"]["objectId"]: r for r in _results_for(doc, "admins-risky-mfa")}
    assert admins["u-alice"]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": KIOSK_RATIONALE}
    ]
    assert "suppressions" not in admins["u-admin"] and "suppressions" not in admins["u-helpdesk"]
    bulk = _results_for(doc, "users-without-mfa")
    assert len(bulk) == 120
    assert all(r["suppressions"][0]["justification"] == LEGACY_RATIONALE for r in bulk)
    [expired] = _results_for(doc, "ca-report-only-never-enforced")
    assert "suppressions" not in expired
    assert "waiver for this finding expired on 2026-01-31" in expired["message"]["text"]
    assert expired["properties"]["waiver"]["state"] == "expired"
    assert not [r for r in _results_for(doc, "tap-policy-weak") if "suppressions" in r]


def test_fingerprints_are_stable_and_distinct(
    tmp_path: Path, assessment: Assessment, articles: dict[str, Article], tap_article: Article
) -> None:
    first = _doc(assessment, articles)["runs"][0]["results"]
    again = _doc(build_assessment(tmp_path / "again", tap_article), articles)["runs"][0]["results"]
    prints = [r["partialFingerprints"] for r in first]
    assert prints == [r["partialFingerprints"] for r in again]
    assert len({p["graphlatticeObject/v1"] for p in prints}) == len(prints)
    assert len({p["primaryLocationLineHash"] for p in prints}) == len(prints)
    assert all(re.fullmatch(r"[0-9a-f]{16}:1", p["primaryLocationLineHash"]) for p in prints)


def test_variants_get_their_own_fingerprints(tmp_path: Path, tap_article: Article) -> None:
    user = Affected(id="u-bob", type="user", display_name="Bob Member")
    findings = [
        Finding(
            risk="users-risky-mfa",
            status=Status.FAIL,
            severity=Severity.MEDIUM,
            title="Risky MFA",
            summary=f"Bob uses {variant}.",
            variant=variant,
            affected=[user],
        )
        for variant in ("sms", "voice")
    ]
    doc = _doc(build_assessment(tmp_path, tap_article, findings=findings), {})
    results = doc["runs"][0]["results"]
    assert [r["properties"]["variant"] for r in results] == ["sms", "voice"]
    assert results[0]["partialFingerprints"] != results[1]["partialFingerprints"]
    assert len(doc["runs"][0]["tool"]["driver"]["rules"]) == 1


def test_many_objects_are_capped_with_a_count(tmp_path: Path, tap_article: Article) -> None:
    total = MAX_OBJECT_RESULTS_PER_FINDING + 250
    finding = Finding(
        risk="users-risky-mfa",
        status=Status.FAIL,
        severity=Severity.INFO,
        title="Risky MFA",
        summary="Many users.",
        affected=[Affected(id=f"u-{n}", type="user", display_name=f"User {n}") for n in range(total)],
    )
    doc = _doc(build_assessment(tmp_path, tap_article, findings=[finding]), {})
    results = doc["runs"][0]["results"]
    assert len(results) == MAX_OBJECT_RESULTS_PER_FINDING + 1
    assert results[-1]["properties"]["omittedObjects"] == 250
    assert "250 more affected object(s)" in results[-1]["message"]["text"]
    assert {r["level"] for r in results} == {"note"}  # info severity


def test_unavailable_collections_become_notifications(
    assessment: Assessment, articles: dict[str, Article]
) -> None:
    run = _doc(assessment, articles)["runs"][0]
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"] == (
        "userRegistrationDetails could not be read (403 Authorization_RequestDenied); grant AuditLog.Read.All"
    )
    assert run["properties"]["tenantId"] == TENANT_ID
