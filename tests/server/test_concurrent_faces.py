"""Both faces at once: ``range act`` processes and Graph writes to ``range serve`` on one folder.

Learners script, click and type at the same time. Everything either face reports as done must be in the
journal exactly once, in the records and in the state, and visible to the other face afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from graphlattice.range.engine import Range
from graphlattice.range.store import LOCK_TIMEOUT_ENV, RangeStore
from graphlattice.server.serve import background
from graphlattice.server.service import RangeService
from tests.range.integrity import assert_consistent, record_ids
from tests.server.conftest import ELIF, MIA, NOOR, copy_range

CLI = [sys.executable, "-m", "graphlattice"]
DOMAIN = "northwind-traders.example"
GRACE = f"grace.okonkwo@{DOMAIN}"  # passes issued from the command line
HANNAH = f"hannah.becker@{DOMAIN}"  # passes issued over Graph
DAAN = f"daan.visser@{DOMAIN}"
ROUNDS = 40  # at most, per Graph writer; they stop when the command-line writers are done


@pytest.fixture
def served_process(template_dir: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """``graphlattice range serve`` in its own process over a private copy of the range."""
    folder = copy_range(template_dir, tmp_path / "range")
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [*CLI, "range", "serve", "--state", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (tmp_path / "serve.log").read_text()
        yield folder, url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _cli(folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "range", *args, "--state", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_command_line_and_graph_writers_at_once_keep_every_action(
    served_process: tuple[Path, str],
) -> None:
    folder, url = served_process
    start = Range.open(folder)
    since, clock = len(start.journal()), start.now
    tokens = RangeService(folder)
    done = threading.Event()
    replies: dict[str, list[httpx.Response]] = {"revoke": [], "tap": [], "refused": []}

    def graph_writer(kind: str, upn: str, method: str, path: str) -> None:
        headers = {"Authorization": f"Bearer {tokens.token_for_user(upn)}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            for n in range(ROUNDS):
                if done.is_set() and n >= 3:
                    return
                body: dict[str, Any] | None = {} if method == "POST" and "temporaryAccess" in path else None
                replies[kind].append(http.request(method, path, json=body))

    writers = [
        threading.Thread(
            target=graph_writer, args=("revoke", NOOR, "POST", f"/users/{MIA}/revokeSignInSessions")
        ),
        threading.Thread(
            target=graph_writer,
            args=("tap", NOOR, "POST", f"/users/{HANNAH}/authentication/temporaryAccessPassMethods"),
        ),
        threading.Thread(
            target=graph_writer, args=("refused", ELIF, "POST", f"/users/{MIA}/revokeSignInSessions")
        ),
    ]
    for writer in writers:
        writer.start()
    acts = [
        _cli(folder, "act", "advance-clock", "minutes=7", "--format", "json"),
        _cli(folder, "act", "advance-clock", "minutes=7", "--format", "json"),
        _cli(folder, "act", "revoke-sessions", f"user={DAAN}", "--format", "json"),
        _cli(folder, "act", "revoke-sessions", f"user={DAAN}", "--format", "json"),
        _cli(folder, "act", "issue-tap", "user=grace.okonkwo", "--format", "json"),
        _cli(folder, "act", "issue-tap", "user=grace.okonkwo", "--format", "json"),
    ]
    readers = [
        _cli(folder, "log", "--format", "json", "--kind", "audit"),
        _cli(folder, "verify", "--format", "json"),
        _cli(folder, "status"),
    ]
    outputs = [proc.communicate(timeout=240) for proc in acts + readers]
    done.set()
    for writer in writers:
        writer.join(timeout=240)

    # Every command succeeded, none waited in vain for the lock.
    for proc, (_, err) in zip(acts + readers, outputs, strict=True):
        assert proc.returncode == 0, err
    reported = [orjson.loads(out) for out, _ in outputs[: len(acts)]]
    assert [r.status_code for r in replies["revoke"]] == [200] * len(replies["revoke"])
    assert [r.status_code for r in replies["tap"]] == [201] * len(replies["tap"])
    assert [r.status_code for r in replies["refused"]] == [403] * len(replies["refused"])

    # The journal holds each success exactly once, and each refusal.
    journal = assert_consistent(folder, since=since, clock=clock, passes_of=(GRACE, HANNAH))
    new = journal[since:]
    kinds = Counter(
        (e["action"], e["outcome"], e["actor"], (e["params"].get("user") or "").casefold()) for e in new
    )
    mia_id = Range.open(folder).peek().user_id(MIA)
    hannah_id = Range.open(folder).peek().user_id(HANNAH)
    assert kinds == Counter(
        {
            ("advance-clock", "ok", NOOR, ""): 2,
            ("revoke-sessions", "ok", NOOR, DAAN): 2,
            ("issue-tap", "ok", NOOR, GRACE): 2,
            ("revoke-sessions", "ok", NOOR, mia_id): len(replies["revoke"]),
            ("issue-tap", "ok", NOOR, hannah_id): len(replies["tap"]),
            ("revoke-sessions", "denied", ELIF, mia_id): len(replies["refused"]),
        }
    )
    assert len(new) == len(acts) + sum(len(v) for v in replies.values())

    # What each face reported is in the journal and the records, once.
    state_ids = Counter(record_ids(folder))
    journal_ids = Counter(rid for e in new for rid in e.get("records") or [])
    for result in reported:
        for record in result["records"]:
            assert state_ids[record["id"]] == 1 and journal_ids[record["id"]] == 1
    graph_passes = [r.json()["id"] for r in replies["tap"]]
    journaled_passes = [
        e["data"]["id"] for e in new if e["action"] == "issue-tap" and e["params"]["user"] == hannah_id
    ]
    assert sorted(graph_passes) == sorted(journaled_passes) and len(set(graph_passes)) == len(graph_passes)

    # A reader running meanwhile saw one committed state: its records are the start of today's.
    seen = [r["id"] for r in orjson.loads(outputs[len(acts)][0])["value"]]
    audits = [r["id"] for r in Range.open(folder).records("audit")]
    assert audits[: len(seen)] == seen
    assert "score" in orjson.loads(outputs[len(acts) + 1][0])

    # Each face sees the other's changes: the server serves the pass the command line issued last ...
    headers = {"Authorization": f"Bearer {tokens.token_for_user(NOOR)}"}
    served = httpx.get(f"{url}/users/{GRACE}/authentication/temporaryAccessPassMethods", headers=headers)
    cli_passes = [e["data"]["id"] for e in new if e["action"] == "issue-tap" and e["params"]["user"] == GRACE]
    assert [m["id"] for m in served.json()["value"]] == cli_passes[-1:]
    # ... and 'range log' shows every record written over Graph.
    logged = subprocess.run(
        [*CLI, "range", "log", "--format", "json", "--kind", "audit", "--state", str(folder)],
        capture_output=True,
        check=True,
    )
    assert [r["id"] for r in orjson.loads(logged.stdout)["value"]] == audits


def test_a_graph_write_behind_a_held_lock_is_a_503_with_retry_after(
    template_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_range(template_dir, tmp_path / "range")
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.2")
    with background(folder) as server:
        http = httpx.Client(
            base_url=f"{server.url}/v1.0", headers={"Authorization": f"Bearer {server.token(NOOR)}"}
        )
        before = Range.open(folder).journal()
        with RangeStore(folder).lock():
            busy = http.post(f"/users/{MIA}/revokeSignInSessions")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert busy.json()["error"]["code"] == "serviceNotAvailable"
        assert "is busy" in busy.json()["error"]["message"]
        assert Range.open(folder).journal() == before
        assert http.post(f"/users/{MIA}/revokeSignInSessions").status_code == 200


def test_the_server_reloads_only_what_another_process_changed(template_dir: Path, tmp_path: Path) -> None:
    folder = copy_range(template_dir, tmp_path / "range")
    service = RangeService(folder)
    first = service.views()
    assert service.views() is first  # nothing changed: the same views, no reload
    issued = Range.open(folder).act("issue-tap", {"user": GRACE}, actor=NOOR)  # e.g. by 'range act'
    second = service.views()
    assert second is not first and second.generation > first.generation
    grace = second.user(GRACE)
    assert grace is not None and issued.data["id"] in [m["id"] for m in second.methods_of(grace["id"])]
    assert service.views() is second
