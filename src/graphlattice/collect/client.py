"""A read-only Microsoft Graph client for collection: paging, ``$batch``, pacing, retries, typed errors.

* Paging follows ``@odata.nextLink`` until it is absent (never builds a skip token). A next link that names
  another host is re-based onto the configured endpoint, so the bearer token only ever goes where it was
  meant to go.
* ``$batch`` sends up to 20 GET requests in one POST; the requests inside are retried one by one when Graph
  answers them with 429 or 5xx.
* Pacing: every request first takes its units from its family's :class:`Pacer` (Graph's documented
  budgets, see :mod:`graphlattice.collect.plan`), so the collector does not provoke 429s it could avoid.
* Retries: a 429 honours ``Retry-After`` and holds the whole family for that long; a 429 without it (the
  Conditional Access family never sends one), a 5xx, a timeout or a dropped connection backs off
  exponentially with full jitter. A 401 gets one fresh token, then stops the run (:class:`CollectError`).
* A 403 (missing permission or licence), 400 or 404 is :class:`CollectionUnavailable`: the collection is
  recorded as an error with the permission to grant and the run goes on.

The client only sends GET (and ``$batch`` of GETs). Tokens never appear in messages or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from graphlattice.collect.auth import TokenProvider
from graphlattice.collect.plan import Budget, Family, ListQuery, budget_for, family_of, request_cost
from graphlattice.errors import CollectError

__all__ = [
    "BadResponse",
    "CollectionUnavailable",
    "GraphClient",
    "GraphError",
    "Pacer",
    "RetriesExhausted",
    "RetryPolicy",
    "Stats",
    "SubRequest",
    "SubResult",
]

_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
_LICENCE_HINTS = ("premium", "licen", "nonpremium", "b2c")


class GraphError(CollectError):
    """Graph refused a request with an error status (other than the ones retried)."""

    def __init__(self, status: int, code: str, message: str, url: str) -> None:
        self.status = status
        self.code = code
        self.graph_message = message
        self.url = url
        super().__init__(f"HTTP {status} {code}: {message}".rstrip(": "))

    @property
    def licence(self) -> bool:
        text = f"{self.code} {self.graph_message}".casefold()
        return any(hint in text for hint in _LICENCE_HINTS)


class CollectionUnavailable(GraphError):
    """A collection cannot be read with this identity or licence: 403 (or 400/404 for what is not served)."""


class BadResponse(CollectError):
    """The service answered, but not with what Graph sends (not JSON, no ``value`` array, a next link that
    loops). The collection is recorded as an error; the run goes on."""


class RetriesExhausted(CollectError):
    """A request kept failing (429, 5xx, timeouts, resets) through every retry. The collection is recorded
    as an error, and a later ``--resume`` reads it again."""


def _error_of(response: httpx.Response, url: str) -> GraphError:
    code, message = "", ""
    with contextlib.suppress(orjson.JSONDecodeError, TypeError, AttributeError):
        body = orjson.loads(response.content)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or "")
            message = str(error.get("message") or "")
    return _error(response.status_code, code, message, url)


def _error(status: int, code: str, message: str, url: str) -> GraphError:
    code = code or {400: "BadRequest", 403: "Forbidden", 404: "NotFound"}.get(status, "Error")
    message = " ".join(message.split())[:300]
    if status in (400, 403, 404):
        return CollectionUnavailable(status, code, message, url)
    return GraphError(status, code, message, url)


# ---- statistics ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Stats:
    """What the run cost: HTTP requests sent, requests inside batches, retries and what caused them."""

    requests: int = 0
    by_family: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    batched_requests: int = 0
    throttled: int = 0  # 429s, outer and inner
    server_errors: int = 0  # 5xx, outer and inner
    transport_errors: int = 0  # timeouts, refused or reset connections
    retries: int = 0
    waited_seconds: float = 0.0  # time spent holding after 429s and backing off

    def count(self, family: str, units: int) -> None:
        self.requests += 1
        self.by_family[family] = self.by_family.get(family, 0) + 1
        self.units[family] = self.units.get(family, 0) + units

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "byFamily": dict(sorted(self.by_family.items())),
            "units": dict(sorted(self.units.items())),
            "batches": self.batches,
            "batchedRequests": self.batched_requests,
            "throttled": self.throttled,
            "serverErrors": self.server_errors,
            "transportErrors": self.transport_errors,
            "retries": self.retries,
            "waitedSeconds": round(self.waited_seconds, 3),
        }

    def merge(self, other: Mapping[str, Any]) -> None:
        """Add the figures of an earlier, interrupted run (``--resume``)."""
        self.requests += int(other.get("requests") or 0)
        for key, target in (("byFamily", self.by_family), ("units", self.units)):
            for name, value in (other.get(key) or {}).items():
                target[name] = target.get(name, 0) + int(value)
        self.batches += int(other.get("batches") or 0)
        self.batched_requests += int(other.get("batchedRequests") or 0)
        self.throttled += int(other.get("throttled") or 0)
        self.server_errors += int(other.get("serverErrors") or 0)
        self.transport_errors += int(other.get("transportErrors") or 0)
        self.retries += int(other.get("retries") or 0)
        self.waited_seconds += float(other.get("waitedSeconds") or 0.0)


# ---- pacing ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Slot:
    """One request's place in its family's window: when it counts from, and its units."""

    at: float
    units: int


class _Window:
    """At most ``budget.units`` units within any ``budget.window`` seconds (which also keeps a token bucket
    of that size and refill rate happy), plus a hold after a 429.

    A request counts from when it was sent until its answer is in, and then from the answer's time: the
    service counts it when it arrives, which is somewhere in between, so the window is measured from the
    later end and never runs ahead of the service's."""

    def __init__(self, budget: Budget, margin: float) -> None:
        self.budget = budget
        self.margin = margin
        self.sent: deque[Slot] = deque()
        self.in_window = 0
        self.hold_until = 0.0
        self.lock = asyncio.Lock()

    @property
    def span(self) -> float:
        return self.budget.window * (1.0 + self.margin) + 0.01


