"""``graphlattice range``: every command through the real CLI, bad input as one line, state untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from graphlattice.range.actions import ACTIONS
from graphlattice.range.store import JOURNAL_FILE, SEED_FILE, STATE_FILE

MIA = "mia.hoffmann@northwind-traders.example"
NOOR = "noor.haddad@northwind-traders.example"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "graphlattice", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in (STATE_FILE, SEED_FILE)}


def start(folder: Path, scenario: str = "tap-persistence") -> Path:
    """``range start SCENARIO`` in ``folder`` through the real command line."""
    proc = run("range", "start", scenario, "--state", str(folder))
    assert proc.returncode == 0, proc.stderr
    return folder


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tap-persistence range that tests only read or refuse to change."""
    return start(tmp_path_factory.mktemp("cli") / "range")


def test_list() -> None:
    proc = run("range", "list")
    assert proc.returncode == 0
    assert "tap-persistence" in proc.stdout and "registration-gate-bypass" in proc.stdout


def test_start_prints_the_story(tmp_path: Path) -> None:
    proc = run("range", "start", "registration-gate-bypass", "--state", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert "Tom Verbeek" in proc.stdout
    assert "ines.carvalho@adventure-works.example" in proc.stdout


def test_unknown_scenario_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    line = one_line_error(run("range", "start", "tap-persistance", "--state", str(folder)), 2)
    assert "unknown scenario 'tap-persistance' (did you mean 'tap-persistence'?)" in line
    assert not folder.exists()


def test_start_refuses_to_replace_a_running_range(started: Path) -> None:
    before = snapshot(started)
    line = one_line_error(run("range", "start", "registration-gate-bypass", "--state", str(started)), 2)
    assert "a range already runs in" in line and "--force" in line
    assert snapshot(started) == before


def test_no_range_yet(tmp_path: Path) -> None:
    line = one_line_error(run("range", "verify", "--state", str(tmp_path / "empty")), 3)
    assert "no range in" in line and "range start" in line


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("act", "delete-tap", "user=nobody@northwind-traders.example"), 3, "unknown user: nobody"),
        (("act", "delete-metod", "user=mia.hoffmann"), 2, "did you mean 'delete-method'?"),
        (("act", "issue-tap", "user=mia.hoffmann", "usable_once=maybe"), 2, "must be true or false"),
        (("act", "issue-tap", "mia.hoffmann"), 2, "parameters are key=value pairs"),
        (("act", "delete-tap", "user=mia.hoffmann", "--as", "ghost"), 3, "unknown actor: ghost"),
        # Forbidden: the reason Entra would give, exit 4.
        (
            ("act", "issue-tap", f"user={NOOR}", "--as", "lukas.brandt"),
            4,
            "Insufficient privileges to complete the operation: Authentication Administrator cannot manage "
            "authentication methods of a user who holds Global Administrator",
        ),
        (
            (
                "act",
                "update-ca-policy",
                "policy=Require MFA for all users",
                "state=disabled",
                "--as",
                "priya.raman",
            ),
            4,
            "Insufficient privileges to complete the operation",
        ),
        (
            ("act", "revoke-sessions", "user=mia.hoffmann", "--as", "elif.demir"),
            4,
            "Insufficient privileges to complete the operation",
        ),
        (("log", "--as", "priya.raman"), 4, "lacks a role that may read audit logs"),
        (("log", "--kind", "signin", "--as", "priya.raman"), 4, "lacks a role that may read sign-in logs"),
        (("status", "--user", "mia.hoffmann", "--as", "daan.visser"), 4, "read other users' authentication"),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_state_alone(
    started: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    before = snapshot(started)
    line = one_line_error(run("range", *args, "--state", str(started)), code)
    assert message in line
    assert snapshot(started) == before


def test_who_may_read_the_logs(started: Path) -> None:
    proc = run(
        "range", "log", "--as", "elif.demir", "--kind", "audit", "--format", "json", "--state", str(started)
    )
    assert proc.returncode == 0, proc.stderr
    audits = orjson.loads(proc.stdout)
    assert audits["@odata.context"].endswith("auditLogs/directoryAudits")
    assert "Admin registered security info" in {r["activityDisplayName"] for r in audits["value"]}
    table = run("range", "log", "--state", str(started))
    assert table.returncode == 0 and "Temporary Access Pass" in table.stdout
    both = orjson.loads(run("range", "log", "--format", "json", "--state", str(started)).stdout)
    assert set(both) == {"directoryAudits", "signIns"}
    assert all(r["userPrincipalName"] for r in both["signIns"])


def test_status_and_methods(started: Path) -> None:
    proc = run("range", "status", "--user", "mia.hoffmann", "--as", "priya.raman", "--state", str(started))
    assert proc.returncode == 0, proc.stderr
    assert NOOR in proc.stdout  # the defender the learner acts as
    assert "Galaxy S23" in proc.stdout and "iPhone 15 Pro" in proc.stdout
    assert "Privileged Authentication Administrator" in proc.stdout


def test_act_list_shows_every_action() -> None:
    proc = run("range", "act", "--list")
    assert proc.returncode == 0
    for name in ACTIONS:
        assert name in proc.stdout


def test_hints_cost_points_and_run_out(tmp_path: Path) -> None:
    folder = str(tmp_path / "r")
    assert run("range", "start", "tap-persistence", "--state", folder).returncode == 0
    first = run("range", "hint", "--state", folder)
    assert first.returncode == 0 and "Hint 1 of 4" in first.stdout and "costs 5 points" in first.stdout
    for _ in range(3):
        assert run("range", "hint", "--state", folder).returncode == 0
    last = run("range", "hint", "--state", folder)
    assert last.returncode == 0 and "No more hints" in last.stderr
    assert "hints taken: 4 of 4 (40 points)" in run("range", "status", "--state", folder).stdout
    verdict = orjson.loads(run("range", "verify", "--format", "json", "--state", folder).stdout)
    assert verdict["score"] == 0  # never below zero


def test_reset_starts_over_exactly_and_survives_restarts(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    assert run("range", "start", "tap-persistence", "--state", str(folder)).returncode == 0
    fresh = {name: (folder / name).read_bytes() for name in (STATE_FILE, SEED_FILE, JOURNAL_FILE)}
    assert run("range", "act", "delete-tap", "user=mia.hoffmann", "--state", str(folder)).returncode == 0
    assert run("range", "hint", "--state", str(folder)).returncode == 0
    # A new process sees the change (the pass is gone) ...
    verdict = orjson.loads(run("range", "verify", "--format", "json", "--state", str(folder)).stdout)
    assert {f["id"]: f["attackerStillIn"] for f in verdict["footholds"]}["live-pass"] is False
    assert (folder / STATE_FILE).read_bytes() != fresh[STATE_FILE]
    # ... and reset puts back exactly what start wrote.
    proc = run("range", "reset", "--state", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert {name: (folder / name).read_bytes() for name in fresh} == fresh
    verdict = orjson.loads(run("range", "verify", "--format", "json", "--state", str(folder)).stdout)
    assert all(f["attackerStillIn"] for f in verdict["footholds"])


def test_default_state_folder_comes_from_the_environment(tmp_path: Path) -> None:
    env = {"GRAPHLATTICE_RANGE_HOME": str(tmp_path / "home")}
    assert run("range", "start", "registration-gate-bypass", env=env).returncode == 0
    assert (tmp_path / "home" / STATE_FILE).exists()
    assert "Tom Verbeek" in run("range", "status", env=env).stdout


def test_export_loads_with_assess(started: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    proc = run("range", "export", str(out), "--state", str(started))
    assert proc.returncode == 0, proc.stderr
    for name in (
        "users.json",
        "authenticationMethods.jsonl",
        "directoryAudits.jsonl",
        "signIns.jsonl",
        "manifest.json",
    ):
        assert (out / name).exists(), name
    logs = orjson.loads(run("range", "log", "--format", "json", "--state", str(started)).stdout)
    assert len((out / "directoryAudits.jsonl").read_bytes().splitlines()) == len(logs["directoryAudits"])
    assert len((out / "signIns.jsonl").read_bytes().splitlines()) == len(logs["signIns"])
    assessed = run("assess", str(out), "--format", "json")
    assert assessed.returncode == 0, assessed.stderr
    report = orjson.loads(assessed.stdout)
    status = {f["risk"]: f["status"] for f in report["findings"]}
    assert status["tap-policy-weak"] == "FAIL"
    assert status["tap-issuers-standing-access"] == "FAIL"
    assert report["tenant"]["source"] == "range"
    # a second export into the same folder needs --force
    line = one_line_error(run("range", "export", str(out), "--state", str(started)), 2)
    assert "--force" in line


def test_invalid_scenario_file_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    from graphlattice.range.scenario import SCENARIO_DIR

    text = (
        (SCENARIO_DIR / "tap-persistence.yaml")
        .read_text(encoding="utf-8")
        .replace("action: issue-tap", "action: hand-out-pass")
    )
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    line = one_line_error(run("range", "start", str(path), "--state", str(tmp_path / "r")), 3)
    number = next(i for i, row in enumerate(text.splitlines(), start=1) if "action: hand-out-pass" in row)
    assert line.startswith(f"error: {path}:{number}: unknown action 'hand-out-pass'")
    assert not (tmp_path / "r").exists()


def test_verify_exit_code_follows_containment_only_when_asked(tmp_path: Path) -> None:
    folder = str(tmp_path / "r")
    assert run("range", "start", "tap-persistence", "--state", folder).returncode == 0
    assert run("range", "verify", "--state", folder).returncode == 0  # a report, not a gate, by default
    still_in = run("range", "verify", "--exit-code", "--state", folder)
    assert still_in.returncode == 1 and "ATTACKER STILL IN" in still_in.stdout
    as_json = run("range", "verify", "--exit-code", "--format", "json", "--state", folder)
    assert as_json.returncode == 1 and orjson.loads(as_json.stdout)["contained"] is False
