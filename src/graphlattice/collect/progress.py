"""A progress bar per collection on stderr (rich), for :func:`graphlattice.collect.collector.collect`."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from graphlattice.collect.collector import CollectionOutcome

__all__ = ["RichProgress"]


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
            self._progress.update(
                task, total=1, completed=0, mark="[red]✗[/]", detail=f"grant {outcome.required_permission}"
            )
        self._progress.stop_task(task)
