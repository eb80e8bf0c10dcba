"""Served Ranges for the collector's integration tests: real ``graphlattice`` processes on 127.0.0.1.

* ``scenario_range``: ``graphlattice range start tap-persistence`` and ``range export``, through the CLI.
* ``apps_range``: the same scenario seeded with two applications, a read-only app holding exactly the
  permissions ``graphlattice collect --permissions`` lists, and one lacking UserAuthenticationMethod.Read.All.
* ``serve(state)``: ``graphlattice range serve --port 0`` as a background process; the test reads its URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.collect.plan import permissions
from graphlattice.entra.permissions import MICROSOFT_GRAPH_APP_ID, permission_id
from graphlattice.range.engine import Range
from graphlattice.range.player import play_timeline
from graphlattice.range.scenario import load_scenario
from graphlattice.range.state import RangeState

DEFENDER = "noor.haddad@northwind-traders.example"  # Global Administrator in tap-persistence
READER_APP = "7c0a3e55-1b2d-4c6e-8f90-a1b2c3d4e5f6"
PARTIAL_APP = "7c0a3e55-1b2d-4c6e-8f90-a1b2c3d4e5f7"
MISSING = "UserAuthenticationMethod.Read.All"
ENV = {**os.environ, "PYTHONHASHSEED": "0", "COLUMNS": "120"}


def cli(
    *args: str, check: bool = True, timeout: float = 300, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``graphlattice ARGS`` in a fresh process (``stdin``: what its standard input holds)."""
    done = subprocess.run(
        [sys.executable, "-m", "graphlattice", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"graphlattice {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


@dataclass(frozen=True)
class RangeDir:
    state: Path
    export: Path
    clock: str  # the range's simulated "now" (the export's collectedAt)

    def token(self, *, upn: str | None = None, app: str | None = None) -> str:
        who = ["--as", upn] if upn else ["--app", str(app)]
        return cli("range", "token", *who, "--state", str(self.state)).stdout.strip().splitlines()[-1]


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen[str]


@contextmanager
def serve(state: Path, *, throttle: bool = False) -> Iterator[Served]:
    """``graphlattice range serve --port 0`` in the background; its first output line is the URL."""
    args = [sys.executable, "-m", "graphlattice", "range", "serve", "--state", str(state), "--port", "0"]
    if throttle:
        args.append("--throttle")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.endswith("/v1.0"):
            process.kill()
            raise AssertionError(
                f"range serve did not start: {line!r} {process.stderr.read() if process.stderr else ''}"
            )
        yield Served(line.removesuffix("/v1.0"), process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _export(state: Path, out: Path) -> str:
    cli("range", "export", str(out), "--state", str(state))
    manifest: dict[str, Any] = orjson.loads((out / "manifest.json").read_bytes())
    return str(manifest["collectedAt"])


@pytest.fixture(scope="session")
def scenario_range(tmp_path_factory: pytest.TempPathFactory) -> RangeDir:
    root = tmp_path_factory.mktemp("scenario")
    cli("range", "start", "tap-persistence", "--state", str(root / "state"))
    clock = _export(root / "state", root / "export")
    return RangeDir(root / "state", root / "export", clock)


@pytest.fixture(scope="session")
def served_scenario(scenario_range: RangeDir) -> Iterator[Served]:
    with serve(scenario_range.state) as served:
        yield served


# ---- a range with a read-only collector app ----------------------------------------------------------------

# Test-only appRole ids for the read permissions entra's table has no id for: the served range names an
# appRoleId through the Microsoft Graph service principal's appRoles in the tenant, as Entra does.
_FIXTURE_ROLE_IDS = {
    name: f"00000000-0000-4000-8000-{n:012d}"
    for n, name in enumerate(permissions(), 1)
    if not permission_id(name)
}


def _role_id(name: str) -> str:
    return permission_id(name) or _FIXTURE_ROLE_IDS[name]


def _app(sp_id: str, app_id: str, name: str, graph_sp: str, granted: list[str]) -> dict[str, Any]:
    return {
        "id": sp_id,
        "appId": app_id,
        "displayName": name,
        "accountEnabled": True,
        "servicePrincipalType": "Application",
        "appOwnerOrganizationId": "6f1c2a9e-4b7d-4e25-9a0c-3d8e5b1f7a42",
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "appRoles": [],
        "appRoleAssignments": [
            {
                "id": f"{sp_id}-grant-{n}",
                "appRoleId": _role_id(perm),
                "principalId": sp_id,
                "principalType": "ServicePrincipal",
                "principalDisplayName": name,
                "resourceId": graph_sp,
                "resourceDisplayName": "Microsoft Graph",
                "createdDateTime": "2026-01-01T00:00:00Z",
            }
            for n, perm in enumerate(granted)
        ],
    }


@pytest.fixture(scope="session")
def apps_range(tmp_path_factory: pytest.TempPathFactory) -> RangeDir:
    scenario = load_scenario("tap-persistence")
    collections = scenario.seed_collections()
    graph_sp = next(sp for sp in collections["servicePrincipals"] if sp["appId"] == MICROSOFT_GRAPH_APP_ID)
    graph_sp["appRoles"] = [
        *(graph_sp.get("appRoles") or []),
        *(
            {"id": role_id, "value": name, "allowedMemberTypes": ["Application"], "isEnabled": True}
            for name, role_id in _FIXTURE_ROLE_IDS.items()
        ),
    ]
    every = permissions()
    collections["servicePrincipals"] += [
        _app("sp-collector", READER_APP, "Posture Collector", graph_sp["id"], every),
        _app(
            "sp-partial",
            PARTIAL_APP,
            "Posture Collector (no methods)",
            graph_sp["id"],
            [p for p in every if p != MISSING],
        ),
    ]
    state = RangeState.from_collections(
        collections,
        now=scenario.tenant.start,
        seed=scenario.tenant.seed,
        secrets=scenario.seed_secrets(),
        tenant_id=scenario.tenant.id,
    )
    root = tmp_path_factory.mktemp("apps")
    Range.seeded(root / "state", state, scenario_id=scenario.id, play=lambda r: play_timeline(r, scenario))
    clock = _export(root / "state", root / "export")
    return RangeDir(root / "state", root / "export", clock)


@pytest.fixture(scope="session")
def served_apps(apps_range: RangeDir) -> Iterator[Served]:
    with serve(apps_range.state) as served:
        yield served
