"""What a route handler sees of one request, and the helpers that shape Graph responses."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import Headers

from graphlattice.errors import InvalidValue
from graphlattice.range.schema import Spec, check
from graphlattice.server import access as A
from graphlattice.server.auth import Principal
from graphlattice.server.errors import GraphError, bad_request, invalid_value, not_implemented
from graphlattice.server.odata import ListSpec, Query, TokenSigner, next_link, project, select_rows
from graphlattice.server.service import RangeService, Views

__all__ = [
    "BODY_LIMIT",
    "GRAPH_JSON",
    "GraphContext",
    "RowCache",
    "check_body",
    "graph",
    "no_content",
    "read_body",
    "read_json",
]

Json = dict[str, Any]
GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
SCOPE_KEY = "graphlattice"
BODY_LIMIT = 1_000_000
"""Bytes of a request body (a write's body is a few kilobytes; ``$batch`` has its own, larger limit)."""


class RowCache:
    """Filtered and sorted row indices per (generation, collection, filter, order): paging through a large
    filtered collection filters it once, not once per page."""

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._data: OrderedDict[tuple[object, ...], list[int]] = OrderedDict()

    def get(self, key: tuple[object, ...], make: Callable[[], list[int]]) -> list[int]:
        found = self._data.get(key)
        if found is not None:
            self._data.move_to_end(key)
            return found
        found = self._data[key] = make()
        if len(self._data) > self._size:
            self._data.popitem(last=False)
        return found


@dataclass(slots=True)
class GraphContext:
    service: RangeService
    views: Views
    version: str  # "v1.0" or "beta"
    principal: Principal
    base: str  # scheme://host[:port]
    path: str  # below the version, e.g. /users/abc
    query: Query
    headers: Headers
    signer: TokenSigner
    rows: RowCache
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> str:
        return f"{self.base}/{self.version}"

    @property
    def beta(self) -> bool:
        return self.version == "beta"

    def metadata(self, fragment: str) -> str:
        return f"{self.root}/$metadata#{fragment}"

    # ---- authorization ----------------------------------------------------------------------------------

    def _roles(self) -> frozenset[str]:
        return self.views.active_roles(self.principal.object_id)

    def _permissions(self) -> frozenset[str]:
        return self.views.app_permissions(self.principal.object_id)

    def authorize(self, access: A.Access, *, target_user_id: str | None = None) -> None:
        A.authorize(
            self.principal,
            access,
            roles=self._roles,
            app_permissions=self._permissions,
            target_user_id=target_user_id,
        )

    def may(self, access: A.Access) -> bool:
        return A.may(self.principal, access, roles=self._roles, app_permissions=self._permissions)

    def actor(self, access: A.Access) -> str:
        """The UPN a write acts as. Applications are checked for the permission, then told that the Range
        carries out writes for users only (its actions name a user as the actor)."""
        if self.principal.kind == "app":
            self.authorize(access)
            raise not_implemented(
                "A write with an application token (the Range's actions are taken by users)"
            )
        return self.principal.name

    # ---- responses --------------------------------------------------------------------------------------

    def json(self, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(orjson.dumps(payload), status_code=status, media_type=GRAPH_JSON, headers=headers)

    def entity(
        self,
        fragment: str,
        item: Json,
        *,
        shape: Callable[[Json], Json] | None = None,
        post: Callable[[Json], Json] | None = None,
    ) -> Response:
        """One object: ``$select`` projects it, else ``shape`` shapes it; ``post`` finishes either."""
        select = self.query.select
        body = project(item, select) if select else (shape(item) if shape else item)
        if post is not None:
            body = post(body)
        context = self.metadata(f"{fragment}/$entity")
        return self.json({"@odata.context": context, **body})

    def collection(
        self,
        fragment: str,
        items: Sequence[Json],
        spec: ListSpec,
        *,
        shape: Callable[[Json], Json] | None = None,
        post: Callable[[Json], Json] | None = None,
        top_limit: int | None = None,
        cache_key: str | None = None,
    ) -> Response:
        """A paged collection: ``$filter``, ``$orderby``, ``$top``/``$skiptoken``, ``$select``, ``$count``.
        ``shape`` shapes an item when nothing is selected; ``post`` finishes every item of the page."""
        query = self.query
        if query.get("$count") is not None:
            if (query.get("$count") or "").casefold() not in ("true", "false"):
                raise bad_request(f"Invalid value for $count: '{query.get('$count')}'.")
            if spec.consistency and (self.headers.get("consistencylevel") or "").casefold() != "eventual":
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "$count is not currently supported without the ConsistencyLevel: eventual header.",
                )
        key = (self.views.generation, self.version, cache_key or self.path)

        def cached(sub: str, make: Callable[[], list[int]]) -> list[int]:
            return self.rows.get((*key, sub), make)

        rows, token, count = select_rows(items, query, spec, self.signer, cached=cached, top_limit=top_limit)
        select = query.select
        if select:
            value = [project(r, select) for r in rows]
        elif shape is not None:
            value = [shape(r) for r in rows]
        else:
            value = rows
        if post is not None:
            value = [post(v) for v in value]
        context = self.metadata(fragment + (f"({','.join(select)})" if select else ""))
        body: Json = {"@odata.context": context}
        if count is not None:
            body["@odata.count"] = count
        if token is not None:
            body["@odata.nextLink"] = next_link(self.root, self.path, query, token)
        body["value"] = value
        return self.json(body)


def graph(request: Request) -> GraphContext:
    """The request's context (set by the gateway before routing)."""
    ctx: GraphContext = request.scope[SCOPE_KEY]
    return ctx


def no_content() -> Response:
    return Response(status_code=204)


async def read_json(request: Request, *, required: bool = True) -> Json:
    """The request body as a JSON object (400 when it is not one, 413 when it is too large)."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > BODY_LIMIT:
            raise GraphError(413, "Request_EntityTooLarge", f"The request body exceeds {BODY_LIMIT} bytes.")
    if not raw.strip():
        if required:
            raise bad_request("The request body is empty; a JSON object is expected.")
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Invalid JSON in the request body: {exc.msg}.") from None
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object.")
    return value


def check_body(spec: Spec, body: Json) -> Json:
    """``body`` as sent, once it fits its resource's Graph types and limits (see
    :mod:`graphlattice.range.writes`); Graph's 400 for the resource when it does not. The action reads the
    values again, and a response may echo them as they came."""
    try:
        check(spec, body, "")
    except InvalidValue as exc:
        raise invalid_value(spec.graph_type, exc) from None
    return body


async def read_body(request: Request, spec: Spec, *, required: bool = True) -> Json:
    """The request body as a JSON object that fits ``spec`` (see :func:`check_body`)."""
    return check_body(spec, await read_json(request, required=required))
