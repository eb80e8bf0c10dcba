"""Optional throttling (``range serve --throttle``): Microsoft Graph's documented budgets, per family.

The budgets are data (:data:`GRAPH_BUDGETS`), from Microsoft's "Microsoft Graph service-specific throttling
limits" (learn.microsoft.com/graph/throttling-limits; microsoftgraph/microsoft-graph-docs-contrib
``concepts/throttling-limits.md``) as summarised in reference/graph.md §8.1. Microsoft says the limits are
subject to change; the figures here are the documented ones.

* **identity** (users, groups, roles, authentication methods and policies, service principals): a token
  bucket of resource units per app and tenant, 3,500 / 5,000 / 8,000 RU per 10 s for tenants under 50, up to
  500 and over 500 users; a request costs 1 RU, ``GET users`` 2, ``GET groups/{id}/members`` 3,
  ``transitiveMembers`` 5, minus 1 with ``$select``, plus 1 with ``$expand``, minus 1 with ``$top`` under 20,
  at least 1. Writes also spend write units: 3,000 per 150 s. Responses carry ``x-ms-resource-unit`` and,
  above 80% of the budget, ``x-ms-throttle-limit-percentage``; a 429 carries ``Retry-After``,
  ``x-ms-throttle-scope`` and ``x-ms-throttle-information``.
* **reports** (``auditLogs``, ``reports``): 5 requests per 10 s per app and tenant; 429 with ``Retry-After``.
* **conditionalAccess** (Conditional Access and Identity Protection): 1 request per second per tenant, all
  apps together; 429 **without** ``Retry-After`` (a client must back off on its own).

Inside ``$batch`` every request counts on its own. Time is wall-clock time, not the Range's clock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from graphlattice.server.errors import THROTTLED, GraphError

__all__ = ["GRAPH_BUDGETS", "Budgets", "Throttle", "family_of", "request_cost"]

SOURCE = (
    "Microsoft Graph service-specific throttling limits (learn.microsoft.com/graph/throttling-limits; "
    "microsoft-graph-docs-contrib concepts/throttling-limits.md), reference/graph.md §8.1"
)


@dataclass(frozen=True, slots=True)
class Budgets:
    """Throttling budgets. ``identity_ru``: (users below, RU per window) by tenant size, last entry for
    larger tenants."""

    identity_ru: tuple[tuple[int | None, int], ...] = ((50, 3500), (501, 5000), (None, 8000))
    identity_window: float = 10.0
    write_units: int = 3000
    write_window: float = 150.0
    reports_requests: int = 5
    reports_window: float = 10.0
    ca_requests: int = 1
    ca_window: float = 1.0
    costs: tuple[tuple[str, int], ...] = (
        ("/users", 2),
        ("/groups/*/members", 3),
        ("/groups/*/transitiveMembers", 5),
        ("/applications", 2),
        ("/directoryObjects/getByIds", 3),
        ("/users/*/memberOf", 2),
    )
    source: str = SOURCE

    def identity_capacity(self, users: int) -> int:
        for below, units in self.identity_ru:
            if below is None or users < below:
                return units
        return self.identity_ru[-1][1]


GRAPH_BUDGETS = Budgets()
"""Microsoft's documented budgets."""


def family_of(path: str) -> str:
    """``identity``, ``reports`` or ``conditionalAccess`` for a path below the version (``/users/...``)."""
    lowered = path.casefold()
    if lowered.startswith(("/auditlogs", "/reports")):
        return "reports"
    if lowered.startswith(
        ("/identity/conditionalaccess", "/identityprotection", "/policies/conditionalaccesspolicies")
    ):
        return "conditionalAccess"
    return "identity"


def _matches(pattern: str, path: str) -> bool:
    want = pattern.casefold().strip("/").split("/")
    have = path.casefold().strip("/").split("/")
    return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


