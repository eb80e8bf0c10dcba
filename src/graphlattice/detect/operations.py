"""The writes ``respond`` may make, recognised from the call itself, and who they act on.

A call is made only when its method, URL and body are one of these containment operations, on a user the
incident names and the tenant confirms:

- ``DELETE /v1.0/users/{user}/authentication/{typed method collection}/{id}``: a method or the pass;
- ``POST /v1.0/users/{user}/revokeSignInSessions``;
- ``POST /v1.0/users/{user}/authentication/methods/{password method}/resetPassword``;
- ``PATCH /beta/users/{user}/authentication/requirements`` with ``{"perUserMfaState": "enforced"}``;
- ``POST /v1.0/roleManagement/directory/roleAssignmentScheduleRequests`` with ``action: adminRemove`` of
  one role from the user at the directory scope.

The plans of :mod:`.containment` make nothing else; this second list is the guard that a plan added there
later cannot widen what ``respond`` writes unnoticed (a test holds every rule's plan to it). The summary shown
beside each call is made here, from the call and the tenant's own name for the user, so no text of the
incident file stands beside a call.

Break-glass accounts: a user the settings declare (``breakGlassAccounts``), or whose name or user-principal
name says so (the assessment's own heuristic), is never acted on unless the operator names that account
with ``--allow-break-glass``; ``--yes`` does not cover it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from graphlattice.checks.ca_support import looks_like_break_glass
from graphlattice.detect.containment import METHOD_COLLECTIONS, METHOD_NAMES, PASSWORD_METHOD_ID
from graphlattice.detect.derive import GUID, printable, safe_id
from graphlattice.entra.roles import role_display_name
from graphlattice.tenant.model import User

__all__ = ["Operation", "Person", "break_glass_reason", "recognise"]

_COLLECTION_NAMES = {collection: METHOD_NAMES[kind] for kind, (collection, _) in METHOD_COLLECTIONS.items()}
_ID = GUID.pattern
_METHOD_URL = re.compile(rf"/v1\.0/users/(?P<user>{_ID})/authentication/(?P<collection>\w+)/(?P<id>[^/?#]+)")
_REVOKE_URL = re.compile(rf"/v1\.0/users/(?P<user>{_ID})/revokeSignInSessions")
_RESET_URL = re.compile(
    rf"/v1\.0/users/(?P<user>{_ID})/authentication/methods/{PASSWORD_METHOD_ID}/resetPassword"
)
_MFA_URL = re.compile(rf"/beta/users/(?P<user>{_ID})/authentication/requirements")
_PIM_URL = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"
_PIM_KEYS = {"action", "principalId", "roleDefinitionId", "directoryScopeId", "justification"}


@dataclass(frozen=True, slots=True)
class Person:
    """A user of the incident as the tenant knows them."""

    id: str
    name: str
    upn: str
    role: str  # the incident's word for them: target, issuer, user, admin, assignee

    def who(self) -> str:
        """Name and user-principal name, as the tenant gives them (printable)."""
        name = printable(self.name, 60)
        upn = printable(self.upn, 80)
        return f"{name} ({upn})" if upn and upn.casefold() != name.casefold() else name or upn or self.id

    def describe(self) -> str:
        return f"{self.who()}, the incident's {self.role}"


@dataclass(frozen=True, slots=True)
class Operation:
    """A call recognised as a containment operation: the user it acts on and what it does, in words."""

    user: str  # object id
    kind: str  # delete-method, revoke-sessions, reset-password, enforce-mfa, remove-role

    def describe(self, call_url: str, body: Mapping[str, Any] | None, person: Person | None) -> str:
        who = person.describe() if person else self.user
        if self.kind == "delete-method":
            match = _METHOD_URL.fullmatch(call_url)
            assert match is not None
            name = _COLLECTION_NAMES[match["collection"]]
            return f"Delete the {name} {match['id']} of {who}"
        if self.kind == "revoke-sessions":
            return f"Revoke every session and refresh token of {who}"
        if self.kind == "reset-password":
            return f"Reset the password of {who}"
        if self.kind == "enforce-mfa":
            return f"Turn per-user MFA back on (enforced) for {who}"
        role = str((body or {}).get("roleDefinitionId") or "")
        return f"Remove the role {printable(role_display_name(role), 60)} ({role}) from {who}, through PIM"


def recognise(method: str, url: str, body: Mapping[str, Any] | None) -> Operation | None:
    """The containment operation this call is, or None when it is none of them (then it is not made)."""
    if method == "DELETE" and body is None:
        match = _METHOD_URL.fullmatch(url)
        if match and match["collection"] in _COLLECTION_NAMES and safe_id(match["id"]):
            return Operation(match["user"], "delete-method")
    if method == "POST" and body is None and (match := _REVOKE_URL.fullmatch(url)):
        return Operation(match["user"], "revoke-sessions")
    if method == "POST" and (match := _RESET_URL.fullmatch(url)) and _reset_body(body):
        return Operation(match["user"], "reset-password")
    if method == "PATCH" and (match := _MFA_URL.fullmatch(url)) and body == {"perUserMfaState": "enforced"}:
        return Operation(match["user"], "enforce-mfa")
    if method == "POST" and url == _PIM_URL and body is not None and set(body) <= _PIM_KEYS:
        principal, role = body.get("principalId"), body.get("roleDefinitionId")
        if (
            body.get("action") == "adminRemove"
            and body.get("directoryScopeId") == "/"
            and isinstance(principal, str)
            and GUID.fullmatch(principal)
            and isinstance(role, str)
            and GUID.fullmatch(role)
        ):
            return Operation(principal, "remove-role")
    return None


def _reset_body(body: Mapping[str, Any] | None) -> bool:
    return (
        body is not None and set(body) <= {"newPassword"} and all(isinstance(v, str) for v in body.values())
    )


def break_glass_reason(
    person: Person, declared: Collection[str], source: str | None, allowed: Collection[str]
) -> str | None:
    """Why ``person`` must not be acted on (a break-glass account not named by ``--allow-break-glass``), or
    None. ``declared`` and ``allowed`` hold lower-cased UPNs or object ids."""
    keys = {person.id.casefold(), person.upn.casefold()} - {""}
    if keys & {key.casefold() for key in allowed}:
        return None
    if keys & {key.casefold() for key in declared}:
        why = f"is a break-glass account declared in {source or 'the settings'}"
    elif looks_like_break_glass(User(person.id, person.name, person.upn, "member", True, False, {})):
        why = "is named like a break-glass account"
    else:
        return None
    return (
        f"{person.describe()} {why}: acting on it could lock the tenant out; pass --allow-break-glass "
        f"{printable(person.upn or person.id)} if this is intended"
    )
