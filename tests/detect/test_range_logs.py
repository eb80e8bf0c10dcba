"""The Range's logs after the attacker's timeline of ``tap-persistence``: detect names the issuing operator
and both rogue registrations (the Range writes the records the real service would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from graphlattice.detect import run_detection


def graphlattice(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "graphlattice", *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr


def test_detect_on_the_range_after_tap_persistence(tmp_path: Path) -> None:
    state, out = tmp_path / "range", tmp_path / "export"
    graphlattice("range", "start", "tap-persistence", "--state", str(state))
    graphlattice("range", "export", str(out), "--state", str(state))
    run = run_detection([out / "directoryAudits.jsonl", out / "signIns.jsonl"], snapshot_dir=out)
    severe = run.at_or_above("high")
    assert [i.rule for i in severe] == ["tap-bootstrapped-persistence"]
    incident = severe[0]
    assert incident.principals["issuer"]["type"] == "user"
    assert incident.principals["target"]["id"] != incident.principals["issuer"]["id"]
    assert [m["type"] for m in incident.details["methods"]] == ["microsoftAuthenticator", "fido2"]
    deletes = [s for s in incident.containment if s["action"] == "delete-method"]
    assert len(deletes) == 2


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", *args], capture_output=True, text=True, timeout=300
    )


def critical(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [i["rule"] for i in orjson.loads(proc.stdout)["incidents"] if i["level"] == "critical"]


def test_range_log_json_and_export_folders_are_logs(tmp_path: Path) -> None:
    state, out = tmp_path / "range", tmp_path / "export"
    graphlattice("range", "start", "tap-persistence", "--state", str(state))
    log = run_cli("range", "log", "--format", "json", "--state", str(state))
    assert log.returncode == 0, log.stderr
    (tmp_path / "range-log.json").write_text(log.stdout, encoding="utf-8")
    assert critical(run_cli("detect", str(tmp_path / "range-log.json"), "--format", "json")) == [
        "tap-bootstrapped-persistence"
    ]
    graphlattice("range", "export", str(out), "--state", str(state))
    folder = run_cli("detect", str(out), "--format", "json")
    assert critical(folder) == ["tap-bootstrapped-persistence"]
    files = orjson.loads(folder.stdout)["summary"]["files"]
    read = sorted(Path(f["path"]).name for f in files if "notALog" not in f)
    assert read == ["directoryAudits.jsonl", "signIns.jsonl"]
    skipped = {Path(f["path"]).name: f["notALog"] for f in files if "notALog" in f}
    assert skipped["authenticationMethods.jsonl"] == "a tenant snapshot's authenticationMethods"
    assert "users.json" in skipped and "manifest.json" in skipped
    assert "not audit or sign-in logs: " in folder.stderr
    every_file = sorted(str(p) for p in out.iterdir())  # what a shell glob export/* passes
    assert critical(run_cli("detect", *every_file, "--format", "json")) == ["tap-bootstrapped-persistence"]


def test_a_users_file_is_refused_in_one_line(tmp_path: Path) -> None:
    state, out = tmp_path / "range", tmp_path / "export"
    graphlattice("range", "start", "tap-persistence", "--state", str(state))
    graphlattice("range", "export", str(out), "--state", str(state))
    for users in (out / "users.json", tmp_path / "people.json"):  # by name, and by content
        if users.name == "people.json":
            users.write_bytes((out / "users.json").read_bytes())
        proc = run_cli("detect", str(users))
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 3 and len(lines) == 1, proc.stderr
        assert "not an audit or sign-in log" in lines[0] and "user" in lines[0]
        assert "Traceback" not in proc.stderr
