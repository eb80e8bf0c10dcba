"""Log files as third-party tools write them: diagnostic-settings streams with every Entra category routed
together, concatenated JSON documents (one per page, a byte order mark before each), Graph PowerShell SDK
objects (PascalCase), UTF-16 redirections, collections left with a next link, and files that are not logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.detect.ingest import ingest_file, ingest_files
from graphlattice.detect.sniff import SNIFF_BYTES, sniff
from graphlattice.detect.store import Store
from graphlattice.errors import LogError
from tests.detect.logshapes import (
    BOM,
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
    user_registered,
    user_risk_event,
    workload_signin,
)
from tests.detect.sentinel import signin_row

T0 = "2026-03-02T09:14:05Z"


def _stream() -> list[dict[str, Any]]:
    """One Event Hub's worth: audits, the four sign-in categories, and the categories detect does not read."""
    return [
        user_risk_event(VICTIM, "2026-03-02T09:10:00Z", "192.0.2.9"),
        diagnostic(tap_issued("aud-tap", T0, "2026-03-02T10:14:05Z")),
        diagnostic(signin("si-1", "2026-03-02T09:20:11Z", methods=["Temporary Access Pass"])),
        diagnostic(signin("ni-1", "2026-03-02T09:21:00Z", requirement=None, event_type="nonInteractiveUser")),
        diagnostic(
            workload_signin("sp-1", "2026-03-02T09:22:00Z", "Build agent", managed=False),
            "ServicePrincipalSignInLogs",
        ),
        diagnostic(
            workload_signin("mi-1", "2026-03-02T09:23:00Z", "vm-backup", managed=True),
            "ManagedIdentitySignInLogs",
        ),
        risky_user(VICTIM, "2026-03-02T09:24:00Z"),
        graph_activity(VICTIM, "2026-03-02T09:25:00Z"),
        diagnostic(
            user_registered(
                "aud-reg",
                "2026-03-02T09:26:00Z",
                "User registered Microsoft Authenticator method",
                "198.51.100.23",
            )
        ),
    ]


