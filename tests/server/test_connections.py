"""Sockets that never finish a request are closed; too many connections are turned away; a bug in a route
is Graph's JSON error. Real sockets on 127.0.0.1 against a served Range."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from graphlattice.server.app import create_app
from graphlattice.server.protocol import Limits
from graphlattice.server.serve import RunningServer, _server, background, bind
from graphlattice.server.service import RangeService
from tests.server.conftest import NOOR, copy_range

LIMITS = Limits(request_timeout=1.0, keep_alive=1, max_connections=6)


@pytest.fixture(scope="module")
def guarded(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = copy_range(template_dir, tmp_path_factory.mktemp("guarded") / "range")
    with background(folder, limits=LIMITS) as server:
        yield server


def _connect(server: RunningServer) -> socket.socket:
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes ``sock`` (reads and drops anything it sends first)."""
    start = time.monotonic()
    while sock.recv(4096):
        pass
    return time.monotonic() - start


def test_an_idle_connection_is_closed(guarded: RunningServer) -> None:
    with _connect(guarded) as sock:
        assert 0.5 < _closed_after(sock) < 5


def test_a_half_sent_request_is_closed(guarded: RunningServer) -> None:
    with _connect(guarded) as sock:
        sock.sendall(b"GET /v1.0/users HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never end
        assert 0.5 < _closed_after(sock) < 5


def test_a_body_that_never_arrives_is_closed(guarded: RunningServer) -> None:
    token = guarded.token(NOOR)
    with _connect(guarded) as sock:
        sock.sendall(
            b"POST /v1.0/identity/conditionalAccess/policies HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {token}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        assert _closed_after(sock) < 5


def test_a_request_trickled_in_slowly_is_cut_off(guarded: RunningServer) -> None:
    start = time.monotonic()
    with _connect(guarded) as sock:
        try:
            for byte in b"GET /v1.0/users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 40:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)  # each byte well within any per-read timeout; the whole far too slow
        except OSError:
            pass  # closed under us: that is the point
        _closed_after(sock)
    assert time.monotonic() - start < 4


def test_keep_alive_connection_closes_when_idle_and_requests_still_work(guarded: RunningServer) -> None:
    token = guarded.token(NOOR)
    with _connect(guarded) as sock:
        sock.sendall(
            f"GET /v1.0/organization HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        assert _closed_after(sock) < 5


def test_connections_beyond_the_cap_are_turned_away_in_graph_shape(guarded: RunningServer) -> None:
    held = [_connect(guarded) for _ in range(LIMITS.max_connections)]
    try:
        time.sleep(0.2)
        with _connect(guarded) as extra:
            answer = b""
            while chunk := extra.recv(4096):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503")
        assert b"retry-after: 1" in head.lower()
        assert orjson.loads(body)["error"]["code"] == "serviceNotAvailable"
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    with _connect(guarded) as sock:  # room again once they are gone
        sock.sendall(b"GET /v1.0/users HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 401")


def test_hundreds_of_idle_sockets_do_not_exhaust_the_server(guarded: RunningServer) -> None:
    sockets = []
    try:
        for _ in range(300):
            sockets.append(_connect(guarded))
        time.sleep(LIMITS.request_timeout + 1.5)
    finally:
        for sock in sockets:
            sock.close()
    time.sleep(0.3)
    token = guarded.token(NOOR)
    with _connect(guarded) as sock:
        sock.sendall(
            f"GET /v1.0/organization HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_a_bug_in_a_route_is_graphs_json_error(template_dir: Path, tmp_path: Path) -> None:
    folder = copy_range(template_dir, tmp_path / "range")
    service = RangeService(folder)
    gateway = create_app(service=service)

    async def broken() -> None:
        raise RuntimeError("a bug")

    gateway.app.add_api_route("/users/{user_id}/broken", broken)  # type: ignore[attr-defined]
    sock = bind("127.0.0.1", 0)
    server = _server(gateway, Limits())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        import httpx

        token = service.token_for_user(NOOR)
        response = httpx.get(
            f"http://127.0.0.1:{sock.getsockname()[1]}/v1.0/users/x/broken",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] == "generalException"
        assert error["innerError"]["request-id"] == response.headers["request-id"]
        assert "a bug" not in response.text  # nothing of the failure leaks to the client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
