"""Built-in Entra roles: template-id constants and the catalogue loaded from ``data/roles.yaml``.

Role ids are compared case-insensitively everywhere; the catalogue is keyed by the lowercase template id.
A role id the catalogue does not know (a custom role, or a built-in role newer than the catalogue) is
*unknown*: :func:`is_privileged` answers ``None`` for it, never ``False``, so a caller cannot mistake it for a
harmless role without saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.errors import EntraRuleError

__all__ = [
    "APPLICATION_ADMINISTRATOR",
    "AUTHENTICATION_ADMINISTRATOR",
    "AUTHENTICATION_POLICY_ADMINISTRATOR",
    "CLOUD_APPLICATION_ADMINISTRATOR",
    "CONDITIONAL_ACCESS_ADMINISTRATOR",
    "DIRECTORY_READERS",
    "ENTRA_SOC_IDENTITY_RESPONDER",
    "GLOBAL_ADMINISTRATOR",
    "GLOBAL_READER",
    "GROUPS_ADMINISTRATOR",
    "GUEST_INVITER",
    "HELPDESK_ADMINISTRATOR",
    "HYBRID_IDENTITY_ADMINISTRATOR",
    "MESSAGE_CENTER_READER",
    "PARTNER_TIER1_SUPPORT",
    "PARTNER_TIER2_SUPPORT",
    "PASSWORD_ADMINISTRATOR",
    "PRIVILEGED_AUTHENTICATION_ADMINISTRATOR",
    "PRIVILEGED_ROLE_ADMINISTRATOR",
    "REPORTS_READER",
    "ROLE_CATALOG",
    "SECURITY_ADMINISTRATOR",
    "SECURITY_OPERATOR",
    "SECURITY_READER",
    "TAP_ISSUER_ROLES",
    "USAGE_SUMMARY_REPORTS_READER",
    "USER_ADMINISTRATOR",
    "USER_EXPERIENCE_SUCCESS_MANAGER",
    "RoleInfo",
    "get_role",
    "is_privileged",
    "role_display_name",
]

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
AUTHENTICATION_ADMINISTRATOR = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
AUTHENTICATION_POLICY_ADMINISTRATOR = "0526716b-113d-4c15-b2c8-68e3c22b9f80"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
PASSWORD_ADMINISTRATOR = "966707d0-3269-4727-9be2-8c3a10f19b9d"
CONDITIONAL_ACCESS_ADMINISTRATOR = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
SECURITY_OPERATOR = "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f"
REPORTS_READER = "4a5d8f65-41da-4de4-8968-e035b65339cf"
GROUPS_ADMINISTRATOR = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
GUEST_INVITER = "95e79109-95c0-4d8e-aee3-d01accf2d47b"
MESSAGE_CENTER_READER = "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b"
USER_EXPERIENCE_SUCCESS_MANAGER = "27460883-1df1-4691-b032-3b79643e5e63"
USAGE_SUMMARY_REPORTS_READER = "75934031-6c7e-415a-99d7-48dbd49e875e"
HYBRID_IDENTITY_ADMINISTRATOR = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
CLOUD_APPLICATION_ADMINISTRATOR = "158c047a-c907-4556-b7ef-446551a6b5f7"
ENTRA_SOC_IDENTITY_RESPONDER = "58f930cc-fcf4-4152-852c-1d7dbf502139"
PARTNER_TIER1_SUPPORT = "4ba39ca4-527c-499a-b93d-d9b492c50246"
PARTNER_TIER2_SUPPORT = "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8"


@dataclass(slots=True, frozen=True)
class RoleInfo:
    """One built-in role: template id (lowercase), display name, Microsoft's PRIVILEGED label, a summary."""

    template_id: str
    display_name: str
    privileged: bool
    description: str


def _load_catalog() -> Mapping[str, RoleInfo]:
    table = load_table("roles")
    catalog: dict[str, RoleInfo] = {}
    for row in require_list(table["roles"], "roles.roles"):
        row = require_mapping(row, "roles.roles[]")
        template_id = require_str(row.get("id"), "roles.roles[].id").casefold()
        if template_id in catalog:
            raise EntraRuleError(f"roles.yaml lists role {template_id} twice")
        privileged = row.get("privileged")
        if not isinstance(privileged, bool):
            raise EntraRuleError(f"roles.yaml role {template_id}: privileged must be true or false")
        if "source" in row:
            require_str(row["source"], f"roles.yaml role {template_id}.source")
        catalog[template_id] = RoleInfo(
            template_id=template_id,
            display_name=require_str(row.get("name"), f"roles.yaml role {template_id}.name"),
            privileged=privileged,
            description=require_str(row.get("description"), f"roles.yaml role {template_id}.description"),
        )
    return MappingProxyType(catalog)


ROLE_CATALOG: Mapping[str, RoleInfo] = _load_catalog()
"""Every built-in role, keyed by lowercase template id."""

TAP_ISSUER_ROLES: frozenset[str] = frozenset(
    {GLOBAL_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, AUTHENTICATION_ADMINISTRATOR}
)
"""Roles that can create a Temporary Access Pass for another user (which users: see ``authority``)."""


def get_role(template_id: str) -> RoleInfo | None:
    return ROLE_CATALOG.get(template_id.strip().casefold())


def role_display_name(template_id: str) -> str:
    """The role's display name, or the id itself for a custom or unknown role."""
    info = get_role(template_id)
    return info.display_name if info else template_id


def is_privileged(template_id: str) -> bool | None:
    """Microsoft's PRIVILEGED label, or ``None`` when the id is not in the built-in catalogue (unknown: a
    custom role or a newer built-in one). Callers decide what unknown means and say so; it is never False."""
    info = get_role(template_id)
    return info.privileged if info else None