def _contents(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    audits = store.rows("SELECT record_id, activity FROM audits ORDER BY record_id")
    signins = store.rows("SELECT record_id, signin_event_type FROM signins ORDER BY record_id")
    return audits, signins


EXPECTED_AUDITS = [
    ("aud-reg", "User registered security info"),
    ("aud-tap", "Admin registered security info"),
]
EXPECTED_SIGNINS = [
    ("mi-1", "managedIdentity"),
    ("ni-1", "nonInteractiveUser"),
    ("si-1", "interactiveUser"),
    ("sp-1", "servicePrincipal"),
]
SKIPPED = {"MicrosoftGraphActivityLogs": 1, "RiskyUsers": 1, "UserRiskEvents": 1}


@pytest.mark.parametrize("skip_bad_lines", [False, True])
def test_a_mixed_diagnostic_stream_is_split_per_record(tmp_path: Path, skip_bad_lines: bool) -> None:
    path = tmp_path / "entra-eventhub.json"
    path.write_bytes(jsonl(_stream()))
    with Store() as store:
        report = ingest_file(store, path, skip_bad_lines=skip_bad_lines)
        assert _contents(store) == (EXPECTED_AUDITS, EXPECTED_SIGNINS)
    assert report.skipped_categories == SKIPPED
    assert (report.new, report.skipped) == (6, 0)


def test_event_hub_messages_with_a_records_array(tmp_path: Path) -> None:
    stream = _stream()
    path = tmp_path / "messages.json"
    path.write_bytes(jsonl([{"records": stream[:4]}, {"records": stream[4:]}]))
    with Store() as store:
        report = ingest_file(store, path)
        assert _contents(store) == (EXPECTED_AUDITS, EXPECTED_SIGNINS)
    assert report.skipped_categories == SKIPPED


def test_a_stream_of_categories_detect_does_not_read_is_empty_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "risk.json"
    path.write_bytes(jsonl([risky_user(VICTIM, T0), user_risk_event(VICTIM, T0, "192.0.2.9")]))
    with Store() as store:
        report = ingest_file(store, path)
        assert store.count("audits") == store.count("signins") == 0
    assert report.skipped_categories == {"RiskyUsers": 1, "UserRiskEvents": 1}


# -- concatenated documents ----------------------------------------------------------------------------------


def _signins(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [signin(f"s-{i}", f"2026-03-02T10:{i:02d}:00Z") for i in range(start, start + n)]


def test_powershell_arrays_appended_with_a_bom_each(tmp_path: Path) -> None:
    path = tmp_path / "20260302-SignInLogs.json"
    path.write_bytes(
        powershell_json(_signins(2)) + powershell_json(_signins(1, 2)) + powershell_json(_signins(3, 3))
    )
    with Store() as store:
        report = ingest_file(store, path)
        ids = [r[0] for r in store.rows("SELECT record_id FROM signins ORDER BY time")]
    assert ids == [f"s-{i}" for i in range(6)]
    assert (report.kind, report.new) == ("signin", 6)


def test_graph_pages_appended_with_a_bom_each(tmp_path: Path) -> None:
    pages = [
        {
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
            "value": _signins(2),
        },
        {
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
            "value": _signins(2, 2),
        },
    ]
    path = tmp_path / "pages.json"
    path.write_bytes(b"".join(powershell_json(p) for p in pages))
    with Store() as store:
        report = ingest_file(store, path)
    assert report.new == 4 and report.next_link is None


def test_one_convertto_json_per_record(tmp_path: Path) -> None:
    """Older IR exporters pipe each SDK object through ConvertTo-Json on its own: indented objects back to
    back, one byte order mark at the start."""
    records = [audit(f"a-{i}", f"2026-03-02T08:0{i}:00Z", "Update user") for i in range(3)]
    path = tmp_path / "AuditlogsGraph.json"
    path.write_bytes(BOM + b"".join(powershell_json(sdk_object(r), bom=False) for r in records))
    with Store() as store:
        report = ingest_file(store, path)
        rows = store.rows("SELECT record_id, activity, initiator_upn FROM audits ORDER BY record_id")
    assert report.new == 3
    assert rows[0] == ("a-0", "Update user", "rosa.helpdesk@fabrikam.example")


def _normalised(store: Store, table: str) -> list[tuple[Any, ...]]:
    return store.rows(f"SELECT * EXCLUDE (ingest_batch) FROM {table} ORDER BY record_id")


@pytest.mark.parametrize("dates", ["iso", "ps51"])
def test_sdk_objects_read_like_graph_json(tmp_path: Path, dates: str) -> None:
    """Get-MgAuditLogDirectoryAudit / Get-MgBetaAuditLogSignIn | ConvertTo-Json: the same rows as Graph JSON
    (PowerShell 7 writes ISO times; Windows PowerShell 5.1 writes /Date(ms)/)."""
    audits = [
        tap_issued("aud-tap", T0, "2026-03-02T10:14:05Z"),
        audit("aud-2", "2026-03-02T09:30:00Z", "Update user"),
    ]
    signins = [signin("si-1", "2026-03-02T09:20:11Z", methods=["Temporary Access Pass"])]
    graph, sdk = tmp_path / "graph", tmp_path / "sdk"
    graph.mkdir()
    sdk.mkdir()
    (graph / "audits.jsonl").write_bytes(jsonl(audits))
    (graph / "signins.jsonl").write_bytes(jsonl(signins))
    (sdk / "audits.json").write_bytes(powershell_json(sdk_object(audits, dates=dates)))
    (sdk / "signins.json").write_bytes(powershell_json(sdk_object(signins, dates=dates)))
    with Store() as a, Store() as b:
        ingest_files(a, [graph / "audits.jsonl", graph / "signins.jsonl"])
        reports = ingest_files(b, [sdk / "audits.json", sdk / "signins.json"])
        assert [(r.kind, r.new) for r in reports] == [("audit", 2), ("signin", 1)]
        assert _normalised(a, "audits") == _normalised(b, "audits")
        assert _normalised(a, "signins") == _normalised(b, "signins")
        tap = b.one("SELECT tap_id, method_type, initiator_ip FROM audits WHERE record_id = 'aud-tap'")
    assert tap == ("5d2c1b0a-tap", "temporaryAccessPass", "203.0.113.40")


def test_utf16_redirection(tmp_path: Path) -> None:
    """Windows PowerShell's `ConvertTo-Json > file.json` writes UTF-16 with a byte order mark."""
    path = tmp_path / "signins.json"
    text = json.dumps(sdk_object(_signins(2)), indent=4).replace("\n", "\r\n")
    path.write_bytes(text.encode("utf-16"))
    with Store() as store:
        report = ingest_file(store, path)
    assert report.new == 2


def test_a_broken_document_in_a_stream_names_its_line_and_byte(tmp_path: Path) -> None:
    good = powershell_json(_signins(2))
    broken = powershell_json(_signins(1, 2)).replace(b'"s-2"', b'"s-2" "oops"')
    path = tmp_path / "broken.json"
    path.write_bytes(good + broken)
    with Store() as store, pytest.raises(LogError) as caught:
        ingest_file(store, path)
    line = (good + broken).splitlines().index(next(x for x in broken.splitlines() if b"oops" in x)) + 1
    assert caught.value.line == line
    offset = (good + broken).index(b'"oops"')
    assert f"byte {offset}" in str(caught.value)


def test_a_record_of_the_other_kind_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audits.jsonl"
    path.write_bytes(jsonl([audit("a-1", T0, "Update user"), signin("s-1", T0)]))
    with Store() as store, pytest.raises(LogError, match=r"audits\.jsonl:2: .*sign-in record") as caught:
        ingest_file(store, path)
    assert caught.value.line == 2


# -- incomplete collections ----------------------------------------------------------------------------------

NEXT = "https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=a1b2c3"


def test_a_page_left_with_a_next_link_is_incomplete(tmp_path: Path) -> None:
    single = tmp_path / "signIns.json"
    single.write_bytes(
        orjson.dumps({"@odata.nextLink": NEXT, "value": _signins(2)}, option=orjson.OPT_INDENT_2)
    )
    paged = tmp_path / "paged.jsonl"
    paged.write_bytes(jsonl([{"@odata.nextLink": NEXT, "value": _signins(1)}, {"value": _signins(1, 1)}]))
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(
        jsonl(
            [
                {"@odata.nextLink": NEXT, "value": _signins(1)},
                {"@odata.nextLink": NEXT + "x", "value": _signins(1, 1)},
            ]
        )
    )
    appended = tmp_path / "appended.json"
    appended.write_bytes(
        powershell_json({"value": _signins(1), "@odata.nextLink": NEXT})
        + powershell_json({"value": _signins(1, 1), "@odata.nextLink": NEXT + "y"})
    )
    with Store() as store:
        reports = ingest_files(store, [single, paged, cut, appended])
    assert [r.next_link for r in reports] == [NEXT, None, NEXT + "x", NEXT + "y"]


# -- Range documents and files that are not logs -------------------------------------------------------------


def test_the_range_log_document_holds_both_kinds(tmp_path: Path) -> None:
    path = tmp_path / "range-log.json"
    doc = {"directoryAudits": [tap_issued("aud-tap", T0, "2026-03-02T10:14:05Z")], "signIns": _signins(2)}
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    with Store() as store:
        report = ingest_file(store, path)
        assert (store.count("audits"), store.count("signins")) == (1, 2)
    assert report.new == 3


def test_user_objects_are_not_sign_ins(tmp_path: Path) -> None:
    users = [
        {
            "id": f"0000000{i}-1111-4222-8333-444444444444",
            "displayName": f"User {i}",
            "userPrincipalName": f"user{i}@fabrikam.example",
            "createdDateTime": "2024-01-05T08:00:00Z",
            "accountEnabled": True,
            "userType": "Member",
        }
        for i in range(5)
    ]
    path = tmp_path / "people.json"
    path.write_bytes(orjson.dumps({"value": users}))
    with Store() as store:
        with pytest.raises(LogError, match="not an audit or sign-in log") as caught:
            ingest_file(store, path)
        assert store.count("signins") == 0
    assert "user" in str(caught.value)


def test_a_trimmed_sentinel_export_is_not_taken_for_sdk_objects(tmp_path: Path) -> None:
    """`SigninLogs | project CreatedDateTime, Id, UserPrincipalName, IPAddress, Status, ...`: PascalCase
    columns, but the dynamic columns hold Graph's camelCase objects; the error code must survive."""
    keep = ("Id", "CreatedDateTime", "UserPrincipalName", "UserId", "IPAddress", "AppDisplayName", "Status")
    rows = [
        {k: v for k, v in signin_row(signin("s-ok", T0)).items() if k in keep},
        {k: v for k, v in signin_row(signin("s-bad", T0, error=50126)).items() if k in keep},
    ]
    path = tmp_path / "query.json"
    path.write_bytes(orjson.dumps(rows))
    with Store() as store:
        report = ingest_file(store, path)
        codes = store.rows("SELECT record_id, error_code, result FROM signins ORDER BY record_id")
    assert report.source == "sentinel"
    assert codes == [("s-bad", 50126, "failure"), ("s-ok", 0, "success")]


def test_a_first_megabyte_that_ends_inside_a_string_is_only_the_start_of_the_file(tmp_path: Path) -> None:
    # One Graph page larger than the sniffed megabyte, the megabyte ending inside a long string value:
    # the file is whole, only its first megabyte is cut.
    records = _signins(3)
    records[1]["userAgent"] = "Mozilla/5.0 " + "x" * (SNIFF_BYTES + 4096)
    path = tmp_path / "signIns.json"
    path.write_bytes(orjson.dumps({"value": records}))
    start = path.read_bytes().find(b'"Mozilla/5.0 x')
    assert 0 < start < SNIFF_BYTES < start + len(records[1]["userAgent"])  # the megabyte ends inside it
    sniffed = sniff(path)
    assert sniffed is not None and (sniffed.kind, sniffed.container) == ("signin", "pages")
    with Store() as store:
        report = ingest_file(store, path)
    assert (report.kind, report.new) == ("signin", 3)
