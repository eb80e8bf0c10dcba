"""SQL that reads one log file into canonical rows: DuckDB's JSON or CSV reader with a fixed schema (the
Graph shapes below), then one projection onto :mod:`~graphlattice.detect.fields`.

Every container of :mod:`.sniff` is one ``read_json`` call: records per line, back to back, in an array,
inside Graph pages, Event Hub messages or named collections. Graph PowerShell SDK objects are read with the
same shapes in PascalCase (DuckDB matches JSON keys exactly, and SQL names without regard to case, so the
projection is the same). Diagnostic-settings records are split per record by ``category``; sign-in
categories and Log Analytics sign-in tables give each sign-in its event type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from graphlattice.detect.fields import AUDIT, SIGNIN, base_columns
from graphlattice.detect.sniff import (
    COLLECTION_KEYS,
    DIAGNOSTIC_CATEGORIES,
    SIGNIN_TABLES,
    Sniffed,
    csv_header_name,
)

__all__ = [
    "AUDIT_SHAPE",
    "SIGNIN_SHAPE",
    "category_census_sql",
    "duck_type",
    "next_link_sql",
    "normalise_sql",
    "pascal",
]

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


def duck_type(shape: Shape) -> str:
    """DuckDB type of a shape, e.g. ``STRUCT("id" VARCHAR)[]``."""
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        return f"{duck_type(shape[0])}[]"
    inner = ", ".join(f'"{name}" {duck_type(sub)}' for name, sub in shape.items())
    return f"STRUCT({inner})"


_PASCAL_NAMES = {"ipAddress": "IPAddress"}


def pascal(shape: Shape) -> Shape:
    """The shape with the Graph PowerShell SDK's property names (``activityDisplayName`` ->
    ``ActivityDisplayName``, ``ipAddress`` -> ``IPAddress``)."""
    if isinstance(shape, list):
        return [pascal(shape[0])]
    if isinstance(shape, dict):
        return {_PASCAL_NAMES.get(k, k[:1].upper() + k[1:]): pascal(v) for k, v in shape.items()}
    return shape


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _structure(shape: Shape) -> str:
    """The same shape as a ``from_json`` structure literal."""
    return _sql_str(orjson.dumps(shape).decode())


# -- reading a container ----------------------------------------------------------------------------------

_FORMATS = {"lines": "newline_delimited", "objects": "unstructured", "array": "array"}
_WRAPPERS = {"pages": "value", "records": "records"}


def _read_json(path: Path, fmt: str, columns: dict[str, str], ignore_errors: bool, whole: bool) -> str:
    cols = "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in columns.items()) + "}"
    size = max(16 << 20, path.stat().st_size + 1024) if whole else 16 << 20
    opts = f"format = '{fmt}', columns = {cols}, maximum_object_size = {size}"
    if ignore_errors:
        opts += ", ignore_errors = true"
    return f"read_json({_sql_str(str(path))}, {opts})"


def records_sql(
    path: Path, container: str, columns: dict[str, str], ignore_errors: bool = False, key: str | None = None
) -> str:
    """Every record of the file with these columns (missing keys NULL); ``key`` names the collection of a
    ``collections`` document."""
    if container in _FORMATS:
        fmt = _FORMATS[container]
        reader = _read_json(path, fmt, columns, ignore_errors, whole=container == "objects")
        return f"SELECT * FROM {reader}"
    wrapper = _WRAPPERS.get(container) or key
    if wrapper is None:
        raise ValueError(f"no records key for container {container!r}")
    inner = "STRUCT(" + ", ".join(f'"{k}" {v}' for k, v in columns.items()) + ")[]"
    reader = _read_json(path, "unstructured", {wrapper: inner}, ignore_errors, whole=True)
    return f'SELECT unnest(v) FROM (SELECT unnest("{wrapper}") AS v FROM {reader})'


def _graph_source(path: Path, sniffed: Sniffed, kind: str, ignore_errors: bool) -> str:
    shape = _SHAPES[kind]
    if sniffed.pascal:
        shape = pascal(shape)
    columns = {name: duck_type(sub) for name, sub in shape.items()}
    key = (
        next(k for k, v in COLLECTION_KEYS.items() if v == kind)
        if sniffed.container == "collections"
        else None
    )
    return records_sql(path, sniffed.container, columns, ignore_errors, key)


def categories_of(kind: str) -> list[str]:
    return [c for c, (k, _) in DIAGNOSTIC_CATEGORIES.items() if k == kind]


def _diagnostic_source(path: Path, sniffed: Sniffed, kind: str, ignore_errors: bool) -> str:
    """The ``properties`` of the records whose category holds ``kind``; a sign-in's event type is its
    category's."""
    reader = records_sql(
        path, sniffed.container, {"category": "VARCHAR", "properties": "JSON"}, ignore_errors
    )
    wanted = ", ".join(_sql_str(c) for c in categories_of(kind))
    record = f"from_json(properties, {_structure(_SHAPES[kind])})"
    if kind == SIGNIN:
        cases = " ".join(
            f"WHEN '{c}' THEN ['{e}']" for c, (k, e) in DIAGNOSTIC_CATEGORIES.items() if k == SIGNIN
        )
        record = (
            f"struct_update({record}, signInEventTypes := coalesce(CASE lower(category) {cases} END, "
            f"{record}.signInEventTypes))"
        )
    return f"SELECT unnest({record}) FROM ({reader}) WHERE lower(category) IN ({wanted})"


