"""Which authentication methods each user has: one merged, classified view shared by the MFA risks.

Two collections say what a user has registered:

* ``authenticationMethods`` — the per-user ``/users/{id}/authentication/methods`` objects. Authoritative for
  every user it contains (a collector may read it for a subset only, e.g. privileged users).
* ``userRegistrationDetails`` — the ``methodsRegistered`` strings of the registration report. It covers the
  whole tenant but lags by hours; it is used for users whose methods were not read.

A user found in neither is *not evaluated*. Classification itself (is a method MFA-capable,
phishing-resistant, a weak phone factor) belongs to :mod:`graphlattice.entra.methods`; this module only merges
the two sources and ranks what a user has. A method ``entra.methods`` does not recognise makes the result
*uncertain*: the user might hold something stronger than what we can see, so checks report them as unknown
rather than failing.

The view is computed lazily, user by user, and kept on the tenant so the checks that share it classify each
user once per assessment.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from functools import lru_cache
from typing import Any, Protocol

from graphlattice.checks.context import NotEvaluable
from graphlattice.checks.text import name_list, plural
from graphlattice.entra.method_policy import MethodConfiguration
from graphlattice.entra.methods import MethodKind, classify_method, classify_registered, odata_type_name
from graphlattice.entra.tap import TapPolicy
from graphlattice.errors import InputError
from graphlattice.tenant.model import Tenant

__all__ = [
    "METHOD_GRANTS",
    "MethodsView",
    "Reach",
    "Source",
    "Tier",
    "UserMethods",
    "method_label",
    "method_reach",
    "methods_view",
    "name_list",
    "plural",
]

# Permissions that read each source, for "not evaluated" results.
METHOD_GRANTS: tuple[str, ...] = ("UserAuthenticationMethod.Read.All", "AuditLog.Read.All")
_NOBODY = "nobody"  # the scope of a method configuration without include targets


class Source(StrEnum):
    METHODS = "authenticationMethods"
    REGISTRATION = "userRegistrationDetails"
    NONE = "none"


class Tier(IntEnum):
    """The best second factor a user is known to hold, weakest first."""

    NONE = 0  # no second factor at all (password, e-mail, security questions, a Temporary Access Pass only)
    WEAK = 1  # only phone-delivered codes or calls (SMS, voice)
    PHISHABLE = 2  # a stronger factor (Authenticator, OATH, external MFA) but nothing phishing-resistant
    PHISHING_RESISTANT = 3  # passkey / FIDO2, Windows Hello, platform credential, certificate


_LABELS: dict[MethodKind, str] = {
    MethodKind.PASSWORD: "password",
    MethodKind.EMAIL: "e-mail (password reset only)",
    MethodKind.PHONE_MOBILE: "mobile phone (SMS/voice)",
    MethodKind.PHONE_VOICE: "office or alternate phone (voice)",
    MethodKind.MICROSOFT_AUTHENTICATOR_PUSH: "Microsoft Authenticator (push)",
    MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS: "Microsoft Authenticator (passwordless phone sign-in)",
    MethodKind.SOFTWARE_OATH: "software OATH token",
    MethodKind.HARDWARE_OATH: "hardware OATH token",
    MethodKind.FIDO2: "passkey (FIDO2)",
    MethodKind.WINDOWS_HELLO_FOR_BUSINESS: "Windows Hello for Business",
    MethodKind.PLATFORM_CREDENTIAL: "platform credential",
    MethodKind.X509_CERTIFICATE: "certificate",
    MethodKind.TEMPORARY_ACCESS_PASS: "Temporary Access Pass",
    MethodKind.SECURITY_QUESTION: "security questions",
    MethodKind.EXTERNAL: "external MFA provider",
}

# Display order: strongest first, so details read "passkey (FIDO2), Microsoft Authenticator (push), password".
_ORDER: dict[MethodKind, int] = {
    kind: index
    for index, kind in enumerate(
        (
            MethodKind.FIDO2,
            MethodKind.WINDOWS_HELLO_FOR_BUSINESS,
            MethodKind.PLATFORM_CREDENTIAL,
            MethodKind.X509_CERTIFICATE,
            MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
            MethodKind.MICROSOFT_AUTHENTICATOR_PUSH,
            MethodKind.HARDWARE_OATH,
            MethodKind.SOFTWARE_OATH,
            MethodKind.EXTERNAL,
            MethodKind.PHONE_MOBILE,
            MethodKind.PHONE_VOICE,
            MethodKind.TEMPORARY_ACCESS_PASS,
            MethodKind.EMAIL,
            MethodKind.SECURITY_QUESTION,
            MethodKind.PASSWORD,
        )
    )
}


def method_label(kind: MethodKind) -> str:
    return _LABELS.get(kind, kind.value)


@lru_cache(maxsize=4096)
def _factors_and_tier(kinds: frozenset[MethodKind]) -> tuple[frozenset[MethodKind], Tier]:
    factors = frozenset(k for k in kinds if k.is_mfa_capable and k is not MethodKind.TEMPORARY_ACCESS_PASS)
    if not factors:
        return factors, Tier.NONE
    if any(k.is_phishing_resistant for k in factors):
        return factors, Tier.PHISHING_RESISTANT
    if all(k.is_weak_second_factor for k in factors):
        return factors, Tier.WEAK
    return factors, Tier.PHISHABLE


@dataclass(frozen=True, slots=True)
class UserMethods:
    """What one user has registered, as far as the snapshot tells (users with equal methods share one)."""

    source: Source
    kinds: frozenset[MethodKind]  # recognised methods (never MethodKind.UNKNOWN)
    unrecognised: tuple[str, ...] = ()  # raw names/types of methods entra.methods could not classify
    sms_sign_in_ready: bool = False  # a phone method reports smsSignInState "ready" (per-user methods only)
    # The Temporary Access Pass object when per-user methods were read (Graph keeps at most one per user).
    pass_method: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def evaluated(self) -> bool:
        return self.source is not Source.NONE

    @property
    def uncertain(self) -> bool:
        """An unclassified method might be a stronger factor than the ones we recognise."""
        return bool(self.unrecognised)

    @property
    def second_factors(self) -> frozenset[MethodKind]:
        """MFA-capable methods except a Temporary Access Pass (a bootstrap credential that expires)."""
        return _factors_and_tier(self.kinds)[0]

    @property
    def has_pass(self) -> bool:
        return MethodKind.TEMPORARY_ACCESS_PASS in self.kinds

    @property
    def tier(self) -> Tier:
        """The best tier among recognised methods (see :attr:`uncertain` for whether it could be higher)."""
        return _factors_and_tier(self.kinds)[1]

    def decided_below(self, tier: Tier) -> bool | None:
        """Whether the user's best factor is below ``tier``; None when that cannot be told."""
        if not self.evaluated:
            return None
        if self.tier >= tier:
            return False
        return None if self.uncertain else True

    def labels(self) -> list[str]:
        ordered = sorted(self.kinds, key=lambda k: _ORDER.get(k, len(_ORDER)))
        return [method_label(k) for k in ordered] + [f"unrecognised '{name}'" for name in self.unrecognised]

    def describe(self) -> str:
        """Short text for reports: the methods, or why there are none, and where we read them."""
        listed = self.labels()
        where = "per-user methods" if self.source is Source.METHODS else "registration report"
        if not self.evaluated:
            return "methods not read"
        if not listed:
            return f"no methods registered ({where})"
        return f"{', '.join(listed)} ({where})"


