"""``graphlattice rules list | validate | export`` as a user runs them: files, stdout, exit codes, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from graphlattice.detect.pack import RULES_DIR
from tests.detect.test_community import SIGMAHQ


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", "rules", *args], capture_output=True, text=True, timeout=300
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_export_writes_one_file_per_rule(tmp_path: Path) -> None:
    out = tmp_path / "kql"
    proc = run("export", "--to", "kusto", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 8 and "tap-bootstrapped-persistence.kql" in files
    assert "wrote 8 kusto queries" in proc.stderr
    assert (
        (out / "strong-auth-disabled.kql")
        .read_text(encoding="utf-8")
        .startswith("// MFA disabled for a user")
    )


def test_export_one_rule_to_stdout() -> None:
    proc = run(
        "export", "--to", "sentinel", "--rule", "tap-bootstrapped-persistence", "--timezone", "Europe/Paris"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("// Temporary Access Pass bootstrapped persistent MFA")
    assert "| join kind=inner _step2 on _g0" in proc.stdout
    assert proc.stderr == ""


def test_export_says_what_it_could_not_export(tmp_path: Path) -> None:
    proc = run("export", "--to", "elasticsearch", "--output", str(tmp_path / "es"))
    assert proc.returncode == 0, proc.stderr
    assert "not exported: tap-issued-without-ticket: it depends on has_ticket" in proc.stderr
    assert len(list((tmp_path / "es").glob("*.json"))) == 4
    # stdout with - is NDJSON the Elastic rule import reads
    ndjson = run("export", "--to", "elasticsearch").stdout.splitlines()
    assert len(ndjson) == 4 and all(json.loads(line)["rule_id"] for line in ndjson)


def test_export_of_a_rule_the_backend_cannot_express_fails() -> None:
    proc = run("export", "--to", "splunk", "--rule", "tap-issued-without-ticket")
    assert proc.returncode == 2
    assert "no rule could be exported to splunk" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_backend_is_one_line_with_the_closest_match() -> None:
    proc = run("export", "--to", "splunkk")
    assert proc.returncode == 2
    assert one_line_error(proc) == (
        "error: unknown backend 'splunkk' (choose from kusto, splunk, databricks, elasticsearch); "
        "did you mean 'splunk'?"
    )


def test_unknown_rule_is_one_line() -> None:
    proc = run("export", "--to", "kusto", "--rule", "tap-issued-outside-hour")
    assert proc.returncode == 2
    assert "did you mean 'tap-issued-outside-hours'?" in one_line_error(proc)


def test_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    proc = run("export", "--to", "databricks", "--output", str(target))
    assert proc.returncode == 2 and "must be a folder" in one_line_error(proc)


@pytest.mark.skipif(not SIGMAHQ.is_dir(), reason=f"SigmaHQ test data not found in {SIGMAHQ}")
def test_export_of_community_rules(tmp_path: Path) -> None:
    proc = run("export", "--to", "kusto", "--community", str(SIGMAHQ), "--output", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    tap = tmp_path / "out" / "fa84aaf5-8142-43cd-9ec2-78cfebf878ce.kql"
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert len(names) > 8 + 40  # the pack and the community rules that map onto the canonical fields
    assert 'OperationName =~ "Admin registered security info"' in tap.read_text(encoding="utf-8")
    assert "not exported: azure_app_end_user_consent.yml" in proc.stderr


def test_list_and_json() -> None:
    proc = run("list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rules = {r["id"]: r for r in orjson.loads(proc.stdout)["rules"]}
    assert rules["tap-bootstrapped-persistence"]["steps"] == [
        "tap-issued-by-admin",
        "tap-signin-from-new-place",
        "strong-method-registered",
    ]
    assert rules["tap-bootstrapped-persistence"]["level"] == "critical"
    table = run("list")
    assert table.returncode == 0 and "tap-issuer-role-activated-without-approval" in table.stdout


def test_validate_the_pack() -> None:
    proc = run("validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "13 rule(s) in 8 file(s): no problems" in proc.stderr


def test_validate_reports_every_problem_as_file_and_line(tmp_path: Path) -> None:
    shutil.copy(RULES_DIR / "strong-auth-disabled.yaml", tmp_path / "typo.yaml")
    text = (tmp_path / "typo.yaml").read_text(encoding="utf-8")
    (tmp_path / "typo.yaml").write_text(
        text.replace("    activity: Disable Strong", "    activty: Disable Strong")
    )
    (tmp_path / "broken.yaml").write_text("title: x\n  detection: [\n", encoding="utf-8")
    (tmp_path / "good.yaml").write_text(
        (RULES_DIR / "tap-issued-outside-hours.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    proc = run("validate", str(tmp_path))
    assert proc.returncode == 3
    lines = proc.stdout.splitlines()
    typo_line = next(
        n for n, line in enumerate(text.splitlines(), start=1) if "activity: Disable Strong" in line
    )
    assert (
        f"{tmp_path / 'typo.yaml'}:{typo_line}: rule 'strong-auth-disabled': unknown field 'activty'"
        in lines[1]
    )
    assert lines[0].startswith(f"{tmp_path / 'broken.yaml'}:2: not valid YAML")
    assert len(lines) == 2
    assert "2 problem(s) in 3 file(s)" in proc.stderr


def test_validate_a_missing_path_is_one_line() -> None:
    proc = run("validate", "no/such/rules")
    assert proc.returncode == 2 and "no such rule file or folder" in one_line_error(proc)