def category_census_sql(path: Path, sniffed: Sniffed, ignore_errors: bool = False) -> str:
    """(category, records) of a diagnostic-settings file."""
    reader = records_sql(path, sniffed.container, {"category": "VARCHAR"}, ignore_errors)
    return f"SELECT category, count(*) FROM ({reader}) GROUP BY category ORDER BY category"


def next_link_sql(path: Path, sniffed: Sniffed) -> str:
    """The ``@odata.nextLink`` of every page, in file order (the last one tells whether the collection is
    complete)."""
    reader = _read_json(path, "unstructured", {"@odata.nextLink": "VARCHAR"}, False, whole=True)
    return f'SELECT "@odata.nextLink" FROM {reader}'


def _sentinel_raw(path: Path, sniffed: Sniffed, kind: str, ignore_errors: bool) -> str:
    """The file's Log Analytics columns (missing ones NULL), dynamic columns as text or JSON."""
    text, dynamic = _SENTINEL_TEXT[kind], _SENTINEL_DYNAMIC[kind]
    if sniffed.container != "csv":
        columns = {name: "VARCHAR" for name in text} | {name: "JSON" for name in dynamic}
        return records_sql(path, sniffed.container, columns, ignore_errors)
    present = {csv_header_name(h).lower(): h for h in sniffed.csv_columns}
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


def _sentinel_source(path: Path, sniffed: Sniffed, kind: str, ignore_errors: bool) -> str:
    raw = _sentinel_raw(path, sniffed, kind, ignore_errors)
    if kind == AUDIT:
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
    tables = " ".join(f"WHEN '{t}' THEN ['{e}']" for t, e in SIGNIN_TABLES.items())
    categories = " ".join(
        f"WHEN '{c}' THEN ['{e}']" for c, (k, e) in DIAGNOSTIC_CATEGORIES.items() if k == SIGNIN
    )
    event_type = f"""coalesce(CASE lower("Type") {tables} END, CASE lower("Category") {categories} END)"""
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


def normalise_sql(path: Path, sniffed: Sniffed, kind: str, ignore_errors: bool = False) -> str:
    """One SELECT turning the file's ``kind`` records into canonical rows (the base table's columns)."""
    if sniffed.source == "sentinel":
        source_sql = _sentinel_source(path, sniffed, kind, ignore_errors)
    elif sniffed.source == "diagnostics":
        source_sql = _diagnostic_source(path, sniffed, kind, ignore_errors)
    else:
        source_sql = _graph_source(path, sniffed, kind, ignore_errors)
    template = _AUDIT_SQL if kind == AUDIT else _SIGNIN_SQL
    source_format = "sentinel" if sniffed.source == "sentinel" else "graph"
    inner = template.format(source=source_format, source_sql=source_sql)
    columns = ", ".join(f'"{f.name}"' for f in base_columns(kind))
    return f"SELECT {columns} FROM ({inner})"
