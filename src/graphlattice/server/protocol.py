"""The endpoint's HTTP/1.1 connections, guarded: no idle, half-open or slow socket may keep a descriptor.

uvicorn times out a keep-alive connection only after it has answered a request on it: a client that
connects and never sends a request, or sends half of one (a slow-loris), would hold a file descriptor for
ever, and a few hundred such sockets exhaust a process's descriptor limit. :class:`GuardedH11Protocol`
adds what is missing:

* a **request deadline**: a connection must deliver a whole request (request line, headers and body)
  within ``request_timeout`` seconds of connecting or of starting the request, however it trickles in;
  otherwise it is closed. The time the Range takes to answer is not counted (a write may wait for the
  folder's lock);
* a **connection cap**: beyond ``max_connections`` open connections a new one is answered ``503`` in
  Graph's error shape with ``Retry-After`` and closed at once.

uvicorn's own ``timeout_keep_alive`` still closes a connection idle between two requests, and h11's
``max_incomplete_event_size`` bounds the bytes of a request line and headers.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["Limits", "guarded_protocol"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Connection limits of one server (seconds, counts, bytes)."""

    request_timeout: float = 20.0
    keep_alive: int = 30
    max_connections: int = 0  # 0: from the process's descriptor limit (see :func:`default_max_connections`)
    max_header_bytes: int = 32 * 1024

    def connections(self) -> int:
        return self.max_connections or default_max_connections()


def default_max_connections() -> int:
    """Half the descriptors the process may open (the rest are for its files), at most 200, at least 8."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):  # pragma: no cover - no rlimit on this platform
        soft = 1024
    if soft == resource.RLIM_INFINITY:
        soft = 1024
    return max(8, min(200, soft // 2))


def _busy_response() -> bytes:
    body = orjson.dumps(
        {
            "error": {
                "code": "serviceNotAvailable",
                "message": "The Range endpoint has too many open connections; try again shortly.",
            }
        }
    )
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        "retry-after: 1\r\n"
        "connection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request deadline and a connection cap (see the module docstring)."""

    limits = Limits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    # ---- the deadline ---------------------------------------------------------------------------------

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.limits.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _waiting_for_client(self) -> bool:
        """The client owes us (part of) a request: nothing of it is in the Range's hands yet."""
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _expired(self) -> None:
        self._deadline = None
        if self._waiting_for_client() and not self.transport.is_closing():
            self.transport.close()

    # ---- uvicorn's protocol ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.connections():
            transport.write(_busy_response())
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self._waiting_for_client():
            self._arm()  # a request has begun (or goes on): it must be complete in time
        else:
            self._disarm()  # the whole request arrived: the Range is answering it

    def on_response_complete(self) -> None:
        super().on_response_complete()  # arms uvicorn's keep-alive timer for the idle time between requests
        if self.conn.their_state is h11.SEND_BODY:
            self._arm()  # answered before the client finished sending: still owes the rest


def guarded_protocol(limits: Limits) -> type[GuardedH11Protocol]:
    """A protocol class bound to ``limits`` (uvicorn instantiates the class per connection)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})
