"""Files DuckDB's JSON reader cannot take as they are, rewritten as JSON Lines: several JSON documents
appended to one file (IR exporters append one ``ConvertTo-Json`` array or Graph page per request, each
after a byte order mark), and UTF-16 text (Windows PowerShell's ``>`` redirection).

Each document is parsed in turn (arrays item by item, so a bad record is found at its own line); the
records are written one per line to a temporary file per kind, with the line each came from, so an error
in a record still names the original file and line. Byte offsets are given for malformed JSON.

This is the slow path, taken only when the fast reader refuses a file (or for UTF-16): the whole text is
held in memory while it is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from graphlattice.detect.sniff import COLLECTION_KEYS, classify, malformed, open_log, utf16

__all__ = ["Part", "Restream", "iter_records", "restream"]

_SPACE = " \t\r\n\ufeff"


@dataclass(slots=True)
class Part:
    """The records of one kind (or diagnostic-settings records), one per line, and where each came from."""

    path: Path
    kind: str | None
    source: str
    pascal: bool
    origins: list[tuple[int, str]] = field(default_factory=list)  # (line in the original, detail)
    handle: IO[bytes] | None = None

    def where(self, line: int) -> tuple[int | None, str]:
        """The original line (and a detail such as 'record 3 of the document') of this part's line."""
        if 1 <= line <= len(self.origins):
            return self.origins[line - 1]
        return None, ""


@dataclass(slots=True)
class Restream:
    parts: list[Part]
    documents: int
    byte_order_marks: int  # after the first document starts: what DuckDB's reader refuses
    wrapped: int  # documents that are arrays, pages or messages rather than one record
    next_link: str | None  # the last page's @odata.nextLink: the collection is incomplete


def _load(source: Path) -> tuple[str, bytes | None]:
    """The file's text, and its bytes when they are UTF-8 (for byte offsets)."""
    with open_log(source) as fh:
        data = fh.read()
    if utf16(data):
        return data.decode("utf-16"), None
    return data.decode("utf-8", errors="replace"), data


def iter_records(source: Path, shown: Path | None = None) -> Iterator[tuple[Any, int, str]]:
    """(record, line, detail) of every record of every document; raises :class:`LogError` (reported as
    ``shown``) at malformed JSON."""
    text, data = _load(source)
    for tag, value, line, detail in _events(shown or source, text, data):
        if tag == _RECORD:
            yield value, line, detail


def restream(source: Path, scratch: Path) -> Restream:
    """Rewrite ``source`` into JSON Lines parts under ``scratch``, one per kind of record; raises
    :class:`LogError` at the first malformed document (file:line and byte offset)."""
    text, data = _load(source)
    parts: dict[tuple[str | None, str, bool], Part] = {}
    first: tuple[str | None, str, bool] | None = None
    documents = boms = wrapped = 0
    next_link: str | None = None
    try:
        for tag, value, line, detail in _events(source, text, data):
            if tag == _END:
                documents += 1
                next_link, is_wrapper = value
                wrapped += is_wrapper
                continue
            if tag == _BOM:
                boms += 1
                continue
            kinding = (classify(value) if isinstance(value, dict) else None) or first
            if kinding is None:
                continue  # not a record of any log: reported when it is read as the file's kind
            first = first or kinding
            part = parts.get(kinding)
            if part is None:
                kind, src, pascal = kinding
                path = scratch / f"part{len(parts)}.jsonl"
                part = parts[kinding] = Part(path, kind, src, pascal, handle=path.open("wb"))
            assert part.handle is not None
            part.handle.write(orjson.dumps(value) + b"\n")
            part.origins.append((line, detail))
    finally:
        for part in parts.values():
            if part.handle is not None:
                part.handle.close()
                part.handle = None
    return Restream(list(parts.values()), documents, boms, wrapped, next_link)


_RECORD, _END, _BOM = "record", "end", "bom"
_Event = tuple[str, Any, int, str]


def _events(source: Path, text: str, data: bytes | None) -> Iterator[_Event]:
    """("record", record, line, detail) for every record, ("end", (next link, wrapper), line, "") after
    each document, ("bom", None, line, "") for each byte order mark after the start of the text."""
    decoder = json.JSONDecoder()
    pos, line = 0, 1
    length = len(text)
    while True:
        start = pos
        while pos < length and text[pos] in _SPACE:
            if text[pos] == "\ufeff" and pos > 0:
                yield _BOM, None, line, ""
            pos += 1
        line += text.count("\n", start, pos)
        if pos >= length:
            return
        if text[pos] == "[":
            pos, line = yield from _array(source, text, data, decoder, pos, line)
            yield _END, (None, True), line, ""
            continue
        try:
            doc, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise malformed(source, text, data, exc) from None
        records, link = _unwrap(doc)
        wrapped = not (len(records) == 1 and records[0] is doc)
        for index, record in enumerate(records, start=1):
            yield _RECORD, record, line, (f" (record {index} of the document)" if wrapped else "")
        line += text.count("\n", pos, end)
        pos = end
        yield _END, (link, wrapped), line, ""


def _array(
    source: Path, text: str, data: bytes | None, decoder: json.JSONDecoder, pos: int, line: int
) -> Generator[_Event, None, tuple[int, int]]:
    """The records of the array at ``pos``, each at its own line; returns (position after it, its line)."""
    length = len(text)
    pos += 1
    expect_item, empty = True, True
    while True:
        start = pos
        while pos < length and text[pos] in _SPACE:
            pos += 1
        line += text.count("\n", start, pos)
        if pos >= length:
            raise malformed(source, text, data, json.JSONDecodeError("the array is not closed", text, pos))
        char = text[pos]
        if char == "]":
            if expect_item and not empty:
                raise malformed(source, text, data, json.JSONDecodeError("a ',' before ']'", text, pos))
            return pos + 1, line
        if not expect_item:
            if char != ",":
                raise malformed(source, text, data, json.JSONDecodeError("expected ',' or ']'", text, pos))
            pos += 1
            expect_item = True
            continue
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise malformed(source, text, data, exc) from None
        yield _RECORD, item, line, ""
        line += text.count("\n", pos, end)
        pos = end
        expect_item, empty = False, False


def _unwrap(doc: Any) -> tuple[list[Any], str | None]:
    """The records of one document and its next link (Graph page, Event Hub message, named collections)."""
    if isinstance(doc, dict):
        link = doc.get("@odata.nextLink")
        if isinstance(doc.get("value"), list):
            return doc["value"], str(link) if link else None
        if isinstance(doc.get("records"), list):
            return doc["records"], None
        if any(isinstance(doc.get(k), list) for k in COLLECTION_KEYS):
            return [r for k in COLLECTION_KEYS for r in doc.get(k) or []], None
    return [doc], None
