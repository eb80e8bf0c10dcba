"""Ingest-time history does not depend on how the logs were split into files, or in which order they came."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.detect.enrich import PrivilegedUsers, enrich
from graphlattice.detect.ingest import ingest_files
from graphlattice.detect.settings import DetectSettings
from graphlattice.detect.store import Store

_PRIVILEGED = PrivilegedUsers(None, "role-assignment audit records")


def _events(paths: list[Path]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with Store() as store:
        ingest_files(store, paths)
        enrich(store, DetectSettings(), _PRIVILEGED)
        signins = store.rows("SELECT * FROM signin_events ORDER BY record_id")
        audits = store.rows("SELECT * FROM audit_events ORDER BY record_id")
    return signins, audits


def _split(lines: list[bytes], parts: int, rng: random.Random, tmp: Path, stem: str) -> list[Path]:
    """Cut the lines into contiguous parts (time-ordered chunks, as daily exports are), plus one part that
    repeats a sample of everything (an overlapping re-export)."""
    cuts = sorted(rng.sample(range(1, len(lines)), parts - 1))
    chunks = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    chunks.append(rng.sample(lines, len(lines) // 10))
    paths = []
    for i, chunk in enumerate(chunks):
        path = tmp / f"{stem}-{i}.jsonl"
        path.write_bytes(b"".join(chunk))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def whole(demo_logs: list[Path]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return _events(demo_logs)


def test_the_history_is_not_trivial(whole: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]) -> None:
    with Store() as store:
        enrich(store, DetectSettings(), _PRIVILEGED)
        columns = [r[0] for r in store.rows("DESCRIBE signin_events")]
        audit_columns = [r[0] for r in store.rows("DESCRIBE audit_events")]
    signins, audits = whole
    seen_ip = [r[columns.index("ip_seen_before")] for r in signins]
    assert seen_ip.count(True) > 1000 and seen_ip.count(False) > 0
    sessions = [r[audit_columns.index("session_signin_id")] for r in audits]
    assert sum(s is not None for s in sessions) > 10


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_split_and_shuffled_files_give_the_same_events(
    demo_logs: list[Path],
    whole: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
    tmp_path: Path,
    seed: int,
) -> None:
    rng = random.Random(seed)
    audits, signins = demo_logs
    paths = _split(audits.read_bytes().splitlines(keepends=True), 4, rng, tmp_path, "audits")
    paths += _split(signins.read_bytes().splitlines(keepends=True), 5, rng, tmp_path, "signins")
    rng.shuffle(paths)
    assert _events(paths) == whole


def test_a_late_file_changes_what_earlier_records_saw(tmp_path: Path, demo_logs: list[Path]) -> None:
    """Sign-ins ingested newest first: every record's look-back is still the same as in one pass."""
    lines = demo_logs[1].read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    newer, older = tmp_path / "newer.jsonl", tmp_path / "older.jsonl"
    newer.write_bytes(b"".join(lines[half:]))
    older.write_bytes(b"".join(lines[:half]))
    one_pass = _events([demo_logs[0], demo_logs[1]])
    assert _events([demo_logs[0], newer, older]) == one_pass
    assert _events([newer, older, demo_logs[0]]) == one_pass


def _signin(record_id: str, when: str, ip: str, country: str) -> dict[str, Any]:
    return {
        "id": record_id,
        "createdDateTime": when,
        "userId": "0b9c4d4e-5f3a-4c55-9c1e-2f6a8e7d1a01",
        "userPrincipalName": "ines@contoso.example",
        "appId": "00000003-0000-0000-c000-000000000000",
        "ipAddress": ip,
        "status": {"errorCode": 0},
        "location": {"countryOrRegion": country},
    }


