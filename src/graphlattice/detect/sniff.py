"""What a log file holds, from its start (the first megabyte; more when the first record is larger): which
records (audits, sign-ins, or a mix decided per record), in which shape, in which container — or that it is
no log at all.

The content decides, not the name, with one exception: a file named after a tenant-snapshot collection
(``users.json``, ``manifest.json`` ...) is a snapshot file, not a log, whatever it holds. A file that is
readable and recognisably something else (user objects, a snapshot manifest, a CSV without Log Analytics
columns) raises :class:`NotALog`; one that looks like a log but is broken raises :class:`LogError`.

Shapes told apart here (see the README's detect section for where each comes from):

- Microsoft Graph ``directoryAudit`` / ``signIn`` records, camelCase; or as Graph PowerShell SDK objects
  serialised with ``ConvertTo-Json`` (PascalCase, ``IPAddress``);
- Log Analytics / Sentinel rows (``AuditLogs``, ``SigninLogs``, ``AADNonInteractiveUserSignInLogs``,
  ``AADServicePrincipalSignInLogs``, ``AADManagedIdentitySignInLogs``), JSON or the portal's CSV;
- Azure diagnostic-settings records (``{"category": ..., "properties": {...}}``), any mix of categories.

Containers: one record per line (``lines``); records back to back over several lines (``objects``, what
``ConvertTo-Json`` per record writes); a JSON array (``array``); Graph collection pages
``{"value": [...]}`` (``pages``); Event Hub messages ``{"records": [...]}`` (``records``); the Range's
``{"directoryAudits": [...], "signIns": [...]}`` (``collections``); CSV. Several arrays or pages appended
to one file, byte order marks between documents and UTF-16 text are read by :mod:`.stream`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphlattice.detect.fields import AUDIT, SIGNIN
from graphlattice.errors import LogError
from graphlattice.tenant.collections import COLLECTIONS

__all__ = [
    "COLLECTION_KEYS",
    "DIAGNOSTIC_CATEGORIES",
    "SIGNIN_TABLES",
    "NotALog",
    "Sniffed",
    "classify",
    "malformed",
    "open_log",
    "sniff",
    "utf16",
]

SNIFF_BYTES = 1 << 20
SNIFF_LIMIT = 64 << 20  # the largest first record sniffing reads to its end (the window grows up to it)

DIAGNOSTIC_CATEGORIES: dict[str, tuple[str, str | None]] = {
    "auditlogs": (AUDIT, None),
    "signinlogs": (SIGNIN, "interactiveUser"),
    "noninteractiveusersigninlogs": (SIGNIN, "nonInteractiveUser"),
    "serviceprincipalsigninlogs": (SIGNIN, "servicePrincipal"),
    "managedidentitysigninlogs": (SIGNIN, "managedIdentity"),
}
"""Diagnostic-settings categories read (lower case): the record kind and, for sign-ins, the event type.
Every other category (RiskyUsers, UserRiskEvents, MicrosoftGraphActivityLogs, ProvisioningLogs ...) is
counted and named in the run summary, not read."""

SIGNIN_TABLES: dict[str, str] = {
    "signinlogs": "interactiveUser",
    "aadnoninteractiveusersigninlogs": "nonInteractiveUser",
    "aadserviceprincipalsigninlogs": "servicePrincipal",
    "aadmanagedidentitysigninlogs": "managedIdentity",
}
"""Log Analytics sign-in tables (``Type``, lower case) and the sign-in event type each holds."""

COLLECTION_KEYS = {"directoryAudits": AUDIT, "signIns": SIGNIN}
"""Keys of a document holding named log collections (``graphlattice range log --format json``)."""

_SNAPSHOT_FILES = {
    spec.filename: name for name, spec in COLLECTIONS.items() if name not in COLLECTION_KEYS
} | {"manifest.json": "manifest"}

# Log Analytics columns that Graph objects (camelCase or SDK PascalCase) never have at the top level.
_SENTINEL_MARKS = {"timegenerated", "operationname", "resulttype", "type", "sourcesystem", "aadoperationtype"}
_SIGNIN_MARKS = (
    "status",
    "ipAddress",
    "appDisplayName",
    "clientAppUsed",
    "conditionalAccessStatus",
    "isInteractive",
    "resourceDisplayName",
    "signInEventTypes",
    "authenticationDetails",
    "servicePrincipalName",
)
_AUDIT_MARKS = ("loggedByService", "targetResources", "initiatedBy")


class NotALog(LogError):
    """The file is readable and is something other than audit or sign-in records (``what`` says what)."""

    def __init__(self, path: str, what: str) -> None:
        self.what = what
        super().__init__(path, f"not an audit or sign-in log: {what}")


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: str | None  # AUDIT or SIGNIN; None: decided per record (diagnostics, collections)
    source: str  # "graph", "sentinel" or "diagnostics"
    container: str  # "lines", "objects", "array", "pages", "records", "collections" or "csv"
    pascal: bool = False  # Graph records with the PowerShell SDK's PascalCase names
    csv_columns: tuple[str, ...] = ()
    encoding: str = "utf-8"  # "utf-16": read through :mod:`.stream`


def open_log(path: Path) -> io.BufferedReader | gzip.GzipFile:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def _head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a log file (decompressed for ``.gz``)."""
    try:
        with open_log(path) as fh:
            return fh.read(size)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise LogError(str(path), f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def utf16(head: bytes) -> bool:
    """The text starts with a UTF-16 byte order mark (Windows PowerShell's ``>`` and ``Out-File``)."""
    return head[:2] in (b"\xff\xfe", b"\xfe\xff")


def snapshot_file(path: Path) -> str | None:
    """The tenant-snapshot collection a file is named after, if any (``users.json`` -> ``users``)."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return _SNAPSHOT_FILES.get(name)


def sniff(path: Path) -> Sniffed | None:
    """What a log file holds, from its first records; None for an empty file or empty collections."""
    collection = snapshot_file(path)
    if collection is not None:
        what = (
            "a tenant snapshot's manifest"
            if collection == "manifest"
            else f"a tenant snapshot's {collection}"
        )
        raise NotALog(str(path), what)
    window = SNIFF_BYTES
    while True:
        head = _head(path, window)
        complete = len(head) < window
        encoding = "utf-16" if utf16(head) else "utf-8"
        text = head.decode(encoding, errors="replace")
        stripped = text.lstrip(" \t\r\n\ufeff")
        if not stripped:
            if complete:
                return None
        elif stripped[0] not in "[{":
            return _sniff_csv(path, text.lstrip("\ufeff"))
        else:
            try:
                found = _first_record(stripped, complete=complete)
            except json.JSONDecodeError as exc:
                skipped = len(text) - len(stripped)
                moved = json.JSONDecodeError(exc.msg, text, exc.pos + skipped)
                raise malformed(path, text, head if encoding == "utf-8" else None, moved) from None
            if found is not None or complete:
                break
        # The first record does not end within the window (a record of megabytes, or a file of blank
        # space): read a larger start, so a large record is judged whole rather than taken for no record.
        if window >= SNIFF_LIMIT:
            raise LogError(
                str(path),
                f"its first record does not end within its first {SNIFF_LIMIT >> 20} MiB: a single audit or "
                "sign-in record is never that large, so this is not a log this tool can read",
            )
        window *= 4
    if found is None:
        return None
    container, record, context = found
    if not isinstance(record, dict):
        raise NotALog(str(path), "its JSON records are not objects")
    if container == "collections":
        return Sniffed(None, "graph", container, encoding=encoding)
    kinding = classify(record)
    if kinding is None:
        raise NotALog(str(path), _describe(record, context))
    kind, source, pascal = kinding
    return Sniffed(kind, source, container, pascal, encoding=encoding)


def classify(record: dict[str, Any]) -> tuple[str | None, str, bool] | None:
    """(kind, source, PascalCase) of one record; kind None for a diagnostic-settings record (its category
    decides); None when it is no audit or sign-in record."""
    names = set(record)
    lower = {k.lower() for k in names}
    if isinstance(record.get("properties"), dict) and "category" in names:
        return None, "diagnostics", False
    if "activityDisplayName" in names or (
        "activityDateTime" in names and any(k in names for k in _AUDIT_MARKS)
    ):
        return AUDIT, "graph", False
    if "createdDateTime" in names and any(k in names for k in _SIGNIN_MARKS):
        return SIGNIN, "graph", False
    table = str(record.get("Type") or record.get("Category") or "").lower()
    if lower & _SENTINEL_MARKS:
        if table == "auditlogs" or (
            "operationname" in lower and ("targetresources" in lower or "loggedbyservice" in lower)
        ):
            return AUDIT, "sentinel", False
        if table in SIGNIN_TABLES or (
            "resulttype" in lower and ("appdisplayname" in lower or "appid" in lower)
        ):
            return SIGNIN, "sentinel", False
        return None
    if not _pascal_inside(record):
        # PascalCase columns over camelCase objects: a Log Analytics export with its telltale columns
        # projected away; read it as one (its dynamic columns hold Graph's camelCase objects)
        if "activitydisplayname" in lower:
            return AUDIT, "sentinel", False
        if "createddatetime" in lower and "ipaddress" in lower:
            return SIGNIN, "sentinel", False
        return None
    if "ActivityDisplayName" in names:
        return AUDIT, "graph", True
    if "CreatedDateTime" in names and (
        "IPAddress" in names or any(k[:1].upper() + k[1:] in names for k in _SIGNIN_MARKS)
    ):
        return SIGNIN, "graph", True
    return None


def _pascal_inside(record: dict[str, Any]) -> bool:
    """The record's nested objects have PascalCase keys too (a PowerShell SDK object), or it has none."""
    for key, value in record.items():
        if key == "AdditionalProperties":  # the SDK's bag of unknown properties keeps Graph's names
            continue
        inner = value[0] if isinstance(value, list) and value else value
        if isinstance(inner, dict) and inner:
            return all(key[:1].isupper() for key in inner if not key.startswith("@"))
    return True


def _describe(record: dict[str, Any], context: str | None) -> str:
    """What a non-log record looks like, for the one-line refusal."""
    odata = str(record.get("@odata.type") or "")
    if odata.startswith("#microsoft.graph."):
        return f"its records are Graph {odata.removeprefix('#microsoft.graph.')} objects"
    if context:
        return f"it is a Graph {context} collection"
    if "accountEnabled" in record:
        return "its records are Graph user objects (accountEnabled, userPrincipalName ...)"
    keys = ", ".join(sorted(record)[:8])
    return f"its first record has keys {keys}"


def _documents(text: str, complete: bool) -> Iterator[tuple[Any, bool]]:
    """Top-level JSON values at the start of ``text``: (value, it ends on the line it starts on).

    Raises :class:`json.JSONDecodeError` for malformed JSON, unless the text is only the start of the file
    and ends inside the document.
    """
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= len(text):
            return
        end_of_line = text.find("\n", pos)
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            # A string cut by the megabyte's end is reported where the string starts; a string cannot
            # hold a raw line break, so an unterminated one always runs to the end of the text.
            cut = exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
            if complete or not cut:
                raise
            return  # the first megabyte ends inside this document
        yield value, end_of_line < 0 or end <= end_of_line
        pos = end


def _container(doc: Any, one_line: bool) -> tuple[str, list[Any], str | None]:
    """(container, the records it holds, its OData collection name) of one top-level document."""
    if isinstance(doc, list):
        return "array", doc, None
    if isinstance(doc, dict):
        if isinstance(doc.get("value"), list):
            return "pages", doc["value"], _odata_collection(doc.get("@odata.context"))
        if isinstance(doc.get("records"), list):
            return "records", doc["records"], None
        if any(isinstance(doc.get(k), list) for k in COLLECTION_KEYS):
            return "collections", [r for k in COLLECTION_KEYS for r in doc.get(k) or []], None
    return ("lines" if one_line else "objects"), [doc], None


def _odata_collection(context: object) -> str | None:
    """``users`` from ``https://graph.microsoft.com/v1.0/$metadata#users``; None for the log collections."""
    match = re.search(r"\$metadata#([A-Za-z]+(?:/[A-Za-z]+)?)(?:$|[/(?])", str(context or ""))
    if match is None or match.group(1) in ("auditLogs/directoryAudits", "auditLogs/signIns", "Collection"):
        return None
    return match.group(1)


def _first_record(text: str, complete: bool) -> tuple[str, Any, str | None] | None:
    """(container of the first document, its first record, OData collection) — documents holding no
    record (an empty page) are passed over, unless they name a collection that is not a log."""
    container: str | None = None
    for doc, one_line in _documents(text, complete):
        kind, records, context = _container(doc, one_line)
        container = container or kind
        if context is not None:
            return kind, (records[0] if records else {}), context
        if records:
            return container, records[0], None
    if container is not None or complete:
        return None
    return _partial_first_record(text)


def _partial_first_record(text: str) -> tuple[str, Any, str | None] | None:
    """The first document is larger than the sniffed megabyte: find its first record by scanning."""
    if text[0] == "[":
        container, start = "array", text.find("{")
    else:
        match = re.search(r'"(value|records|directoryAudits|signIns)"\s*:\s*\[', text)
        if match is None:
            return None
        name = match.group(1)
        container = {"value": "pages", "records": "records"}.get(name, "collections")
        start = text.find("{", match.end())
    if start < 0:
        return None
    try:
        return container, json.loads(_raw_object(text, start)), None
    except (json.JSONDecodeError, ValueError):
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


def malformed(source: Path, text: str, data: bytes | None, exc: json.JSONDecodeError) -> LogError:
    """The error for malformed JSON at ``exc.pos`` of ``text``: its line, and its byte offset when
    ``data`` (the UTF-8 bytes of ``text``) is given."""
    line = text.count("\n", 0, exc.pos) + 1
    where = f"byte {len(text[: exc.pos].encode('utf-8'))}" if data is not None else f"character {exc.pos}"
    unterminated = exc.msg.startswith("Unterminated string") and text.find('"', exc.pos + 1) < 0
    ends = unterminated or exc.pos >= len(text.rstrip(" \t\r\n\ufeff"))
    what = "truncated JSON (the file ends inside a document)" if ends else f"malformed JSON ({exc.msg})"
    return LogError(str(source), f"{what} at {where}", line)


def csv_header_name(name: str) -> str:
    """``TimeGenerated [UTC]`` (portal export) is ``TimeGenerated``."""
    return re.sub(r"\s*\[[^\]]*\]\s*$", "", name.strip())


def _sniff_csv(path: Path, text: str) -> Sniffed:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [csv_header_name(h) for h in next(reader)]
        row = next(reader, None)
    except csv.Error as exc:
        raise LogError(str(path), f"not valid CSV ({exc})", 1) from None
    record = dict(zip(header, row or [], strict=False)) if row else {name: "" for name in header}
    found = classify(record)
    if found is None or found[1] != "sentinel":
        shown = ", ".join(header[:6]) + (" ..." if len(header) > 6 else "")
        raise NotALog(str(path), f"no Log Analytics AuditLogs / SigninLogs columns (header: {shown})")
    return Sniffed(found[0], "sentinel", "csv", csv_columns=tuple(header))
