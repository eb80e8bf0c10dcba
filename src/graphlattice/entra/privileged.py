"""Who holds a privileged role in a tenant: the one answer the assessment and detection share.

A role is privileged when Microsoft labels its built-in template PRIVILEGED (``data/roles.yaml``); a role
definition is matched through its ``templateId`` (built-in roles keep it equal to their id). A custom role has
its own id, and only its definition (Graph beta adds ``isPrivileged``) can say more. A role that neither the
catalogue nor the tenant's definition describes is **unknown** and is never counted as harmless: it is treated
as privileged, and consumers name it as unknown so the reader sees why its holder is listed. A holder is every
principal of an active or eligible grant, with role-assignable groups expanded to their members
(:attr:`Tenant.role_grants`), sorted by what the snapshot says it is:

* ``users`` — users of the snapshot;
* ``service_principals`` — applications and managed identities;
* ``unresolved`` — ids found in neither users, groups nor service principals (a truncated ``users.json``,
  service principals that could not be read, an object deleted meanwhile). Nothing may be concluded about
  them, and a consumer that counts privileged users must say so rather than leave them out silently.

A group holding a role is not itself a holder: its members are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from graphlattice.entra.roles import get_role, is_privileged
from graphlattice.tenant.model import RoleGrant, Tenant

__all__ = [
    "PrivilegedHolders",
    "is_privileged_role",
    "privileged_holders",
    "role_name",
    "role_privilege",
    "role_template_id",
]

_KEY = "entra.privileged"


def role_template_id(tenant: Tenant, role_id: str) -> str:
    """The template id of a role definition (its own id when the snapshot does not say otherwise)."""
    definition = tenant.role_definitions.get(role_id.lower())
    template = definition.get("templateId") if definition is not None else None
    return str(template).lower() if template else role_id.lower()


def role_privilege(tenant: Tenant, role_id: str) -> bool | None:
    """Microsoft's PRIVILEGED label for the role: the catalogue for built-in roles, the definition's own
    ``isPrivileged`` for a custom one, ``None`` when neither says (unknown)."""
    known = is_privileged(role_template_id(tenant, role_id))
    if known is not None:
        return known
    definition = tenant.role_definitions.get(role_id.lower())
    flag = definition.get("isPrivileged") if definition is not None else None
    return flag if isinstance(flag, bool) else None


def is_privileged_role(tenant: Tenant, role_id: str) -> bool:
    """Whether holders of the role definition ``role_id`` count as privileged: labelled so, or unknown."""
    return role_privilege(tenant, role_id) is not False


def role_name(tenant: Tenant, role_id: str) -> str:
    """The catalogue's name, else the definition's ``displayName``, else the id."""
    info = get_role(role_template_id(tenant, role_id))
    if info is not None:
        return info.display_name
    definition = tenant.role_definitions.get(role_id.lower())
    if definition is not None and definition.get("displayName"):
        return str(definition["displayName"])
    return role_id


@dataclass(frozen=True, slots=True)
class PrivilegedHolders:
    """Privileged role grants by holder (see the module docstring)."""

    users: Mapping[str, tuple[RoleGrant, ...]]
    service_principals: Mapping[str, tuple[RoleGrant, ...]]
    unresolved: Mapping[str, tuple[RoleGrant, ...]]

    def user_ids_or_unresolved(self) -> frozenset[str]:
        """Every id that may be a privileged user: the users, and the unresolved ids (which may be users)."""
        return frozenset(self.users) | frozenset(self.unresolved)


def privileged_holders(tenant: Tenant) -> PrivilegedHolders:
    """The tenant's privileged role holders (computed once per tenant)."""
    found = tenant.derived.get(_KEY)
    if isinstance(found, PrivilegedHolders):
        return found
    flags: dict[str, bool] = {}
    users: dict[str, list[RoleGrant]] = {}
    apps: dict[str, list[RoleGrant]] = {}
    unresolved: dict[str, list[RoleGrant]] = {}
    for grant in tenant.role_grants:
        flag = flags.get(grant.role_id)
        if flag is None:
            flag = flags[grant.role_id] = is_privileged_role(tenant, grant.role_id)
        if not flag:
            continue
        pid = grant.principal_id
        if pid in tenant.users:
            users.setdefault(pid, []).append(grant)
        elif pid in tenant.service_principals:
            apps.setdefault(pid, []).append(grant)
        elif pid not in tenant.groups:
            unresolved.setdefault(pid, []).append(grant)
    holders = PrivilegedHolders(
        users=MappingProxyType({k: tuple(v) for k, v in users.items()}),
        service_principals=MappingProxyType({k: tuple(v) for k, v in apps.items()}),
        unresolved=MappingProxyType({k: tuple(v) for k, v in unresolved.items()}),
    )
    tenant.derived[_KEY] = holders
    return holders
