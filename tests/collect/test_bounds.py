"""The collector against endpoints that misbehave, over real sockets on 127.0.0.1 (:mod:`.hostile`).

Each test drives the real collector (``collect()``, or ``graphlattice collect`` in a fresh process) with small
bounds, so what would hang or exhaust memory without them ends in a second or two with a message naming the
cause. A guard thread fails a test that does not finish within a minute, instead of hanging the suite.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.collect.auth import StaticToken
from graphlattice.collect.client import RetryPolicy
from graphlattice.collect.collector import CollectOptions, CollectResult, collect
from graphlattice.collect.limits import MB, Limits
from graphlattice.errors import CollectError
from tests.collect.conftest import cli
from tests.collect.hostile import (
    HostileGraph,
    Request,
    graph_error,
    hostile_graph,
    huge,
    next_links,
    redirect,
    throttled,
    trickle,
)

TOKEN = "hostile-test-t0ken-Zq9"
FAST = RetryPolicy(attempts=2, base=0.01, cap=0.05, throttle_base=0.01)
GUARD = 60.0  # seconds: a bounded run ends long before this; an unbounded one would never end


def run(graph: HostileGraph, out: Path, limits: Limits, retry: RetryPolicy = FAST) -> CollectResult:
    """``collect()`` into ``out`` against ``graph`` (no logs), in a thread that must end within GUARD."""
    options = CollectOptions(
        out_dir=out, base_url=graph.url, logs_days=None, retry=retry, limits=limits, concurrency=2
    )
    done: list[Any] = []

    def go() -> None:
        try:
            done.append(collect(options, StaticToken(TOKEN)))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            done.append(exc)

    worker = threading.Thread(target=go, daemon=True)
    worker.start()
    worker.join(GUARD)
    assert done, f"the collector was still running after {GUARD:.0f} s"
    if isinstance(done[0], BaseException):
        raise done[0]
    result: CollectResult = done[0]
    return result


def error_of(result: CollectResult, name: str) -> str:
    outcome = result.outcomes[name]
    assert outcome.status == "error", f"{name} was read: {outcome}"
    return outcome.error


def assert_no_token(result: CollectResult, out: Path) -> None:
    for outcome in result.outcomes.values():
        assert TOKEN not in outcome.error
    for path in out.iterdir():
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path.name


def others_read(result: CollectResult, failed: str) -> None:
    """The run went on: every other collection was read and the snapshot is complete."""
    assert {n for n, o in result.outcomes.items() if o.status != "ok"} == {failed}
    manifest = orjson.loads((result.out_dir / "manifest.json").read_bytes())
    assert manifest["collections"][failed]["status"] == "error"


# ---- waits -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "shown"),
    [
        ("100000000", "100,000,000 s (about 3 years)"),
        ("Fri, 31 Dec 9999 23:59:59 GMT", "(about 7,97"),
        ("inf", "forever"),
    ],
)
def test_a_retry_after_beyond_max_wait_fails_the_collection_at_once(
    tmp_path: Path, retry_after: str, shown: str
) -> None:
    with hostile_graph({"/users": throttled(retry_after)}) as graph:
        result = run(graph, tmp_path / "snap", Limits(max_wait=5))
    error = error_of(result, "users")
    assert graph.url in error and "/v1.0/users" in error and shown in error
    assert f"Retry-After: {retry_after}" in error and "(--max-wait)" in error
    assert result.outcomes["users"].remedy == "run again later with --resume"
    assert len(graph.requests("/users")) == 1  # refused, not retried
    others_read(result, "users")


def test_a_retry_after_within_max_wait_is_honoured(tmp_path: Path) -> None:
    answers: list[str] = []

    async def once(request: Request, writer: Any, graph: HostileGraph) -> bool:
        answers.append(request.target)
        route = throttled("1") if len(answers) == 1 else next_links(lambda r, g: None)
        return await route(request, writer, graph)

    with hostile_graph({"/users": once}) as graph:
        result = run(graph, tmp_path / "snap", Limits(max_wait=5))
    assert result.outcomes["users"].status == "ok" and result.stats.throttled == 1
    assert len(answers) == 2


# ---- a server trickling its answer -------------------------------------------------------------------------


def test_a_trickled_answer_meets_the_request_deadline(tmp_path: Path) -> None:
    """One byte every 0.2 s never trips a read timeout; the deadline around the exchange stops it."""
    with hostile_graph({"/users": trickle(0.2)}) as graph:
        result = run(graph, tmp_path / "snap", Limits(deadline=1.0))
    error = error_of(result, "users")
    assert "gave up on /v1.0/users after 2 attempts" in error
    assert "no complete answer within the 1 s request deadline" in error
    assert len(graph.requests("/users")) == 2
    others_read(result, "users")


# ---- paging ------------------------------------------------------------------------------------------------


def test_a_next_link_back_to_an_earlier_page_is_a_loop(tmp_path: Path) -> None:
    def link(request: Request, graph: HostileGraph) -> str:
        # 1 -> 2 -> 1 again, the last one spelt with Graph's own host (re-based, it is the same page)
        token = "2" if "skiptoken=1" in request.query else "1"
        host = "https://graph.microsoft.com" if "skiptoken=2" in request.query else graph.url
        return f"{host}/v1.0/users?$skiptoken={token}"

    with hostile_graph({"/users": next_links(link)}) as graph:
        result = run(graph, tmp_path / "snap", Limits())
    error = error_of(result, "users")
    assert "/v1.0/users: page 3 links back to a page already read" in error
    assert len(graph.requests("/users")) == 3
    others_read(result, "users")


def test_endless_new_next_links_stop_at_max_pages(tmp_path: Path) -> None:
    def link(request: Request, graph: HostileGraph) -> str:
        return f"{graph.url}/v1.0/users?$skiptoken={len(graph.requests('/users'))}"

    with hostile_graph({"/users": next_links(link)}) as graph:
        result = run(graph, tmp_path / "snap", Limits(max_pages=40))
    error = error_of(result, "users")
    assert "still more after 40 pages" in error and "--max-pages" in error
    assert len(graph.requests("/users")) == 40
    assert not (tmp_path / "snap" / "users.json").exists()  # an incomplete collection is never written
    others_read(result, "users")


def test_a_member_list_that_never_ends_is_bounded_too(tmp_path: Path) -> None:
    """Next links inside ``$batch`` answers (a group's members) go through the same bounds."""

    async def groups(request: Request, writer: Any, graph: HostileGraph) -> bool:
        from tests.collect.hostile import send

        return await send(writer, 200, {"value": [{"id": "g1", "displayName": "Group"}]})

    async def batch(request: Request, writer: Any, graph: HostileGraph) -> bool:
        from tests.collect.hostile import send

        inner = orjson.loads(request.body)["requests"]
        more = f"{graph.url}/v1.0/groups/g1/members?$skiptoken=0"
        answers = [
            {"id": r["id"], "status": 200, "body": {"value": [], "@odata.nextLink": more}} for r in inner
        ]
        return await send(writer, 200, {"responses": answers})

    def link(request: Request, graph: HostileGraph) -> str:
        return f"{graph.url}/v1.0/groups/g1/members?$skiptoken={len(graph.requests(request.path))}"

    routes = {"/groups": groups, "/$batch": batch, "/groups/g1/members": next_links(link)}
    with hostile_graph(routes) as graph:
        result = run(graph, tmp_path / "snap", Limits(max_pages=25))
    error = error_of(result, "groups")
    assert "/v1.0/groups/g1/members" in error and "still more after 25 pages" in error
    assert len(graph.requests("/groups/g1/members")) == 25


# ---- size --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
def test_a_page_larger_than_the_cap_is_refused_as_it_streams(tmp_path: Path, declare: bool) -> None:
    """64 MB against a 1 MB cap: refused (before reading when the length is declared), the rest never
    read: the server sees the client hang up."""
    with hostile_graph({"/users": huge(64 * MB, declare=declare)}) as graph:
        result = run(graph, tmp_path / "snap", Limits(max_page_bytes=1 * MB))
    error = error_of(result, "users")
    assert "/v1.0/users: the answer is" in error and "1.0 MB a page may have (--max-page-mb)" in error
    assert ("refused without reading it" if declare else "refused after reading that much") in error
    assert "not valid JSON" not in error and "memory" not in error
    assert len(graph.requests("/users")) == 1  # not retried
    assert graph.stats.hung_up == 1
    others_read(result, "users")


def test_an_answer_that_is_not_json_says_so_and_why(tmp_path: Path) -> None:
    async def html(request: Request, writer: Any, graph: HostileGraph) -> bool:
        from tests.collect.hostile import send

        return await send(writer, 200, b"<html>captive portal</html>", {"Content-Type": "text/html"})

    with hostile_graph({"/users": html}) as graph:
        result = run(graph, tmp_path / "snap", Limits())
    error = error_of(result, "users")
    assert "the answer (HTTP 200, text/html, 27 bytes) is not valid JSON (unexpected character" in error


# ---- where the token goes ----------------------------------------------------------------------------------


def test_redirects_are_refused_and_the_token_goes_to_the_endpoint_only(tmp_path: Path) -> None:
    with hostile_graph() as elsewhere:

        def away(request: Request) -> str:
            return f"http://localhost:{elsewhere.port}{request.target}"

        def other_host(request: Request, graph: HostileGraph) -> str | None:
            # a next link naming another host is re-based onto the endpoint, never followed there
            if "skiptoken" in request.query:
                return None
            return f"http://localhost:{elsewhere.port}/v1.0/groups?$skiptoken=2"

        routes = {"/users": redirect(away), "/groups": next_links(other_host)}
        with hostile_graph(routes) as graph:
            result = run(graph, tmp_path / "snap", Limits())
    error = error_of(result, "users")
    assert f"answered HTTP 302, a redirect to localhost:{elsewhere.port}" in error
    assert f"the token goes to {graph.url} only" in error
    assert result.outcomes["groups"].status == "ok" and result.outcomes["groups"].count == 2
    assert [r.target for r in graph.requests("/groups")][1] == "/v1.0/groups?$skiptoken=2"
    assert elsewhere.seen == []
    assert graph.seen and all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in graph.seen)
    assert_no_token(result, tmp_path / "snap")


