"""One range folder, many writers: nothing a writer reports is lost, and a killed writer tears nothing.

Writers here are real processes (``sys.executable``) wherever the point is another process: a second
:class:`Range` object in the test process would share nothing with it but the folder, which is what a
process shares too, so the quick cases use objects and the kill cases use processes.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from graphlattice.errors import ActionDenied, RangeBusy, RangeError
from graphlattice.range.engine import Range
from graphlattice.range.scenario import load_scenario
from graphlattice.range.store import JOURNAL_FILE, LOCK_TIMEOUT_ENV, STATE_FILE, RangeStore
from tests.range.engine_fixture import START, new_range, state, upn
from tests.range.integrity import assert_consistent, record_ids

CLI = [sys.executable, "-m", "graphlattice"]
DOMAIN = "northwind-traders.example"
NOOR = f"noor.haddad@{DOMAIN}"  # Global Administrator, the scenario's defender
GRACE = f"grace.okonkwo@{DOMAIN}"
TAP = "#microsoft.graph.temporaryAccessPassAuthenticationMethod"

# What a writer process does, in a loop: actions that change the state (with and without records) and a
# refusal that changes nothing but the journal (a Reports Reader may not issue passes).
_DRIVER = f"""
import sys
from graphlattice.errors import ActionDenied
from graphlattice.range.engine import Range

rng = Range.open(sys.argv[1])
steps = [
    ("advance-clock", {{"minutes": "1"}}, None),
    ("revoke-sessions", {{"user": "mia.hoffmann@{DOMAIN}"}}, "{NOOR}"),
    ("issue-tap", {{"user": "{GRACE}"}}, "{NOOR}"),
    ("issue-tap", {{"user": "{NOOR}"}}, "elif.demir@{DOMAIN}"),
]
print("ready", flush=True)
n = 0
while True:
    action, params, actor = steps[n % len(steps)]
    n += 1
    try:
        rng.act(action, params, actor=actor)
    except ActionDenied:
        pass
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("concurrency") / "range"
    Range.start(folder, load_scenario("tap-persistence"))
    return folder


@pytest.fixture
def scenario_range(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "range"))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---- two writers, one folder ---------------------------------------------------------------------------


def test_a_writer_holding_an_old_copy_does_not_undo_the_other(tmp_path: Path) -> None:
    one = new_range(tmp_path)
    two = Range.open(one.state_dir)  # both read the same state
    first = one.act("revoke-sessions", {"user": upn("victim")}, actor=upn("admin"))
    second = two.act("revoke-sessions", {"user": upn("victim")}, actor=upn("admin"))
    one.act("advance-clock", {"minutes": "5"})
    two.act("advance-clock", {"minutes": "5"})
    ids = record_ids(one.state_dir)
    assert [r["id"] for r in first.records + second.records] == ids  # both kept, ids never drawn twice
    assert Range.open(one.state_dir).now == START + timedelta(minutes=10)
    assert [e["action"] for e in two.journal()] == ["revoke-sessions"] * 2 + ["advance-clock"] * 2
    assert one.refresh() and one.now == two.now and not two.refresh()


def test_hints_and_meta_from_two_objects_add_up(tmp_path: Path) -> None:
    one = new_range(tmp_path)
    two = Range.open(one.state_dir)
    assert one.use_hint() == 1
    assert two.use_hint() == 2
    two.meta["note"] = "kept"
    one.meta["other"] = "kept too"
    two.save_meta()
    one.save_meta()
    again = Range.open(one.state_dir)
    assert again.hints_used == 2 and (again.meta["note"], again.meta["other"]) == ("kept", "kept too")


def test_a_writer_waits_for_the_lock_and_then_acts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = new_range(tmp_path)
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "10")
    held = threading.Event()

    def hold() -> None:
        with RangeStore(rng.state_dir).lock():
            held.set()
            time.sleep(0.6)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    began = time.monotonic()
    rng.act("advance-clock", {"minutes": "1"})
    assert time.monotonic() - began >= 0.5
    holder.join()
    assert Range.open(rng.state_dir).now == START + timedelta(minutes=1)


