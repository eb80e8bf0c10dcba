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

from graphlattice.errors import InvalidValue

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
    "invalid_value",
    "method_not_allowed",
    "not_found",
    "not_implemented",
    "refused",
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


_NS = "microsoft.graph."
_DIALECTS: dict[str, tuple[str, str]] = {
    # Conditional Access answers a body that does not fit its type with code BadRequest and error 1007.
    _NS + "conditionalAccessPolicy": (
        "BadRequest",
        "1007: Incoming ConditionalAccessPolicy object is null or does not match the schema of "
        "ConditionalAccessPolicy type. {detail}",
    ),
    # The authentication methods service names the property: "Invalid LifetimeInMinutes specified. ..."
    _NS + "temporaryAccessPassAuthenticationMethod": ("badRequest", "Invalid {Property} specified. {detail}"),
    _NS + "temporaryAccessPassAuthenticationMethodConfiguration": (
        "badRequest",
        "Invalid {Property} specified. {detail}",
    ),
    "resetPassword parameters": (
        BAD_REQUEST,
        "The specified password does not comply with password complexity requirements. Please provide a "
        "different password. ({detail})",
    ),
    _NS + "user": (
        BAD_REQUEST,
        "Invalid value specified for property '{property}' of resource 'User'. {detail}",
    ),
}
"""How Graph words a 400 for a body that breaks its resource's types or limits (code, message template);
other resources answer ``Request_BadRequest`` naming the property."""


def refused(graph_type: str, reason: str) -> GraphError:
    """Graph's 400 when the service refuses a well-formed body of ``graph_type`` (e.g. a pass lifetime
    outside the tenant's policy): that resource's error code, the service's reason."""
    code, _ = _DIALECTS.get(graph_type, (BAD_REQUEST, ""))
    return GraphError(400, code, reason)


def invalid_value(graph_type: str, exc: InvalidValue, names: Mapping[str, str] | None = None) -> GraphError:
    """Graph's 400 for ``exc`` in a body of ``graph_type``; ``names`` maps action parameters back to the
    Graph properties they came from."""
    prop = (names or {}).get(exc.field, exc.field)
    top = prop.split(".", 1)[0].split("[", 1)[0]
    detail = f"{prop} {exc.reason}."
    code, template = _DIALECTS.get(graph_type, (BAD_REQUEST, "{detail}"))
    message = template.format(detail=detail, property=prop, Property=top[:1].upper() + top[1:])
    return GraphError(400, code, message)


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
