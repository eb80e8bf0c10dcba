"""Small wording helpers shared by the checks' summaries, reasons and pre-check answers."""

from __future__ import annotations

from collections.abc import Iterable

from graphlattice.entra.roles import is_privileged, role_display_name
from graphlattice.tenant.model import Tenant

_HOW = {"standing": "active", "activated": "activated", "eligible": "eligible"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 user`` / ``3 users`` (with thousands separators)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def name_list(tenant: Tenant, ids: Iterable[str], limit: int = 5, *, sort: bool = False) -> str:
    """``Ann, Bob, Carl and 12 more``: a few display names, and how many were left out."""
    unique = list(dict.fromkeys(ids))
    if sort:
        unique.sort(key=lambda i: tenant.display_name(i).casefold())
    shown = ", ".join(tenant.display_name(i) for i in unique[:limit])
    rest = len(unique) - limit
    return f"{shown} and {rest:,} more" if rest > 0 else shown


def privileged_role_labels(tenant: Tenant, user_id: str) -> list[str]:
    """Privileged roles a user holds in any form, e.g. ``Global Administrator (eligible, via group X)``."""
    labels: list[str] = []
    for grant in tenant.grants_of(user_id):
        if not is_privileged(grant.role_id):
            continue
        how = _HOW[grant.kind]
        if grant.via_group_id:
            how += f", via group {tenant.display_name(grant.via_group_id)}"
        if not grant.tenant_wide:
            how += f", scope {grant.scope}"
        label = f"{role_display_name(grant.role_id)} ({how})"
        if label not in labels:
            labels.append(label)
    return labels