def test_a_writer_gives_up_after_the_timeout_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = new_range(tmp_path)
    before = {p.name: p.read_bytes() for p in rng.state_dir.iterdir()}
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.2")
    with RangeStore(rng.state_dir).lock(), pytest.raises(RangeBusy, match=r"is busy: .* 0\.2 s; nothing"):
        rng.act("advance-clock", {"minutes": "1"})
    assert {p.name: p.read_bytes() for p in rng.state_dir.iterdir()} == before
    rng.act("advance-clock", {"minutes": "1"})  # free again
    assert Range.open(rng.state_dir).now == START + timedelta(minutes=1)


def test_the_command_line_says_busy_in_one_line(scenario_range: Path) -> None:
    rng = Range.open(scenario_range)
    journal = rng.journal()
    env = {**os.environ, LOCK_TIMEOUT_ENV: "0.3", "COLUMNS": "200"}
    args = [*CLI, "range", "act", "advance-clock", "minutes=1", "--state", str(scenario_range)]
    with RangeStore(scenario_range).lock():
        busy = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert busy.returncode == 75, busy.stderr
    lines = busy.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the range in ") and "is busy" in lines[0]
    assert f"{LOCK_TIMEOUT_ENV}=SECONDS" in lines[0]
    assert Range.open(scenario_range).peek().dumps() == rng.peek().dumps()
    assert Range.open(scenario_range).journal() == journal
    bad = subprocess.run(args, capture_output=True, text=True, env={**env, LOCK_TIMEOUT_ENV: "soon"})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and LOCK_TIMEOUT_ENV in bad.stderr


def test_readers_see_whole_states_while_a_writer_writes(scenario_range: Path) -> None:
    rng = Range.open(scenario_range)
    since, clock = len(rng.journal()), rng.now
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(scenario_range)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert driver.stdout is not None and driver.stdout.readline().strip() == "ready"
        seen = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            reader = Range.open(scenario_range)  # a whole committed state, or an error
            journal = reader.journal()  # the journal of the state read (refreshed first)
            records = {r["id"] for r in reader.records("audit") + reader.records("signin")}
            ok = {rid for e in journal if e["outcome"] == "ok" for rid in e.get("records") or []}
            assert records == ok and journal[-1]["clock"] == reader.now.strftime("%Y-%m-%dT%H:%M:%SZ")
            seen = max(seen, len(journal))
    finally:
        driver.kill()
        driver.wait()
    assert seen > since
    assert_consistent(scenario_range, since=since, clock=clock, passes_of=(GRACE,))


# ---- a writer killed at each point of a commit ----------------------------------------------------------

_CRASH = """
import os, sys
from graphlattice.errors import ActionDenied
from graphlattice.range import store
from graphlattice.range.engine import Range

folder, point, what = sys.argv[1:4]
real_replace = os.replace

def die(*args, **kwargs):
    os._exit(9)

if point == "before-commit":
    os.replace = lambda src, dst: die() if str(dst).endswith("state.json") else real_replace(src, dst)
elif point == "line-missing":
    store.RangeStore.append_journal = die
elif point == "line-torn":
    def torn(self, line):
        with open(self.journal_path, "ab") as handle:
            handle.write(line[: len(line) // 2])
        os._exit(9)
    store.RangeStore.append_journal = torn
elif point == "moving-companions":
    store.RangeStore._move = die
rng = Range.open(folder)
if what == "reset":
    rng.reset()
elif what == "refusal":
    try:
        rng.act(
            "issue-tap",
            {"user": "noor.haddad@northwind-traders.example"},
            actor="elif.demir@northwind-traders.example",
        )
    except ActionDenied:
        pass
else:
    rng.act("advance-clock", {"minutes": "7"})
"""


def _crash(folder: Path, point: str, what: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _CRASH, str(folder), point, what], timeout=120)
    assert proc.returncode == 9


def _do(rng: Range, what: str) -> None:
    if what == "reset":
        rng.reset()
    elif what == "refusal":
        with pytest.raises(ActionDenied):
            rng.act("issue-tap", {"user": NOOR}, actor=f"elif.demir@{DOMAIN}")
    else:
        rng.act("advance-clock", {"minutes": "7"})


