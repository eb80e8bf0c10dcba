"""The collect command's one-line errors, its permission list, and secrets kept out of its output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.collect.conftest import DEFENDER, ENV, MISSING, PARTIAL_APP, RangeDir, Served, cli

SECRET = "s3cr3t-t0ken-value"


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("collect",), 2, "--out DIR is required"),
        (("collect", "--out", "x"), 2, "say how to sign in"),
        (("collect", "--out", "x", "--base-url", "http://127.0.0.1:9"), 2, "--token-command"),
        (("collect", "--out", "x", "--token", SECRET, "--device-code"), 2, "choose one way"),
        (
            ("collect", "--out", "x", "--tenant", "t", "--client-secret-env", "GL_TEST_UNSET_VAR"),
            2,
            "--client-id",
        ),
        (
            (
                "collect",
                "--out",
                "x",
                "--tenant",
                "t",
                "--client-id",
                "c",
                "--client-secret-env",
                "GL_TEST_UNSET_VAR",
            ),
            2,
            "GL_TEST_UNSET_VAR is not set",
        ),
        (("collect", "--out", "x", "--device-code"), 2, "--tenant is required"),
        (("collect", "--out", "x", "--token", SECRET, "--collected-at", "yesterday"), 2, "ISO 8601"),
        (("collect", "--out", "x", "--token", SECRET, "--resume", "--force"), 2, "contradict"),
        (("collect", "--out", "x", "--base-url", "ftp://host", "--token", SECRET), 2, "http(s) URL"),
        (("assess", "--live", "--demo"), 2, "either a SNAPSHOT"),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], code: int, text: str) -> None:
    done = cli(*args, check=False)
    assert done.returncode == code, done.stderr
    assert text in done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr + done.stdout


def test_an_unreachable_endpoint_stops_the_run_with_a_way_to_resume(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "snap"
    done = cli(
        "collect", "--base-url", "http://127.0.0.1:9", "--token", SECRET, "--out", str(out), check=False
    )
    assert done.returncode == 5, done.stderr
    assert "--resume" in done.stderr and "Traceback" not in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert (out / ".collect-state.json").exists() and not (out / "manifest.json").exists()
    assert SECRET not in (out / ".collect-state.json").read_text()


def test_a_refused_token_is_one_line_without_the_token(served_scenario: Served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = cli(
        "collect",
        "--base-url",
        served_scenario.url,
        "--token",
        SECRET,
        "--out",
        str(tmp_path / "s"),
        check=False,
    )
    assert done.returncode == 5
    assert "refused the token" in done.stderr and SECRET not in done.stderr + done.stdout


def test_the_permission_list_is_read_only_and_names_every_collection() -> None:
    doc = json.loads(cli("collect", "--permissions", "--format", "json").stdout)
    collections = {row["collection"] for row in doc["collections"]}
    assert "authenticationMethods" in collections and "signIns" in collections and len(collections) == 17
    names = [p["permission"] for p in doc["permissions"]]
    assert "UserAuthenticationMethod.Read.All" in names and not any("Write" in n for n in names)
    table = cli("collect", "--permissions").stdout
    assert "UserAuthenticationMethod.Read.All" in table and "38d9df27-64da-44fd-b7c5-a6fbac20248f" in table


def test_assess_live_collects_then_assesses(scenario_range: RangeDir, served_scenario: Served) -> None:
    token = scenario_range.token(upn="noor.haddad@northwind-traders.example")
    done = cli(
        "assess",
        "--live",
        "--base-url",
        served_scenario.url,
        "--token",
        token,
        "--collected-at",
        scenario_range.clock,
        "--format",
        "json",
    )
    doc = json.loads(done.stdout)
    assert doc["tenant"]["source"] == "graph" and doc["tenant"]["users"] == 9
    assert "17 of 17 collections read" in done.stderr


# ---- progress in a log, and an exit code for collections that failed ---------------------------------------


def test_progress_off_a_terminal_is_plain_lines_with_a_heartbeat(
    scenario_range: RangeDir, served_scenario: Served, tmp_path: Path
) -> None:
    """stderr is a pipe here, as in a CI job: a line per collection started and finished, and heartbeats."""
    from graphlattice.collect.plan import PLAN
    from graphlattice.collect.progress import HEARTBEAT_SECONDS

    assert HEARTBEAT_SECONDS <= 30
    token = scenario_range.token(upn=DEFENDER)
    out = str(tmp_path / "snap")
    command = ["collect", "--base-url", served_scenario.url, "--token", token, "--out", out]
    done = subprocess.run(
        [sys.executable, "-m", "graphlattice", *command, "--collected-at", scenario_range.clock],
        capture_output=True,
        text=True,
        timeout=300,
        env={**ENV, "GRAPHLATTICE_HEARTBEAT_SECONDS": "0.05"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    stamped = [line for line in lines if re.match(r"^\[\d\d:\d\d\] ", line)]
    for plan in PLAN:
        assert any(
            line.endswith(f"] {plan.name}: started") or f"] {plan.name}: started (" in line
            for line in stamped
        ), plan.name
        assert any(f"] {plan.name}: done, " in line for line in stamped), plan.name
    beats = [line for line in stamped if "] still collecting: " in line]
    assert beats and all("collections finished" in line for line in beats)
    assert not any("\x1b[" in line for line in lines)  # no terminal control codes in a log
    assert "17 of 17 collections read" in done.stderr and token not in done.stderr


def test_fail_on_error_exits_4_and_names_what_was_not_collected(
    apps_range: RangeDir, served_apps: Served, tmp_path: Path
) -> None:
    token = apps_range.token(app=PARTIAL_APP)
    args = ["collect", "--base-url", served_apps.url, "--token", token, "--collected-at", apps_range.clock]
    plain = cli(*args, "--out", str(tmp_path / "a"), check=False)
    assert plain.returncode == 0  # without the flag the run succeeds: the snapshot says what is missing
    assert "not collected: authenticationMethods:" in plain.stderr and MISSING in plain.stderr
    failing = cli(*args, "--out", str(tmp_path / "b"), "--fail-on-error", check=False)
    assert failing.returncode == 4, failing.stderr
    assert "16 of 17 collections read" in failing.stderr
    assert "not collected: authenticationMethods:" in failing.stderr and f"grant {MISSING}" in failing.stderr
    assert "1 collection(s) could not be read (authenticationMethods)" in failing.stderr
    assert (tmp_path / "b" / "manifest.json").exists()  # nothing already written is lost
