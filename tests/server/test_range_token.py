"""``range token`` signs from the range's principal index and gives exactly the tokens the served range
accepts; a missing, stale or damaged index falls back to the range itself with the same result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from graphlattice.range.engine import Range
from graphlattice.range.principals import PRINCIPALS_FILE
from graphlattice.server.service import RangeService
from tests.server.conftest import NOOR, READER_APP, copy_range


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", "range", "token", "--state", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def token(folder: Path, *args: str) -> str:
    proc = _run(folder, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def refused(folder: Path, *args: str) -> str:
    proc = _run(folder, *args)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def folder(template_dir: Path, tmp_path: Path) -> Path:
    folder = copy_range(template_dir, tmp_path / "range")
    Range.open(folder).save_meta()  # a save, as every action makes, writes the index for this copy
    return folder


def expected(folder: Path) -> dict[tuple[str, ...], str]:
    """The tokens of the served range (which loads everything), keyed by the command-line arguments."""
    service = RangeService(folder)
    noor_id = str(service.views().user(NOOR)["id"])  # type: ignore[index]
    reader_id = str(service.views().service_principal_by_app_id(READER_APP)["id"])  # type: ignore[index]
    user, app = service.token_for_user(NOOR), service.token_for_app(READER_APP)
    return {
        ("--as", NOOR): user,
        ("--as", NOOR.upper()): user,
        ("--as", "noor.haddad"): user,
        ("--as", noor_id): user,
        ("--app", READER_APP): app,
        ("--app", reader_id): app,
    }


def test_tokens_from_the_index_are_the_served_range_tokens(folder: Path) -> None:
    index = orjson.loads((folder / PRINCIPALS_FILE).read_bytes())
    assert any(upn == NOOR for _, upn in index["users"])
    for args, want in expected(folder).items():
        assert token(folder, *args) == want, args


def test_a_missing_stale_or_damaged_index_gives_the_same_tokens(folder: Path) -> None:
    want = expected(folder)
    old = (folder / PRINCIPALS_FILE).read_bytes()
    doc = orjson.loads(old)
    doc["tenantId"] = "00000000-0000-0000-0000-00000000bad0"  # would sign a token the range refuses
    rng = Range.open(folder)
    rng.act("advance-clock", {"minutes": "1"})  # the state changes: the old stamp no longer matches
    (folder / PRINCIPALS_FILE).write_bytes(orjson.dumps(doc))
    assert token(folder, "--as", NOOR) == want[("--as", NOOR)]
    (folder / PRINCIPALS_FILE).write_bytes(b"{not json")
    assert token(folder, "--app", READER_APP) == want[("--app", READER_APP)]
    (folder / PRINCIPALS_FILE).unlink()
    assert token(folder, "--as", "noor.haddad") == want[("--as", NOOR)]


def test_unknown_principals_are_one_line(folder: Path) -> None:
    assert "unknown user: nobody" in refused(folder, "--as", "nobody")
    line = refused(folder, "--app", "00000000-0000-0000-0000-000000000000")
    assert "Posture Reader" in line and READER_APP in line