def _next_command_works(folder: Path) -> None:
    proc = subprocess.run(
        [*CLI, "range", "act", "revoke-sessions", "user=mia.hoffmann", "--state", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert _leftovers(folder) == []


@pytest.mark.parametrize(
    ("point", "what", "kept"),
    [
        ("before-commit", "action", False),  # killed while writing the new state: as if never asked
        ("line-missing", "action", True),  # killed after the commit, before the journal line
        ("line-torn", "action", True),  # killed half-way through the journal line
        ("line-torn", "refusal", False),  # a refusal is only its journal line: half a line is none
        ("before-commit", "reset", False),  # a reset killed before its commit leaves the range as it was
        ("moving-companions", "reset", True),  # ... and after it, the range as reset
    ],
)
def test_a_killed_writer_leaves_the_range_before_or_after(
    scenario_range: Path, tmp_path: Path, point: str, what: str, kept: bool
) -> None:
    folder = scenario_range
    rng = Range.open(folder)
    rng.act("advance-clock", {"minutes": "3"})
    twin = Range.open(shutil.copytree(folder, tmp_path / "twin"))
    _do(twin, what)
    before = (rng.peek().dumps(), rng.journal())
    after = (twin.peek().dumps(), twin.journal())
    assert before != after
    _crash(folder, point, what)
    seen = Range.open(folder)
    assert (seen.peek().dumps(), seen.journal()) == (after if kept else before)
    _next_command_works(folder)  # ... and puts the files in order
    journal = Range.open(folder).journal()
    assert journal[:-1] == (after if kept else before)[1] and journal[-1]["action"] == "revoke-sessions"
    lines = (folder / JOURNAL_FILE).read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == journal


def test_kill_9_at_random_moments_never_tears_the_range(scenario_range: Path) -> None:
    folder = scenario_range
    rng = Range.open(folder)
    since, clock = len(rng.journal()), rng.now
    pace = random.Random(20261114)
    for _ in range(8):
        driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(folder)], stdout=subprocess.PIPE)
        assert driver.stdout is not None and driver.stdout.readline().strip() == b"ready"
        time.sleep(pace.uniform(0.02, 0.3))
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        driver.stdout.close()
        assert_consistent(folder, since=since, clock=clock, passes_of=(GRACE,))
        Range.open(folder).act("revoke-sessions", {"user": GRACE}, actor=NOOR)  # the next action works
        assert _leftovers(folder) == []
    _next_command_works(folder)
    journal = assert_consistent(folder, since=since, clock=clock, passes_of=(GRACE,))
    assert len(journal) > since + 16  # the writers did get work done between the kills
    assert {e["action"] for e in journal[since:]} >= {"advance-clock", "revoke-sessions", "issue-tap"}


def test_a_failed_start_leaves_no_range_and_no_lock_file(tmp_path: Path) -> None:
    def prelude(r: Range) -> None:
        r.act("advance-clock", {"minutes": "1"})
        raise RangeError("the prelude is wrong")

    with pytest.raises(RangeError, match="prelude is wrong"):
        Range.seeded(tmp_path / "range", state(), play=prelude)
    assert list((tmp_path / "range").iterdir()) == []


def test_a_range_saved_before_commit_records_opens_and_heals(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("advance-clock", {"minutes": "1"})
    folder = rng.state_dir
    doc = orjson.loads((folder / STATE_FILE).read_bytes())
    del doc["commit"]  # as an earlier version wrote it
    (folder / STATE_FILE).write_bytes(orjson.dumps(doc))
    with (folder / JOURNAL_FILE).open("ab") as journal:
        journal.write(b'{"action": "advance-clo')  # a line cut short by a crash
    old = Range.open(folder)
    assert [e["action"] for e in old.journal()] == ["advance-clock"]
    old.act("advance-clock", {"minutes": "1"})
    assert [e["action"] for e in Range.open(folder).journal()] == ["advance-clock"] * 2
    assert [orjson.loads(line) for line in (folder / JOURNAL_FILE).read_bytes().splitlines()]
    assert Range.open(folder).now == START + timedelta(minutes=2)
