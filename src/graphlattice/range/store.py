"""A range on disk: one directory per range.

* ``state.json`` — the whole :class:`RangeState` plus the range's own facts (scenario, hints used), written
  atomically after every action (a temporary file in the same directory, flushed, then ``os.replace``), so a
  crash leaves either the old or the new state, never half of one.
* ``journal.jsonl`` — append-only, one line per action: clock time, actor, action, parameters (secrets
  redacted), outcome and a short result.
* ``seed.json`` — the state right after seeding and the attacker's timeline as played, so ``reset``
  re-seeds and replays exactly without the scenario file.
* ``principals.json`` — the users and service principals of the state, for signing tokens without loading
  it (see :mod:`graphlattice.range.principals`).

The default directory is ``$GRAPHLATTICE_RANGE_HOME``, else ``$XDG_DATA_HOME/graphlattice/range``, else
``~/.local/share/graphlattice/range``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from graphlattice.errors import RangeError

__all__ = [
    "JOURNAL_FILE",
    "SEED_FILE",
    "STATE_FILE",
    "RangeStore",
    "default_state_dir",
]

STATE_FILE = "state.json"
JOURNAL_FILE = "journal.jsonl"
SEED_FILE = "seed.json"


def default_state_dir() -> Path:
    home = os.environ.get("GRAPHLATTICE_RANGE_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "graphlattice" / "range"


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class RangeStore:
    """Reads and writes the files of one range directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    @property
    def journal_path(self) -> Path:
        return self.root / JOURNAL_FILE

    @property
    def seed_path(self) -> Path:
        return self.root / SEED_FILE

    def exists(self) -> bool:
        return self.state_path.is_file()

    def create(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RangeError(
                f"cannot create the range directory {self.root}: {exc.strerror or exc}"
            ) from None

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise RangeError(
                f"no range in {self.root}; run 'graphlattice range start SCENARIO' first"
            ) from None
        except OSError as exc:
            raise RangeError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RangeError(f"{path} is not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise RangeError(f"{path} is not a JSON object")
        return data

    def read_state(self) -> dict[str, Any]:
        return self._read(self.state_path)

    def write_state(self, document: dict[str, Any]) -> None:
        _write_atomically(self.state_path, orjson.dumps(document, option=orjson.OPT_SORT_KEYS))

    def write_file(self, name: str, data: bytes) -> None:
        """Another file of the range (e.g. an index derived from the state), written atomically."""
        _write_atomically(self.root / name, data)

    def read_seed(self) -> dict[str, Any]:
        return self._read(self.seed_path)

    def write_seed(self, document: dict[str, Any]) -> None:
        _write_atomically(self.seed_path, orjson.dumps(document, option=orjson.OPT_SORT_KEYS))

    def append_journal(self, entry: dict[str, Any]) -> None:
        line = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n"
        with self.journal_path.open("ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def reset_journal(self) -> None:
        _write_atomically(self.journal_path, b"")

    def journal(self) -> Iterator[dict[str, Any]]:
        if not self.journal_path.exists():
            return
        with self.journal_path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    raise RangeError(f"{self.journal_path}:{number}: not valid JSON") from None
                if isinstance(entry, dict):
                    yield entry
