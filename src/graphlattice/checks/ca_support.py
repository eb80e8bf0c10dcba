"""Helpers shared by the Conditional Access risks: policy reading, what-if probes, report-only age.

Coverage questions ("does any enforced policy still stop a password-only sign-in for this person?") are
answered by :mod:`graphlattice.entra.ca`; this module only builds the sign-in descriptions (probes) it is
asked about and reads the parts of a policy a report must name (its exclusions, its state, its timestamps).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from graphlattice.checks.config import AssessConfig
from graphlattice.checks.methods_view import methods_view
from graphlattice.checks.role_facts import treated_as_privileged
from graphlattice.entra.ca import GrantRequirement, PolicyResult, SignInContext, access_decision, evaluate
from graphlattice.entra.methods import MethodKind
from graphlattice.entra.roles import role_display_name
from graphlattice.entra.strengths import Strength
from graphlattice.errors import EntraRuleError
from graphlattice.tenant.model import Json, Tenant, User, parse_time

REGISTER_SECURITY_INFO = "urn:user:registersecurityinfo"
ENABLED = "enabled"
REPORT_ONLY = "enabledforreportingbutnotenforced"
DISABLED = "disabled"
KNOWN_STATES = frozenset({ENABLED, REPORT_ONLY, DISABLED})

#: An application id no policy names: stands for "any other cloud app" in probes.
ANY_OTHER_APP = "ffffffff-0000-4000-8000-00000000a99e"
#: Well-known first-party app ids used when a policy names an app group instead of an app.
_SUITE_PROBE_APPS = {
    "office365": "00000002-0000-0ff1-ce00-000000000000",  # Office 365 Exchange Online
    "microsoftadminportals": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",  # Azure portal
}
_SUITE_NAMES = {"office365": "Office365", "microsoftadminportals": "MicrosoftAdminPortals"}
_PROBE_IPS = ("192.0.2.77", "198.51.100.77", "203.0.113.77", "100.64.7.77", "2001:db8::77")
_PROBE_COUNTRIES = ("AQ", "BV", "HM", "TF", "UM")
PROBE_PLATFORMS: tuple[str | None, ...] = ("windows", "macOS", "iOS", "android", "linux", None)
MODERN_CLIENTS = ("browser", "mobileAppsAndDesktopClients")
LEGACY_CLIENTS = ("exchangeActiveSync", "other")


def fold(values: object) -> list[str]:
    """Lower-cased strings of a Graph string array (anything else is ignored)."""
    if not isinstance(values, list):
        return []
    return [v.strip().casefold() for v in values if isinstance(v, str) and v.strip()]


def state_of(policy: Json) -> str:
    return str(policy.get("state") or "").casefold()


def policy_name(policy: Json) -> str:
    return str(policy.get("displayName") or policy.get("id") or "(unnamed policy)")


def policy_id(policy: Json) -> str:
    return str(policy.get("id") or "")


def _section(policy: Json, *path: str) -> Mapping[str, Any]:
    node: Any = policy
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def user_actions(policy: Json) -> list[str]:
    return fold(_section(policy, "conditions", "applications").get("includeUserActions"))


def targets_registration(policy: Json) -> bool:
    return REGISTER_SECURITY_INFO in user_actions(policy)


def grant_of(policy: Json) -> GrantRequirement | None:
    return GrantRequirement.from_graph(policy.get("grantControls"))


def requires_mfa(policy: Json) -> bool:
    """The grant names the built-in MFA control or an authentication strength (read by entra.ca)."""
    grant = grant_of(policy)
    if grant is None:
        return False
    return "mfa" in grant.built_in_controls or grant.authentication_strength_id is not None


_CONTROL_WORDS = {
    "mfa": "MFA",
    "compliantDevice": "a compliant device",
    "domainJoinedDevice": "a hybrid-joined device",
    "approvedApplication": "an approved client app",
    "compliantApplication": "an app protection policy",
    "passwordChange": "a password change",
    "riskRemediation": "risk remediation",
}


def describe_grant(policy: Json, strengths: Mapping[str, Strength] | None = None) -> str:
    """What the policy asks for, in words: ``would require MFA or a compliant device``."""
    grant = grant_of(policy)
    if grant is None:
        return "would apply session controls only"
    if "block" in grant.built_in_controls:
        return "would block access"
    parts = [_CONTROL_WORDS.get(c, c) for c in grant.built_in_controls]
    if grant.authentication_strength_id:
        key = grant.authentication_strength_id.casefold()
        strength = (strengths or {}).get(key) or grant.authentication_strength
        parts.append(f"the authentication strength '{strength.display_name if strength else key}'")
    parts += ["a custom control"] * len(grant.custom_authentication_factors)
    parts += ["terms of use acceptance"] * len(set(grant.terms_of_use))
    if not parts:
        return "would apply session controls only"
    joiner = " and " if grant.operator == "AND" else " or "
    return "would require " + joiner.join(parts)


def blocks(policy: Json) -> bool:
    grant = grant_of(policy)
    return grant is not None and "block" in grant.built_in_controls


@dataclass(frozen=True, slots=True)
class UserScope:
    """The ``conditions.users`` block of a policy, lower-cased."""

    include_users: tuple[str, ...]
    include_groups: tuple[str, ...]
    include_roles: tuple[str, ...]
    include_guests: bool
    exclude_users: tuple[str, ...]  # object ids only
    exclude_groups: tuple[str, ...]
    exclude_roles: tuple[str, ...]
    excludes_guests: bool  # GuestsOrExternalUsers or an excludeGuestsOrExternalUsers selector

    @classmethod
    def of(cls, policy: Json) -> UserScope:
        users = _section(policy, "conditions", "users")
        excl_users = fold(users.get("excludeUsers"))
        guest_selector = users.get("excludeGuestsOrExternalUsers")
        guest_types = ""
        if isinstance(guest_selector, Mapping):
            guest_types = str(guest_selector.get("guestOrExternalUserTypes") or "")
        include_selector = users.get("includeGuestsOrExternalUsers")
        include_types = ""
        if isinstance(include_selector, Mapping):
            include_types = str(include_selector.get("guestOrExternalUserTypes") or "")
        return cls(
            include_users=tuple(fold(users.get("includeUsers"))),
            include_groups=tuple(fold(users.get("includeGroups"))),
            include_roles=tuple(fold(users.get("includeRoles"))),
            include_guests=bool(_guest_types(include_types)),
            exclude_users=tuple(u for u in excl_users if u not in {"guestsorexternalusers", "none", "all"}),
            exclude_groups=tuple(fold(users.get("excludeGroups"))),
            exclude_roles=tuple(fold(users.get("excludeRoles"))),
            excludes_guests="guestsorexternalusers" in excl_users or bool(_guest_types(guest_types)),
        )

    @property
    def all_users(self) -> bool:
        return "all" in self.include_users

    @property
    def has_exclusions(self) -> bool:
        return bool(self.exclude_users or self.exclude_groups or self.exclude_roles)


def _guest_types(text: str) -> set[str]:
    return {t.strip().casefold() for t in text.split(",") if t.strip()} - {"none"}


def excluded_locations(policy: Json) -> list[str]:
    return fold(_section(policy, "conditions", "locations").get("excludeLocations"))


def included_locations(policy: Json) -> list[str]:
    return fold(_section(policy, "conditions", "locations").get("includeLocations"))


def included_applications(policy: Json) -> list[str]:
    return fold(_section(policy, "conditions", "applications").get("includeApplications"))


def excluded_applications(policy: Json) -> list[str]:
    return fold(_section(policy, "conditions", "applications").get("excludeApplications"))


def client_app_types(policy: Json) -> list[str]:
    return fold(_section(policy, "conditions").get("clientAppTypes"))


# ---- what-if probes ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a password-only sign-in is stopped, by which policies, and what stayed undetermined."""

    stopped: bool
    by: tuple[str, ...]
    undetermined: tuple[str, ...]

    @property
    def certain(self) -> bool:
        return self.stopped or not self.undetermined


