"""Who can sign in with a Temporary Access Pass in this tenant: computed once, shared by the TAP risks."""

from __future__ import annotations

from graphlattice.entra.tap import TapPolicy
from graphlattice.tenant.model import Tenant

_KEY = "checks.tap_scope"


def tap_usable_users(tenant: Tenant, policy: TapPolicy) -> frozenset[str]:
    """Ids of users the policy lets use a pass (whether or not they hold one), per :mod:`entra.tap`."""
    cache: dict[TapPolicy, frozenset[str]] = tenant.derived.setdefault(_KEY, {})
    found = cache.get(policy)
    if found is None:
        found = cache[policy] = policy.usable_user_ids(tenant.users.keys(), tenant.members_of)
    return found
