"""Streaming, atomic snapshot files: pages go to disk as they arrive, a collection appears only when complete.

A list collection is written as ``{"value": [`` item, item, ... ``]}`` one item at a time with orjson, into a
hidden ``.NAME.part`` file that is renamed over ``NAME`` when the last page is in; an interrupted run leaves
no half-written collection behind, only a part file the next run overwrites. JSONL collections (per-user
methods, logs) are written the same way, one object per line. ``manifest.json`` is written last, and
``.collect-state.json`` records which collections are finished so ``--resume`` can skip them.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from graphlattice.errors import CollectError

__all__ = ["JsonlWriter", "ListWriter", "write_json_atomic"]


def _open(part: Path) -> IO[bytes]:
    try:
        return part.open("wb")
    except OSError as exc:
        raise CollectError(f"cannot write {part}: {exc.strerror or exc}") from None


def _finish(handle: IO[bytes], part: Path, final: Path) -> None:
    try:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(part, final)
    except OSError as exc:
        raise CollectError(f"cannot write {final}: {exc.strerror or exc}") from None


class _Streamed:
    def __init__(self, final: Path) -> None:
        self.final = final
        self.part = final.with_name(f".{final.name}.part")
        self.count = 0
        self._handle: IO[bytes] | None = _open(self.part)
        self._done = False

    @property
    def handle(self) -> IO[bytes]:
        if self._handle is None:
            raise RuntimeError(f"{self.final.name} is already closed")
        return self._handle

    def abort(self) -> None:
        """Drop the part file (the collection stays absent)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.part.unlink(missing_ok=True)

    def __enter__(self) -> _Streamed:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._done:
            self.abort()


class ListWriter(_Streamed):
    """``{"value": [...]}`` written item by item."""

    def __init__(self, final: Path) -> None:
        super().__init__(final)
        self.handle.write(b'{"value":[')

    def write(self, item: Any) -> None:
        self.handle.write((b"," if self.count else b"") + orjson.dumps(item))
        self.count += 1

    def write_raw(self, encoded: bytes) -> None:
        """An item already encoded (used to stream one large item in parts, see :meth:`open_item`)."""
        self.handle.write((b"," if self.count else b"") + encoded)
        self.count += 1

    def append(self, encoded: bytes) -> None:
        """More bytes of the item being written."""
        self.handle.write(encoded)

    def commit(self) -> int:
        self.handle.write(b"]}")
        _finish(self.handle, self.part, self.final)
        self._handle = None
        self._done = True
        return self.count

    def __enter__(self) -> ListWriter:
        return self


class JsonlWriter(_Streamed):
    """One JSON object per line."""

    def write(self, item: Any) -> None:
        self.handle.write(orjson.dumps(item) + b"\n")
        self.count += 1

    def commit(self) -> int:
        _finish(self.handle, self.part, self.final)
        self._handle = None
        self._done = True
        return self.count

    def __enter__(self) -> JsonlWriter:
        return self


def write_json_atomic(path: Path, data: Any, *, indent: bool = False) -> None:
    """One JSON document, replaced atomically."""
    part = path.with_name(f".{path.name}.part")
    handle = _open(part)
    try:
        handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 if indent else 0))
    except BaseException:
        handle.close()
        part.unlink(missing_ok=True)
        raise
    _finish(handle, part, path)
