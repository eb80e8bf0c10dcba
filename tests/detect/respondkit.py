"""What the ``respond`` tests share: a played Range, the CLI in a fresh process, and reads of the result.

Tokens reach ``respond`` the way the README recommends, through ``GRAPHLATTICE_TOKEN`` (a token on the
command line shows in ``ps``, and ``respond`` warns about it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from graphlattice.server.serve import RunningServer

ENV = {**os.environ, "PYTHONHASHSEED": "0", "COLUMNS": "200"}
ENV.pop("GRAPHLATTICE_TOKEN", None)
NORTHWIND = "northwind-traders.example"
NOOR = f"noor.haddad@{NORTHWIND}"  # Global Administrator, the defender
ELIF = f"elif.demir@{NORTHWIND}"  # Reports Reader
MIA = f"mia.hoffmann@{NORTHWIND}"  # the victim
MIA_ID = "65ae8da1-3b63-5d4b-a1d3-aa2bf73e1bb5"
INES = "ines.carvalho@adventure-works.example"  # Global Administrator in registration-gate-bypass
TAP_RULE = "tap-bootstrapped-persistence"


def cli(
    *args: str | Path, stdin: str | None = None, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``graphlattice ARGS`` in a fresh process (no terminal: stdin is a pipe); ``token`` goes in
    GRAPHLATTICE_TOKEN."""
    env = {**ENV, "GRAPHLATTICE_TOKEN": token} if token is not None else ENV
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        input=stdin or "",
        check=False,
    )


def ok(*args: str | Path) -> str:
    done = cli(*args)
    assert done.returncode == 0, f"graphlattice {' '.join(map(str, args))}: {done.stderr}"
    return done.stdout


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command prints on stderr."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def files(state: Path) -> dict[str, bytes]:
    return {str(p.relative_to(state)): p.read_bytes() for p in sorted(state.rglob("*")) if p.is_file()}


def verdict(state: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(ok("range", "verify", "--state", state, "--format", "json"))
    return result


@dataclass(frozen=True)
class Played:
    pristine: Path  # the range right after the scenario played; copied, never served
    incidents: Path  # detect --format json over its export

    def fresh(self, where: Path) -> Path:
        state = where / "state"
        shutil.copytree(self.pristine, state)
        return state


def play(root: Path, scenario: str) -> Played:
    ok("range", "start", scenario, "--state", root / "state")
    ok("range", "export", root / "export", "--state", root / "state")
    report = ok(
        "detect",
        root / "export" / "directoryAudits.jsonl",
        root / "export" / "signIns.jsonl",
        "--format",
        "json",
    )
    (root / "incidents.json").write_text(report)
    return Played(root / "state", root / "incidents.json")


@dataclass(frozen=True)
class Served:
    state: Path
    server: RunningServer
    incidents: Path


def graph_get(server: RunningServer, path: str, as_upn: str = NOOR) -> Any:
    answer = httpx.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {server.token(as_upn)}"})
    answer.raise_for_status()
    return answer.json()


def methods_of(server: RunningServer, user_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = graph_get(server, f"/v1.0/users/{user_id}/authentication/methods")["value"]
    return items


def respond_cli(incidents: Path, server: RunningServer, token: str, *extra: str) -> Any:
    return cli("respond", incidents, "--rule", TAP_RULE, "--base-url", server.url, *extra, token=token)
