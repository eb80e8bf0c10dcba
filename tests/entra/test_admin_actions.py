"""Every role x action cell for the roles of graph.md §4.1, written independently of the YAML table.

Sources: MicrosoftDocs/entra-docs docs/identity/role-based-access-control/delegate-by-task.md; Graph role
notes (rbac-authentication-methods-policy-apis-write, rbac-pim-entra-roles-apis, rbac-directoryaudit-apis,
rbac-authentication-methods-apis-read-others, signin-list); pim-how-to-change-default-settings.md; for
actions on one user, privileged-roles-permissions.md (the authority matrices).
"""

from __future__ import annotations

import pytest

from graphlattice.entra import roles as R
from graphlattice.entra.admin_actions import AdminAction, can_perform, roles_for
from graphlattice.entra.authority import Action, TargetProfile, decide

ROLES = {
    "GA": R.GLOBAL_ADMINISTRATOR,
    "PAA": R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    "AA": R.AUTHENTICATION_ADMINISTRATOR,
    "HA": R.HELPDESK_ADMINISTRATOR,
    "UA": R.USER_ADMINISTRATOR,
    "PRA": R.PRIVILEGED_ROLE_ADMINISTRATOR,
    "APA": R.AUTHENTICATION_POLICY_ADMINISTRATOR,
    "SA": R.SECURITY_ADMINISTRATOR,
    "PA": R.PASSWORD_ADMINISTRATOR,
    "CAA": R.CONDITIONAL_ACCESS_ADMINISTRATOR,
    "GR": R.GLOBAL_READER,
    "SR": R.SECURITY_READER,
    "SO": R.SECURITY_OPERATOR,
    "RR": R.REPORTS_READER,
    "GrA": R.GROUPS_ADMINISTRATOR,
    "DR": R.DIRECTORY_READERS,
    "GI": R.GUEST_INVITER,
    "MCR": R.MESSAGE_CENTER_READER,
    "UXSM": R.USER_EXPERIENCE_SUCCESS_MANAGER,
    "USRR": R.USAGE_SUMMARY_REPORTS_READER,
    "HIA": R.HYBRID_IDENTITY_ADMINISTRATOR,
    "AppA": R.APPLICATION_ADMINISTRATOR,
    "CAppA": R.CLOUD_APPLICATION_ADMINISTRATOR,
    "CDA": "7698a772-787b-4ac8-901f-60d6b08affd2",  # Cloud Device Administrator
    "GSA": "ac434307-12b9-4fa1-a708-88bf58caabc1",  # Global Secure Access Administrator
    "SOC": R.ENTRA_SOC_IDENTITY_RESPONDER,
    "T1": R.PARTNER_TIER1_SUPPORT,
    "T2": R.PARTNER_TIER2_SUPPORT,
}

A = AdminAction
ALLOWED = {
    A.UPDATE_AUTH_METHODS_POLICY: {"APA", "GA"},
    A.UPDATE_TAP_POLICY: {"APA", "GA"},
    A.CREATE_CA_POLICY: {"CAA", "SA", "GA"},
    A.UPDATE_CA_POLICY: {"CAA", "SA", "GA"},
    A.DELETE_CA_POLICY: {"CAA", "SA", "GA"},
    A.MANAGE_ROLE_ASSIGNMENTS: {"PRA", "GA"},
    A.MANAGE_ROLE_ELIGIBILITY: {"PRA", "GA"},
    A.UPDATE_ROLE_SETTINGS: {"PRA", "GA"},
    A.APPROVE_ROLE_ACTIVATION: {"PRA", "GA"},
    # "Read audit and sign-in logs" (delegate-by-task, 2026-06-17), plus Global Reader.
    A.READ_AUDIT_LOGS: {"RR", "SR", "SO", "SA", "GR", "GA", "AppA", "CAppA", "CDA", "GSA", "HIA"},
    A.READ_SIGN_IN_LOGS: {"RR", "SR", "SO", "SA", "GR", "GA", "AppA", "CAppA", "CDA", "GSA", "HIA"},
    A.READ_USER_AUTH_METHODS: {"GR", "AA", "PAA", "GA"},
    A.READ_CONDITIONAL_ACCESS: {"SR", "GR", "CAA", "SA", "GA"},
    A.READ_AUTH_METHODS_POLICY: {"GR", "APA", "GA"},
    A.READ_ROLE_MANAGEMENT: {"SR", "SO", "GR", "SA", "PRA", "GA"},
    A.READ_AUTH_METHOD_REPORTS: {"RR", "SR", "SO", "GR", "SA", "AppA", "CAppA", "GA"},
    # On an ordinary user (no admin role). Password Administrator resets passwords but cannot revoke
    # sessions; the 2026 security roles reset, revoke and disable non-administrators; Partner Tier1 and
    # Tier2 Support reset and revoke.
    A.REVOKE_SIGN_IN_SESSIONS: {"SOC", "HA", "SO", "AA", "UA", "SA", "T1", "T2", "PAA", "GA"},
    A.RESET_PASSWORD: {"PA", "SOC", "HA", "SO", "AA", "UA", "SA", "T1", "T2", "PAA", "GA"},
    A.MANAGE_USER_AUTH_METHODS: {"AA", "PAA", "GA"},
    A.UPDATE_ACCOUNT_ENABLED: {"SOC", "SO", "AA", "UA", "SA", "PAA", "GA"},
}
CELLS = [(action, short, short in allowed) for action, allowed in ALLOWED.items() for short in ROLES]


