"""A rule value with a line break, quotes, backslashes and pipes stays one string literal in every export.

The value ``Update user<LF>| union (SigninLogs) // "x" 'y' C:\\temp\\ a|b`` would, written raw into KQL,
end the literal at the line break and turn the rest into query text (a ``union`` of another table). Each
generated query is read back here with a small lexer that follows the target's own literal grammar
(KQL's ``KqlTokens.g4``, Spark SQL's string token, Lucene's query syntax, EQL's ``EqlBase.g4``); the
value must come back whole from exactly one literal, and no fragment of it may be left outside the
literals. SPL has no escape for a line break in a quoted term, so Splunk says so and skips the rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from graphlattice.detect.export import export_rules
from graphlattice.detect.pack import RulePack, load_pack

VALUE = "Update user\n| union (SigninLogs) // \"x\" 'y' C:\\temp\\ a|b"
CONTAINED = "a\"b\\\nc'd|e\tf"  # matched with |contains
UPN = 'm*d\nle"x'  # a wildcard in the middle: a regex on KQL, a wildcard term on Lucene

RULES = f"""\
title: "Nasty\\nvalues"
id: 0b4f7a0e-4a39-4d7e-9a55-2a3c3c3f1e11
name: nasty-value
status: experimental
description: values with line breaks, quotes, backslashes and pipes
author: test
date: 2026-11-23
logsource:
  product: azure
  service: auditlogs
detection:
  selection:
    activity: {json.dumps(VALUE)}
    result_reason|contains: {json.dumps(CONTAINED)}
    initiator_upn: {json.dumps(UPN)}
    category:
      - "c\\n1"
      - plain
  condition: selection
level: high
---
title: Nasty sequence
id: 0b4f7a0e-4a39-4d7e-9a55-2a3c3c3f1e13
name: nasty-sequence
status: experimental
correlation:
  type: temporal_ordered
  rules:
    - nasty-value
    - nasty-value
  group-by:
    - target_user_id
  timespan: 1h
level: high
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> RulePack:
    path = tmp_path_factory.mktemp("rules") / "nasty.yaml"
    path.write_text(RULES)
    return load_pack([path])


def _query(pack: RulePack, backend: str, name: str) -> str:
    result = export_rules(backend, pack, [name])
    assert not result.skipped, result.skipped
    return result.rules[0].text


# ---- one lexer, two literal grammars ------------------------------------------------------------------


@dataclass(frozen=True)
class Grammar:
    """A language's string literals: quote characters, what a backslash escape means, whether a raw line
    break may stand inside, whether ``@"..."`` is a verbatim literal, and how comments start."""

    quotes: str
    escapes: dict[str, str]
    raw_line_breaks: bool
    verbatim: bool
    comment: str


KQL = Grammar("\"'", {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}, False, True, "//")
SPARK = Grammar("'", {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "b": "\b", "Z": "\x1a"}, True, False, "--")


