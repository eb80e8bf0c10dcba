"""The Range's logs after the attacker's timeline of ``tap-persistence``: detect names the issuing operator
and both rogue registrations (the Range writes the records the real service would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
