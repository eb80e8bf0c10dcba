"""A misbehaving Graph endpoint on 127.0.0.1, for the collector's bounds tests over real sockets.

By default it answers like an empty tenant (every collection ``{"value": []}``, the authentication methods
policy as an object, ``$batch`` inner answers 200). A route (keyed by the path after the version, such as
``/users``) replaces one answer with a misbehaviour written with the helpers below: a ``Retry-After`` of
years, a body trickled a byte at a time, next links that loop or never end, a page far larger than any
Graph page, a redirect to another host, server errors, error text carrying terminal escape sequences.

It records every request (method, target, headers), so a test can tell which host saw the token and how
many pages were asked for, and whether the client hung up before a long answer was sent in full.
Runs its own event loop in a background thread; the collector under test runs in the test's thread or in
another process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

DATE = "Mon, 16 Nov 2026 08:30:00 GMT"
TENANT = "6f1c2a9e-4b7d-4e25-9a0c-3d8e5b1f7a42"


@dataclass
class Request:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def path(self) -> str:
        """The path after the version, without the query: ``/users``."""
        path = self.target.split("?", 1)[0]
        for version in ("/v1.0", "/beta"):
            if path.startswith(version + "/"):
                return path[len(version) :]
        return path

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """(method, target, headers, body) of the next HTTP/1.1 request on ``reader``."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
    length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
    body = await reader.readexactly(length) if length else b""
    return method, target, headers, body


Route = Callable[[Request, asyncio.StreamWriter, "HostileGraph"], Awaitable[bool]]
"""Answer ``request`` on ``writer``; return whether the connection stays open for the next request."""


@dataclass
class Stats:
    hung_up: int = 0  # answers the client stopped reading before they were sent in full


@dataclass
class HostileGraph:
    routes: dict[str, Route] = field(default_factory=dict)
    fallback: Route | None = None  # for every path no route names; default: the empty tenant
    seen: list[Request] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.seen if path is None or r.path == path]

    # ---- one connection ---------------------------------------------------------------------------------

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                method, target, headers, body = await read_request(reader)
                request = Request(method, target, {k.lower(): v for k, v in headers}, body)
                with self._lock:
                    self.seen.append(request)
                route = self.routes.get(request.path, self.fallback or empty_graph)
                if not await route(request, writer, self):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            return  # the endpoint is stopping: end quietly
        finally:
            if not writer.is_closing():
                writer.close()


# ---- answers --------------------------------------------------------------------------------------------


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Date: {DATE}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def send(
    writer: asyncio.StreamWriter, status: int, payload: Any = None, headers: dict[str, str] | None = None
) -> bool:
    """An ordinary answer: JSON ``payload`` (or bytes as they are) with its length."""
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload) if payload is not None else b""
    extra = {"Content-Type": "application/json", **(headers or {}), "Content-Length": str(len(body))}
    writer.write(_head(status, extra) + body)
    await writer.drain()
    return True


async def empty_graph(request: Request, writer: asyncio.StreamWriter, graph: HostileGraph) -> bool:
    """An empty tenant, as Graph shapes it."""
    if request.path == "/$batch":
        inner = orjson.loads(request.body).get("requests", [])
        answers = [{"id": r["id"], "status": 200, "body": {"value": []}} for r in inner]
        return await send(writer, 200, {"responses": answers})
    if request.path == "/policies/authenticationMethodsPolicy":
        return await send(writer, 200, {"id": "authenticationMethodsPolicy"})
    if request.path == "/organization":
        return await send(writer, 200, {"value": [{"id": TENANT}]})
    return await send(writer, 200, {"value": []})


def graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Route:
    async def route(request: Request, writer: asyncio.StreamWriter, graph: HostileGraph) -> bool:
        return await send(writer, status, {"error": {"code": code, "message": message}}, headers)

    return route


def throttled(retry_after: str) -> Route:
    return graph_error(429, "TooManyRequests", "Too many requests.", {"Retry-After": retry_after})


def trickle(interval: float, size: int = 10_000) -> Route:
    """Headers at once, then the body one byte every ``interval`` seconds (no read timeout ever fires)."""

    async def route(request: Request, writer: asyncio.StreamWriter, graph: HostileGraph) -> bool:
        writer.write(_head(200, {"Content-Type": "application/json", "Content-Length": str(size)}))
        await writer.drain()
        for _ in range(size):
            await asyncio.sleep(interval)
            writer.write(b" ")
            await writer.drain()
        return True

    return route


def next_links(link: Callable[[Request, HostileGraph], str | None]) -> Route:
    """A page of one user, with ``@odata.nextLink`` as ``link`` says (None: the last page)."""

    async def route(request: Request, writer: asyncio.StreamWriter, graph: HostileGraph) -> bool:
        page: dict[str, Any] = {"value": [{"id": f"u{len(graph.requests(request.path))}"}]}
        target = link(request, graph)
        if target is not None:
            page["@odata.nextLink"] = target
        return await send(writer, 200, page)

    return route


def huge(total: int, *, declare: bool) -> Route:
    """A ``{"value": [...]}`` page of ``total`` bytes, its length declared or sent chunked; counts a client
    that hangs up before the end."""

    async def chunks() -> AsyncIterator[bytes]:
        item = b'{"id":"00000000-0000-0000-0000-000000000000","displayName":"padding"},'
        head, tail = b'{"value":[', b'{"id":"last"}]}'
        yield head
        sent = len(head) + len(tail)
        block = item * (65_536 // len(item))
        while sent + len(block) <= total:
            yield block
            sent += len(block)
        yield b" " * (total - sent) + tail  # exactly ``total`` bytes: JSON allows the white space

    async def route(request: Request, writer: asyncio.StreamWriter, graph: HostileGraph) -> bool:
        headers = {"Content-Type": "application/json"}
        headers["Content-Length" if declare else "Transfer-Encoding"] = str(total) if declare else "chunked"
        writer.write(_head(200, headers))
        try:
            async for chunk in chunks():
                writer.write(chunk if declare else b"%x\r\n%b\r\n" % (len(chunk), chunk))
                await writer.drain()
            if not declare:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except ConnectionError:
            graph.stats.hung_up += 1
            return False
        return not declare  # a declared length we did not honour: close

    return route


def redirect(location: Callable[[Request], str]) -> Route:
    async def route(request: Request, writer: asyncio.StreamWriter, graph: HostileGraph) -> bool:
        return await send(writer, 302, b"", {"Location": location(request)})

    return route


# ---- running it -----------------------------------------------------------------------------------------


@contextmanager
def hostile_graph(
    routes: dict[str, Route] | None = None, *, catch_all: Route | None = None
) -> Iterator[HostileGraph]:
    """Serve a :class:`HostileGraph` on 127.0.0.1 (a free port) for the ``with`` block. ``catch_all``
    answers every path no route names (instead of the empty tenant)."""
    graph = HostileGraph(dict(routes or {}), catch_all)
    ready = threading.Event()
    stop: list[Callable[[], None]] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def main() -> None:
            stopping = asyncio.Event()
            server = await asyncio.start_server(graph.connection, "127.0.0.1", 0)
            graph.port = server.sockets[0].getsockname()[1]
            stop.append(lambda: loop.call_soon_threadsafe(stopping.set))
            ready.set()
            await stopping.wait()
            server.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the hostile endpoint did not start")
    try:
        yield graph
    finally:
        stop[0]()
        thread.join(10)
