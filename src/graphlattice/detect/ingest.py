"""Read audit and sign-in log files once into the store, normalised to the canonical fields.

Accepted, per file (the content decides, not the name; ``.gz`` is fine):

- Microsoft Graph ``directoryAudit`` / ``signIn`` records, v1.0 or beta, interactive or not: JSON Lines, a
  JSON array, or collection documents ``{"value": [...]}`` (one, or one page per line).
- Log Analytics / Sentinel ``AuditLogs``, ``SigninLogs`` and ``AADNonInteractiveUserSignInLogs`` rows
  (PascalCase columns): JSON Lines, a JSON array (``az monitor log-analytics query``), or CSV as the portal
  exports it (``TimeGenerated [UTC]`` headers, dynamic columns as JSON text).
- Azure diagnostic-settings records (``{"category": "AuditLogs", "properties": {...}}``), as written to a
  storage account or Event Hub.

DuckDB reads and converts each file in one pass (``read_json`` / ``read_csv`` with a fixed schema, then one
SQL projection); Python only sniffs the first record and, on the error path, finds the bad line. Records
are deduplicated by id against the store and within the file. A file is one transaction: a bad file leaves
the store as it was, and files ingested before it stay.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from graphlattice.detect import history
from graphlattice.detect.fields import AUDIT, BASE_TABLES, SIGNIN, base_columns
from graphlattice.detect.store import Store
from graphlattice.errors import LogError

__all__ = ["FileReport", "ingest_files", "sniff"]

# -- the Graph shapes read from files (only what normalisation uses) ----------------------------------------

Shape = Any  # a type name, a dict of field -> Shape (struct), or a one-element list [Shape]

_USER = {"id": "VARCHAR", "displayName": "VARCHAR", "userPrincipalName": "VARCHAR", "ipAddress": "VARCHAR"}
_APP = {"appId": "VARCHAR", "displayName": "VARCHAR", "servicePrincipalId": "VARCHAR"}
_PROP = {"displayName": "VARCHAR", "oldValue": "VARCHAR", "newValue": "VARCHAR"}
_TARGET = {
    "id": "VARCHAR",
    "displayName": "VARCHAR",
    "type": "VARCHAR",
    "userPrincipalName": "VARCHAR",
    "modifiedProperties": [_PROP],
}
_KV = {"key": "VARCHAR", "value": "VARCHAR"}
AUDIT_SHAPE: dict[str, Shape] = {
    "id": "VARCHAR",
    "category": "VARCHAR",
    "correlationId": "VARCHAR",
    "result": "VARCHAR",
    "resultReason": "VARCHAR",
    "activityDisplayName": "VARCHAR",
    "activityDateTime": "VARCHAR",
    "loggedByService": "VARCHAR",
    "operationType": "VARCHAR",
    "initiatedBy": {"user": _USER, "app": _APP},
    "targetResources": [_TARGET],
    "additionalDetails": [_KV],
}
_STATUS = {"errorCode": "VARCHAR", "failureReason": "VARCHAR"}
_DEVICE = {
    "deviceId": "VARCHAR",
    "displayName": "VARCHAR",
    "operatingSystem": "VARCHAR",
    "browser": "VARCHAR",
    "isCompliant": "VARCHAR",
    "isManaged": "VARCHAR",
    "trustType": "VARCHAR",
}
_LOCATION = {"city": "VARCHAR", "state": "VARCHAR", "countryOrRegion": "VARCHAR"}
_STEP = {"authenticationMethod": "VARCHAR", "succeeded": "VARCHAR"}
SIGNIN_SHAPE: dict[str, Shape] = {
    "id": "VARCHAR",
    "createdDateTime": "VARCHAR",
    "userDisplayName": "VARCHAR",
    "userPrincipalName": "VARCHAR",
    "userId": "VARCHAR",
    "userType": "VARCHAR",
    "appId": "VARCHAR",
    "appDisplayName": "VARCHAR",
    "ipAddress": "VARCHAR",
    "clientAppUsed": "VARCHAR",
    "correlationId": "VARCHAR",
    "conditionalAccessStatus": "VARCHAR",
    "isInteractive": "VARCHAR",
    "riskLevelDuringSignIn": "VARCHAR",
    "riskState": "VARCHAR",
    "resourceDisplayName": "VARCHAR",
    "resourceId": "VARCHAR",
    "userAgent": "VARCHAR",
    "authenticationRequirement": "VARCHAR",
    "status": _STATUS,
    "deviceDetail": _DEVICE,
    "location": _LOCATION,
    "signInEventTypes": ["VARCHAR"],
    "authenticationDetails": [_STEP],
}
_SHAPES = {AUDIT: AUDIT_SHAPE, SIGNIN: SIGNIN_SHAPE}

# Log Analytics columns read per table; the dynamic ones are parsed with the Graph sub-shapes above.
_SENTINEL_TEXT = {
    AUDIT: (
        "Id",
        "TimeGenerated",
        "ActivityDateTime",
        "OperationName",
        "ActivityDisplayName",
        "Category",
        "CorrelationId",
        "Result",
        "ResultReason",
        "ResultDescription",
        "LoggedByService",
        "AADOperationType",
        "Type",
    ),
    SIGNIN: (
        "Id",
        "TimeGenerated",
        "CreatedDateTime",
        "UserDisplayName",
        "UserPrincipalName",
        "UserId",
        "UserType",
        "AppId",
        "AppDisplayName",
        "IPAddress",
        "ClientAppUsed",
        "CorrelationId",
        "ConditionalAccessStatus",
        "IsInteractive",
        "RiskLevelDuringSignIn",
        "RiskState",
        "ResourceDisplayName",
        "ResourceIdentity",
        "UserAgent",
        "AuthenticationRequirement",
        "ResultType",
        "ResultDescription",
        "Location",
        "Category",
        "Type",
    ),
}
_SENTINEL_DYNAMIC = {
    AUDIT: ("InitiatedBy", "TargetResources", "AdditionalDetails"),
    SIGNIN: ("Status", "DeviceDetail", "LocationDetails", "AuthenticationDetails"),
}
_NONINTERACTIVE_TABLES = ("aadnoninteractiveusersigninlogs", "noninteractiveusersigninlogs")


def duck_type(shape: Shape) -> str:
    """DuckDB type of a shape, e.g. ``STRUCT("id" VARCHAR)[]``."""
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        return f"{duck_type(shape[0])}[]"
    inner = ", ".join(f'"{name}" {duck_type(sub)}' for name, sub in shape.items())
    return f"STRUCT({inner})"


def _structure(shape: Shape) -> str:
    """The same shape as a ``from_json`` structure literal."""
    return _sql_str(orjson.dumps(shape).decode())


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- sniffing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: str  # AUDIT or SIGNIN
    source: str  # "graph", "sentinel" or "diagnostics"
    container: str  # "lines", "pages", "array" or "csv"
    noninteractive_table: bool = False  # Sentinel AADNonInteractiveUserSignInLogs
    csv_columns: tuple[str, ...] = ()


_SNIFF_BYTES = 1 << 20


def _open(path: Path) -> io.BufferedReader | gzip.GzipFile:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def sniff(path: Path) -> Sniffed | None:
    """What a log file holds, from its first record; None for an empty file."""
    try:
        with _open(path) as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise LogError(str(path), f"cannot read: {exc.strerror or exc}") from None
    text = head.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        return None
    if stripped[0] not in "[{":
        return _sniff_csv(path, text)
    first_line = stripped.split("\n", 1)[0].strip()
    container = "lines"
    record: Any = None
    try:
        record = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        record = None
    if isinstance(record, dict) and isinstance(record.get("value"), list):
        container, record = "pages", (record["value"][0] if record["value"] else None)
    elif record is None or isinstance(record, list):
        container = "array" if stripped[0] == "[" else "pages"
        record = _first_item(stripped, container)
    if record is None:
        if container == "pages" and re.match(r'\s*\{.*"value"\s*:\s*\[\s*\]', stripped, re.S):
            return None  # an empty Graph page
        if container == "array" and re.match(r"\s*\[\s*\]\s*$", stripped):
            return None
        raise LogError(str(path), "not a log this tool knows (no JSON record found at the start)", 1)
    if not isinstance(record, dict):
        raise LogError(str(path), "not a log this tool knows (the records are not JSON objects)", 1)
    found = _classify(record.keys(), record)
    if found is None:
        raise LogError(
            str(path),
            "not a directoryAudit / signIn log, nor a Log Analytics AuditLogs / SigninLogs export "
            f"(first record has keys {', '.join(sorted(record)[:8])})",
            1,
        )
    kind, source, nonint = found
    return Sniffed(kind, source, container, nonint)


def _first_item(text: str, container: str) -> Any:
    """The first record of a JSON array or a ``{"value": [...]}`` document, from the file's first megabyte."""
    if container == "array":
        start = text.find("{")
    else:
        match = re.search(r'"value"\s*:\s*\[', text)
        if match is None:
            return None
        start = text.find("{", match.end())
    if start < 0:
        return None
    try:
        return orjson.loads(_raw_object(text, start))
    except (orjson.JSONDecodeError, ValueError):
        return None


