"""Graph's error body and the errors the endpoint raises.

Every failure leaves the server as Microsoft Graph shapes it::

    {"error": {"code": "Request_ResourceNotFound", "message": "...",
               "innerError": {"date": "...", "request-id": "...", "client-request-id": "..."}}}

Codes (reference/graph.md §9): 400 ``Request_BadRequest`` (malformed input; ``Request_UnsupportedQuery`` for
a well-formed query Graph does not support), 401 ``InvalidAuthenticationToken``, 403
``Authorization_RequestDenied``, 404 ``Request_ResourceNotFound``, 405 (a method the resource does not take),
424 ``FailedDependency`` (inside ``$batch``), 429 ``TooManyRequests``, 501 ``NotImplemented`` (real Graph
serves it, the Range does not; see docs/graph-parity.md), 503 ``serviceNotAvailable`` with ``Retry-After``
(Graph's answer when the service is temporarily busy; the Range's when another process held its folder's
lock for too long).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

__all__ = [
    "BAD_REQUEST",
    "FORBIDDEN",
    "NOT_FOUND",
    "NOT_IMPLEMENTED",
    "THROTTLED",
    "UNAUTHORIZED",
    "UNAVAILABLE",
    "UNSUPPORTED_QUERY",
    "GraphError",
    "bad_request",
    "error_body",
    "method_not_allowed",
    "not_found",
    "not_implemented",
]

BAD_REQUEST = "Request_BadRequest"
UNSUPPORTED_QUERY = "Request_UnsupportedQuery"
UNAUTHORIZED = "InvalidAuthenticationToken"
FORBIDDEN = "Authorization_RequestDenied"
NOT_FOUND = "Request_ResourceNotFound"
NOT_IMPLEMENTED = "NotImplemented"
THROTTLED = "TooManyRequests"
UNAVAILABLE = "serviceNotAvailable"


class GraphError(Exception):
    """An HTTP error with Graph's code; ``headers`` are added to the response (``Retry-After`` ...)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str, code: str = BAD_REQUEST) -> GraphError:
    return GraphError(400, code, message)


def not_found(what: str) -> GraphError:
    return GraphError(
        404,
        NOT_FOUND,
        f"Resource '{what}' does not exist or one of its queried reference-property objects are not present.",
    )


def method_not_allowed() -> GraphError:
    return GraphError(405, BAD_REQUEST, "Specified HTTP method is not allowed for the request target.")


def not_implemented(what: str) -> GraphError:
    return GraphError(
        501,
        NOT_IMPLEMENTED,
        f"{what} is not served by the GraphLattice Range (see docs/graph-parity.md).",
    )


def error_body(code: str, message: str, request_id: str, client_request_id: str) -> bytes:
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return orjson.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": date,
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                },
            }
        }
    )
