"""OData query options and collection responses as Graph shapes them.

* ``$top`` within the collection's page limits (reference/graph.md §8.3), ``@odata.nextLink`` carrying the
  request's own options plus an opaque, signed ``$skiptoken`` (never construct one: a forged or damaged token
  is a 400). Logs are newest first and page by a cursor into the (append-only) log, so records written while
  a client pages do not shift the pages.
* ``$select`` (listed properties only; a property the object lacks is ``null``, as a declared property is),
  ``$filter`` (see :mod:`graphlattice.server.filters`), ``$orderby`` on the properties a collection allows,
  ``$expand`` parsed into names with nested options, ``$count=true`` (directory objects need
  ``ConsistencyLevel: eventual``, as in Graph).
* Unknown system query options, repeated ones and malformed values are Graph-style 400s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson

from graphlattice.server.errors import NOT_IMPLEMENTED, UNSUPPORTED_QUERY, GraphError, bad_request
from graphlattice.server.filters import Filter, FilterSpec, parse_filter

__all__ = [
    "ListSpec",
    "Query",
    "TokenSigner",
    "dumps",
    "parse_expand",
    "parse_query",
    "project",
]

Json = dict[str, Any]
_SYSTEM = frozenset(
    {
        "$select",
        "$filter",
        "$top",
        "$skip",
        "$skiptoken",
        "$expand",
        "$orderby",
        "$count",
        "$search",
        "$format",
    }
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*$")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


@dataclass(frozen=True, slots=True)
class Query:
    """The system query options of one request (raw text; the collection interprets them)."""

    options: Mapping[str, str]
    extra: tuple[tuple[str, str], ...]  # non-system parameters, kept in nextLinks

    def get(self, name: str) -> str | None:
        return self.options.get(name)

    @property
    def select(self) -> tuple[str, ...] | None:
        raw = self.options.get("$select")
        if raw is None:
            return None
        names = tuple(part.strip() for part in raw.split(","))
        for name in names:
            if not _NAME.match(name) or "/" in name:
                raise bad_request(f"Parsing OData Select and Expand failed: '{name}' is not a property name.")
        return names


def parse_query(raw: str) -> Query:
    """Split the query string; 400 on repeated or unknown ``$`` options."""
    options: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The query string is not valid UTF-8 percent-encoding.") from None
    for key, value in pairs:
        if key.startswith("$"):
            canonical = next((s for s in _SYSTEM if s.casefold() == key.casefold()), None)
            if canonical is None:
                raise bad_request(f"Unrecognized query argument specified: '{key}'.")
            if canonical in options:
                raise bad_request(
                    f"Query option '{canonical}' was specified more than once, "
                    "it must be specified at most once."
                )
            options[canonical] = value
        else:
            extra.append((key, value))
    return Query(options, tuple(extra))


# ---- $expand -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expand:
    name: str
    options: Mapping[str, str] = field(default_factory=dict)


def _split_top(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise bad_request("Parsing OData Select and Expand failed: unbalanced parentheses.")
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth != 0:
        raise bad_request("Parsing OData Select and Expand failed: unbalanced parentheses.")
    parts.append("".join(current))
    return parts


def parse_expand(text: str | None) -> list[Expand]:
    """``policy($expand=rules),principal`` -> ``[Expand("policy", {"$expand": "rules"}),
    Expand("principal")]``."""
    if text is None:
        return []
    out: list[Expand] = []
    for part in _split_top(text, ","):
        part = part.strip()
        name, paren, rest = part.partition("(")
        name = name.strip()
        if not _NAME.match(name) or "/" in name:
            raise bad_request(
                f"Parsing OData Select and Expand failed: '{part}' is not a navigation property."
            )
        options: dict[str, str] = {}
        if paren:
            if not rest.endswith(")"):
                raise bad_request("Parsing OData Select and Expand failed: unbalanced parentheses.")
            for option in _split_top(rest[:-1], ";"):
                key, eq, value = option.partition("=")
                if not eq or key.strip() not in ("$expand", "$select"):
                    raise bad_request(
                        f"Parsing OData Select and Expand failed: unsupported option '{option}'."
                    )
                options[key.strip()] = value.strip()
        out.append(Expand(name, options))
    return out


# ---- $select -----------------------------------------------------------------------------------------------


def project(item: Json, select: Sequence[str]) -> Json:
    """The selected properties of ``item`` (``null`` when absent), keeping its ``@odata.type``."""
    out: Json = {}
    kind = item.get("@odata.type")
    if kind is not None:
        out["@odata.type"] = kind
    for name in select:
        out[name] = item.get(name)
    return out


# ---- paging ------------------------------------------------------------------------------------------------


class TokenSigner:
    """Opaque ``$skiptoken`` values: a position, signed so that a client cannot make or alter one."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def make(self, position: int) -> str:
        payload = struct.pack(">Q", position)
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(b"\x01" + payload + mac).rstrip(b"=").decode("ascii")

    def read(self, token: str) -> int:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 21 or raw[0] != 1:
            raise bad_request("The specified page token value has expired or is invalid.")
        payload, mac = raw[1:9], raw[9:]
        if not hmac.compare_digest(mac, hmac.new(self._key, payload, hashlib.sha256).digest()[:12]):
            raise bad_request("The specified page token value has expired or is invalid.")
        position: int = struct.unpack(">Q", payload)[0]
        return position