def _raw_object(text: str, start: int) -> str:
    """The JSON object starting at ``start`` (balanced braces, strings respected)."""
    depth, in_string, escaped = 0, False, False
    for pos in range(start, len(text)):
        char = text[pos]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : pos + 1]
    raise ValueError("incomplete object")


def _classify(keys: Any, record: dict[str, Any] | None) -> tuple[str, str, bool] | None:
    names = set(keys)
    lower = {k.lower() for k in names}
    table = str((record or {}).get("Type") or (record or {}).get("category") or "").lower()
    if record is not None and isinstance(record.get("properties"), dict) and "category" in names:
        props = record["properties"]
        if table == "auditlogs" or "activityDisplayName" in props:
            return AUDIT, "diagnostics", False
        if "signinlogs" in table or "createdDateTime" in props:
            return SIGNIN, "diagnostics", False
        return None
    if "activityDisplayName" in names or "activityDateTime" in names:
        return AUDIT, "graph", False
    if "createdDateTime" in names and ("userPrincipalName" in names or "appId" in names):
        return SIGNIN, "graph", False
    if table == "auditlogs" or (
        "operationname" in lower and ("targetresources" in lower or "loggedbyservice" in lower)
    ):
        return AUDIT, "sentinel", False
    if table in ("signinlogs", *_NONINTERACTIVE_TABLES) or (
        "resulttype" in lower and "appdisplayname" in lower
    ):
        return SIGNIN, "sentinel", table in _NONINTERACTIVE_TABLES
    return None


