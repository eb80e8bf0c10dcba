"""A small declarative language for what a value may be: Graph's types and limits, written once.

Every write to a range, whether ``range act`` (and scenario timelines) or a request to the Graph endpoint,
is checked against a :class:`Spec` before anything changes: an ``Edm.Int32`` within its documented range, a
string of bounded length without control characters, one of an enumeration's members, an ISO 8601 instant
the simulated clock can hold, a list of such values, an object with only the properties its Graph type
declares. A value that does not fit raises :class:`~graphlattice.errors.InvalidValue` naming the parameter
or property path, so the command line says which parameter is wrong (exit 2) and the endpoint answers 400
in Graph's error shape.

Two readings of the same spec: ``text=True`` for values typed on a command line (``"60"`` is the integer
60, ``"true"`` a boolean, a scalar is text), ``text=False`` for JSON bodies, where Graph is strict about
types (a string is not an integer, a number is not a list). :func:`json_schema` turns a spec into JSON
Schema, for the endpoint's OpenAPI description.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from graphlattice.errors import InvalidValue
from graphlattice.tenant.model import parse_time

__all__ = [
    "EARLIEST",
    "LATEST",
    "Spec",
    "any_object",
    "boolean",
    "check",
    "duration",
    "instant",
    "integer",
    "json_schema",
    "list_of",
    "nullable",
    "number",
    "obj",
    "parse_iso_duration",
    "shown",
    "text",
]

Kind = Literal["int", "number", "text", "bool", "instant", "duration", "list", "object"]

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The instants a range can hold. Graph's DateTimeOffset reaches year 9999, but the Range adds lifetimes and
durations to what it stores (a pass's end, an activation's expiry), so it keeps to a window that leaves room
for them and that every timestamp spelling (four-digit years) covers."""

INT32 = (-(2**31), 2**31 - 1)
_DURATION = re.compile(r"^P(?:(\d{1,6})D)?(?:T(?:(\d{1,7})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$")
_INTEGER = re.compile(r"^[+-]?\d{1,12}$")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,12}(?:\.\d{0,9})?|\.\d{1,9})$")
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


@dataclass(frozen=True, slots=True)
class Spec:
    """What one value may be (build one with the helpers below, not directly)."""

    kind: Kind
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None  # characters of text, items of a list
    choices: tuple[str, ...] = ()
    fold: bool = False  # choices match case-insensitively
    items: Spec | None = None
    fields: Mapping[str, Spec] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    open: bool = False  # an object that takes properties it does not declare
    nullable: bool = False
    rule: Callable[[Any], str | None] | None = None  # a further check: the reason, or None
    graph_type: str = ""  # e.g. microsoft.graph.conditionalAccessGrantControls, for messages
    min_length: int = 0
    # free text whose author is not the caller (a device's own name): control characters kept
    controls: bool = False

    def field_spec(self, name: str) -> Spec:
        """The spec of one property of an object spec."""
        return self.fields[name]


def integer(minimum: int = INT32[0], maximum: int = INT32[1], **kw: Any) -> Spec:
    return Spec("int", minimum=minimum, maximum=maximum, graph_type="Edm.Int32", **kw)


def number(minimum: float, maximum: float, **kw: Any) -> Spec:
    return Spec("number", minimum=minimum, maximum=maximum, graph_type="Edm.Double", **kw)


def boolean(**kw: Any) -> Spec:
    return Spec("bool", graph_type="Edm.Boolean", **kw)


def text(max_length: int = 256, *, choices: tuple[str, ...] = (), fold: bool = False, **kw: Any) -> Spec:
    return Spec("text", max_length=max_length, choices=choices, fold=fold, graph_type="Edm.String", **kw)


def instant(**kw: Any) -> Spec:
    return Spec("instant", graph_type="Edm.DateTimeOffset", **kw)


def duration(minimum: timedelta, maximum: timedelta, **kw: Any) -> Spec:
    return Spec(
        "duration",
        minimum=minimum.total_seconds(),
        maximum=maximum.total_seconds(),
        graph_type="Edm.Duration",
        **kw,
    )


def list_of(item: Spec, max_length: int = 500, **kw: Any) -> Spec:
    return Spec("list", items=item, max_length=max_length, graph_type=f"Collection({item.graph_type})", **kw)


def obj(graph_type: str, fields: Mapping[str, Spec], *, required: tuple[str, ...] = (), **kw: Any) -> Spec:
    return Spec("object", fields=dict(fields), required=frozenset(required), graph_type=graph_type, **kw)