def literals_of(text: str, grammar: Grammar) -> tuple[list[str], str]:
    """(decoded string literals, the text outside literals and comments). KQL (``KqlTokens.g4``): a
    ``"..."`` or ``'...'`` literal with backslash escapes (``\\uXXXX`` too) may not hold a raw line break,
    ``@"..."`` is verbatim, ``//`` comments. Spark SQL: ``'...'``, a backslash escapes the next character
    (any, line breaks included), ``--`` comments."""
    literals: list[str] = []
    outside: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith(grammar.comment, i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif grammar.verbatim and ch == "@" and text[i + 1 : i + 2] in ('"', "'"):
            end = text.index(text[i + 1], i + 2)
            assert "\n" not in text[i + 2 : end], f"line break in a verbatim literal at {i}"
            literals.append(text[i + 2 : end])
            i = end + 1
        elif ch in grammar.quotes:
            j, value = i + 1, []
            while text[j] != ch:
                assert grammar.raw_line_breaks or text[j] not in "\r\n", f"raw line break: {text[i:j]!r}"
                if text[j] != "\\":
                    value.append(text[j])
                    j += 1
                elif grammar.verbatim and text[j + 1] == "u":  # KQL's \uXXXX
                    value.append(chr(int(text[j + 2 : j + 6], 16)))
                    j += 6
                else:
                    value.append(grammar.escapes.get(text[j + 1], text[j + 1]))
                    j += 2
            literals.append("".join(value))
            i = j + 1
        else:
            outside.append(ch)
            i += 1
    return literals, "".join(outside)


# ---- KQL ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nasty-value", "nasty-sequence"])
def test_kql_keeps_each_value_one_literal(pack: RulePack, name: str) -> None:
    query = _query(pack, "kusto", name)
    literals, outside = literals_of(query, KQL)
    assert VALUE in literals
    assert CONTAINED in literals
    assert "c\n1" in literals
    assert any(re.fullmatch(literal, UPN, re.S) for literal in literals if ".*" in literal), literals
    for fragment in ("union", "SigninLogs", "C:", "temp", "le"):
        assert not re.search(rf"\b{fragment}\b", outside), fragment
    header = query.split("\n")
    first_code = next(n for n, line in enumerate(header) if not line.startswith("//"))
    assert header[0] in ("// Nasty values", "// Nasty sequence")  # the title's line break is a space
    assert header[first_code].startswith(("AuditLogs", "let "))


# ---- Spark SQL (Databricks) ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nasty-value", "nasty-sequence"])
def test_spark_sql_keeps_each_value_one_literal(pack: RulePack, name: str) -> None:
    literals, outside = literals_of(_query(pack, "databricks", name), SPARK)
    assert VALUE in literals and CONTAINED in literals and "c\n1" in literals
    for fragment in ("union", "SigninLogs", "temp"):
        assert not re.search(rf"\b{fragment}\b", outside), fragment


# ---- Lucene and EQL (Elastic) ----------------------------------------------------------------------------


def lucene_terms(query: str) -> list[str]:
    """The field values of a Lucene ``query_string``: a phrase ``"..."`` or a bare term up to unescaped
    whitespace or a closing parenthesis; a backslash makes the next character literal."""
    values: list[str] = []
    for match in re.finditer(r"(?<![\\])[\w.*]+:(?=\S)", query):
        i, value = match.end(), []
        quoted = query[i] == '"'
        i += 1 if quoted else 0
        while i < len(query):
            ch = query[i]
            if ch == "\\":
                value.append(query[i + 1])
                i += 2
                continue
            if (quoted and ch == '"') or (not quoted and (ch.isspace() or ch == ")")):
                break
            value.append(ch)
            i += 1
        values.append("".join(value))
    return values


def test_lucene_keeps_each_value_one_term(pack: RulePack) -> None:
    rule = json.loads(_query(pack, "elasticsearch", "nasty-value"))
    assert rule["language"] == "lucene"
    terms = lucene_terms(rule["query"])
    assert VALUE in terms
    assert f"*{CONTAINED}*" in terms
    assert UPN in terms  # the * stays a wildcard
    assert "(c\n1" in terms  # the list: (c<LF>1 OR plain)
    assert rule["note"].startswith("Nasty values\nGraphLattice rule nasty-value")


_EQL_STRING = re.compile(r'"((?:\\[btnfr"\'\\]|[^\r\n"\\])*)"')
_EQL_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def test_eql_keeps_each_value_one_literal(pack: RulePack) -> None:
    rule = json.loads(_query(pack, "elasticsearch", "nasty-sequence"))
    assert rule["language"] == "eql"
    query = rule["query"]
    literals = [
        re.sub(r"\\(.)", lambda m: _EQL_ESCAPES[m.group(1)], m.group(1)) for m in _EQL_STRING.finditer(query)
    ]
    assert VALUE in literals and f"*{CONTAINED}*" in literals
    outside = _EQL_STRING.sub("", query)
    assert '"' not in outside and "union" not in outside


# ---- SPL ------------------------------------------------------------------------------------------------


def test_splunk_says_it_cannot_carry_a_line_break(pack: RulePack) -> None:
    result = export_rules("splunk", pack, ["nasty-value", "nasty-sequence"])
    assert not result.rules
    assert {s.name for s in result.skipped} == {"nasty-value", "nasty-sequence"}
    for skipped in result.skipped:
        assert "line break or another control character" in skipped.reason
        assert "SPL has no escape" in skipped.reason


def test_a_rule_name_that_is_no_file_name_is_not_exported(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(RULES.split("---")[0].replace("name: nasty-value", "name: ../../outside"))
    result = export_rules("kusto", load_pack([path]))
    assert not result.rules
    assert "cannot be a file name" in result.skipped[0].reason