def _csv_header_name(name: str) -> str:
    """``TimeGenerated [UTC]`` (portal export) is ``TimeGenerated``."""
    return re.sub(r"\s*\[[^\]]*\]\s*$", "", name.strip())


def _sniff_csv(path: Path, text: str) -> Sniffed:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [_csv_header_name(h) for h in next(reader)]
        row = next(reader, None)
    except csv.Error as exc:
        raise LogError(str(path), f"not valid CSV ({exc})", 1) from None
    record = dict(zip(header, row or [], strict=False)) if row else None
    found = _classify(header, record)
    if found is None or found[1] != "sentinel":
        raise LogError(str(path), "not a Log Analytics AuditLogs / SigninLogs CSV export (unknown header)", 1)
    kind, _source, nonint = found
    return Sniffed(kind, "sentinel", "csv", nonint, tuple(header))


# -- SQL: file -> Graph-shaped rows -> canonical rows --------------------------------------------------------


def _read_json(path: Path, container: str, columns: dict[str, str], ignore_errors: bool) -> str:
    cols = "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in columns.items()) + "}"
    fmt = {"lines": "newline_delimited", "array": "array", "pages": "unstructured"}[container]
    size = max(16 << 20, path.stat().st_size + 1024) if container == "pages" else 16 << 20
    opts = f"format = '{fmt}', columns = {cols}, maximum_object_size = {size}"
    if ignore_errors:
        opts += ", ignore_errors = true"
    return f"read_json({_sql_str(str(path))}, {opts})"


