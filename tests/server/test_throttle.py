"""--throttle: Graph's budgets per family; 429 with Retry-After, and without it for Conditional Access."""

from __future__ import annotations

from graphlattice.server.serve import RunningServer
from graphlattice.server.throttle import GRAPH_BUDGETS, Budgets, Throttle, family_of, request_cost
from tests.server.conftest import ELIF, MIA, NOOR, as_user, assert_graph_error


def test_the_budgets_are_microsofts_documented_figures() -> None:
    b = GRAPH_BUDGETS
    assert [b.identity_capacity(n) for n in (10, 49, 50, 500, 501, 100_000)] == [
        3500,
        3500,
        5000,
        5000,
        8000,
        8000,
    ]
    assert (b.identity_window, b.write_units, b.write_window) == (10.0, 3000, 150.0)
    assert (b.reports_requests, b.reports_window, b.ca_requests, b.ca_window) == (5, 10.0, 1, 1.0)
    assert "throttling-limits" in b.source


def test_families_and_costs() -> None:
    assert family_of("/auditLogs/signIns") == "reports"
    assert family_of("/reports/authenticationMethods/userRegistrationDetails") == "reports"
    assert family_of("/identity/conditionalAccess/namedLocations") == "conditionalAccess"
    assert family_of("/users/x/authentication/methods") == "identity"
    b = GRAPH_BUDGETS
    assert request_cost(b, "GET", "/users", {}) == 2
    assert request_cost(b, "GET", "/users", {"$select": "id"}) == 1
    assert request_cost(b, "GET", "/groups/g1/members", {}) == 3
    assert request_cost(b, "GET", "/groups/g1/members", {"$top": "5"}) == 2
    assert request_cost(b, "GET", "/users/u1", {"$expand": "manager"}) == 2
    assert request_cost(b, "GET", "/users/u1", {"$select": "id", "$top": "1"}) == 1
    assert request_cost(b, "POST", "/users/u1/revokeSignInSessions", {}) == 1


def test_the_identity_bucket_refills_over_time() -> None:
    now = [0.0]
    throttle = Throttle(Budgets(identity_ru=((None, 4),)), clock=lambda: now[0])
    args = {"app_id": "a", "tenant_id": "t", "users": 9, "method": "GET", "options": {}}
    assert throttle.check(path="/users", **args)["x-ms-resource-unit"] == "2"  # type: ignore[arg-type]
    throttle.check(path="/users", **args)  # type: ignore[arg-type]
    try:
        throttle.check(path="/users", **args)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - checked below
        assert getattr(exc, "status", None) == 429
        assert exc.headers["Retry-After"] == "5"  # type: ignore[attr-defined]
    else:
        raise AssertionError("the bucket should be empty")
    now[0] = 5.0
    throttle.check(path="/users", **args)  # type: ignore[arg-type]


def test_conditional_access_answers_429_without_retry_after(throttled: RunningServer) -> None:
    noor = as_user(throttled, NOOR)
    assert noor.get("/identity/conditionalAccess/policies").status_code == 200
    response = noor.get("/identity/conditionalAccess/namedLocations")
    assert_graph_error(response, 429, "TooManyRequests")
    assert "retry-after" not in response.headers
    # per tenant, all apps together: another user's client is throttled too
    assert as_user(throttled, ELIF).get("/identity/conditionalAccess/policies").status_code in (403, 429)


def test_reports_answer_429_with_retry_after_after_five_in_ten_seconds(throttled: RunningServer) -> None:
    noor = as_user(throttled, NOOR)
    for _ in range(5):
        assert noor.get("/auditLogs/directoryAudits?$top=1").status_code == 200
    response = noor.get("/auditLogs/signIns?$top=1")
    assert_graph_error(response, 429, "TooManyRequests")
    assert 1 <= int(response.headers["retry-after"]) <= 10


def test_identity_answers_429_with_retry_after_and_throttle_headers(throttled: RunningServer) -> None:
    noor = as_user(throttled, NOOR)
    first = noor.get("/users")
    assert first.status_code == 200 and first.headers["x-ms-resource-unit"] == "2"
    assert noor.get("/users?$select=id").headers["x-ms-resource-unit"] == "1"
    responses = []
    for _ in range(12):
        response = noor.get("/users")
        responses.append(response)
        if response.status_code == 429:
            break
    assert response.status_code == 429
    last_ok = responses[-2]
    assert float(last_ok.headers["x-ms-throttle-limit-percentage"]) >= 0.8  # above 80% of the budget
    assert "x-ms-throttle-limit-percentage" not in first.headers
    assert_graph_error(response, 429, "TooManyRequests")
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-ms-throttle-scope"].startswith("Tenant_Application/Read/")
    assert response.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"


def test_inside_a_batch_every_request_counts(throttled: RunningServer) -> None:
    noor = as_user(throttled, NOOR)
    body = noor.post(
        "/$batch",
        json={
            "requests": [
                {"id": str(n), "method": "GET", "url": "/identity/conditionalAccess/policies"}
                for n in range(3)
            ]
        },
    ).json()
    statuses = sorted(r["status"] for r in body["responses"])
    assert statuses == [200, 429, 429]
    throttled_one = next(r for r in body["responses"] if r["status"] == 429)
    assert "Retry-After" not in throttled_one["headers"] and "retry-after" not in throttled_one["headers"]


def test_without_throttle_nothing_is_429(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    assert all(noor.get("/identity/conditionalAccess/policies").status_code == 200 for _ in range(5))
    assert all(noor.get(f"/users/{MIA}").status_code == 200 for _ in range(20))
