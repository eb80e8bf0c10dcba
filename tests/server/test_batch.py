"""$batch: up to 20 requests, unique ids, dependsOn and 424, each request authorised on its own."""

from __future__ import annotations

from graphlattice.server.serve import RunningServer
from tests.server.conftest import ELIF, MIA, NOOR, as_user, assert_graph_error


def _by_id(body: dict[str, object]) -> dict[str, dict[str, object]]:
    return {str(r["id"]): r for r in body["responses"]}  # type: ignore[attr-defined]


def test_a_batch_answers_each_request(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    response = noor.post(
        "/$batch",
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": "/users?$top=2"},
                {"id": "2", "method": "GET", "url": f"/users/{MIA}/authentication/methods"},
                {"id": "3", "method": "GET", "url": "users/nobody@example.com"},
            ]
        },
    )
    assert response.status_code == 200
    out = _by_id(response.json())
    assert out["1"]["status"] == 200 and len(out["1"]["body"]["value"]) == 2  # type: ignore[index]
    assert out["2"]["status"] == 200
    assert out["3"]["status"] == 404
    assert out["3"]["body"]["error"]["code"] == "Request_ResourceNotFound"  # type: ignore[index]
    assert "application/json" in out["1"]["headers"]["content-type"]  # type: ignore[index]
    assert [r["id"] for r in response.json()["responses"]] == ["1", "2", "3"]


def test_each_inner_request_is_authorised_on_its_own(served: RunningServer) -> None:
    reports_reader = as_user(served, ELIF)
    body = reports_reader.post(
        "/$batch",
        json={
            "requests": [
                {"id": "logs", "method": "GET", "url": "/auditLogs/directoryAudits?$top=1"},
                {"id": "ca", "method": "GET", "url": "/identity/conditionalAccess/policies"},
            ]
        },
    ).json()
    out = _by_id(body)
    assert out["logs"]["status"] == 200
    assert out["ca"]["status"] == 403
    assert out["ca"]["body"]["error"]["code"] == "Authorization_RequestDenied"  # type: ignore[index]


def test_a_failed_dependency_answers_424(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    body = noor.post(
        "/$batch",
        json={
            "requests": [
                {"id": "b", "method": "GET", "url": "/users?$top=1", "dependsOn": ["a"]},
                {"id": "a", "method": "GET", "url": "/users/nobody@example.com"},
                {"id": "c", "method": "GET", "url": "/me", "dependsOn": ["b"]},
                {"id": "d", "method": "GET", "url": "/me"},
            ]
        },
    ).json()
    out = _by_id(body)
    assert out["a"]["status"] == 404
    assert out["b"]["status"] == 424 and out["c"]["status"] == 424
    assert out["b"]["body"]["error"]["code"] == "FailedDependency"  # type: ignore[index]
    assert out["d"]["status"] == 200


def test_dependencies_run_in_order(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    body = noor.post(
        "/$batch",
        json={
            "requests": [
                {
                    "id": "read",
                    "method": "GET",
                    "url": f"/users/{MIA}/authentication/temporaryAccessPassMethods",
                    "dependsOn": ["create"],
                },
                {
                    "id": "create",
                    "method": "POST",
                    "url": f"/users/{MIA}/authentication/temporaryAccessPassMethods",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"lifetimeInMinutes": 60, "isUsableOnce": True},
                },
            ]
        },
    ).json()
    out = _by_id(body)
    assert out["create"]["status"] == 201, out
    created = out["create"]["body"]
    assert created["temporaryAccessPass"]  # type: ignore[index]
    listed = out["read"]["body"]["value"]  # type: ignore[index]
    assert [m["id"] for m in listed] == [created["id"]]  # type: ignore[index]
    assert listed[0]["temporaryAccessPass"] is None


def test_more_than_20_requests_is_400(served: RunningServer) -> None:
    requests = [{"id": str(n), "method": "GET", "url": "/me"} for n in range(21)]
    response = as_user(served, NOOR).post("/$batch", json={"requests": requests})
    error = assert_graph_error(response, 400, "Request_BadRequest")
    assert "20" in error["message"]
    assert as_user(served, NOOR).post("/$batch", json={"requests": requests[:20]}).status_code == 200


def test_malformed_batches_are_400(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    cases = [
        {
            "requests": [
                {"id": "1", "method": "GET", "url": "/me"},
                {"id": "1", "method": "GET", "url": "/me"},
            ]
        },
        {"requests": [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]}]},
        {
            "requests": [
                {"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]},
                {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]},
            ]
        },
        {"requests": [{"id": "1", "method": "POST", "url": "/users/x/revokeSignInSessions", "body": {}}]},
        {"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"}]},
        {"requests": [{"id": "1", "method": "GET", "url": "/$batch"}]},
        {"value": []},
    ]
    for case in cases:
        assert_graph_error(noor.post("/$batch", json=case), 400, "Request_BadRequest")
    assert_graph_error(noor.get("/$batch"), 405, "Request_BadRequest")


def test_a_batch_needs_a_token(served: RunningServer) -> None:
    import httpx

    response = httpx.post(
        f"{served.url}/v1.0/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/me"}]}
    )
    assert_graph_error(response, 401, "InvalidAuthenticationToken")