def _graph_source(path: Path, sniffed: Sniffed, ignore_errors: bool) -> str:
    shape = _SHAPES[sniffed.kind]
    if sniffed.source == "diagnostics":
        reader = _read_json(path, sniffed.container, {"properties": duck_type(shape)}, ignore_errors)
        return f"SELECT unnest(properties) FROM {reader}"
    if sniffed.container == "pages":
        reader = _read_json(path, "pages", {"value": duck_type([shape])}, ignore_errors)
        return f"SELECT unnest(v) FROM (SELECT unnest(value) AS v FROM {reader})"
    columns = {name: duck_type(sub) for name, sub in shape.items()}
    return f"SELECT * FROM {_read_json(path, sniffed.container, columns, ignore_errors)}"


def _sentinel_raw(path: Path, sniffed: Sniffed, ignore_errors: bool) -> str:
    """The file's Log Analytics columns (missing ones NULL), dynamic columns as text or JSON."""
    text, dynamic = _SENTINEL_TEXT[sniffed.kind], _SENTINEL_DYNAMIC[sniffed.kind]
    if sniffed.container != "csv":
        columns = {name: "VARCHAR" for name in text} | {name: "JSON" for name in dynamic}
        return f"SELECT * FROM {_read_json(path, sniffed.container, columns, ignore_errors)}"
    present = {_csv_header_name(h).lower(): h for h in sniffed.csv_columns}
    select = []
    for name in (*text, *dynamic):
        actual = present.get(name.lower())
        select.append(
            f'"column{sniffed.csv_columns.index(actual):03d}" AS "{name}"'
            if actual
            else f'NULL::VARCHAR AS "{name}"'
        )
    opts = "header = false, skip = 1, all_varchar = true, quote = '\"', escape = '\"', strict_mode = true"
    if ignore_errors:
        opts += ", ignore_errors = true"
    names = "[" + ", ".join(f"'column{i:03d}'" for i in range(len(sniffed.csv_columns))) + "]"
    return f"SELECT {', '.join(select)} FROM read_csv({_sql_str(str(path))}, {opts}, names = {names})"


