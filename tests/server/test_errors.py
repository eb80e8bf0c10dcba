"""401 / 403 / 404 / 400 / 405 / 501 bodies over real HTTP, and a fuzzing sweep that never gets a 500."""

from __future__ import annotations

import random
import string
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from graphlattice.server.serve import RunningServer, background
from tests.server.conftest import (
    ELIF,
    LUKAS,
    MIA,
    NO_PERMISSION_APP,
    NOOR,
    READER_APP,
    Graph,
    as_app,
    as_user,
    assert_graph_error,
    copy_range,
)


def _mia_id(server: RunningServer) -> str:
    return str(as_user(server, NOOR).get(f"/users/{MIA}").json()["id"])


# ---- 401 ------------------------------------------------------------------------------------------------


def test_no_token_is_401_with_graph_body(served: RunningServer) -> None:
    response = Graph(served, None).get("/users", headers={"client-request-id": "abc-123"})
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert error["message"] == "Access token is empty."
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.token", "Bearer a.b.c"])
def test_malformed_tokens_are_401(served: RunningServer, header: str) -> None:
    response = httpx.get(f"{served.url}/v1.0/users", headers={"Authorization": header})
    assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_a_tampered_token_is_401(served: RunningServer) -> None:
    token = served.token(MIA)
    head, claims, signature = token.split(".")
    forged = ".".join((head, claims, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    response = Graph(served, forged).get("/users")
    assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_a_token_of_another_range_folder_is_401(
    served: RunningServer, template_dir: Path, tmp_path: Path
) -> None:
    other = copy_range(template_dir, tmp_path / "other")
    (other / "graph-secret.key").unlink(missing_ok=True)
    with background(other) as second:
        foreign = second.token(NOOR)
    assert foreign != served.token(NOOR)  # a secret per folder
    assert_graph_error(Graph(served, foreign).get("/users"), 401, "InvalidAuthenticationToken")


def test_tokens_are_deterministic_per_principal(served: RunningServer) -> None:
    assert served.token(NOOR) == served.token(NOOR)
    assert served.token(NOOR) != served.token(MIA)


# ---- 403 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upn", "path"),
    [
        (MIA, "/auditLogs/directoryAudits"),
        (MIA, "/auditLogs/signIns"),
        (ELIF, "/identity/conditionalAccess/policies"),  # a Reports Reader reads logs, not policies
        (LUKAS, "/policies/authenticationMethodsPolicy"),
        (MIA, "/roleManagement/directory/roleEligibilitySchedules"),
        (MIA, "/reports/authenticationMethods/userRegistrationDetails"),
    ],
)
def test_a_user_without_the_role_gets_403(served: RunningServer, upn: str, path: str) -> None:
    error = assert_graph_error(as_user(served, upn).get(path), 403, "Authorization_RequestDenied")
    assert error["message"].startswith("Insufficient privileges to complete the operation.")
    assert "needs" in error["message"]


def test_everyone_reads_their_own_methods_but_not_others(served: RunningServer) -> None:
    mia = as_user(served, MIA)
    assert mia.get("/me/authentication/methods").status_code == 200
    assert mia.get(f"/users/{MIA}/authentication/methods").status_code == 200
    assert_graph_error(mia.get(f"/users/{NOOR}/authentication/methods"), 403, "Authorization_RequestDenied")
    assert as_user(served, LUKAS).get(f"/users/{MIA}/authentication/methods").status_code == 200


def test_an_application_needs_its_permission(served: RunningServer) -> None:
    bare = as_app(served, NO_PERMISSION_APP)
    error = assert_graph_error(bare.get("/users"), 403, "Authorization_RequestDenied")
    assert "User.Read.All" in error["message"]
    reader = as_app(served, READER_APP)
    assert reader.get("/users").status_code == 200
    assert reader.get("/auditLogs/signIns").status_code == 200
    assert reader.get(f"/users/{MIA}/authentication/methods").status_code == 200
    # the reader holds no role management policy permission beyond RoleManagement.Read.Directory: allowed
    url = "/policies/roleManagementPolicies?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'"
    assert reader.get(url).status_code == 200
    # /me is for delegated tokens only
    assert_graph_error(reader.get("/me"), 400, "Request_BadRequest")


def test_password_reset_has_no_application_permission(served: RunningServer) -> None:
    writer = as_app(served, "5d1f4a52-8c0b-4f0e-9e7a-0a9c1b2d3e43")
    url = f"/users/{MIA}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"
    error = assert_graph_error(writer.post(url, json={}), 403, "Authorization_RequestDenied")
    assert "No application permission" in error["message"]


# ---- 404 / 400 / 405 / 501 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/users/nobody@northwind-traders.example",
        "/groups/00000000-0000-0000-0000-000000000000",
        "/users/{mia}/authentication/methods/00000000-0000-0000-0000-000000000000",
        "/users/{mia}/authentication/fido2Methods/nope",
        "/identity/conditionalAccess/policies/nope",
        "/auditLogs/directoryAudits/nope",
        "/roleManagement/directory/roleDefinitions/nope",
    ],
)
def test_unknown_objects_are_404(served: RunningServer, path: str) -> None:
    url = path.replace("{mia}", _mia_id(served))
    error = assert_graph_error(as_user(served, NOOR).get(url), 404, "Request_ResourceNotFound")
    assert "does not exist" in error["message"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/users?$top=0", "Request_BadRequest"),
        ("/users?$top=1000", "Request_BadRequest"),
        ("/users?$top=ten", "Request_BadRequest"),
        ("/users?$top=2&$top=3", "Request_BadRequest"),
        ("/users?$foo=1", "Request_BadRequest"),
        ("/users?$skiptoken=forged", "Request_BadRequest"),
        ("/users?$skiptoken=AQAAAAAAAAACtQj4rF2jDrxd9Itl", "Request_BadRequest"),
        ("/users?$filter=displayName eq", "Request_BadRequest"),
        ("/users?$filter=(displayName eq 'a'", "Request_BadRequest"),
        ("/users?$filter=jobTitle eq 'x'", "Request_UnsupportedQuery"),
        ("/users?$filter=accountEnabled gt true", "Request_UnsupportedQuery"),
        ("/users?$select=display Name", "Request_BadRequest"),
        ("/users?$skip=2", "Request_BadRequest"),
        ("/users?$count=true", "Request_BadRequest"),  # needs ConsistencyLevel: eventual
        ("/auditLogs/signIns?$top=1001", "Request_BadRequest"),
        ("/policies/roleManagementPolicies", "Request_BadRequest"),
        ("/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/'", "Request_BadRequest"),
        ("/users/{mia}/authentication/methods?$filter=id eq 'x'", "Request_BadRequest"),
        ("/roleManagement/directory/roleAssignments?$expand=nonsense", "Request_BadRequest"),
        ("/nonsense", "Request_BadRequest"),
    ],
)
def test_malformed_requests_are_graph_400s(served: RunningServer, path: str, code: str) -> None:
    url = path.replace("{mia}", _mia_id(served))
    assert_graph_error(as_user(served, NOOR).get(url), 400, code)