class Pacer:
    """Per-family pacing shared by every request of a run."""

    def __init__(
        self,
        budgets: Mapping[Family, Budget] | None = None,
        *,
        margin: float = 0.01,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        chosen = dict(budgets or {})
        for family in ("directory", "reports", "conditionalAccess"):
            chosen.setdefault(family, budget_for(family))
        self._windows = {family: _Window(budget, margin) for family, budget in chosen.items()}
        self._clock = clock
        self._sleep = sleep
        self.waited = 0.0

    def budget(self, family: Family) -> Budget:
        return self._windows[family].budget

    def set_budget(self, budget: Budget) -> None:
        self._windows[budget.family].budget = budget

    def hold(self, family: Family, seconds: float) -> None:
        """No request of ``family`` before ``seconds`` from now (after a 429)."""
        window = self._windows[family]
        window.hold_until = max(window.hold_until, self._clock() + max(0.0, seconds))

    async def acquire(self, family: Family, units: int) -> Slot:
        """Wait until ``units`` fit in the family's window; pass the slot to :meth:`settle` when answered."""
        window = self._windows[family]
        async with window.lock:  # first come, first served within a family
            while True:
                now = self._clock()
                while window.sent and window.sent[0].at <= now - window.span:
                    window.in_window -= window.sent.popleft().units
                cap = window.budget.units
                need = min(units, cap)
                wait = 0.0
                if window.hold_until > now:
                    wait = window.hold_until - now
                elif window.in_window + need > cap:
                    # wait until enough of the oldest requests leave the window
                    freed = window.in_window
                    for slot in window.sent:
                        freed -= slot.units
                        if freed + need <= cap:
                            wait = max(slot.at + window.span - now, 0.001)
                            break
                if wait <= 0:
                    slot = Slot(now, need)
                    window.sent.append(slot)
                    window.in_window += need
                    return slot
                self.waited += wait
                await self._sleep(wait)

    def settle(self, slot: Slot) -> None:
        """The request's answer is in: it counts from now on (the service saw it no later than this)."""
        slot.at = max(slot.at, self._clock())


# ---- retries --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 8  # tries per request, the first included
    base: float = 0.25  # seconds; full jitter over base * 2**n
    cap: float = 30.0
    throttle_base: float = 1.0  # a 429 without Retry-After: at least this long
    breaker: int = 24  # failed sends in a row (no answer in between) that stop a run that never got one
    outage: float = 180.0  # once answers came, stop only after this long without one

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * 2**attempt))

    def throttle_backoff(self, attempt: int, rng: random.Random) -> float:
        return self.throttle_base + rng.uniform(0, min(self.cap, self.throttle_base * 2**attempt))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = None
    for key, item in headers.items():
        if key.lower() == "retry-after":
            value = str(item).strip()
            break
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# ---- batch ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubRequest:
    """One GET inside a ``$batch``: ``url`` relative to the version (``/users/{id}/...``)."""

    key: str
    url: str


