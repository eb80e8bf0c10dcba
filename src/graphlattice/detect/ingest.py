"""Read audit and sign-in log files once into the store, normalised to the canonical fields.

What a file holds is sniffed from its first records (:mod:`.sniff`); DuckDB then reads and converts it in
one pass per kind of record (:mod:`.readers`: ``read_json`` / ``read_csv`` with a fixed schema, then one SQL
projection). A diagnostic-settings stream is split per record by its category: audits and the four sign-in
categories are read, every other category is counted and named in the report. A file the fast reader
refuses because it holds several JSON documents (or byte order marks between them, or UTF-16 text) is
rewritten as JSON Lines by :mod:`.stream` and read from there; errors still name the original line.

Records are deduplicated by id against the store and within the file. A file is one transaction: a bad
file leaves the store as it was, and files ingested before it stay. Python only sniffs, and, on the error
path, finds the bad line (:mod:`.locate`).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from graphlattice.detect import history
from graphlattice.detect.fields import AUDIT, BASE_TABLES, SIGNIN, base_columns
from graphlattice.detect.locate import Origin, count_csv_rows, locate
from graphlattice.detect.readers import category_census_sql, next_link_sql, normalise_sql
from graphlattice.detect.sniff import DIAGNOSTIC_CATEGORIES, NotALog, Sniffed, open_log, sniff
from graphlattice.detect.store import Store
from graphlattice.detect.stream import restream
from graphlattice.errors import LogError

__all__ = ["LOG_SUFFIXES", "FileReport", "ingest_file", "ingest_files", "log_inputs"]


@dataclass(frozen=True, slots=True)
class FileReport:
    """What one file contributed."""

    path: Path
    kind: str | None  # "audit", "signin", "audit+signin"; None: no record read
    source: str  # "graph", "sentinel" or "diagnostics" ("" when nothing was read)
    records: int
    new: int
    duplicates: int
    skipped: int  # unreadable records skipped (--skip-bad-lines)
    skipped_categories: dict[str, int] = field(default_factory=dict)  # diagnostic categories not read
    next_link: str | None = None  # the last page's @odata.nextLink: an incomplete collection
    not_a_log: str | None = None  # the input is no log (what it is): skipped

    @property
    def empty(self) -> bool:
        return self.kind is None and not self.skipped_categories and self.not_a_log is None


@dataclass(frozen=True, slots=True)
class _Source:
    """One file DuckDB reads: the user's file, or a JSON Lines rewrite of part of it."""

    path: Path
    sniffed: Sniffed
    origin: Origin | None = None


class _Refused(Exception):
    """DuckDB's reader refused a source (the transaction was rolled back)."""

    def __init__(self, source: _Source, kind: str, error: duckdb.Error) -> None:
        super().__init__(str(error))
        self.source = source
        self.kind = kind
        self.error = error


LOG_SUFFIXES = (".json", ".jsonl", ".csv", ".json.gz", ".jsonl.gz", ".csv.gz")
"""What a folder given as logs is searched for (recursively: a storage account's y=/m=/d=/h= tree)."""


def log_inputs(paths: Sequence[Path]) -> tuple[list[Path], bool]:
    """The files to read for ``paths`` (a folder stands for its log-like files), and whether files that
    are no log may be skipped: when several files or a folder were given."""
    files: list[Path] = []
    folder = False
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        folder = True
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.name.lower().endswith(LOG_SUFFIXES)
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise LogError(str(path), "the folder holds no .json, .jsonl or .csv file")
        files.extend(found)
    return files, folder or len(files) > 1


