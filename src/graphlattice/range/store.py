"""A range on disk: one directory per range, shared safely by every process that opens it.

* ``state.json`` — the whole :class:`RangeState`, the range's own facts (scenario, hints used) and its
  ``commit`` record: the journal line of the action it commits and where that line ends in the journal. It
  is replaced atomically (a temporary file in the same directory, flushed, then ``os.replace``): that
  replacement is the moment an action happens.
* ``journal.jsonl`` — append-only, one line per action: clock time, actor, action, parameters (secrets
  redacted), outcome and a short result. An action that changes the state appends its line *after* the
  state is committed; a writer killed in between leaves a state whose line is missing, and the next writer
  (or any reader, in what it reads) puts it back from the commit record. A refusal that changes nothing
  else is only a journal line; a line cut short by a kill is dropped.
* ``seed.json`` — the state right after seeding and the attacker's timeline as played, so ``reset``
  re-seeds and replays exactly without the scenario file.
* ``principals.json`` — the users and service principals of the state, for signing tokens without loading
  it (see :mod:`graphlattice.range.principals`).
* ``range.lock`` — an empty file a writer holds an exclusive ``flock`` on across read-modify-write.
  Learners mix ``range act``, scripts and ``range serve`` on one folder: without it two writers would both
  start from the same state and one would silently undo the other. Readers need no lock: the state file is
  only ever replaced whole, and a reader of the journal checks that the state did not change meanwhile.

Starting or resetting a range replaces the journal and the seed together with the state. Those companion
files are first written as ``.NAME.TOKEN.pending``, the committed state names the token (``commit.pending``,
a digest of the state) and they are then renamed into place. A writer killed before the commit leaves
pending files no state names (the next writer deletes them); one killed after it leaves files the state
names (the next writer renames them).

Waiting for the lock is bounded: ``$GRAPHLATTICE_RANGE_LOCK_TIMEOUT`` seconds (default 20), then
:class:`~graphlattice.errors.RangeBusy`.

The default directory is ``$GRAPHLATTICE_RANGE_HOME``, else ``$XDG_DATA_HOME/graphlattice/range``, else
``~/.local/share/graphlattice/range``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from graphlattice.errors import RangeBusy, RangeError, UsageError

__all__ = [
    "COMMIT_KEY",
    "DEFAULT_LOCK_TIMEOUT",
    "DERIVED_FILES",
    "JOURNAL_FILE",
    "LOCK_FILE",
    "LOCK_TIMEOUT_ENV",
    "SEED_FILE",
    "STATE_FILE",
    "RangeStore",
    "StateVersion",
    "commit_for",
    "commit_record",
    "default_state_dir",
    "lock_timeout",
]

STATE_FILE = "state.json"
JOURNAL_FILE = "journal.jsonl"
SEED_FILE = "seed.json"
LOCK_FILE = "range.lock"
COMMIT_KEY = "commit"
LOCK_TIMEOUT_ENV = "GRAPHLATTICE_RANGE_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 20.0
_OWN_FILES = (STATE_FILE, JOURNAL_FILE, SEED_FILE)
DERIVED_FILES = ("principals.json",)  # written with write_file (graphlattice.range.principals)


def default_state_dir() -> Path:
    home = os.environ.get("GRAPHLATTICE_RANGE_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "graphlattice" / "range"


def lock_timeout() -> float:
    """Seconds a writer waits for the range's lock: ``$GRAPHLATTICE_RANGE_LOCK_TIMEOUT`` or the default."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise UsageError(f"{LOCK_TIMEOUT_ENV} must be a number of seconds (0 or more), not {raw!r}")
    return value


# ---- the lock -------------------------------------------------------------------------------------------

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int, shared: bool) -> bool:
        del shared  # Windows byte-range locks have no shared mode here: readers queue like writers
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int, shared: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


