"""Groups with their complete members and owners."""

from __future__ import annotations

from collections.abc import Iterator

from graphlattice.demo._common import (
    DAY,
    DOMAIN,
    NOW_TS,
    Gen,
    Json,
    days_ago,
    iso,
)
from graphlattice.demo._directory import Directory
from graphlattice.demo._people import DEPARTMENTS, NO_DEPT, Roster

# -- groups -----------------------------------------------------------------------------------------------


def _group(
    gid: str,
    name: str,
    description: str,
    created: int,
    members: list[Json],
    owners: list[Json],
    *,
    assignable: bool = False,
    unified: bool = False,
) -> Json:
    nickname = "".join(ch for ch in name.lower() if ch.isalnum())[:56]
    return {
        "id": gid,
        "displayName": name,
        "description": description,
        "mailNickname": nickname,
        "mail": f"{nickname}@{DOMAIN}" if unified else None,
        "mailEnabled": unified,
        "securityEnabled": not unified,
        "groupTypes": ["Unified"] if unified else [],
        "isAssignableToRole": assignable,
        "visibility": "Private" if unified else None,
        "membershipRule": None,
        "onPremisesSyncEnabled": None,
        "createdDateTime": iso(created),
        "members": members,
        "owners": owners,
    }


_TEAM_TOPICS = (
    "Apollo",
    "Harbour",
    "Northstar",
    "Quarterly Close",
    "Onboarding",
    "Atlas",
    "Beacon",
    "Delta",
    "Evergreen",
    "Falcon",
    "Horizon",
    "Lighthouse",
    "Meridian",
    "Orbit",
    "Pioneer",
    "Summit",
)


def iter_groups(gen: Gen, directory: Directory, roster: Roster) -> Iterator[Json]:
    """Yield every group with complete members and owners (department groups can be very large)."""
    g = directory.groups
    ref = roster.ref
    at = roster.at
    yield _group(
        g.tier0,
        "Tier0 Platform Admins",
        "Platform engineers holding Global Administrator.",
        days_ago(700),
        [ref(at("tier0"))],
        [],
        assignable=True,
    )
    yield _group(
        g.service_desk,
        "Service Desk Tier 2",
        "Senior service desk staff (planned role group).",
        days_ago(500),
        [ref(at("operator")), ref(at("helpdesk_aa")), ref(at("helpdesk"))],
        [],
        assignable=True,
    )
    yield _group(
        g.breakglass,
        "Break Glass - CA Exclusion",
        "Emergency access accounts excluded from Conditional Access.",
        days_ago(1390),
        [ref(at("breakglass1")), ref(at("breakglass2"))],
        [],
        assignable=True,
    )
    yield _group(
        g.kiosk,
        "Legacy Kiosk Devices - MFA Exclusion",
        "Shared kiosk accounts that cannot do MFA. Excluded from the MFA policy.",
        days_ago(980),
        [ref(at("kiosk1")), ref(at("kiosk2"))],
        [ref(at("kiosk_owner"))],
    )
    yield _group(
        g.tap_enrolment,
        "TAP Enrolment - New Joiners",
        "New joiners who may receive a Temporary Access Pass for first registration.",
        days_ago(400),
        [ref(at("joiner")), ref(at("onboarded"))],
        [ref(at("helpdesk_aa"))],
    )
    yield _group(
        g.approvers,
        "PIM Approvers",
        "Approves activation of privileged roles.",
        days_ago(800),
        [ref(at("defender")), ref(at("pra"))],
        [ref(at("defender"))],
    )
    guests = [i for i in range(len(roster)) if roster.is_guest(i)]
    yield _group(
        g.partners,
        "External Partners",
        "Guests from partner organisations.",
        days_ago(600),
        [ref(i) for i in guests],
        [ref(at("useradmin"))],
    )

    by_dept: list[list[int]] = [[] for _ in DEPARTMENTS]
    members_pool: list[int] = []
    for i, d in enumerate(roster.dept):
        if d != NO_DEPT and not roster.is_guest(i):
            by_dept[d].append(i)
            members_pool.append(i)
    for d, name in enumerate(DEPARTMENTS):
        indexes = by_dept[d]
        owners = [ref(indexes[0])] if indexes and d % 2 == 0 else []
        yield _group(
            gen.uuid(),
            f"Dept - {name}",
            f"Everyone in {name}.",
            days_ago(1600 - d),
            [ref(i) for i in indexes],
            owners,
        )
    rng = gen.rng
    for t in range(directory.team_count):
        size = min(len(members_pool), rng.randint(6, 25))
        chosen = sorted(rng.sample(members_pool, size))
        owners = [ref(chosen[0])] + ([ref(chosen[1])] if size > 1 and rng.random() < 0.4 else [])
        topic = _TEAM_TOPICS[t % len(_TEAM_TOPICS)]
        yield _group(
            gen.uuid(),
            f"Team {topic} {t // len(_TEAM_TOPICS) + 1}",
            f"Collaboration space for {topic}.",
            NOW_TS - rng.randrange(20 * DAY, 1200 * DAY),
            [ref(i) for i in chosen],
            owners,
            unified=True,
        )


def group_members(directory: Directory, roster: Roster) -> dict[str, list[int]]:
    """Membership of the special groups, by roster index (CA and logs need it)."""
    at = roster.at
    g = directory.groups
    return {
        g.tier0: [at("tier0")],
        g.breakglass: [at("breakglass1"), at("breakglass2")],
        g.kiosk: [at("kiosk1"), at("kiosk2")],
    }
