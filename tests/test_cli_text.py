"""What the command line prints is what the user typed or what the file holds, never rich markup or emoji.

Paths, option values, scenario and rule text reach the terminal through rich; a ``[`` or ``:name:`` in them
must come out as typed. Also here: user mistakes around output paths, waivers and ``--fail-on`` are one line
and a usage or input exit code, never 70.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

import graphlattice.cli as cli_module
from graphlattice.cli import main
from tests.checks.builder import base_document, write_snapshot

HOSTILE = [
    "[bold]x[/bold]",
    "[/]",
    ":100:",
    "a:smile:b",
    "[json]",
    "[red]",
    "[link=https://e.example]z[/link]",
    "{0}%s:+1:[/red]",
]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_snapshot(base_document(), tmp_path_factory.mktemp("text") / "snap")


# ---- the three reported cases, through the real command ----------------------------------------------------


def test_a_path_with_an_emoji_code_is_printed_as_it_is(snapshot: Path, tmp_path: Path) -> None:
    folder = tmp_path / "file.jsonl:100:"
    folder.mkdir()
    for item in snapshot.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    (folder / "authenticationMethods.jsonl").write_text(
        '{"userId": "x", "value": []}\n{oops\n', encoding="utf-8"
    )
    proc = run("assess", str(folder), "--format", "json")
    assert proc.returncode == 3
    assert f"{folder}/authenticationMethods.jsonl:2:" in error_line(proc)


def test_an_option_value_in_brackets_is_kept() -> None:
    proc = run("assess", "--demo", "--format", "[json]")
    assert proc.returncode == 2
    assert "'[json]' is not one of" in error_line(proc)


def test_a_closing_tag_is_a_usage_error_not_a_crash() -> None:
    proc = run("assess", "--demo", "--fail-on", "[/]")
    assert proc.returncode == 2
    assert "'[/]' is not one of" in error_line(proc)


# ---- many hostile strings through many commands (in-process: the same main()) ------------------------------


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(args)
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_comes_back_literally(
    text: str,
    snapshot: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    as_file = tmp_path / f"file-{text}"  # a "/" in the text makes folders: the path is still hostile
    as_file.parent.mkdir(parents=True, exist_ok=True)
    as_file.write_text("not a folder", encoding="utf-8")
    missing = tmp_path / f"missing-{text}"
    waivers = tmp_path / "w.yaml"
    waivers.write_text(
        f"- risk: {orjson.dumps(text).decode()}\n  rationale: r\n  owner: o\n  expires: 2099-01-01\n",
        encoding="utf-8",
    )
    cases: list[tuple[list[str], str]] = [
        (["assess", str(missing)], str(missing)),
        (["assess", "--demo", "--format", text], text),
        (["assess", "--demo", "--fail-on", text], text),
        (["assess", str(snapshot), "--waivers", str(waivers)], text),
        (["risks", "show", text], text),
        (["range", "act", text, "--state", str(tmp_path / "r")], text),
        (["range", "status", "--state", str(missing)], str(missing)),
        (["range", "token", "--as", text, "--state", str(missing)], str(missing)),
        (["demo", "generate", str(as_file)], str(as_file)),
        (["range", "export", str(as_file), "--state", str(tmp_path / "r")], str(as_file)),
        (["assess", str(snapshot), "--output", str(as_file / "r.json")], str(as_file)),
    ]
    for args, literal in cases:
        code, _out, err = _main(args, capsys)
        assert code in (2, 3), (args, code, err)
        assert "Traceback" not in err and "internal error" not in err, (args, err)
        assert literal in err, (args, err)
        assert len([line for line in err.splitlines() if line.strip()]) == 1, (args, err)


def test_cli_uses_only_the_literal_console_and_no_markup_tags() -> None:
    """Every console of the command line is the one that prints text as given, and no string in it relies on
    markup tags (they would now print literally); styling goes through Text and style=."""
    source = Path(cli_module.__file__).read_text(encoding="utf-8")
    assert source.count("Console(") == 1  # inside _console()
    tag = re.compile(r"\[/\]|\[/?(bold|red|green|yellow|blue|cyan|magenta|dim|italic|underline)( [a-z]+)*\]")
    strings = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    offenders = [s for s in strings if tag.search(s) and "rich must never read" not in s]
    assert offenders == []


# ---- user mistakes are not exit 70 -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["HIGH", "High", "hIgH"])
def test_fail_on_ignores_case(snapshot: Path, value: str) -> None:
    lower = run("assess", str(snapshot), "--format", "json", "--fail-on", "high")
    proc = run("assess", str(snapshot), "--format", "json", "--fail-on", value)
    assert proc.returncode == lower.returncode, proc.stderr
    assert "Traceback" not in proc.stderr


def test_output_under_a_file_or_unwritable_is_a_usage_error(snapshot: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "report.json"
    a_file.write_text("previous report", encoding="utf-8")
    unwritable = "/proc/graphlattice-report.json" if Path("/proc/self").exists() else "/dev/null/x.json"
    for args in (
        ["--output", str(a_file / "r.json")],
        ["--output", str(a_file / "deeper" / "r.json")],
        ["--html", str(a_file / "r.html")],
        ["--output", str(tmp_path)],
        ["--output", unwritable],
    ):
        proc = run("assess", str(snapshot), "--format", "json", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "cannot write" in error_line(proc)
    assert a_file.read_text(encoding="utf-8") == "previous report"


def test_a_date_that_does_not_exist_names_the_line(snapshot: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "w.yaml"
    waivers.write_text(
        "waivers:\n  - risk: tap-policy-weak\n    rationale: r\n    owner: o\n    expires: 2027-02-30\n",
        encoding="utf-8",
    )
    proc = run("assess", str(snapshot), "--waivers", str(waivers))
    assert proc.returncode == 3
    line = error_line(proc)
    assert "w.yaml:5:" in line and "2027-02-30" in line and "not a date" in line
    settings = tmp_path / "graphlattice.yaml"
    settings.write_text("reportOnlyMaxDays: 2027-02-30\n", encoding="utf-8")
    proc = run("assess", str(snapshot), "--config", str(settings))
    assert proc.returncode == 3 and "graphlattice.yaml" in error_line(proc)


def test_a_waiver_for_an_unknown_risk_suggests_the_right_id(snapshot: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "w.yaml"
    waivers.write_text(
        "- risk: tap-policy-weak\n  rationale: r\n  owner: o\n  expires: 2099-01-01\n"
        "- risk: tap-issuers-standing-acess\n  rationale: r\n  owner: o\n  expires: 2099-01-01\n",
        encoding="utf-8",
    )
    proc = run("assess", str(snapshot), "--waivers", str(waivers))
    assert proc.returncode == 3
    line = error_line(proc)
    assert "w.yaml:5:" in line
    assert "did you mean 'tap-issuers-standing-access'?" in line
