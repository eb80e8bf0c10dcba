"""A damaged range folder: every command says, in one line, to run ``range reset`` (exit 3); ``range reset``
starts the scenario over whatever was damaged, and keeps the folder's lock file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.range.test_cli_range import one_line_error, run, start


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return start(tmp_path_factory.mktemp("damaged") / "range")


def _truncate(folder: Path) -> None:
    raw = (folder / "state.json").read_bytes()
    (folder / "state.json").write_bytes(raw[: len(raw) // 3])


def _garbage(folder: Path) -> None:
    (folder / "state.json").write_bytes(b"\x00\xffnot json at all")


def _wrong_shape(folder: Path) -> None:
    doc = json.loads((folder / "state.json").read_text())
    doc["state"]["collections"] = 5
    doc["state"]["clock"] = ["not", "a", "time"]
    (folder / "state.json").write_text(json.dumps(doc))


def _no_seed_and_truncated(folder: Path) -> None:
    (folder / "seed.json").unlink()
    _truncate(folder)


def _garbage_seed(folder: Path) -> None:
    (folder / "seed.json").write_text('{"format": 1, "state": {"clock": 7}, "timeline": [3]}')


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated state": _truncate,
    "garbage state": _garbage,
    "state of the wrong shape": _wrong_shape,
    "no seed, truncated state": _no_seed_and_truncated,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_commands_on_a_damaged_folder_name_range_reset(template: Path, tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "range"
    shutil.copytree(template, folder)
    DAMAGE[damage](folder)
    for args in (
        ("status",),
        ("verify",),
        ("log",),
        ("act", "revoke-sessions", "user=mia.hoffmann"),
        ("hint", "--list"),
        ("export", str(tmp_path / "out")),
    ):
        line = one_line_error(run("range", *args, "--state", str(folder)), 3)
        assert "range reset" in line, (args, line)
    proc = run("range", "reset", "--state", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert (folder / "range.lock").exists()
    verdict = run("range", "verify", "--format", "json", "--state", str(folder))
    assert verdict.returncode == 0, verdict.stderr
    assert json.loads(verdict.stdout)["contained"] is False  # the scenario starts over: the attacker is in
    assert run("range", "log", "--state", str(folder)).returncode == 0


def test_reset_with_a_damaged_seed_starts_the_scenario_from_its_file(template: Path, tmp_path: Path) -> None:
    folder = tmp_path / "range"
    shutil.copytree(template, folder)
    _garbage_seed(folder)
    proc = run("range", "reset", "--state", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((folder / "seed.json").read_text())["format"] == 1
    assert run("range", "verify", "--state", str(folder)).returncode == 0


def test_a_torn_journal_line_is_mended_or_reset(template: Path, tmp_path: Path) -> None:
    folder = tmp_path / "range"
    shutil.copytree(template, folder)
    with (folder / "journal.jsonl").open("ab") as journal:
        journal.write(b'{"at": "2026-11-16T08:3')  # a writer killed mid-line
    proc = run("range", "act", "revoke-sessions", "user=mia.hoffmann", "--state", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert all(json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines())
    assert run("range", "reset", "--state", str(folder)).returncode == 0


def test_reset_of_a_folder_that_says_nothing_is_one_line(template: Path, tmp_path: Path) -> None:
    folder = tmp_path / "range"
    shutil.copytree(template, folder)
    _garbage(folder)
    (folder / "seed.json").write_bytes(b"garbage")
    line = one_line_error(run("range", "reset", "--state", str(folder)), 3)
    assert "range start SCENARIO --force" in line
    assert run("range", "start", "tap-persistence", "--force", "--state", str(folder)).returncode == 0
