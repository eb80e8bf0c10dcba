"""Sigma semantics of the SQL compiler, checked by running the predicates on a small DuckDB table."""

from __future__ import annotations

import textwrap

import duckdb
import pytest
from sigma.rule import SigmaRule

from graphlattice.detect.fields import Field, Kind
from graphlattice.detect.sigma_sql import RuleCompileError, compile_detection

COLUMNS = {
    "name": Field("name", Kind.TEXT, ("t",), "", "", ""),
    "code": Field("code", Kind.INT, ("t",), "", "", ""),
    "flag": Field("flag", Kind.BOOL, ("t",), "", "", ""),
    "ip": Field("ip", Kind.TEXT, ("t",), "", "", ""),
    "methods": Field("methods", Kind.TEXT_LIST, ("t",), "", "", ""),
    "props": Field("props", Kind.STRUCT_LIST, ("t",), "", "", "", subfields=("key", "old", "new")),
}
ROWS = [
    # id, name, code, flag, ip, methods, props
    (
        "a",
        "Admin registered security info",
        0,
        True,
        "10.1.2.3",
        ["Password", "Temporary Access Pass"],
        [{"key": "StrongAuthenticationRequirement", "old": "[]", "new": '[{"State":0}]'}],
    ),
    (
        "b",
        "admin REGISTERED security info",
        50126,
        False,
        "192.0.2.1",
        ["Password"],
        [
            {"key": "StrongAuthenticationRequirement", "old": "x", "new": "[]"},
            {"key": "Other", "old": "", "new": '"State":0'},
        ],
    ),
    ("c", "User registered security info", None, None, None, None, None),
    ("d", "100% sure_thing", 7, True, "10.200.0.1", [], []),
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (id VARCHAR, name VARCHAR, code INTEGER, flag BOOLEAN, ip VARCHAR, "
        "methods VARCHAR[], "
        'props STRUCT("key" VARCHAR, "old" VARCHAR, "new" VARCHAR)[])'
    )
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS)
    return con


def matching(con: duckdb.DuckDBPyConnection, detection: str) -> list[str]:
    rule = SigmaRule.from_yaml(
        "title: t\nname: t\nstatus: test\nlevel: low\nlogsource: {product: azure, service: auditlogs}\n"
        "detection:\n" + textwrap.indent(textwrap.dedent(detection).strip(), "  ") + "\n"
    )
    predicate = compile_detection(rule, COLUMNS, "test.yaml")
    return [r[0] for r in con.execute(f"SELECT id FROM t WHERE {predicate} ORDER BY id").fetchall()]


def test_strings_are_case_insensitive_unless_cased(con: duckdb.DuckDBPyConnection) -> None:
    assert matching(con, "sel: {name: admin registered security info}\ncondition: sel") == ["a", "b"]
    assert matching(con, "sel: {name|cased: Admin registered security info}\ncondition: sel") == ["a"]


def test_wildcards_and_modifiers(con: duckdb.DuckDBPyConnection) -> None:
    assert matching(con, "sel: {name|contains: REGISTERED}\ncondition: sel") == ["a", "b", "c"]
    assert matching(con, "sel: {name|startswith: user}\ncondition: sel") == ["c"]
    assert matching(con, "sel: {name|endswith: thing}\ncondition: sel") == ["d"]
    assert matching(con, "sel: {name: 'admin * info'}\ncondition: sel") == ["a", "b"]
    assert matching(con, "sel: {name: '100% sure?thing'}\ncondition: sel") == ["d"]  # % and _ are literal
    assert matching(con, "sel: {name: '100% sure_thing'}\ncondition: sel") == ["d"]
    assert matching(con, "sel: {name: 'sure*'}\ncondition: sel") == []
    assert matching(con, "sel: {name|contains|all: [user, info]}\ncondition: sel") == ["c"]
    assert matching(con, "sel: {name|re: '^[Aa]dmin'}\ncondition: sel") == ["a", "b"]
    assert matching(con, "sel: {name|re|i: '^ADMIN'}\ncondition: sel") == ["a", "b"]


def test_missing_values_never_match_and_not_is_two_valued(con: duckdb.DuckDBPyConnection) -> None:
    assert matching(con, "sel: {flag: false}\ncondition: sel") == ["b"]
    assert matching(con, "sel: {flag: true}\ncondition: not sel") == ["b", "c"]
    assert matching(con, "sel: {code: null}\ncondition: sel") == ["c"]
    assert matching(con, "sel: {code|exists: true}\ncondition: sel") == ["a", "b", "d"]


def test_numbers(con: duckdb.DuckDBPyConnection) -> None:
    assert matching(con, "sel: {code: 50126}\ncondition: sel") == ["b"]
    assert matching(con, "sel: {code: '0'}\ncondition: sel") == ["a"]
    assert matching(con, "sel: {code|gt: 5}\ncondition: sel") == ["b", "d"]
    assert matching(con, "sel: {code: '501*'}\ncondition: sel") == ["b"]


def test_cidr(con: duckdb.DuckDBPyConnection) -> None:
    assert matching(con, "sel: {ip|cidr: 10.0.0.0/8}\ncondition: sel") == ["a", "d"]
    assert matching(con, "sel: {ip|cidr: 10.128.0.0/9}\ncondition: sel") == ["d"]


def test_list_fields_match_any_element(con: duckdb.DuckDBPyConnection) -> None:
    assert matching(con, "sel: {methods: temporary access pass}\ncondition: sel") == ["a"]
    assert matching(con, "sel: {methods: password}\ncondition: sel") == ["a", "b"]
    assert matching(con, "sel: {methods: null}\ncondition: sel") == ["c"]
    assert matching(con, "sel: {methods: password}\ncondition: not sel") == ["c", "d"]


def test_parts_of_one_object_in_one_selection_match_the_same_element(con: duckdb.DuckDBPyConnection) -> None:
    same = """
        sel:
          props.key: StrongAuthenticationRequirement
          props.new|contains: '"State":0'
        condition: sel
    """
    assert matching(con, same) == ["a"]  # b has the key and the value, but on different properties
    separate = """
        key: {props.key: StrongAuthenticationRequirement}
        value: {props.new|contains: '"State":0'}
        condition: key and value
    """
    assert matching(con, separate) == ["a", "b"]  # separate selections: any element each


def test_fieldref(con: duckdb.DuckDBPyConnection) -> None:
    assert matching(con, "sel: {name|fieldref: ip}\ncondition: sel") == []


def test_refused_constructs() -> None:
    with pytest.raises(RuleCompileError, match="keyword searches"):
        matching(duckdb.connect(), "keywords: [mimikatz]\ncondition: keywords")
    with pytest.raises(RuleCompileError, match="unknown field 'nope'"):
        matching(duckdb.connect(), "sel: {nope: 1}\ncondition: sel")
    with pytest.raises(RuleCompileError, match=r"unknown field 'props\.value'"):
        matching(duckdb.connect(), "sel: {props.value: 1}\ncondition: sel")
