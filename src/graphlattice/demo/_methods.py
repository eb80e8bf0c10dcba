"""Per-user authentication methods (``/users/{id}/authentication/methods``) and the matching
``userRegistrationDetails`` report row."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphlattice.demo._common import DAY, HOUR, NOW_TS, Gen, Json, iso
from graphlattice.demo._people import COUNTRIES, GUEST, PROFILES, Roster
from graphlattice.demo._story import (
    ATTACK_AUTHENTICATOR,
    ATTACK_PASSKEY,
    ATTACK_TAP_LIFETIME,
    ATTACK_TAP_START,
    ATTACKER_PHONE,
    JOINER_TAP_LIFETIME,
    JOINER_TAP_START,
    ONBOARDED_TAP_LIFETIME,
    ONBOARDED_TAP_START,
    TIER0_TAP_LIFETIME,
    TIER0_TAP_START,
    StoryIds,
)

NS = "#microsoft.graph."
PASSWORD_ID = "28c10230-6103-485e-b985-444c60001490"
MOBILE_ID = "3179e48a-750b-4051-897c-87b9720928f7"
OFFICE_ID = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
EMAIL_ID = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"

PHONES = (
    "Pixel 8",
    "iPhone 14",
    "Galaxy S23",
    "iPhone 13",
    "Pixel 7a",
    "Galaxy A54",
    "iPhone 15",
    "Fairphone 5",
)
APP_VERSIONS = ("6.2409.6112", "6.8.14", "6.2410.6521", "6.8.16")
# (aaGuid, model) of security keys staff use.
KEYS = (
    ("cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"),
    ("ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5 NFC"),
    ("2fc0579f-8113-47ea-b116-bb5a8db9202a", "YubiKey 5 NFC USB-C"),
)
_CC = {
    "NL": ("+31", "6", "20"),
    "DE": ("+49", "151", "30"),
    "GB": ("+44", "7700", "20"),
    "BE": ("+32", "470", "2"),
}
REPORT_UPDATED = NOW_TS - 3 * HOUR
_REPORT_UPDATED_ISO = iso(REPORT_UPDATED)


def phone_device(i: int) -> str:
    """The name of user i's own phone (stable: the logs use it too)."""
    return PHONES[(i * 7 + 3) % len(PHONES)]


def mobile_number(i: int, country: int) -> str:
    cc, mobile, _ = _CC[COUNTRIES[country][0]]
    return f"{cc} {mobile}{(i * 7919 + 1234567) % 10_000_000:07d}"


def office_number(i: int, country: int) -> str:
    cc, _, office = _CC[COUNTRIES[country][0]]
    return f"{cc} {office}{(i * 104_729 + 555_0100) % 10_000_000:07d}"


@dataclass
class MethodFacts:
    """What the registration report and the planted map need to know about one user's methods."""

    registered: list[str] = field(default_factory=list)
    mfa: bool = False
    passwordless: bool = False
    phishing_resistant: bool = False
    strong_other_than_phone: bool = False  # any second factor that is not SMS or voice
    has_phone: bool = False
    authenticator: bool = False
    oath: bool = False
    sms: bool = False
    voice_only: bool = False


def tap(tid: str, start: int, lifetime: int, once: bool, now: int = NOW_TS) -> Json:
    end = start + lifetime * 60
    if now < start:
        usable, reason = False, "NotYetValid"
    elif now >= end:
        usable, reason = False, "Expired"
    else:
        usable, reason = True, "EnabledByPolicy"
    return {
        "@odata.type": NS + "temporaryAccessPassAuthenticationMethod",
        "id": tid,
        "temporaryAccessPass": None,
        "createdDateTime": iso(start),
        "startDateTime": iso(start),
        "lifetimeInMinutes": lifetime,
        "isUsableOnce": once,
        "isUsable": usable,
        "methodUsabilityReason": reason,
    }


