"""Sigma semantics of the SQL compiler, checked by running the predicates on a small table: in DuckDB, and
the same predicates in Spark SQL on the same rows (each assertion holds for both dialects)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import pytest
from sigma.rule import SigmaRule

from graphlattice.detect.fields import Field, Kind
from graphlattice.detect.sigma_sql import DUCKDB, SPARK, Dialect, RuleCompileError, compile_detection

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
QUOTED = [("q1", "it's O'Brien"), ("q2", "C:\\Users\\pat"), ("q3", "50% off_now"), ("q4", "plain")]
"""Table ``q`` (id, name): quotes, backslashes and LIKE's special characters in the data."""


@dataclass(frozen=True)
class Table:
    """Table ``t`` holding ROWS in one engine: its dialect, and the ids of the rows a predicate selects."""

    dialect: Dialect
    ids: Callable[[str, str], list[str]]  # (table, predicate) -> ids


def _duckdb_table() -> Table:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (id VARCHAR, name VARCHAR, code INTEGER, flag BOOLEAN, ip VARCHAR, "
        "methods VARCHAR[], "
        'props STRUCT("key" VARCHAR, "old" VARCHAR, "new" VARCHAR)[])'
    )
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS)
    con.execute("CREATE TABLE q (id VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO q VALUES (?, ?)", QUOTED)
    return Table(
        DUCKDB,
        lambda table, where: [
            r[0] for r in con.execute(f"SELECT id FROM {table} WHERE {where} ORDER BY id").fetchall()
        ],
    )


def _spark_table(spark: Any) -> Table:
    schema = (
        "id string, name string, code int, flag boolean, ip string, methods array<string>, "
        "props array<struct<key: string, old: string, new: string>>"
    )
    spark.createDataFrame(ROWS, schema).createOrReplaceTempView("t")
    spark.createDataFrame(QUOTED, "id string, name string").createOrReplaceTempView("q")
    return Table(
        SPARK,
        lambda table, where: [
            r[0] for r in spark.sql(f"SELECT id FROM {table} WHERE {where} ORDER BY id").collect()
        ],
    )


@pytest.fixture(scope="module", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def con(request: pytest.FixtureRequest) -> Table:
    if request.param == "duckdb":
        return _duckdb_table()
    return _spark_table(request.getfixturevalue("spark"))


def _compile(detection: str, dialect: Dialect = DUCKDB) -> str:
    rule = SigmaRule.from_yaml(
        "title: t\nname: t\nstatus: test\nlevel: low\nlogsource: {product: azure, service: auditlogs}\n"
        "detection:\n" + textwrap.indent(textwrap.dedent(detection).strip(), "  ") + "\n"
    )
    return compile_detection(rule, COLUMNS, "test.yaml", dialect)


def matching(con: Table, detection: str, table: str = "t") -> list[str]:
    return con.ids(table, _compile(detection, con.dialect))


def test_strings_are_case_insensitive_unless_cased(con: Table) -> None:
    assert matching(con, "sel: {name: admin registered security info}\ncondition: sel") == ["a", "b"]
    assert matching(con, "sel: {name|cased: Admin registered security info}\ncondition: sel") == ["a"]


def test_wildcards_and_modifiers(con: Table) -> None:
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


def test_missing_values_never_match_and_not_is_two_valued(con: Table) -> None:
    assert matching(con, "sel: {flag: false}\ncondition: sel") == ["b"]
    assert matching(con, "sel: {flag: true}\ncondition: not sel") == ["b", "c"]
    assert matching(con, "sel: {code: null}\ncondition: sel") == ["c"]
    assert matching(con, "sel: {code|exists: true}\ncondition: sel") == ["a", "b", "d"]


def test_numbers(con: Table) -> None:
    assert matching(con, "sel: {code: 50126}\ncondition: sel") == ["b"]
    assert matching(con, "sel: {code: '0'}\ncondition: sel") == ["a"]
    assert matching(con, "sel: {code|gt: 5}\ncondition: sel") == ["b", "d"]
    assert matching(con, "sel: {code: '501*'}\ncondition: sel") == ["b"]


def test_cidr(con: Table) -> None:
    assert matching(con, "sel: {ip|cidr: 10.0.0.0/8}\ncondition: sel") == ["a", "d"]
    assert matching(con, "sel: {ip|cidr: 10.128.0.0/9}\ncondition: sel") == ["d"]


def test_list_fields_match_any_element(con: Table) -> None:
    assert matching(con, "sel: {methods: temporary access pass}\ncondition: sel") == ["a"]
    assert matching(con, "sel: {methods: password}\ncondition: sel") == ["a", "b"]
    assert matching(con, "sel: {methods: null}\ncondition: sel") == ["c"]
    assert matching(con, "sel: {methods: password}\ncondition: not sel") == ["c", "d"]


def test_parts_of_one_object_in_one_selection_match_the_same_element(con: Table) -> None:
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


def test_fieldref(con: Table) -> None:
    assert matching(con, "sel: {name|fieldref: ip}\ncondition: sel") == []


@pytest.mark.parametrize("dialect", [DUCKDB, SPARK], ids=lambda d: d.name)
def test_refused_constructs(dialect: Dialect) -> None:
    with pytest.raises(RuleCompileError, match="keyword searches"):
        _compile("keywords: [mimikatz]\ncondition: keywords", dialect)
    with pytest.raises(RuleCompileError, match="unknown field 'nope'"):
        _compile("sel: {nope: 1}\ncondition: sel", dialect)
    with pytest.raises(RuleCompileError, match=r"unknown field 'props\.value'"):
        _compile("sel: {props.value: 1}\ncondition: sel", dialect)


def test_quotes_backslashes_and_like_characters_are_literal(con: Table) -> None:
    def ids(detection: str) -> list[str]:
        return matching(con, detection + "\ncondition: sel", table="q")

    assert ids("sel: {name|contains: \"'s o'\"}") == ["q1"]
    assert ids("sel: {name: \"it's o'brien\"}") == ["q1"]
    assert ids("sel: {name|contains: '\\'}") == ["q2"]  # a lone backslash is itself
    assert ids("sel: {name|endswith: '\\users\\pat'}") == ["q2"]
    assert ids("sel: {name: 'c:\\users*'}") == ["q2"]  # a backslash before a letter is itself
    assert ids("sel: {name: '*% off?now'}") == ["q3"]
    assert ids("sel: {name: '*%*'}") == ["q3"]
    assert ids("sel: {name: '50_*'}") == []  # _ is not a wildcard in Sigma
    assert ids("sel: {name|re: '^\\d+% off_'}") == ["q3"]
    assert ids('sel: {name|re: "O\'B"}') == ["q1"]