def _sentinel_source(path: Path, sniffed: Sniffed, ignore_errors: bool) -> str:
    raw = _sentinel_raw(path, sniffed, ignore_errors)
    if sniffed.kind == AUDIT:
        s = AUDIT_SHAPE
        return f"""SELECT "Id" AS id, "Category" AS category, "CorrelationId" AS correlationId,
            "Result" AS result, coalesce(gl_text("ResultReason"), "ResultDescription") AS resultReason,
            coalesce(gl_text("ActivityDisplayName"), "OperationName") AS activityDisplayName,
            coalesce(gl_text("ActivityDateTime"), "TimeGenerated") AS activityDateTime,
            "LoggedByService" AS loggedByService, "AADOperationType" AS operationType,
            from_json(gl_dyn("InitiatedBy"), {_structure(s["initiatedBy"])}) AS initiatedBy,
            from_json(gl_dyn("TargetResources"), {_structure(s["targetResources"])}) AS targetResources,
            from_json(gl_dyn("AdditionalDetails"), {_structure(s["additionalDetails"])}) AS additionalDetails
        FROM ({raw})"""
    s = SIGNIN_SHAPE
    event_type = (
        "['nonInteractiveUser']"
        if sniffed.noninteractive_table
        else """CASE WHEN lower("Type") IN ('aadnoninteractiveusersigninlogs')
                       OR lower("Category") = 'noninteractiveusersigninlogs' THEN ['nonInteractiveUser']
                  WHEN lower("Type") = 'signinlogs' OR lower("Category") = 'signinlogs'
                      THEN ['interactiveUser']
             END"""
    )
    return f"""SELECT "Id" AS id, coalesce(gl_text("CreatedDateTime"), "TimeGenerated") AS createdDateTime,
            "UserDisplayName" AS userDisplayName, "UserPrincipalName" AS userPrincipalName,
            "UserId" AS userId,
            "UserType" AS userType, "AppId" AS appId, "AppDisplayName" AS appDisplayName,
            "IPAddress" AS ipAddress, "ClientAppUsed" AS clientAppUsed, "CorrelationId" AS correlationId,
            "ConditionalAccessStatus" AS conditionalAccessStatus, "IsInteractive" AS isInteractive,
            "RiskLevelDuringSignIn" AS riskLevelDuringSignIn, "RiskState" AS riskState,
            "ResourceDisplayName" AS resourceDisplayName, "ResourceIdentity" AS resourceId,
            "UserAgent" AS userAgent, "AuthenticationRequirement" AS authenticationRequirement,
            {{'errorCode': coalesce(_st.errorCode, "ResultType"),
              'failureReason': coalesce(_st.failureReason, "ResultDescription")}} AS status,
            from_json(gl_dyn("DeviceDetail"), {_structure(s["deviceDetail"])}) AS deviceDetail,
            {{'city': _loc.city, 'state': _loc.state,
              'countryOrRegion': coalesce(_loc.countryOrRegion, "Location")}} AS location,
            {event_type} AS signInEventTypes,
            from_json(gl_dyn("AuthenticationDetails"), {_structure(s["authenticationDetails"])})
                AS authenticationDetails
        FROM (SELECT *, from_json(gl_dyn("Status"), {_structure(s["status"])}) AS _st,
                        from_json(gl_dyn("LocationDetails"), {_structure(s["location"])}) AS _loc
              FROM ({raw}))"""


_AUDIT_SQL = """
SELECT
    gl_text(id) AS record_id, 'audit' AS event_type, gl_ts(activityDateTime) AS time,
    gl_id(correlationId) AS correlation_id, lower(gl_text(result)) AS result,
    gl_text(resultReason) AS result_reason, '{source}' AS source_format,
    gl_text(activityDisplayName) AS activity, gl_text(category) AS category,
    gl_text(loggedByService) AS service, gl_text(operationType) AS operation_type,
    gl_id(initiatedBy."user".id) AS initiator_user_id,
    gl_text(initiatedBy."user".userPrincipalName) AS initiator_upn,
    gl_text(initiatedBy."user".displayName) AS initiator_name,
    gl_text(initiatedBy."user".ipAddress) AS initiator_ip,
    gl_text(initiatedBy.app.displayName) AS initiator_app,
    gl_id(initiatedBy.app.appId) AS initiator_app_id,
    gl_id(targetResources[1].id) AS target_id, gl_text(targetResources[1]."type") AS target_type,
    gl_id(_user.id) AS target_user_id, gl_text(_user.userPrincipalName) AS target_upn,
    gl_text(_user.displayName) AS target_name, gl_text(_device.displayName) AS device_name,
    gl_id(coalesce(gl_prop(_mp, 'Role.TemplateId'), _role.id)) AS role_template_id,
    gl_text(coalesce(gl_prop(_mp, 'Role.DisplayName'), _role.displayName)) AS role_name,
    _mp AS modified_properties,
    list_transform(additionalDetails, lambda d: {{'key': d."key", 'value': d."value"}}) AS additional_details,
    gl_text(gl_prop(_mp, '%AccessPass.Id')) AS tap_id,
    gl_ts(gl_prop(_mp, '%AccessPass.StartDateTime')) AS tap_start,
    gl_ts(coalesce(gl_prop(_mp, '%AccessPass.EndDateTime'), gl_prop(_mp, '%AccessPass.EndTime'))) AS tap_end,
    gl_text(gl_prop(_mp, '%AccessPass.AccessPassUsage')) AS tap_usage,
    gl_method(activityDisplayName, resultReason, loggedByService) AS method_type
FROM (
    SELECT *,
        list_filter(targetResources, lambda t: lower(t."type") = 'user')[1] AS _user,
        list_filter(targetResources, lambda t: lower(t."type") = 'role')[1] AS _role,
        list_filter(targetResources, lambda t: lower(t."type") = 'device')[1] AS _device,
        list_transform(
            flatten(list_transform(coalesce(targetResources, []),
                                   lambda t: coalesce(t.modifiedProperties, []))),
            lambda p: {{'key': gl_key(p.displayName), 'old': gl_unquote(p.oldValue),
                        'new': gl_unquote(p.newValue)}}
        ) AS _mp
    FROM ({source_sql})
)"""

