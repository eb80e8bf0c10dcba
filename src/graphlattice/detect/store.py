"""The log store: one DuckDB database (in memory, or a file kept across runs with ``--db``).

Tables:

``audits`` / ``signins``
    Normalised records (the non-enrichment fields of :mod:`~graphlattice.detect.fields`), one row per record
    id, plus the internal ``ingest_batch`` column. Ingest appends here; nothing else writes them.
``signin_history`` / ``user_first_ok`` / ``audit_sessions``
    The ingest-time history of :mod:`~graphlattice.detect.history`, kept by ingest.
``audit_events`` / ``signin_events``
    What the rules scan: the normalised columns plus enrichment, set up by :func:`~graphlattice.detect.
    enrich.enrich` for each run (run settings such as the time zone and the look-back window apply there).
    Both are temporary: a view over ``signins``, a table built from ``audits``; a store file never holds
    them.
``ingest_log``
    One row per file ingested: what it was, how many records were new, duplicate or skipped.
``gl_meta``
    The schema fingerprint; a store written with another field set is refused, not silently mixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from graphlattice.detect.factors import SESSION_ERROR_CODES
from graphlattice.detect.fields import AUDIT, BASE_TABLES, EVENT_TABLES, SIGNIN, base_columns
from graphlattice.detect.history import HISTORY_TABLES
from graphlattice.detect.sigma_sql import DUCKDB, Dialect
from graphlattice.errors import InputError, UsageError
from graphlattice.files import Kind, open_regular

__all__ = ["Store", "schema_fingerprint"]

_SCHEMA_VERSION = "2"
STORE = Kind("log store", None)

# Small SQL helpers used by ingest and enrichment. Macros are expanded inline, so they cost nothing at run
# time; they are TEMP, so a store file never depends on them.
_MACROS = (
    # empty strings are absent values; surrounding spaces are trimmed (checked first: trimming every value
    # copies every string, a fifth of ingest time)
    """CREATE OR REPLACE TEMP MACRO gl_text(x) AS
        CASE WHEN starts_with(CAST(x AS VARCHAR), ' ') OR ends_with(CAST(x AS VARCHAR), ' ')
             THEN nullif(trim(CAST(x AS VARCHAR)), '') ELSE nullif(CAST(x AS VARCHAR), '') END""",
    "CREATE OR REPLACE TEMP MACRO gl_id(x) AS lower(gl_text(x))",
    """CREATE OR REPLACE TEMP MACRO gl_bool(x) AS
        CASE lower(trim(CAST(x AS VARCHAR)))
            WHEN 'true' THEN true WHEN '1' THEN true WHEN 'false' THEN false WHEN '0' THEN false END""",
    # ISO 8601 with any offset (to UTC); the Log Analytics portal's CSV format; Windows PowerShell's
    # ConvertTo-Json DateTime (/Date(ms)/, UTC); a DateTime's en-US ToString() as IR exporters write it
    """CREATE OR REPLACE TEMP MACRO gl_ts(x) AS coalesce(
            timezone('UTC', try_cast(CAST(x AS VARCHAR) AS TIMESTAMPTZ)),
            try_strptime(CAST(x AS VARCHAR), '%m/%d/%Y, %I:%M:%S.%g %p'),
            try_strptime(CAST(x AS VARCHAR), '%m/%d/%Y, %I:%M:%S %p'),
            make_timestamp(1000 * try_cast(
                regexp_extract(CAST(x AS VARCHAR), '^/Date\\((-?[0-9]+)([+-][0-9]{4})?\\)/$', 1) AS BIGINT)),
            try_strptime(CAST(x AS VARCHAR), '%m/%d/%Y %I:%M:%S %p'))""",
    # a Log Analytics dynamic column: an object, or a string holding one (CSV, non-interactive tables)
    """CREATE OR REPLACE TEMP MACRO gl_dyn(x) AS
        CASE WHEN x IS NULL OR NOT json_valid(CAST(x AS VARCHAR)) THEN NULL
             WHEN json_type(CAST(x AS VARCHAR)) = 'VARCHAR' THEN json_extract_string(CAST(x AS VARCHAR), '$')
             ELSE CAST(x AS VARCHAR) END""",
    # audit modifiedProperties: JSON-quoted strings unquoted; doubled key prefixes collapsed
    """CREATE OR REPLACE TEMP MACRO gl_unquote(v) AS
        CASE WHEN v LIKE '"%"' AND json_valid(v) THEN json_extract_string(v, '$') ELSE v END""",
    """CREATE OR REPLACE TEMP MACRO gl_key(k) AS
        CASE WHEN len(string_split(k, '.')) >= 3 AND string_split(k, '.')[1] = string_split(k, '.')[2]
             THEN array_to_string(string_split(k, '.')[2:], '.') ELSE k END""",
    """CREATE OR REPLACE TEMP MACRO gl_prop(mp, pattern) AS
        (list_filter(mp, lambda p: p.key ILIKE pattern)[1]).new""",
    # the authentication method a security-info record is about, named as Graph names method types
    """CREATE OR REPLACE TEMP MACRO gl_method(activity, reason, service) AS
        CASE
            WHEN coalesce(service, '') NOT IN ('Authentication Methods', 'Device Registration Service')
                 AND coalesce(activity, '') NOT ILIKE '%security info%' THEN NULL
            WHEN reason ILIKE '%temporary access pass%' OR activity ILIKE '%temporary access pass%'
                THEN 'temporaryAccessPass'
            WHEN activity ILIKE '%passwordless phone sign-in%' OR reason ILIKE '%authenticator%'
                THEN 'microsoftAuthenticator'
            WHEN activity ILIKE '%fido2%' OR reason ILIKE '%fido%' OR reason ILIKE '%passkey%'
                 OR reason ILIKE '%security key%' THEN 'fido2'
            WHEN activity ILIKE '%windows hello%' OR reason ILIKE '%windows hello%'
                THEN 'windowsHelloForBusiness'
            WHEN reason ILIKE '%hardware oath%' OR reason ILIKE '%hardware token%' THEN 'hardwareOath'
            WHEN reason ILIKE '%oath%' OR reason ILIKE '%software token%' THEN 'softwareOath'
            WHEN reason ILIKE '%phone%' OR reason ILIKE '%sms%' OR reason ILIKE '%voice%' THEN 'phone'
            WHEN reason ILIKE '%email%' THEN 'email'
        END""",
)


def schema_fingerprint() -> str:
    """Changes whenever a base column or a history table is added, removed, renamed or retyped, and when the
    sign-ins that begin a session change (the stored sessions of actions would no longer hold)."""
    text = "|".join(f"{t}:{f.name}:{f.sql_type}" for t in (AUDIT, SIGNIN) for f in base_columns(t))
    text += "|" + "|".join(HISTORY_TABLES)
    text += "|sessions:" + ",".join(str(code) for code in SESSION_ERROR_CODES)
    return f"{_SCHEMA_VERSION}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


class Store:
    """An open log store. ``path=None`` is a fresh in-memory store."""

    dialect: Dialect = DUCKDB
    """Rules run here in DuckDB's SQL (the store is an :class:`~graphlattice.detect.engine.EventSource`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            _check_store_file(path)
        try:
            self.con = duckdb.connect(str(path) if path is not None else ":memory:")
        except duckdb.Error as exc:
            raise InputError(f"cannot open the log store {path}: {_first_line(exc)}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        for macro in _MACROS:
            self.con.execute(macro)
        self._ensure_schema()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a query and fetch every row (this DuckDB wants results consumed before the next call)."""
        return self.con.execute(sql, list(params)).fetchall()

    def one(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...]:
        """The first row of a query that always returns one (an aggregate)."""
        rows = self.rows(sql, params)
        if not rows:
            raise AssertionError(f"query returned no row: {sql[:80]}")
        return rows[0]

    def count(self, table: str) -> int:
        return int(self.one(f"SELECT count(*) FROM {table}")[0])

    def event_records(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The rows of ``audit_events`` and ``signin_events`` with these record ids, by id."""
        records: dict[str, dict[str, Any]] = {}
        if not ids:
            return records
        for sql in (
            f"""SELECT * FROM {EVENT_TABLES[AUDIT]} WHERE rowid IN
                (SELECT rowid FROM {EVENT_TABLES[AUDIT]} WHERE record_id IN (SELECT unnest(?::VARCHAR[])))""",
            "SELECT * FROM signin_events_of(?::VARCHAR[])",  # the view, narrowed first (enrich defines it)
        ):
            wanted = [rid for rid in ids if rid not in records]
            if not wanted:
                break
            cursor = self.con.execute(sql, [wanted])
            rows = cursor.fetchall()
            names = [d[0] for d in cursor.description or ()]
            for row in rows:
                record = dict(zip(names, row, strict=True))
                records.setdefault(str(record["record_id"]), record)
        return records

    def _ensure_schema(self) -> None:
        con = self.con
        tables = {
            str(row[0]) for row in self.rows("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")
        }
        if tables and "gl_meta" not in tables:
            self.close()
            raise InputError(
                f"--db {self.path}: a DuckDB database that is not a GraphLattice log store (it holds "
                f"{len(tables)} other table(s)); it was left as it is — give the path of a new or existing "
                "log store"
            )
        con.execute("CREATE TABLE IF NOT EXISTS gl_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        rows = self.rows("SELECT value FROM gl_meta WHERE key = 'schema'")
        fingerprint = schema_fingerprint()
        if rows and rows[0][0] != fingerprint:
            raise UsageError(
                f"the log store {self.path} was written with another log schema ({rows[0][0]}, this "
                f"version uses {fingerprint}); give a new --db file"
            )
        if not rows:
            con.execute("INSERT INTO gl_meta VALUES ('schema', ?)", [fingerprint])
        for kind, table in BASE_TABLES.items():
            columns = ", ".join(f'"{f.name}" {f.sql_type}' for f in base_columns(kind))
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns}, ingest_batch INTEGER)")
        for history_table in HISTORY_TABLES:
            con.execute(f"CREATE TABLE IF NOT EXISTS {history_table}")
        con.execute(
            """CREATE TABLE IF NOT EXISTS ingest_log (
                batch INTEGER, path VARCHAR, kind VARCHAR, source VARCHAR, container VARCHAR,
                records INTEGER, new INTEGER, duplicates INTEGER, skipped INTEGER, ingested_at TIMESTAMP)"""
        )

    def next_batch(self) -> int:
        return int(self.one("SELECT coalesce(max(batch), 0) + 1 FROM ingest_log")[0])


_DUCKDB_MAGIC = b"DUCK"
_MAGIC_AT = 8  # a DuckDB file starts with an 8-byte checksum, then the magic


def _check_store_file(path: Path) -> None:
    """Refuse a ``--db`` path that exists and is not a DuckDB database, before DuckDB touches it.

    DuckDB would block forever on a FIFO, and on other files it fails in ways that do not say what is wrong
    (or, for an SQLite file, tries to download an extension). A store file is only ever created by us, so
    anything else there is the user's own file: it is left exactly as it is.
    """
    if not path.exists() and not path.is_symlink():
        return
    try:
        with open_regular(path, STORE) as handle:
            head = handle.read(_MAGIC_AT + len(_DUCKDB_MAGIC))
    except InputError as exc:
        raise InputError(f"--db {exc}; give the path of a new or existing log store") from None
    if head[_MAGIC_AT:] != _DUCKDB_MAGIC:
        what = "an empty file" if not head else "not a DuckDB database"
        raise InputError(
            f"--db {path}: {what}, so not a log store; it was left as it is — give the path of a new or "
            "existing log store"
        )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
