"""``graphlattice detect`` on real-world inputs, as a user runs it: a diagnostic-settings stream with every
category routed together, an export left with a next link, a run summary that says what it could not judge
and why, and SigmaHQ's community rules run locally next to the pack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests.detect.harness import sigmahq_dir
from tests.detect.logshapes import (
    ADMIN,
    VICTIM,
    audit,
    diagnostic,
    graph_activity,
    jsonl,
    powershell_json,
    risky_user,
    sdk_object,
    signin,
    tap_issued,
    tap_story,
    user_registered,
    user_risk_event,
    workload_signin,
)

SIGMAHQ = sigmahq_dir()


def detect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", "detect", *args], capture_output=True, text=True, timeout=300
    )


def summary_of(proc: subprocess.CompletedProcess[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr
    doc = orjson.loads(proc.stdout)
    return doc["incidents"], doc["summary"]


def test_a_mixed_diagnostic_stream_through_the_cli(tmp_path: Path) -> None:
    audits, signins = tap_story()
    stream = [
        user_risk_event(VICTIM, "2026-03-02T09:19:00Z", "192.0.2.66"),
        *(diagnostic(r) for r in audits[:1]),
        *(diagnostic(r) for r in signins),
        diagnostic(
            workload_signin("sp-1", "2026-03-02T09:22:00Z", "Build agent", managed=False),
            "ServicePrincipalSignInLogs",
        ),
        risky_user(VICTIM, "2026-03-02T09:24:00Z"),
        graph_activity(VICTIM, "2026-03-02T09:25:00Z"),
        *(diagnostic(r) for r in audits[1:]),
    ]
    path = tmp_path / "entra-eventhub.json"
    path.write_bytes(jsonl(stream))
    for extra in ([], ["--skip-bad-lines"]):
        proc = detect(str(path), "--format", "json", *extra)
        incidents, summary = summary_of(proc)
        assert [i["rule"] for i in incidents if i["level"] == "critical"] == ["tap-bootstrapped-persistence"]
        (file,) = summary["files"]
        assert file["kind"] == "audit+signin" and file["new"] == 5 and file["skippedLines"] == 0
        assert file["skippedCategories"] == {
            "MicrosoftGraphActivityLogs": 1,
            "RiskyUsers": 1,
            "UserRiskEvents": 1,
        }
        assert summary["records"] == {"audit": 2, "signin": 3}
        assert "RiskyUsers (1)" in proc.stderr and "UserRiskEvents (1)" in proc.stderr


def test_an_incomplete_export_is_a_warning(tmp_path: Path) -> None:
    audits, signins = tap_story()
    link = "https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=9f8e7d"
    (tmp_path / "directoryAudits.json").write_bytes(orjson.dumps({"value": audits}))
    (tmp_path / "signIns.json").write_bytes(orjson.dumps({"@odata.nextLink": link, "value": signins}))
    proc = detect(str(tmp_path / "directoryAudits.json"), str(tmp_path / "signIns.json"), "--format", "json")
    _incidents, summary = summary_of(proc)
    assert [f.get("nextLink") for f in summary["files"]] == [None, link]
    assert (
        len(summary["warnings"]) == 1 and "signIns.json is an incomplete collection" in summary["warnings"][0]
    )
    assert "warning: signIns.json is an incomplete collection" in proc.stderr


def test_a_powershell_export_through_the_cli(tmp_path: Path) -> None:
    """Get-MgAuditLogDirectoryAudit / Get-MgBetaAuditLogSignIn | ConvertTo-Json, one array appended per
    page with a byte order mark each (Windows PowerShell's /Date(ms)/ times); then the same file broken."""
    audits, signins = tap_story()
    audit_file, signin_file = tmp_path / "AuditLogs.json", tmp_path / "SignInLogs.json"
    audit_file.write_bytes(powershell_json(sdk_object(audits, dates="ps51")))
    pages = [powershell_json(sdk_object([record], dates="ps51")) for record in signins]
    signin_file.write_bytes(b"".join(pages))
    incidents, summary = summary_of(detect(str(audit_file), str(signin_file), "--format", "json"))
    assert [i["rule"] for i in incidents if i["level"] == "critical"] == ["tap-bootstrapped-persistence"]
    assert [f["new"] for f in summary["files"]] == [2, 2]
    broken = pages[0] + pages[1].replace(b'"Id": "si-tap"', b'"Id": "si-tap" "Id"')
    signin_file.write_bytes(broken)
    proc = detect(str(audit_file), str(signin_file))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    line = broken.splitlines().index(next(x for x in broken.splitlines() if b'"si-tap" "Id"' in x)) + 1
    assert proc.returncode == 3 and len(lines) == 1, proc.stderr
    assert f"{signin_file}:{line}: malformed JSON" in lines[0]
    offset = broken.index(b'"Id"', broken.index(b"si-tap"))
    assert f"at byte {offset}" in lines[0]


# -- the run summary says what was not judged, and why ------------------------------------------------------


def _notes(summary: dict[str, Any]) -> str:
    return "\n".join(summary["notes"])


def _rule(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in summary["rules"] if r["rule"] == name)


def test_registrations_without_a_session_are_counted_as_not_judged(tmp_path: Path) -> None:
    reg = user_registered(
        "aud-reg", "2026-03-02T09:26:00Z", "User registered Microsoft Authenticator method", "192.0.2.66"
    )
    (tmp_path / "directoryAudits.jsonl").write_bytes(jsonl([reg]))
    v1 = signin("si-admin", "2026-03-02T08:00:00Z", user=ADMIN, requirement=None, event_type=None)
    beta = signin("si-admin", "2026-03-02T08:00:00Z", user=ADMIN)
    for shape, record in (("v1.0", v1), ("beta", beta)):
        (tmp_path / "signIns.jsonl").write_bytes(jsonl([record]))
        proc = detect(
            str(tmp_path / "directoryAudits.jsonl"), str(tmp_path / "signIns.jsonl"), "--format", "json"
        )
        _incidents, summary = summary_of(proc)
        assert "did not judge 0" not in _notes(summary), shape
        assert "did not judge 1 security-info registration(s)" in _notes(summary), shape
        rule = _rule(summary, "security-info-registered-without-mfa")
        assert rule["notJudged"] == 1, shape
        assert "1 with no sign-in session in the logs" in rule["note"], shape


def test_workload_sign_ins_are_not_called_v1(tmp_path: Path) -> None:
    user = signin("si-1", "2026-03-02T08:00:00Z", methods=["Password", "Authenticator App"])
    apps = [
        {
            **workload_signin("sp-1", "2026-03-02T08:01:00Z", "Build agent", managed=False),
            "signInEventTypes": ["servicePrincipal"],
        },
        {
            **workload_signin("mi-1", "2026-03-02T08:02:00Z", "vm-backup", managed=True),
            "signInEventTypes": ["managedIdentity"],
        },
    ]
    path = tmp_path / "signIns.jsonl"
    path.write_bytes(jsonl([user, *apps]))
    _incidents, summary = summary_of(detect(str(path), "--format", "json"))
    notes = _notes(summary)
    assert "v1.0" not in notes and "authenticationRequirement" not in notes
    assert "2 service-principal and managed-identity sign-ins" in notes
    assert _rule(summary, "security-info-registered-without-mfa").get("notJudged") == 0


# -- community rules on the local engine ---------------------------------------------------------------------

needs_sigmahq = pytest.mark.skipif(
    not (SIGMAHQ / "audit_logs").is_dir(), reason=f"SigmaHQ test data not found in {SIGMAHQ}"
)


def _crafted_logs(tmp_path: Path) -> list[Path]:
    """Logs that hit four SigmaHQ rules, and records close to others that must not fire."""
    audits = [
        tap_issued("aud-tap", "2026-03-02T09:14:05Z", "2026-03-02T10:14:05Z"),  # azure_tap_added
        user_registered(
            "aud-reg",
            "2026-03-02T09:26:00Z",
            "User registered Microsoft Authenticator method",
            "198.51.100.23",
        ),  # azure_change_to_authentication_method
        audit("aud-mfa-off", "2026-03-02T11:00:00Z", "Disable Strong Authentication"),  # azure_mfa_disabled
        # a real self-service reset: azure_user_password_change keeps SigmaHQ's 'UPN' placeholders, so no
        audit(
            "aud-sspr",
            "2026-03-02T12:00:00Z",
            "Reset password (self-service)",
            service="Self-service Password Management",
            initiator=VICTIM,
        ),
        audit("aud-upd", "2026-03-02T12:30:00Z", "Update user"),
    ]
    signins = [
        signin("si-ok", "2026-03-02T09:20:11Z", methods=["Password", "Authenticator App"]),
        signin(
            "si-blocked",
            "2026-03-02T13:00:00Z",
            error=53003,  # azure_user_login_blocked_by_conditional_access
            reason="Access has been blocked by Conditional Access policies.",
        ),
    ]
    paths = [tmp_path / "directoryAudits.jsonl", tmp_path / "signIns.jsonl"]
    paths[0].write_bytes(jsonl(audits))
    paths[1].write_bytes(jsonl(signins))
    return paths


EXPECTED = {
    "azure_tap_added": ["aud-tap"],
    "azure_change_to_authentication_method": ["aud-reg"],
    "azure_mfa_disabled": ["aud-mfa-off"],
    "azure_user_login_blocked_by_conditional_access": ["si-blocked"],
}


@needs_sigmahq
def test_sigmahq_rules_run_next_to_the_pack(tmp_path: Path) -> None:
    proc = detect(*map(str, _crafted_logs(tmp_path)), "--rules", str(SIGMAHQ), "--format", "json")
    incidents, summary = summary_of(proc)
    community = {i["rule"]: i for i in incidents if i["rule"].startswith("azure_")}
    assert {name: i["evidence"] for name, i in community.items()} == EXPECTED
    for name, incident in community.items():
        (rule_file,) = SIGMAHQ.glob(f"*/{name}.yml")
        rule = yaml.safe_load(rule_file.read_text(encoding="utf-8"))
        assert (incident["title"], incident["level"], incident["ruleUuid"]) == (
            rule["title"],
            rule["level"],
            rule["id"],
        )
    statuses = {r["rule"]: r for r in summary["rules"]}
    assert statuses["azure_tap_added"]["file"].endswith("azure_tap_added.yml")
    assert statuses["azure_user_password_change"]["incidents"] == 0
    skipped = {Path(r["file"]).name: r["reason"] for r in summary["skippedRules"]}
    assert "ConsentContext.IsAdminConsent" in skipped["azure_app_end_user_consent.yml"]
    assert "TargetResources" in skipped["azure_ad_users_added_to_device_admin_roles.yml"]
    assert not set(skipped) & {f"{name}.yml" for name in statuses}
    ran = sum(1 for r in summary["rules"] if r.get("file"))
    assert ran + len(skipped) == len(list(SIGMAHQ.glob("*/*.yml")))
    assert "skipped rule azure_app_end_user_consent.yml (End User Consent): unknown field" in proc.stderr


@needs_sigmahq
def test_rules_that_are_not_there(tmp_path: Path) -> None:
    logs = _crafted_logs(tmp_path)
    proc = detect(*map(str, logs), "--rules", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "no such rule file or folder" in proc.stderr
    assert "Traceback" not in proc.stderr