class MethodsView:
    """Lazily classified methods per user; build with :func:`methods_view` to share one per tenant."""

    def __init__(self, tenant: Tenant) -> None:
        self._methods = tenant.methods if tenant.available.get(Source.METHODS.value, False) else {}
        self._registration = (
            tenant.registration if tenant.available.get(Source.REGISTRATION.value, False) else {}
        )
        self.methods_available = tenant.available.get(Source.METHODS.value, False)
        self.registration_available = tenant.available.get(Source.REGISTRATION.value, False)
        self._cache: dict[str, UserMethods] = {}
        self._by_registered: dict[tuple[Any, ...], UserMethods] = {}
        self._groups: dict[str, frozenset[str]] = {}
        self._tenant = tenant

    @property
    def any_source(self) -> bool:
        return self.methods_available or self.registration_available

    def require_source(self, tenant: Tenant) -> None:
        """Raise :class:`NotEvaluable` when neither method source could be read."""
        if self.any_source:
            return
        why = "; ".join(tenant.errors.get(s.value, "not collected") for s in Source if s is not Source.NONE)
        raise NotEvaluable(
            f"neither per-user authentication methods nor userRegistrationDetails could be read ({why})",
            grant=METHOD_GRANTS,
        )

    def sources(self) -> dict[str, bool]:
        return {
            Source.METHODS.value: self.methods_available,
            Source.REGISTRATION.value: self.registration_available,
        }

    def groups_of(self, user_id: str) -> frozenset[str]:
        """Transitive groups of a user, remembered for the other checks that ask about the same user."""
        found = self._groups.get(user_id)
        if found is None:
            found = self._groups[user_id] = self._tenant.groups_of(user_id)
        return found

    def of(self, user_id: str) -> UserMethods:
        found = self._cache.get(user_id)
        if found is None:
            found = self._build(user_id)
            self._cache[user_id] = found
        return found

    def _build(self, user_id: str) -> UserMethods:
        objects = self._methods.get(user_id)
        if objects is not None:
            return _from_objects(objects, classify_method)
        details = self._registration.get(user_id)
        if details is not None:
            return self._from_registration(details)
        return _NOT_READ

    def _from_registration(self, details: Mapping[str, Any]) -> UserMethods:
        names = details.get("methodsRegistered")
        if not isinstance(names, list):
            # No usable list: the report row says nothing about methods, so the user is not evaluated.
            return _NOT_READ
        try:
            key = tuple(names)
            found = self._by_registered.get(key)
        except TypeError:  # an unhashable entry: compare its text instead
            key = tuple(str(name) for name in names)
            found = self._by_registered.get(key)
        if found is None:
            kinds: set[MethodKind] = set()
            unrecognised: list[str] = []
            for name in key:
                text = str(name)
                kind = classify_registered(text)
                if kind is MethodKind.UNKNOWN:
                    unrecognised.append(text)
                else:
                    kinds.add(kind)
            found = UserMethods(Source.REGISTRATION, frozenset(kinds), tuple(unrecognised))
            self._by_registered[key] = found
        return found


