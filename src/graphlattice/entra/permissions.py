"""Microsoft Graph application permissions (appRole ids) that matter to identity security."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.errors import EntraRuleError

__all__ = [
    "GRAPH_APP_PERMISSIONS",
    "MICROSOFT_GRAPH_APP_ID",
    "TAP_WRITING_APP_PERMISSIONS",
    "AppPermission",
    "permission_id",
    "permission_name",
]

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


@dataclass(slots=True, frozen=True)
class AppPermission:
    """One Graph application permission; ``observed`` marks ids confirmed only in community content."""

    id: str
    name: str
    tap_writer: bool
    observed: bool


def _load() -> Mapping[str, AppPermission]:
    found: dict[str, AppPermission] = {}
    for row in require_list(load_table("graph_app_permissions")["permissions"], "graph_app_permissions"):
        row = require_mapping(row, "graph_app_permissions[]")
        perm = AppPermission(
            id=require_str(row.get("id"), "graph_app_permissions[].id").casefold(),
            name=require_str(row.get("name"), "graph_app_permissions[].name"),
            tap_writer=bool(row.get("tap_writer", False)),
            observed=bool(row.get("observed", False)),
        )
        if perm.id in found:
            raise EntraRuleError(f"graph_app_permissions.yaml lists {perm.id} twice")
        found[perm.id] = perm
    return MappingProxyType(found)


GRAPH_APP_PERMISSIONS: Mapping[str, AppPermission] = _load()
"""Known Graph application permissions keyed by lowercase appRole id."""

_BY_NAME = {p.name.casefold(): p.id for p in GRAPH_APP_PERMISSIONS.values()}

TAP_WRITING_APP_PERMISSIONS: frozenset[str] = frozenset(
    p.id for p in GRAPH_APP_PERMISSIONS.values() if p.tap_writer
)
"""appRole ids that let an application create a Temporary Access Pass for any user."""


def permission_name(app_role_id: str) -> str | None:
    perm = GRAPH_APP_PERMISSIONS.get(app_role_id.strip().casefold())
    return perm.name if perm else None


def permission_id(name: str) -> str | None:
    """The appRole id of a permission name such as ``User.Read.All`` (case-insensitive)."""
    return _BY_NAME.get(name.strip().casefold())
