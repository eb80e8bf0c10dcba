"""Running the endpoint: in the foreground (``graphlattice range serve``) or on a background thread (tests,
benchmarks, the collector's integration tests)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from graphlattice.errors import UsageError
from graphlattice.server.app import create_app
from graphlattice.server.protocol import Limits, guarded_protocol
from graphlattice.server.service import RangeService
from graphlattice.server.throttle import Budgets

__all__ = ["Limits", "RunningServer", "background", "bind", "run"]


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket (port 0: a free port), or a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio then sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _server(app: object, limits: Limits) -> uvicorn.Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        http=guarded_protocol(limits),  # h11, with a request deadline and a connection cap
        log_level="warning",
        access_log=False,
        date_header=False,  # the gateway sends Date from the Range's clock
        lifespan="off",
        timeout_keep_alive=limits.keep_alive,
        h11_max_incomplete_event_size=limits.max_header_bytes,
    )
    return uvicorn.Server(config)


def run(
    state_dir: Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    throttle: bool | Budgets = False,
    announce: Callable[[str], None] = print,
    limits: Limits | None = None,
) -> None:
    """Serve until interrupted; ``announce(base_url)`` once the server accepts connections."""
    app = create_app(state_dir, throttle=throttle)
    sock = bind(host, port)
    server = _server(app, limits or Limits())

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            announce(_url(host, sock))
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()


@dataclass(frozen=True, slots=True)
class RunningServer:
    url: str  # http://127.0.0.1:PORT (append /v1.0 or /beta)
    service: RangeService

    def token(self, upn: str) -> str:
        return self.service.token_for_user(upn)

    def app_token(self, app_id: str) -> str:
        return self.service.token_for_app(app_id)


@contextmanager
def background(
    state_dir: Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    throttle: bool | Budgets = False,
    limits: Limits | None = None,
) -> Iterator[RunningServer]:
    """A real uvicorn server on a background thread for the duration of the ``with`` block."""
    service = RangeService(state_dir)
    app = create_app(throttle=throttle, service=service)
    sock = bind(host, port)
    server = _server(app, limits or Limits())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="graph-range")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise UsageError("the Range endpoint did not start")
        time.sleep(0.01)
    try:
        yield RunningServer(_url(host, sock), service)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