def test_bad_bodies_are_400(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    url = f"/users/{MIA}/authentication/temporaryAccessPassMethods"
    for body in (b"{", b"[]", b'"text"'):
        response = noor.post(url, content=body, headers={"Content-Type": "application/json"})
        assert_graph_error(response, 400, "Request_BadRequest")
    # the authentication methods service words a bad property its own way ("Invalid X specified.")
    assert_graph_error(noor.post(url, json={"lifetimeInMinutes": "sixty"}), 400, "badRequest")
    assert_graph_error(noor.post(url, json={"colour": "blue"}), 400, "badRequest")


def test_unknown_version_and_method(served: RunningServer) -> None:
    response = httpx.get(
        f"{served.url}/v2.0/users", headers={"Authorization": f"Bearer {served.token(NOOR)}"}
    )
    assert_graph_error(response, 400, "Request_BadRequest")
    assert_graph_error(as_user(served, NOOR).request("PUT", "/users"), 405, "Request_BadRequest")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/devices"),
        ("GET", "/users/{mia}/memberOf"),
        ("POST", "/identity/conditionalAccess/namedLocations"),
        ("GET", '/users?$search="displayName:mia"'),
        ("PATCH", "/policies/authenticationMethodsPolicy"),
    ],
)
def test_graph_features_the_range_lacks_are_501(served: RunningServer, method: str, path: str) -> None:
    url = path.replace("{mia}", _mia_id(served))
    response = as_user(served, NOOR).request(method, url, json={})
    assert_graph_error(response, 501, "NotImplemented")