# ---- an endpoint that only fails ---------------------------------------------------------------------------


def test_server_errors_are_named_as_such_not_as_silence(tmp_path: Path) -> None:
    failing = graph_error(500, "InternalServerError", "Something broke.")
    with (
        hostile_graph(catch_all=failing) as graph,
        pytest.raises(CollectError) as caught,
    ):
        run(graph, tmp_path / "snap", Limits(), RetryPolicy(attempts=3, base=0.01, breaker=6))
    message = str(caught.value)
    assert "never answered" not in message
    assert f"{graph.url} answered only with errors: 6 requests in a row failed" in message
    assert "6 × HTTP 500 InternalServerError" in message and "--resume" in message


def test_silence_is_still_called_silence(tmp_path: Path) -> None:
    async def hang_up(request: Request, writer: Any, graph: HostileGraph) -> bool:
        return False  # close without answering

    with hostile_graph(catch_all=hang_up) as graph, pytest.raises(CollectError) as caught:
        run(graph, tmp_path / "snap", Limits(), RetryPolicy(attempts=3, base=0.01, breaker=6))
    assert f"{graph.url} never answered: 6 requests in a row failed" in str(caught.value)
    assert "the connection was closed without a complete answer" in str(caught.value)


# ---- the command line --------------------------------------------------------------------------------------


