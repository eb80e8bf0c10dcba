"""Who a range's principals are, in a small file beside its state, so a token can be signed without it.

``range token`` needs the tenant id and one principal's object id and name. ``state.json`` holds every user,
method, session and log record of the range: tens of megabytes at 20,000 users, and loading it cost seconds
and most of a gigabyte of memory for one line of output. So every save of the state also writes
``principals.json``: the tenant id, each user's id and UPN, each service principal's id, appId and display
name, stamped with the state file's size, modification time and inode as they are after the write.

A reader trusts the index only while that stamp still matches ``state.json``. A range written by an older
version, a crash between the two writes, or a copied folder (new inodes) all fail the check, and the caller
falls back to loading the state, which is never wrong, only slow.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from graphlattice.range.state import RangeState
from graphlattice.range.store import RangeStore

__all__ = ["PRINCIPALS_FILE", "PrincipalIndex", "read_index", "write_index"]

PRINCIPALS_FILE = "principals.json"
INDEX_FORMAT = 1


def _key(value: object) -> str:
    return str(value or "").casefold()


@dataclass(frozen=True, slots=True)
class PrincipalIndex:
    """The principals of one range. Ids are lower case; lookups ignore case."""

    tenant_id: str
    users: tuple[tuple[str, str], ...]  # (id, userPrincipalName)
    apps: tuple[tuple[str, str, str], ...]  # (id, appId, displayName)

    @classmethod
    def of(cls, state: RangeState) -> PrincipalIndex:
        users = tuple(
            (_key(u.get("id")), str(u.get("userPrincipalName") or "")) for u in state.collections["users"]
        )
        apps = tuple(
            (_key(sp.get("id")), _key(sp.get("appId")), str(sp.get("displayName") or ""))
            for sp in state.collections.get("servicePrincipals") or []
        )
        return cls(state.tenant_id, users, apps)

    def user(self, key: str) -> tuple[str, str] | None:
        """(id, UPN) of a user by object id, UPN, or a UPN's local part when exactly one user has it."""
        wanted = _key(key.strip())
        for uid, upn in self.users:
            if wanted in (uid, _key(upn)):
                return uid, upn
        if "@" not in wanted:
            local = [(uid, upn) for uid, upn in self.users if _key(upn.split("@")[0]) == wanted]
            if len(local) == 1:
                return local[0]
        return None

    def app(self, key: str) -> tuple[str, str, str] | None:
        """(id, appId, display name) of a service principal by appId, else by object id."""
        wanted = _key(key.strip())
        by_app_id = next((app for app in self.apps if app[1] == wanted), None)
        return by_app_id or next((app for app in self.apps if app[0] == wanted), None)

    def to_json(self, stamp: list[int]) -> dict[str, Any]:
        return {
            "format": INDEX_FORMAT,
            "stateStamp": stamp,
            "tenantId": self.tenant_id,
            "users": [list(u) for u in self.users],
            "servicePrincipals": [list(a) for a in self.apps],
        }


def _stamp(store: RangeStore) -> list[int] | None:
    try:
        st = store.state_path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def write_index(store: RangeStore, state: RangeState) -> None:
    """Write the index of ``state``, which must be what ``store``'s state file now holds."""
    stamp = _stamp(store)
    if stamp is None:
        return
    data = orjson.dumps(PrincipalIndex.of(state).to_json(stamp))
    store.write_file(PRINCIPALS_FILE, data)


def read_index(state_dir: Path) -> PrincipalIndex | None:
    """The index of the range in ``state_dir`` if it matches its state file as it is now; else None."""
    store = RangeStore(state_dir)
    raw = None
    with contextlib.suppress(OSError):
        raw = (store.root / PRINCIPALS_FILE).read_bytes()
    if raw is None:
        return None
    try:
        doc = orjson.loads(raw)
        if doc.get("format") != INDEX_FORMAT or doc.get("stateStamp") != _stamp(store):
            return None
        users = tuple((str(uid), str(upn)) for uid, upn in doc["users"])
        apps = tuple((str(i), str(a), str(n)) for i, a, n in doc["servicePrincipals"])
        return PrincipalIndex(str(doc["tenantId"]), users, apps)
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return None  # damaged: the state itself still answers