def test_path_segments_ignore_case(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    assert noor.get("/Users?$top=1").status_code == 200
    assert (
        noor.get(
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryaccesspass"
        ).status_code
        == 200
    )


# ---- fuzzing: malformed input is never a 500 ------------------------------------------------------------

_SEGMENTS = [
    "users",
    "groups",
    "me",
    "authentication",
    "methods",
    "temporaryAccessPassMethods",
    "fido2Methods",
    "auditLogs",
    "signIns",
    "directoryAudits",
    "policies",
    "roleManagementPolicies",
    "identity",
    "conditionalAccess",
    "policies",
    "roleManagement",
    "directory",
    "roleAssignments",
    "members",
    "$ref",
    "$batch",
    "reports",
    "servicePrincipals",
    "revokeSignInSessions",
    "resetPassword",
    "operations",
    "authenticationMethodsPolicy",
    "authenticationMethodConfigurations",
    "TemporaryAccessPass",
    "..",
    ".",
    "%00",
    "%ff",
    "%2F",
    "~",
    "'",
    "(",
    ")",
    "appId='x'",
    "28c10230-6103-485e-b985-444c60001490",
]
_OPTIONS = [
    "$top",
    "$select",
    "$filter",
    "$skiptoken",
    "$expand",
    "$orderby",
    "$count",
    "$skip",
    "$search",
    "x",
]
_FILTERS = [
    "id eq 'a'",
    "userPrincipalName eq ''''",
    "startswith(displayName,'M')",
    "not(",
    "a/any(",
    "a/any(t:",
    "targetResources/any(t: t/id eq 'x')",
    "methodsRegistered/any(m: m eq 'fido2')",
    "((((((((((",
    "eq eq eq",
    "createdDateTime ge 2026-13-45T99:99:99Z",
    "id in ()",
    "id in ('a',",
    "scopeId eq '/' and scopeType eq",
    "x" * 5000,
    "isAdmin eq true or isAdmin eq false and not isAdmin eq null",
    "'unterminated",
    "1 eq 1",
]


def _junk(rng: random.Random) -> str:
    alphabet = string.printable + "äé€\u202e\x00"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def test_fuzzed_requests_never_get_a_500(served: RunningServer) -> None:
    rng = random.Random(5)
    noor = as_user(served, NOOR)
    mia_id = _mia_id(served)
    for n in range(400):
        segments = [rng.choice([*_SEGMENTS, mia_id, MIA, _junk(rng)]) for _ in range(rng.randint(1, 6))]
        path = "/" + "/".join(quote(s, safe="$'()=~.") if n % 7 else s for s in segments)
        params = []
        for _ in range(rng.randint(0, 3)):
            key = rng.choice(_OPTIONS)
            value = rng.choice(_FILTERS) if key == "$filter" else _junk(rng)
            encoded = quote(value, safe="$'(),=/: ") if n % 5 else value
            params.append(f"{key}={encoded}")
        method = rng.choice(["GET", "GET", "POST", "PATCH", "DELETE", "PUT"])
        body: bytes | None = None
        if method in ("POST", "PATCH", "PUT"):
            body = rng.choice(
                [b"", b"{", b"null", b"[1,2]", b'{"requests": 5}', _junk(rng).encode(), b'{"a":{"b":[]}}']
            )
        try:
            response = noor.request(
                method,
                path + ("?" + "&".join(params) if params else ""),
                content=body,
                headers={"Content-Type": "application/json"},
            )
        except httpx.InvalidURL:
            continue
        assert response.status_code < 500 or response.status_code == 501, (
            method,
            path,
            params,
            body,
            response.text,
        )
        if response.status_code >= 400:
            assert "error" in response.json(), response.text


def test_fuzzed_batches_never_get_a_500(served: RunningServer) -> None:
    rng = random.Random(11)
    noor = as_user(served, NOOR)
    shapes = [
        {"requests": []},
        {"requests": [{"id": "1", "method": "GET"}]},
        {"requests": [{"id": 1, "method": "GET", "url": "/users"}]},
        {"requests": [{"id": "1", "method": "GET", "url": "https://evil.example/users"}]},
        {"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["1"]}]},
        {
            "requests": [
                {"id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"]},
                {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]},
            ]
        },
        {"requests": [{"id": "1", "method": "POST", "url": "/users", "body": {"a": 1}}]},
        {"requests": [{"id": "1", "method": "GET", "url": "/$batch"}]},
        {"requests": "nope"},
        [],
    ]
    for shape in shapes:
        response = noor.post("/$batch", json=shape)
        assert response.status_code == 400, response.text
    for _ in range(60):
        requests = [
            {
                "id": _junk(rng) or "x",
                "method": rng.choice(["GET", "get", "POST", "BREW"]),
                "url": "/" + _junk(rng),
            }
            for _ in range(rng.randint(1, 4))
        ]
        response = noor.post("/$batch", json={"requests": requests})
        assert response.status_code < 500, response.text
        if response.status_code == 200:
            assert all(r["status"] < 500 or r["status"] == 501 for r in response.json()["responses"]), (
                response.text
            )
