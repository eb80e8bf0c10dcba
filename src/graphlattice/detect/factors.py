"""What the sign-in that began a session proved: one factor, more than one, or the record cannot say.

A security-info registration is judged by the session it was made in, and the question is what that
session's sign-in *satisfied*, not what it was asked for. ``authenticationRequirement`` is the requirement
(Entra writes ``multiFactorAuthentication`` on a sign-in it stopped for want of MFA), so it answers the
question only for a sign-in that succeeded: a successful sign-in met its requirement. Two kinds of sign-in
begin a session in which security info can be registered:

- a successful one (error code 0);
- an MFA-enrolment interrupt (50072, 50079): the password was accepted, MFA is required and the user has no
  method yet, so Entra lets the session register one. Such a session has passed exactly one factor, whatever
  the requirement says; that is the registration gate an intruder with a password walks through.

:func:`single_factor_sql` states the verdict over a sign-in's canonical columns, first answer wins:

1. an enrolment interrupt: TRUE;
2. a success that required multifactor authentication: FALSE (the requirement was met);
3. a success whose ``authenticationDetails`` show MFA — two or more succeeded steps, or one step that is
   multifactor by itself (a passkey, Windows Hello, phone sign-in, a Temporary Access Pass): FALSE;
4. a success that required a single factor, or whose details show one succeeded step: TRUE;
5. anything else (v1.0 records carry neither property): NULL, cannot tell.

The tables behind it (the error codes, the methods that are multifactor alone) are ``factors.yaml`` beside
this module, with their sources. The KQL exporter states the same verdict over Sentinel's columns
(:mod:`graphlattice.detect.export.kusto`), from the same tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from graphlattice.errors import CatalogError

__all__ = [
    "SESSION_ERROR_CODES",
    "SessionFactors",
    "load_factors",
    "session_sql",
    "single_factor_sql",
]

_TABLE = Path(__file__).with_name("factors.yaml")


@dataclass(frozen=True, slots=True)
class SessionFactors:
    """The table: enrolment-interrupt error codes (code -> Microsoft's name) and the step methods that
    satisfy MFA on their own (exact names and name prefixes, as the sign-in log writes them)."""

    enrolment_interrupts: Mapping[int, str]
    multifactor_steps: tuple[str, ...]
    multifactor_step_prefixes: tuple[str, ...]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CatalogError(str(_TABLE), f"{where} must be a list of names")
    return tuple(value)


@cache
def load_factors() -> SessionFactors:
    """Parse ``factors.yaml`` once (a malformed table is a packaging bug: :class:`CatalogError`)."""
    doc = yaml.safe_load(_TABLE.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not str(doc.get("source") or "").strip():
        raise CatalogError(str(_TABLE), "must be a mapping that names its source")
    raw = doc.get("enrolment_interrupts")
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(str(_TABLE), "enrolment_interrupts must map error codes to their names")
    codes: dict[int, str] = {}
    for code, row in raw.items():
        if not isinstance(code, int) or not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise CatalogError(str(_TABLE), f"enrolment_interrupts.{code} needs a numeric code and a name")
        codes[code] = row["name"]
    return SessionFactors(
        MappingProxyType(codes),
        _strings(doc.get("multifactor_steps"), "multifactor_steps"),
        _strings(doc.get("multifactor_step_prefixes"), "multifactor_step_prefixes"),
    )


def _session_codes() -> tuple[int, ...]:
    return (0, *sorted(load_factors().enrolment_interrupts))


SESSION_ERROR_CODES = _session_codes()
"""Sign-in error codes that begin a session an action can run in: success and the enrolment interrupts."""


def session_sql(error_code: str = "error_code") -> str:
    """SQL: the sign-in whose error code is ``error_code`` (a column) began a session."""
    return f"{error_code} IN ({', '.join(str(c) for c in SESSION_ERROR_CODES)})"


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.lower().replace("'", "''") + "'" for v in values)


def single_factor_sql(alias: str) -> str:
    """DuckDB SQL: the verdict of the module docstring for the sign-in row ``alias`` (its canonical
    ``error_code``, ``auth_requirement`` and ``auth_methods`` columns); NULL when it cannot tell."""
    factors = load_factors()
    interrupts = ", ".join(str(c) for c in sorted(factors.enrolment_interrupts))
    methods = f"list_transform({alias}.auth_methods, lambda m: lower(m))"
    strong = f"list_has_any({methods}, [{_sql_list(factors.multifactor_steps)}])"
    if factors.multifactor_step_prefixes:
        prefixes = " OR ".join(f"starts_with(m, '{p.lower()}')" for p in factors.multifactor_step_prefixes)
        strong = f"({strong} OR len(list_filter({methods}, lambda m: {prefixes})) > 0)"
    requirement = f"lower({alias}.auth_requirement)"
    return f"""CASE
        WHEN {alias}.error_code IN ({interrupts}) THEN true
        WHEN {alias}.error_code IS DISTINCT FROM 0 THEN NULL
        WHEN {requirement} = 'multifactorauthentication' THEN false
        WHEN len({alias}.auth_methods) >= 2 OR {strong} THEN false
        WHEN {requirement} = 'singlefactorauthentication' OR len({alias}.auth_methods) = 1 THEN true
    END"""
