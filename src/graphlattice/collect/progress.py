"""Progress of :func:`graphlattice.collect.collector.collect` on stderr.

On a terminal, :class:`RichProgress` keeps a row per collection up to date. Anywhere else (a CI job, a log
file, a pipe) a live display prints nothing until the end, so :class:`PlainProgress` writes plain lines
instead: one when a collection starts, one when it finishes or fails, and a heartbeat at a fixed interval
(30 s; ``GRAPHLATTICE_HEARTBEAT_SECONDS`` changes it) naming what is still being read, so a job that has
been quiet for a while is visibly alive. A failure's message quotes the server's error text, which is shown
escaped (:func:`~graphlattice.safetext.terminal_safe`), one line per event.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from graphlattice.collect.collector import CollectionOutcome
from graphlattice.safetext import terminal_safe

__all__ = ["HEARTBEAT_SECONDS", "PlainProgress", "RichProgress"]

HEARTBEAT_SECONDS = 30.0


class RichProgress:
    """One row per collection: waiting, reading (objects so far), done, resumed or failed."""

    def __init__(self, console: Console, names: Iterable[str]) -> None:
        self._progress = Progress(
            TextColumn("{task.fields[mark]}", justify="left"),
            TextColumn("{task.description}", justify="left"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[detail]}", justify="left"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            refresh_per_second=4,
        )
        self._tasks: dict[str, TaskID] = {}
        self._counts: dict[str, int] = {}
        width = max((len(n) for n in names), default=10)
        for name in names:
            self._tasks[name] = self._progress.add_task(
                name.ljust(width), total=None, start=False, mark="·", detail="waiting"
            )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def _task(self, name: str) -> TaskID:
        task = self._tasks.get(name)
        if task is None:
            task = self._tasks[name] = self._progress.add_task(name, total=None, mark="·", detail="")
        return task

    def begin(self, name: str, total: int | None) -> None:
        task = self._task(name)
        self._progress.start_task(task)
        self._progress.update(task, total=total, mark="…", detail="reading")

    def advance(self, name: str, items: int) -> None:
        task = self._task(name)
        done = self._counts[name] = self._counts.get(name, 0) + items
        self._progress.update(task, advance=items, detail=f"{done:,} read")

    def end(self, outcome: CollectionOutcome) -> None:
        task = self._task(outcome.name)
        if outcome.status == "ok":
            detail = f"{outcome.count:,}" + (" (finished earlier)" if outcome.resumed else "")
            self._progress.update(task, total=1, completed=1, mark="[green]✓[/]", detail=detail)
        else:
            self._progress.update(task, total=1, completed=0, mark="[red]✗[/]", detail=outcome.remedy)
        self._progress.stop_task(task)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def heartbeat_interval() -> float:
    """The heartbeat interval: 30 s unless ``GRAPHLATTICE_HEARTBEAT_SECONDS`` holds a positive number."""
    text = os.environ.get("GRAPHLATTICE_HEARTBEAT_SECONDS", "")
    try:
        value = float(text)
    except ValueError:
        return HEARTBEAT_SECONDS
    return value if value > 0 else HEARTBEAT_SECONDS


class PlainProgress:
    """Plain lines for a log: ``[mm:ss] users: started``, ``… done: 1,204 objects``, and heartbeats."""

    def __init__(self, stream: TextIO, names: Iterable[str], *, interval: float | None = None) -> None:
        self._stream = stream
        self._names = list(names)
        self._interval = interval if interval is not None else heartbeat_interval()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._reading: dict[str, int] = {}  # collection -> objects read so far
        self._finished: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="collect-heartbeat", daemon=True)

    def __enter__(self) -> PlainProgress:
        self._line(f"collecting {len(self._names)} collections")
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _line(self, text: str) -> None:
        with self._lock:
            line = terminal_safe(text, single_line=True)
            self._stream.write(f"[{_clock(time.monotonic() - self._started)}] {line}\n")
            self._stream.flush()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                reading = dict(self._reading)
                done = len(self._finished)
            pending = [n for n in self._names if n not in reading and n not in self._finished]
            parts = [f"{done} of {len(self._names)} collections finished"]
            if reading:
                parts.append(
                    "reading " + ", ".join(f"{name} ({count:,} so far)" for name, count in reading.items())
                )
            if pending:
                parts.append(f"waiting: {', '.join(pending)}")
            self._line("still collecting: " + "; ".join(parts))

    def begin(self, name: str, total: int | None) -> None:
        with self._lock:
            self._reading[name] = 0
        self._line(f"{name}: started" + (f" ({total:,} to read)" if total else ""))

    def advance(self, name: str, items: int) -> None:
        with self._lock:
            self._reading[name] = self._reading.get(name, 0) + items

    def end(self, outcome: CollectionOutcome) -> None:
        with self._lock:
            self._reading.pop(outcome.name, None)
            self._finished.add(outcome.name)
        if outcome.status != "ok":
            self._line(f"{outcome.name}: failed: {outcome.error} — {outcome.remedy}")
        elif outcome.resumed:
            self._line(f"{outcome.name}: finished earlier, kept ({outcome.count:,} objects)")
        else:
            self._line(f"{outcome.name}: done, {outcome.count:,} objects")
