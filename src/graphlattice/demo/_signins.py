"""Sign-in records (beta ``signIn`` shape) and the ordinary interactive traffic of the log window.

Records say what Entra writes: ``failureReason`` is Entra's text for the error code
(:mod:`graphlattice.entra.signin_errors`), ``authenticationRequirement`` is what the enforced policies
required (multifactor when an enforced MFA or authentication-strength policy applied), not what the user
happened to use, and the report-only registration gate, a user-action policy that report-only mode does not
evaluate, never appears in ``appliedConditionalAccessPolicies``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from graphlattice.demo._common import DAY, HOUR, LOG_DAYS, MINUTE, NOW_TS, Gen, Json, iso
from graphlattice.demo._directory import Directory
from graphlattice.demo._methods import phone_device
from graphlattice.demo._people import COUNTRIES, NO_MFA, PROFILES, SYNCED, Roster
from graphlattice.demo._policies import CA_KEYS, PolicyIds
from graphlattice.demo._story import HOME_PREFIX, HQ_PREFIX
from graphlattice.entra import signin_errors as E
from graphlattice.entra.permissions import MICROSOFT_GRAPH_APP_ID as GRAPH_APP_ID

# (appDisplayName, appId, resourceDisplayName, resourceId, clientAppUsed)
App = tuple[str, str, str, str, str]
OFFICE: App = (
    "OfficeHome",
    "4765445b-32c6-49b0-83e6-1d93765276ca",
    "Office 365 Exchange Online",
    "00000002-0000-0ff1-ce00-000000000000",
    "Browser",
)
TEAMS: App = (
    "Microsoft Teams",
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    "Microsoft Graph",
    GRAPH_APP_ID,
    "Mobile Apps and Desktop clients",
)
OFFICE_DESKTOP: App = (
    "Microsoft Office",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "Office 365 Exchange Online",
    "00000002-0000-0ff1-ce00-000000000000",
    "Mobile Apps and Desktop clients",
)
AZURE_PORTAL: App = (
    "Azure Portal",
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
    "Windows Azure Service Management API",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    "Browser",
)
MY_SIGNINS: App = (
    "My Signins",
    "19db86c3-b2b9-44cc-b339-36da233a3be2",
    "Microsoft Graph",
    GRAPH_APP_ID,
    "Browser",
)
_EVERYDAY = (OFFICE, TEAMS, OFFICE_DESKTOP, OFFICE, TEAMS)

_COORDS = {
    "Amsterdam": (52.3730, 4.8924),
    "Utrecht": (52.0908, 5.1222),
    "Rotterdam": (51.9225, 4.4792),
    "Berlin": (52.5200, 13.4050),
    "Hamburg": (53.5511, 9.9937),
    "London": (51.5072, -0.1276),
    "Manchester": (53.4808, -2.2426),
    "Brussels": (50.8503, 4.3517),
    "Antwerp": (51.2194, 4.4025),
}
# Home address blocks per country (last octet ranges inside HOME_PREFIX).
_HOME_RANGE = {"NL": (1, 99), "DE": (100, 139), "GB": (140, 179), "BE": (180, 199)}
_UA_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
_UA_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
UA_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
_DEVICE_NS = uuid.UUID("6f1c2b3a-9d84-4e27-a5b0-3c9e8d7f1a26")

ENFORCED_GRANTS = {
    "mfa_all": ["Mfa"],
    "registration": ["Mfa"],
    "admins": ["RequireAuthenticationStrength"],
    "legacy": ["Block"],
    "countries": ["Block"],
    "compliant": ["RequireCompliantDevice"],
    "guest_frequency": [],
}
_REPORT_ONLY = frozenset({"registration", "compliant", "guest_frequency"})
# Report-only policies scoped to user actions: Entra does not evaluate them, so no sign-in carries a result.
_NOT_EVALUATED = frozenset({"registration"})
# Enforced policies whose grant asks for multifactor authentication (the built-in control or a strength).
_MFA_GRANTS = frozenset({"mfa_all", "admins"})
# A passkey sign-in step as Entra names it.
PASSKEY_STEP = "Passkey (device-bound)"


def home_ip(roster: Roster, i: int) -> str:
    low, high = _HOME_RANGE[COUNTRIES[roster.country[i]][0]]
    return f"{HOME_PREFIX}{low + (i * 37) % (high - low + 1)}"


def hq_ip(i: int) -> str:
    return f"{HQ_PREFIX}{10 + i % 200}"


def home_location(roster: Roster, i: int) -> Json:
    code, _office, cities, states = COUNTRIES[roster.country[i]]
    k = i % len(cities)
    lat, lon = _COORDS[cities[k]]
    return {
        "city": cities[k],
        "state": states[k],
        "countryOrRegion": code,
        "geoCoordinates": {"latitude": lat, "longitude": lon, "altitude": None},
    }


HQ_LOCATION: Json = {
    "city": "Amsterdam",
    "state": "Noord-Holland",
    "countryOrRegion": "NL",
    "geoCoordinates": {"latitude": 52.3730, "longitude": 4.8924, "altitude": None},
}


def step(ts: int, method: str, detail: str | None, requirement: str, result: str, ok: bool = True) -> Json:
    return {
        "authenticationStepDateTime": iso(ts),
        "authenticationMethod": method,
        "authenticationMethodDetail": detail,
        "succeeded": ok,
        "authenticationStepResultDetail": result,
        "authenticationStepRequirement": requirement,
    }


@dataclass
class SignInContext:
    gen: Gen
    roster: Roster
    directory: Directory
    policies: PolicyIds
    tenant_id: str
    breakglass: frozenset[int]
    kiosk: frozenset[int]
    admin_portal_included: frozenset[int]
    admin_portal_excluded: frozenset[int]
    records: list[tuple[int, int, Json]] = field(default_factory=list)
    seq: int = 0

    def device(self, i: int, *, browser: bool) -> tuple[Json, str]:
        managed = i % 10 < 6
        mac = i % 10 == 9
        if mac:
            detail = {
                "deviceId": "",
                "displayName": None,
                "operatingSystem": "MacOs",
                "browser": "Safari 18.1" if browser else None,
                "isCompliant": False,
                "isManaged": False,
                "trustType": None,
            }
            return detail, _UA_SAFARI
        device_id = str(uuid.uuid5(_DEVICE_NS, self.roster.ids[i])) if managed else ""
        detail = {
            "deviceId": device_id,
            "displayName": f"CONTOSO-LT{(i * 31) % 9000 + 1000}" if managed else None,
            "operatingSystem": "Windows10",
            "browser": "Edge 131.0.0" if browser else None,
            "isCompliant": managed,
            "isManaged": managed,
            "trustType": "Azure AD joined" if managed else None,
        }
        return detail, _UA_EDGE

    def ca_results(self, i: int, app: App, *, mfa_ok: bool, strong: bool, compliant: bool) -> list[Json]:
        excluded_bg = i in self.breakglass
        results: dict[str, str] = {}
        results["mfa_all"] = (
            "notApplied" if excluded_bg or i in self.kiosk else ("success" if mfa_ok else "failure")
        )
        if (
            app is AZURE_PORTAL
            and i in self.admin_portal_included
            and i not in self.admin_portal_excluded
            and not excluded_bg
        ):
            results["admins"] = "success" if strong else "failure"
        else:
            results["admins"] = "notApplied"
        results["legacy"] = "notApplied"
        results["countries"] = "notEnabled"
        if app in (OFFICE, OFFICE_DESKTOP) and not excluded_bg and i not in self.kiosk:
            results["compliant"] = "reportOnlySuccess" if compliant else "reportOnlyFailure"
        else:
            results["compliant"] = "reportOnlyNotApplied"
        results["guest_frequency"] = (
            "reportOnlySuccess" if self.roster.is_guest(i) else "reportOnlyNotApplied"
        )
        out = []
        for key, name in CA_KEYS:
            if key in _NOT_EVALUATED:
                continue
            result = results[key]
            applied = result in ("success", "failure", "reportOnlySuccess", "reportOnlyFailure")
            out.append(
                {
                    "id": self.policies.ca[key],
                    "displayName": name,
                    "enforcedGrantControls": ENFORCED_GRANTS[key] if applied else [],
                    "enforcedSessionControls": ["SignInFrequency"]
                    if key == "guest_frequency" and applied
                    else [],
                    "result": result,
                }
            )
        return out

    def add(
        self,
        ts: int,
        i: int,
        app: App,
        ip: str,
        location: Json,
        steps: list[Json],
        *,
        error: int = 0,
        mfa_ok: bool = True,
        strong: bool = False,
        device: tuple[Json, str] | None = None,
        evaluate_ca: bool = True,
    ) -> str:
        roster = self.roster
        detail, agent = device or self.device(i, browser=app[4] == "Browser")
        ca = (
            self.ca_results(i, app, mfa_ok=mfa_ok, strong=strong, compliant=bool(detail["isCompliant"]))
            if evaluate_ca
            else []
        )
        enforced = [r["result"] for r in ca if r["result"] in ("success", "failure")]
        ca_status = "failure" if "failure" in enforced else "success" if enforced else "notApplied"
        if ca_status == "failure" and error == 0:
            error = E.BLOCKED_BY_CONDITIONAL_ACCESS
        mfa_ids = {self.policies.ca[key] for key in _MFA_GRANTS}
        mfa_required = any(r["id"] in mfa_ids and r["result"] in ("success", "failure") for r in ca)
        sid = self.gen.uuid()
        record = {
            "id": sid,
            "createdDateTime": iso(ts),
            "userDisplayName": roster.names[i],
            "userPrincipalName": roster.upns[i],
            "userId": roster.ids[i],
            "appId": app[1],
            "appDisplayName": app[0],
            "ipAddress": ip,
            "clientAppUsed": app[4],
            "correlationId": self.gen.uuid(),
            "conditionalAccessStatus": ca_status,
            "isInteractive": True,
            "riskDetail": "none",
            "riskEventTypes": [],
            "riskEventTypes_v2": [],
            "riskLevelAggregated": "none",
            "riskLevelDuringSignIn": "none",
            "riskState": "none",
            "resourceDisplayName": app[2],
            "resourceId": app[3],
            "resourceTenantId": self.tenant_id,
            "homeTenantId": self.tenant_id,
            "userAgent": agent,
            "tokenIssuerType": "AzureAD",
            "status": {
                "errorCode": error,
                "failureReason": E.failure_reason(error, resource=app[3]) if error else "Other.",
                "additionalDetails": None if not error else "Sign-in was not completed.",
            },
            "deviceDetail": detail,
            "location": location,
            "appliedConditionalAccessPolicies": ca,
            "authenticationRequirement": (
                "multiFactorAuthentication" if mfa_required else "singleFactorAuthentication"
            ),
            "signInEventTypes": ["interactiveUser"],
            "userType": "guest" if roster.is_guest(i) else "member",
            "authenticationDetails": steps,
        }
        self.seq += 1
        self.records.append((ts, self.seq, record))
        return sid


def _factor_steps(ctx: SignInContext, i: int, ts: int, first: bool) -> tuple[list[Json], bool]:
    """Authentication steps for one successful sign-in; returns (steps, phishing-resistant)."""
    roster = ctx.roster
    profile = PROFILES[roster.profile[i]]
    rng = ctx.gen.rng
    password_detail = "Password Hash Sync" if roster.flags[i] & SYNCED else "Password in the cloud"
    if i in ctx.kiosk:
        return (
            [step(ts, "Password", password_detail, "Primary authentication", "Correct password")],
            False,
        )
    if not first:
        return (
            [
                step(
                    ts,
                    "Previously satisfied",
                    None,
                    "Primary authentication",
                    "First factor requirement satisfied by claim in the token",
                ),
                step(
                    ts, "Previously satisfied", None, "MFA", "MFA requirement satisfied by claim in the token"
                ),
            ],
            False,
        )
    if profile in ("fido2", "fido2_whfb", "fido2x2") and rng.random() < 0.7:
        return (
            [
                step(
                    ts,
                    PASSKEY_STEP,
                    None,
                    "Primary authentication",
                    "MFA requirement satisfied by strong authentication",
                )
            ],
            True,
        )
    if profile in ("whfb", "fido2_whfb") and rng.random() < 0.7:
        return (
            [
                step(
                    ts,
                    "Windows Hello for Business",
                    None,
                    "Primary authentication",
                    "MFA requirement satisfied by strong authentication",
                )
            ],
            True,
        )
    if profile == "passwordless" and rng.random() < 0.6:
        return (
            [
                step(
                    ts,
                    "Authenticator App",
                    phone_device(i),
                    "Primary authentication",
                    "MFA requirement satisfied by strong authentication",
                )
            ],
            False,
        )
    second = ts + rng.randint(6, 25)
    primary = step(ts, "Password", password_detail, "Primary authentication", "Correct password")
    if profile in ("sms", "sms_voice") or (profile in ("push_sms", "passwordless") and rng.random() < 0.15):
        mfa = step(second, "SMS", None, "MFA", "MFA successfully completed")
    elif profile == "voice":
        mfa = step(second, "Voice", None, "MFA", "MFA successfully completed")
    elif profile == "push_oath" and rng.random() < 0.4:
        mfa = step(second, "Software OATH token", None, "MFA", "MFA successfully completed")
    else:
        mfa = step(second, "Authenticator App", phone_device(i), "MFA", "MFA successfully completed")
    return [primary, mfa], False


def ordinary_traffic(
    ctx: SignInContext, active: list[int], portal_users: frozenset[int], active_from: dict[int, int]
) -> None:
    """A fortnight of everyday interactive sign-ins for the active users, from their usual places."""
    roster = ctx.roster
    rng = ctx.gen.rng
    start_day = NOW_TS - LOG_DAYS * DAY
    start_day -= start_day % DAY
    for day in range(LOG_DAYS + 1):
        midnight = start_day + day * DAY
        weekday = (midnight // DAY + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
        workday = weekday < 5
        for i in active:
            count = (1 + (rng.random() < 0.4)) if workday else (1 if rng.random() < 0.06 else 0)
            if not count or (not workday and i in ctx.kiosk):
                continue
            ts = midnight + (7 * HOUR if workday else 9 * HOUR) + rng.randrange(0, 150 * MINUTE)
            code = COUNTRIES[roster.country[i]][0]
            at_hq = workday and code == "NL" and (i in ctx.kiosk or rng.random() < 0.55)
            for n in range(count):
                if ts >= NOW_TS:
                    break
                if ts < active_from.get(i, 0):
                    ts += rng.randint(1 * HOUR, 6 * HOUR)
                    continue
                ip = hq_ip(i) if at_hq else home_ip(roster, i)
                location = HQ_LOCATION if at_hq else home_location(roster, i)
                app = (
                    AZURE_PORTAL
                    if n == 0 and i in portal_users and rng.random() < 0.5
                    else _EVERYDAY[rng.randrange(len(_EVERYDAY))]
                )
                first = n == 0
                if first and i not in ctx.kiosk and rng.random() < 0.02:
                    ctx.add(
                        ts,
                        i,
                        app,
                        ip,
                        location,
                        [
                            step(
                                ts,
                                "Password",
                                None,
                                "Primary authentication",
                                "Invalid username or password",
                                ok=False,
                            )
                        ],
                        error=E.INVALID_PASSWORD,
                        evaluate_ca=False,
                    )
                    ts += rng.randint(30, 120)
                if (
                    first
                    and i not in ctx.kiosk
                    and PROFILES[roster.profile[i]] in ("push", "push_sms")
                    and rng.random() < 0.01
                ):
                    ctx.add(
                        ts,
                        i,
                        app,
                        ip,
                        location,
                        [
                            step(ts, "Password", None, "Primary authentication", "Correct password"),
                            step(
                                ts + 30,
                                "Authenticator App",
                                phone_device(i),
                                "MFA",
                                "MFA denied; user declined the authentication",
                                ok=False,
                            ),
                        ],
                        error=E.MFA_FAILED,
                        mfa_ok=False,
                    )
                    ts += rng.randint(60, 180)
                steps, strong = _factor_steps(ctx, i, ts, first)
                ctx.add(ts, i, app, ip, location, steps, strong=strong)
                ts += rng.randint(1 * HOUR, 6 * HOUR)
                if workday and ts > midnight + 17 * HOUR + 30 * MINUTE:
                    break


def pick_active(ctx: SignInContext, persona_active: list[int], limit: int = 600) -> list[int]:
    """A bounded sample of population members who sign in during the window (personas always do)."""
    roster = ctx.roster
    persona_set = set(roster.persona.values())
    pool = [
        i
        for i in range(len(roster))
        if i not in persona_set
        and not roster.is_guest(i)
        and roster.is_enabled(i)
        and roster.profile[i] not in NO_MFA
    ]
    sample = sorted(ctx.gen.rng.sample(pool, min(limit, len(pool))))
    guests = [i for i in range(len(roster)) if roster.is_guest(i)][:5]
    return sorted(set(persona_active) | set(sample) | set(guests))
