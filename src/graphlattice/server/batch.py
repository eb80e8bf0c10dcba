"""``POST /$batch``: up to 20 requests in one (reference/graph.md §8.2).

Each inner request goes through the whole pipeline on its own — authentication with the outer request's
token, throttling, routing, errors — so an inner 403 or 429 is that request's answer, and the batch itself is
200. ``dependsOn`` orders requests; a request whose dependency failed (status 400 or more) is not run and
answers 424. Ids must be unique, dependencies must name earlier-declared requests without cycles, a request
with a body needs a ``Content-Type`` header, and ``url`` is relative to the version (``/users?$top=5``).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from graphlattice.server.errors import bad_request

__all__ = ["MAX_REQUESTS", "Dispatch", "run_batch"]

MAX_REQUESTS = 20
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})

Dispatch = Callable[[str, str, list[tuple[str, str]], bytes], Awaitable[tuple[int, dict[str, str], bytes]]]
"""(method, relative url, headers, body) -> (status, headers, body) of one inner request."""


def _check(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("requests"), list):
        raise bad_request('A batch request body is {"requests": [...]}.')
    requests = doc["requests"]
    if not requests:
        raise bad_request("A batch request must contain at least one request.")
    if len(requests) > MAX_REQUESTS:
        raise bad_request(
            f"The number of requests in a batch ({len(requests)}) exceeds the limit of {MAX_REQUESTS}."
        )
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for index, req in enumerate(requests):
        if not isinstance(req, Mapping):
            raise bad_request(f"Batch request {index} is not an object.")
        rid, method, url = req.get("id"), req.get("method"), req.get("url")
        if not isinstance(rid, str) or not rid:
            raise bad_request(f"Batch request {index} needs an 'id' (a string).")
        if rid in seen:
            raise bad_request(f"Batch request id '{rid}' is used more than once; ids must be unique.")
        seen.add(rid)
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise bad_request(f"Batch request '{rid}' has an invalid method: {method!r}.")
        if (
            not isinstance(url, str)
            or not url
            or "://" in url
            or url.startswith("//")
            or any(c in url for c in "\r\n")
        ):
            raise bad_request(f"Batch request '{rid}' needs a relative 'url', e.g. /users?$top=5.")
        if url.lstrip("/").split("?")[0].rstrip("/").casefold() == "$batch":
            raise bad_request(f"Batch request '{rid}': a batch cannot contain another batch.")
        headers = req.get("headers") or {}
        if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise bad_request(f"Batch request '{rid}': 'headers' must map names to strings.")
        if (
            "body" in req
            and req["body"] is not None
            and not any(k.casefold() == "content-type" for k in headers)
        ):
            raise bad_request(f"Batch request '{rid}' has a body but no Content-Type header.")
        depends = req.get("dependsOn") or []
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise bad_request(f"Batch request '{rid}': 'dependsOn' must be a list of request ids.")
        out.append(dict(req, method=method.upper(), headers=dict(headers), dependsOn=list(depends)))
    ids = {r["id"] for r in out}
    for req in out:
        for dep in req["dependsOn"]:
            if dep not in ids or dep == req["id"]:
                raise bad_request(f"Batch request '{req['id']}' depends on an unknown request '{dep}'.")
    return out


def _order(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests in an order that runs every dependency first (stable otherwise); 400 on a cycle."""
    by_id = {r["id"]: r for r in requests}
    done: set[str] = set()
    visiting: set[str] = set()
    ordered: list[dict[str, Any]] = []

    def visit(rid: str) -> None:
        if rid in done:
            return
        if rid in visiting:
            raise bad_request(f"Batch request '{rid}' is part of a dependsOn cycle.")
        visiting.add(rid)
        for dep in by_id[rid]["dependsOn"]:
            visit(dep)
        visiting.discard(rid)
        done.add(rid)
        ordered.append(by_id[rid])

    for req in requests:
        visit(req["id"])
    return ordered


def _body_bytes(req: Mapping[str, Any]) -> bytes:
    body = req.get("body")
    if body is None:
        return b""
    if isinstance(body, str):
        content_type = next((v for k, v in req["headers"].items() if k.casefold() == "content-type"), "")
        if "json" not in content_type.casefold():
            try:
                return base64.b64decode(body, validate=True)
            except ValueError:
                return body.encode("utf-8")
    return orjson.dumps(body)


def _response_body(headers: Mapping[str, str], raw: bytes) -> Any:
    if not raw:
        return None
    content_type = next((v for k, v in headers.items() if k.casefold() == "content-type"), "")
    if "json" in content_type.casefold():
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii")


async def run_batch(raw: bytes, dispatch: Dispatch, failed_dependency: Callable[[], bytes]) -> bytes:
    """The ``{"responses": [...]}`` body for a batch request body (400 GraphError for a bad batch)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Invalid JSON in the batch request body: {exc.msg}.") from None
    requests = _order(_check(doc))
    status_of: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for req in requests:
        rid = req["id"]
        if any(status_of.get(dep, 0) >= 400 for dep in req["dependsOn"]):
            status_of[rid] = 424
            responses.append(
                {
                    "id": rid,
                    "status": 424,
                    "headers": {"Content-Type": "application/json"},
                    "body": orjson.loads(failed_dependency()),
                }
            )
            continue
        url = req["url"] if req["url"].startswith("/") else "/" + req["url"]
        status, headers, body = await dispatch(
            req["method"], url, list(req["headers"].items()), _body_bytes(req)
        )
        status_of[rid] = status
        entry: dict[str, Any] = {"id": rid, "status": status, "headers": headers}
        parsed = _response_body(headers, body)
        if parsed is not None:
            entry["body"] = parsed
        responses.append(entry)
    order = {r["id"]: i for i, r in enumerate(doc["requests"])}
    responses.sort(key=lambda r: order[r["id"]])
    return orjson.dumps({"responses": responses})
