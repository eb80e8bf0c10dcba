"""The real command line, run as a subprocess: outputs, exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.checks.builder import apply_patch, base_document, write_snapshot


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    patch = {
        "merge": {
            "authenticationMethodsPolicy": {
                "authenticationMethodConfigurations": [
                    {"id": "TemporaryAccessPass", "isUsableOnce": False, "maximumLifetimeInMinutes": 43200}
                ]
            }
        }
    }
    return write_snapshot(apply_patch(base_document(), patch), tmp_path_factory.mktemp("cli") / "snap")


def test_json_goes_to_stdout_alone(snapshot: Path) -> None:
    proc = run("assess", str(snapshot), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = orjson.loads(proc.stdout)
    assert doc["tenant"]["tenantId"] == "11111111-2222-3333-4444-555555555555"
    by_risk = {f["risk"]: f["status"] for f in doc["findings"] if not f.get("variant")}
    assert by_risk["tap-policy-weak"] == "FAIL"
    assert by_risk["mfa-registration-gate"] == "PASS"


def test_sarif_to_stdout(snapshot: Path) -> None:
    proc = run("assess", str(snapshot), "--format", "sarif")
    assert proc.returncode == 0, proc.stderr
    doc = orjson.loads(proc.stdout)
    assert doc["version"] == "2.1.0"
    assert any(r["ruleId"] == "tap-policy-weak" for r in doc["runs"][0]["results"])


def test_fail_on_sets_exit_code(snapshot: Path) -> None:
    assert run("assess", str(snapshot), "--format", "json", "--fail-on", "high").returncode == 1
    assert run("assess", str(snapshot), "--format", "json", "--fail-on", "critical").returncode == 0


def test_waiver_lifts_fail_on(snapshot: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "- risk: tap-policy-weak\n  rationale: onboarding wave\n  owner: dana\n  expires: 2099-01-01\n",
        encoding="utf-8",
    )
    proc = run("assess", str(snapshot), "--format", "json", "--fail-on", "high", "--waivers", str(waivers))
    assert proc.returncode == 0, proc.stderr
    finding = next(f for f in orjson.loads(proc.stdout)["findings"] if f["risk"] == "tap-policy-weak")
    assert finding["status"] == "FAIL" and finding["waiver"]["state"] == "active"


def test_expired_waiver_is_reported_and_not_applied(snapshot: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n- risk: tap-policy-weak\n  rationale: old\n  owner: dana\n  expires: 2020-01-01\n",
        encoding="utf-8",
    )
    proc = run("assess", str(snapshot), "--format", "json", "--fail-on", "high", "--waivers", str(waivers))
    assert proc.returncode == 1
    finding = next(f for f in orjson.loads(proc.stdout)["findings"] if f["risk"] == "tap-policy-weak")
    assert finding["waiver"]["state"] == "expired"


def test_output_file_and_html(snapshot: Path, tmp_path: Path) -> None:
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    proc = run("assess", str(snapshot), "--format", "json", "--output", str(out), "--html", str(html))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert orjson.loads(out.read_bytes())["findings"]
    assert "<html" in html.read_text(encoding="utf-8").lower()


def test_table_default(snapshot: Path) -> None:
    proc = run("assess", str(snapshot))
    assert proc.returncode == 0, proc.stderr
    assert "tap-policy-weak" in proc.stdout


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("assess",), 2, "either a SNAPSHOT"),
        (("assess", "/nonexistent/snap"), 3, "not a directory"),
        (("assess", "--demo", "--format", "xml"), 2, "xml"),
        (("risks", "show", "tap-policy-wek"), 2, "did you mean 'tap-policy-weak'"),
        (("demo", "generate", "/tmp/never", "--users", "10"), 2, "between 50 and 200000"),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], code: int, text: str) -> None:
    proc = run(*args)
    assert proc.returncode == code
    assert text in one_line_error(proc)


def test_bad_snapshot_file_names_file_and_keeps_existing_report(snapshot: Path, tmp_path: Path) -> None:
    broken = write_snapshot(base_document(), tmp_path / "broken")
    (broken / "authenticationMethods.jsonl").write_text(
        '{"userId": "x", "value": []}\n{oops\n', encoding="utf-8"
    )
    report = tmp_path / "report.json"
    report.write_text("previous report", encoding="utf-8")
    proc = run("assess", str(broken), "--format", "json", "--output", str(report))
    assert proc.returncode == 3
    assert "authenticationMethods.jsonl:2" in one_line_error(proc)
    assert report.read_text(encoding="utf-8") == "previous report"


def test_bad_waivers_file_points_at_line(snapshot: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "w.yaml"
    waivers.write_text("- risk: tap-policy-weak\n  owner: dana\n  expires: 2099-01-01\n", encoding="utf-8")
    proc = run("assess", str(snapshot), "--waivers", str(waivers))
    assert proc.returncode == 3
    assert "w.yaml:1: waiver needs 'rationale'" in one_line_error(proc)


def test_unknown_collection_makes_risks_unknown_with_permission(tmp_path: Path) -> None:
    snap = write_snapshot(
        apply_patch(base_document(), {"error": {"authenticationMethodsPolicy": "403 Forbidden"}}),
        tmp_path / "s",
    )
    proc = run("assess", str(snap), "--format", "json", "--risk", "tap-policy-weak")
    finding = orjson.loads(proc.stdout)["findings"][0]
    assert finding["status"] == "UNKNOWN"
    assert finding["grant"] == ["Policy.Read.AuthenticationMethod"]


def test_risks_list_and_show() -> None:
    listing = run("risks")
    assert listing.returncode == 0
    assert "tap-issuers-standing-access" in listing.stdout
    shown = run("risks", "show", "tap-policy-weak", "--raw")
    assert shown.returncode == 0
    for section in ("Why it matters", "What abuse looks like", "Safe remediation steps"):
        assert section in shown.stdout


def test_reports_do_not_depend_on_hash_order(tmp_path: Path) -> None:
    from graphlattice.demo import generate_demo

    snap = generate_demo(tmp_path / "demo", users=200, seed=3).out_dir
    outputs = set()
    for hash_seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-m", "graphlattice", "assess", str(snap), "--format", "json"],
            capture_output=True,
            timeout=300,
            env={**__import__("os").environ, "PYTHONHASHSEED": hash_seed},
        )
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1
