"""Write a complete demo snapshot directory: Graph collections, logs, manifest and tenant config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from graphlattice.demo._apps import service_principals
from graphlattice.demo._audits import AuditContext
from graphlattice.demo._common import (
    DEMO_NOW,
    DOMAIN,
    CollectionWriter,
    Gen,
    Json,
    LinesWriter,
    iso,
    write_collection,
    write_json,
)
from graphlattice.demo._directory import PERSONA_ADMINS, Directory, plan_directory
from graphlattice.demo._flows import Flows
from graphlattice.demo._groups import group_members, iter_groups
from graphlattice.demo._methods import MethodBuilder, registration_row
from graphlattice.demo._people import COUNTRIES, SYNCED, Roster, build_roster
from graphlattice.demo._policies import (
    CA_KEYS,
    PolicyIds,
    authentication_methods_policy,
    conditional_access,
    named_locations,
    plan_policies,
    strength_policies,
)
from graphlattice.demo._roles import (
    role_assignments,
    role_definitions,
    role_eligibilities,
    role_policies,
)
from graphlattice.demo._signins import SignInContext, ordinary_traffic, pick_active
from graphlattice.demo._story import (
    ATTACKER_IP,
    JOINER_CREATED,
    ONBOARDED_CREATED,
    ONBOARDED_REGISTERED,
    StoryIds,
    plan_story,
)
from graphlattice.entra import roles as R
from graphlattice.errors import UsageError

MIN_USERS = 50
MAX_USERS = 200_000
COLLECTIONS = (
    "users",
    "groups",
    "roleDefinitions",
    "roleAssignments",
    "roleAssignmentScheduleInstances",
    "roleEligibilitySchedules",
    "roleManagementPolicies",
    "roleManagementPolicyAssignments",
    "conditionalAccessPolicies",
    "namedLocations",
    "authenticationStrengthPolicies",
    "authenticationMethodsPolicy",
    "userRegistrationDetails",
    "servicePrincipals",
    "authenticationMethods",
    "directoryAudits",
    "signIns",
)
RISKS = (
    "mfa-registration-gate",
    "tap-policy-weak",
    "tap-issuance-unscoped",
    "tap-issuers-standing-access",
    "tap-active-passes",
    "users-without-mfa",
    "admins-risky-mfa",
    "users-risky-mfa",
    "ca-mfa-bypass-paths",
    "break-glass-accounts",
    "ca-report-only-never-enforced",
)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote, and which objects were planted to exhibit each risk."""

    out_dir: Path
    users: int
    groups: int
    audit_records: int
    signin_records: int
    planted: Mapping[str, list[str]]


def _user_json(roster: Roster, i: int) -> Json:
    guest = roster.is_guest(i)
    country = COUNTRIES[roster.country[i]]
    return {
        "id": roster.ids[i],
        "displayName": roster.names[i],
        "givenName": roster.given[i],
        "surname": roster.surname[i],
        "userPrincipalName": roster.upns[i],
        "mail": roster.mail(i),
        "userType": "Guest" if guest else "Member",
        "accountEnabled": roster.is_enabled(i),
        "department": roster.department(i),
        "jobTitle": roster.title[i],
        "officeLocation": None if guest else country[1],
        "usageLocation": country[0],
        "businessPhones": [],
        "mobilePhone": None,
        "preferredLanguage": None if guest else "en-US",
        "createdDateTime": iso(roster.created[i]),
        "creationType": "Invitation" if guest else None,
        "externalUserState": "Accepted" if guest else None,
        "onPremisesSyncEnabled": True if roster.flags[i] & SYNCED else None,
    }


def _check_users(users: int) -> None:
    if isinstance(users, bool) or not isinstance(users, int):
        raise UsageError(f"--users must be a whole number between {MIN_USERS} and {MAX_USERS}")
    if not MIN_USERS <= users <= MAX_USERS:
        raise UsageError(f"--users must be between {MIN_USERS} and {MAX_USERS} (got {users})")