def _collect(graph: HostileGraph, out: Path, *extra: str) -> Any:
    return cli(
        "collect",
        "--base-url",
        graph.url,
        "--token-file",
        "-",
        "--out",
        str(out),
        "--no-logs",
        *extra,
        check=False,
        stdin=TOKEN,
    )


def test_the_bounds_are_options_of_collect(tmp_path: Path) -> None:
    def link(request: Request, graph: HostileGraph) -> str:
        return f"{graph.url}/v1.0/groups?$skiptoken={len(graph.requests('/groups'))}"

    routes = {
        "/users": throttled("100000000"),
        "/groups": next_links(link),
        "/servicePrincipals": huge(8 * MB, declare=False),
    }
    with hostile_graph(routes) as graph:
        done = _collect(
            graph, tmp_path / "snap", "--max-wait", "30", "--max-pages", "7", "--max-page-mb", "0.5"
        )
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert "not collected: users:" in err and "asked to wait 100,000,000 s" in err
    assert "longer than the 30 s the collector waits (--max-wait)" in err
    assert "not collected: groups: /v1.0/groups: still more after 7 pages" in err
    assert "not collected: servicePrincipals: /v1.0/servicePrincipals: the answer is larger than" in err
    assert "— run again later with --resume" in err and "grant User.Read.All" not in err
    assert len(graph.requests("/groups")) == 7
    assert TOKEN not in err + done.stdout
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    assert "asked to wait" in manifest["collections"]["users"]["error"]


