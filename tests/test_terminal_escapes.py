"""Untrusted text never reaches a terminal raw: every command, in a fresh process, over hostile names.

A Range is started from a scenario whose victim's display name clears the screen and retitles the window,
whose attacker's device name is an OSC 8 link to another site with a C1 CSI, whose operator's name hides a
zero-width space, and whose title conceals text; a Conditional Access policy named with an escape and a
right-to-left override is created through ``range act``. The same names then travel everywhere: ``range
status / log / verify``, the exported snapshot into ``assess``, its logs into ``detect``, the incident into
``respond``'s plan, error text from a Graph endpoint into ``collect``, a bad id into ``risks show``.

Every byte these commands print to stdout and stderr is checked: no ESC, BEL, C1 control, bidirectional
control or zero-width character, while the text stays recognisable in its escaped form (``\\u001b[2J``).
JSON keeps the original text (JSON-encoded).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.collect.conftest import serve
from tests.collect.hostile import graph_error, hostile_graph

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "src" / "graphlattice" / "range" / "scenarios" / "tap-persistence.yaml"
ENV = {**os.environ, "COLUMNS": "100", "PYTHONHASHSEED": "0"}

VICTIM = "Mia\x1b[2J\x1b]0;owned\x07 Hoffmann\u202e"
DEVICE = "iPhone\x1b]8;;https://evil.example/\x1b\\ 15 Pro\x9b2J"
OPERATOR = "Lukas\u200b Brandt"
POLICY = "Gate\x1b[2J\u202e"
# what the YAML says, in its double-quoted escapes
YAML_NAMES = {
    "name: Mia Hoffmann": r'name: "Mia\e[2J\e]0;owned\a Hoffmann\u202e"',
    "device_name: iPhone 15 Pro": r'device_name: "iPhone\e]8;;https://evil.example/\e\\ 15 Pro\x9b2J"',
    "name: Lukas Brandt": r'name: "Lukas\u200b Brandt"',
    "title: A Temporary Access Pass becomes the attacker's permanent MFA": (
        r'title: "A pass\e[8m hidden\e[0m"'
    ),
}

FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SHOWN = {  # how each hostile name reads on a terminal
    "victim": "Mia\\u001b[2J",
    "device": "iPhone\\u001b]8;;https://evil.example/\\u001b\\ 15 Pro\\u009b2J",
    "operator": "Lukas\\u200b Brandt",
    "policy": "Gate\\u001b[2J\\u202e",
    "title": "A pass\\u001b[8m hidden\\u001b[0m",
}


def run(
    *args: str | Path,
    token: str | None = None,
    check: bool = True,
    columns: int = 100,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**ENV, "COLUMNS": str(columns)}
    if token:
        env["GRAPHLATTICE_TOKEN"] = token
    done = subprocess.run(
        [sys.executable, "-m", "graphlattice", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=300,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"graphlattice {args} exited {done.returncode}:\n{done.stderr}")
    return done


def assert_clean(name: str, done: subprocess.CompletedProcess[str], *shown: str) -> None:
    for stream, text in (("stdout", done.stdout), ("stderr", done.stderr)):
        found = FORBIDDEN.search(text)
        assert found is None, f"{name} {stream}: U+{ord(found.group(0)):04X} in {text[:2000]!r}"
    printed = done.stdout + done.stderr
    flat = " ".join(printed.split())  # a wrapped table cell still reads as one text
    for key in shown:
        assert SHOWN[key] in printed or SHOWN[key] in flat, f"{name}: {SHOWN[key]!r} not shown in {printed}"


def strings(doc: Any) -> str:
    """Every string of a JSON document, decoded, one per line."""
    if isinstance(doc, dict):
        return "\n".join(strings(v) for v in [*doc.keys(), *doc.values()])
    if isinstance(doc, list):
        return "\n".join(strings(v) for v in doc)
    return doc if isinstance(doc, str) else ""


@pytest.fixture(scope="module")
def hostile_range(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hostile")
    text = SCENARIO.read_text(encoding="utf-8")
    for plain, hostile in YAML_NAMES.items():
        assert plain in text, plain
        text = text.replace(plain, hostile)
    scenario = root / "hostile.yaml"
    scenario.write_text(text, encoding="utf-8")
    state = root / "state"
    outputs = {"range start": run("range", "start", scenario, "--state", state)}
    outputs["range act"] = run(
        "range", "act", "create-ca-policy", "template=registration-gate", f"name={POLICY}", "--state", state
    )
    export = root / "export"
    run("range", "export", export, "--state", state)
    return {"root": root, "state": state, "export": export, "outputs": outputs}


def test_range_commands_show_hostile_names_escaped(hostile_range: dict[str, Any]) -> None:
    state = hostile_range["state"]
    outputs = hostile_range["outputs"]
    assert_clean("range start", outputs["range start"], "title")
    assert_clean("range act", outputs["range act"])
    status = run("range", "status", "--state", state, "--user", "mia.hoffmann")
    assert_clean("range status", status, "title", "victim", "operator", "device")
    assert_clean("range log", run("range", "log", "--state", state), "device", "policy")
    assert_clean("range verify", run("range", "verify", "--state", state))
    # the Range's own JSON keeps the names as they are
    log = json.loads(run("range", "log", "--state", state, "--format", "json").stdout)
    assert POLICY in strings(log)


def test_assess_escapes_the_snapshot_and_json_keeps_it(hostile_range: dict[str, Any]) -> None:
    export = hostile_range["export"]
    assert_clean("assess", run("assess", export))
    # wide enough for the summary that names the policy to show whole
    assert_clean("assess", run("assess", export, "--risk", "mfa-registration-gate", columns=250), "policy")
    doc = json.loads(run("assess", export, "--format", "json").stdout)
    assert POLICY in strings(doc)


def test_detect_and_respond_escape_log_fields(hostile_range: dict[str, Any]) -> None:
    export, state, root = hostile_range["export"], hostile_range["state"], hostile_range["root"]
    logs = [export / "directoryAudits.jsonl", export / "signIns.jsonl", "--snapshot", export]
    assert_clean("detect", run("detect", *logs), "victim", "operator", "device")
    incidents = run("detect", *logs, "--format", "json")
    doc = json.loads(incidents.stdout)
    text = strings(doc)
    assert VICTIM in text and DEVICE in text and OPERATOR in text  # JSON keeps the original text
    # respond takes the incident as detect wrote it: a hostile device name cannot block containment
    path = root / "incidents.json"
    path.write_text(incidents.stdout, encoding="utf-8")
    token = run("range", "token", "--as", "noor.haddad", "--state", state).stdout.strip().splitlines()[-1]
    with serve(state) as served:
        done = run(
            "respond",
            path,
            "--rule",
            "tap-bootstrapped-persistence",
            "--base-url",
            served.url,
            token=token,
            check=False,
        )
    assert done.returncode == 0, done.stderr  # the dry run: the plan, the planted device matched by its name
    assert_clean("respond", done, "victim", "operator", "device")


def test_risks_show_and_collect_escape_what_they_are_given(tmp_path: Path) -> None:
    shown = run("risks", "show", "\x1b[2Jno-such-risk\u202e", check=False)
    assert shown.returncode != 0
    assert_clean("risks show", shown)
    assert "no-such-risk" in shown.stderr
    # a Graph endpoint's error text, quoted in the collect summary and the progress lines
    hostile = graph_error(403, "Authorization_RequestDenied", "Denied\x1b[2J\x1b]0;owned\x07\u202e.")
    with hostile_graph({"/users": hostile}) as graph:
        out = tmp_path / "snap"
        args = ("--base-url", graph.url, "--token-file", "-", "--no-logs", "--out", out)
        done = run("collect", *args, stdin="t0ken")
    assert_clean("collect", done)
    assert "Denied\\u001b[2J\\u001b]0;owned\\u0007\\u202e." in done.stderr
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text(encoding="utf-8"))
    assert "Denied\x1b[2J\x1b]0;owned\x07\u202e." in manifest["collections"]["users"]["error"]