_SIGNIN_SQL = """
SELECT
    gl_text(id) AS record_id, 'signin' AS event_type, gl_ts(createdDateTime) AS time,
    gl_id(correlationId) AS correlation_id,
    CASE WHEN _err = 0 THEN 'success' WHEN _err IS NOT NULL THEN 'failure' END AS result,
    gl_text(status.failureReason) AS result_reason, '{source}' AS source_format,
    gl_id(userId) AS user_id, gl_text(userPrincipalName) AS upn, gl_text(userDisplayName) AS user_name,
    lower(gl_text(userType)) AS user_type, gl_id(appId) AS app_id, gl_text(appDisplayName) AS app_name,
    gl_id(resourceId) AS resource_id, gl_text(resourceDisplayName) AS resource_name,
    gl_text(clientAppUsed) AS client_app, gl_text(userAgent) AS user_agent, gl_text(ipAddress) AS ip,
    gl_text(location.countryOrRegion) AS country, gl_text(location.city) AS city,
    gl_text(location.state) AS state, gl_text(deviceDetail.deviceId) AS device_id,
    gl_text(deviceDetail.displayName) AS device_name, gl_text(deviceDetail.operatingSystem) AS device_os,
    gl_text(deviceDetail.browser) AS browser, gl_bool(deviceDetail.isCompliant) AS device_compliant,
    gl_bool(deviceDetail.isManaged) AS device_managed, gl_text(deviceDetail.trustType) AS device_trust_type,
    CASE WHEN authenticationDetails IS NOT NULL THEN list_transform(
        list_filter(authenticationDetails, lambda d: coalesce(gl_bool(d.succeeded), true)
                                                     AND gl_text(d.authenticationMethod) IS NOT NULL),
        lambda d: gl_text(d.authenticationMethod)) END AS auth_methods,
    gl_text(authenticationRequirement) AS auth_requirement, _err AS error_code,
    gl_text(conditionalAccessStatus) AS ca_status,
    coalesce(gl_bool(isInteractive), list_contains(signInEventTypes, 'interactiveUser')) AS is_interactive,
    coalesce(gl_text(signInEventTypes[1]),
             CASE gl_bool(isInteractive) WHEN true THEN 'interactiveUser'
                                         WHEN false THEN 'nonInteractiveUser' END) AS signin_event_type,
    gl_text(riskLevelDuringSignIn) AS risk_level, gl_text(riskState) AS risk_state
FROM (SELECT *, try_cast(status.errorCode AS INTEGER) AS _err FROM ({source_sql}))"""