@dataclass(frozen=True, slots=True)
class ListSpec:
    """How one collection pages, filters and sorts.

    ``default_top`` None: the whole collection in one page unless ``$top`` asks for less. ``newest_first``:
    a log, newest record first, paged by cursor. ``orderby``: properties ``$orderby`` may name.
    ``consistency``: ``$count`` needs ``ConsistencyLevel: eventual`` (directory objects).
    """

    resource: str
    filters: FilterSpec = field(default_factory=dict)
    default_top: int | None = None
    max_top: int = 999
    orderby: frozenset[str] = frozenset()
    newest_first: bool = False
    skip: bool = False
    consistency: bool = False
    required_filter: Callable[[Filter | None], None] | None = None


_ORDER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_/]*)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    return (3, str(value).casefold())


def page_size(query: Query, spec: ListSpec, *, limit: int | None = None) -> int | None:
    raw = query.get("$top")
    high = limit or spec.max_top
    if raw is None:
        return spec.default_top if spec.default_top is None else min(spec.default_top, high)
    if not raw.strip().isdigit() or not 1 <= int(raw) <= high:
        raise bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {high} inclusive.")
    return int(raw)


def select_rows(
    items: Sequence[Json],
    query: Query,
    spec: ListSpec,
    signer: TokenSigner,
    *,
    cached: Callable[[str, Callable[[], list[int]]], list[int]] | None = None,
    top_limit: int | None = None,
) -> tuple[list[Json], str | None, int | None]:
    """(rows of this page, the next page's $skiptoken or None, the total when $count=true)."""
    if query.get("$search") is not None:
        raise GraphError(
            501, NOT_IMPLEMENTED, "$search is not served by the GraphLattice Range; use $filter."
        )
    raw_filter = query.get("$filter")
    flt = parse_filter(raw_filter, spec.filters, spec.resource) if raw_filter is not None else None
    if spec.required_filter is not None:
        spec.required_filter(flt)
    order = query.get("$orderby")
    order_key: tuple[str, bool] | None = None
    if order is not None:
        match = _ORDER.match(order)
        if not match:
            raise bad_request(f"Invalid $orderby clause: '{order}'.")
        prop, direction = match.group(1), (match.group(2) or "asc").casefold()
        if prop not in spec.orderby:
            raise GraphError(
                400, UNSUPPORTED_QUERY, f"Sorting by '{prop}' is not supported on {spec.resource}."
            )
        order_key = (prop, direction == "desc")
    top = page_size(query, spec, limit=top_limit)
    skip_raw = query.get("$skip")
    if skip_raw is not None and not spec.skip:
        raise bad_request(f"'$skip' is not supported by this API on {spec.resource}.")
    if skip_raw is not None and not skip_raw.isdigit():
        raise bad_request(f"Invalid $skip value: '{skip_raw}'.")

    def indices() -> list[int]:
        chosen = [i for i, item in enumerate(items) if flt is None or flt(item)]
        if order_key is not None:
            path = order_key[0].split("/")

            def key(i: int) -> tuple[int, Any]:
                value: Any = items[i]
                for part in path:
                    value = value.get(part) if isinstance(value, Mapping) else None
                return _sort_key(value)

            chosen.sort(key=key, reverse=order_key[1])
        elif spec.newest_first:
            chosen.reverse()
        return chosen

    chosen = cached(f"{raw_filter}\x00{order}", indices) if cached else indices()
    count = len(chosen) if (query.get("$count") or "").casefold() == "true" else None
    token = query.get("$skiptoken")
    cursor_mode = spec.newest_first and order_key is None
    start = 0
    if token is not None:
        position = signer.read(token)
        if cursor_mode:  # the first record older than the cursor (chosen is descending by index)
            start = next((k for k, i in enumerate(chosen) if i < position), len(chosen))
        else:
            start = min(position, len(chosen))
    elif skip_raw is not None:
        start = min(int(skip_raw), len(chosen))
    end = len(chosen) if top is None else min(start + top, len(chosen))
    rows = [items[i] for i in chosen[start:end]]
    next_token = None
    if end < len(chosen):
        next_token = signer.make(chosen[end - 1] if cursor_mode else end)
    return rows, next_token, count


def next_link(base: str, path: str, query: Query, token: str) -> str:
    """The request's own URL with its options and the new ``$skiptoken`` (``$skip`` dropped)."""
    parts = [
        f"{quote(k, safe='$')}={quote(v, safe=',()/:=*')}"
        for k, v in list(query.options.items()) + list(query.extra)
        if k not in ("$skiptoken", "$skip")
    ]
    parts.append(f"$skiptoken={token}")
    return f"{base}{quote(path, safe='/@():,=')}?{'&'.join(parts)}"