_NOT_READ = UserMethods(Source.NONE, frozenset())


def _from_objects(
    objects: list[Mapping[str, Any]], classify: Callable[[Mapping[str, Any]], MethodKind]
) -> UserMethods:
    kinds: set[MethodKind] = set()
    unrecognised: list[str] = []
    sms_ready = False
    pass_method: Mapping[str, Any] | None = None
    for obj in objects:
        kind = classify(obj)
        if kind is MethodKind.UNKNOWN:
            name = odata_type_name(obj) or "(no @odata.type)"
            phone_type = obj.get("phoneType")
            unrecognised.append(f"{name} phoneType={phone_type}" if phone_type is not None else name)
            continue
        kinds.add(kind)
        if kind is MethodKind.TEMPORARY_ACCESS_PASS:
            pass_method = obj
        if kind is MethodKind.PHONE_MOBILE and str(obj.get("smsSignInState", "")).lower() == "ready":
            sms_ready = True
    return UserMethods(Source.METHODS, frozenset(kinds), tuple(unrecognised), sms_ready, pass_method)


_VIEW_KEY = "checks.methods_view"


def methods_view(tenant: Tenant) -> MethodsView:
    """The tenant's shared view (created on first use, then reused by every check of the assessment)."""
    view = tenant.derived.get(_VIEW_KEY)
    if not isinstance(view, MethodsView):
        view = MethodsView(tenant)
        tenant.derived[_VIEW_KEY] = view
    return view


# ---- helpers for the "checks before taking action" ---------------------------------------------------------


class _Targeted(Protocol):
    @property
    def enabled(self) -> bool: ...

    @property
    def includes_all_users(self) -> bool: ...

    def usable_by(self, user_id: str, group_ids: Collection[str]) -> bool: ...


