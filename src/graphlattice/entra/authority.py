"""Who may act on whom: Microsoft's role-versus-role matrices for credential and sensitive actions.

The matrices live in ``data/authority.yaml``, one per action: resetting a password and invalidating refresh
tokens are separate permissions with separate tables (Password Administrator may do the first only), and
disabling an account has its own table (the 2026 security roles may disable non-administrators but perform
no other sensitive action). A target is reduced to the matrix rows that apply to it (one per
role it holds, plus rows for role-assignable-group membership and restricted-management AU roles, or the
"no admin role" row); an actor role may act only when every one of those rows allows it. Roles held only as
PIM-eligible count for the target like active ones (see the table's ``eligible_assignments`` note), so callers
pass eligible and active role ids alike in :attr:`TargetProfile.role_ids`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.entra.roles import role_display_name
from graphlattice.errors import EntraRuleError

__all__ = [
    "ELIGIBLE_ROLES_PROTECT_TARGET",
    "Action",
    "Decision",
    "TargetProfile",
    "decide",
    "roles_able_to",
]

NO_ADMIN_ROLE = "no_admin_role"
ROLE_ASSIGNABLE_GROUP = "role_assignable_group"
RESTRICTED_AU_ROLE = "restricted_au_role"
ANY_OTHER_ROLE = "any_other_role"
_SPECIAL_ROWS = (NO_ADMIN_ROLE, ROLE_ASSIGNABLE_GROUP, RESTRICTED_AU_ROLE, ANY_OTHER_ROLE)


class Action(Enum):
    """An administrative action on another user's account."""

    RESET_PASSWORD = "resetPassword"
    INVALIDATE_REFRESH_TOKENS = "invalidateRefreshTokens"
    MANAGE_AUTH_METHODS = "manageAuthenticationMethods"
    SENSITIVE_UPDATE = "sensitiveUpdate"
    UPDATE_ACCOUNT_ENABLED = "updateAccountEnabled"

    @property
    def phrase(self) -> str:
        """Verb phrase used in decisions, e.g. "reset the password of"."""
        return _PHRASES[self]


_PHRASES = {
    Action.RESET_PASSWORD: "reset the password of",
    Action.INVALIDATE_REFRESH_TOKENS: "invalidate the refresh tokens of",
    Action.MANAGE_AUTH_METHODS: "manage authentication methods of",
    Action.SENSITIVE_UPDATE: "update sensitive properties of",
    Action.UPDATE_ACCOUNT_ENABLED: "disable or enable the account of",
}
_MATRIX_FOR_ACTION = {
    Action.RESET_PASSWORD: "reset_password",
    Action.INVALIDATE_REFRESH_TOKENS: "invalidate_refresh_tokens",
    Action.MANAGE_AUTH_METHODS: "manage_auth_methods",
    Action.SENSITIVE_UPDATE: "sensitive_update",
    Action.UPDATE_ACCOUNT_ENABLED: "account_enabled",
}


@dataclass(slots=True, frozen=True)
class TargetProfile:
    """What protects a target user: the role template ids it holds (active or eligible) and two flags."""

    role_ids: frozenset[str]
    in_role_assignable_group: bool = False
    restricted_au_role: bool = False


@dataclass(slots=True, frozen=True)
class Decision:
    """The outcome of one check; ``reason`` is a one-line sentence suitable for a report or an API error."""

    allowed: bool
    via_role: str | None
    reason: str


@dataclass(slots=True, frozen=True)
class _Matrix:
    columns: tuple[str, ...]  # actor role ids, least privileged first
    rows: Mapping[str, frozenset[str]]  # row key -> actor role ids allowed


