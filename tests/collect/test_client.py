"""The Graph client on its own: paging, retries, pacing, $batch and typed errors (httpx mock transport)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from graphlattice.collect.auth import StaticToken
from graphlattice.collect.client import (
    CollectionUnavailable,
    GraphClient,
    Pacer,
    RetriesExhausted,
    RetryPolicy,
    SubRequest,
)
from graphlattice.collect.plan import REPORTS_BUDGET, Budget, ListQuery, family_of, request_cost
from graphlattice.errors import CollectError

BASE = "http://graph.test"


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Tokens:
    def __init__(self, *values: str) -> None:
        self.values = list(values)
        self.calls: list[bool] = []

    def token(self, refresh: bool = False) -> str:
        self.calls.append(refresh)
        return self.values[min(len(self.calls) - 1, len(self.values) - 1)]


def _client(
    handler: Callable[[httpx.Request], httpx.Response],
    time: FakeTime,
    tokens: Any = None,
    retry: RetryPolicy | None = None,
) -> GraphClient:
    return GraphClient(
        BASE,
        tokens or StaticToken("t0ken"),
        pacer=Pacer(clock=time.clock, sleep=time.sleep),
        retry=retry or RetryPolicy(attempts=5, base=0.5),
        transport=httpx.MockTransport(handler),
        rng=random.Random(1),
        sleep=time.sleep,
    )


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(payload), headers=headers)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_pages_follow_next_links_until_absent_and_stay_on_the_endpoint() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        token = request.url.params.get("$skiptoken")
        if token is None:
            # a next link naming another host: it must be re-based, the token never sent elsewhere
            return _json(
                {
                    "value": [{"id": "1"}],
                    "@odata.nextLink": "https://elsewhere.example/v1.0/users?$skiptoken=a",
                }
            )
        if token == "a":
            return _json({"value": [{"id": "2"}], "@odata.nextLink": f"{BASE}/v1.0/users?$skiptoken=b"})
        return _json({"value": [{"id": "3"}]})

    async def go() -> list[str]:
        async with _client(handler, FakeTime()) as client:
            ids = []
            async for page in client.pages(ListQuery("v1.0", "/users", 999, ("id",))):
                ids += [item["id"] for item in page["value"]]
            return ids

    assert _run(go()) == ["1", "2", "3"]
    assert {r.url.host for r in seen} == {"graph.test"}
    assert all(r.headers["authorization"] == "Bearer t0ken" for r in seen)
    assert seen[0].url.raw_path.decode() == "/v1.0/users?$select=id&$top=999"


def test_the_same_next_link_twice_stops_instead_of_looping() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _json({"value": [], "@odata.nextLink": f"{BASE}/v1.0/users?$skiptoken=same"})

    async def go() -> None:
        async with _client(handler, FakeTime()) as client:
            async for _ in client.pages(ListQuery("v1.0", "/users")):
                pass

    with pytest.raises(CollectError, match="links back to a page already read"):
        _run(go())


def test_429_with_retry_after_holds_the_family_that_long() -> None:
    time = FakeTime()
    at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        at.append(time.now)
        if len(at) == 1:
            return _json({"error": {"code": "TooManyRequests"}}, 429, {"Retry-After": "7"})
        return _json({"value": []})

    async def go() -> None:
        async with _client(handler, time) as client:
            await client.get("/v1.0/auditLogs/directoryAudits")
            assert client.stats.throttled == 1

    _run(go())
    assert at[1] - at[0] >= 7


def test_429_without_retry_after_backs_off_on_its_own() -> None:
    time = FakeTime()
    at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        at.append(time.now)
        if len(at) <= 2:
            return _json({"error": {"code": "TooManyRequests"}}, 429)  # the CA family sends no Retry-After
        return _json({"value": []})

    async def go() -> None:
        async with _client(handler, time) as client:
            await client.get("/v1.0/identity/conditionalAccess/policies")

    _run(go())
    assert len(at) == 3
    assert at[1] - at[0] >= 1.0 and at[2] - at[1] >= 1.0


@pytest.mark.parametrize("fault", ["503", "reset", "timeout"])
def test_server_errors_resets_and_timeouts_are_retried(fault: str) -> None:
    time = FakeTime()
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            if fault == "503":
                return _json({"error": {"code": "ServiceUnavailable"}}, 503)
            if fault == "reset":
                raise httpx.RemoteProtocolError("peer closed connection", request=request)
            raise httpx.ReadTimeout("timed out", request=request)
        return _json({"value": [{"id": "x"}]})

    async def go() -> Any:
        async with _client(handler, time) as client:
            doc = await client.get("/v1.0/users")
            return doc, client.stats

    doc, stats = _run(go())
    assert doc == {"value": [{"id": "x"}]}
    assert stats.requests == 3 and stats.retries == 2
    assert (stats.server_errors if fault == "503" else stats.transport_errors) == 2


def test_retries_run_out() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _json({"error": {"code": "ServiceUnavailable"}}, 503)

    async def go() -> None:
        async with _client(handler, FakeTime(), retry=RetryPolicy(attempts=3, base=0.1)) as client:
            await client.get("/v1.0/users")

    with pytest.raises(RetriesExhausted, match=r"gave up on /v1\.0/users after 3 attempts"):
        _run(go())


def test_403_is_a_typed_unavailable_collection() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}}
        return _json(body, 403)

    async def go() -> None:
        async with _client(handler, FakeTime()) as client:
            await client.get("/beta/auditLogs/signIns")

    with pytest.raises(CollectionUnavailable) as caught:
        _run(go())
    assert caught.value.status == 403 and caught.value.code == "Authorization_RequestDenied"
    assert "Insufficient privileges" in str(caught.value)


def test_a_licence_error_says_so() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "error": {
                "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "message": "Neither tenant is B2C or tenant doesn't have premium license",
            }
        }
        return _json(body, 403)

    async def go() -> None:
        async with _client(handler, FakeTime()) as client:
            await client.get("/beta/auditLogs/signIns")

    with pytest.raises(CollectionUnavailable) as caught:
        _run(go())
    assert caught.value.licence


def test_401_gets_one_fresh_token_then_stops_without_showing_it() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer second" and len(sent) == 2:
            return _json({"value": []})
        return _json({"error": {"code": "InvalidAuthenticationToken"}}, 401)

    tokens = Tokens("first", "second")

    async def go() -> None:
        async with _client(handler, FakeTime(), tokens=tokens) as client:
            await client.get("/v1.0/users")
            await client.get("/v1.0/users")

    with pytest.raises(CollectError) as caught:
        _run(go())
    assert sent == ["Bearer first", "Bearer second", "Bearer second", "Bearer second"]
    assert tokens.calls == [False, True, True]
    assert "second" not in str(caught.value) and "first" not in str(caught.value)


def test_batch_retries_only_the_throttled_requests_inside() -> None:
    time = FakeTime()
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path == "/v1.0/$batch"
        body = orjson.loads(request.content)
        bodies.append(body)
        responses = []
        for sub in body["requests"]:
            assert sub["method"] == "GET"
            if sub["url"].endswith("/u2/authentication/methods") and len(bodies) == 1:
                responses.append(
                    {"id": sub["id"], "status": 429, "headers": {"Retry-After": "3"}, "body": {}}
                )
            elif "/missing/" in sub["url"]:
                err = {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}
                responses.append({"id": sub["id"], "status": 404, "body": err})
            else:
                responses.append({"id": sub["id"], "status": 200, "body": {"value": [{"url": sub["url"]}]}})
        return _json({"responses": list(reversed(responses))})  # any order, as Graph may answer

    subs = [SubRequest(k, f"/users/{k}/authentication/methods") for k in ("u1", "u2", "missing")]

    async def go() -> Any:
        async with _client(handler, time) as client:
            return await client.batch(subs), client.stats

    results, stats = _run(go())
    assert [len(b["requests"]) for b in bodies] == [3, 1]
    assert results["u1"].body == {"value": [{"url": "/users/u1/authentication/methods"}]}
    assert results["u2"].status == 200
    assert results["missing"].status == 404 and isinstance(results["missing"].error, CollectionUnavailable)
    assert stats.throttled == 1 and stats.batches == 2 and stats.batched_requests == 4
    assert time.now >= 3


def test_a_batch_holds_at_most_twenty() -> None:
    async def go() -> None:
        async with _client(lambda r: _json({}), FakeTime()) as client:
            await client.batch([SubRequest(str(n), "/users") for n in range(21)])

    with pytest.raises(ValueError, match="at most 20"):
        _run(go())


def test_pacer_keeps_every_window_within_the_budget() -> None:
    time = FakeTime()
    pacer = Pacer({"reports": REPORTS_BUDGET}, clock=time.clock, sleep=time.sleep)
    stamps: list[float] = []

    async def go() -> None:
        for _ in range(16):
            await pacer.acquire("reports", 1)
            stamps.append(time.now)

    _run(go())
    for i, start in enumerate(stamps):
        assert sum(1 for s in stamps[i:] if s < start + 10.0) <= 5
    # and not slower than the budget needs: 16 requests at 5 per 10 s take three windows, plus the margin
    assert stamps[-1] <= 30 * 1.03 + 0.1


def test_pacer_spends_units_and_honours_a_hold() -> None:
    time = FakeTime()
    pacer = Pacer({"directory": Budget("directory", 10, 1.0)}, clock=time.clock, sleep=time.sleep)

    async def go() -> list[float]:
        out = []
        for units in (4, 4, 4):
            await pacer.acquire("directory", units)
            out.append(time.now)
        pacer.hold("directory", 5)
        await pacer.acquire("directory", 1)
        out.append(time.now)
        return out

    first, second, third, after_hold = _run(go())
    assert first == second == 0 and third > 1.0
    assert after_hold >= third + 5


@pytest.mark.parametrize(
    ("path", "family", "cost"),
    [
        ("/v1.0/users?$top=999", "directory", 2),
        ("/v1.0/users?$select=id&$top=999", "directory", 1),
        ("/v1.0/groups/g1/members?$select=id&$top=999", "directory", 2),
        ("/v1.0/groups/g1/members", "directory", 3),
        ("/v1.0/groups/g1/owners", "directory", 1),
        ("/v1.0/policies/roleManagementPolicies?$filter=x&$expand=rules", "directory", 2),
        ("/v1.0/users/u1/authentication/methods", "directory", 1),
        ("/v1.0/reports/authenticationMethods/userRegistrationDetails", "reports", 1),
        ("/beta/auditLogs/signIns?$top=1000", "reports", 1),
        ("/v1.0/identity/conditionalAccess/namedLocations", "conditionalAccess", 1),
    ],
)
def test_families_and_costs_follow_graphs_table(path: str, family: str, cost: int) -> None:
    assert family_of(path) == family
    assert request_cost(path) == cost


def test_tokens_do_not_show_in_reprs() -> None:
    assert "t0ken" not in repr(StaticToken("t0ken"))


def test_an_endpoint_that_never_answers_stops_the_run_quickly() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    async def go() -> None:
        async with _client(handler, FakeTime(), retry=RetryPolicy(attempts=100, breaker=5)) as client:
            await client.get("/v1.0/users")

    with pytest.raises(CollectError, match="never answered") as caught:
        _run(go())
    assert calls == 5 and not isinstance(caught.value, RetriesExhausted)


def test_a_blip_after_answers_is_ridden_out_until_the_request_gives_up() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return _json({"value": []})
        raise httpx.ConnectError("connection refused", request=request)

    async def go() -> None:
        async with _client(
            handler, FakeTime(), retry=RetryPolicy(attempts=6, breaker=3, outage=1e9)
        ) as client:
            await client.get("/v1.0/users")
            await client.get("/v1.0/groups")

    with pytest.raises(RetriesExhausted):
        _run(go())
    assert calls == 1 + 6


def test_the_services_clock_comes_from_the_first_date_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/first"):
            return _json({"error": {"code": "ServiceUnavailable"}}, 503)  # no Date: not the clock
        return _json({"value": []}, headers={"Date": "Mon, 16 Nov 2026 08:30:00 GMT"})

    async def go() -> Any:
        async with _client(handler, FakeTime(), retry=RetryPolicy(attempts=1)) as client:
            with pytest.raises(RetriesExhausted):
                await client.get("/v1.0/first")
            assert client.server_time is None
            await client.get("/v1.0/users")
            return client.server_time

    assert _run(go()).isoformat() == "2026-11-16T08:30:00+00:00"
