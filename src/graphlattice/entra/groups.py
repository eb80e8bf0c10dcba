"""Who can change the membership of a group.

Sources (Microsoft Entra documentation):

* Role-assignable groups: "Only Global Administrators, Privileged Role Administrators, or the group's owners
  can manage" them, and "by default, Privileged Role Administrator manages the membership of a role-assignable
  group, but you can delegate the management of role-assignable groups by adding group owners"
  (MicrosoftDocs/entra-docs docs/identity/role-based-access-control/groups-concept.md and
  groups-faq-troubleshooting.yml). Their permission is ``microsoft.directory/groupsAssignableToRoles/...``,
  held by Global Administrator and Privileged Role Administrator only.
* Other groups, from the built-in role permissions in docs/identity/role-based-access-control/
  permissions-reference.md: ``microsoft.directory/groups/members/update`` (any group that is not
  role-assignable) — Directory Writers, Groups Administrator, Identity Governance Administrator, User
  Administrator and the deprecated Partner Tier1/Tier2 Support roles; ``microsoft.directory/groups.security/
  members/update`` (security groups) — Intune Administrator, Knowledge Administrator, Knowledge Manager,
  Windows 365 Administrator; ``microsoft.directory/groups.unified/members/update`` (Microsoft 365 groups) —
  Exchange Administrator, SharePoint Administrator, SharePoint Advanced Management Administrator, Teams
  Administrator, Yammer (Viva Engage) Administrator. Global Administrator holds
  ``microsoft.directory/groups/allProperties/allTasks``. Owners manage the members of groups they own.
* Dynamic groups (``groupTypes`` contains ``DynamicMembership``): members come from ``membershipRule``; nobody
  adds them by hand, but whoever can edit the rule or the attributes it reads decides membership
  (docs/identity/users/groups-dynamic-membership.md).
* A public Microsoft 365 group (``visibility`` ``Public``) can be joined by any member of the organisation
  without approval (docs/identity/users/groups-self-service-management.md).

Role-scoped assignments (administrative units) are not modelled: roles count at tenant scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphlattice.entra import roles as r

__all__ = ["MembershipControl", "membership_control"]

_ROLE_ASSIGNABLE = frozenset({r.GLOBAL_ADMINISTRATOR, r.PRIVILEGED_ROLE_ADMINISTRATOR})
_ANY_GROUP = frozenset(
    {
        r.GLOBAL_ADMINISTRATOR,
        "9360feb5-f418-4baa-8175-e2a00bac4301",  # Directory Writers
        r.GROUPS_ADMINISTRATOR,
        "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e",  # Identity Governance Administrator
        r.USER_ADMINISTRATOR,
        "4ba39ca4-527c-499a-b93d-d9b492c50246",  # Partner Tier1 Support (deprecated)
        "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8",  # Partner Tier2 Support (deprecated)
    }
)
_SECURITY_GROUPS = frozenset(
    {
        "3a2c62db-5318-420d-8d74-23affee5d9d5",  # Intune Administrator
        "b5a8dcf3-09d5-43a9-a639-8e29ef291470",  # Knowledge Administrator
        "744ec460-397e-42ad-a462-8b3f9747a02c",  # Knowledge Manager
        "11451d60-acb2-45eb-a7d6-43d0f0125c13",  # Windows 365 Administrator
    }
)
_UNIFIED_GROUPS = frozenset(
    {
        "29232cdf-9323-42fd-ade2-1d097af3e4de",  # Exchange Administrator
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",  # SharePoint Administrator
        "99009c4a-3b3f-4957-82a9-9d35e12db77e",  # SharePoint Advanced Management Administrator
        "69091246-20e8-4a56-aa4d-066075b2a7a8",  # Teams Administrator
        "810a2642-a034-447f-a5e8-41beaa378541",  # Yammer Administrator
    }
)


@dataclass(frozen=True, slots=True)
class MembershipControl:
    """How a group's membership can change: roles (template ids) that may edit it, whether its owners may
    (the members, or the rule of a dynamic group), whether any member of the organisation may join on their
    own, and the dynamic rule if there is one."""

    role_ids: frozenset[str]
    owners_can_edit: bool
    self_join: bool
    dynamic_rule: str | None


def membership_control(group: Mapping[str, Any]) -> MembershipControl:
    """Read a Graph ``group`` object (``isAssignableToRole``, ``groupTypes``, ``securityEnabled``, ...)."""
    types = {str(t).casefold() for t in group.get("groupTypes") or () if isinstance(t, str)}
    dynamic = "dynamicmembership" in types
    rule = group.get("membershipRule")
    allowed: set[str] = set()
    if group.get("isAssignableToRole") is True:
        allowed |= _ROLE_ASSIGNABLE
    else:
        allowed |= _ANY_GROUP
        if group.get("securityEnabled") is True:
            allowed |= _SECURITY_GROUPS
        if "unified" in types:
            allowed |= _UNIFIED_GROUPS
    public = "unified" in types and str(group.get("visibility") or "").casefold() == "public"
    return MembershipControl(
        role_ids=frozenset(allowed),
        owners_can_edit=True,  # owners edit the members, or the rule of a dynamic group
        self_join=public and not dynamic and group.get("isAssignableToRole") is not True,
        dynamic_rule=str(rule) if dynamic and isinstance(rule, str) and rule else None,
    )