def test_every_action_is_covered() -> None:
    assert set(ALLOWED) == set(AdminAction)


@pytest.mark.parametrize(("action", "role", "allowed"), CELLS)
def test_cell(action: AdminAction, role: str, allowed: bool) -> None:
    assert can_perform(action, [ROLES[role]]).allowed is allowed


@pytest.mark.parametrize("action", list(AdminAction))
def test_roles_for(action: AdminAction) -> None:
    assert roles_for(action) == frozenset(ROLES[s] for s in ALLOWED[action])


def test_no_roles_is_denied_everywhere() -> None:
    assert not any(can_perform(action, []).allowed for action in AdminAction)


def test_denial_reason_names_the_roles_needed() -> None:
    decision = can_perform(A.UPDATE_CA_POLICY, [R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR])
    assert decision.allowed is False and decision.via_role is None
    assert decision.reason == (
        "The signed-in user lacks a role that may update Conditional Access policies (needs "
        "Conditional Access Administrator, Security Administrator or Global Administrator)"
    )


def test_privileged_authentication_administrator_manages_credentials_not_policy() -> None:
    paa = [R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR]
    for action in (A.READ_AUDIT_LOGS, A.CREATE_CA_POLICY, A.UPDATE_ROLE_SETTINGS, A.UPDATE_TAP_POLICY):
        assert can_perform(action, paa).allowed is False
    admin_target = TargetProfile(frozenset({R.GLOBAL_ADMINISTRATOR}))
    assert can_perform(A.MANAGE_USER_AUTH_METHODS, paa, target=admin_target).allowed is True


def test_via_role_is_the_least_privileged_held() -> None:
    decision = can_perform(A.CREATE_CA_POLICY, [R.GLOBAL_ADMINISTRATOR, R.CONDITIONAL_ACCESS_ADMINISTRATOR])
    assert decision.allowed and decision.via_role == R.CONDITIONAL_ACCESS_ADMINISTRATOR
    assert decision.reason == "Conditional Access Administrator may create Conditional Access policies"
    logs = can_perform(A.READ_AUDIT_LOGS, [R.SECURITY_ADMINISTRATOR.upper(), R.REPORTS_READER])
    assert logs.via_role == R.REPORTS_READER


def test_accepts_action_values_as_strings() -> None:
    assert can_perform("readSignInLogs", [R.SECURITY_OPERATOR]).allowed is True
    with pytest.raises(ValueError):
        can_perform("rebootTenant", [R.GLOBAL_ADMINISTRATOR])


# --- PIM approval ---


def test_named_approvers_replace_the_default_approvers() -> None:
    # Approvers named in the role's policy need no role; default approvers lose the right.
    assert can_perform(A.APPROVE_ROLE_ACTIVATION, [], designated_approver=True).allowed is True
    ga = [R.GLOBAL_ADMINISTRATOR]
    assert can_perform(A.APPROVE_ROLE_ACTIVATION, ga, designated_approver=False).allowed is False
    assert can_perform(A.APPROVE_ROLE_ACTIVATION, ga, designated_approver=None).allowed is True


# --- actions on one user go through the authority matrices ---

TARGET_TO_AUTHORITY = {
    A.REVOKE_SIGN_IN_SESSIONS: Action.INVALIDATE_REFRESH_TOKENS,
    A.RESET_PASSWORD: Action.RESET_PASSWORD,
    A.MANAGE_USER_AUTH_METHODS: Action.MANAGE_AUTH_METHODS,
    A.UPDATE_ACCOUNT_ENABLED: Action.UPDATE_ACCOUNT_ENABLED,
}
TARGETS = [
    TargetProfile(frozenset()),
    TargetProfile(frozenset({R.GLOBAL_ADMINISTRATOR})),
    TargetProfile(frozenset({R.HELPDESK_ADMINISTRATOR})),
    TargetProfile(frozenset(), in_role_assignable_group=True),
]


@pytest.mark.parametrize("action", list(TARGET_TO_AUTHORITY))
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("role", list(ROLES))
def test_target_actions_match_authority(action: AdminAction, target: TargetProfile, role: str) -> None:
    expected = decide(TARGET_TO_AUTHORITY[action], [ROLES[role]], target)
    assert can_perform(action, [ROLES[role]], target=target) == expected


def test_helpdesk_cannot_revoke_a_global_administrator() -> None:
    target = TargetProfile(frozenset({R.GLOBAL_ADMINISTRATOR}))
    assert can_perform(A.REVOKE_SIGN_IN_SESSIONS, [R.HELPDESK_ADMINISTRATOR], target=target).allowed is False
    assert can_perform(
        A.REVOKE_SIGN_IN_SESSIONS, [R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR], target=target
    ).allowed


def test_nobody_disables_their_own_account_through_admin_apis() -> None:
    decision = can_perform(A.UPDATE_ACCOUNT_ENABLED, [R.GLOBAL_ADMINISTRATOR], actor_is_target=True)
    assert decision.allowed is False
