"""Temporary Access Pass policy semantics.

Sources: MicrosoftDocs/entra-docs docs/identity/authentication/howto-authentication-temporary-access-pass.md;
Graph v1.0 temporaryAccessPassAuthenticationMethodConfiguration / temporaryAccessPassAuthenticationMethod.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from graphlattice.entra.tap import TapGrant, TapPolicy, TapPolicyViolation, issue_refusal
from graphlattice.errors import EntraRuleError, InputError

HELPDESK_GROUP = "6f1c2d3e-1111-4aaa-8bbb-000000000001"
BREAKGLASS_GROUP = "6f1c2d3e-1111-4aaa-8bbb-000000000002"
USER = "30a6c29d-de7c-4830-815f-9b3bb366e975"


def _config(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        "id": "TemporaryAccessPass",
        "state": "enabled",
        "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}],
        "excludeTargets": [],
    }
    base.update(fields)
    return base


def test_absent_configuration_takes_documented_defaults() -> None:
    configs: list[dict[str, Any] | None] = [None, {}]
    for config in configs:
        policy = TapPolicy.from_graph(config)
        assert not policy.enabled
        assert (policy.minimum_lifetime, policy.maximum_lifetime, policy.default_lifetime) == (60, 480, 60)
        assert policy.is_usable_once is False
        assert policy.default_length == 8
        assert policy.include_targets == () and policy.exclude_targets == ()


def test_explicit_fields_are_read() -> None:
    policy = TapPolicy.from_graph(
        _config(
            state="Enabled",
            minimumLifetimeInMinutes=10,
            maximumLifetimeInMinutes=120,
            defaultLifetimeInMinutes=30,
            isUsableOnce=True,
            defaultLength=12,
        )
    )
    assert policy.enabled
    assert (policy.minimum_lifetime, policy.maximum_lifetime, policy.default_lifetime) == (10, 120, 30)
    assert policy.is_usable_once and policy.default_length == 12


def test_targets() -> None:
    everyone = TapPolicy.from_graph(_config())
    assert everyone.includes_all_users and everyone.included_group_ids == frozenset()
    groups = TapPolicy.from_graph(
        _config(
            includeTargets=[
                {"targetType": "group", "id": HELPDESK_GROUP.upper()},
                {"targetType": "user", "id": USER},
            ]
        )
    )
    assert not groups.includes_all_users
    assert groups.included_group_ids == {HELPDESK_GROUP}


@pytest.mark.parametrize(
    ("config", "groups", "expected"),
    [
        (_config(), [], True),
        (_config(state="disabled"), [], False),
        (
            _config(excludeTargets=[{"targetType": "group", "id": BREAKGLASS_GROUP}]),
            [BREAKGLASS_GROUP],
            False,
        ),
        (_config(excludeTargets=[{"targetType": "group", "id": BREAKGLASS_GROUP}]), [HELPDESK_GROUP], True),
        (
            _config(includeTargets=[{"targetType": "group", "id": HELPDESK_GROUP}]),
            [HELPDESK_GROUP.upper()],
            True,
        ),
        (_config(includeTargets=[{"targetType": "group", "id": HELPDESK_GROUP}]), [BREAKGLASS_GROUP], False),
        (_config(includeTargets=[{"targetType": "user", "id": USER.upper()}]), [], True),
        (_config(includeTargets=[]), [HELPDESK_GROUP], False),
        (_config(excludeTargets=[{"targetType": "user", "id": USER}]), [], False),
    ],
)
def test_usable_by(config: dict[str, Any], groups: list[str], expected: bool) -> None:
    assert TapPolicy.from_graph(config).usable_by(USER, groups) is expected


POLICY = _config(minimumLifetimeInMinutes=60, maximumLifetimeInMinutes=480, defaultLifetimeInMinutes=120)


@pytest.mark.parametrize(
    ("config", "lifetime", "once", "grant"),
    [
        (POLICY, None, None, TapGrant(120, False, 8)),
        (POLICY, 60, True, TapGrant(60, True, 8)),
        (POLICY, 480, False, TapGrant(480, False, 8)),
        ({**POLICY, "isUsableOnce": True}, None, None, TapGrant(120, True, 8)),
        ({**POLICY, "isUsableOnce": True}, 90, True, TapGrant(90, True, 8)),
    ],
)
def test_resolve_request_grants(
    config: dict[str, Any], lifetime: int | None, once: bool | None, grant: TapGrant
) -> None:
    assert TapPolicy.from_graph(config).resolve_request(lifetime, once) == grant


@pytest.mark.parametrize(
    ("config", "lifetime", "once", "message"),
    [
        (POLICY, 59, None, "A lifetime of 59 minutes is outside the policy's range of 60 to 480 minutes"),
        (POLICY, 481, None, "A lifetime of 481 minutes is outside the policy's range of 60 to 480 minutes"),
        (
            {**POLICY, "isUsableOnce": True},
            60,
            False,
            "The policy allows only one-time passes, but a multi-use pass was requested",
        ),
        (
            {**POLICY, "state": "disabled"},
            60,
            True,
            "Temporary Access Pass is disabled in the authentication methods policy",
        ),
    ],
)
def test_resolve_request_violations(
    config: dict[str, Any], lifetime: int | None, once: bool | None, message: str
) -> None:
    with pytest.raises(TapPolicyViolation) as caught:
        TapPolicy.from_graph(config).resolve_request(lifetime, once)
    assert caught.value.reason == message
    assert isinstance(caught.value, EntraRuleError)


def test_wrongly_typed_policy_fields_are_input_errors() -> None:
    with pytest.raises(InputError):
        TapPolicy.from_graph(_config(maximumLifetimeInMinutes="480"))
    with pytest.raises(InputError):
        TapPolicy.from_graph(_config(includeTargets=[{"targetType": "group"}]))


START = datetime(2026, 3, 2, 9, 14, 5, tzinfo=UTC)


def _pass(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        "id": "8f3c1f0e-2b6a-4d8e-9c1b-0a7d5e2f4b61",
        "temporaryAccessPass": None,
        "createdDateTime": "2026-03-02T09:14:05.123Z",
        "startDateTime": "2026-03-02T09:14:05Z",
        "lifetimeInMinutes": 60,
        "isUsableOnce": True,
        "isUsable": True,
        "methodUsabilityReason": "EnabledByPolicy",
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("config", "method", "now", "expected"),
    [
        (_config(), _pass(), START + timedelta(minutes=30), "EnabledByPolicy"),
        (_config(), _pass(), START, "EnabledByPolicy"),
        (_config(), _pass(), START - timedelta(seconds=1), "NotYetValid"),
        (_config(), _pass(), START + timedelta(minutes=60), "Expired"),
        (_config(), _pass(), START + timedelta(days=3), "Expired"),
        (
            _config(),
            _pass(isUsable=False, methodUsabilityReason="OneTimeUsed"),
            START + timedelta(minutes=5),
            "OneTimeUsed",
        ),
        (_config(state="disabled"), _pass(), START + timedelta(minutes=5), "DisabledByPolicy"),
        (
            _config(includeTargets=[{"targetType": "group", "id": HELPDESK_GROUP}]),
            _pass(),
            START,
            "DisabledByPolicy",
        ),
        (_config(state="disabled"), _pass(), START + timedelta(hours=2), "Expired"),
        (
            _config(),
            _pass(startDateTime=None, createdDateTime="2026-03-02T09:14:05.1234567Z"),
            START + timedelta(minutes=59),
            "EnabledByPolicy",
        ),
        (_config(), _pass(), datetime(2026, 3, 2, 10, 14, 5), "Expired"),  # naive times are UTC
        (
            _config(),
            _pass(startDateTime="2026-03-02T10:14:05+01:00"),
            START + timedelta(minutes=1),
            "EnabledByPolicy",
        ),
    ],
)
def test_pass_status(config: dict[str, Any], method: dict[str, Any], now: datetime, expected: str) -> None:
    assert TapPolicy.from_graph(config).pass_status(method, USER, [], now) == expected


def test_pass_status_needs_a_start_and_a_lifetime() -> None:
    policy = TapPolicy.from_graph(_config())
    with pytest.raises(InputError):
        policy.pass_status(_pass(startDateTime=None, createdDateTime=None), USER, [], START)
    with pytest.raises(InputError):
        policy.pass_status(_pass(lifetimeInMinutes=None), USER, [], START)


def _policy(
    include: list[tuple[str, str]], exclude: list[tuple[str, str]], state: str = "enabled"
) -> TapPolicy:
    return TapPolicy.from_graph(
        {
            "state": state,
            "includeTargets": [{"id": i, "targetType": t} for t, i in include],
            "excludeTargets": [{"id": i, "targetType": t} for t, i in exclude],
        }
    )


@pytest.mark.parametrize(
    ("include", "exclude", "state", "expected"),
    [
        ([("group", "all_users")], [], "enabled", {"u1", "u2", "u3", "u4"}),
        ([("group", "all_users")], [("group", "g-kiosk")], "enabled", {"u1", "u2"}),
        ([("group", "g-enrol")], [], "enabled", {"u1", "u3"}),
        ([("group", "g-enrol"), ("user", "U4")], [("group", "g-kiosk")], "enabled", {"u1"}),
        ([("group", "g-nested-parent")], [], "enabled", {"u3", "u4"}),
        ([("group", "all_users")], [("group", "all_users")], "enabled", set()),
        ([("group", "all_users")], [], "disabled", set()),
        ([("user", "u-not-in-tenant")], [], "enabled", set()),
    ],
)
def test_usable_user_ids_agrees_with_usable_by(
    include: list[tuple[str, str]], exclude: list[tuple[str, str]], state: str, expected: set[str]
) -> None:
    # u3 and u4 sit in g-kiosk; g-kiosk is nested in g-nested-parent; g-enrol holds u1 and u3.
    direct = {"u1": {"g-enrol"}, "u2": set(), "u3": {"g-enrol", "g-kiosk"}, "u4": {"g-kiosk"}}
    parents = {"g-kiosk": {"g-nested-parent"}}
    transitive = {u: gs | set().union(*(parents.get(g, set()) for g in gs)) for u, gs in direct.items()}

    def members_of(group_id: str) -> set[str]:
        return {u for u, gs in transitive.items() if group_id in gs}

    policy = _policy(include, exclude, state)
    by_set = policy.usable_user_ids(direct, members_of)
    assert by_set == expected
    assert by_set == {u for u in direct if policy.usable_by(u, transitive[u])}


# --- usability is judged against the policy as it is now (Troubleshooting: "Make sure the user doesn't have a
# TAP for multiple use while the Authentication methods policy requires a one-time TAP") ---


@pytest.mark.parametrize(
    ("policy_once", "pass_once", "expected"),
    [
        (False, False, "EnabledByPolicy"),
        (False, True, "EnabledByPolicy"),
        (True, True, "EnabledByPolicy"),
        (True, False, "DisabledByPolicy"),
    ],
)
def test_multi_use_pass_stops_working_once_the_policy_requires_one_time_passes(
    policy_once: bool, pass_once: bool, expected: str
) -> None:
    policy = TapPolicy.from_graph(_config(isUsableOnce=policy_once))
    method = _pass(isUsableOnce=pass_once)
    assert policy.pass_status(method, USER, [], START + timedelta(minutes=5)) == expected
    assert policy.allows_form(method) is (expected == "EnabledByPolicy")


def test_a_pass_of_unknown_form_is_not_judged_under_a_one_time_policy() -> None:
    policy = TapPolicy.from_graph(_config(isUsableOnce=True))
    with pytest.raises(InputError):
        policy.pass_status(_pass(isUsableOnce=None), USER, [], START + timedelta(minutes=5))
    # Under a policy that allows both forms the form does not matter.
    assert TapPolicy.from_graph(_config()).allows_form(_pass(isUsableOnce=None))


def test_time_still_comes_first_for_a_multi_use_pass_under_a_one_time_policy() -> None:
    policy = TapPolicy.from_graph(_config(isUsableOnce=True))
    assert policy.pass_status(_pass(isUsableOnce=False), USER, [], START + timedelta(hours=2)) == "Expired"


# --- who may be given a pass ("Guest access": internal guests yes, external guests never) ---


@pytest.mark.parametrize(
    ("user", "refused"),
    [
        ({"userType": "Member", "userPrincipalName": "mia@contoso.example"}, False),
        ({"userType": None, "userPrincipalName": "mia@contoso.example"}, False),
        ({"userType": "Guest", "userPrincipalName": "vendor@contoso.example"}, False),  # internal guest
        ({"userType": "Guest", "userPrincipalName": "ann_fabrikam.example#EXT#@contoso.example"}, True),
        (
            {"userType": "guest", "userPrincipalName": "x@contoso.example", "externalUserState": "Accepted"},
            True,
        ),
        ({"userType": "Guest", "userPrincipalName": "x@contoso.example", "creationType": "Invitation"}, True),
        # An external member (B2B member) is not a guest: the refusal is about external guests.
        ({"userType": "Member", "userPrincipalName": "ann_fabrikam.example#EXT#@contoso.example"}, False),
    ],
)
def test_external_guests_cannot_be_given_a_pass(user: dict[str, Any], refused: bool) -> None:
    reason = issue_refusal(user)
    if refused:
        assert reason == "Temporary Access Pass cannot be added to an external guest user."
    else:
        assert reason is None