def _load() -> tuple[Mapping[str, _Matrix], Mapping[str, str], bool]:
    table = load_table("authority")
    columns = {
        k: require_str(v, f"authority.actor_columns.{k}").casefold()
        for k, v in require_mapping(table["actor_columns"], "authority.actor_columns").items()
    }
    role_rows = {
        require_str(v, f"authority.role_rows.{k}").casefold(): k
        for k, v in require_mapping(table["role_rows"], "authority.role_rows").items()
    }
    row_keys = set(role_rows.values()) | set(_SPECIAL_ROWS)
    matrices: dict[str, _Matrix] = {}
    for name, raw in require_mapping(table["matrices"], "authority.matrices").items():
        raw = require_mapping(raw, f"authority.matrices.{name}")
        names = [require_str(c, f"{name}.columns") for c in require_list(raw["columns"], f"{name}.columns")]
        if not set(names) <= set(columns):
            raise EntraRuleError(f"authority.matrices.{name}: unknown actor column")
        rows: dict[str, frozenset[str]] = {}
        for row, allowed in require_mapping(raw["rows"], f"authority.matrices.{name}.rows").items():
            cells = set(require_list(allowed, f"authority.matrices.{name}.rows.{row}"))
            if not cells <= set(names):
                raise EntraRuleError(f"authority.matrices.{name}.rows.{row}: cell outside the matrix columns")
            rows[row] = frozenset(columns[c] for c in cells)
        if set(rows) != row_keys:
            raise EntraRuleError(f"authority.matrices.{name}: rows must be exactly {sorted(row_keys)}")
        matrices[name] = _Matrix(columns=tuple(columns[c] for c in names), rows=MappingProxyType(rows))
    if set(matrices) != set(_MATRIX_FOR_ACTION.values()):
        raise EntraRuleError("authority.yaml must define one matrix per action")
    eligible = require_mapping(table["eligible_assignments"], "authority.eligible_assignments")
    return MappingProxyType(matrices), MappingProxyType(role_rows), bool(eligible["protect_target"])


_MATRICES, _ROW_FOR_ROLE, ELIGIBLE_ROLES_PROTECT_TARGET = _load()


def _target_rows(target: TargetProfile) -> list[tuple[str, str]]:
    """(row key, human description) for every matrix row that applies to the target."""
    rows: list[tuple[str, str]] = []
    for role_id in sorted(r.casefold() for r in target.role_ids):
        row = _ROW_FOR_ROLE.get(role_id, ANY_OTHER_ROLE)
        rows.append((row, f"a user who holds {role_display_name(role_id)}"))
    if target.in_role_assignable_group:
        rows.append((ROLE_ASSIGNABLE_GROUP, "a member or owner of a role-assignable group"))
    if target.restricted_au_role:
        rows.append(
            (RESTRICTED_AU_ROLE, "a user with a role scoped to a restricted management administrative unit")
        )
    if not rows:
        rows.append((NO_ADMIN_ROLE, "a user with no admin role"))
    return rows


def roles_able_to(action: Action, target: TargetProfile) -> frozenset[str]:
    """Actor role template ids (lowercase) that may perform ``action`` on ``target`` (someone else)."""
    matrix = _MATRICES[_MATRIX_FOR_ACTION[action]]
    allowed = frozenset(matrix.columns)
    for row, _ in _target_rows(target):
        allowed &= matrix.rows[row]
    return allowed


def decide(
    action: Action,
    actor_role_ids: Iterable[str],
    target: TargetProfile,
    *,
    actor_is_target: bool = False,
) -> Decision:
    """Whether an actor holding ``actor_role_ids`` (active roles) may perform ``action`` on ``target``."""
    matrix = _MATRICES[_MATRIX_FOR_ACTION[action]]
    actor = {r.strip().casefold() for r in actor_role_ids}
    capable = [role for role in matrix.columns if role in actor]
    if actor_is_target:
        return Decision(False, None, f"Nobody may {action.phrase} their own account through admin APIs")
    if not capable:
        held = ", ".join(sorted(role_display_name(r) for r in actor)) or "no admin role"
        return Decision(False, None, f"The actor ({held}) holds no role that can {action.phrase} other users")
    rows = _target_rows(target)
    for role in capable:  # least privileged first, so via_role names the narrowest sufficient role
        if all(role in matrix.rows[row] for row, _ in rows):
            return Decision(True, role, f"{role_display_name(role)} may {action.phrase} {_describe(target)}")
    strongest = capable[-1]
    blocking = next(text for row, text in rows if strongest not in matrix.rows[row])
    return Decision(False, None, f"{role_display_name(strongest)} cannot {action.phrase} {blocking}")


def _describe(target: TargetProfile) -> str:
    """The whole target in one phrase, e.g. "a user who holds Reports Reader and Directory Readers"."""
    names = sorted(role_display_name(r) for r in target.role_ids)
    flags = []
    if target.in_role_assignable_group:
        flags.append("is a member or owner of a role-assignable group")
    if target.restricted_au_role:
        flags.append("holds a role scoped to a restricted management administrative unit")
    if names:
        flags.insert(0, "holds " + _join(names))
    return "a user who " + _join(flags) if flags else "a user with no admin role"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