def any_object(graph_type: str, **kw: Any) -> Spec:
    """An object whose properties are not modelled (kept as given)."""
    return Spec("object", open=True, graph_type=graph_type, **kw)


def nullable(spec: Spec) -> Spec:
    return replace(spec, nullable=True)


# ---- checking -----------------------------------------------------------------------------------------


def shown(value: Any, limit: int = 40) -> str:
    """A value as an error message may quote it: short, one line, no control characters."""
    raw = repr(value)
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in raw)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _fail(path: str, reason: str) -> InvalidValue:
    return InvalidValue(path, reason)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def check(spec: Spec, value: Any, path: str, *, text_input: bool = False) -> Any:
    """``value`` as ``spec`` reads it (parsed when it came as text), or :class:`InvalidValue`."""
    if value is None:
        if spec.nullable:
            return None
        raise _fail(path, "must not be null")
    checker = _CHECKERS[spec.kind]
    result = checker(spec, value, path, text_input)
    if spec.rule is not None:
        problem = spec.rule(result)
        if problem:
            raise _fail(path, problem)
    return result


def _range_text(spec: Spec) -> str:
    low = "" if spec.minimum is None else f"{spec.minimum:g}"
    high = "" if spec.maximum is None else f"{spec.maximum:g}"
    return f"between {low} and {high}"


def _check_int(spec: Spec, value: Any, path: str, text_input: bool) -> int:
    if text_input and isinstance(value, str):
        raw = value.strip()
        if not _INTEGER.match(raw):
            raise _fail(path, f"must be a whole number {_range_text(spec)} (got {shown(value)})")
        parsed = int(raw)
    elif isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    else:
        raise _fail(path, f"must be a whole number {_range_text(spec)}, not {_type_name(value)}")
    if (spec.minimum is not None and parsed < spec.minimum) or (
        spec.maximum is not None and parsed > spec.maximum
    ):
        raise _fail(path, f"must be {_range_text(spec)} (got {shown(parsed)})")
    return parsed


def _check_number(spec: Spec, value: Any, path: str, text_input: bool) -> float:
    if text_input and isinstance(value, str):
        raw = value.strip()
        if not _NUMBER.match(raw):
            raise _fail(path, f"must be a number {_range_text(spec)} (got {shown(value)})")
        parsed = float(raw)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, int) and abs(value) > 10**15:
            raise _fail(path, f"must be {_range_text(spec)}")
        parsed = float(value)
    else:
        raise _fail(path, f"must be a number {_range_text(spec)}, not {_type_name(value)}")
    if not math.isfinite(parsed) or (
        (spec.minimum is not None and parsed < spec.minimum)
        or (spec.maximum is not None and parsed > spec.maximum)
    ):
        raise _fail(path, f"must be {_range_text(spec)} (got {shown(value)})")
    return parsed


def _check_bool(spec: Spec, value: Any, path: str, text_input: bool) -> bool:
    if isinstance(value, bool):
        return value
    if text_input and isinstance(value, str):
        word = value.strip().casefold()
        if word in _TRUE | _FALSE:
            return word in _TRUE
    raise _fail(path, f"must be true or false (got {shown(value)})")


def _control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch != "\t"


def _check_text(spec: Spec, value: Any, path: str, text_input: bool) -> str:
    if isinstance(value, str):
        result = value
    elif text_input and isinstance(value, (int, float, bool)):
        result = str(value)  # a YAML scalar given where text belongs
    else:
        raise _fail(path, f"must be a string, not {_type_name(value)}")
    if spec.max_length is not None and len(result) > spec.max_length:
        raise _fail(path, f"must be at most {spec.max_length} characters (got {len(result)})")
    if len(result) < spec.min_length:
        raise _fail(path, "must not be empty" if spec.min_length == 1 else "is too short")
    if not spec.controls and any(_control(ch) for ch in result):
        raise _fail(path, "must not contain control characters")
    if spec.choices:
        wanted = result.casefold() if spec.fold else result
        members = {(c.casefold() if spec.fold else c): c for c in spec.choices}
        if wanted not in members:
            raise _fail(path, f"must be one of {', '.join(spec.choices)} (got {shown(result)})")
        return members[wanted]
    return result


