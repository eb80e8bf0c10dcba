"""The Range's terminal output at 80 columns: nothing longer than the line, no name, address or id cut in two;
the action catalogue complete; hints that can be read again without paying twice."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.range.actions import ACTIONS
from graphlattice.range.engine import Range
from graphlattice.range.verify import verify

DOMAIN = "northwind-traders.example"
IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
UPN = re.compile(r"[\w.-]+@[\w-]+(?:\.[\w-]+)+")


def run(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "graphlattice", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": str(columns)},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc


def assert_fits(text: str, tokens: set[str], width: int = 80) -> None:
    """No line wider than ``width``; every token whole on one line."""
    lines = text.splitlines()
    assert lines, "no output"
    too_long = [line for line in lines if len(line) > width]
    assert too_long == []
    cut = [token for token in tokens if not any(token in line for line in lines)]
    assert cut == [], f"cut or missing: {cut}"


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tap-persistence after the learner's first, obvious move (so the log has admin and failure records)."""
    folder = tmp_path_factory.mktemp("narrow") / "range"
    run("range", "start", "tap-persistence", "--state", str(folder))
    run("range", "act", "reset-password", "user=mia.hoffmann", "--state", str(folder))
    return folder


def _short(upn: str) -> str:
    return upn[: -len(DOMAIN) - 1] if upn.endswith("@" + DOMAIN) else upn


def _log_tokens(logs: dict[str, list[dict[str, Any]]]) -> set[str]:
    tokens: set[str] = set()
    for record in logs["signIns"]:
        tokens.add(str(record["ipAddress"]))
        tokens.add(_short(str(record["userPrincipalName"])))
    for record in logs["directoryAudits"]:
        user = (record.get("initiatedBy") or {}).get("user") or {}
        if user.get("ipAddress"):
            tokens.add(str(user["ipAddress"]))
        if user.get("userPrincipalName"):
            tokens.add(_short(str(user["userPrincipalName"])))
        for target in record.get("targetResources") or []:
            if target.get("userPrincipalName"):
                tokens.add(_short(str(target["userPrincipalName"])))
    return tokens


def test_log_fits_80_columns_without_cutting_addresses_or_names(played: Path) -> None:
    logs = orjson.loads(run("range", "log", "--format", "json", "--state", str(played)).stdout)
    tokens = _log_tokens(logs)
    assert {"198.51.100.77", "192.0.2.201", "lukas.brandt", "mia.hoffmann"} <= tokens
    text = run("range", "log", "--state", str(played)).stdout
    assert_fits(text, tokens)
    records = len(logs["signIns"]) + len(logs["directoryAudits"])
    assert f"{records} records" in text
    for record in logs["directoryAudits"]:
        assert str(record["activityDisplayName"]).split()[0] in text


def test_verify_fits_80_columns(played: Path) -> None:
    verdict = verify(Range.open(played))  # the evidence lines are not in --format json
    source = " ".join(
        [line for f in verdict.footholds for line in f.evidence] + [r.detail for r in verdict.root_cause]
    )
    tokens = set(IP.findall(source)) | set(UPN.findall(source))
    tokens |= {f.id for f in verdict.footholds} | {r.id for r in verdict.root_cause}
    assert "192.0.2.201" in tokens and f"mia.hoffmann@{DOMAIN}" in tokens
    text = run("range", "verify", "--state", str(played)).stdout
    assert_fits(text, tokens)
    assert "ATTACKER STILL IN" in text and "Score:" in text


def test_status_fits_80_columns_with_method_ids(played: Path) -> None:
    rng = Range.open(played)
    state = rng.peek()
    mia = state.user_id(f"mia.hoffmann@{DOMAIN}")
    ids = {str(m["id"]) for m in state.methods_of(mia)}
    ids |= {str(m["createdDateTime"])[:16] for m in state.methods_of(mia) if m.get("createdDateTime")}
    assert len(ids) >= 8
    text = run("range", "status", "--user", "mia.hoffmann", "--state", str(played)).stdout
    assert_fits(text, ids | {"priya.raman", "lukas.brandt", "emergency-access-01"})


def test_act_list_shows_every_parameter_and_fits() -> None:
    text = run("range", "act", "--list").stdout
    tokens: set[str] = set()
    for spec in ACTIONS.values():
        tokens.add(spec.name)
        for param in spec.params:
            shown = f"{param.name}={'CHOICE' if param.choices else param.type.upper()}"
            tokens.add(shown if param.required else f"[{shown}]")
            tokens.update(param.choices)
    assert_fits(text, tokens)
    issue = text[text.index("\nissue-tap:") : text.index("\nregister-method:")]
    assert "  user=STR" in issue and "[lifetime_minutes=INT]" in issue and "[usable_once=BOOL]" in issue


def test_act_list_as_json() -> None:
    doc = orjson.loads(run("range", "act", "--list", "--format", "json").stdout)
    listed = {action["name"]: action for action in doc["actions"]}
    assert set(listed) == set(ACTIONS)
    for name, spec in ACTIONS.items():
        assert [p["name"] for p in listed[name]["params"]] == [p.name for p in spec.params]
        assert [p["required"] for p in listed[name]["params"]] == [p.required for p in spec.params]
    sign_in = {p["name"]: p for p in listed["sign-in"]["params"]}
    assert sign_in["method"]["required"] and "tap" in sign_in["method"]["choices"]
    assert listed["sign-in"]["actor"] == "none"


def test_hints_bought_once_can_be_read_again(tmp_path: Path) -> None:
    folder = str(tmp_path / "r")
    run("range", "start", "tap-persistence", "--state", folder)
    nothing = run("range", "hint", "--list", "--state", folder)
    assert nothing.stdout == "" and "0 of 4 hints taken" in nothing.stderr
    first = run("range", "hint", "--state", folder).stdout
    assert "Hint 1 of 4 (costs 5 points)" in first
    text_of_first = first.split("\n", 1)[1].split()[:6]
    for _ in range(2):  # re-reading is free, as often as wanted
        again = run("range", "hint", "--list", "--state", folder)
        assert "Hint 1 of 4 (taken earlier" in again.stdout and "Hint 2" not in again.stdout
        assert " ".join(text_of_first) in " ".join(again.stdout.split())
    assert "hints taken: 1 of 4 (5 points)" in run("range", "status", "--state", folder, columns=200).stdout
    second = run("range", "hint", "--state", folder).stdout
    assert second.index("Hint 1 of 4 (taken earlier") < second.index("Hint 2 of 4 (costs 10 points)")
    assert "hints taken: 2 of 4 (15 points)" in run("range", "status", "--state", folder, columns=200).stdout