def ingest_files(
    store: Store,
    paths: Sequence[Path],
    *,
    skip_bad_lines: bool = False,
    skip_non_logs: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> list[FileReport]:
    """Ingest every file, in order; raises :class:`LogError` at the first bad file (earlier ones stay).

    ``skip_non_logs``: a file that is no log (a snapshot's ``users.json`` in a folder given as logs) is
    reported as skipped instead of stopping the run — unless no input at all is a log.
    """
    reports = []
    first_refusal: NotALog | None = None
    for path in paths:
        if progress is not None:
            progress(path)
        try:
            reports.append(ingest_file(store, path, skip_bad_lines=skip_bad_lines))
        except NotALog as exc:
            if not skip_non_logs:
                raise
            first_refusal = first_refusal or exc
            reports.append(FileReport(path, None, "", 0, 0, 0, 0, not_a_log=exc.what))
    if first_refusal is not None and all(r.not_a_log for r in reports):
        if len(reports) == 1:
            raise first_refusal
        shown = "; ".join(f"{r.path.name}: {r.not_a_log}" for r in reports[:3])
        more = f"; and {len(reports) - 3} more" if len(reports) > 3 else ""
        raise LogError(
            str(reports[0].path.parent),
            f"none of the {len(reports)} files given is an audit or sign-in log ({shown}{more})",
        )
    return reports


def ingest_file(store: Store, path: Path, *, skip_bad_lines: bool = False) -> FileReport:
    """Ingest one file; raises :class:`NotALog` for a file that is no log, :class:`LogError` for a bad one."""
    if not path.is_file():
        raise LogError(str(path), "no such file" if not path.exists() else "not a file")
    sniffed = sniff(path)
    if sniffed is None:
        return FileReport(path, None, "", 0, 0, 0, 0)
    if sniffed.encoding != "utf-8":
        report = _ingest_rewritten(store, path, skip_bad_lines)
        assert report is not None
        return report
    source = _Source(path, sniffed)
    try:
        report = _ingest(store, path, [source], skip_bad_lines=skip_bad_lines, lenient=False)
    except _Refused as refused:
        if sniffed.container != "csv":
            rewritten = _ingest_rewritten(store, path, skip_bad_lines, only_if_needed=sniffed.container)
            if rewritten is not None:
                return rewritten
        if not skip_bad_lines:
            raise locate(path, sniffed, refused.kind, refused.error) from None
        try:
            report = _ingest(store, path, [source], skip_bad_lines=True, lenient=True)
        except _Refused as again:
            raise locate(path, sniffed, again.kind, again.error) from None
    link = _next_link(path, sniffed)
    return report if link is None else _with_link(report, link)


def _with_link(report: FileReport, link: str) -> FileReport:
    return FileReport(
        report.path,
        report.kind,
        report.source,
        report.records,
        report.new,
        report.duplicates,
        report.skipped,
        report.skipped_categories,
        link,
    )


def _ingest_rewritten(
    store: Store, path: Path, skip_bad_lines: bool, only_if_needed: str | None = None
) -> FileReport | None:
    """Ingest the JSON Lines rewrite of ``path``. With ``only_if_needed`` (the sniffed container), return
    None when the rewrite would not read the file any differently (one document, no byte order mark
    inside), so the caller reports the original problem."""
    with tempfile.TemporaryDirectory(prefix="graphlattice-ingest-") as scratch:
        try:
            rewritten = restream(path, Path(scratch))
        except LogError:
            if only_if_needed == "lines":
                return None  # a truncated or malformed line: the line-by-line path reports (or skips) it
            raise
        if only_if_needed is not None and rewritten.byte_order_marks == 0:
            single = rewritten.documents <= 1 if only_if_needed != "lines" else not rewritten.wrapped
            if single:
                return None
        sources = []
        for part in rewritten.parts:
            sniffed = Sniffed(part.kind, part.source, "lines", part.pascal)
            sources.append(_Source(part.path, sniffed, part.where))
        if not sources:
            return FileReport(path, None, "", 0, 0, 0, 0, next_link=rewritten.next_link)
        try:
            report = _ingest(store, path, sources, skip_bad_lines=skip_bad_lines, lenient=False)
        except _Refused as refused:
            if not skip_bad_lines:
                raise _located(path, refused) from None
            try:
                report = _ingest(store, path, sources, skip_bad_lines=True, lenient=True)
            except _Refused as again:
                raise _located(path, again) from None
    return report if rewritten.next_link is None else _with_link(report, rewritten.next_link)


def _located(path: Path, refused: _Refused) -> LogError:
    src = refused.source
    return locate(src.path, src.sniffed, refused.kind, refused.error, shown=path, origin=src.origin)


def _kinds(store: Store, source: _Source, lenient: bool) -> tuple[list[str], dict[str, int]]:
    """The kinds of record a source holds, and (diagnostics) the categories it holds that are not read."""
    sniffed = source.sniffed
    if sniffed.source != "diagnostics":
        return ([sniffed.kind] if sniffed.kind is not None else [SIGNIN, AUDIT]), {}
    try:
        rows = store.rows(category_census_sql(source.path, sniffed, lenient))
    except duckdb.Error as exc:
        raise _Refused(source, SIGNIN, exc) from None
    kinds: set[str] = set()
    skipped: dict[str, int] = {}
    for category, count in rows:
        found = DIAGNOSTIC_CATEGORIES.get(str(category or "").lower())
        if found is None:
            name = str(category) if category else "(no category)"
            skipped[name] = skipped.get(name, 0) + int(count)
        else:
            kinds.add(found[0])
    return [k for k in (SIGNIN, AUDIT) if k in kinds], skipped


def _ingest(
    store: Store, shown: Path, sources: Sequence[_Source], *, skip_bad_lines: bool, lenient: bool
) -> FileReport:
    """One transaction: every source's records of every kind it holds. ``lenient``: DuckDB skips what it
    cannot parse (``--skip-bad-lines``, after a strict read failed)."""
    con = store.con
    plans = [(source, *_kinds(store, source, lenient)) for source in sources]
    kinds = [k for k in (SIGNIN, AUDIT) if any(k in plan[1] for plan in plans)]
    skipped_categories: dict[str, int] = {}
    for _source, _kinds_of, skipped in plans:
        for name, count in skipped.items():
            skipped_categories[name] = skipped_categories.get(name, 0) + count
    batch = store.next_batch()
    had_rows = {kind: store.count(BASE_TABLES[kind]) > 0 for kind in kinds}
    con.execute("BEGIN TRANSACTION")
    try:
        for source, source_kinds, _skipped in plans:
            for kind in source_kinds:
                try:
                    _insert(con, kind, batch, normalise_sql(source.path, source.sniffed, kind, lenient))
                except duckdb.Error as exc:
                    _rollback(con)
                    raise _Refused(source, kind, exc) from None
        totals = [0, 0, 0, 0]  # records, new, duplicates, skipped
        present = []
        for kind in kinds:
            counts = _settle(store, kind, batch, had_rows[kind], plans, shown, skip_bad_lines, lenient)
            if counts[0]:
                present.append(kind)
            con.execute(
                "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
                [batch, str(shown), kind, plans[0][0].sniffed.source, plans[0][0].sniffed.container, *counts],
            )
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    kind_name = "+".join(sorted(present)) or None
    records, new, duplicates, bad = totals
    fmt = plans[0][0].sniffed.source
    return FileReport(shown, kind_name, fmt, records, new, duplicates, bad, skipped_categories)


def _settle(
    store: Store,
    kind: str,
    batch: int,
    had_rows: bool,
    plans: Sequence[tuple[_Source, list[str], dict[str, int]]],
    shown: Path,
    skip_bad_lines: bool,
    lenient: bool,
) -> list[int]:
    """Drop the batch's unusable and duplicate rows of ``kind``, bring the history up to date; returns
    [records, new, duplicates, skipped]."""
    con = store.con
    table = BASE_TABLES[kind]
    inserted, invalid, distinct = _batch_counts(store, table, batch)
    if invalid and not skip_bad_lines:
        source = next(s for s, k, _ in plans if kind in k)
        raise locate(source.path, source.sniffed, kind, None, shown=shown, origin=source.origin)
    skipped = invalid
    if invalid:
        con.execute(
            f"DELETE FROM {table} WHERE ingest_batch = ? AND (record_id IS NULL OR time IS NULL)", [batch]
        )
    if lenient:
        for source, source_kinds, _ in plans:
            if source.sniffed.container == "csv" and kind in source_kinds:
                skipped += max(0, count_csv_rows(source.path) - inserted)
    valid = inserted - invalid
    duplicates = valid - distinct
    if duplicates:
        con.execute(
            f"""DELETE FROM {table} WHERE ingest_batch = ? AND rowid NOT IN
                (SELECT min(rowid) FROM {table} WHERE ingest_batch = ? GROUP BY record_id)""",
            [batch, batch],
        )
    if had_rows:
        row = store.one(
            f"""DELETE FROM {table} WHERE ingest_batch = ? AND record_id IN
                (SELECT record_id FROM {table} WHERE ingest_batch < ?)""",
            [batch, batch],
        )
        duplicates += int(row[0])
    new = valid - duplicates
    if new:
        if kind == SIGNIN:
            history.after_signins(con, batch, alone=not had_rows)
        else:
            history.after_audits(con, batch)
    return [valid + skipped, new, duplicates, skipped]


def _insert(con: duckdb.DuckDBPyConnection, kind: str, batch: int, select_sql: str) -> None:
    columns = ", ".join([*(f'"{f.name}"' for f in base_columns(kind)), "ingest_batch"])
    con.execute(f"INSERT INTO {BASE_TABLES[kind]} ({columns}) SELECT *, {int(batch)} FROM ({select_sql})")


def _batch_counts(store: Store, table: str, batch: int) -> tuple[int, int, int]:
    row = store.one(
        f"""SELECT count(*), count(*) FILTER (WHERE record_id IS NULL OR time IS NULL),
                   count(DISTINCT record_id) FILTER (WHERE record_id IS NOT NULL AND time IS NOT NULL)
            FROM {table} WHERE ingest_batch = ?""",
        [batch],
    )
    return int(row[0]), int(row[1]), int(row[2])


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # no transaction was open (it was already rolled back)
        con.execute("ROLLBACK")


_NEXT_LINK = b'"@odata.nextLink"'


def _next_link(path: Path, sniffed: Sniffed) -> str | None:
    """The last page's ``@odata.nextLink`` of a file of Graph pages: set means the export stopped before
    the end of the collection."""
    if sniffed.container != "pages" or not _mentions(path, _NEXT_LINK):
        return None
    con = duckdb.connect()
    try:
        rows = con.execute(next_link_sql(path, sniffed)).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return str(rows[-1][0]) if rows and rows[-1][0] else None


def _mentions(path: Path, needle: bytes) -> bool:
    """``needle`` occurs in the file (read in blocks; cheap next to parsing it)."""
    tail = b""
    with open_log(path) as fh:
        while block := fh.read(8 << 20):
            if needle in tail + block[: len(needle)] or needle in block:
                return True
            tail = block[-len(needle) :]
    return False
