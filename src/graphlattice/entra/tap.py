"""Temporary Access Pass policy semantics, read from Graph's own JSON.

A pass can be *created* for any member or internal guest (never for an external guest), but only *used* by
users the policy includes (and does not exclude), only while the method is enabled, and only in the form the
policy allows *now*: a multi-use pass stops working once the policy requires one-time passes. Usability is
always judged against the current policy, so the Range, the checks and the capability graph agree. Defaults,
limits and these rules come from ``data/tap_policy.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphlattice.entra._data import load_table, require_mapping, require_str
from graphlattice.errors import EntraRuleError, InputError
from graphlattice.tenant.model import plus_minutes

__all__ = [
    "DISABLED_BY_POLICY",
    "ENABLED_BY_POLICY",
    "EXPIRED",
    "NOT_YET_VALID",
    "ONE_TIME_USED",
    "MethodTarget",
    "TapGrant",
    "TapPolicy",
    "TapPolicyViolation",
    "issue_refusal",
]

# Graph's methodUsabilityReason values.
ENABLED_BY_POLICY = "EnabledByPolicy"
DISABLED_BY_POLICY = "DisabledByPolicy"
EXPIRED = "Expired"
NOT_YET_VALID = "NotYetValid"
ONE_TIME_USED = "OneTimeUsed"

_TABLE = load_table("tap_policy")
_DEFAULTS = require_mapping(_TABLE["defaults"], "tap_policy.defaults")
_LIFETIME_LIMITS = require_mapping(
    require_mapping(_TABLE["limits"], "tap_policy.limits")["lifetimeInMinutes"], "limits"
)
_ALL_USERS = str(_TABLE["all_users_target_id"]).casefold()
_ONE_TIME_POLICY_BLOCKS_MULTI_USE = _TABLE["multi_use_blocked_by_one_time_policy"] is True
_EXTERNAL_GUEST_REFUSED = require_str(_TABLE["external_guest_refused"], "tap_policy.external_guest_refused")


class TapPolicyViolation(EntraRuleError):
    """A pass request the Temporary Access Pass policy does not allow."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(slots=True, frozen=True)
class MethodTarget:
    """An include/exclude target of an authentication method policy (``targetType`` group or user)."""

    id: str
    target_type: str

    def matches(self, user_id: str, group_ids: frozenset[str]) -> bool:
        target = self.id.casefold()
        if self.target_type.casefold() == "user":
            return target == user_id.casefold()
        return target == _ALL_USERS or target in group_ids


@dataclass(slots=True, frozen=True)
class TapGrant:
    """The pass that a create request would actually produce."""

    lifetime_in_minutes: int
    is_usable_once: bool
    length: int