def test_the_command_line_names_server_errors(tmp_path: Path) -> None:
    with hostile_graph(catch_all=graph_error(500, "InternalServerError", "x")) as graph:
        done = _collect(graph, tmp_path / "snap", "--request-timeout", "5")
    assert done.returncode == 5, done.stderr
    assert "answered only with errors" in done.stderr and "HTTP 500 InternalServerError" in done.stderr
    assert "never answered" not in done.stderr and TOKEN not in done.stderr


def _bad_option(option: str, value: str) -> Callable[[], Any]:
    return lambda: cli("collect", "--out", "x", "--token-file", "-", option, value, check=False, stdin=TOKEN)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--max-wait", "0"), ("--request-timeout", "-1"), ("--max-pages", "0"), ("--max-page-mb", "x")],
)
def test_a_bound_out_of_range_is_a_usage_error(option: str, value: str) -> None:
    done = _bad_option(option, value)()
    assert done.returncode == 2 and option in done.stderr and "Traceback" not in done.stderr


# ---- memory ------------------------------------------------------------------------------------------------

_OUT_OF_MEMORY = """
import asyncio, resource
from graphlattice.collect.auth import StaticToken
from graphlattice.collect.client import BadResponse, GraphClient
from graphlattice.collect.limits import MB, Limits
from tests.collect.hostile import _head, hostile_graph

PAGE = b'{"value":[' + b",".join([b"{}"] * 7_000_000) + b"]}"  # 21 MB that parse into 7 million objects

async def page(request, writer, graph):
    writer.write(_head(200, {"Content-Type": "application/json", "Content-Length": str(len(PAGE))}))
    writer.write(PAGE)
    await writer.drain()
    return True

def address_space():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))

async def main(url):
    async with GraphClient(url, StaticToken("t"), limits=Limits(max_page_bytes=64 * MB)) as client:
        await client.get("/v1.0/organization")
        room = address_space() + 160 * MB  # enough to receive the page, far too little to parse it
        resource.setrlimit(resource.RLIMIT_AS, (room, room))
        try:
            await client.get("/v1.0/users")
        except BadResponse as exc:
            print(exc)
        else:
            print("parsed")

with hostile_graph({"/users": page}) as graph:
    asyncio.run(main(graph.url))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc to size the limit")
def test_a_page_too_big_for_memory_says_so_not_that_it_is_not_json() -> None:
    """The collector in a process whose address space is capped: enough to receive a page, not to parse it."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "MALLOC_ARENA_MAX": "2",
        "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _OUT_OF_MEMORY],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert message.startswith(
        "/v1.0/users: the answer (HTTP 200, application/json, 20.0 MB) could not be parsed"
    )
    assert "not enough memory on this machine" in message and "not valid JSON" not in message
