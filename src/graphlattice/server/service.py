"""One Range behind the endpoint: a lock around its actions and Graph JSON views that last until the next one.

Reads never touch the :class:`~graphlattice.range.engine.Range` itself: :class:`Views` is built (lazily,
piece by piece) from a copy of the state and serves every read until an action changes the range. Writes go
through :meth:`RangeService.act`, i.e. :meth:`Range.act <graphlattice.range.engine.Range.act>`, so they are
journaled and logged exactly like the command line's; each one starts a new generation of views.

The command line may act on the same folder while the server runs (learners mix the two): every request
checks (one ``stat``) whether someone else committed a change, and reloads the range only then; every action
takes the folder's lock and starts from the latest committed state, so neither face undoes the other's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from graphlattice.entra.permissions import MICROSOFT_GRAPH_APP_ID, permission_name
from graphlattice.errors import RangeError
from graphlattice.range.actions import ActionResult
from graphlattice.range.engine import Range
from graphlattice.range.principals import read_index
from graphlattice.range.sessions import user_active_roles
from graphlattice.range.state import RangeState
from graphlattice.range.store import default_state_dir
from graphlattice.server.auth import RANGE_CLIENT_APP_ID, Principal, load_secret, mint_token
from graphlattice.tenant.model import Tenant

__all__ = ["Json", "RangeService", "Views", "range_token"]

Json = dict[str, Any]


def _key(value: object) -> str:
    return str(value or "").casefold()


class Views:
    """Read-only Graph JSON of one generation of the range (never mutate what it hands out)."""

    def __init__(self, state: RangeState, generation: int) -> None:
        self.generation = generation
        self.state = state
        self.tenant_id = state.tenant_id
        self.collections: Mapping[str, Any] = state.collections
        self._roles: dict[str, frozenset[str]] = {}
        self._memo: dict[tuple[object, ...], Any] = {}

    def memo(self, key: tuple[object, ...], make: Callable[[], Any]) -> Any:
        """A value derived from this generation, computed once."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def items(self, name: str) -> list[Json]:
        value = self.collections.get(name)
        return value if isinstance(value, list) else []

    # ---- directory objects ---------------------------------------------------------------------------

    @cached_property
    def users(self) -> list[Json]:
        return self.items("users")

    @cached_property
    def _user_index(self) -> dict[str, Json]:
        index: dict[str, Json] = {}
        for user in self.users:
            index[_key(user.get("id"))] = user
            upn = user.get("userPrincipalName")
            if upn:
                index.setdefault(_key(upn), user)
        return index

    def user(self, key: str) -> Json | None:
        """A user by object id or user principal name."""
        return self._user_index.get(_key(key))

    @cached_property
    def _group_index(self) -> dict[str, Json]:
        return {_key(g.get("id")): g for g in self.items("groups")}

    def group(self, key: str) -> Json | None:
        return self._group_index.get(_key(key))

    @cached_property
    def _sp_index(self) -> dict[str, Json]:
        index: dict[str, Json] = {}
        for sp in self.items("servicePrincipals"):
            index[_key(sp.get("id"))] = sp
        return index

    def service_principal(self, key: str) -> Json | None:
        return self._sp_index.get(_key(key))

    def service_principal_by_app_id(self, app_id: str) -> Json | None:
        wanted = _key(app_id)
        return next((sp for sp in self.items("servicePrincipals") if _key(sp.get("appId")) == wanted), None)

    def directory_object(self, key: str) -> tuple[str, Json] | None:
        """("user" | "group" | "servicePrincipal", object) for an object id."""
        for kind, found in (
            ("user", self.user(key)),
            ("group", self.group(key)),
            ("servicePrincipal", self.service_principal(key)),
        ):
            if found is not None:
                return kind, found
        return None

    # ---- methods, reports, logs ----------------------------------------------------------------------

    def methods_of(self, user_id: str) -> list[Json]:
        methods = self.collections.get("authenticationMethods") or {}
        found = methods.get(_key(user_id)) if isinstance(methods, Mapping) else None
        return found if isinstance(found, list) else []

    @cached_property
    def registration_details(self) -> list[Json]:
        return self.state.registration_details()

    @property
    def audits(self) -> list[Json]:
        return self.state.audits

    @property
    def sign_ins(self) -> list[Json]:
        return self.state.sign_ins

    # ---- who may do what -----------------------------------------------------------------------------

    @cached_property
    def tenant(self) -> Tenant:
        return self.state.tenant(with_logs=False)

    def active_roles(self, user_id: str) -> frozenset[str]:
        """Role template ids the user holds active at tenant scope (cached for the generation)."""
        key = _key(user_id)
        found = self._roles.get(key)
        if found is None:
            found = self._roles[key] = user_active_roles(self.tenant, key)
        return found

    @cached_property
    def _graph_app_roles(self) -> tuple[str | None, dict[str, str]]:
        graph = self.service_principal_by_app_id(MICROSOFT_GRAPH_APP_ID)
        if graph is None:
            return None, {}
        names = {
            _key(role.get("id")): str(role.get("value"))
            for role in graph.get("appRoles") or ()
            if isinstance(role, Mapping) and role.get("value")
        }
        return _key(graph.get("id")), names

    def app_permissions(self, sp_id: str) -> frozenset[str]:
        """Lower-case names of the Microsoft Graph application permissions a service principal holds."""
        sp = self.service_principal(sp_id)
        if sp is None:
            return frozenset()
        graph_id, names = self._graph_app_roles
        held: set[str] = set()
        for grant in sp.get("appRoleAssignments") or ():
            if not isinstance(grant, Mapping):
                continue
            if graph_id is not None and _key(grant.get("resourceId")) not in (graph_id, ""):
                continue
            role = _key(grant.get("appRoleId"))
            name = names.get(role) or permission_name(role)
            if name:
                held.add(name.casefold())
        return frozenset(held)


