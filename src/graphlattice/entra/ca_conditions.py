"""Does a Conditional Access policy's ``conditions`` block cover a sign-in?

Each check answers ``True`` (covered), ``False`` (not covered, with the reason) or ``None`` (cannot be
decided from what is known, with the reason). Exclusions win over inclusions. Enum values are compared
without regard to case, because Graph mixes ``All`` and ``all``. For a user action, the conditions Entra does
not apply to it (``data/ca_user_actions.yaml``: client apps and device conditions for "Register or join
devices") are skipped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.entra.device_filter import DeviceFacts, evaluate_device_rule
from graphlattice.entra.methods import odata_type_name
from graphlattice.entra.signin import SignInContext

__all__ = ["REPORT_ONLY_EVALUATES_USER_ACTIONS", "Check", "ignored_conditions", "policy_covers"]

Check = tuple[bool | None, str]
_YES: Check = (True, "")

_APP_SUITES = ("office365", "microsoftadminportals")


def _load_user_actions() -> tuple[dict[str, frozenset[str]], bool]:
    table = load_table("ca_user_actions")
    actions: dict[str, frozenset[str]] = {}
    for action, raw in require_mapping(table["user_actions"], "ca_user_actions.user_actions").items():
        row = require_mapping(raw, f"ca_user_actions.{action}")
        ignored = require_list(row["ignored_conditions"], f"ca_user_actions.{action}.ignored_conditions")
        actions[str(action).casefold()] = frozenset(require_str(c, str(action)) for c in ignored)
    return actions, table["report_only_evaluates_user_actions"] is True


_USER_ACTIONS, REPORT_ONLY_EVALUATES_USER_ACTIONS = _load_user_actions()


def ignored_conditions(user_action: str | None) -> frozenset[str]:
    """Conditions (Graph ``conditionalAccessConditionSet`` properties) Entra ignores for a user action."""
    if user_action is None:
        return frozenset()
    return _USER_ACTIONS.get(user_action.strip().casefold(), frozenset())


def policy_covers(
    conditions: Mapping[str, Any], ctx: SignInContext, named_locations: Mapping[str, Mapping[str, Any]]
) -> Check:
    """Combine every condition: any definite "no" wins, then any "cannot tell", else "yes"."""
    ignored = ignored_conditions(ctx.user_action)
    checks = [
        _users(_section(conditions, "users"), ctx),
        _applications(_section(conditions, "applications"), ctx),
        _locations(_section(conditions, "locations"), ctx, named_locations),
        _platforms(_section(conditions, "platforms"), ctx),
        _risk(conditions.get("signInRiskLevels"), ctx.sign_in_risk, "sign-in risk"),
        _risk(conditions.get("userRiskLevels"), ctx.user_risk, "user risk"),
    ]
    if "clientAppTypes" not in ignored:
        checks.append(_client_app_types(conditions.get("clientAppTypes"), ctx))
    if "devices" not in ignored:
        checks.append(_devices(_section(conditions, "devices"), ctx))
    for verdict, why in checks:
        if verdict is False:
            return False, why
    unknown = [why for verdict, why in checks if verdict is None]
    return (None, "; ".join(unknown)) if unknown else _YES


def _section(conditions: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = conditions.get(key)
    return value if isinstance(value, Mapping) else {}


def _folded(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [v.strip().casefold() for v in values if isinstance(v, str) and v.strip()]


def _any(results: Iterable[bool | None]) -> bool | None:
    """True if any is True, else None if any is None, else False."""
    seen_unknown = False
    for result in results:
        if result is True:
            return True
        seen_unknown = seen_unknown or result is None
    return None if seen_unknown else False


def _include_exclude(include: bool | None, exclude: bool | None, what: str) -> Check:
    if exclude is True:
        return False, f"{what} is excluded"
    if include is False:
        return False, f"{what} is not included"
    if include is None or exclude is None:
        return None, f"cannot tell whether {what} is in scope"
    return _YES


# --- users -----------------------------------------------------------------------------------------------


def _users(users: Mapping[str, Any], ctx: SignInContext) -> Check:
    def selected(prefix: str) -> bool | None:
        groups = {g.casefold() for g in ctx.group_ids}
        roles = {r.casefold() for r in ctx.role_ids}
        return _any(
            [
                *(_user_value(v, ctx) for v in _folded(users.get(f"{prefix}Users"))),
                any(g in groups for g in _folded(users.get(f"{prefix}Groups"))),
                any(r in roles for r in _folded(users.get(f"{prefix}Roles"))),
                _guest_selector(users.get(f"{prefix}GuestsOrExternalUsers"), ctx),
            ]
        )

    return _include_exclude(selected("include"), selected("exclude"), "the user")


def _user_value(value: str, ctx: SignInContext) -> bool:
    if value == "all":
        return True
    if value == "none":
        return False
    if value == "guestsorexternalusers":
        return ctx.is_guest or bool(ctx.guest_types)
    return value == ctx.user_id.casefold()


def _guest_selector(selector: Any, ctx: SignInContext) -> bool | None:
    if not isinstance(selector, Mapping):
        return False
    raw_types = selector.get("guestOrExternalUserTypes")
    wanted = {t.strip().casefold() for t in str(raw_types or "").split(",") if t.strip()} - {"none"}
    if not wanted:
        return False
    if ctx.guest_types:
        type_match: bool | None = bool(wanted & {t.casefold() for t in ctx.guest_types})
    else:
        type_match = None if ctx.is_guest else False
    if type_match is not True:
        return type_match
    tenants = selector.get("externalTenants")
    if not isinstance(tenants, Mapping) or str(tenants.get("membershipKind", "all")).casefold() == "all":
        return True
    if ctx.home_tenant_id is None:
        return None
    return ctx.home_tenant_id.casefold() in _folded(tenants.get("members"))


# --- applications and user actions -----------------------------------------------------------------------


def _applications(apps: Mapping[str, Any], ctx: SignInContext) -> Check:
    actions = _folded(apps.get("includeUserActions"))
    if ctx.user_action is not None:
        if not actions:
            return False, "the policy targets resources, not the user action"
        if ctx.user_action.strip().casefold() in actions:
            return _YES
        return False, "the policy targets a different user action"
    if actions:
        return False, "the policy targets user actions only"
    include = _folded(apps.get("includeApplications"))
    if not include and _folded(apps.get("includeAuthenticationContextClassReferences")):
        return False, "the policy targets authentication contexts only"
    app_filter = apps.get("applicationFilter")
    if isinstance(app_filter, Mapping) and app_filter.get("rule"):
        return None, "application filters are not evaluated"
    return _include_exclude(
        _any(_app_value(v, ctx) for v in include),
        _any(_app_value(v, ctx) for v in _folded(apps.get("excludeApplications"))),
        "the application",
    )


def _app_value(value: str, ctx: SignInContext) -> bool | None:
    if value == "all":
        return True
    if value == "none":
        return False
    if value in _APP_SUITES:
        if ctx.application_suites is None:
            return None
        return value in {s.casefold() for s in ctx.application_suites}
    if ctx.application is None:
        return None
    return value == ctx.application.casefold()


# --- locations -------------------------------------------------------------------------------------------


def _locations(
    locations: Mapping[str, Any], ctx: SignInContext, named: Mapping[str, Mapping[str, Any]]
) -> Check:
    include = _folded(locations.get("includeLocations"))
    exclude = _folded(locations.get("excludeLocations"))
    if not include and not exclude:
        return _YES
    return _include_exclude(
        _any(_location_value(v, ctx, named) for v in include) if include else True,
        _any(_location_value(v, ctx, named) for v in exclude),
        "the sign-in location",
    )


def _location_value(value: str, ctx: SignInContext, named: Mapping[str, Mapping[str, Any]]) -> bool | None:
    if value == "all":
        return True
    if value == "alltrusted":
        trusted = [loc for loc in named.values() if _is_ip_location(loc) and loc.get("isTrusted") is True]
        return _any(_ip_location_contains(loc, ctx.ip) for loc in trusted)
    location = named.get(value)
    if location is None:
        return None  # the policy names a location we were not given
    if _is_ip_location(location):
        return _ip_location_contains(location, ctx.ip)
    if odata_type_name(location).casefold() == "countrynamedlocation":
        return _country_location_contains(location, ctx.country)
    return None


def _is_ip_location(location: Mapping[str, Any]) -> bool:
    return odata_type_name(location).casefold() == "ipnamedlocation"


def _ip_location_contains(location: Mapping[str, Any], ip: str | None) -> bool | None:
    if ip is None:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    results: list[bool | None] = []
    for item in location.get("ipRanges") or []:
        cidr = item.get("cidrAddress") if isinstance(item, Mapping) else None
        try:
            network = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            results.append(None)
            continue
        results.append(address.version == network.version and address in network)
    return _any(results)


def _country_location_contains(location: Mapping[str, Any], country: str | None) -> bool | None:
    if str(location.get("countryLookupMethod") or "clientIpAddress").casefold() != "clientipaddress":
        return None  # GPS-based lookup needs the Authenticator's location, which we do not model
    if country is None:
        return location.get("includeUnknownCountriesAndRegions") is True
    return country.strip().casefold() in _folded(location.get("countriesAndRegions"))


# --- client apps, platforms, risk, devices ----------------------------------------------------------------


def _client_app_types(values: Any, ctx: SignInContext) -> Check:
    wanted = set(_folded(values))
    if not wanted or "all" in wanted:
        return _YES
    if "eassupported" in wanted:
        wanted.add("exchangeactivesync")
    if ctx.client_app_type.strip().casefold() in wanted:
        return _YES
    return False, f"the client app type {ctx.client_app_type} is not targeted"


def _platforms(platforms: Mapping[str, Any], ctx: SignInContext) -> Check:
    include = _folded(platforms.get("includePlatforms"))
    if not include:
        return _YES
    platform = ctx.platform.strip().casefold() if ctx.platform else None

    def listed(values: list[str]) -> bool:
        return "all" in values or (platform is not None and platform in values)

    return _include_exclude(
        listed(include), listed(_folded(platforms.get("excludePlatforms"))), "the device platform"
    )


def _risk(levels: Any, level: str, what: str) -> Check:
    wanted = _folded(levels)
    if not wanted or level.strip().casefold() in wanted:
        return _YES
    return False, f"the {what} level {level} is not targeted"


def _devices(devices: Mapping[str, Any], ctx: SignInContext) -> Check:
    device_filter = devices.get("deviceFilter")
    if not isinstance(device_filter, Mapping) or not device_filter.get("rule"):
        return _YES
    facts = DeviceFacts(is_compliant=ctx.device_compliant, hybrid_joined=ctx.device_hybrid_joined)
    matched = evaluate_device_rule(str(device_filter["rule"]), facts)
    if matched is None:
        return None, f"the device filter rule was not evaluated: {device_filter['rule']}"
    if str(device_filter.get("mode", "include")).casefold() == "exclude":
        return (False, "the device matches the exclusion filter") if matched else _YES
    return _YES if matched else (False, "the device does not match the inclusion filter")
