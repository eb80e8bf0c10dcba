"""Open a file a user named, safely: regular files only, each kind with its size limit.

Every input GraphLattice reads on a user's word (snapshot collections, settings, waivers, scenarios, Sigma
rules, tickets, incident files) goes through here, so a hostile or mistaken path cannot make a command hang or
exhaust memory:

- Only a **regular file** is read, after symbolic links are resolved. A FIFO would block the reader forever,
  ``/dev/zero`` never ends, a directory or socket is not a document: each is refused with one line naming the
  path. The file is opened non-blocking (so opening a FIFO does not wait for a writer) and checked on the open
  descriptor, so swapping the path between the check and the read changes nothing.
- Small hand-written documents have a **size limit** per kind; a file larger than that is refused before it
  is read. Real exports that can be large (snapshot collections, logs) have none: they are read as they are,
  streamed where the reader allows it. Tickets and incident files can grow with an organisation, so their
  limit can be raised with an environment variable (in MiB).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from graphlattice.errors import InputError

__all__ = [
    "COLLECTION",
    "INCIDENTS",
    "LOG",
    "MANIFEST",
    "SCENARIO",
    "SETTINGS",
    "SIGMA_RULE",
    "TICKETS",
    "WAIVERS",
    "ErrorFactory",
    "Kind",
    "MiB",
    "decode_text",
    "open_regular",
    "read_bytes",
    "read_text",
]

MiB = 1 << 20

ErrorFactory = Callable[[str, str, int | None], InputError]
"""Builds the caller's error from (path, message, line): ``ConfigError``, ``ScenarioError`` ..."""


def _plain_error(path: str, message: str, line: int | None = None) -> InputError:
    return InputError(f"{path}:{line}: {message}" if line is not None else f"{path}: {message}")


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of input: what to call it in messages and how large it may be (``None``: no limit)."""

    what: str
    limit: int | None
    env: str | None = None  # environment variable that replaces the limit, in MiB

    def max_bytes(self) -> int | None:
        if self.env is not None:
            raw = os.environ.get(self.env, "").strip()
            if raw:
                try:
                    mib = float(raw)
                except ValueError:
                    raise InputError(f"{self.env}={raw!r} is not a size in MiB") from None
                if not 0 < mib < 1 << 40:
                    raise InputError(f"{self.env}={raw!r} is not a size in MiB")
                return int(mib * MiB)
        return self.limit


SETTINGS = Kind("settings file", 1 * MiB)
WAIVERS = Kind("waivers file", 16 * MiB)
SCENARIO = Kind("scenario file", 16 * MiB)
SIGMA_RULE = Kind("Sigma rule file", 4 * MiB)
MANIFEST = Kind("manifest", 16 * MiB)
TICKETS = Kind("tickets file", 256 * MiB, "GRAPHLATTICE_MAX_TICKETS_MB")
INCIDENTS = Kind("incident file", 256 * MiB, "GRAPHLATTICE_MAX_INCIDENTS_MB")
COLLECTION = Kind("snapshot collection file", None)
LOG = Kind("log file", None)


def _describe(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / MiB:,.1f} MiB" if n >= MiB else f"{n:,} bytes"


def open_regular(path: str | Path, kind: Kind, error: ErrorFactory = _plain_error) -> BinaryIO:
    """Open ``path`` for reading in binary mode if it is a regular file within ``kind``'s limit."""
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        raise error(name, f"cannot read the {kind.what}: {exc.strerror or exc}", None) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            real = os.path.realpath(name)
            shown = f" ({real})" if real != os.path.abspath(name) else ""
            raise error(
                name,
                f"{_describe(info.st_mode)}{shown}, not a regular file: only regular files are read",
                None,
            )
        limit = kind.max_bytes()
        if limit is not None and info.st_size > limit:
            hint = f"; set {kind.env} (MiB) to raise it" if kind.env else ""
            raise error(
                name,
                f"{_size(info.st_size)} is more than a {kind.what} may be ({_size(limit)}){hint}",
                None,
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path, kind: Kind, error: ErrorFactory = _plain_error) -> bytes:
    """The whole content of a regular file, refused when larger than ``kind`` allows (even if it grew)."""
    limit = kind.max_bytes()
    with open_regular(path, kind, error) as handle:
        try:
            data = handle.read() if limit is None else handle.read(limit + 1)
        except OSError as exc:
            raise error(str(path), f"cannot read the {kind.what}: {exc.strerror or exc}", None) from None
    if limit is not None and len(data) > limit:
        raise error(str(path), f"more than a {kind.what} may be ({_size(limit)})", None)
    return data


def decode_text(path: str | Path, data: bytes, kind: Kind, error: ErrorFactory = _plain_error) -> str:
    """UTF-8 text (a leading byte order mark is dropped; UTF-16 with its byte order mark, as Windows
    PowerShell writes, is read too); bad bytes are an error naming their line."""
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1 if encoding != "utf-16" else None
        name = "UTF-16" if line is None else "UTF-8"
        where = f"byte 0x{data[exc.start]:02x} at offset {exc.start:,}"
        raise error(str(path), f"the {kind.what} is not {name} text ({where})", line) from None


def read_text(path: str | Path, kind: Kind, error: ErrorFactory = _plain_error) -> str:
    """:func:`read_bytes` decoded as UTF-8 (see :func:`decode_text`)."""
    return decode_text(path, read_bytes(path, kind, error), kind, error)