def tenant_strengths(tenant: Tenant) -> dict[str, Strength]:
    """The tenant's authentication strengths by lower-case id; a malformed one is left out (stays unknown)."""
    out: dict[str, Strength] = {}
    for key, obj in tenant.strength_policies.items():
        try:
            out[key] = Strength.from_graph(obj)
        except EntraRuleError:
            continue
    return out


class Prober:
    """Builds sign-in descriptions for one tenant and asks :func:`entra.ca.evaluate` about them.

    Probes are simulations (``what_if``): a report-only policy scoped to user actions, which Entra itself
    never evaluates, is evaluated as if it were on, so a check can say what it would do.

    A probe is an attacker's sign-in by default: password only, from an address and country that no named
    location lists, on an unmanaged Windows device, in a browser, without sign-in or user risk.
    """

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.named_locations: Mapping[str, Json] = tenant.named_locations
        self.ip = self._outside_ip()
        self.country = self._outside_country()
        self._relevance: dict[int, tuple[Sequence[Json], frozenset[str], frozenset[str], frozenset[str]]] = {}
        self._memo: dict[tuple[object, ...], list[PolicyResult]] = {}
        self._verdicts: dict[tuple[object, ...], Verdict] = {}

    @cached_property
    def strengths(self) -> dict[str, Strength]:
        return tenant_strengths(self.tenant)

    def _ip_ranges(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        ranges: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for location in self.named_locations.values():
            for item in location.get("ipRanges") or ():
                cidr = item.get("cidrAddress") if isinstance(item, Mapping) else None
                try:
                    ranges.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
                except ValueError:
                    continue
        return ranges

    def _outside_ip(self) -> str:
        ranges = self._ip_ranges()
        for candidate in _PROBE_IPS:
            address = ipaddress.ip_address(candidate)
            if not any(address.version == r.version and address in r for r in ranges):
                return candidate
        return _PROBE_IPS[0]

    def _outside_country(self) -> str:
        listed = {c for loc in self.named_locations.values() for c in fold(loc.get("countriesAndRegions"))}
        return next((c for c in _PROBE_COUNTRIES if c.casefold() not in listed), _PROBE_COUNTRIES[0])

    def inside(self, location_id: str) -> list[tuple[str | None, str | None, str]]:
        """(ip, country, label) sign-in origins inside a named location (or every trusted IP location)."""
        key = location_id.casefold()
        if key == "alltrusted":
            out: list[tuple[str | None, str | None, str]] = []
            for loc_id, loc in self.named_locations.items():
                if loc.get("isTrusted") is True and loc.get("ipRanges"):
                    out.extend(self.inside(loc_id))
            return out
        location = self.named_locations.get(key)
        if location is None:
            return []
        label = str(location.get("displayName") or location_id)
        for item in location.get("ipRanges") or ():
            cidr = item.get("cidrAddress") if isinstance(item, Mapping) else None
            try:
                network = ipaddress.ip_network(str(cidr).strip(), strict=False)
            except ValueError:
                continue
            host = next(iter(network.hosts()), network.network_address)
            return [(str(host), self.country, label)]
        countries = location.get("countriesAndRegions")
        if isinstance(countries, list) and countries:
            return [(self.ip, str(countries[0]), label)]
        return []

    def context(
        self,
        user_id: str,
        *,
        group_ids: Iterable[str] | None = None,
        role_ids: Iterable[str] | None = None,
        is_guest: bool | None = None,
        application: str | None = ANY_OTHER_APP,
        suites: frozenset[str] | None = frozenset(),
        user_action: str | None = None,
        ip: str | None = None,
        country: str | None = None,
        client_app_type: str = "browser",
        platform: str | None = "windows",
        compliant: bool = False,
        joined: bool = False,
        used_modes: Iterable[str] = ("password",),
    ) -> SignInContext:
        """A sign-in by a real user (groups and active roles looked up) or by a synthetic one (given)."""
        tenant = self.tenant
        user = tenant.users.get(user_id.casefold())
        if group_ids is None:
            group_ids = tenant.groups_of(user_id.casefold()) if user is not None else ()
        if role_ids is None:
            role_ids = active_tenant_roles(tenant, user_id) if user is not None else ()
        if is_guest is None:
            is_guest = user is not None and user.user_type == "guest"
        return SignInContext(
            user_id=user_id,
            group_ids=frozenset(group_ids),
            role_ids=frozenset(role_ids),
            is_guest=is_guest,
            application=None if user_action else application,
            application_suites=None if user_action else suites,
            user_action=user_action,
            ip=ip or self.ip,
            country=country or self.country,
            client_app_type=client_app_type,
            platform=platform,
            device_compliant=compliant,
            device_hybrid_joined=joined,
            used_modes=frozenset(used_modes),
        )

    def _relevant(self, policies: Sequence[Json]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """User, group and role ids that the policies' user conditions name (cached per policy list)."""
        hit = self._relevance.get(id(policies))
        if hit is not None and hit[0] is policies:
            return hit[1], hit[2], hit[3]
        users: set[str] = set()
        groups: set[str] = set()
        roles: set[str] = set()
        for policy in policies:
            block = _section(policy, "conditions", "users")
            for side in ("include", "exclude"):
                users.update(fold(block.get(f"{side}Users")))
                groups.update(fold(block.get(f"{side}Groups")))
                roles.update(fold(block.get(f"{side}Roles")))
        entry = (policies, frozenset(users), frozenset(groups), frozenset(roles))
        self._relevance[id(policies)] = entry
        return entry[1], entry[2], entry[3]

    def _key(self, policies: Sequence[Json], ctx: SignInContext) -> tuple[object, ...]:
        users, groups, roles = self._relevant(policies)
        uid = ctx.user_id.casefold()
        return (
            id(policies),
            uid if uid in users else None,
            frozenset(g.casefold() for g in ctx.group_ids) & groups,
            frozenset(r.casefold() for r in ctx.role_ids) & roles,
            ctx.is_guest,
            ctx.guest_types,
            ctx.home_tenant_id,
            ctx.application,
            ctx.application_suites,
            ctx.user_action,
            ctx.ip,
            ctx.country,
            ctx.client_app_type,
            ctx.platform,
            ctx.device_compliant,
            ctx.device_hybrid_joined,
            ctx.sign_in_risk,
            ctx.user_risk,
            ctx.used_modes,
        )

    def results(self, policies: Sequence[Json], ctx: SignInContext) -> list[PolicyResult]:
        """:func:`entra.ca.evaluate`, memoised: sign-ins that differ only in groups, roles or user ids that no
        policy names get the same answer, so a large group is evaluated once per distinct situation."""
        return self._results(policies, ctx, self._key(policies, ctx))

    def _results(
        self, policies: Sequence[Json], ctx: SignInContext, key: tuple[object, ...]
    ) -> list[PolicyResult]:
        found = self._memo.get(key)
        if found is None:
            found = evaluate(
                policies, ctx, named_locations=self.named_locations, strengths=self.strengths, what_if=True
            )
            self._memo[key] = found
        return found

    def verdict(self, policies: Sequence[Json], ctx: SignInContext) -> Verdict:
        """Is this sign-in stopped (blocked, or asked for more than it has) by an enabled policy?"""
        key = self._key(policies, ctx)
        found = self._verdicts.get(key)
        if found is None:
            results = self._results(policies, ctx, key)
            decision = access_decision(results)
            by = tuple(
                r.display_name for r in results if r.state.casefold() == ENABLED and r.result == "failure"
            )
            found = Verdict(stopped=decision.blocked, by=by, undetermined=tuple(decision.undetermined))
            self._verdicts[key] = found
        return found


def app_probes(policy: Json) -> list[tuple[str, frozenset[str], str]]:
    """(application, suites, label) sign-in targets that a policy's ``includeApplications`` covers."""
    out: list[tuple[str, frozenset[str], str]] = []
    for app in included_applications(policy):
        if app == "all":
            out.append((ANY_OTHER_APP, frozenset(), "any cloud app"))
        elif app in _SUITE_PROBE_APPS:
            out.append((_SUITE_PROBE_APPS[app], frozenset({_SUITE_NAMES[app]}), _SUITE_NAMES[app]))
        elif app != "none":
            out.append((app, frozenset(), app))
    return out


def app_probe_for(app: str) -> tuple[str, frozenset[str]]:
    key = app.casefold()
    if key in _SUITE_PROBE_APPS:
        return _SUITE_PROBE_APPS[key], frozenset({_SUITE_NAMES[key]})
    return app, frozenset()


# ---- directory lookups -------------------------------------------------------------------------------------


def active_tenant_roles(tenant: Tenant, principal_id: str) -> frozenset[str]:
    """Role ids held active at tenant scope (what Conditional Access role conditions look at)."""
    return frozenset(
        g.role_id for g in tenant.grants_of(principal_id) if g.kind != "eligible" and g.tenant_wide
    )


def role_summary(tenant: Tenant, principal_id: str) -> list[str]:
    """Readable roles of a principal, e.g. ``Global Administrator (eligible)``."""
    seen: dict[str, str] = {}
    for grant in tenant.grants_of(principal_id):
        name = role_display_name(grant.role_id)
        kind = "eligible" if grant.kind == "eligible" else "active"
        if seen.get(name) != "active":
            seen[name] = kind
    return [f"{name} ({kind})" for name, kind in sorted(seen.items())]


def role_data_gap(tenant: Tenant) -> str | None:
    """Why role holders may be incomplete (assignments or PIM eligibility not collected), or None."""
    missing = []
    if not tenant.available.get("roleAssignments"):
        missing.append("active role assignments")
    if not tenant.available.get("roleEligibilitySchedules"):
        missing.append("PIM eligibility")
    return f"{' and '.join(missing)} not collected" if missing else None


def holders_listing(tenant: Tenant, holders: Mapping[str, str], empty: str) -> str:
    """``A (active), B (eligible)``, the ``empty`` text, or a note that role data is incomplete."""
    listing = ", ".join(f"{tenant.display_name(u)} ({k})" for u, k in sorted(holders.items()))
    gap = role_data_gap(tenant)
    if gap is not None:
        return (listing + "; " if listing else "") + f"holders may be missing: {gap}"
    return listing or empty


def is_admin(tenant: Tenant, principal_id: str) -> bool:
    """Holds any directory role, active or eligible."""
    return bool(tenant.grants_of(principal_id))


def is_privileged_admin(tenant: Tenant, principal_id: str) -> bool:
    """Holds a privileged role, or one whose privilege is unknown (never assumed harmless)."""
    return any(treated_as_privileged(tenant, g.role_id) for g in tenant.grants_of(principal_id))


def role_holders(tenant: Tenant, role_id: str) -> dict[str, str]:
    """user id -> "active" / "eligible" (active wins) for every user holding the role, via groups too."""
    out: dict[str, str] = {}
    for grant in tenant.holders(role_id):
        if grant.principal_id not in tenant.users:
            continue
        kind = "eligible" if grant.kind == "eligible" else "active"
        if out.get(grant.principal_id) != "active":
            out[grant.principal_id] = kind
    return out


@dataclass(frozen=True, slots=True)
class BreakGlass:
    """Declared emergency-access accounts found in the tenant, and declarations that match nobody."""

    ids: frozenset[str]
    missing: tuple[str, ...] = field(default=())


def declared_break_glass(tenant: Tenant, config: AssessConfig) -> BreakGlass:
    found: set[str] = set()
    missing: list[str] = []
    for key in config.break_glass:
        user = tenant.user_by_upn_or_id(key)
        if user is None:
            missing.append(key)
        else:
            found.add(user.id)
    return BreakGlass(frozenset(found), tuple(missing))


def method_kinds(tenant: Tenant, user_id: str) -> tuple[set[MethodKind], str] | None:
    """The kinds of method a user has registered and where that came from, or None when not known.

    Read through the shared :func:`methods_view` (per-user methods first, the registration report as the
    fallback); an unrecognised method shows as ``MethodKind.UNKNOWN``.
    """
    found = methods_view(tenant).of(user_id.casefold())
    if not found.evaluated:
        return None
    kinds = set(found.kinds)
    if found.uncertain:
        kinds.add(MethodKind.UNKNOWN)
    return kinds, found.source.value


_BREAK_GLASS_HINT = re.compile(r"break[\s._-]?glass|emergency|\bea[\s._-]?admin", re.IGNORECASE)


def looks_like_break_glass(user: User) -> bool:
    """The display name or UPN suggests an emergency-access account (a heuristic the article documents)."""
    text = f"{user.display_name} {user.upn}"
    folded = text.casefold()
    if "glass" not in folded and "emergency" not in folded and "admin" not in folded:
        return False  # cheap pre-filter: the pattern needs one of these words
    return bool(_BREAK_GLASS_HINT.search(text))


def describe_user(user: User) -> str:
    return f"{user.display_name} ({user.upn})" if user.upn else user.display_name


# ---- report-only age ---------------------------------------------------------------------------------------

_CA_ACTIVITIES = {"add conditional access policy", "update conditional access policy"}


@dataclass(frozen=True, slots=True)
class ReportOnlyAge:
    """Since when a policy has been report-only. ``exact`` when an audit record shows the switch itself;
    otherwise ``since`` is the latest moment it is known to have been report-only already (a lower bound on
    the age). ``since`` is None when neither timestamps nor audit records say anything."""

    since: datetime | None
    exact: bool
    source: str

    def days(self, now: datetime) -> int | None:
        return None if self.since is None else max(0, (now - self.since).days)

    def phrase(self, now: datetime) -> str:
        days = self.days(now)
        if days is None or self.since is None:
            return "for an unknown time (no timestamps or audit records)"
        when = self.since.date().isoformat()
        return (
            f"for {days} days (since {when})"
            if self.exact
            else f"for at least {days} days (since {when} or earlier)"
        )


def _state_in(value: object) -> str | None:
    """The policy state carried in an audit modifiedProperty value (a JSON string), if any."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        return None
    if isinstance(parsed, str):
        text = parsed.strip().casefold()
        return text if text in KNOWN_STATES else None
    if isinstance(parsed, Mapping):
        state = parsed.get("state") if "state" in parsed else parsed.get("State")
        return str(state).casefold() if isinstance(state, str) else None
    return None


def _audit_states(record: Json, target_id: str) -> tuple[str | None, str | None]:
    old: str | None = None
    new: str | None = None
    for target in record.get("targetResources") or ():
        if not isinstance(target, Mapping) or str(target.get("id", "")).casefold() != target_id:
            continue
        for prop in target.get("modifiedProperties") or ():
            if not isinstance(prop, Mapping):
                continue
            old = old or _state_in(prop.get("oldValue"))
            new = new or _state_in(prop.get("newValue"))
    return old, new


def policy_audits(audits: Sequence[Json] | None) -> dict[str, list[tuple[datetime, Json]]]:
    """Conditional Access policy add/update records by target policy id (lower-case), oldest first."""
    out: dict[str, list[tuple[datetime, Json]]] = {}
    for record in audits or ():
        if str(record.get("activityDisplayName", "")).casefold() not in _CA_ACTIVITIES:
            continue
        if str(record.get("result", "success")).casefold() not in {"success", ""}:
            continue
        when = parse_time(record.get("activityDateTime"))
        if when is None:
            continue
        for target in record.get("targetResources") or ():
            if isinstance(target, Mapping) and target.get("id"):
                out.setdefault(str(target["id"]).casefold(), []).append((when, record))
    for records in out.values():
        records.sort(key=lambda item: item[0])
    return out


def report_only_age(policy: Json, audits: Mapping[str, list[tuple[datetime, Json]]] | None) -> ReportOnlyAge:
    """How long a report-only policy has been so: timestamps first, refined by audit records when given."""
    modified = parse_time(policy.get("modifiedDateTime"))
    created = parse_time(policy.get("createdDateTime"))
    base = modified or created
    base_source = "modifiedDateTime" if modified else ("createdDateTime" if created else "none")
    records = (audits or {}).get(policy_id(policy).casefold(), [])
    switched: datetime | None = None  # the last switch into report-only
    earliest_known: datetime | None = None  # earliest record showing it was already report-only
    for when, record in records:
        added = str(record.get("activityDisplayName", "")).casefold().startswith("add")
        old, new = _audit_states(record, policy_id(policy).casefold())
        if new == REPORT_ONLY and (added or (old is not None and old != REPORT_ONLY)):
            switched, earliest_known = when, None
        elif new is not None and new != REPORT_ONLY:
            switched, earliest_known = None, None
        elif old == REPORT_ONLY and switched is None and earliest_known is None:
            earliest_known = when
    if switched is not None:
        return ReportOnlyAge(switched, True, "audit")
    candidates = [t for t in (earliest_known, base) if t is not None]
    if not candidates:
        return ReportOnlyAge(None, False, "none")
    since = min(candidates)
    source = "audit" if earliest_known is not None and since == earliest_known else base_source
    return ReportOnlyAge(since, False, source)