def normalise_sql(path: Path, sniffed: Sniffed, ignore_errors: bool = False) -> str:
    """One SELECT turning the file into canonical rows (the columns of the base table, in order)."""
    if sniffed.source == "sentinel":
        source_sql = _sentinel_source(path, sniffed, ignore_errors)
    else:
        source_sql = _graph_source(path, sniffed, ignore_errors)
    template = _AUDIT_SQL if sniffed.kind == AUDIT else _SIGNIN_SQL
    source_format = "sentinel" if sniffed.source == "sentinel" else "graph"
    inner = template.format(source=source_format, source_sql=source_sql)
    columns = ", ".join(f'"{f.name}"' for f in base_columns(sniffed.kind))
    return f"SELECT {columns} FROM ({inner})"


# -- ingest ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileReport:
    """What one file contributed."""

    path: Path
    kind: str | None  # None: empty file
    source: str
    records: int
    new: int
    duplicates: int
    skipped: int


def ingest_files(
    store: Store,
    paths: Sequence[Path],
    *,
    skip_bad_lines: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> list[FileReport]:
    """Ingest every file, in order; raises :class:`LogError` at the first bad file (earlier ones stay)."""
    reports = []
    for path in paths:
        if progress is not None:
            progress(path)
        reports.append(ingest_file(store, path, skip_bad_lines=skip_bad_lines))
    return reports


def ingest_file(store: Store, path: Path, *, skip_bad_lines: bool = False) -> FileReport:
    if not path.is_file():
        raise LogError(str(path), "no such file" if not path.exists() else "not a file")
    sniffed = sniff(path)
    if sniffed is None:
        return FileReport(path, None, "", 0, 0, 0, 0)
    table = BASE_TABLES[sniffed.kind]
    con = store.con
    batch = store.next_batch()
    had_rows = store.count(table) > 0
    con.execute("BEGIN TRANSACTION")
    try:
        read_errors = False
        try:
            _insert(con, sniffed.kind, batch, normalise_sql(path, sniffed))
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            if not skip_bad_lines:
                raise _locate(path, sniffed, exc) from None
            con.execute("BEGIN TRANSACTION")
            try:
                _insert(con, sniffed.kind, batch, normalise_sql(path, sniffed, ignore_errors=True))
            except duckdb.Error as again:
                raise _locate(path, sniffed, again) from None
            read_errors = True
        inserted, invalid, distinct = _batch_counts(store, table, batch)
        if invalid and not skip_bad_lines:
            raise _locate(path, sniffed, None)
        skipped = invalid
        if invalid:
            con.execute(
                f"DELETE FROM {table} WHERE ingest_batch = ? AND (record_id IS NULL OR time IS NULL)", [batch]
            )
        if read_errors and sniffed.container == "csv":
            skipped += max(0, _count_csv_rows(path) - inserted)
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
            if sniffed.kind == SIGNIN:
                history.after_signins(con, batch, alone=not had_rows)
            else:
                history.after_audits(con, batch)
        con.execute(
            "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [
                batch,
                str(path),
                sniffed.kind,
                sniffed.source,
                sniffed.container,
                valid + skipped,
                new,
                duplicates,
                skipped,
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return FileReport(path, sniffed.kind, sniffed.source, valid + skipped, new, duplicates, skipped)


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


# -- the error path: find the bad line -----------------------------------------------------------------------

_ID_KEYS = {
    ("graph", AUDIT): ("id",),
    ("graph", SIGNIN): ("id",),
    ("sentinel", AUDIT): ("Id",),
    ("sentinel", SIGNIN): ("Id",),
}
_TIME_KEYS = {
    ("graph", AUDIT): ("activityDateTime",),
    ("graph", SIGNIN): ("createdDateTime",),
    ("sentinel", AUDIT): ("ActivityDateTime", "TimeGenerated"),
    ("sentinel", SIGNIN): ("CreatedDateTime", "TimeGenerated"),
}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def _parses_as_time(value: object) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    text = _FRACTION.sub(r"\1", value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y, %I:%M:%S.%f %p", "%m/%d/%Y, %I:%M:%S %p"):
        try:
            datetime.strptime(value.strip(), fmt)
            return True
        except ValueError:
            continue
    return False


def _record_problem(record: Any, sniffed: Sniffed) -> str | None:
    if not isinstance(record, dict):
        return "is not a JSON object"
    if sniffed.source == "diagnostics":
        record = record.get("properties")
        if not isinstance(record, dict):
            return "has no 'properties' object"
    source = "sentinel" if sniffed.source == "sentinel" else "graph"
    keys = {k.lower(): v for k, v in record.items()} if source == "sentinel" else record
    id_keys = [k.lower() if source == "sentinel" else k for k in _ID_KEYS[(source, sniffed.kind)]]
    time_keys = [k.lower() if source == "sentinel" else k for k in _TIME_KEYS[(source, sniffed.kind)]]
    if not any(isinstance(keys.get(k), str) and keys.get(k) for k in id_keys):
        return f"record has no {_ID_KEYS[(source, sniffed.kind)][0]!r}"
    times = [keys.get(k) for k in time_keys if keys.get(k)]
    if not times:
        return f"record has no {_TIME_KEYS[(source, sniffed.kind)][0]!r}"
    if not _parses_as_time(times[0]):
        return f"record has an unreadable time {str(times[0])[:40]!r}"
    return None


def _iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with _open(path) as fh:
        yield from enumerate(fh, start=1)


def _locate(path: Path, sniffed: Sniffed, exc: duckdb.Error | None) -> LogError:
    """The first bad record of a file the fast reader refused (or produced invalid rows from)."""
    where = str(path)
    if sniffed.container == "lines":
        for number, raw in _iter_lines(path):
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                truncated = not raw.endswith(b"\n")
                what = "truncated record (the file ends mid-record)" if truncated else "not valid JSON"
                return LogError(where, f"{what}; fix or remove the line, or use --skip-bad-lines", number)
            problem = _record_problem(record, sniffed)
            if problem:
                return LogError(where, f"{problem}; fix or remove the line, or use --skip-bad-lines", number)
    elif sniffed.container == "csv":
        return _locate_csv(path, sniffed)
    else:
        with _open(path) as fh:
            data = fh.read()
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as err:
            line = data.count(b"\n", 0, err.pos) + 1
            what = (
                "truncated JSON (the file ends early)" if err.pos >= len(data.rstrip()) else "malformed JSON"
            )
            return LogError(where, f"{what}: {err.msg}", line)
        items = _document_items(doc)
        for index, record in enumerate(items, start=1):
            problem = _record_problem(record, sniffed)
            if problem:
                return LogError(where, f"record {index}: {problem}", _line_of_item(data, index, len(items)))
    detail = _first_line(exc) if exc is not None else "unreadable records"
    return LogError(where, f"cannot read the log: {detail}")


def _document_items(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("value"), list):
        return list(doc["value"])
    return [doc]


def _line_of_item(data: bytes, index: int, count: int) -> int | None:
    """Line of the ``index``-th of ``count`` records when the document holds one record per line."""
    starts = [
        number
        for number, line in enumerate(data.split(b"\n"), start=1)
        if line.lstrip(b" \t,[").startswith(b"{") and not (number == 1 and b'"value"' in line)
    ]
    return starts[index - 1] if len(starts) == count else None


def _locate_csv(path: Path, sniffed: Sniffed) -> LogError:
    where = str(path)
    with _open(path) as fh:
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
                problem = _record_problem(
                    dict(zip((_csv_header_name(h) for h in header), row, strict=True)), sniffed
                )
                if problem:
                    return LogError(where, f"{problem}; fix it or use --skip-bad-lines", reader.line_num)
        except csv.Error as exc:
            return LogError(where, f"malformed CSV ({exc})", reader.line_num)
    return LogError(where, "cannot read the CSV export")


def _count_csv_rows(path: Path) -> int:
    with _open(path) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text)
        try:
            return max(0, sum(1 for _ in reader) - 1)
        except csv.Error:
            return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