def generate_demo(
    out_dir: Path, *, users: int = 400, seed: int = 7, progress: Callable[[int, int], None] | None = None
) -> DemoSummary:
    """Write a deterministic demo tenant snapshot (Graph JSON + 14 days of logs) into ``out_dir``.

    The same ``seed`` and ``users`` always produce byte-identical files. ``progress(done, total)`` is called
    as users are written (total = ``users``). ``users`` outside 50..200,000 raises :class:`UsageError`.
    """
    _check_users(users)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen = Gen(seed)
    tenant_id = gen.uuid()
    roster = build_roster(gen, users, PERSONA_ADMINS)
    at = roster.at
    roster.created[at("joiner")] = JOINER_CREATED
    roster.created[at("onboarded")] = ONBOARDED_CREATED
    story = plan_story(gen)
    directory = plan_directory(gen, roster, tenant_id)
    policy_ids = plan_policies(gen)
    planted: dict[str, list[str]] = {risk: [] for risk in (*RISKS, "attack")}

    # Users, their methods and the registration report, streamed together.
    builder = MethodBuilder(gen, roster, story)
    step = max(1000, users // 50)
    with (
        CollectionWriter(out / "users.json") as users_out,
        LinesWriter(out / "authenticationMethods.jsonl") as methods_out,
        CollectionWriter(out / "userRegistrationDetails.json") as report_out,
    ):
        for i in range(users):
            users_out.add(_user_json(roster, i))
            methods, facts = builder.build(i)
            methods_out.add({"userId": roster.ids[i], "value": methods})
            admin = roster.is_admin(i)
            report_out.add(registration_row(roster, i, facts, admin))
            if roster.is_enabled(i) and not roster.is_guest(i):
                if not facts.mfa:
                    planted["users-without-mfa"].append(roster.ids[i])
                elif not facts.strong_other_than_phone:
                    planted["users-risky-mfa"].append(roster.ids[i])
                if admin and not facts.phishing_resistant:
                    planted["admins-risky-mfa"].append(roster.ids[i])
            if progress is not None and (i + 1) % step == 0:
                progress(i + 1, users)
    if progress is not None and users % step:
        progress(users, users)

    with CollectionWriter(out / "groups.json") as groups_out:
        for group in iter_groups(gen, directory, roster):
            groups_out.add(group)
        group_count = groups_out.count

    write_collection(out / "roleDefinitions.json", role_definitions(directory))
    assignments, instances = role_assignments(gen, directory, roster)
    write_collection(out / "roleAssignments.json", assignments)
    write_collection(out / "roleAssignmentScheduleInstances.json", instances)
    write_collection(out / "roleEligibilitySchedules.json", role_eligibilities(gen, directory))
    policies, policy_assignments = role_policies(directory, (roster.ids[at("pra")], roster.names[at("pra")]))
    write_collection(out / "roleManagementPolicies.json", policies)
    write_collection(out / "roleManagementPolicyAssignments.json", policy_assignments)

    ca = conditional_access(policy_ids, directory.groups.breakglass, directory.groups.kiosk)
    write_collection(out / "conditionalAccessPolicies.json", ca)
    write_collection(out / "namedLocations.json", named_locations(policy_ids))
    write_collection(out / "authenticationStrengthPolicies.json", strength_policies(policy_ids))
    write_json(out / "authenticationMethodsPolicy.json", authentication_methods_policy())
    write_collection(out / "servicePrincipals.json", service_principals(gen, directory, tenant_id))

    audits, signins = _write_logs(out, gen, roster, directory, policy_ids, story, tenant_id, ca, planted)

    ids = roster.id_of
    groups = directory.groups
    planted["mfa-registration-gate"] += [policy_ids.ca["registration"], policy_ids.hq_location]
    planted["tap-policy-weak"].append("TemporaryAccessPass")
    planted["tap-issuance-unscoped"].append("TemporaryAccessPass")
    planted["tap-issuers-standing-access"] += [
        ids("operator"),
        ids("paa"),
        ids("helpdesk_aa"),
        ids("tier0"),  # Global Administrator through the role-assignable group "Tier0 Platform Admins"
        ids("au_aa"),
        ids("breakglass2"),  # standing Global Administrator, not declared as break-glass
        directory.sps.helpdesk_automation,
    ]
    planted["tap-active-passes"] += [ids("tier0"), ids("victim"), ids("joiner")]
    planted["ca-mfa-bypass-paths"] += [
        groups.kiosk,
        ids("kiosk_owner"),
        R.AUTHENTICATION_ADMINISTRATOR,
        policy_ids.hq_location,
    ]
    planted["break-glass-accounts"] += [ids("breakglass1"), ids("breakglass2")]
    planted["ca-report-only-never-enforced"] += [policy_ids.ca["registration"], policy_ids.ca["compliant"]]

    write_json(
        out / "manifest.json",
        {
            "tenantId": tenant_id,
            "tenantDisplayName": "Contoso Demo",
            "collectedAt": iso(int(DEMO_NOW.timestamp())),
            "source": "demo",
            "collections": {name: {"status": "ok"} for name in COLLECTIONS},
            "generator": {"seed": seed, "users": users},
        },
    )
    (out / "graphlattice.yaml").write_text(
        "# GraphLattice settings for this tenant (demo).\n"
        "# Declared emergency-access accounts; checks treat them as break-glass, not as ordinary admins.\n"
        "breakGlassAccounts:\n"
        f"  - emergency-access-01@{DOMAIN}\n",
        encoding="utf-8",
    )
    return DemoSummary(out, users, group_count, audits, signins, planted)


def _write_logs(
    out: Path,
    gen: Gen,
    roster: Roster,
    directory: Directory,
    policy_ids: PolicyIds,
    story: StoryIds,
    tenant_id: str,
    ca: list[Json],
    planted: dict[str, list[str]],
) -> tuple[int, int]:
    at = roster.at
    members = group_members(directory, roster)
    signins = SignInContext(
        gen,
        roster,
        directory,
        policy_ids,
        tenant_id,
        breakglass=frozenset(members[directory.groups.breakglass]),
        kiosk=frozenset(members[directory.groups.kiosk]),
        admin_portal_included=frozenset(
            {
                at("defender"),
                at("useradmin"),
                at("tier0"),
                at("operator"),
                at("au_aa"),
                at("breakglass1"),
                at("breakglass2"),
            }
        ),
        admin_portal_excluded=frozenset({at("operator"), at("au_aa")}),
    )
    audits = AuditContext(gen, roster)
    quiet = {"breakglass1", "breakglass2", "joiner", "guest", "tier0"}
    persona_active = [index for key, index in roster.persona.items() if key not in quiet]
    active = pick_active(signins, persona_active)
    portal = frozenset(
        {
            at(k)
            for k in (
                "defender",
                "operator",
                "paa",
                "helpdesk_aa",
                "helpdesk",
                "pra",
                "secadmin",
                "au_aa",
                "useradmin",
            )
        }
        | set(roster.population_admins)
    )
    ordinary_traffic(signins, active, portal, {at("onboarded"): ONBOARDED_REGISTERED + 3600})
    ca_by_key = {key: policy for (key, _), policy in zip(CA_KEYS, ca, strict=True)}
    flows = Flows(signins, audits, roster, directory, policy_ids, story, ca_by_key)
    flows.run()
    planted["attack"] += flows.attack
    assert sum(r["ipAddress"] == ATTACKER_IP for _, _, r in signins.records) == 2
    with LinesWriter(out / "signIns.jsonl") as w:
        for _, _, record in sorted(signins.records, key=lambda r: (r[0], r[1])):
            w.add(record)
        signin_count = w.count
    with LinesWriter(out / "directoryAudits.jsonl") as w:
        for _, _, record in sorted(audits.records, key=lambda r: (r[0], r[1])):
            w.add(record)
        audit_count = w.count
    return audit_count, signin_count
