"""Log files in, canonical rows out: every accepted shape, and one clear error for a bad file."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.detect.ingest import ingest_file, ingest_files
from graphlattice.detect.store import Store
from graphlattice.errors import InputError, LogError, UsageError
from tests.detect.sentinel import signin_row, to_portal_csv

AUDIT: dict[str, Any] = {
    "id": "Authentication Methods_a412fc4e_1ZG16_116958925",
    "category": "UserManagement",
    "correlationId": "A412FC4E-C5E5-4F37-A928-896C34DEB7EE",
    "result": "success",
    "resultReason": "Admin registered temporary access pass method for user",
    "activityDisplayName": "Admin registered security info",
    "activityDateTime": "2026-03-02T10:14:05.61+01:00",
    "loggedByService": "Authentication Methods",
    "operationType": "Add",
    "initiatedBy": {
        "user": {
            "id": "AC7E68C4-40FE-4B81-A7F7-B484DE797CD3",
            "displayName": "Helpdesk One",
            "userPrincipalName": "hd1@contoso.example",
            "ipAddress": "203.0.113.10",
        },
        "app": None,
    },
    "targetResources": [
        {
            "id": "30a6c29d-de7c-4830-815f-9b3bb366e975",
            "displayName": "Pat Target",
            "type": "User",
            "userPrincipalName": "pat@contoso.example",
            "groupType": None,
            "modifiedProperties": [
                {"displayName": "TemporaryAccessPass.Id", "oldValue": '""', "newValue": '"8f3c1f0e"'},
                {
                    "displayName": "TemporaryAccessPass.TemporaryAccessPass.StartDateTime",
                    "oldValue": '""',
                    "newValue": '"2026-03-02T09:14:05Z"',
                },
                {
                    "displayName": "TemporaryAccessPass.EndTime",
                    "oldValue": '""',
                    "newValue": '"2026-03-02T10:14:05Z"',
                },
                {
                    "displayName": "TemporaryAccessPass.AccessPassUsage",
                    "oldValue": '""',
                    "newValue": '"OneTime"',
                },
            ],
        }
    ],
    "additionalDetails": [],
}
SIGNIN: dict[str, Any] = {
    "id": "66ea54eb-6301-4ee5-be62-ff5a759b0100",
    "createdDateTime": "2026-03-02T09:20:11Z",
    "userDisplayName": "Pat Target",
    "userPrincipalName": "pat@contoso.example",
    "userId": "30a6c29d-de7c-4830-815f-9b3bb366e975",
    "appId": "19db86c3-b2b9-44cc-b339-36da233a3be2",
    "appDisplayName": "My Signins",
    "ipAddress": "198.51.100.77",
    "isInteractive": True,
    "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
    "deviceDetail": {
        "deviceId": "",
        "operatingSystem": "Windows10",
        "browser": "Edge 131.0.0",
        "isCompliant": False,
    },
    "location": {"city": "Amsterdam", "state": "Noord-Holland", "countryOrRegion": "NL"},
    "authenticationRequirement": "multiFactorAuthentication",
    "signInEventTypes": ["interactiveUser"],
    "authenticationDetails": [
        {"authenticationMethod": "Password", "succeeded": False},
        {"authenticationMethod": "Temporary Access Pass", "succeeded": True},
    ],
}
SIGNIN_V1 = {
    k: v
    for k, v in SIGNIN.items()
    if k not in ("authenticationRequirement", "authenticationDetails", "signInEventTypes")
}


def _one(store: Store, table: str, columns: str) -> tuple[Any, ...]:
    return store.one(f"SELECT {columns} FROM {table}")


def _lines(*records: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def test_graph_audit_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "audits.jsonl"
    path.write_bytes(_lines(AUDIT))
    with Store() as store:
        report = ingest_file(store, path)
        assert (report.kind, report.source, report.new) == ("audit", "graph", 1)
        row = _one(
            store,
            "audits",
            "time, correlation_id, initiator_user_id, target_user_id, tap_id, tap_start, tap_end, tap_usage, "
            "method_type, modified_properties[2].key",
        )
    assert str(row[0]) == "2026-03-02 09:14:05.610000"  # +01:00 offset turned into UTC
    assert row[1] == "a412fc4e-c5e5-4f37-a928-896c34deb7ee"
    assert row[2] == "ac7e68c4-40fe-4b81-a7f7-b484de797cd3"
    assert row[3] == "30a6c29d-de7c-4830-815f-9b3bb366e975"
    assert row[4] == "8f3c1f0e"  # JSON-quoted value unquoted
    assert str(row[5]) == "2026-03-02 09:14:05" and str(row[6]) == "2026-03-02 10:14:05"
    assert row[7] == "OneTime" and row[8] == "temporaryAccessPass"
    assert row[9] == "TemporaryAccessPass.StartDateTime"  # doubled prefix collapsed


def test_beta_and_v1_sign_ins(tmp_path: Path) -> None:
    path = tmp_path / "signins.jsonl"
    path.write_bytes(_lines(SIGNIN, {**SIGNIN_V1, "id": "v1"}))
    with Store() as store:
        ingest_file(store, path)
        rows = store.rows(
            "SELECT record_id, auth_methods, auth_requirement, error_code, result, country, device_id, "
            "device_compliant, is_interactive, signin_event_type FROM signins ORDER BY record_id"
        )
    beta, v1 = rows
    assert beta[1] == ["Temporary Access Pass"]  # the failed password step is not a method used
    assert beta[2] == "multiFactorAuthentication" and beta[3] == 0 and beta[4] == "success"
    assert beta[5] == "NL" and beta[6] is None and beta[7] is False
    assert beta[8] is True and beta[9] == "interactiveUser"
    assert v1[1] is None and v1[2] is None  # v1.0: absent, not "single factor"
    assert v1[9] == "interactiveUser"


def test_spaces_and_empty_strings(tmp_path: Path) -> None:
    """Surrounding spaces are trimmed, ids lower-cased, and empty strings are absent values."""
    record = {
        **SIGNIN,
        "id": "spaced",
        "userId": " 0B9C4D4E-5F3A-4C55-9C1E-2F6A8E7D1A01 ",
        "userPrincipalName": "  ines@contoso.example",
        "ipAddress": "",
        "appDisplayName": "   ",
        "clientAppUsed": "Browser ",
    }
    path = tmp_path / "signins.jsonl"
    path.write_bytes(_lines(record))
    with Store() as store:
        ingest_file(store, path)
        row = _one(store, "signins", "user_id, upn, ip, app_name, client_app")
    assert row == ("0b9c4d4e-5f3a-4c55-9c1e-2f6a8e7d1a01", "ines@contoso.example", None, None, "Browser")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "value.json",
            lambda: orjson.dumps({"@odata.context": "x", "value": [SIGNIN]}, option=orjson.OPT_INDENT_2),
        ),
        ("array.json", lambda: orjson.dumps([SIGNIN])),
        (
            "pages.jsonl",
            lambda: orjson.dumps({"value": [SIGNIN]}) + b"\n" + orjson.dumps({"value": []}) + b"\n",
        ),
        ("records.jsonl.gz", lambda: gzip.compress(_lines(SIGNIN))),
        (
            "diagnostics.json",
            lambda: _lines({"time": "2026-03-02T09:20:11Z", "category": "SignInLogs", "properties": SIGNIN}),
        ),
    ],
)
def test_graph_containers(tmp_path: Path, name: str, content: Any) -> None:
    path = tmp_path / name
    path.write_bytes(content())
    with Store() as store:
        report = ingest_file(store, path)
        assert report.kind == "signin" and report.new == 1
        assert _one(store, "signins", "auth_methods, ip") == (["Temporary Access Pass"], "198.51.100.77")


def test_sentinel_csv_non_interactive_table(tmp_path: Path) -> None:
    row = signin_row(SIGNIN)
    row["Type"] = "AADNonInteractiveUserSignInLogs"
    row["Category"] = "NonInteractiveUserSignInLogs"
    row["IsInteractive"] = False
    path = tmp_path / "noninteractive.csv"
    path.write_text(to_portal_csv([row]), encoding="utf-8")
    with Store() as store:
        report = ingest_file(store, path)
        assert (report.kind, report.source) == ("signin", "sentinel")
        got = _one(
            store, "signins", "time, signin_event_type, is_interactive, auth_methods, error_code, city"
        )
    assert str(got[0]) == "2026-03-02 09:20:11"
    assert got[1:] == ("nonInteractiveUser", False, ["Temporary Access Pass"], 0, "Amsterdam")


def test_empty_files_are_fine(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "page.json").write_bytes(b'{"value": []}')
    with Store() as store:
        reports = ingest_files(store, [tmp_path / "empty.jsonl", tmp_path / "page.json"])
    assert [r.kind for r in reports] == [None, None]


def test_duplicates_inside_a_file_count_once(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_bytes(_lines(SIGNIN, SIGNIN, {**SIGNIN, "id": "other"}))
    with Store() as store:
        report = ingest_file(store, path)
        assert (report.records, report.new, report.duplicates) == (3, 2, 1)
        assert store.count("signins") == 2


def _bad_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "signIns.jsonl"
    good = orjson.dumps(SIGNIN).decode()
    path.write_text(
        f'{good}\n{good.replace(SIGNIN["id"], "second")}\n{{"id": "x", "createdDa', encoding="utf-8"
    )
    return path


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = orjson.dumps(SIGNIN).decode()
    path.write_text(f"{good}\n\n{good[:-1]}, oops}}\n{good}\n", encoding="utf-8")
    with Store() as store, pytest.raises(LogError) as caught:
        ingest_file(store, path)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: not valid JSON")


def test_truncated_file_and_skip_bad_lines(tmp_path: Path) -> None:
    path = _bad_jsonl(tmp_path)
    with Store() as store:
        with pytest.raises(LogError, match=r"signIns\.jsonl:3: truncated record"):
            ingest_file(store, path)
        assert store.count("signins") == 0  # nothing half-read
        report = ingest_file(store, path, skip_bad_lines=True)
        assert (report.new, report.skipped) == (2, 1)


def test_record_without_a_time(tmp_path: Path) -> None:
    path = tmp_path / "no-time.jsonl"
    path.write_bytes(
        _lines(SIGNIN, {k: v for k, v in SIGNIN.items() if k != "createdDateTime"} | {"id": "b"})
    )
    with Store() as store:
        with pytest.raises(LogError, match=r"no-time\.jsonl:2: record has no 'createdDateTime'"):
            ingest_file(store, path)
        report = ingest_file(store, path, skip_bad_lines=True)
        assert (report.new, report.skipped) == (1, 1)


def test_truncated_graph_document(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_bytes(orjson.dumps({"value": [SIGNIN, SIGNIN]}, option=orjson.OPT_INDENT_2)[:-40])
    with Store() as store, pytest.raises(LogError) as caught:
        ingest_file(store, path)
    assert "truncated JSON" in str(caught.value) and caught.value.line is not None


def test_csv_row_with_missing_fields(tmp_path: Path) -> None:
    text = to_portal_csv([signin_row(SIGNIN), signin_row({**SIGNIN, "id": "two"})])
    lines = text.splitlines()
    path = tmp_path / "SigninLogs.csv"
    path.write_text("\n".join([*lines, "only,three,fields"]) + "\n", encoding="utf-8")
    with Store() as store:
        with pytest.raises(LogError, match=r"SigninLogs\.csv:4: row has 3 fields"):
            ingest_file(store, path)
        report = ingest_file(store, path, skip_bad_lines=True)
        assert (report.new, report.skipped) == (2, 1)


def test_not_a_log(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    (tmp_path / "users.json").write_bytes(orjson.dumps({"value": [{"id": "u", "displayName": "x"}]}))
    with Store() as store:
        with pytest.raises(LogError, match=r"notes\.txt"):
            ingest_file(store, tmp_path / "notes.txt")
        with pytest.raises(LogError, match="not an audit or sign-in log"):
            ingest_file(store, tmp_path / "users.json")
        with pytest.raises(LogError, match="no such file"):
            ingest_file(store, tmp_path / "missing.jsonl")


def test_nothing_already_ingested_is_lost(tmp_path: Path) -> None:
    from graphlattice.detect import run_detection

    good = tmp_path / "audits.jsonl"
    good.write_bytes(_lines(AUDIT))
    db = tmp_path / "store.duckdb"
    with pytest.raises(LogError, match=r"records already in .*store\.duckdb are kept"):
        run_detection([good, _bad_jsonl(tmp_path)], db=db)
    with Store(db) as store:
        assert store.count("audits") == 1 and store.count("signins") == 0


def test_store_files_are_checked(tmp_path: Path) -> None:
    not_duckdb = tmp_path / "x.duckdb"
    not_duckdb.write_text("not a database", encoding="utf-8")
    with pytest.raises(InputError, match="not a DuckDB database, so not a log store"):
        Store(not_duckdb)
    assert not_duckdb.read_text(encoding="utf-8") == "not a database"
    db = tmp_path / "old.duckdb"
    with Store(db) as store:
        store.con.execute("UPDATE gl_meta SET value = '0:old' WHERE key = 'schema'")
    with pytest.raises(UsageError, match="another log schema"):
        Store(db)
