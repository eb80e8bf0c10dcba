"""The demo tenant's fortnight of logs: the planted attack is found, and nothing else at high severity; the
same logs exported from Sentinel give the same incidents; v1.0 sign-ins are handled honestly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.demo import DemoSummary
from graphlattice.detect import DetectionRun, run_detection
from tests.detect.sentinel import audit_row, signin_row, to_json_array, to_jsonl_objects, to_portal_csv

ATTACKER_IP = "192.0.2.201"


def _records(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def graph_run(demo_logs: list[Path]) -> DetectionRun:
    return run_detection(demo_logs)


def test_the_planted_attack_is_one_critical_incident(graph_run: DetectionRun, demo: DemoSummary) -> None:
    severe = graph_run.at_or_above("high")
    assert [i.rule for i in severe] == ["tap-bootstrapped-persistence"], [i.summary for i in severe]
    incident = severe[0]
    assert incident.level == "critical"
    issuer, target = incident.principals["issuer"], incident.principals["target"]
    assert issuer["displayName"] == "Jordan Pike" and issuer["type"] == "user"
    assert target["displayName"] == "Elena Marsh"
    details = incident.details
    assert details["passSignIn"]["ipAddress"] == ATTACKER_IP
    assert details["passSignIn"]["city"] == "Singapore" and details["passSignIn"]["country"] == "SG"
    assert details["passSignIn"]["addressSeenBefore"] is False
    assert [m["type"] for m in details["methods"]] == ["microsoftAuthenticator", "fido2"]
    assert details["methods"][0]["deviceName"] == "iPhone 15 Pro"
    assert details["pass"]["usage"] == "Multiple"
    planted = set(demo.planted["attack"])
    assert set(incident.evidence) <= planted
    assert len(incident.evidence) == 6  # issuance, the pass sign-in, two registrations with two records each
    assert details["pass"]["id"] in planted


def test_containment_deletes_both_rogue_methods_and_the_pass_and_says_a_reset_does_not_help(
    graph_run: DetectionRun, demo: DemoSummary
) -> None:
    incident = graph_run.at_or_above("critical")[0]
    target_id = incident.principals["target"]["id"]
    issuer_id = incident.principals["issuer"]["id"]
    plan = incident.containment
    actions = [(s["action"], s["principal"]) for s in plan]
    assert actions == [
        ("delete-method", "target"),
        ("delete-method", "target"),
        ("delete-temporary-access-pass", "target"),
        ("revoke-sessions", "target"),
        ("note-password-reset", "target"),
        ("revoke-sessions", "issuer"),
        ("review-roles", "issuer"),
    ]
    urls = [s["request"]["url"] for s in plan if "request" in s]
    assert f"/v1.0/users/{target_id}/authentication/microsoftAuthenticatorMethods/{{methodId}}" in urls
    assert f"/v1.0/users/{target_id}/authentication/fido2Methods/{{methodId}}" in urls
    pass_id = incident.details["pass"]["id"]
    assert f"/v1.0/users/{target_id}/authentication/temporaryAccessPassMethods/{pass_id}" in urls
    assert f"/v1.0/users/{target_id}/revokeSignInSessions" in urls
    assert f"/v1.0/users/{issuer_id}/revokeSignInSessions" in urls
    assert "password reset does not help" in plan[4]["summary"]
    assert plan[3]["verify"]["url"] == f"/v1.0/users/{target_id}?$select=signInSessionsValidFromDateTime"
    assert plan[1]["verify"]["url"] == f"/v1.0/users/{target_id}/authentication/fido2Methods"
    resolve = plan[0]["resolve"]["methodId"]
    assert resolve["match"]["displayName"] == "iPhone 15 Pro"
    assert resolve["match"]["registeredAround"] == incident.details["methods"][0]["time"]
    risks = [r["id"] for r in incident.root_cause_risks]
    assert set(risks) == {
        "tap-policy-weak",
        "tap-issuance-unscoped",
        "tap-issuers-standing-access",
        "mfa-registration-gate",
    }


def test_nothing_else_is_high_and_the_rest_is_explained(graph_run: DetectionRun) -> None:
    others = [i for i in graph_run.incidents if i.rule != "tap-bootstrapped-persistence"]
    assert all(i.rank < 3 for i in others)
    rules = {i.rule for i in others}
    # The attack's pass was issued on a Saturday night; pass-issuing roles are activated without approval.
    assert rules == {"tap-issued-outside-hours", "tap-issuer-role-activated-without-approval"}
    night = next(i for i in others if i.rule == "tap-issued-outside-hours")
    assert night.principals["issuer"]["displayName"] == "Jordan Pike"


def test_run_summary_says_what_it_could_not_judge(graph_run: DetectionRun, demo: DemoSummary) -> None:
    doc = graph_run.to_json()
    summary = doc["summary"]
    assert summary["records"] == {"audit": demo.audit_records, "signin": demo.signin_records}
    notes = " ".join(summary["notes"])
    assert "tap-issued-without-ticket is inactive" in notes
    assert "role-assignment audit records" in summary["privilegedUsers"]["source"]
    status = {r["rule"]: r for r in summary["rules"]}
    assert status["tap-issued-without-ticket"]["active"] is False
    assert status["tap-bootstrapped-persistence"]["incidents"] == 1


def _sentinel_logs(demo_logs: list[Path], out: Path) -> list[Path]:
    audits = [audit_row(r) for r in _records(demo_logs[0])]
    signins = [signin_row(r) for r in _records(demo_logs[1])]
    out.mkdir(parents=True, exist_ok=True)
    (out / "AuditLogs.json").write_bytes(to_json_array(audits))
    (out / "SigninLogs.csv").write_text(to_portal_csv(signins), encoding="utf-8")
    return [out / "AuditLogs.json", out / "SigninLogs.csv"]


def test_a_sentinel_export_gives_the_same_incidents(
    graph_run: DetectionRun, demo_logs: list[Path], tmp_path: Path
) -> None:
    run = run_detection(_sentinel_logs(demo_logs, tmp_path / "sentinel"))
    assert [f.source for f in run.files] == ["sentinel", "sentinel"]
    assert run.totals == graph_run.totals
    assert [i.to_json() for i in run.incidents] == [i.to_json() for i in graph_run.incidents]


def test_sentinel_storage_export_with_object_columns(
    graph_run: DetectionRun, demo_logs: list[Path], tmp_path: Path
) -> None:
    audits = [audit_row(r) for r in _records(demo_logs[0])]
    signins = [signin_row(r) for r in _records(demo_logs[1])]
    (tmp_path / "audit.jsonl").write_bytes(to_jsonl_objects(audits))
    (tmp_path / "signin.jsonl").write_bytes(to_jsonl_objects(signins))
    run = run_detection([tmp_path / "audit.jsonl", tmp_path / "signin.jsonl"])
    assert [i.to_json() for i in run.incidents] == [i.to_json() for i in graph_run.incidents]


def _v1(record: dict[str, Any]) -> dict[str, Any]:
    beta_only = {
        "authenticationDetails",
        "authenticationRequirement",
        "signInEventTypes",
        "userType",
        "tokenIssuerType",
    }
    return {k: v for k, v in record.items() if k not in beta_only}


def test_v1_sign_ins_still_find_the_attack_and_say_what_they_cannot_tell(
    demo_logs: list[Path], tmp_path: Path
) -> None:
    v1 = tmp_path / "signIns-v1.json"
    v1.write_bytes(orjson.dumps({"value": [_v1(r) for r in _records(demo_logs[1])]}))
    run = run_detection([demo_logs[0], v1])
    severe = run.at_or_above("high")
    assert [i.rule for i in severe] == ["tap-bootstrapped-persistence"]
    sign_in = severe[0].details["passSignIn"]
    assert sign_in["ipAddress"] == ATTACKER_IP and sign_in["passUseInferred"] is True
    assert not [i for i in run.incidents if i.rule == "security-info-registered-without-mfa"]
    notes = " ".join(run.notes)
    assert "security-info-registered-without-mfa cannot tell single- from multi-factor" in notes
    assert "did not judge" in notes
    status = {r.rule: r for r in run.rules}
    assert status["security-info-registered-without-mfa"].note is not None
    assert "v1.0" in status["security-info-registered-without-mfa"].note


def test_a_kept_store_deduplicates_across_runs(demo_logs: list[Path], tmp_path: Path) -> None:
    db = tmp_path / "logs.duckdb"
    first = run_detection(demo_logs, db=db)
    second = run_detection(demo_logs, db=db)
    assert sum(f.new for f in first.files) == first.totals["audit"] + first.totals["signin"]
    assert sum(f.new for f in second.files) == 0
    assert sum(f.duplicates for f in second.files) == sum(f.records for f in second.files)
    assert second.totals == first.totals
    assert [i.to_json() for i in second.incidents] == [i.to_json() for i in first.incidents]
    # the same records in the Sentinel shape are the same records
    third = run_detection(_sentinel_logs(demo_logs, tmp_path / "sentinel"), db=db)
    assert sum(f.new for f in third.files) == 0 and third.totals == first.totals


def test_since_limits_reported_incidents_not_history(demo_logs: list[Path]) -> None:
    from graphlattice.detect import DetectSettings, parse_since

    run = run_detection(demo_logs, settings=DetectSettings(since=parse_since("2026-11-14T00:00:00Z")))
    assert [i.rule for i in run.at_or_above("high")] == ["tap-bootstrapped-persistence"]
    assert all(i.end >= parse_since("2026-11-14T00:00:00Z") for i in run.incidents)
    later = run_detection(demo_logs, settings=DetectSettings(since=parse_since("2026-11-15")))
    assert not later.at_or_above("high")


def test_working_hours_in_the_company_time_zone(demo_logs: list[Path]) -> None:
    from graphlattice.detect import DetectSettings

    run = run_detection(demo_logs, settings=DetectSettings(timezone="Europe/Amsterdam"))
    night = [i for i in run.incidents if i.rule == "tap-issued-outside-hours"]
    assert len(night) == 1
    assert night[0].details["localTime"] == "Sat 2026-11-14 02:47"