def _write(path: Path, *records: dict[str, Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


@pytest.mark.parametrize("late_first", [False, True])
def test_each_look_back_follows_a_late_record(tmp_path: Path, late_first: bool) -> None:
    """A sign-in from a new address in a country seen before: only its country answer needs the late file."""
    early = _write(
        tmp_path / "early.jsonl",
        _signin("s0", "2026-10-01T08:00:00Z", "198.51.100.7", "DE"),
        _signin("s2", "2026-10-03T08:00:00Z", "203.0.113.20", "NL"),
    )
    late = _write(tmp_path / "late.jsonl", _signin("s1", "2026-10-02T08:00:00Z", "203.0.113.10", "NL"))
    with Store() as store:
        ingest_files(store, [late, early] if late_first else [early, late])
        enrich(store, DetectSettings(), _PRIVILEGED)
        rows = store.rows(
            "SELECT record_id, ip_seen_before, country_seen_before FROM signin_events ORDER BY record_id"
        )
    # s0 is the user's first sign-in and the store covers no full look-back before it: unknown.
    assert rows == [("s0", None, None), ("s1", False, False), ("s2", False, True)]


@pytest.mark.parametrize("audits_first", [True, False])
def test_daily_files_in_order(
    demo_logs: list[Path],
    whole: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
    tmp_path: Path,
    audits_first: bool,
) -> None:
    """One file per day, oldest first (each day's sign-ins follow everything stored: the quick path), with
    the actions ingested before or after the sign-ins they ran in."""
    audits, signins = demo_logs
    by_day: dict[str, list[bytes]] = {}
    for line in signins.read_bytes().splitlines(keepends=True):
        by_day.setdefault(orjson.loads(line)["createdDateTime"][:10], []).append(line)
    days = [_write_lines(tmp_path / f"signins-{day}.jsonl", by_day[day]) for day in sorted(by_day)]
    assert len(days) >= 10
    paths = [audits, *days] if audits_first else [*days, audits]
    assert _events(paths) == whole


def _write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def _registration(record_id: str, when: str, ip: str) -> dict[str, Any]:
    user = "0b9c4d4e-5f3a-4c55-9c1e-2f6a8e7d1a01"
    return {
        "id": record_id,
        "activityDateTime": when,
        "activityDisplayName": "User registered security info",
        "loggedByService": "Authentication Methods",
        "result": "success",
        "resultReason": "User registered Microsoft Authenticator App",
        "initiatedBy": {"user": {"id": user, "ipAddress": ip}},
        "targetResources": [{"id": user, "type": "User"}],
    }


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_an_enrolment_interrupt_stays_the_session_whatever_the_file_order(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    """Newer sign-ins appended after an interrupt (the quick path keeps it as the address's last session),
    or older ones arriving late (a full recompute): the same sessions either way."""
    interrupt = {
        **_signin("s-int", "2026-10-01T10:00:00Z", "192.0.2.77", "US"),
        "status": {"errorCode": 50079},
    }
    files = [
        _write(
            tmp_path / "older.jsonl", _signin("s-ok", "2026-10-01T09:00:00Z", "198.51.100.7", "NL"), interrupt
        ),
        _write(
            tmp_path / "audits.jsonl",
            _registration("r-in-interrupt", "2026-10-01T10:05:00Z", "192.0.2.77"),
            _registration("r-later-same-address", "2026-10-01T10:40:00Z", "192.0.2.77"),
            _registration("r-session-too-old", "2026-10-01T10:45:00Z", "198.51.100.7"),
        ),
        _write(tmp_path / "newer.jsonl", _signin("s-new", "2026-10-01T10:30:00Z", "203.0.113.9", "NL")),
    ]
    with Store() as store:
        ingest_files(store, [files[i] for i in order])
        enrich(store, DetectSettings(), _PRIVILEGED)
        rows = store.rows(
            "SELECT record_id, session_signin_id, session_single_factor FROM audit_events ORDER BY time"
        )
    assert rows == [
        ("r-in-interrupt", "s-int", True),
        ("r-later-same-address", "s-int", True),
        ("r-session-too-old", None, None),
    ]