def request_cost(budgets: Budgets, method: str, path: str, options: dict[str, str]) -> int:
    """Resource units of one identity request."""
    if method != "GET":
        return 1
    base = next((cost for pattern, cost in budgets.costs if _matches(pattern, path)), 1)
    if "$select" in options:
        base -= 1
    if "$expand" in options:
        base += 1
    top = options.get("$top", "")
    if top.isdigit() and int(top) < 20:
        base -= 1
    return max(base, 1)


@dataclass(slots=True)
class _Bucket:
    capacity: float
    rate: float  # units per second
    level: float
    at: float

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.at) * self.rate)
        self.at = now


@dataclass(slots=True)
class Throttle:
    """Budget keeping for one server (one tenant). ``clock`` is injectable for tests."""

    budgets: Budgets = GRAPH_BUDGETS
    clock: Callable[[], float] = time.monotonic
    _identity: dict[str, _Bucket] = field(default_factory=dict)
    _writes: dict[str, _Bucket] = field(default_factory=dict)
    _reports: dict[str, deque[float]] = field(default_factory=dict)
    _ca: deque[float] = field(default_factory=deque)

    def _bucket(self, store: dict[str, _Bucket], key: str, capacity: float, window: float) -> _Bucket:
        now = self.clock()
        bucket = store.get(key)
        if bucket is None or bucket.capacity != capacity:
            bucket = store[key] = _Bucket(capacity, capacity / window, capacity, now)
        bucket.refill(now)
        return bucket

    def check(
        self, *, app_id: str, tenant_id: str, users: int, method: str, path: str, options: dict[str, str]
    ) -> dict[str, str]:
        """Spend the request's budget; the headers to send, or GraphError 429 when it is spent."""
        family = family_of(path)
        if family == "reports":
            return self._window(
                self._reports.setdefault(app_id, deque()),
                self.budgets.reports_requests,
                self.budgets.reports_window,
                retry_after=True,
            )
        if family == "conditionalAccess":
            return self._window(self._ca, self.budgets.ca_requests, self.budgets.ca_window, retry_after=False)
        b = self.budgets
        cost = request_cost(b, method, path, options)
        kind = "Read" if method == "GET" else "Write"
        scope = f"Tenant_Application/{kind}/{app_id}/{tenant_id}"
        bucket = self._bucket(self._identity, app_id, b.identity_capacity(users), b.identity_window)
        if method != "GET":
            writes = self._bucket(self._writes, app_id, b.write_units, b.write_window)
            if writes.level < 1:
                raise self._limited(writes, 1, scope, "WriteLimitExceeded")
            writes.level -= 1
        if bucket.level < cost:
            raise self._limited(bucket, cost, scope, "ResourceUnitLimitExceeded")
        bucket.level -= cost
        headers = {"x-ms-resource-unit": str(cost)}
        used = 1 - bucket.level / bucket.capacity
        if used >= 0.8:
            headers["x-ms-throttle-limit-percentage"] = f"{used:.1f}"
        return headers

    @staticmethod
    def _limited(bucket: _Bucket, cost: float, scope: str, information: str) -> GraphError:
        wait = max(1, math.ceil((cost - bucket.level) / bucket.rate))
        return GraphError(
            429,
            THROTTLED,
            "Too many requests: the application's resource unit budget for this tenant is spent; retry after "
            f"{wait} s.",
            headers={
                "Retry-After": str(wait),
                "x-ms-throttle-scope": scope,
                "x-ms-throttle-information": information,
            },
        )

    def _window(self, seen: deque[float], limit: int, window: float, *, retry_after: bool) -> dict[str, str]:
        now = self.clock()
        while seen and seen[0] <= now - window:
            seen.popleft()
        if len(seen) >= limit:
            wait = max(1, math.ceil(seen[0] + window - now))
            headers = {"Retry-After": str(wait)} if retry_after else {}
            raise GraphError(429, THROTTLED, "Too many requests.", headers=headers)
        seen.append(now)
        return {}