@dataclass(frozen=True, slots=True)
class SubResult:
    key: str
    status: int
    body: Any
    error: GraphError | None = None


# ---- the client -----------------------------------------------------------------------------------------

DEFAULT_BASE_URL = "https://graph.microsoft.com"


def normalise_base_url(text: str) -> str:
    """``https://host[:port][/prefix]`` without a trailing version segment or slash."""
    url = httpx.URL(text.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise CollectError(f"--base-url must be an http(s) URL, got {text!r}")
    path = url.path.rstrip("/")
    for version in ("/v1.0", "/beta"):
        if path.endswith(version):
            path = path[: -len(version)]
    return str(url.copy_with(path=path or "", query=None, fragment=None)).rstrip("/")


class GraphClient:
    """Async, read-only Graph access for one run. Use as ``async with``."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        max_connections: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        self._base = httpx.URL(self.base_url)
        self._tokens = tokens
        self.pacer = pacer or Pacer()
        self.retry = retry or RetryPolicy()
        self.stats = Stats()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._token: str | None = None
        self._token_lock = asyncio.Lock()
        self._failures_in_row = 0
        self._answered_at: float | None = None  # when the service last answered (None: never)
        self.server_time: datetime | None = None
        self.first_response = asyncio.Event()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "graphlattice-collector"},
            follow_redirects=False,
        )

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    # -- tokens -------------------------------------------------------------------------------------------

    async def _bearer(self, *, refresh: bool = False) -> str:
        async with self._token_lock:
            if self._token is None or refresh:
                self._token = await asyncio.to_thread(self._tokens.token, refresh)
            return self._token

    # -- urls ---------------------------------------------------------------------------------------------

    def absolute(self, url: str) -> httpx.URL:
        """A path (``/v1.0/users?...``) or a next link, always on the configured endpoint."""
        if url.startswith("/"):
            return httpx.URL(self.base_url + url)
        parsed = httpx.URL(url)
        if (parsed.scheme, parsed.host, parsed.port) == (self._base.scheme, self._base.host, self._base.port):
            return parsed
        # another host (an emulator that writes graph.microsoft.com into its links): keep path and query
        path = parsed.raw_path.decode("ascii")
        prefix = self._base.path.rstrip("/")
        if prefix and not path.startswith(prefix + "/"):
            path = prefix + path
        return httpx.URL(f"{self._base.scheme}://{self._base.netloc.decode('ascii')}{path}")

    # -- sending ------------------------------------------------------------------------------------------

    def _note_time(self, response: httpx.Response) -> None:
        """Remember the service's clock from the first answer that carries a ``Date``."""
        if self.server_time is not None:
            return
        stamp = response.headers.get("date")
        if not stamp:
            return
        with contextlib.suppress(TypeError, ValueError, IndexError):
            self.server_time = parsedate_to_datetime(stamp).astimezone(UTC)
            self.first_response.set()

    def _failed_send(self) -> None:
        """Count a send that got no usable answer; stop the run when the endpoint seems gone: at once if it
        never answered (a wrong address), else after ``outage`` seconds of silence (riding out blips)."""
        self._failures_in_row += 1
        if self._failures_in_row < self.retry.breaker:
            return
        silent = None if self._answered_at is None else time.monotonic() - self._answered_at
        if silent is None or silent >= self.retry.outage:
            how = "never answered" if silent is None else f"has not answered for {silent:.0f} s"
            raise CollectError(
                f"{self.base_url} {how} ({self._failures_in_row} failed requests in a row); "
                "nothing finished is lost: run the same command again with --resume"
            )

    async def _send(
        self,
        method: str,
        url: str,
        family: Family,
        units: int,
        *,
        body: bytes | None = None,
    ) -> httpx.Response:
        """Send with pacing and retries; returns a 2xx response or raises."""
        target = self.absolute(url)
        refreshed = False
        attempt = 0
        last = ""
        while attempt < self.retry.attempts:
            slot = await self.pacer.acquire(family, units)
            token = await self._bearer()
            headers = {"Authorization": f"Bearer {token}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            self.stats.count(family, units)
            try:
                response = await self._http.request(method, target, content=body, headers=headers)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                self.pacer.settle(slot)
                self.stats.transport_errors += 1
                last = f"{type(exc).__name__}"
                self._failed_send()
                await self._backoff(self.retry.backoff(attempt, self._rng))
                attempt += 1
                continue
            self.pacer.settle(slot)
            status = response.status_code
            if status == 401:
                if refreshed:
                    raise CollectError(
                        f"{self.base_url} refused the token (401 {_error_of(response, url).code}); "
                        "check the credential, or get a new token"
                    )
                refreshed = True
                await self._bearer(refresh=True)
                continue
            if status == 429:
                self._note_time(response)
                self._failures_in_row = 0  # a throttled service is alive
                self._answered_at = time.monotonic()
                self.stats.throttled += 1
                self._throttled(family, response.headers, attempt)
                last = "429 Too Many Requests"
                attempt += 1
                continue
            if status in _TRANSIENT_STATUS:
                self._note_time(response)
                self.stats.server_errors += 1
                last = f"HTTP {status}"
                self._failed_send()
                wait = _retry_after(response.headers)
                await self._backoff(wait if wait is not None else self.retry.backoff(attempt, self._rng))
                attempt += 1
                continue
            self._note_time(response)
            self._failures_in_row = 0
            self._answered_at = time.monotonic()
            if 200 <= status < 300:
                return response
            raise _error_of(response, url)
        raise RetriesExhausted(
            f"gave up on {url.split('?', 1)[0]} after {self.retry.attempts} attempts (last: {last}); "
            "run the same command again with --resume"
        )

    def _throttled(self, family: Family, headers: Mapping[str, str], attempt: int) -> None:
        wait = _retry_after(headers)
        if wait is None:
            wait = self.retry.throttle_backoff(attempt, self._rng)
        self.pacer.hold(family, wait)
        self.stats.retries += 1

    async def _backoff(self, seconds: float) -> None:
        self.stats.retries += 1
        self.stats.waited_seconds += seconds
        await self._sleep(seconds)

    async def get(self, url: str, *, family: Family | None = None, units: int | None = None) -> Any:
        """GET a path or next link and return its JSON."""
        fam = family or family_of(_path_of(url))
        cost = units if units is not None else request_cost(_path_of(url))
        response = await self._send("GET", url, fam, cost)
        return _json(response, url)

    async def pages(self, query: ListQuery) -> AsyncIterator[dict[str, Any]]:
        """Every page of a collection, following ``@odata.nextLink`` until it is absent."""
        async for page in self.follow(query.url(), query.family, query.cost):
            yield page

    async def follow(self, url: str, family: Family, units: int) -> AsyncIterator[dict[str, Any]]:
        seen: set[str] = set()
        next_url: str | None = url
        while next_url is not None:
            if next_url in seen:
                raise BadResponse(f"{url.split('?', 1)[0]}: the service sent the same next link twice")
            seen.add(next_url)
            page = await self.get(next_url, family=family, units=units)
            if not isinstance(page, dict):
                raise BadResponse(f"{url.split('?', 1)[0]}: expected a JSON object")
            yield page
            link = page.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None

    # -- $batch -------------------------------------------------------------------------------------------

    async def batch(
        self, requests: Sequence[SubRequest], *, family: Family = "directory", version: str = "v1.0"
    ) -> dict[str, SubResult]:
        """Run up to 20 GETs through ``$batch``; 429 / 5xx inside are retried, other statuses returned."""
        if not requests:
            return {}
        if len(requests) > 20:
            raise ValueError("a $batch holds at most 20 requests")
        pending = list(requests)
        results: dict[str, SubResult] = {}
        attempt = 0
        while pending:
            if attempt >= self.retry.attempts:
                raise RetriesExhausted(
                    f"gave up on {len(pending)} batched read(s) after {self.retry.attempts} attempts; "
                    "run the same command again with --resume"
                )
            ids = {str(n): sub for n, sub in enumerate(pending, 1)}
            payload = {"requests": [{"id": n, "method": "GET", "url": sub.url} for n, sub in ids.items()]}
            units = sum(request_cost(_path_of(sub.url)) for sub in pending)
            self.stats.batches += 1
            self.stats.batched_requests += len(pending)
            response = await self._send(
                "POST", f"/{version}/$batch", family, units, body=orjson.dumps(payload)
            )
            doc = _json(response, "$batch")
            answers = doc.get("responses") if isinstance(doc, dict) else None
            if not isinstance(answers, list):
                raise BadResponse("$batch: the response has no responses array")
            retry_wait: float | None = None
            again: list[SubRequest] = []
            answered: set[str] = set()
            for answer in answers:
                if not isinstance(answer, dict):
                    continue
                sub = ids.get(str(answer.get("id")))
                if sub is None:
                    continue
                answered.add(str(answer.get("id")))
                status = int(answer.get("status") or 0)
                body = answer.get("body")
                if isinstance(body, str | bytes):
                    with contextlib.suppress(orjson.JSONDecodeError):
                        body = orjson.loads(body)
                headers = answer.get("headers") if isinstance(answer.get("headers"), dict) else {}
                if status == 429 or status in _TRANSIENT_STATUS:
                    if status == 429:
                        self.stats.throttled += 1
                    else:
                        self.stats.server_errors += 1
                    wait = _retry_after(headers or {})
                    if status == 429 and wait is None:
                        wait = self.retry.throttle_backoff(attempt, self._rng)
                    if wait is not None:
                        retry_wait = max(retry_wait or 0.0, wait)
                    again.append(sub)
                    continue
                if 200 <= status < 300:
                    results[sub.key] = SubResult(sub.key, status, body)
                else:
                    code, message = "", ""
                    if isinstance(body, dict) and isinstance(body.get("error"), dict):
                        code = str(body["error"].get("code") or "")
                        message = str(body["error"].get("message") or "")
                    results[sub.key] = SubResult(
                        sub.key, status, body, _error(status, code, message, sub.url)
                    )
            again.extend(sub for n, sub in ids.items() if n not in answered)
            pending = again
            if pending:
                attempt += 1
                if retry_wait is not None:
                    self.pacer.hold(family, retry_wait)
                    self.stats.retries += 1
                else:
                    await self._backoff(self.retry.backoff(attempt, self._rng))
        return results


def _path_of(url: str) -> str:
    if url.startswith("/"):
        return url
    return httpx.URL(url).path


def _json(response: httpx.Response, url: str) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise BadResponse(
            f"{url.split('?', 1)[0]}: the response is not JSON (HTTP {response.status_code})"
        ) from None