class MethodBuilder:
    def __init__(self, gen: Gen, roster: Roster, story: StoryIds) -> None:
        self.gen = gen
        self.roster = roster
        self.story = story
        at = roster.at
        self.specials = {
            at("tier0"): "tier0",
            at("victim"): "victim",
            at("joiner"): "joiner",
            at("onboarded"): "onboarded",
        }

    def build(self, i: int) -> tuple[list[Json], MethodFacts]:
        roster = self.roster
        gen = self.gen
        profile = PROFILES[roster.profile[i]]
        facts = MethodFacts()
        if roster.flags[i] & GUEST:
            return [], facts
        created = roster.created[i]
        methods: list[Json] = [
            {
                "@odata.type": NS + "passwordAuthenticationMethod",
                "id": PASSWORD_ID,
                "password": None,
                "createdDateTime": iso(created),
            }
        ]
        later = min(created + gen.randint(1, 40) * DAY, NOW_TS - DAY)
        reg = facts.registered
        if profile in ("push", "push_sms", "push_oath", "passwordless", "fido2", "whfb", "fido2_whfb"):
            passwordless = profile == "passwordless"
            methods.append(
                {
                    "@odata.type": NS + "microsoftAuthenticatorAuthenticationMethod",
                    "id": gen.uuid(),
                    "displayName": phone_device(i),
                    "deviceTag": "SoftwareTokenActivated",
                    "phoneAppVersion": APP_VERSIONS[i % len(APP_VERSIONS)],
                    "createdDateTime": iso(later) if passwordless else None,
                }
            )
            reg.append("microsoftAuthenticatorPush")
            facts.authenticator = True
            if passwordless:
                reg.append("microsoftAuthenticatorPasswordless")
                facts.passwordless = True
        if profile in ("sms", "sms_voice", "push_sms", "passwordless"):
            methods.append(
                {
                    "@odata.type": NS + "phoneAuthenticationMethod",
                    "id": MOBILE_ID,
                    "phoneNumber": mobile_number(i, roster.country[i]),
                    "phoneType": "mobile",
                    "smsSignInState": "notAllowedByPolicy",
                }
            )
            reg.append("mobilePhone")
            facts.has_phone = facts.sms = True
        if profile in ("sms_voice", "voice"):
            methods.append(
                {
                    "@odata.type": NS + "phoneAuthenticationMethod",
                    "id": OFFICE_ID,
                    "phoneNumber": office_number(i, roster.country[i]),
                    "phoneType": "office",
                    "smsSignInState": "notSupported",
                }
            )
            reg.append("officePhone")
            facts.has_phone = True
            facts.voice_only = profile == "voice"
        if profile == "push_oath":
            methods.append(
                {
                    "@odata.type": NS + "softwareOathAuthenticationMethod",
                    "id": gen.uuid(),
                    "secretKey": None,
                    "createdDateTime": iso(later + HOUR),
                }
            )
            reg.append("softwareOneTimePasscode")
            facts.oath = True
        if profile in ("fido2", "fido2_whfb", "fido2x2"):
            for n in range(2 if profile == "fido2x2" else 1):
                aaguid, model = KEYS[(i + n) % len(KEYS)]
                methods.append(
                    {
                        "@odata.type": NS + "fido2AuthenticationMethod",
                        "id": gen.b64id(43),
                        "displayName": f"{model} ({'backup' if n else 'primary'})",
                        "aaGuid": aaguid,
                        "model": model,
                        "attestationLevel": "attested",
                        "passkeyType": "deviceBound",
                        "attestationCertificates": [f"{gen.rng.getrandbits(160):040x}"],
                        "createdDateTime": iso(later + (n + 2) * HOUR),
                    }
                )
            reg.append("fido2")
            facts.passwordless = facts.phishing_resistant = True
        if profile in ("whfb", "fido2_whfb"):
            methods.append(
                {
                    "@odata.type": NS + "windowsHelloForBusinessAuthenticationMethod",
                    "id": gen.b64id(43),
                    "displayName": f"CONTOSO-LT{(i * 31) % 9000 + 1000}",
                    "keyStrength": "normal",
                    "createdDateTime": iso(later + 3 * HOUR),
                }
            )
            reg.append("windowsHelloForBusiness")
            facts.passwordless = facts.phishing_resistant = True
        if profile == "email":
            given = (roster.given[i] or "user").lower()
            methods.append(
                {
                    "@odata.type": NS + "emailAuthenticationMethod",
                    "id": EMAIL_ID,
                    "emailAddress": f"{given}.{i % 997}@personal-mail.example",
                }
            )
            reg.append("email")
        special = self.specials.get(i)
        if special is not None:
            self._special(special, methods, facts)
        facts.mfa = facts.authenticator or facts.has_phone or facts.oath or facts.phishing_resistant
        facts.strong_other_than_phone = facts.authenticator or facts.oath or facts.phishing_resistant
        return methods, facts

    def _special(self, key: str, methods: list[Json], facts: MethodFacts) -> None:
        story = self.story
        if key == "tier0":
            methods.append(tap(story.tier0_tap, TIER0_TAP_START, TIER0_TAP_LIFETIME, False))
        elif key == "joiner":
            methods.append(tap(story.joiner_tap, JOINER_TAP_START, JOINER_TAP_LIFETIME, True))
        elif key == "onboarded":
            methods.append(tap(story.onboarded_tap, ONBOARDED_TAP_START, ONBOARDED_TAP_LIFETIME, True))
        elif key == "victim":
            methods.append(tap(story.attack_tap, ATTACK_TAP_START, ATTACK_TAP_LIFETIME, False))
            methods.append(
                {
                    "@odata.type": NS + "microsoftAuthenticatorAuthenticationMethod",
                    "id": story.attacker_authenticator,
                    "displayName": ATTACKER_PHONE,
                    "deviceTag": "SoftwareTokenActivated",
                    "phoneAppVersion": "6.8.17",
                    "createdDateTime": iso(ATTACK_AUTHENTICATOR),
                }
            )
            methods.append(
                {
                    "@odata.type": NS + "fido2AuthenticationMethod",
                    "id": story.attacker_passkey,
                    "displayName": "Passkey",
                    "aaGuid": "00000000-0000-0000-0000-000000000000",
                    "model": None,
                    "attestationLevel": "notAttested",
                    "passkeyType": "synced",
                    "attestationCertificates": [],
                    "createdDateTime": iso(ATTACK_PASSKEY),
                }
            )
            facts.registered.extend(["microsoftAuthenticatorPasswordless", "fido2"])
            facts.passwordless = facts.phishing_resistant = facts.authenticator = True
        if any(m["@odata.type"].endswith("temporaryAccessPassAuthenticationMethod") for m in methods):
            facts.registered.append("temporaryAccessPass")


