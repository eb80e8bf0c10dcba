"""A fault-injecting HTTP/1.1 reverse proxy on 127.0.0.1, for collector tests over real sockets.

It forwards every request to an upstream (the served Range) and, as configured, answers instead with a 429
(with ``Retry-After`` where Graph sends one, without it for Conditional Access), a 503, or drops the
connection with a TCP reset; inside ``$batch`` responses it can turn answers into 429/503 too. It counts what
it saw (path and, for ``$batch``, the inner URLs), can refuse one path with Graph's 403 body, and can "die"
after N requests (every later connection is reset), which is how a run is interrupted. Faults follow a fixed
schedule (every Nth request), so a test knows exactly how many of each kind it injected.

Runs its own event loop in a background thread; the collector under test is a separate process.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import httpx
import orjson

from tests.collect.hostile import read_request


@dataclass
class Faults:
    every: int | None = None  # every Nth request is a fault (429, 503, reset in turn): 5 = 20%
    inner_every: int | None = None  # every Nth answer inside $batch responses becomes a 429 or a 503
    die_after: int | None = None  # after this many requests, reset every connection
    forbid: tuple[str, ...] = ()  # path prefixes (after the version) answered with 403
    retry_after: str = "1"


@dataclass
class Seen:
    method: str
    path: str  # with version, without query
    inner: list[str] = field(default_factory=list)  # $batch inner urls
    outcome: str = "forwarded"  # forwarded, 429, 503, reset, forbidden, dead


class FaultProxy:
    def __init__(self, upstream: str, faults: Faults | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = faults or Faults()
        self.seen: list[Seen] = []
        self._faulted = 0
        self._answers = 0
        self.inner_faults = 0
        self._lock = threading.Lock()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._client: httpx.AsyncClient | None = None
        self._stopping: asyncio.Event

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def main() -> None:
            self._stopping = asyncio.Event()
            self._client = httpx.AsyncClient(timeout=120)
            self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopping.wait()
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            await self._client.aclose()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    # ---- counting ---------------------------------------------------------------------------------------

    def revive(self) -> int:
        """Stop dying and injecting faults (the endpoint recovers); returns the number of requests so far."""
        with self._lock:
            self.faults = Faults()
            return len(self.seen)

    def paths(self, since: int = 0) -> list[str]:
        """Every request's path (from request number ``since``), ``$batch`` replaced by its inner paths."""
        out: list[str] = []
        with self._lock:
            for seen in self.seen[since:]:
                if seen.inner:
                    out += [url.split("?", 1)[0] for url in seen.inner]
                else:
                    out.append(seen.path)
        return out

    def count(self, outcome: str | None = None) -> int:
        with self._lock:
            return sum(1 for s in self.seen if outcome is None or s.outcome == outcome)

    # ---- one connection ---------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                method, target, headers, body = await read_request(reader)
                keep = await self._one(method, target, headers, body, writer)
                if not keep:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    def _decide(self, seen: Seen) -> str:
        f = self.faults
        with self._lock:
            self.seen.append(seen)
            n = len(self.seen)
            if f.die_after is not None and n > f.die_after:
                return "dead"
            bare = seen.path.split("/", 2)[-1] if seen.path.count("/") >= 2 else seen.path
            if any(("/" + bare).lower().startswith(p.lower()) for p in f.forbid):
                return "forbidden"
            if f.every and n % f.every == 0:
                kind = ("429", "503", "reset")[self._faulted % 3]
                self._faulted += 1
                return kind
        return "forwarded"

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _one(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        path = target.split("?", 1)[0]
        seen = Seen(method, path)
        if path.endswith("/$batch") and body:
            with suppress(orjson.JSONDecodeError, AttributeError):
                seen.inner = [str(r.get("url")) for r in orjson.loads(body).get("requests", [])]
        outcome = self._decide(seen)
        seen.outcome = outcome
        if outcome in ("reset", "dead"):
            self._reset(writer)
            return False
        if outcome == "forbidden":
            payload = {
                "error": {
                    "code": "Authorization_RequestDenied",
                    "message": "Insufficient privileges to complete the operation.",
                    "innerError": {
                        "date": "2026-01-01T00:00:00",
                        "request-id": "x",
                        "client-request-id": "x",
                    },
                }
            }
            await self._write(writer, 403, {"Content-Type": "application/json"}, orjson.dumps(payload))
            return True
        if outcome in ("429", "503"):
            extra = {"Content-Type": "application/json"}
            if outcome == "429" and "conditionalaccess" not in path.lower():
                extra["Retry-After"] = self.faults.retry_after
            code = "TooManyRequests" if outcome == "429" else "ServiceUnavailable"
            await self._write(
                writer, int(outcome), extra, orjson.dumps({"error": {"code": code, "message": "x"}})
            )
            return True
        assert self._client is not None
        forward = [(k, v) for k, v in headers if k.lower() not in ("host", "content-length", "connection")]
        response = await self._client.request(method, self.upstream + target, headers=forward, content=body)
        out_body = response.content
        if seen.inner and self.faults.inner_every and response.status_code == 200:
            out_body = self._inner_faults(out_body)
        out_headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")
        }
        await self._write(writer, response.status_code, out_headers, out_body)
        return True

    def _inner_faults(self, raw: bytes) -> bytes:
        doc = orjson.loads(raw)
        with self._lock:
            for answer in doc.get("responses", []):
                self._answers += 1
                if self.faults.inner_every and self._answers % self.faults.inner_every == 0:
                    status = (429, 503)[self.inner_faults % 2]
                    self.inner_faults += 1
                    answer["status"] = status
                    answer["headers"] = {"Retry-After": self.faults.retry_after} if status == 429 else {}
                    answer["body"] = {
                        "error": {"code": "TooManyRequests" if status == 429 else "ServiceUnavailable"}
                    }
        return orjson.dumps(doc)

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, status: int, headers: dict[str, str], body: bytes) -> None:
        lines = [f"HTTP/1.1 {status} X"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()


@contextmanager
def fault_proxy(upstream: str, faults: Faults | None = None) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, faults).start()
    try:
        yield proxy
    finally:
        proxy.stop()
