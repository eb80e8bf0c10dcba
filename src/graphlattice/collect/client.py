"""A read-only Microsoft Graph client for collection: paging, ``$batch``, pacing, retries, typed errors.

* Paging follows ``@odata.nextLink`` until it is absent (never builds a skip token). A next link that names
  another host is re-based onto the configured endpoint, and redirects are never followed, so the bearer
  token only ever goes where it was meant to go. A next link already followed (a loop) or more pages than
  :class:`~graphlattice.collect.limits.Limits` allows stops the collection.
* Bounds (:mod:`graphlattice.collect.limits`): every request has a deadline for the whole exchange, so a
  server trickling bytes cannot hold it; an answer is streamed and refused once it is larger than the cap,
  never buffered whole first; a ``Retry-After`` longer than the cap fails the collection instead of waiting.
* ``$batch`` sends up to 20 GET requests in one POST; the requests inside are retried one by one when Graph
  answers them with 429 or 5xx.
* Pacing: every request first takes its units from its family's :class:`Pacer` (Graph's documented
  budgets, see :mod:`graphlattice.collect.plan`), so the collector does not provoke 429s it could avoid.
* Retries: a 429 honours ``Retry-After`` and holds the whole family for that long; a 429 without it (the
  Conditional Access family never sends one), a 5xx, a timeout or a dropped connection backs off
  exponentially with full jitter. A 401 gets one fresh token, then stops the run (:class:`CollectError`).
* A 403 (missing permission or licence), 400 or 404 is :class:`CollectionUnavailable`: the collection is
  recorded as an error with the permission to grant and the run goes on. So is every
  :class:`CollectionFailed` (retries exhausted, a wait too long, an answer that is not Graph's).
* When the endpoint gives nothing usable many times in a row, the run stops with a message that names what
  it did give: no answer at all, or which error statuses.

The client only sends GET (and ``$batch`` of GETs). Tokens never appear in messages or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
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
from graphlattice.collect.limits import MB, Limits
from graphlattice.collect.plan import Budget, Family, ListQuery, budget_for, family_of, request_cost
from graphlattice.errors import CollectError

__all__ = [
    "BadResponse",
    "CollectionFailed",
    "CollectionUnavailable",
    "GraphClient",
    "GraphError",
    "Limits",
    "Pacer",
    "PagingLoop",
    "Redirected",
    "ResponseTooLarge",
    "RetriesExhausted",
    "RetryPolicy",
    "Stats",
    "SubRequest",
    "SubResult",
    "WaitRefused",
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


class CollectionFailed(CollectError):
    """One collection cannot be read now; it is recorded as an error with this message, the run goes on, and
    a later ``--resume`` reads it again."""


class BadResponse(CollectionFailed):
    """The service answered, but not with what Graph sends (not JSON, no ``value`` array)."""


class PagingLoop(BadResponse):
    """A next link already followed, or more pages than ``--max-pages``."""


class ResponseTooLarge(BadResponse):
    """An answer larger than ``--max-page-mb``; refused without being read whole."""


class Redirected(BadResponse):
    """A 3xx: redirects are not followed, so the token never goes anywhere else."""


class RetriesExhausted(CollectionFailed):
    """A request kept failing (429, 5xx, timeouts, resets) through every retry."""


class WaitRefused(CollectionFailed):
    """The service asked for a wait (``Retry-After``) longer than ``--max-wait``."""


class _Unanswered(Exception):
    """A send that got no complete answer (connection failure, timeout, deadline); ``cause`` in words."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


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
    code = " ".join(code.split())[:80]  # both are the server's text: one line, and not a flood
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
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _raw_retry_after(headers: Mapping[str, str]) -> str:
    for key, item in headers.items():
        if key.lower() == "retry-after":
            text = str(item).strip()
            return text if len(text) <= 40 else text[:37] + "..."
    return ""


def _duration(seconds: float) -> str:
    """``100,000,000 s (about 3 years)``: a wait as asked, and in words when it is long."""
    if math.isinf(seconds):
        return "forever"
    text = f"{seconds:,.0f} s"
    for size, unit in ((365.25 * 86400, "years"), (86400, "days"), (3600, "hours"), (60, "minutes")):
        if seconds >= 2 * size:
            return f"{text} (about {seconds / size:,.0f} {unit})"
    return text


def _shown(url: str) -> str:
    """A request's path for messages: no query (it may be long), at most 120 characters."""
    path = url.split("?", 1)[0]
    return path if len(path) <= 120 else path[:117] + "..."


def _size(count: int) -> str:
    return f"{count / MB:,.1f} MB" if count >= MB // 10 else f"{count:,} bytes"


