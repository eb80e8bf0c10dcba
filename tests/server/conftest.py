"""A served Range for the endpoint tests: the tap-persistence scenario plus two applications.

The template range is built once per session; each fixture copies its folder and runs a real uvicorn server
on 127.0.0.1 (a free port) on a background thread, so every test talks HTTP to a real socket.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphlattice.entra.permissions import MICROSOFT_GRAPH_APP_ID, permission_id
from graphlattice.range.engine import Range
from graphlattice.range.player import play_timeline
from graphlattice.range.scenario import load_scenario
from graphlattice.range.state import RangeState
from graphlattice.server.serve import RunningServer, background
from graphlattice.server.throttle import Budgets

DOMAIN = "northwind-traders.example"
NOOR = f"noor.haddad@{DOMAIN}"  # Global Administrator (the defender)
MIA = f"mia.hoffmann@{DOMAIN}"  # the victim, no role
ELIF = f"elif.demir@{DOMAIN}"  # Reports Reader
LUKAS = f"lukas.brandt@{DOMAIN}"  # Authentication Administrator (the attacker)
PRIYA = f"priya.raman@{DOMAIN}"  # Privileged Authentication Administrator
READER_APP = "5d1f4a52-8c0b-4f0e-9e7a-0a9c1b2d3e41"  # Dana's read-only collector app
NO_PERMISSION_APP = "5d1f4a52-8c0b-4f0e-9e7a-0a9c1b2d3e42"
WRITER_APP = "5d1f4a52-8c0b-4f0e-9e7a-0a9c1b2d3e43"
READ_PERMISSIONS = (
    "User.Read.All",
    "GroupMember.Read.All",
    "Application.Read.All",
    "RoleManagement.Read.Directory",
    "Policy.Read.All",
    "UserAuthenticationMethod.Read.All",
    "AuditLog.Read.All",
    "Directory.Read.All",
)


def _app(sp_id: str, app_id: str, name: str, graph_sp: str, permissions: tuple[str, ...]) -> dict[str, Any]:
    grants = []
    for n, name_ in enumerate(permissions):
        role = permission_id(name_)
        assert role is not None, name_
        grants.append(
            {
                "id": f"grant-{sp_id}-{n}",
                "appRoleId": role,
                "principalId": sp_id,
                "principalType": "ServicePrincipal",
                "principalDisplayName": name,
                "resourceId": graph_sp,
                "resourceDisplayName": "Microsoft Graph",
                "createdDateTime": "2026-01-01T00:00:00Z",
                "deletedDateTime": None,
            }
        )
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
        "appRoleAssignments": grants,
    }


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = load_scenario("tap-persistence")
    collections = scenario.seed_collections()
    graph_sp = next(sp for sp in collections["servicePrincipals"] if sp["appId"] == MICROSOFT_GRAPH_APP_ID)
    collections["servicePrincipals"] += [
        _app("sp-reader", READER_APP, "Posture Reader", graph_sp["id"], READ_PERMISSIONS),
        _app("sp-none", NO_PERMISSION_APP, "No Permissions", graph_sp["id"], ()),
        _app(
            "sp-writer",
            WRITER_APP,
            "Helpdesk Automation",
            graph_sp["id"],
            ("UserAuthenticationMethod.ReadWrite.All", "User.Read.All"),
        ),
    ]
    state = RangeState.from_collections(
        collections,
        now=scenario.tenant.start,
        seed=scenario.tenant.seed,
        secrets=scenario.seed_secrets(),
        tenant_id=scenario.tenant.id,
    )
    folder = tmp_path_factory.mktemp("range-template")
    Range.seeded(folder, state, scenario_id=scenario.id, play=lambda r: play_timeline(r, scenario))
    return folder


def copy_range(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


class Graph:
    """An httpx client for one principal against a served range."""

    def __init__(self, server: RunningServer, token: str | None, version: str = "v1.0") -> None:
        self.server = server
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=f"{server.url}/{version}", headers=headers, timeout=30)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.get(url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.post(url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.patch(url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.delete(url, **kw)

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, url, **kw)


@pytest.fixture(scope="module")
def served(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server shared by the read-only tests of a module."""
    folder = copy_range(template_dir, tmp_path_factory.mktemp("served") / "range")
    with background(folder) as server:
        yield server


@pytest.fixture
def fresh(template_dir: Path, tmp_path: Path) -> Iterator[RunningServer]:
    """A server over a private copy of the range, for tests that change it."""
    folder = copy_range(template_dir, tmp_path / "range")
    with background(folder) as server:
        yield server


@pytest.fixture
def throttled(template_dir: Path, tmp_path: Path) -> Iterator[RunningServer]:
    """Graph's budgets, except a small identity bucket (20 RU per 10 s) so that a test can spend it."""
    folder = copy_range(template_dir, tmp_path / "range")
    with background(folder, throttle=Budgets(identity_ru=((None, 20),))) as server:
        yield server


def as_user(server: RunningServer, upn: str, version: str = "v1.0") -> Graph:
    return Graph(server, server.token(upn), version)


def as_app(server: RunningServer, app_id: str, version: str = "v1.0") -> Graph:
    return Graph(server, server.app_token(app_id), version)


def assert_graph_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    error = body["error"]
    assert error["code"] == code, body
    assert isinstance(error["message"], str) and error["message"]
    inner = error["innerError"]
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert inner["request-id"] == response.headers["request-id"]
    return dict(error)
