"""The JSON report: the assessment as the library sees it, plus who wrote it and a summary.

Top-level keys, always in this order: ``generator``, ``tenant``, ``summary``, ``findings``, ``warnings``.
``tenant``, ``findings`` and ``warnings`` are exactly :meth:`Assessment.to_json`; findings keep the order the
engine produced (catalogue order), so two runs over the same tenant give byte-identical files.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import orjson

from graphlattice.checks.engine import Assessment
from graphlattice.report._common import GENERATOR_NAME, GENERATOR_VERSION, summary

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def _fallback(value: Any) -> Any:
    """Serialise the few Python types evidence may carry that orjson does not know."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def report_document(assessment: Assessment) -> dict[str, Any]:
    body = assessment.to_json()
    document: dict[str, Any] = {
        "generator": {"name": GENERATOR_NAME, "version": GENERATOR_VERSION},
        "tenant": body["tenant"],
        "summary": summary(assessment),
        "findings": body["findings"],
        "warnings": body["warnings"],
    }
    for key, value in body.items():  # keep anything the engine adds later
        document.setdefault(key, value)
    return document


def dumps(document: Any) -> bytes:
    return orjson.dumps(document, default=_fallback, option=_OPTIONS)


def render_json(assessment: Assessment) -> bytes:
    """The assessment as indented UTF-8 JSON bytes, ending with a newline."""
    return dumps(report_document(assessment))
