"""The state directory: atomic state, append-only journal, exact reopen, default location."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from graphlattice.errors import ActionDenied, RangeError
from graphlattice.range.engine import Range
from graphlattice.range.principals import PRINCIPALS_FILE
from graphlattice.range.store import DERIVED_FILES, RangeStore, default_state_dir
from tests.range.engine_fixture import new_range, sign_in, upn


def test_close_and_reopen_gives_the_same_range(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa"))
    token = sign_in(rng, "enrolled", "tap", holder="attacker")["session"]
    rng.act("advance-clock", {"minutes": "7"})
    rng.use_hint()
    before = rng.peek().dumps()
    del rng
    again = Range.open(tmp_path / "range")
    assert again.peek().dumps() == before
    assert again.hints_used == 1
    assert again.now.isoformat() == "2026-11-14T01:07:00+00:00"
    sign_in(
        again, "enrolled", "refresh-token", holder="attacker", token=token
    )  # secrets and sessions survive
    assert [r["id"] for r in again.records("signin")][:-1] == [
        r["id"] for r in orjson.loads(before)["signIns"]
    ]


def test_every_action_is_journaled_with_secrets_redacted(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("reset-password", {"user": upn("victim"), "password": "S3cret-pass"}, actor=upn("admin"))
    with pytest.raises(ActionDenied):
        rng.act("reset-password", {"user": upn("admin")}, actor=upn("reader"))
    lines = (rng.state_dir / "journal.jsonl").read_bytes().splitlines()
    entries = [orjson.loads(line) for line in lines]
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("reset-password", "ok"),
        ("reset-password", "denied"),
    ]
    assert entries[0]["params"]["password"] == "***" and entries[0]["data"]["newPassword"] == "***"
    assert entries[0]["actor"] == upn("admin") and entries[0]["at"] == "2026-11-14T01:00:00Z"
    assert len(entries[0]["records"]) == 2
    assert b"S3cret-pass" not in (rng.state_dir / "journal.jsonl").read_bytes()
    assert b"S3cret-pass" not in (rng.state_dir / "state.json").read_bytes()


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    for _ in range(3):
        rng.act("advance-clock", {"minutes": "1"})
    assert sorted(p.name for p in rng.state_dir.iterdir()) == [
        "journal.jsonl",
        "principals.json",
        "range.lock",
        "seed.json",
        "state.json",
    ]
    doc = orjson.loads((rng.state_dir / "state.json").read_bytes())
    assert doc["format"] == 1 and doc["state"]["clock"] == "2026-11-14T01:03:00Z"


def test_opening_an_empty_directory_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RangeError, match=r"no range in .*; run 'graphlattice range start SCENARIO' first"):
        Range.open(tmp_path / "nothing")


def test_a_damaged_state_is_one_clear_error(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    (rng.state_dir / "state.json").write_text("{not json")
    with pytest.raises(RangeError, match=r"state\.json is not valid JSON"):
        Range.open(rng.state_dir)


def test_default_state_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRAPHLATTICE_RANGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "home"
    monkeypatch.delenv("GRAPHLATTICE_RANGE_HOME")
    assert default_state_dir() == tmp_path / "xdg" / "graphlattice" / "range"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_state_dir() == tmp_path / "user" / ".local" / "share" / "graphlattice" / "range"


def test_two_ranges_side_by_side_do_not_mix(tmp_path: Path) -> None:
    one = new_range(tmp_path / "a")
    two = new_range(tmp_path / "b")
    one.act("advance-clock", {"minutes": "30"})
    assert Range.open(two.state_dir).now != Range.open(one.state_dir).now
    assert RangeStore(one.state_dir).exists() and RangeStore(two.state_dir).exists()


def test_a_journal_cut_short_outside_the_range_keeps_its_whole_lines(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    for minutes in ("1", "2", "3"):
        rng.act("advance-clock", {"minutes": minutes})
    path = rng.state_dir / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1][:10])  # the second line torn, the third gone
    expected = [orjson.loads(lines[0]), orjson.loads(lines[2])]  # the last one is in the commit record
    assert Range.open(rng.state_dir).journal() == expected
    rng.act("advance-clock", {"minutes": "4"})
    assert [e["params"]["minutes"] for e in Range.open(rng.state_dir).journal()] == ["1", "3", "4"]
    assert [orjson.loads(line) for line in path.read_bytes().splitlines()][:2] == expected


def test_the_store_knows_every_file_of_a_range(tmp_path: Path) -> None:
    assert PRINCIPALS_FILE in DERIVED_FILES  # so a killed writer's temporary copy of it is cleaned up
    rng = new_range(tmp_path)
    (rng.state_dir / f".{PRINCIPALS_FILE}.abc123.tmp").write_bytes(b"{")
    (rng.state_dir / "notes.txt").write_text("the learner's own file")
    rng.act("advance-clock", {"minutes": "1"})
    assert not (rng.state_dir / f".{PRINCIPALS_FILE}.abc123.tmp").exists()
    Range.remove(rng.state_dir)
    assert [p.name for p in rng.state_dir.iterdir()] == ["notes.txt"]


def test_a_torn_line_run_together_with_the_next_keeps_the_whole_entry(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    for minutes in ("1", "2", "3"):
        rng.act("advance-clock", {"minutes": minutes})
    path = rng.state_dir / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    # the first line cut short and the second written right after it, without a line break between
    path.write_bytes(lines[0][:25] + lines[1] + lines[2])
    assert [e["params"]["minutes"] for e in Range.open(rng.state_dir).journal()] == ["2", "3"]
    rng.act("advance-clock", {"minutes": "4"})  # the next writer keeps the whole entries and appends
    assert [e["params"]["minutes"] for e in Range.open(rng.state_dir).journal()] == ["2", "3", "4"]
