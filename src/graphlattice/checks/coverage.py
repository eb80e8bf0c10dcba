"""The gaps the checks share, worded once: what part of a risk's scope could not be covered, and why.

A check lists its gaps on the finding it returns; :func:`graphlattice.checks.engine.settle` then applies the
one coverage rule (a FAIL stays FAIL and states the gaps, a PASS becomes UNKNOWN naming them).
"""

from __future__ import annotations

from collections.abc import Sequence

from graphlattice.checks.methods_view import METHOD_GRANTS
from graphlattice.checks.result import Cause, Gap
from graphlattice.checks.text import name_list, plural
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.model import Tenant

__all__ = [
    "collection_cause",
    "method_gaps",
    "standing_gap",
    "unread_gap",
    "unresolved_gap",
    "unresolved_members",
]

_SHOWN = 5


def collection_cause(tenant: Tenant, name: str) -> Cause:
    """Why a collection is unavailable: its file is absent, or the collector recorded an error."""
    return Cause.NOT_COLLECTED if name in tenant.not_collected else Cause.PERMISSION


def unread_gap(tenant: Tenant, name: str, consequence: str) -> Gap:
    """``name`` could not be read, so ``consequence`` (e.g. "PIM-eligible admins are missing")."""
    why = tenant.errors.get(name, "not collected")
    return Gap(
        f"{name} could not be read ({why}): {consequence}",
        collection_cause(tenant, name),
        (COLLECTIONS[name].permission,),
    )


def standing_gap(tenant: Tenant, user_ids: Sequence[str], who: str = "user") -> Gap | None:
    """Users whose ``accountEnabled`` or ``userType`` the snapshot lacks: they cannot be told apart from
    disabled accounts or guests, so they are neither counted as clean nor as failing."""
    if not user_ids:
        return None
    return Gap(
        f"{plural(len(user_ids), who)} cannot be told enabled or disabled, member or guest "
        f"({name_list(tenant, user_ids, _SHOWN)}): users.json has no accountEnabled or userType for them "
        f"(export users with {COLLECTIONS['users'].request})"
    )


def unresolved_gap(
    tenant: Tenant, principal_ids: Sequence[str], what: str, who: str = "role holder"
) -> Gap | None:
    """Principals (role holders, group members) found in neither users, groups nor service principals;
    ``what`` says what is unknown about them."""
    if not principal_ids:
        return None
    ids = sorted(set(principal_ids))
    shown = ", ".join(ids[:_SHOWN]) + (f" and {len(ids) - _SHOWN:,} more" if len(ids) > _SHOWN else "")
    return Gap(
        f"{plural(len(ids), who)} found in neither users, groups nor service principals "
        f"({shown}; {tenant.unresolved_hint()}): {what}",
        grant=tuple(COLLECTIONS[n].permission for n in tenant.principal_collections_unread()),
    )


def method_gaps(tenant: Tenant, no_data: Sequence[str], unrecognised: Sequence[str], who: str) -> list[Gap]:
    """Users in neither method source, and users whose methods this version cannot classify."""
    gaps: list[Gap] = []
    if no_data:
        gaps.append(
            Gap(
                f"{plural(len(no_data), f'{who} appears', f'{who}s appear')} in neither per-user methods nor "
                "the registration report "
                f"({name_list(tenant, no_data, _SHOWN)})",
                grant=METHOD_GRANTS,
            )
        )
    if unrecognised:
        gaps.append(
            Gap(
                f"{plural(len(unrecognised), f'{who} has', f'{who}s have')} method types this version does "
                "not recognise "
                f"({name_list(tenant, unrecognised, _SHOWN)})",
                Cause.DATA,
            )
        )
    return gaps


def unresolved_members(tenant: Tenant, group_id: str) -> list[str]:
    """Transitive members of a group that the snapshot cannot resolve (a truncated users.json)."""
    return sorted(m for m in tenant.members_of(group_id) if not tenant.resolves(m))