def registration_row(roster: Roster, i: int, facts: MethodFacts, is_admin: bool) -> Json:
    guest = roster.is_guest(i)
    sspr_registered = facts.has_phone or facts.authenticator or "email" in facts.registered
    if facts.authenticator:
        preferred = "push"
    elif facts.oath:
        preferred = "oath"
    elif facts.sms:
        preferred = "sms"
    elif facts.has_phone:
        preferred = "voiceOffice"
    else:
        preferred = "none"
    system = [preferred] if preferred != "none" else []
    return {
        "id": roster.ids[i],
        "userPrincipalName": roster.upns[i],
        "userDisplayName": roster.names[i],
        "userType": "guest" if guest else "member",
        "isAdmin": is_admin,
        "isMfaRegistered": facts.mfa,
        "isMfaCapable": facts.mfa,
        "isPasswordlessCapable": facts.passwordless,
        "isSsprRegistered": sspr_registered,
        "isSsprEnabled": not guest,
        "isSsprCapable": sspr_registered and not guest,
        "isSystemPreferredAuthenticationMethodEnabled": True,
        "methodsRegistered": facts.registered,
        "systemPreferredAuthenticationMethods": system,
        "userPreferredMethodForSecondaryAuthentication": preferred,
        "lastUpdatedDateTime": _REPORT_UPDATED_ISO,
    }