@dataclass(slots=True)
class Reach:
    """Whether a method in the authentication methods policy covers a set of users."""

    label: str
    known: bool  # False when it cannot be computed (see ``reason``)
    reason: str = ""
    enabled: bool = False
    scope: str = ""  # "all users" or "3 groups/users"
    usable: list[str] = field(default_factory=list)
    not_usable: list[str] = field(default_factory=list)

    def state(self) -> str:
        """``Passkeys (FIDO2): enabled for all users`` without any per-user figures."""
        if not self.known:
            return f"{self.label}: unknown — {self.reason}."
        if not self.enabled:
            return f"{self.label}: disabled in the authentication methods policy."
        if self.scope == _NOBODY:
            return f"{self.label}: not enabled for anyone (no include target)."
        return f"{self.label}: enabled for {self.scope}."

    def answer(self, tenant: Tenant, who: str) -> str:
        """One sentence: enabled or not, for whom, and which of ``who`` it does not reach (named)."""
        if not self.known:
            return f"{self.label}: unknown — {self.reason}."
        if not self.enabled:
            return f"{self.label}: disabled in the authentication methods policy."
        if self.scope == _NOBODY:
            return f"{self.label}: not enabled for anyone (no include target)."
        total = len(self.usable) + len(self.not_usable)
        text = f"{self.label}: enabled for {self.scope}; usable by {len(self.usable):,} of {total:,} {who}"
        if self.not_usable:
            text += f"; not usable by {name_list(tenant, self.not_usable)}"
        return text + "."

    def to_json(self) -> dict[str, Any]:
        if not self.known:
            return {"known": False, "reason": self.reason}
        return {
            "known": True,
            "enabled": self.enabled,
            "usable": len(self.usable),
            "notUsable": len(self.not_usable),
        }


def _scope(tenant: Tenant, include_all: bool, targets: Iterable[Any]) -> str:
    if include_all:
        return "all users"
    names = [tenant.display_name(t.id) for t in targets]
    return (
        f"{', '.join(names[:3])}{f' (+{len(names) - 3} more)' if len(names) > 3 else ''}"
        if names
        else _NOBODY
    )


def method_reach(
    tenant: Tenant, config_id: str, label: str, user_ids: Iterable[str], *, sms_sign_in: bool = False
) -> Reach:
    """Whether the ``config_id`` method (``TemporaryAccessPass``, ``Fido2``, ...) is usable by each user.

    Targeting rules come from :mod:`graphlattice.entra.tap` (TAP) and ``entra.method_policy`` (others);
    group memberships are looked up only when the policy targets specific groups or has exclusions.
    """
    if not tenant.available.get("authenticationMethodsPolicy", False) or tenant.auth_methods_policy is None:
        return Reach(
            label,
            False,
            "the authentication methods policy could not be read (grant Policy.Read.AuthenticationMethod)",
        )
    raw = tenant.method_configuration(config_id)
    policy: _Targeted
    try:
        if config_id.casefold() == "temporaryaccesspass":
            tap = TapPolicy.from_graph(raw)
            policy, include, exclude = tap, tap.include_targets, tap.exclude_targets
        else:
            config = MethodConfiguration.from_graph(config_id, raw)
            include = config.sign_in_targets if sms_sign_in else config.include_targets
            exclude = config.exclude_targets
            policy = _SignIn(config) if sms_sign_in else config
    except InputError as exc:
        return Reach(label, False, f"its configuration could not be read ({exc})")
    if not policy.enabled:
        return Reach(label, True, enabled=False, not_usable=list(user_ids))
    include_all = policy.includes_all_users
    needs_groups = bool(exclude) or not include_all
    if needs_groups and not tenant.available.get("groups", False):
        return Reach(
            label,
            False,
            "it targets specific groups and group memberships could not be read (grant GroupMember.Read.All)",
            enabled=True,
        )
    reach = Reach(label, True, enabled=True, scope=_scope(tenant, include_all, include))
    groups_of = methods_view(tenant).groups_of
    for uid in user_ids:
        groups = groups_of(uid) if needs_groups else frozenset()
        (reach.usable if policy.usable_by(uid, groups) else reach.not_usable).append(uid)
    return reach


@dataclass(slots=True, frozen=True)
class _SignIn:
    config: MethodConfiguration

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    @property
    def includes_all_users(self) -> bool:
        return any(t.id.casefold() == "all_users" for t in self.config.sign_in_targets)

    def usable_by(self, user_id: str, group_ids: Collection[str]) -> bool:
        return self.config.sign_in_usable_by(user_id, group_ids)