@dataclass(slots=True, frozen=True)
class TapPolicy:
    """A ``temporaryAccessPassAuthenticationMethodConfiguration`` with Microsoft's defaults filled in.

    Lifetimes are in minutes, as in Graph.
    """

    state: str
    include_targets: tuple[MethodTarget, ...]
    exclude_targets: tuple[MethodTarget, ...]
    is_usable_once: bool
    default_lifetime: int
    minimum_lifetime: int
    maximum_lifetime: int
    default_length: int

    @classmethod
    def from_graph(cls, config: Mapping[str, Any] | None) -> TapPolicy:
        """Read the Graph object; a missing object or field takes the documented default."""
        config = config or {}

        def value(key: str, kind: type[Any]) -> Any:
            raw = config.get(key)
            if raw is None:
                return _DEFAULTS[key]
            if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
                raise InputError(
                    f"temporaryAccessPassAuthenticationMethodConfiguration.{key} has the wrong type"
                )
            return raw

        return cls(
            state=str(value("state", str)),
            include_targets=_targets(config.get("includeTargets"), "includeTargets"),
            exclude_targets=_targets(config.get("excludeTargets"), "excludeTargets"),
            is_usable_once=bool(value("isUsableOnce", bool)),
            default_lifetime=int(value("defaultLifetimeInMinutes", int)),
            minimum_lifetime=int(value("minimumLifetimeInMinutes", int)),
            maximum_lifetime=int(value("maximumLifetimeInMinutes", int)),
            default_length=int(value("defaultLength", int)),
        )

    @property
    def enabled(self) -> bool:
        return self.state.casefold() == "enabled"

    @property
    def includes_all_users(self) -> bool:
        return any(t.id.casefold() == _ALL_USERS for t in self.include_targets)

    @property
    def included_group_ids(self) -> frozenset[str]:
        """Specific groups in the include targets (lowercase; the ``all_users`` pseudo-group is left out)."""
        return frozenset(
            t.id.casefold()
            for t in self.include_targets
            if t.target_type.casefold() == "group" and t.id.casefold() != _ALL_USERS
        )

    def usable_by(self, user_id: str, group_ids: Collection[str]) -> bool:
        """Whether this user could sign in with a pass (``group_ids``: transitive memberships)."""
        if not self.enabled:
            return False
        groups = frozenset(g.casefold() for g in group_ids)
        included = any(t.matches(user_id, groups) for t in self.include_targets)
        return included and not any(t.matches(user_id, groups) for t in self.exclude_targets)

    def usable_user_ids(
        self, user_ids: Iterable[str], members_of: Callable[[str], Collection[str]]
    ) -> frozenset[str]:
        """The same rule as :meth:`usable_by`, for a whole tenant at once, by set arithmetic.

        ``user_ids``: every user to consider (lowercase ids); ``members_of(group_id)``: a group's transitive
        user members (lowercase ids). Costs one pass over the targeted groups instead of one per user.
        """
        if not self.enabled:
            return frozenset()
        everyone = {u.casefold() for u in user_ids}
        usable: set[str] = set()
        for target in self.include_targets:
            tid = target.id.casefold()
            if target.target_type.casefold() == "user":
                usable.add(tid)
            elif tid == _ALL_USERS:
                usable |= everyone
            else:
                usable.update(m.casefold() for m in members_of(tid))
        usable &= everyone
        for target in self.exclude_targets:
            tid = target.id.casefold()
            if target.target_type.casefold() == "user":
                usable.discard(tid)
            elif tid == _ALL_USERS:
                return frozenset()
            else:
                usable.difference_update(m.casefold() for m in members_of(tid))
        return frozenset(usable)

    def resolve_request(self, lifetime_in_minutes: int | None, is_usable_once: bool | None) -> TapGrant:
        """Apply the policy to a create request; raise :class:`TapPolicyViolation` when it is refused."""
        if not self.enabled:
            raise TapPolicyViolation("Temporary Access Pass is disabled in the authentication methods policy")
        lifetime = self.default_lifetime if lifetime_in_minutes is None else lifetime_in_minutes
        low = max(self.minimum_lifetime, int(_LIFETIME_LIMITS["min"]))
        high = min(self.maximum_lifetime, int(_LIFETIME_LIMITS["max"]))
        if not low <= lifetime <= high:
            raise TapPolicyViolation(
                f"A lifetime of {lifetime} minutes is outside the policy's range of {low} to {high} minutes"
            )
        once = self.is_usable_once if is_usable_once is None else is_usable_once
        if self.is_usable_once and not once:
            raise TapPolicyViolation(
                "The policy allows only one-time passes, but a multi-use pass was requested"
            )
        return TapGrant(lifetime_in_minutes=lifetime, is_usable_once=once, length=self.default_length)

    def pass_status(
        self, method: Mapping[str, Any], user_id: str, group_ids: Collection[str], now: datetime
    ) -> str:
        """Graph's ``methodUsabilityReason`` for a user's pass at ``now``.

        ``OneTimeUsed`` cannot be computed and is taken from the record (``isUsable`` false with that reason).
        Otherwise time comes first: ``Expired`` once the lifetime has run out, ``NotYetValid`` before
        ``startDateTime``, then ``DisabledByPolicy`` when the policy as it stands now does not let this user
        use this pass: the method is off, the user is outside its targets, or the pass is multi-use while the
        policy requires one-time passes.
        """
        reason = method.get("methodUsabilityReason")
        if method.get("isUsable") is False and isinstance(reason, str) and reason.casefold() == "onetimeused":
            return ONE_TIME_USED
        start = _parse_time(method.get("startDateTime")) or _parse_time(method.get("createdDateTime"))
        lifetime = method.get("lifetimeInMinutes")
        if start is None or not isinstance(lifetime, int) or isinstance(lifetime, bool):
            raise InputError(
                "temporaryAccessPassAuthenticationMethod needs startDateTime and lifetimeInMinutes"
            )
        moment = now if now.tzinfo else now.replace(tzinfo=UTC)
        if moment >= plus_minutes(start, lifetime):
            return EXPIRED
        if moment < start:
            return NOT_YET_VALID
        if not self.usable_by(user_id, group_ids) or not self.allows_form(method):
            return DISABLED_BY_POLICY
        return ENABLED_BY_POLICY

    def allows_form(self, method: Mapping[str, Any]) -> bool:
        """Whether the policy, as it is now, accepts a pass of this form (one-time or multi-use)."""
        if not (_ONE_TIME_POLICY_BLOCKS_MULTI_USE and self.is_usable_once):
            return True
        once = method.get("isUsableOnce")
        if not isinstance(once, bool):
            raise InputError(
                "temporaryAccessPassAuthenticationMethod needs isUsableOnce when the policy requires "
                "one-time passes"
            )
        return once


def issue_refusal(user: Mapping[str, Any]) -> str | None:
    """Entra's refusal when a pass is created for this account (a Graph ``user``), or None when allowed.

    Members and internal guests may be given a pass; an external guest (``userType`` Guest with an external
    identity: an ``#EXT#`` user principal name, an ``externalUserState`` or ``creationType`` Invitation)
    may not.
    """
    if str(user.get("userType") or "").casefold() != "guest":
        return None
    upn = str(user.get("userPrincipalName") or "")
    external = (
        "#ext#" in upn.casefold()
        or bool(user.get("externalUserState"))
        or str(user.get("creationType") or "").casefold() == "invitation"
    )
    return _EXTERNAL_GUEST_REFUSED if external else None


def _targets(raw: Any, field: str) -> tuple[MethodTarget, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"temporaryAccessPassAuthenticationMethodConfiguration.{field} is not a list")
    found = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise InputError(
                f"temporaryAccessPassAuthenticationMethodConfiguration.{field} has an entry without id"
            )
        found.append(MethodTarget(id=item["id"], target_type=str(item.get("targetType") or "group")))
    return tuple(found)


def _parse_time(raw: Any) -> datetime | None:
    """Parse a Graph timestamp (ISO 8601, ``Z`` suffix, up to 7 fractional digits) as an aware datetime."""
    if not isinstance(raw, str) or not raw:
        return None
    text = raw.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = head + "." + tail[:digits][:6].ljust(6, "0") + tail[digits:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"not an ISO 8601 timestamp: {raw!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