# ---- files ----------------------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes, *, keep_open: bool = False) -> int | None:
    """Replace ``path`` with ``data`` in one step; ``keep_open`` returns the new file's descriptor."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _write_all(fd, data)
        os.fsync(fd)
        os.replace(temp, path)
    except BaseException as exc:
        os.close(fd)
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise RangeError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    _sync_dir(path.parent)
    if keep_open:
        return fd
    os.close(fd)
    return None


def _is_leftover(name: str) -> bool:
    """A temporary file one of our writers makes (``.state.json.XXXX.tmp``, ``.journal.jsonl.D.pending``)."""
    if not name.startswith("."):
        return False
    return name.endswith((".tmp", ".pending")) and any(
        name.startswith(f".{own}.") for own in (*_OWN_FILES, *DERIVED_FILES)
    )


class StateVersion:
    """The state file exactly as this process read or wrote it.

    The file stays open, so its inode cannot be handed to a newer file while we hold it: "the path still
    names the same inode, with the same size and modification time" is then a one-``stat`` answer to "has
    anyone committed since?" — the change marker every reader and writer checks (writers replace the file,
    never rewrite it in place).
    """

    __slots__ = ("__weakref__", "_key", "_path")

    def __init__(self, fd: int, path: Path) -> None:
        st = os.fstat(fd)
        self._path = path
        self._key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        weakref.finalize(self, os.close, fd)

    def is_current(self) -> bool:
        try:
            st = os.stat(self._path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == self._key


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

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILE

    def exists(self) -> bool:
        return self.state_path.is_file()

    def create(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RangeError(
                f"cannot create the range directory {self.root}: {exc.strerror or exc}"
            ) from None

    # ---- locking ----------------------------------------------------------------------------------------

    @contextmanager
    def lock(self, *, shared: bool = False, timeout: float | None = None) -> Iterator[None]:
        """Hold the range's lock (exclusive for writers, shared for readers of several files).

        Waits at most ``timeout`` seconds (default :func:`lock_timeout`), then raises
        :class:`~graphlattice.errors.RangeBusy`. A reader in a folder it may not write skips the lock.
        """
        wait = lock_timeout() if timeout is None else timeout
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            if shared and not isinstance(exc, FileNotFoundError):
                fd = -1  # a read-only folder: nobody can write there, so there is nothing to wait for
            elif isinstance(exc, FileNotFoundError):
                raise RangeError(
                    f"no range in {self.root}; run 'graphlattice range start SCENARIO' first"
                ) from None
            else:
                raise RangeError(f"cannot lock {self.lock_path}: {exc.strerror or exc}") from None
        if fd < 0:
            yield
            return
        try:
            deadline = time.monotonic() + wait
            delay = 0.0005
            while not _try_lock(fd, shared):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RangeBusy(
                        f"the range in {self.root} is busy: another 'range' command or 'range serve' kept it "
                        f"locked for {wait:g} s; nothing was changed. Try again, or wait longer with "
                        f"{LOCK_TIMEOUT_ENV}=SECONDS"
                    )
                jitter = random.uniform(0.5, 1.5)  # waiters do not retry in step
                time.sleep(min(left, delay * jitter))
                delay = min(delay * 2, 0.01)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    # ---- the state --------------------------------------------------------------------------------------

    def _parse(self, path: Path, raw: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RangeError(f"{path} is not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise RangeError(f"{path} is not a JSON object")
        return data

    def _open(self, path: Path) -> int:
        try:
            return os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise RangeError(
                f"no range in {self.root}; run 'graphlattice range start SCENARIO' first"
            ) from None
        except OSError as exc:
            raise RangeError(f"cannot read {path}: {exc.strerror or exc}") from None

    def read_state(self) -> tuple[dict[str, Any], StateVersion]:
        """The committed state document and the version it is (see :class:`StateVersion`)."""
        fd = self._open(self.state_path)
        version = StateVersion(fd, self.state_path)  # owns fd from here on
        try:
            with open(fd, "rb", closefd=False) as handle:
                raw = handle.read()
        except OSError as exc:
            raise RangeError(f"cannot read {self.state_path}: {exc.strerror or exc}") from None
        return self._parse(self.state_path, raw), version

    def write_state(
        self,
        document: Mapping[str, Any],
        record: Mapping[str, Any],
        companions: Mapping[str, bytes] | None = None,
    ) -> tuple[dict[str, Any], StateVersion]:
        """Commit ``document`` with its commit ``record`` (see :func:`commit_for`); ``companions`` (file name
        -> content) are replaced with it, all or none. Returns the record written and the new version."""
        parts = {key: orjson.dumps(value, option=orjson.OPT_SORT_KEYS) for key, value in document.items()}
        written = {k: v for k, v in record.items() if k != "pending"}
        if companions:
            # Named after the state they belong to, so that equal states (a reset) write equal bytes.
            digest = hashlib.sha256()
            for key in sorted(parts):
                digest.update(f"{key}\0".encode() + parts[key] + b"\0")
            written["pending"] = token = digest.hexdigest()[:16]
            for name, content in companions.items():
                _write_atomically(self.root / _pending_name(name, token), content)
        body = {key: orjson.Fragment(raw) for key, raw in parts.items()}
        raw = orjson.dumps({**body, COMMIT_KEY: written}, option=orjson.OPT_SORT_KEYS)
        fd = _write_atomically(self.state_path, raw, keep_open=True)
        assert fd is not None
        version = StateVersion(fd, self.state_path)
        for name in companions or ():
            self._move(self.root / _pending_name(name, written["pending"]), self.root / name)
        return written, version

    def _move(self, source: Path, target: Path) -> None:
        try:
            os.replace(source, target)
        except FileNotFoundError:
            return  # moved already (by a writer that finished a killed one's commit)
        except OSError as exc:
            raise RangeError(f"cannot write {target}: {exc.strerror or exc}") from None
        _sync_dir(self.root)

    def recover(self, record: Mapping[str, Any] | None) -> None:
        """Under the exclusive lock: finish or undo what a writer killed mid-commit left behind.

        ``record`` is the committed state's commit record (None: the folder is being started afresh).
        """
        token = _token(record)
        wanted = {_pending_name(name, token): name for name in _OWN_FILES} if token else {}
        try:
            names = [p.name for p in self.root.iterdir()]
        except OSError:
            return
        for name in names:
            if name in wanted:
                self._move(self.root / name, self.root / wanted[name])
            elif _is_leftover(name):
                (self.root / name).unlink(missing_ok=True)
        if record is not None:
            self._settle_journal(record)

    # ---- the journal ------------------------------------------------------------------------------------

    def _settle_journal(self, record: Mapping[str, Any]) -> None:
        """Make the journal what ``record`` commits: put back a committed line a killed writer did not get to
        write, drop a line it cut short."""
        try:
            with self.journal_path.open("r+b") as handle:

                def read_from(offset: int) -> bytes:
                    handle.seek(offset)
                    return handle.read()

                size = handle.seek(0, os.SEEK_END)
                keep, missing = _plan(size, read_from, record)
                if keep < size or missing:
                    handle.truncate(keep)
                    handle.seek(keep)
                    handle.write(missing)
                    handle.flush()
                    os.fsync(handle.fileno())
        except FileNotFoundError:
            _, missing = _plan(0, lambda offset: b"", record)
            if missing:
                self.append_journal(missing)
        except OSError as exc:
            raise RangeError(f"cannot repair {self.journal_path}: {exc.strerror or exc}") from None

    def journal_size(self) -> int:
        try:
            return self.journal_path.stat().st_size
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise RangeError(f"cannot read {self.journal_path}: {exc.strerror or exc}") from None

    def append_journal(self, line: bytes) -> None:
        """Append one journal line (under the exclusive lock, after :meth:`recover`)."""
        try:
            fd = os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise RangeError(f"cannot write {self.journal_path}: {exc.strerror or exc}") from None
        try:
            _write_all(fd, line)
            os.fsync(fd)
        except OSError as exc:
            raise RangeError(f"cannot write {self.journal_path}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)

    def journal(self, record: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """The journal as the commit ``record`` names it (valid if that record is still the committed one
        after reading, or under the lock)."""
        path = self.journal_path
        token = _token(record)
        if token and (self.root / _pending_name(JOURNAL_FILE, token)).exists():
            path = self.root / _pending_name(JOURNAL_FILE, token)  # committed, not yet moved into place
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise RangeError(f"cannot read {path}: {exc.strerror or exc}") from None
        keep, missing = _plan(len(raw), lambda offset: raw[offset:], record)
        raw = raw[:keep] + missing
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                entry = _after_torn_prefix(line)
                if entry is None:
                    raise RangeError(f"{self.journal_path}:{number}: not valid JSON") from None
            if isinstance(entry, dict):
                yield entry

    # ---- the seed ---------------------------------------------------------------------------------------

    def write_file(self, name: str, data: bytes) -> None:
        """Another file of the range (one of :data:`DERIVED_FILES`, derived from the state), written
        atomically; call it under the lock, right after the state it derives from."""
        if name not in DERIVED_FILES:
            raise ValueError(f"{name} is not a file of the range")
        _write_atomically(self.root / name, data)

    def read_seed(self) -> dict[str, Any]:
        try:
            raw = self.seed_path.read_bytes()
        except FileNotFoundError:
            raise RangeError(f"{self.seed_path} is missing; start the range again") from None
        except OSError as exc:
            raise RangeError(f"cannot read {self.seed_path}: {exc.strerror or exc}") from None
        return self._parse(self.seed_path, raw)

    def remove(self) -> None:
        """Delete the files the Range writes and the folder if it is then empty."""
        if not self.root.is_dir():
            return
        with self.lock():
            for name in os.listdir(self.root):
                if name in (*_OWN_FILES, *DERIVED_FILES, LOCK_FILE) or _is_leftover(name):
                    (self.root / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()


def commit_record(document: Mapping[str, Any]) -> dict[str, Any]:
    """The commit record of a state document (empty for a range written before there was one)."""
    record = document.get(COMMIT_KEY)
    return dict(record) if isinstance(record, Mapping) else {}


def commit_for(previous: Mapping[str, Any], *, line: bytes | None = None, start: int = 0) -> dict[str, Any]:
    """The commit record of a new state: the journal ``line`` of its action, written at byte ``start``
    (None: no new line; the previous record's journal facts carry over)."""
    if line is None:
        return {k: v for k, v in previous.items() if k in ("journalBytes", "lastLine")}
    return {"journalBytes": start + len(line), "lastLine": line.decode("utf-8")}


def _last_committed(record: Mapping[str, Any]) -> tuple[int, bytes]:
    """(where the last committed journal line starts, that line); (0, b"") when the record names none."""
    end = record.get("journalBytes")
    raw = record.get("lastLine")
    last = raw.encode("utf-8") if isinstance(raw, str) else b""
    if not isinstance(end, int) or end < len(last):
        return 0, b""
    return end - len(last), last


def _plan(size: int, read_from: Callable[[int], bytes], record: Mapping[str, Any]) -> tuple[int, bytes]:
    """What of a journal of ``size`` bytes ``record`` commits: how many leading bytes stand (up to its last
    committed line, then whole lines of refusals journaled since) and what must follow them (that line, if
    a killed writer did not get to write it whole)."""
    start, last = _last_committed(record)
    if size < start:  # shorter than committed (damaged outside the Range): its whole lines, then the line
        data = read_from(0)
        return data.rfind(b"\n") + 1, last
    tail = read_from(start)
    if tail.startswith(last):
        rest = tail[len(last) :]
        return start + len(last) + rest.rfind(b"\n") + 1, b""
    return start, last


def _after_torn_prefix(line: bytes) -> dict[str, Any] | None:
    """The whole entry at the end of a line that starts with a torn one (None if there is none).

    A line cut short and then written after without its line break — by a writer before the commit
    record existed, or by a copy of the folder taken mid-write — reads as the fragment and the next entry
    run together. The fragment was never a committed action (commits end in a line break); the entry
    after it is whole, so it is kept rather than losing the journal to one bad line.
    """
    start = line.find(b"{", 1)
    while start > 0:
        try:
            entry = orjson.loads(line[start:])
        except orjson.JSONDecodeError:
            start = line.find(b"{", start + 1)
            continue
        return entry if isinstance(entry, dict) else None
    return None


def _token(record: Mapping[str, Any] | None) -> str | None:
    raw = (record or {}).get("pending")
    return raw if isinstance(raw, str) and raw.isalnum() else None


def _pending_name(name: str, token: str) -> str:
    return f".{name}.{token}.pending"
