"""Shared pieces of the demo generator: the fixed clock, deterministic ids, timestamps and JSON writers."""

from __future__ import annotations

import base64
import random
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

Json = dict[str, Any]

DEMO_NOW = datetime(2026, 11, 16, 9, 0, 0, tzinfo=UTC)
"""The demo tenant's "now": manifest collectedAt and the end of the log window. Never wall-clock time."""

NOW_TS = int(DEMO_NOW.timestamp())
DAY = 86_400
HOUR = 3_600
MINUTE = 60
LOG_DAYS = 14

DOMAIN = "contoso-demo.example"
TENANT_NAME = "Contoso Demo"
MICROSOFT_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

_ALNUM = string.ascii_uppercase + string.digits
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(ts: int) -> str:
    """UTC ISO-8601 with a trailing Z for an epoch second."""
    return (_EPOCH + timedelta(seconds=ts)).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_ago(days: float, *, at: int | None = None) -> int:
    """Epoch seconds `days` before DEMO_NOW; with `at`, the time of day is forced to `at` seconds."""
    ts = NOW_TS - int(days * DAY)
    if at is not None:
        ts = ts - ts % DAY + at
    return ts


def hm(hour: int, minute: int = 0, second: int = 0) -> int:
    return hour * HOUR + minute * MINUTE + second


class Gen:
    """All randomness of one demo tenant flows through one seeded generator, in a fixed order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        bits = self.rng.getrandbits(128)
        bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
        bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def b64id(self, length: int) -> str:
        """An opaque base64url-looking id, like the ones Graph uses for role assignments and passkeys."""
        raw = self.rng.randbytes(length * 3 // 4 + 3)
        return base64.urlsafe_b64encode(raw).decode("ascii")[:length]

    def tag(self, length: int = 5) -> str:
        choice = self.rng.choice
        return "".join(choice(_ALNUM) for _ in range(length))

    def randint(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def random(self) -> float:
        return self.rng.random()


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def write_json(path: Path, obj: Any) -> None:
    """A small document, indented for people who open the demo in an editor."""
    path.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")


def write_collection(path: Path, items: list[Json]) -> int:
    with CollectionWriter(path) as writer:
        for item in items:
            writer.add(item)
        return writer.count


class CollectionWriter:
    """Streams a Graph collection file, ``{"value": [...]}``, one item per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> CollectionWriter:
        self._fh = self.path.open("wb", buffering=1 << 20)
        self._fh.write(b'{"value":[')
        return self

    def add(self, item: Json) -> None:
        assert self._fh is not None
        self._fh.write(b"\n" if self.count == 0 else b",\n")
        self._fh.write(orjson.dumps(item))
        self.count += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._fh is not None
        self._fh.write(b"\n]}\n")
        self._fh.close()


class LinesWriter:
    """Streams a JSON Lines file: one object per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> LinesWriter:
        self._fh = self.path.open("wb", buffering=1 << 20)
        return self

    def add(self, item: Json) -> None:
        assert self._fh is not None
        self._fh.write(orjson.dumps(item))
        self._fh.write(b"\n")
        self.count += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._fh is not None
        self._fh.close()