def _transport_cause(exc: httpx.TransportError, limits: Limits) -> str:
    """What went wrong with a send that got no answer, in words."""
    timeout = limits.timeout()
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {timeout.connect:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no data for {timeout.read:g} s"
    if isinstance(exc, httpx.WriteTimeout):
        return f"the request could not be sent within {timeout.write:g} s"
    if isinstance(exc, httpx.PoolTimeout):
        return f"no free connection within {timeout.pool:g} s"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection was closed without a complete answer"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "the connection was reset"
    return type(exc).__name__


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
        limits: Limits | None = None,
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
        self.limits = limits or Limits()
        self.stats = Stats()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._token: str | None = None
        self._token_lock = asyncio.Lock()
        self._failures_in_row = 0
        self._streak: dict[str, int] = {}  # what the failures in a row were: cause -> how many
        self._answered_at: float | None = None  # when the service last answered usefully (None: never)
        self.server_time: datetime | None = None
        self.first_response = asyncio.Event()
        self._http = httpx.AsyncClient(
            timeout=self.limits.timeout(),
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

    def _answered(self) -> None:
        """A useful answer (a success, a 4xx, a 429): the endpoint is alive, the streak of failures ends."""
        self._failures_in_row = 0
        self._streak.clear()
        self._answered_at = time.monotonic()

    def _failed_send(self, cause: str) -> None:
        """Count a send that got no usable answer (``cause``: ``HTTP 500 ...``, ``could not connect`` ...);
        stop the run when the endpoint seems gone: at once if it never answered usefully (a wrong address,
        a server that only fails), else after ``outage`` seconds of nothing usable (riding out blips)."""
        self._failures_in_row += 1
        self._streak[cause] = self._streak.get(cause, 0) + 1
        if self._failures_in_row < self.retry.breaker:
            return
        silent = None if self._answered_at is None else time.monotonic() - self._answered_at
        if silent is not None and silent < self.retry.outage:
            return
        causes = ", ".join(
            f"{count} × {what}" for what, count in sorted(self._streak.items(), key=lambda kv: -kv[1])
        )
        if silent is not None:
            how = f"has answered nothing usable for {silent:.0f} s"
        elif any(what.startswith("HTTP ") for what in self._streak):
            how = "answered only with errors"
        else:
            how = "never answered"
        raise CollectError(
            f"{self.base_url} {how}: {self._failures_in_row} requests in a row failed ({causes}); "
            "nothing finished is lost: run the same command again with --resume"
        )

    async def _exchange(
        self, method: str, target: httpx.URL, body: bytes | None, token: str
    ) -> httpx.Response:
        """One HTTP exchange within the request deadline, its answer read in full but never beyond the cap.

        Raises :class:`_Unanswered` (retried) when no complete answer came, and :class:`ResponseTooLarge`
        (not retried) for an answer over the cap."""
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(method, target, content=body, headers=headers)
        limits = self.limits
        try:
            async with asyncio.timeout(limits.deadline):
                response = await self._http.send(request, stream=True)
                try:
                    content = await self._read_capped(response, target)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise _Unanswered(
                f"no complete answer within the {limits.deadline:g} s request deadline"
            ) from None
        except httpx.TransportError as exc:
            raise _Unanswered(_transport_cause(exc, limits)) from None
        # the body is decoded already: the headers that described its encoding on the wire go
        kept = [
            (key, value)
            for key, value in response.headers.multi_items()
            if key.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=kept, content=content, request=request)

    async def _read_capped(self, response: httpx.Response, target: httpx.URL) -> bytes:
        cap = self.limits.max_page_bytes
        where = _shown(target.path)
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise ResponseTooLarge(
                f"{where}: the answer is {_size(int(declared))} (Content-Length), more than the "
                f"{_size(cap)} a page may have (--max-page-mb); refused without reading it"
            )
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLarge(
                        f"{where}: the answer is larger than the {_size(cap)} a page may have "
                        "(--max-page-mb); refused after reading that much"
                    )
                chunks.append(chunk)
            return b"".join(chunks)
        except MemoryError:
            chunks.clear()
            raise BadResponse(
                f"{where}: not enough memory on this machine to hold the answer ({_size(size)} read; "
                "--max-page-mb caps the size of a page)"
            ) from None

    def _allowed_wait(self, wait: float, url: str, headers: Mapping[str, str], status: int) -> float:
        """``wait`` within ``--max-wait``, else :class:`WaitRefused` naming the endpoint and the wait."""
        if wait <= self.limits.max_wait:
            return wait
        raise WaitRefused(
            f"{self.base_url} answered HTTP {status} to {_shown(url)} and asked to wait "
            f"{_duration(wait)} (Retry-After: {_raw_retry_after(headers)}), longer than the "
            f"{self.limits.max_wait:g} s the collector waits (--max-wait)"
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
            self.stats.count(family, units)
            try:
                response = await self._exchange(method, target, body, token)
            except _Unanswered as exc:
                self.stats.transport_errors += 1
                last = exc.cause
                self._failed_send(last)
                await self._backoff(self.retry.backoff(attempt, self._rng))
                attempt += 1
                continue
            finally:
                self.pacer.settle(slot)
            status = response.status_code
            self._note_time(response)
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
                self._answered()  # a throttled service is alive
                self.stats.throttled += 1
                self._throttled(family, url, response.headers, attempt)
                last = "HTTP 429 Too Many Requests"
                attempt += 1
                continue
            if status in _TRANSIENT_STATUS:
                self.stats.server_errors += 1
                error = _error_of(response, url)
                cause = f"HTTP {status} {error.code if error.code != 'Error' else response.reason_phrase}"
                last = f"{cause}: {error.graph_message}" if error.graph_message else cause
                self._failed_send(cause)
                wait = _retry_after(response.headers)
                if wait is not None:
                    wait = self._allowed_wait(wait, url, response.headers, status)
                await self._backoff(wait if wait is not None else self.retry.backoff(attempt, self._rng))
                attempt += 1
                continue
            self._answered()
            if 200 <= status < 300:
                return response
            if 300 <= status < 400:
                raise self._redirected(response, url)
            raise _error_of(response, url)
        raise RetriesExhausted(
            f"gave up on {_shown(url)} after {self.retry.attempts} attempts (last: {last})"
        )

    def _redirected(self, response: httpx.Response, url: str) -> Redirected:
        location = response.headers.get("location", "")
        try:
            to = httpx.URL(location) if location else None
        except (httpx.InvalidURL, ValueError, UnicodeError):
            to = None
        origin = (self._base.scheme, self._base.host, self._base.port)
        where = "elsewhere"
        if to is not None and to.host and (to.scheme, to.host, to.port) != origin:
            where = f"to {to.netloc.decode('ascii', 'replace')}"
        return Redirected(
            f"{_shown(url)}: {self.base_url} answered HTTP {response.status_code}, a redirect {where}; "
            f"redirects are not followed, so the token goes to {self.base_url} only"
        )

    def _throttled(self, family: Family, url: str, headers: Mapping[str, str], attempt: int) -> None:
        wait = _retry_after(headers)
        if wait is None:
            wait = self.retry.throttle_backoff(attempt, self._rng)
        else:
            wait = self._allowed_wait(wait, url, headers, 429)
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
        """Every page from ``url`` on; :class:`PagingLoop` for a next link already followed or more pages
        than ``--max-pages``."""
        where = _shown(url)
        seen: set[bytes] = set()  # digests, so that long next links do not pile up in memory
        pages = 0
        next_url: str | None = url
        while next_url is not None:
            try:
                key = hashlib.blake2b(str(self.absolute(next_url)).encode(), digest_size=16).digest()
            except (httpx.InvalidURL, ValueError, UnicodeError):
                raise BadResponse(f"{where}: page {pages} has a next link that is not a URL") from None
            if key in seen:
                raise PagingLoop(
                    f"{where}: page {pages} links back to a page already read, so the paging would never "
                    "end; the collection is incomplete"
                )
            if pages >= self.limits.max_pages:
                raise PagingLoop(
                    f"{where}: still more after {pages:,} pages, the most a collection may have "
                    "(--max-pages); the endpoint is most likely sending next links without end (raise "
                    "--max-pages if the tenant really is that large)"
                )
            seen.add(key)
            page = await self.get(next_url, family=family, units=units)
            pages += 1
            if not isinstance(page, dict):
                raise BadResponse(f"{where}: expected a JSON object")
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
                    f"gave up on {len(pending)} batched read(s) after {self.retry.attempts} attempts"
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
                    if wait is not None:
                        wait = self._allowed_wait(wait, sub.url, headers or {}, status)
                    elif status == 429:
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
    """The answer's JSON; :class:`BadResponse` naming the real cause when it cannot be read."""
    content = response.content
    try:
        return orjson.loads(content)
    except MemoryError:
        reason = "not enough memory"
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
    kind = response.headers.get("content-type", "").split(";", 1)[0].strip() or "no content type"
    where = f"{_shown(url)}: the answer (HTTP {response.status_code}, {kind}, {_size(len(content))})"
    if "memory" in reason.casefold():
        raise BadResponse(
            f"{where} could not be parsed: not enough memory on this machine (--max-page-mb caps the size "
            "of a page)"
        )
    raise BadResponse(f"{where} is not valid JSON ({reason})")
