"""The fixed timeline of the demo: onboarding passes, a long-lived pass on an admin, and the one attack.

Times are epoch seconds relative to DEMO_NOW (Monday 2026-11-16 09:00 UTC); the company works 08:00-18:00
Central European Time (07:00-17:00 UTC) on weekdays.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphlattice.demo._common import MINUTE, Gen, days_ago, hm

# -- network plan (documentation address blocks only) ------------------------------------------------------
HQ_PREFIX = "203.0.113."  # the trusted HQ range
HOME_PREFIX = "198.51.100."  # home and mobile connections of staff in the usual countries
ATTACKER_IP = "192.0.2.201"  # reserved: no other record uses it
ATTACKER_LOCATION = {
    "city": "Singapore",
    "state": "Singapore",
    "countryOrRegion": "SG",
    "geoCoordinates": {"latitude": 1.2897, "longitude": 103.8501, "altitude": None},
}
ATTACKER_PHONE = "iPhone 15 Pro"
ATTACKER_BROWSER = "Chrome 131.0.0"

# -- Temporary Access Passes -------------------------------------------------------------------------------
TIER0_TAP_START = days_ago(18, at=hm(16, 5, 22))  # before the log window; 30 days, reusable
TIER0_TAP_LIFETIME = 43_200
ONBOARDED_TAP_START = days_ago(5, at=hm(9, 47, 3))  # Wednesday, ticketed onboarding; used, now expired
ONBOARDED_TAP_LIFETIME = 60
ONBOARDED_TAP_SIGNIN = ONBOARDED_TAP_START + 14 * MINUTE + 31
ONBOARDED_REGISTERED = ONBOARDED_TAP_SIGNIN + 2 * MINUTE + 8
JOINER_TAP_START = days_ago(0, at=hm(8, 32, 40))  # this morning, not used yet
JOINER_TAP_LIFETIME = 480
JOINER_CREATED = days_ago(3, at=hm(14, 12, 9))  # Friday afternoon
ONBOARDED_CREATED = days_ago(7, at=hm(10, 3, 51))

# -- the attack (seed 002): Saturday night -----------------------------------------------------------------
ATTACK_OPERATOR_SIGNIN = days_ago(2, at=hm(1, 41, 55))
ATTACK_TAP_START = days_ago(2, at=hm(1, 47, 12))
ATTACK_TAP_LIFETIME = 10_080  # seven days, reusable
ATTACK_TAP_SIGNIN = ATTACK_TAP_START + 19 * MINUTE + 44
ATTACK_REGISTRATION_STARTED = ATTACK_TAP_SIGNIN + 41
ATTACK_AUTHENTICATOR = ATTACK_TAP_SIGNIN + 2 * MINUTE + 10
ATTACK_PASSKEY = ATTACK_TAP_SIGNIN + 5 * MINUTE + 33
ATTACK_FOLLOWUP_SIGNIN = days_ago(1, at=hm(3, 12, 40))  # Sunday: back in with the planted passkey


@dataclass(frozen=True)
class StoryIds:
    """Object ids the story needs in more than one file (methods, audit records, the planted map)."""

    tier0_tap: str
    onboarded_tap: str
    joiner_tap: str
    attack_tap: str
    attacker_authenticator: str
    attacker_passkey: str
    attacker_phone_device: str
    onboarded_authenticator: str


def plan_story(gen: Gen) -> StoryIds:
    return StoryIds(
        gen.uuid(), gen.uuid(), gen.uuid(), gen.uuid(), gen.uuid(), gen.b64id(43), gen.uuid(), gen.uuid()
    )