class RangeService:
    """The range a server process serves (one per process)."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self._rng = Range.open(state_dir)
        self.state_dir = self._rng.state_dir
        self.secret = load_secret(self.state_dir)
        self.lock = threading.RLock()
        self.generation = 0
        self._views: Views | None = None
        self.operations: dict[str, Json] = {}  # resetPassword long-running operations, by id
        self.views().user("")  # build the first views now, not on the first request (seconds at 100k users)

    @property
    def range(self) -> Range:
        return self._rng

    def refresh(self) -> None:
        """Reload when someone else (the command line) committed a change since we last looked.

        One ``stat`` when nothing changed (see :class:`~graphlattice.range.store.StateVersion`).
        """
        if self._rng.is_current():
            return
        with self.lock:
            try:
                reloaded = self._rng.refresh()
            except RangeError:
                return  # the folder cannot be read right now (removed, damaged): keep serving what we have
            if reloaded:
                self._bump()

    def _bump(self) -> None:
        self.generation += 1
        self._views = None

    def views(self) -> Views:
        self.refresh()
        views = self._views
        if views is None:
            with self.lock:
                views = self._views
                if views is None:
                    views = self._views = Views(self._rng.peek(), self.generation)
        return views

    def act(self, action: str, params: Mapping[str, Any], *, actor: str) -> ActionResult:
        """Carry out a Range action as ``actor`` (journaled and logged like the command line's).

        :meth:`Range.act <graphlattice.range.engine.Range.act>` waits for the folder's lock and acts on
        the latest committed state, so a change another process made meanwhile is kept, and is served
        from the next view on.
        """
        with self.lock:
            try:
                return self._rng.act(action, params, actor=actor)
            finally:
                self._bump()

    # ---- principals and tokens -----------------------------------------------------------------------

    def principal(self, kind: str, object_id: str) -> Principal | None:
        views = self.views()
        if kind == "user":
            user = views.user(object_id)
            if user is None:
                return None
            return _user_principal(user.get("id"), user.get("userPrincipalName"))
        sp = views.service_principal(object_id)
        if sp is None:
            return None
        return _app_principal(sp.get("id"), sp.get("displayName"), sp.get("appId"))

    def token_for_user(self, key: str) -> str:
        user = self.views().user(key)
        if user is None:
            raise _unknown_user(key)
        principal = self.principal("user", str(user.get("id")))
        assert principal is not None
        return mint_token(self.secret, self.views().tenant_id, principal)

    def token_for_app(self, key: str) -> str:
        views = self.views()
        sp = views.service_principal_by_app_id(key) or views.service_principal(key)
        if sp is None:
            raise _unknown_app(
                key, [(s.get("displayName"), s.get("appId")) for s in views.items("servicePrincipals")]
            )
        principal = self.principal("app", str(sp.get("id")))
        assert principal is not None
        return mint_token(self.secret, views.tenant_id, principal)


def _user_principal(object_id: object, upn: object) -> Principal:
    return Principal("user", _key(object_id), str(upn or ""), RANGE_CLIENT_APP_ID)


def _app_principal(object_id: object, name: object, app_id: object) -> Principal:
    return Principal("app", _key(object_id), str(name or ""), _key(app_id))


def _unknown_user(key: str) -> RangeError:
    return RangeError(f"unknown user: {key} (a token is for a user of the range, by UPN or id)")


def _unknown_app(key: str, known: list[tuple[object, object]]) -> RangeError:
    listed = ", ".join(f"{name} ({app_id})" for name, app_id in known)
    return RangeError(f"no service principal with appId or id {key} in the range; it has: {listed or 'none'}")


def range_token(
    state_dir: Path | None, *, user: str | None = None, app: str | None = None
) -> tuple[str, Principal]:
    """The token of a user (UPN, its local part, or object id) or an application (appId or object id) of the
    range in ``state_dir``, and who it is for: what ``range token`` prints.

    Reads the range's principal index and its secret, not the range (see
    :mod:`graphlattice.range.principals`); when the index cannot be trusted it loads the range instead: the
    same token, only slower.
    """
    folder = state_dir if state_dir is not None else default_state_dir()
    index = read_index(folder) or Range.open(folder).principals()
    if user is not None:
        found = index.user(user)
        if found is None:
            raise _unknown_user(user)
        principal = _user_principal(*found)
    else:
        match = index.app(str(app))
        if match is None:
            raise _unknown_app(str(app), [(name, app_id) for _, app_id, name in index.apps])
        principal = _app_principal(match[0], match[2], match[1])
    return mint_token(load_secret(folder), index.tenant_id, principal), principal
