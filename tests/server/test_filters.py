"""The $filter parser and evaluator on their own: syntax, the per-collection allow-list, semantics."""

from __future__ import annotations

import pytest

from graphlattice.server.errors import GraphError
from graphlattice.server.filters import parse_filter
from graphlattice.server.odata import TokenSigner, parse_expand, parse_query

SPEC = {
    "name": frozenset({"eq", "ne", "startswith", "in"}),
    "n": frozenset({"eq", "ge", "le", "gt", "lt"}),
    "at": frozenset({"ge", "le"}),
    "flag": frozenset({"eq"}),
    "tags/any": frozenset({"eq"}),
    "targets/any/id": frozenset({"eq"}),
    "status/code": frozenset({"eq"}),
}
ITEM = {
    "name": "O'Brien",
    "n": 5,
    "at": "2026-03-02T09:14:05Z",
    "flag": True,
    "tags": ["a", "b"],
    "targets": [{"id": "x1"}, {"id": "x2"}],
    "status": {"code": 0},
    "missing": None,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name eq 'o''brien'", True),
        ("name ne 'O''Brien'", False),
        ("startswith(name,'o''b')", True),
        ("name in ('x', 'O''Brien')", True),
        ("n ge 5 and n le 5", True),
        ("n gt 5 or n lt 5", False),
        ("not (n eq 5)", False),
        ("at ge 2026-03-02T09:14:05Z and at le 2026-03-02T10:00:00+00:00", True),
        ("at ge 2026-03-02T09:14:06Z", False),
        ("flag eq true", True),
        ("tags/any(t: t eq 'B')", True),
        ("tags/any(t: t eq 'c')", False),
        ("targets/any(t: t/id eq 'x2')", True),
        ("targets/any(t: t/id eq 'x1' or t/id eq 'x9')", True),
        ("status/code eq 0", True),
        ("((name eq 'x') or (flag eq true)) and n eq 5", True),
    ],
)
def test_semantics(text: str, expected: bool) -> None:
    assert parse_filter(text, SPEC, "Thing")(ITEM) is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name eq",
        "name eq 'open",
        "(name eq 'x'",
        "name eq 'x')",
        "name equals 'x'",
        "startswith(name, 5)",
        "tags/any(: t eq 'a')",
        "n eq 2026-13-45T99:99:99Z",
        "(" * 40 + "n eq 1" + ")" * 40,
        "not " * 40 + "n eq 1",
        "name eq 'x' ; drop",
    ],
)
def test_syntax_errors_are_bad_requests(text: str) -> None:
    with pytest.raises(GraphError) as caught:
        parse_filter(text, SPEC, "Thing")
    assert caught.value.status == 400 and caught.value.code == "Request_BadRequest"


@pytest.mark.parametrize(
    "text",
    [
        "other eq 1",
        "flag ne true",
        "startswith(n,'1')",
        "tags/all(t: t eq 'a')",
        "targets/any(t: t/name eq 'a')",
    ],
)
def test_unsupported_filters_are_unsupported_query(text: str) -> None:
    with pytest.raises(GraphError) as caught:
        parse_filter(text, SPEC, "Thing")
    assert caught.value.status == 400 and caught.value.code == "Request_UnsupportedQuery"
    assert "Thing" in caught.value.message


def test_top_level_equalities() -> None:
    flt = parse_filter("name eq 'a' and n eq 2 and flag eq true", SPEC, "Thing")
    assert flt.equals() == {"name": "a", "n": 2, "flag": True}


def test_skip_tokens_cannot_be_made_without_the_key() -> None:
    signer = TokenSigner(b"k" * 32)
    token = signer.make(1234)
    assert signer.read(token) == 1234
    with pytest.raises(GraphError):
        TokenSigner(b"other").read(token)
    for bad in ("", "abc", "!!!!", token[:-1]):
        with pytest.raises(GraphError):
            signer.read(bad)


def test_query_options_and_expand() -> None:
    query = parse_query("%24top=5&$SELECT=id,displayName&api-version=1")
    assert query.get("$top") == "5" and query.select == ("id", "displayName")
    assert query.extra == (("api-version", "1"),)
    for raw in ("$top=1&$top=2", "$nope=1", "$filter=%ff"):
        with pytest.raises(GraphError):
            parse_query(raw)
    items = parse_expand("policy($expand=rules;$select=id),principal")
    assert [(i.name, dict(i.options)) for i in items] == [
        ("policy", {"$expand": "rules", "$select": "id"}),
        ("principal", {}),
    ]
    for raw in ("policy(", "policy)", "a/b", "policy($top=1)"):
        with pytest.raises(GraphError):
            parse_expand(raw)
