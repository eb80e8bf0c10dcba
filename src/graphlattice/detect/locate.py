"""The error path of ingest: the first bad record of a file the fast reader refused (or read into rows
without an id or a time), named by file and line — the original file's line, also for a file that was
rewritten by :mod:`.stream`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from graphlattice.detect.fields import AUDIT, SIGNIN
from graphlattice.detect.sniff import DIAGNOSTIC_CATEGORIES, Sniffed, classify, csv_header_name, open_log
from graphlattice.detect.stream import iter_records
from graphlattice.errors import LogError

__all__ = ["Origin", "count_csv_rows", "first_line", "locate", "record_problem"]

Origin = Callable[[int], tuple[int | None, str]]
"""Maps a line of the file read to (line in the user's file, detail)."""

_ID_KEYS = {AUDIT: ("id",), SIGNIN: ("id",)}
_TIME_KEYS = {
    ("graph", AUDIT): ("activityDateTime",),
    ("graph", SIGNIN): ("createdDateTime",),
    ("sentinel", AUDIT): ("ActivityDateTime", "TimeGenerated"),
    ("sentinel", SIGNIN): ("CreatedDateTime", "TimeGenerated"),
}
_KIND_NAMES = {AUDIT: "an audit record", SIGNIN: "a sign-in record"}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")
_PS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def _parses_as_time(value: object) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip()
    if _PS_DATE.match(text):
        return True
    iso = _FRACTION.sub(r"\1", text.replace("Z", "+00:00").replace("z", "+00:00"))
    try:
        datetime.fromisoformat(iso)
        return True
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y, %I:%M:%S.%f %p", "%m/%d/%Y, %I:%M:%S %p", "%m/%d/%Y %I:%M:%S %p"):
        try:
            datetime.strptime(text, fmt)
            return True
        except ValueError:
            continue
    return False


def _of_kind(record: Any, sniffed: Sniffed, kind: str) -> bool:
    """Whether the reader took ``record`` as a record of ``kind`` (diagnostics and collections split)."""
    if sniffed.source == "diagnostics" and isinstance(record, dict):
        found = DIAGNOSTIC_CATEGORIES.get(str(record.get("category") or "").lower())
        return found is not None and found[0] == kind
    if sniffed.container == "collections" and isinstance(record, dict):
        found_kind = classify(record)
        return found_kind is None or found_kind[0] == kind
    return True


def record_problem(record: Any, sniffed: Sniffed, kind: str) -> str | None:
    """Why a record of ``kind`` gives no usable row (no id, no time), or None."""
    if not isinstance(record, dict):
        return "is not a JSON object"
    if sniffed.source == "diagnostics":
        record = record.get("properties")
        if not isinstance(record, dict):
            return "has no 'properties' object"
    source = "sentinel" if sniffed.source == "sentinel" else "graph"
    folded = source == "sentinel" or sniffed.pascal
    keys = {k.lower(): v for k, v in record.items()} if folded else record
    id_keys = [k.lower() if folded else k for k in _ID_KEYS[kind]]
    time_keys = [k.lower() if folded else k for k in _TIME_KEYS[(source, kind)]]
    other = classify(record)
    if other is not None and other[0] not in (None, kind) and sniffed.source != "diagnostics":
        return (
            f"is {_KIND_NAMES[other[0]]}, but the file's first record is {_KIND_NAMES[kind]}: give audit and "
            "sign-in records in separate files"
        )
    if not any(isinstance(keys.get(k), str) and keys.get(k) for k in id_keys):
        return f"record has no {_ID_KEYS[kind][0]!r}"
    times = [keys.get(k) for k in time_keys if keys.get(k)]
    if not times:
        return f"record has no {_TIME_KEYS[(source, kind)][0]!r}"
    if not _parses_as_time(times[0]):
        return f"record has an unreadable time {str(times[0])[:40]!r}"
    return None


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open_log(path) as fh:
        yield from enumerate(fh, start=1)


def locate(
    path: Path,
    sniffed: Sniffed,
    kind: str,
    exc: duckdb.Error | None,
    *,
    shown: Path | None = None,
    origin: Origin | None = None,
) -> LogError:
    """The error naming the first bad record of ``kind`` in ``path`` (reported as ``shown``, its lines mapped
    through ``origin`` when the file is a rewrite)."""
    where = str(shown or path)

    def error(message: str, line: int | None) -> LogError:
        if origin is not None and line is not None:
            line, detail = origin(line)
            message = message.replace("; ", f"{detail}; ", 1) if detail else message
        return LogError(where, message, line)

    hint = "fix or remove the line, or use --skip-bad-lines"
    if sniffed.container == "lines":
        for number, raw in _lines(path):
            if not raw.strip(b" \t\r\n"):
                continue
            try:
                record = orjson.loads(raw.removeprefix(b"\xef\xbb\xbf"))
            except orjson.JSONDecodeError:
                truncated = not raw.endswith(b"\n")
                what = "truncated record (the file ends mid-record)" if truncated else "not valid JSON"
                return error(f"{what}; {hint}", number)
            if not _of_kind(record, sniffed, kind):
                continue
            problem = record_problem(record, sniffed, kind)
            if problem:
                return error(f"{problem}; {hint}", number)
    elif sniffed.container == "csv":
        return _locate_csv(path, sniffed, kind, where)
    else:
        for record, line, detail in iter_records(path, shown=shown):
            if not _of_kind(record, sniffed, kind):
                continue
            problem = record_problem(record, sniffed, kind)
            if problem:
                return LogError(where, f"{problem}{detail}", line)
    text = first_line(exc) if exc is not None else "unreadable records"
    return LogError(where, f"cannot read the log: {text}")


def _locate_csv(path: Path, sniffed: Sniffed, kind: str, where: str) -> LogError:
    with open_log(path) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
            for row in reader:
                if len(row) != len(header):
                    return LogError(
                        where,
                        f"row has {len(row)} fields, the header has {len(header)}; "
                        "fix it or use --skip-bad-lines",
                        reader.line_num,
                    )
                record = dict(zip((csv_header_name(h) for h in header), row, strict=True))
                problem = record_problem(record, sniffed, kind)
                if problem:
                    return LogError(where, f"{problem}; fix it or use --skip-bad-lines", reader.line_num)
        except csv.Error as exc:
            return LogError(where, f"malformed CSV ({exc})", reader.line_num)
    return LogError(where, "cannot read the CSV export")


def count_csv_rows(path: Path) -> int:
    with open_log(path) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text)
        try:
            return max(0, sum(1 for _ in reader) - 1)
        except csv.Error:
            return 0


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
