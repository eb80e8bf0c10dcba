"""What a session's sign-in satisfied: the table's cells, the verdict row by row, the same verdict in KQL, and
the run summary's count of what it could not judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from graphlattice.detect import run_detection
from graphlattice.detect.export import export_rules
from graphlattice.detect.factors import SESSION_ERROR_CODES, load_factors, single_factor_sql
from graphlattice.entra import signin_errors

FACTORS = load_factors()
USER = "0f3a6c1e-5b7d-4e9a-9c2b-1d4e6f8a0b2c"


def test_the_enrolment_interrupts_are_the_codes_microsoft_documents() -> None:
    assert dict(FACTORS.enrolment_interrupts) == {
        50072: "UserStrongAuthEnrollmentRequiredInterrupt",
        50079: "UserStrongAuthEnrollmentRequired",
    }
    assert SESSION_ERROR_CODES == (0, 50072, 50079)
    # the code the Range and the demo write for "must enroll" is one detection treats as an interrupt
    assert signin_errors.MFA_ENROLLMENT_REQUIRED in FACTORS.enrolment_interrupts
    # refusals for MFA (the user has a method) do not begin a session
    for refused in (signin_errors.MFA_REQUIRED, signin_errors.STRONG_AUTH_REQUIRED, signin_errors.MFA_FAILED):
        assert refused not in SESSION_ERROR_CODES


def test_the_table_names_its_sources_and_what_it_leaves_out() -> None:
    import yaml

    doc = yaml.safe_load(Path("src/graphlattice/detect/factors.yaml").read_text(encoding="utf-8"))
    assert "reference-error-codes" in doc["source"] and "ms.date 2024-04-24" in doc["source"]
    assert "concept-authentication-strengths" in doc["source"]
    assert set(doc["not_enrolment"]) == {50074, 50076, 50125}
    assert not set(doc["not_enrolment"]) & set(FACTORS.enrolment_interrupts)
    assert {m.lower() for m in FACTORS.multifactor_steps} == {
        "temporary access pass",
        "fido2 security key",
        "windows hello for business",
        "passwordless phone sign-in",
        "authenticator app",
    }
    assert FACTORS.multifactor_step_prefixes == ("Passkey",)


MFA, SINGLE = "multiFactorAuthentication", "singleFactorAuthentication"
VERDICTS = [
    # (error code, authenticationRequirement, succeeded step methods, verdict)
    (50079, MFA, ["Password"], True),
    (50072, None, None, True),  # a v1.0 interrupt says it by its code
    (50079, MFA, None, True),
    (0, MFA, ["Password"], False),  # succeeded: the requirement was met (e.g. satisfied by a claim)
    (0, MFA, None, False),
    (0, "MULTIFACTORAUTHENTICATION", None, False),
    (0, SINGLE, ["Password"], True),
    (0, SINGLE, None, True),
    (0, SINGLE, ["Password", "SMS"], False),
    (0, SINGLE, ["SMS"], True),  # SMS sign-in: one factor
    (0, SINGLE, ["Passkey (device-bound)"], False),
    (0, SINGLE, ["passkey (synced)"], False),
    (0, SINGLE, ["FIDO2 security key"], False),
    (0, SINGLE, ["Windows Hello for Business"], False),
    (0, SINGLE, ["Authenticator App"], False),  # alone: phone sign-in
    (0, SINGLE, ["Temporary Access Pass"], False),
    (0, SINGLE, ["X.509 Certificate"], True),  # may be single-factor; the name does not say
    (0, SINGLE, [], True),
    (0, None, ["Password"], True),
    (0, None, ["Password", "Authenticator App"], False),
    (0, None, [], None),
    (0, None, None, None),  # v1.0: cannot tell
    (50076, MFA, ["Password"], None),  # never a session; no verdict
    (50126, SINGLE, [], None),
]


@pytest.mark.parametrize(("code", "requirement", "methods", "verdict"), VERDICTS)
def test_the_verdict_row_by_row(
    code: int, requirement: str | None, methods: list[str] | None, verdict: bool | None
) -> None:
    con = duckdb.connect()
    got = con.execute(
        f"SELECT {single_factor_sql('s')} FROM "
        "(SELECT ?::INTEGER AS error_code, ?::VARCHAR AS auth_requirement, ?::VARCHAR[] AS auth_methods) s",
        [code, requirement, methods],
    ).fetchall()[0][0]
    assert got is verdict


def test_kql_states_the_same_verdict_from_the_same_tables() -> None:
    [rule] = export_rules("kusto", names=["security-info-registered-without-mfa"]).rules
    query = rule.text
    assert 'SigninLogs | where ResultType in ("0", "50072", "50079")' in query
    assert 'case(ResultType in ("50072", "50079"), true,' in query
    for name in FACTORS.multifactor_steps:
        assert f'"{name.lower()}"' in query
    assert '_m startswith "passkey"' in query
    assert "| where " in query and query.rstrip().endswith("session_single_factor == true")
    # the other session rules read the same sessions, without the verdict they do not need
    [reset] = export_rules("kusto", names=["mfa-methods-reset-then-reregistered"]).rules
    assert 'ResultType in ("0", "50072", "50079")' in reset.text and "_s_single" not in reset.text


# -- the run: sessions begin with a success or an interrupt; the summary counts what it could not judge ------


def _signin(rid: str, when: str, ip: str, code: int = 0, **beta: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "createdDateTime": when,
        "userId": USER,
        "userPrincipalName": "sam@contoso.example",
        "appId": "19db86c3-b2b9-44cc-b339-36da233a3be2",
        "appDisplayName": "My Signins",
        "ipAddress": ip,
        "status": {"errorCode": code},
        "location": {"countryOrRegion": "NL"},
        **beta,
    }


def _registered(rid: str, when: str, ip: str) -> dict[str, Any]:
    return {
        "id": rid,
        "activityDateTime": when,
        "activityDisplayName": "User registered security info",
        "loggedByService": "Authentication Methods",
        "category": "UserManagement",
        "result": "success",
        "resultReason": "User registered Microsoft Authenticator App",
        "initiatedBy": {"user": {"id": USER, "userPrincipalName": "sam@contoso.example", "ipAddress": ip}},
        "targetResources": [{"id": USER, "type": "User", "userPrincipalName": "sam@contoso.example"}],
    }


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def test_v1_records_judge_interrupts_and_count_the_rest_as_not_judged(tmp_path: Path) -> None:
    signins = [
        _signin("v1-interrupt", "2026-03-03T09:00:00Z", "192.0.2.10", 50079),
        _signin("v1-success", "2026-03-03T10:00:00Z", "192.0.2.20"),
        _signin("v1-refused", "2026-03-03T11:00:00Z", "192.0.2.30", 50076),
    ]
    audits = [
        _registered("reg-interrupt", "2026-03-03T09:02:00Z", "192.0.2.10"),
        _registered("reg-success", "2026-03-03T10:02:00Z", "192.0.2.20"),
        _registered("reg-refused", "2026-03-03T11:02:00Z", "192.0.2.30"),
    ]
    run = run_detection([_write(tmp_path / "a.jsonl", audits), _write(tmp_path / "s.jsonl", signins)])
    found = [i for i in run.incidents if i.rule == "security-info-registered-without-mfa"]
    assert [i.evidence for i in found] == [["reg-interrupt"]]
    assert found[0].details["session"]["singleFactor"] is True
    assert found[0].details["session"]["record"] == "v1-interrupt"
    status = next(r for r in run.rules if r.rule == "security-info-registered-without-mfa")
    assert status.not_judged == 2
    assert status.note is not None
    assert "1 with no sign-in session in the logs" in status.note  # after a refusal: no session
    assert "1 made in sessions whose sign-in has no authenticationRequirement or authenticationDetails" in (
        status.note
    )


def test_an_interrupt_is_a_session_but_not_an_address_seen_before(tmp_path: Path) -> None:
    from graphlattice.detect.enrich import PrivilegedUsers, enrich
    from graphlattice.detect.ingest import ingest_files
    from graphlattice.detect.settings import DetectSettings
    from graphlattice.detect.store import Store

    beta = {"authenticationRequirement": MFA, "authenticationDetails": [{"authenticationMethod": "Password"}]}
    signins = [
        _signin("elsewhere", "2026-03-01T09:00:00Z", "198.51.100.7", 0, **beta),  # the user is known
        _signin("interrupt", "2026-03-03T09:00:00Z", "192.0.2.10", 50079, **beta),
        _signin("later-success", "2026-03-03T12:00:00Z", "192.0.2.10", 0, **beta),
    ]
    audits = [_registered("reg", "2026-03-03T09:02:00Z", "192.0.2.10")]
    files = [_write(tmp_path / "a.jsonl", audits), _write(tmp_path / "s.jsonl", signins)]
    with Store() as store:
        ingest_files(store, files)
        enrich(store, DetectSettings(), PrivilegedUsers(None, "audit records"))
        seen = store.rows("SELECT record_id, ip_seen_before FROM signin_events ORDER BY time")
        session = store.rows(
            "SELECT session_signin_id, session_single_factor, session_auth_requirement FROM audit_events"
        )
    # an interrupt proves nothing about the address: the success after it is still from a new one
    assert seen == [("elsewhere", None), ("interrupt", False), ("later-success", False)]
    assert session == [("interrupt", True, MFA)]
