"""Scripted events of the log window: admin work, two onboardings, and the one TAP attack."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import orjson

from graphlattice.demo._audits import MS_PIM, WELL_KNOWN, AuditContext, prop, quoted
from graphlattice.demo._common import DAY, HOUR, LOG_DAYS, MINUTE, NOW_TS, Gen, Json, days_ago, hm, iso
from graphlattice.demo._directory import (
    DEFENDER_ACTIVATION,
    HELPDESK_AA_ACTIVATION,
    HELPDESK_AA_ELIGIBLE_SINCE,
    ROLE_NAMES,
    Directory,
)
from graphlattice.demo._methods import phone_device
from graphlattice.demo._people import P, Roster
from graphlattice.demo._policies import (
    GUEST_POLICY_CREATED,
    REGISTRATION_CREATED,
    REGISTRATION_MODIFIED,
    PolicyIds,
)
from graphlattice.demo._signins import (
    AZURE_PORTAL,
    HQ_LOCATION,
    MY_SIGNINS,
    OFFICE,
    PASSKEY_STEP,
    UA_CHROME,
    SignInContext,
    home_ip,
    home_location,
    hq_ip,
    step,
)
from graphlattice.demo._story import (
    ATTACK_AUTHENTICATOR,
    ATTACK_FOLLOWUP_SIGNIN,
    ATTACK_OPERATOR_SIGNIN,
    ATTACK_PASSKEY,
    ATTACK_TAP_LIFETIME,
    ATTACK_TAP_SIGNIN,
    ATTACK_TAP_START,
    ATTACKER_BROWSER,
    ATTACKER_IP,
    ATTACKER_LOCATION,
    ATTACKER_PHONE,
    JOINER_CREATED,
    JOINER_TAP_LIFETIME,
    JOINER_TAP_START,
    ONBOARDED_CREATED,
    ONBOARDED_REGISTERED,
    ONBOARDED_TAP_LIFETIME,
    ONBOARDED_TAP_SIGNIN,
    ONBOARDED_TAP_START,
    StoryIds,
)
from graphlattice.entra import roles as R

TAP_STEP_RESULT = "MFA requirement satisfied by strong authentication"
ATTACKER_DEVICE: Json = {
    "deviceId": "",
    "displayName": None,
    "operatingSystem": "Windows10",
    "browser": ATTACKER_BROWSER,
    "isCompliant": False,
    "isManaged": False,
    "trustType": None,
}


@dataclass
class Flows:
    signins: SignInContext
    audits: AuditContext
    roster: Roster
    directory: Directory
    policies: PolicyIds
    story: StoryIds
    ca_policies: dict[str, Json]
    attack: list[str] = field(default_factory=list)

    # -- building blocks -----------------------------------------------------------------------------------

    def portal_signin(self, ts: int, i: int, *, at_hq: bool = True) -> str:
        roster = self.roster
        ip = hq_ip(i) if at_hq else home_ip(roster, i)
        location = HQ_LOCATION if at_hq else home_location(roster, i)
        profile = roster.profile[i]
        if profile in (P["fido2"], P["fido2_whfb"], P["fido2x2"]):
            steps = [step(ts, PASSKEY_STEP, None, "Primary authentication", TAP_STEP_RESULT)]
            strong = True
        elif profile == P["whfb"]:
            steps = [step(ts, "Windows Hello for Business", None, "Primary authentication", TAP_STEP_RESULT)]
            strong = True
        else:
            method = "SMS" if profile in (P["sms"], P["sms_voice"]) else "Authenticator App"
            detail = phone_device(i) if method == "Authenticator App" else None
            steps = [
                step(ts, "Password", "Password in the cloud", "Primary authentication", "Correct password"),
                step(ts + 14, method, detail, "MFA", "MFA successfully completed"),
            ]
            strong = False
        return self.signins.add(ts, i, AZURE_PORTAL, ip, location, steps, strong=strong)

    def role_change(self, ts: int, activity: str, role: str, i: int) -> None:
        name = ROLE_NAMES[role][0]
        props = [
            prop("Role.ObjectID", None, quoted(role)),
            prop("Role.DisplayName", None, quoted(name)),
            prop("Role.TemplateId", None, quoted(role)),
        ]
        if role in WELL_KNOWN:
            props.append(prop("Role.WellKnownObjectName", None, quoted(WELL_KNOWN[role])))
        self.audits.add(
            ts,
            "Core Directory",
            "RoleManagement",
            activity,
            "Unassign" if activity.startswith("Remove") else "Assign",
            {"user": None, "app": dict(MS_PIM)},
            [self.audits.user_target(i, props), self.audits.target(role, name, "Role")],
        )

    def pim_activation(
        self,
        request: int,
        i: int,
        role: str,
        justification: str,
        hours: int,
        approver: int | None = None,
        completed: int | None = None,
    ) -> int:
        """Request, optional approval, completion and (if already over) expiry of one PIM activation."""
        a = self.audits
        name = ROLE_NAMES[role][0]
        start = completed or (request + (21 * MINUTE if approver is not None else 9))
        end = start + hours * HOUR
        targets = [a.target(role, name, "Role"), a.user_target(i)]
        details = [("Justification", justification), ("StartTime", iso(start)), ("ExpirationTime", iso(end))]
        actor = a.by_user(i, hq_ip(i))
        correlation = self.signins.gen.uuid()
        if approver is not None:
            a.add(
                request,
                "PIM",
                "RoleManagement",
                "Add member to role requested (PIM activation)",
                "Create",
                actor,
                targets,
                result_reason=justification,
                details=details,
                correlation=correlation,
            )
            a.add(
                start - 5,
                "PIM",
                "RoleManagement",
                "Add member to role request approved (PIM activation)",
                "Update",
                a.by_user(approver, hq_ip(approver)),
                targets,
                result_reason="Approved",
                details=details,
                correlation=correlation,
            )
        a.add(
            start,
            "PIM",
            "RoleManagement",
            "Add member to role completed (PIM activation)",
            "Add",
            actor,
            targets,
            result_reason=justification,
            details=details,
            correlation=correlation,
        )
        self.role_change(start + 2, "Add member to role", role, i)
        if end < NOW_TS:
            a.add(
                end,
                "PIM",
                "RoleManagement",
                "Remove member from role (PIM activation expired)",
                "Delete",
                {"user": None, "app": dict(MS_PIM)},
                targets,
                result_reason="Timebound activation expired",
            )
            self.role_change(end + 3, "Remove member from role", role, i)
        return start

    def add_user(self, ts: int, actor: int, i: int) -> None:
        roster = self.roster
        props = [
            prop("AccountEnabled", "[]", "[true]"),
            prop("DisplayName", "[]", orjson.dumps([roster.names[i]]).decode()),
            prop("UserPrincipalName", "[]", orjson.dumps([roster.upns[i]]).decode()),
            prop("UserType", "[]", '["Member"]'),
        ]
        self.audits.add(
            ts,
            "Core Directory",
            "UserManagement",
            "Add user",
            "Add",
            self.audits.by_user(actor, hq_ip(actor)),
            [self.audits.user_target(i, props)],
        )

    def add_to_group(self, ts: int, actor: int, i: int, group_id: str, group_name: str) -> None:
        a = self.audits
        props = [
            prop("Group.ObjectID", None, quoted(group_id)),
            prop("Group.DisplayName", None, quoted(group_name)),
        ]
        a.add(
            ts,
            "Core Directory",
            "GroupManagement",
            "Add member to group",
            "Assign",
            a.by_user(actor, hq_ip(actor)),
            [a.user_target(i, props), a.target(group_id, group_name, "Group", group_type="azureAD")],
        )

    # -- the script ----------------------------------------------------------------------------------------

    def run(self) -> None:
        self.admin_work()
        self.onboarding()
        self.housekeeping()
        self.attack_sequence()

    def admin_work(self) -> None:
        at = self.roster.at
        defender, pra, secadmin, paa = at("defender"), at("pra"), at("secadmin"), at("paa")
        for days in (11, 7, 4):
            request = days_ago(days, at=hm(9, 2, 17 + days))
            self.portal_signin(request - 6 * MINUTE, defender)
            self.pim_activation(
                request,
                defender,
                R.GLOBAL_ADMINISTRATOR,
                "Quarterly access review follow-up",
                4,
                approver=pra,
            )
        self.portal_signin(DEFENDER_ACTIVATION[0] - 14 * MINUTE, defender)
        self.pim_activation(
            DEFENDER_ACTIVATION[0] - 8 * MINUTE,
            defender,
            R.GLOBAL_ADMINISTRATOR,
            "Weekly tenant hygiene",
            4,
            approver=pra,
            completed=DEFENDER_ACTIVATION[0],
        )
        # The Privileged Role Administrator makes the analyst eligible for Authentication Administrator.
        request = HELPDESK_AA_ELIGIBLE_SINCE - 6 * MINUTE - 40
        self.portal_signin(request - 4 * MINUTE, pra)
        self.pim_activation(
            request - 21 * MINUTE,
            pra,
            R.PRIVILEGED_ROLE_ADMINISTRATOR,
            "Role changes CHG0007311",
            2,
            approver=defender,
            completed=request,
        )
        a = self.audits
        casey = at("helpdesk_aa")
        name = ROLE_NAMES[R.AUTHENTICATION_ADMINISTRATOR][0]
        a.add(
            HELPDESK_AA_ELIGIBLE_SINCE,
            "PIM",
            "RoleManagement",
            "Add eligible member to role in PIM completed (timebound)",
            "Add",
            a.by_user(pra, hq_ip(pra)),
            [a.target(R.AUTHENTICATION_ADMINISTRATOR, name, "Role"), a.user_target(casey)],
            result_reason="Service desk onboarding duties CHG0007311",
            details=[
                ("StartTime", iso(HELPDESK_AA_ELIGIBLE_SINCE)),
                ("ExpirationTime", iso(HELPDESK_AA_ELIGIBLE_SINCE + 180 * DAY)),
            ],
        )
        self.role_change(
            HELPDESK_AA_ELIGIBLE_SINCE + 4,
            "Add eligible member to role",
            R.AUTHENTICATION_ADMINISTRATOR,
            casey,
        )
        # Privileged Authentication Administrator: no approval needed.
        self.portal_signin(days_ago(10, at=hm(10, 1)), paa)
        self.pim_activation(
            days_ago(10, at=hm(10, 5, 12)),
            paa,
            R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
            "Reset MFA for travelling exec INC0051120",
            8,
        )
        # Security Administrator activates and adds a report-only guest policy.
        self.portal_signin(days_ago(9, at=hm(12, 54)), secadmin)
        self.pim_activation(
            days_ago(9, at=hm(12, 58, 40)),
            secadmin,
            R.SECURITY_ADMINISTRATOR,
            "New guest session policy CHG0007298",
            8,
            approver=defender,
        )
        guest_policy = self.ca_policies["guest_frequency"]
        a.add(
            GUEST_POLICY_CREATED,
            "Conditional Access",
            "Policy",
            "Add conditional access policy",
            "Add",
            a.by_user(secadmin, hq_ip(secadmin)),
            [
                a.target(
                    guest_policy["id"],
                    guest_policy["displayName"],
                    "Policy",
                    [prop("ConditionalAccessPolicy", None, orjson.dumps(guest_policy).decode())],
                )
            ],
        )
        # The registration gate was created, then a trusted-location exclusion was added (before the window).
        gate = self.ca_policies["registration"]
        before = orjson.loads(orjson.dumps(gate))
        before["conditions"]["locations"] = None
        before["modifiedDateTime"] = None
        a.add(
            REGISTRATION_CREATED,
            "Conditional Access",
            "Policy",
            "Add conditional access policy",
            "Add",
            a.by_user(defender, hq_ip(defender)),
            [
                a.target(
                    gate["id"],
                    gate["displayName"],
                    "Policy",
                    [prop("ConditionalAccessPolicy", None, orjson.dumps(before).decode())],
                )
            ],
        )
        a.add(
            REGISTRATION_MODIFIED,
            "Conditional Access",
            "Policy",
            "Update conditional access policy",
            "Update",
            a.by_user(defender, hq_ip(defender)),
            [
                a.target(
                    gate["id"],
                    gate["displayName"],
                    "Policy",
                    [
                        prop(
                            "ConditionalAccessPolicy",
                            orjson.dumps(before).decode(),
                            orjson.dumps(gate).decode(),
                        )
                    ],
                )
            ],
        )
        # The platform engineer (Global Administrator through a group) is stopped at the admin portals.
        self.portal_signin(days_ago(6, at=hm(10, 15, 3)), at("tier0"))
        # Break-glass sign-in test.
        self.portal_signin(days_ago(10, at=hm(11, 0, 31)), at("breakglass1"))

    def onboarding(self) -> None:
        at = self.roster.at
        a = self.audits
        story = self.story
        casey, rowan = at("helpdesk_aa"), at("useradmin")
        groups = self.directory.groups
        # Mila: created last Monday, Temporary Access Pass on Wednesday under a ticket, used at HQ once.
        mila = at("onboarded")
        self.add_user(ONBOARDED_CREATED, rowan, mila)
        self.portal_signin(ONBOARDED_TAP_START - 24 * MINUTE, casey)
        self.pim_activation(
            ONBOARDED_TAP_START - 16 * MINUTE,
            casey,
            R.AUTHENTICATION_ADMINISTRATOR,
            "REQ0041733 new joiner onboarding (Mila Jansen)",
            8,
        )
        self.add_to_group(
            ONBOARDED_TAP_START - 5 * MINUTE, casey, mila, groups.tap_enrolment, "TAP Enrolment - New Joiners"
        )
        a.tap_issued(
            ONBOARDED_TAP_START,
            a.by_user(casey, hq_ip(casey)),
            mila,
            story.onboarded_tap,
            ONBOARDED_TAP_LIFETIME,
            True,
        )
        self.signins.add(
            ONBOARDED_TAP_SIGNIN,
            mila,
            MY_SIGNINS,
            hq_ip(mila),
            HQ_LOCATION,
            [
                step(
                    ONBOARDED_TAP_SIGNIN,
                    "Temporary Access Pass",
                    None,
                    "Primary authentication",
                    TAP_STEP_RESULT,
                )
            ],
        )
        a.user_registered(
            ONBOARDED_REGISTERED,
            mila,
            hq_ip(mila),
            "User registered Authenticator App with Notification and Code",
        )
        a.add(
            ONBOARDED_REGISTERED + 22,
            "Authentication Methods",
            "UserManagement",
            "User registered all required security info",
            "Add",
            a.by_user(mila, hq_ip(mila)),
            [a.user_target(mila)],
            result_reason="User registered all required security info",
        )
        # Noah: created on Friday; this morning the service desk issues his first pass (not used yet).
        noah = at("joiner")
        self.add_user(JOINER_CREATED, rowan, noah)
        self.portal_signin(HELPDESK_AA_ACTIVATION[0] - 7 * MINUTE, casey)
        self.pim_activation(
            HELPDESK_AA_ACTIVATION[0] - 9,
            casey,
            R.AUTHENTICATION_ADMINISTRATOR,
            "REQ0041872 new joiner onboarding (Noah Feld)",
            8,
            completed=HELPDESK_AA_ACTIVATION[0],
        )
        self.add_to_group(
            JOINER_TAP_START - 6 * MINUTE - 11,
            casey,
            noah,
            groups.tap_enrolment,
            "TAP Enrolment - New Joiners",
        )
        a.tap_issued(
            JOINER_TAP_START,
            a.by_user(casey, hq_ip(casey)),
            noah,
            story.joiner_tap,
            JOINER_TAP_LIFETIME,
            True,
        )

    def housekeeping(self) -> None:
        """Password resets, a few self-service registrations, and phone updates by the automation app."""
        roster = self.roster
        rng = self.signins.gen.rng
        a = self.audits
        at = roster.at
        helpdesk = [at("helpdesk"), at("helpdesk_aa")]
        persona = set(roster.persona.values())
        ordinary = [
            i
            for i in range(len(roster))
            if i not in persona and roster.is_enabled(i) and not roster.is_guest(i) and not roster.is_admin(i)
        ]
        per_day = min(9, 1 + len(roster) // 25_000)
        start = NOW_TS - LOG_DAYS * DAY
        start -= start % DAY
        for day in range(LOG_DAYS):
            midnight = start + (day + 1) * DAY
            if (midnight // DAY + 3) % 7 >= 5 or midnight + 17 * HOUR > NOW_TS:
                continue
            for _ in range(per_day):
                ts = midnight + 7 * HOUR + 30 * MINUTE + rng.randrange(0, 9 * HOUR)
                actor = helpdesk[rng.randrange(2)]
                target = ordinary[rng.randrange(len(ordinary))]
                correlation = self.signins.gen.uuid()
                a.add(
                    ts,
                    "Self-service Password Management",
                    "UserManagement",
                    "Reset password (by admin)",
                    "Update",
                    a.by_user(actor, hq_ip(actor)),
                    [a.user_target(target)],
                    result_reason="Successfully completed reset.",
                    correlation=correlation,
                )
                a.add(
                    ts + 1,
                    "Core Directory",
                    "UserManagement",
                    "Reset user password",
                    "Update",
                    a.by_user(actor, hq_ip(actor)),
                    [a.user_target(target)],
                    correlation=correlation,
                )
        pushers = [i for i in ordinary if roster.profile[i] == P["push"]]
        for days in (12, 8, 5, 2):
            if not pushers:
                break
            i = pushers[rng.randrange(len(pushers))]
            ts = days_ago(days, at=hm(8, 0) + rng.randrange(0, 8 * HOUR))
            a.user_registered(
                ts, i, home_ip(roster, i), "User registered Authenticator App with Notification and Code"
            )
        texters = [i for i in ordinary if roster.profile[i] == P["sms"]]
        sps = self.directory.sps
        for days in (8, 3):
            if not texters:
                break
            i = texters[rng.randrange(len(texters))]
            ts = days_ago(days, at=hm(6, 30) + rng.randrange(0, 2 * HOUR))
            a.add(
                ts,
                "Authentication Methods",
                "UserManagement",
                "Admin updated security info",
                "Update",
                a.by_app(sps.helpdesk_app_id, "Helpdesk Automation", sps.helpdesk_automation),
                [a.user_target(i)],
                result_reason="Admin changed phone method for user",
            )

    def attack_sequence(self) -> None:
        """Seed 002: a standing Authentication Administrator bootstraps persistent MFA on a victim."""
        roster = self.roster
        at = roster.at
        a = self.audits
        story = self.story
        operator, victim = at("operator"), at("victim")
        home = home_ip(roster, operator)
        planted = self.attack
        planted += [
            roster.ids[operator],
            roster.ids[victim],
            story.attack_tap,
            story.attacker_authenticator,
            story.attacker_passkey,
        ]
        planted.append(
            self.signins.add(
                ATTACK_OPERATOR_SIGNIN,
                operator,
                AZURE_PORTAL,
                home,
                home_location(roster, operator),
                [
                    step(
                        ATTACK_OPERATOR_SIGNIN,
                        "Password",
                        "Password in the cloud",
                        "Primary authentication",
                        "Correct password",
                    ),
                    step(
                        ATTACK_OPERATOR_SIGNIN + 17,
                        "Authenticator App",
                        phone_device(operator),
                        "MFA",
                        "MFA successfully completed",
                    ),
                ],
            )
        )
        planted.append(
            a.tap_issued(
                ATTACK_TAP_START,
                a.by_user(operator, home),
                victim,
                story.attack_tap,
                ATTACK_TAP_LIFETIME,
                False,
            )
        )
        planted.append(
            self.signins.add(
                ATTACK_TAP_SIGNIN,
                victim,
                MY_SIGNINS,
                ATTACKER_IP,
                ATTACKER_LOCATION,
                [
                    step(
                        ATTACK_TAP_SIGNIN,
                        "Temporary Access Pass",
                        None,
                        "Primary authentication",
                        TAP_STEP_RESULT,
                    )
                ],
                device=(ATTACKER_DEVICE, UA_CHROME),
            )
        )
        planted.append(
            a.user_registered(
                ATTACK_AUTHENTICATOR, victim, ATTACKER_IP, "User registered Microsoft Authenticator App"
            )
        )
        planted.append(
            a.add(
                ATTACK_AUTHENTICATOR + 3,
                "Device Registration Service",
                "UserManagement",
                "Add passwordless phone sign-in credential",
                "Add",
                a.by_user(victim, ATTACKER_IP),
                [a.user_target(victim), a.target(story.attacker_phone_device, ATTACKER_PHONE, "Device")],
                details=[("User-Agent", UA_CHROME)],
            )
        )
        planted.append(
            a.passkey_options(
                ATTACK_PASSKEY - 9,
                victim,
                ATTACKER_IP,
                gen=Gen(zlib.crc32(story.attacker_passkey.encode())),  # the other records keep their ids
            )
        )
        planted.append(
            a.user_registered(
                ATTACK_PASSKEY, victim, ATTACKER_IP, "User registered Fido2 Authentication Method"
            )
        )
        planted.append(
            a.add(
                ATTACK_PASSKEY + 2,
                "Device Registration Service",
                "UserManagement",
                "Add FIDO2 security key",
                "Add",
                a.by_user(victim, ATTACKER_IP),
                [a.user_target(victim)],
                details=[("User-Agent", UA_CHROME)],
            )
        )
        planted.append(
            self.signins.add(
                ATTACK_FOLLOWUP_SIGNIN,
                victim,
                OFFICE,
                ATTACKER_IP,
                ATTACKER_LOCATION,
                [
                    step(
                        ATTACK_FOLLOWUP_SIGNIN,
                        PASSKEY_STEP,
                        "Passkey",
                        "Primary authentication",
                        TAP_STEP_RESULT,
                    )
                ],
                strong=True,
                device=(ATTACKER_DEVICE, UA_CHROME),
            )
        )
