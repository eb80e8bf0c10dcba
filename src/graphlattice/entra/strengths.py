"""Authentication strengths: which combinations of authentication method modes satisfy a requirement.

Built-in strengths come from ``data/auth_strengths.yaml``; custom ones are read from Graph's
``authenticationStrengthPolicy`` JSON with :meth:`Strength.from_graph`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.entra.methods import AUTH_METHOD_MODES, canonical_modes
from graphlattice.errors import EntraRuleError

__all__ = [
    "BUILTIN_STRENGTHS",
    "MFA_STRENGTH_ID",
    "PASSWORDLESS_MFA_STRENGTH_ID",
    "PHISHING_RESISTANT_MFA_STRENGTH_ID",
    "TAP_MODES",
    "Strength",
    "accepts_tap",
    "satisfied_by",
]

MFA_STRENGTH_ID = "00000000-0000-0000-0000-000000000002"
PASSWORDLESS_MFA_STRENGTH_ID = "00000000-0000-0000-0000-000000000003"
PHISHING_RESISTANT_MFA_STRENGTH_ID = "00000000-0000-0000-0000-000000000004"

TAP_MODES: frozenset[str] = frozenset({"temporaryAccessPassOneTime", "temporaryAccessPassMultiUse"})


@dataclass(slots=True, frozen=True)
class Strength:
    """An authentication strength: any one of ``combinations`` satisfies it."""

    id: str
    display_name: str
    policy_type: str
    combinations: frozenset[frozenset[str]]

    @classmethod
    def from_graph(cls, obj: Mapping[str, Any]) -> Strength:
        """Build from an ``authenticationStrengthPolicy`` object; ``allowedCombinations`` are comma-joined."""
        strength_id = obj.get("id")
        if not isinstance(strength_id, str) or not strength_id:
            raise EntraRuleError("authenticationStrengthPolicy without an id")
        raw = obj.get("allowedCombinations") or []
        if not isinstance(raw, list):
            raise EntraRuleError(
                f"authenticationStrengthPolicy {strength_id}: allowedCombinations is not a list"
            )
        combinations = frozenset(
            combo for combo in (canonical_modes(str(entry).split(",")) for entry in raw) if combo
        )
        return cls(
            id=strength_id,
            display_name=str(obj.get("displayName") or strength_id),
            policy_type=str(obj.get("policyType") or "custom"),
            combinations=combinations,
        )


def satisfied_by(strength: Strength, used_modes: Collection[str]) -> bool:
    """True when every mode of at least one allowed combination was used."""
    used = canonical_modes(used_modes)
    return any(combo <= used for combo in strength.combinations)


def accepts_tap(strength: Strength) -> bool:
    """True when some allowed combination includes a Temporary Access Pass."""
    return any(combo & TAP_MODES for combo in strength.combinations)


def _load_builtins() -> Mapping[str, Strength]:
    table = load_table("auth_strengths")
    found: dict[str, Strength] = {}
    for row in require_list(table["strengths"], "auth_strengths.strengths"):
        row = require_mapping(row, "auth_strengths.strengths[]")
        strength = Strength.from_graph(row)
        require_str(row.get("displayName"), f"auth_strengths {strength.id}.displayName")
        unknown = {mode for combo in strength.combinations for mode in combo} - AUTH_METHOD_MODES
        if unknown:
            raise EntraRuleError(f"auth_strengths {strength.id}: unknown modes {sorted(unknown)}")
        found[strength.id.casefold()] = strength
    return MappingProxyType(found)


BUILTIN_STRENGTHS: Mapping[str, Strength] = _load_builtins()
"""Built-in strengths keyed by lowercase id."""


def builtin_strength_objects() -> list[dict[str, Any]]:
    """Built-in strengths as Graph returns them (``authenticationStrengthPolicy`` objects, table order)."""
    rows = require_list(load_table("auth_strengths")["strengths"], "auth_strengths.strengths")
    return [
        {
            "id": str(row["id"]),
            "displayName": str(row["displayName"]),
            "policyType": str(row.get("policyType", "builtIn")),
            "requirementsSatisfied": "mfa",
            "allowedCombinations": [str(c) for c in row["allowedCombinations"]],
        }
        for row in (require_mapping(r, "auth_strengths.strengths[]") for r in rows)
    ]