def _check_instant(spec: Spec, value: Any, path: str, text_input: bool) -> datetime:
    if isinstance(value, datetime) and text_input:
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, str) and len(value) <= 64:
        parsed = parse_time(value)
        if parsed is None:
            raise _fail(
                path, f"must be an ISO 8601 date and time, e.g. 2026-03-02T09:14:05Z (got {shown(value)})"
            )
        moment = parsed
    else:
        raise _fail(path, f"must be an ISO 8601 date and time, not {_type_name(value)}")
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        moment = EARLIEST - timedelta(days=1)  # an offset that pushes it past the calendar: out of range
    if not EARLIEST <= moment <= LATEST:
        raise _fail(path, f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (got {shown(value)})")
    return moment


def parse_iso_duration(raw: str) -> timedelta | None:
    """An ISO 8601 duration in days, hours, minutes and seconds (``P365D``, ``PT8H``, ``PT30M``), or None."""
    textual = raw.strip().upper()
    match = _DURATION.match(textual)
    if not match or textual in ("P", "PT") or textual.endswith("T"):
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _check_duration(spec: Spec, value: Any, path: str, text_input: bool) -> timedelta:
    if isinstance(value, timedelta) and text_input:
        parsed: timedelta | None = value
    elif isinstance(value, str) and len(value) <= 64:
        parsed = parse_iso_duration(value)
    else:
        raise _fail(path, f"must be an ISO 8601 duration such as PT8H, not {_type_name(value)}")
    if parsed is None:
        raise _fail(path, f"must be an ISO 8601 duration such as PT8H or P30D (got {shown(value)})")
    seconds = parsed.total_seconds()
    if (spec.minimum is not None and seconds < spec.minimum) or (
        spec.maximum is not None and seconds > spec.maximum
    ):
        low = timedelta(seconds=spec.minimum or 0)
        high = timedelta(seconds=spec.maximum or 0)
        raise _fail(path, f"must be between {low} and {high} (got {shown(value)})")
    return parsed


def _check_list(spec: Spec, value: Any, path: str, text_input: bool) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise _fail(path, f"must be a list, not {_type_name(value)}")
    if spec.max_length is not None and len(value) > spec.max_length:
        raise _fail(path, f"must have at most {spec.max_length} items (got {len(value)})")
    assert spec.items is not None
    return [check(spec.items, item, f"{path}[{n}]", text_input=text_input) for n, item in enumerate(value)]


def _annotation(key: str) -> bool:
    """An OData annotation: ``@odata.type``, ``authenticationStrength@odata.context``."""
    return "@" in key


def _check_object(spec: Spec, value: Any, path: str, text_input: bool) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"must be an object ({spec.graph_type}), not {_type_name(value)}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise _fail(path, "has a property name that is not a string")
        where = f"{path}.{key}" if path else key
        if _annotation(key):
            if key == "@odata.type" and not isinstance(item, str):
                raise _fail(where, f"must be a string, not {_type_name(item)}")
            out[key] = item
            continue
        sub = spec.fields.get(key)
        if sub is None:
            if not spec.open:
                raise _fail(where, f"does not exist on type '{spec.graph_type}'")
            out[key] = item
            continue
        out[key] = check(sub, item, where, text_input=text_input)
    for name in sorted(spec.required):
        if value.get(name) is None:
            raise _fail(f"{path}.{name}" if path else name, "is required")
    return out


_CHECKERS: dict[Kind, Callable[[Spec, Any, str, bool], Any]] = {
    "int": _check_int,
    "number": _check_number,
    "bool": _check_bool,
    "text": _check_text,
    "instant": _check_instant,
    "duration": _check_duration,
    "list": _check_list,
    "object": _check_object,
}


# ---- JSON Schema -------------------------------------------------------------------------------------


def json_schema(spec: Spec) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12 subset OpenAPI 3.1 uses) of what ``spec`` accepts from JSON."""
    out: dict[str, Any]
    if spec.kind == "int":
        out = {"type": "integer", "minimum": spec.minimum, "maximum": spec.maximum}
    elif spec.kind == "number":
        out = {"type": "number", "minimum": spec.minimum, "maximum": spec.maximum}
    elif spec.kind == "bool":
        out = {"type": "boolean"}
    elif spec.kind == "text":
        out = {"type": "string", "maxLength": spec.max_length}
        if spec.min_length:
            out["minLength"] = spec.min_length
        if spec.choices:
            out["enum"] = list(spec.choices)
    elif spec.kind == "instant":
        out = {"type": "string", "format": "date-time"}
    elif spec.kind == "duration":
        out = {"type": "string", "format": "duration"}
    elif spec.kind == "list":
        assert spec.items is not None
        out = {"type": "array", "items": json_schema(spec.items), "maxItems": spec.max_length}
    else:
        out = {"type": "object", "properties": {k: json_schema(v) for k, v in spec.fields.items()}}
        if spec.required:
            out["required"] = sorted(spec.required)
        if not spec.open:
            out["additionalProperties"] = False
    out = {k: v for k, v in out.items() if v is not None}
    if spec.nullable:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out
