"""The README's shell examples are real, so that it cannot drift from the command line again.

* Every ``graphlattice`` command in a ``sh`` block (including those inside ``$(...)`` and ``--token-command``)
  names a command the CLI has, and only options that command takes.
* Nothing is installed from a package index (GraphLattice is not published): ``pip install -e .`` or
  ``pipx install .`` from the checkout.
* A Range command names its folder (``--state``), as a class running one range per learner must.
* Blocks marked ``<!-- runs offline, verbatim: tests/test_readme.py -->`` run as written, in order, with
  bash, in a fresh working folder and home directory, with ``graphlattice`` on PATH as after
  ``. .venv/bin/activate``; a line with a placeholder for the reader to fill in (``method=ID``) is the only
  thing left out.
* ``make demo`` ends by saying how ``graphlattice`` gets on PATH, and the README says it too.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from graphlattice.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARK = "<!-- runs offline, verbatim: tests/test_readme.py -->"
PLACEHOLDER = re.compile(r"^(?:[a-z_]+=)?[A-Z][A-Z0-9_]+$")  # ID, APP_ID, method=ID ...
SEPARATORS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "2>"}


def sh_blocks() -> list[tuple[bool, list[str]]]:
    """(marked to run, commands) of every ``sh`` block; continuation lines joined."""
    found: list[tuple[bool, list[str]]] = []
    lines = README.read_text(encoding="utf-8").splitlines()
    previous = ""
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```sh":
            body: list[str] = []
            index += 1
            while lines[index].strip() != "```":
                body.append(lines[index])
                index += 1
            commands: list[str] = []
            for line in body:
                if commands and commands[-1].endswith("\\"):
                    commands[-1] = commands[-1][:-1] + " " + line.strip()
                elif line.strip():
                    commands.append(line)
            found.append((previous.strip() == MARK, commands))
        if lines[index].strip():
            previous = lines[index]
        index += 1
    return found


def invocations(tokens: list[str]) -> list[list[str]]:
    """The ``graphlattice`` commands in a shell line's tokens (arguments after the program name)."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for token in tokens:
        if token.startswith("graphlattice "):  # a quoted command, e.g. --token-command "graphlattice ..."
            found += invocations(shlex.split(token))
        if token.endswith("graphlattice"):  # graphlattice, or TOKEN=$(graphlattice
            current = []
            found.append(current)
            continue
        if current is None:
            continue
        if token in SEPARATORS:
            current = None
            continue
        ends = token.endswith((";", ")"))
        word = token.rstrip(";)")
        if word:
            current.append(word)
        if ends:
            current = None
    return found


def commands_of_readme(*, inline: bool = True) -> list[list[str]]:
    """Every ``graphlattice`` command of the ``sh`` blocks and of inline code such as the command table's
    (``graphlattice demo generate OUT_DIR [--users N]``: brackets and ``|`` alternatives unwrapped)."""
    found = [
        args
        for _, commands in sh_blocks()
        for line in commands
        for args in invocations(shlex.split(line, comments=True))
    ]
    spans = re.findall(r"`(graphlattice [^`]+)`", README.read_text(encoding="utf-8")) if inline else []
    for span in spans:
        words = [w.strip("[]") for w in span.replace("\\|", " ").split()]
        found += invocations([w for w in words if w])
    return found


def resolve(args: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        if sub is None:
            break
        command, rest = sub, rest[1:]
    return command, rest


def test_every_example_names_real_commands_and_options() -> None:
    examples = commands_of_readme()
    assert len(examples) > 30
    problems = []
    for args in examples:
        command, rest = resolve(args)
        if isinstance(command, click.Group) and not command.invoke_without_command:
            problems.append(f"graphlattice {' '.join(args)}: no such command")
            continue
        options = {"-h", "--help"}
        for param in command.params:
            if isinstance(param, click.Option):
                options.update(param.opts, param.secondary_opts)
        for word in rest:
            name = word.split("=", 1)[0]
            is_option = word.startswith("--") or re.fullmatch(r"-[a-zA-Z]", word)
            if is_option and name not in options:
                problems.append(f"graphlattice {' '.join(args)}: {command.name} has no option {name}")
    assert problems == []


def test_range_examples_name_their_folder() -> None:
    missing = [
        " ".join(args)
        for args in commands_of_readme(inline=False)
        if args[:1] == ["range"] and args[1:2] != ["list"] and "--list" not in args and "--state" not in args
    ]
    assert missing == []


def test_nothing_is_installed_from_a_package_index() -> None:
    text = README.read_text(encoding="utf-8")
    assert not re.search(r"pip3? install\s+(?:-{1,2}[\w-]+\s+)*['\"]?graphlattice", text)
    assert "pip install -e '.[spark]'" in text or "pipx install ." in text


def test_make_demo_says_how_to_get_graphlattice_on_path() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(makefile) if line.startswith("demo:"))
    recipe = []
    for line in makefile[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    assert recipe[-1].startswith("@echo") and "/bin/activate" in recipe[-1]
    text = README.read_text(encoding="utf-8")
    assert ". .venv/bin/activate" in text and ".venv/bin/graphlattice" in text


def test_offline_blocks_run_verbatim(tmp_path: Path) -> None:
    runnable = [commands for marked, commands in sh_blocks() if marked]
    assert len(runnable) >= 4
    shim = tmp_path / "bin"
    shim.mkdir()
    program = shim / "graphlattice"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m graphlattice "$@"\n', encoding="utf-8")
    program.chmod(0o755)
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("GRAPHLATTICE_RANGE_HOME", None)
    ran = 0
    for commands in runnable:
        kept = [
            line
            for line in commands
            if not any(PLACEHOLDER.match(token) for token in shlex.split(line, comments=True)[1:])
        ]
        ran += len(kept)
        script = "set -euo pipefail\n" + "\n".join(kept) + "\n"
        proc = subprocess.run(
            ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, (script, proc.stdout[-2000:], proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
    assert ran >= 12
    assert (home / "range" / "ana" / "state.json").exists()
    assert (work / "build" / "demo-tenant" / "signIns.jsonl").exists()


@pytest.mark.parametrize(
    "line", ["graphlattice range act delete-method user=mia.hoffmann method=ID --state d"]
)
def test_placeholders_are_recognised(line: str) -> None:
    assert any(PLACEHOLDER.match(token) for token in shlex.split(line)[1:])
