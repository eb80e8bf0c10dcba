"""Exit codes a CI pipeline can trust, from the real command line in a subprocess."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.checks.builder import apply_patch, base_document, write_snapshot
from tests.test_cli import one_line_error, run


def test_an_empty_folder_is_unusable_input(tmp_path: Path) -> None:
    proc = run("assess", str(tmp_path))
    assert proc.returncode == 3, proc.stderr
    assert (
        one_line_error(proc)
        == f"error: no Graph collection files in {tmp_path} — is this the snapshot folder?"
    )
    assert proc.stdout == ""


def test_the_parent_of_a_snapshot_is_unusable_input(tmp_path: Path) -> None:
    write_snapshot(base_document(), tmp_path / "contoso")
    for fmt in ("json", "sarif"):
        proc = run("assess", str(tmp_path), "--format", fmt, "--fail-on", "high")
        assert proc.returncode == 3, proc.stderr
        assert "is this the snapshot folder?" in one_line_error(proc) and proc.stdout == ""


def test_fail_on_unknown_fails_a_permission_regression(tmp_path: Path) -> None:
    clean = write_snapshot(base_document(), tmp_path / "clean")
    assert run("assess", str(clean), "--fail-on-unknown").returncode == 0
    lost = write_snapshot(
        apply_patch(base_document(), {"error": {"authenticationMethodsPolicy": "403 Forbidden"}}),
        tmp_path / "lost",
    )
    plain = run("assess", str(lost), "--format", "json")
    assert plain.returncode == 0  # without the flag an UNKNOWN does not fail the run ...
    unknown = [f for f in orjson.loads(plain.stdout)["findings"] if f["status"] == "UNKNOWN"]
    assert unknown and all(f["cause"] == "permission" for f in unknown)
    proc = run("assess", str(lost), "--format", "json", "--fail-on-unknown")
    assert proc.returncode == 1  # ... with it, it does, and says which
    assert "UNKNOWN" in proc.stderr and "--fail-on-unknown" in proc.stderr
    assert orjson.loads(proc.stdout)["findings"]  # the report is still written in full


def test_fail_on_unknown_ignores_a_waived_finding(tmp_path: Path) -> None:
    lost = write_snapshot(
        apply_patch(base_document(), {"error": {"conditionalAccessPolicies": "403 Forbidden"}}),
        tmp_path / "s",
    )
    doc = orjson.loads(run("assess", str(lost), "--format", "json").stdout)
    risks = sorted({f["risk"] for f in doc["findings"] if f["status"] == "UNKNOWN"})
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        + "".join(
            f"  - {{risk: {r}, rationale: licence on order, owner: dana@contoso.com, expires: 2099-01-01}}\n"
            for r in risks
        )
    )
    assert run("assess", str(lost), "--fail-on-unknown", "--waivers", str(waivers)).returncode == 0
