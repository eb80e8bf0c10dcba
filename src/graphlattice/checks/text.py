"""Small wording helpers shared by the checks' summaries, reasons and pre-check answers."""

from __future__ import annotations

from collections.abc import Iterable

from graphlattice.checks.role_facts import UNKNOWN_ROLE_NOTE, role_name, role_privilege
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
    """Privileged roles a user holds in any form, e.g. ``Global Administrator (eligible, via group X)``.

    A role whose privilege is unknown (not in the catalogue, not labelled by its definition) is listed too,
    with a note saying so: it is never taken for harmless.
    """
    labels: list[str] = []
    for grant in tenant.grants_of(user_id):
        privileged = role_privilege(tenant, grant.role_id)
        if privileged is False:
            continue
        how = _HOW[grant.kind]
        if grant.via_group_id:
            how += f", via group {tenant.display_name(grant.via_group_id)}"
        if not grant.tenant_wide:
            how += f", scope {grant.scope}"
        if privileged is None:
            how += f"; {UNKNOWN_ROLE_NOTE}"
        label = f"{role_name(tenant, grant.role_id)} ({how})"
        if label not in labels:
            labels.append(label)
    return labels
