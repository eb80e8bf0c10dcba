"""Which built-in roles may perform tenant-wide administrative actions (policies, roles, logs).

Tenant-wide actions are a data table, ``data/admin_actions.yaml``, with their Microsoft sources. Actions
on one user (revoke sessions, reset a password, manage methods, enable or disable the account) depend on
who the target is, so they go to :func:`graphlattice.entra.authority.decide` and its role matrices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.entra.authority import Action, Decision, TargetProfile, decide, roles_able_to
from graphlattice.entra.roles import role_display_name
from graphlattice.errors import EntraRuleError

__all__ = ["AdminAction", "can_perform", "roles_for"]


class AdminAction(StrEnum):
    """An administrative action; tenant-wide ones first, then actions on one user."""

    UPDATE_AUTH_METHODS_POLICY = "updateAuthenticationMethodsPolicy"
    UPDATE_TAP_POLICY = "updateTemporaryAccessPassPolicy"
    CREATE_CA_POLICY = "createConditionalAccessPolicy"
    UPDATE_CA_POLICY = "updateConditionalAccessPolicy"
    DELETE_CA_POLICY = "deleteConditionalAccessPolicy"
    MANAGE_ROLE_ASSIGNMENTS = "manageRoleAssignments"
    MANAGE_ROLE_ELIGIBILITY = "manageRoleEligibility"
    UPDATE_ROLE_SETTINGS = "updateRoleSettings"
    APPROVE_ROLE_ACTIVATION = "approveRoleActivation"
    READ_AUDIT_LOGS = "readAuditLogs"
    READ_SIGN_IN_LOGS = "readSignInLogs"
    READ_USER_AUTH_METHODS = "readUserAuthenticationMethods"
    READ_CONDITIONAL_ACCESS = "readConditionalAccessPolicies"
    READ_AUTH_METHODS_POLICY = "readAuthenticationMethodsPolicy"
    READ_ROLE_MANAGEMENT = "readPrivilegedIdentityManagement"
    READ_AUTH_METHOD_REPORTS = "readAuthenticationMethodReports"
    # Decided per target by the authority matrices:
    REVOKE_SIGN_IN_SESSIONS = "revokeSignInSessions"
    RESET_PASSWORD = "resetPassword"
    MANAGE_USER_AUTH_METHODS = "manageUserAuthenticationMethods"
    UPDATE_ACCOUNT_ENABLED = "updateAccountEnabled"


@dataclass(slots=True, frozen=True)
class _Rule:
    phrase: str
    roles: tuple[str, ...]  # role template ids, least privileged first


_ORDINARY_USER = TargetProfile(frozenset())


def _load() -> tuple[Mapping[AdminAction, _Rule], Mapping[AdminAction, Action]]:
    table = load_table("admin_actions")
    ids = {
        k: require_str(v, f"admin_actions.role_ids.{k}").casefold()
        for k, v in require_mapping(table["role_ids"], "admin_actions.role_ids").items()
    }
    rules: dict[AdminAction, _Rule] = {}
    for key, raw in require_mapping(table["actions"], "admin_actions.actions").items():
        raw = require_mapping(raw, f"admin_actions.actions.{key}")
        names = [
            require_str(n, f"admin_actions.actions.{key}.roles") for n in require_list(raw["roles"], key)
        ]
        unknown = set(names) - set(ids)
        if unknown:
            raise EntraRuleError(f"admin_actions.actions.{key}: unknown roles {sorted(unknown)}")
        phrase = require_str(raw["phrase"], f"admin_actions.actions.{key}.phrase")
        rules[AdminAction(key)] = _Rule(phrase, tuple(ids[n] for n in names))
    targets = {
        AdminAction(key): Action(require_str(value, f"admin_actions.target_actions.{key}"))
        for key, value in require_mapping(table["target_actions"], "admin_actions.target_actions").items()
    }
    if set(rules) & set(targets) or set(rules) | set(targets) != set(AdminAction):
        raise EntraRuleError("admin_actions.yaml must decide every AdminAction exactly once")
    return MappingProxyType(rules), MappingProxyType(targets)


_RULES, _TARGET_ACTIONS = _load()


def roles_for(action: AdminAction | str) -> frozenset[str]:
    """Role template ids (lowercase) that may perform ``action``.

    For an action on one user this is the set that may perform it on an ordinary user (no admin role); a more
    protected target narrows it, see :func:`graphlattice.entra.authority.roles_able_to`.
    """
    admin_action = AdminAction(action)
    if admin_action in _TARGET_ACTIONS:
        return roles_able_to(_TARGET_ACTIONS[admin_action], _ORDINARY_USER)
    return frozenset(_RULES[admin_action].roles)


def _names(role_ids: tuple[str, ...]) -> str:
    names = [role_display_name(r) for r in role_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def can_perform(
    action: AdminAction | str,
    active_role_ids: Iterable[str],
    *,
    target: TargetProfile | None = None,
    actor_is_target: bool = False,
    designated_approver: bool | None = None,
) -> Decision:
    """Whether someone holding ``active_role_ids`` (active, not merely eligible) may perform ``action``.

    ``target`` and ``actor_is_target`` apply to actions on one user (an absent target is an ordinary user).
    ``designated_approver`` applies to :attr:`AdminAction.APPROVE_ROLE_ACTIVATION`: ``None`` when the role's
    policy names no approvers (the default approvers decide), otherwise whether the actor is a named approver.
    """
    admin_action = AdminAction(action)
    held = {r.strip().casefold() for r in active_role_ids}
    if admin_action in _TARGET_ACTIONS:
        profile = target if target is not None else _ORDINARY_USER
        return decide(_TARGET_ACTIONS[admin_action], held, profile, actor_is_target=actor_is_target)
    rule = _RULES[admin_action]
    if admin_action is AdminAction.APPROVE_ROLE_ACTIVATION and designated_approver is not None:
        if designated_approver:
            return Decision(True, None, "The signed-in user is a designated approver for this role")
        return Decision(False, None, "The signed-in user is not a designated approver for this role")
    for role in rule.roles:  # least privileged first
        if role in held:
            return Decision(True, role, f"{role_display_name(role)} may {rule.phrase}")
    return Decision(
        False,
        None,
        f"The signed-in user lacks a role that may {rule.phrase} (needs {_names(rule.roles)})",
    )
