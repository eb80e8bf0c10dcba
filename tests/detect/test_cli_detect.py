"""``graphlattice detect`` as a user runs it: outputs, exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from graphlattice.demo import DemoSummary


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", "detect", *args], capture_output=True, text=True, timeout=300
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_json_alone_on_stdout_and_exit_zero(demo_logs: list[Path]) -> None:
    proc = run(*map(str, demo_logs), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = orjson.loads(proc.stdout)
    critical = [i for i in doc["incidents"] if i["level"] == "critical"]
    assert [i["rule"] for i in critical] == ["tap-bootstrapped-persistence"]
    assert critical[0]["principals"]["issuer"]["displayName"] == "Jordan Pike"
    assert "note:" in proc.stderr  # the run summary goes to stderr as well


def test_fail_on(demo_logs: list[Path]) -> None:
    assert run(*map(str, demo_logs), "--fail-on", "critical", "--format", "json").returncode == 1
    proc = run(*map(str, demo_logs), "--fail-on", "high")
    assert proc.returncode == 1 and "failing as asked" in proc.stderr


def test_table_shows_the_plan(demo_logs: list[Path]) -> None:
    proc = run(*map(str, demo_logs), "--timezone", "Europe/Amsterdam", "--working-hours", "08:00-18:00")
    assert proc.returncode == 0, proc.stderr
    assert "tap-bootstrapped-persistence" in proc.stdout
    assert "revokeSignInSessions" in proc.stdout
    assert "password reset does not help" in proc.stdout


def test_html(demo_logs: list[Path]) -> None:
    proc = run(*map(str, demo_logs), "--format", "html")
    assert proc.returncode == 0
    assert proc.stdout.startswith("<!DOCTYPE html>") and "Elena Marsh" in proc.stdout


def test_snapshot_tickets_db_and_parquet(demo: DemoSummary, demo_logs: list[Path], tmp_path: Path) -> None:
    tickets = tmp_path / "tickets.csv"
    tickets.write_text("ticket,user,time\nREQ0041733,mila.jansen@contoso-demo.example,2026-11-11T09:30:00Z\n")
    db, parquet = tmp_path / "store.duckdb", tmp_path / "parquet"
    args = [
        *map(str, demo_logs),
        "--format",
        "json",
        "--snapshot",
        str(demo.out_dir),
        "--tickets",
        str(tickets),
    ]
    first = run(*args, "--db", str(db), "--parquet", str(parquet))
    assert first.returncode == 0, first.stderr
    summary = orjson.loads(first.stdout)["summary"]
    assert summary["privilegedUsers"]["source"].startswith("tenant snapshot")
    rules = {r["rule"]: r for r in summary["rules"]}
    # Two passes lack a ticket: the attack's, and this morning's for the new joiner (not in the file).
    assert rules["tap-issued-without-ticket"]["active"] is True
    assert rules["tap-issued-without-ticket"]["incidents"] == 2
    assert sorted(p.name for p in parquet.iterdir()) == ["audit_events.parquet", "signin_events.parquet"]
    second = run(*args, "--db", str(db))
    files = orjson.loads(second.stdout)["summary"]["files"]
    assert [f["new"] for f in files] == [0, 0]


def test_bad_input_is_one_line(demo_logs: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "signIns.jsonl"
    lines = demo_logs[1].read_bytes().splitlines()[:5]
    bad.write_bytes(b"\n".join(lines[:3]) + b"\n" + lines[3][:100])
    proc = run(str(demo_logs[0]), str(bad))
    assert proc.returncode == 3
    assert f"{bad}:4: truncated record" in one_line_error(proc)
    skipped = run(str(bad), "--skip-bad-lines", "--format", "json")
    assert skipped.returncode == 0, skipped.stderr
    assert orjson.loads(skipped.stdout)["summary"]["files"][0]["skippedLines"] == 1
    assert run(str(demo_logs[0]), "--timezone", "Mars/Olympus").returncode == 2
    assert "unknown time zone" in one_line_error(run(str(demo_logs[0]), "--timezone", "Mars/Olympus"))
    assert "--working-hours" in one_line_error(run(str(demo_logs[0]), "--working-hours", "9-5"))
    assert "--since" in one_line_error(run(str(demo_logs[0]), "--since", "last tuesday"))
