"""What the checks know about a role id found in a tenant: its name and whether it is privileged.

A role assignment names a role definition id. For a built-in role that id is the template id the catalogue
(:mod:`graphlattice.entra.roles`) knows; a custom role has its own id, and only its definition (collected as
``roleDefinitions``, where Graph beta adds ``isPrivileged``) can say more. A role that neither the catalogue
nor the tenant's definition describes is **unknown**: a check never counts it as harmless. It is treated as
privileged and named as unknown, so the reader sees why the holder is listed.
"""

from __future__ import annotations

from graphlattice.entra.roles import get_role, is_privileged
from graphlattice.tenant.model import Tenant

__all__ = ["UNKNOWN_ROLE_NOTE", "role_name", "role_privilege", "template_id", "treated_as_privileged"]

UNKNOWN_ROLE_NOTE = (
    "not in the built-in role catalogue and not labelled by its definition: treated as privileged"
)


def template_id(tenant: Tenant, role_id: str) -> str:
    """The role's template id (lowercase): the definition's ``templateId``, else the id itself."""
    definition = tenant.role_definitions.get(role_id)
    template = definition.get("templateId") if definition is not None else None
    return str(template).lower() if template else role_id.lower()


def role_privilege(tenant: Tenant, role_id: str) -> bool | None:
    """Microsoft's PRIVILEGED label for the role: the catalogue for built-in roles, the definition's own
    ``isPrivileged`` for a custom one, ``None`` when neither says (unknown)."""
    known = is_privileged(template_id(tenant, role_id))
    if known is not None:
        return known
    definition = tenant.role_definitions.get(role_id)
    flag = definition.get("isPrivileged") if definition is not None else None
    return flag if isinstance(flag, bool) else None


def treated_as_privileged(tenant: Tenant, role_id: str) -> bool:
    """Privileged, or unknown (never assumed harmless)."""
    return role_privilege(tenant, role_id) is not False


def role_name(tenant: Tenant, role_id: str) -> str:
    """The catalogue's name, else the definition's ``displayName``, else the id."""
    info = get_role(template_id(tenant, role_id))
    if info is not None:
        return info.display_name
    definition = tenant.role_definitions.get(role_id)
    if definition is not None and definition.get("displayName"):
        return str(definition["displayName"])
    return role_id
