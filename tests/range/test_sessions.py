"""Sessions and refresh tokens: who can sign in with what, and what each credential event revokes.

The key lesson of the Range: sessions that did not start with the password (a pass, a passkey, phone sign-in)
and the methods an attacker registered survive a password reset; only revoking sessions and deleting the
methods dislodges them. A browser session holds a session cookie and an app a refresh token, and Microsoft's
revocation table treats them differently: an admin reset revokes a non-password refresh token but leaves a
non-password browser session alive.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphlattice.errors import ActionDenied
from graphlattice.range.engine import Range
from tests.range.engine_fixture import new_range, sign_in, upn


def _plant(rng: Range) -> dict[str, str]:
    """The attack: an operator's reusable pass, a pass sign-in, a planted phone sign-in and passkey."""
    rng.act("update-tap-policy", {"include_groups": "all_users"}, actor=upn("admin"))
    rng.act("issue-tap", {"user": upn("victim"), "lifetime_minutes": "480"}, actor=upn("aa"))
    tap = sign_in(rng, "victim", "tap", holder="attacker", ip="192.0.2.201", country="SG")["session"]
    for kind in ("authenticator-passwordless", "passkey"):
        rng.act("register-method", {"session": tap, "kind": kind, "device_name": "iPhone 15 Pro"})
    passkey = sign_in(rng, "victim", "passkey", holder="attacker", ip="192.0.2.201", country="SG")["session"]
    app = sign_in(rng, "victim", "passkey", holder="attacker", ip="192.0.2.201", app="teams")["session"]
    phone = sign_in(rng, "victim", "authenticator", holder="attacker", ip="192.0.2.201")["session"]
    own = sign_in(rng, "victim", "authenticator", holder="victim")[
        "session"
    ]  # password + push, her own phone
    rng.act("advance-clock", {"minutes": "60"})
    # Browser sessions (session cookies): tap, passkey, phone, own. An app's refresh token: app.
    return {"tap": tap, "passkey": passkey, "app": app, "phone": phone, "own": own}


def _works(rng: Range, token: str) -> bool:
    try:
        sign_in(rng, "victim", "refresh-token", holder="attacker", token=token)
    except ActionDenied:
        return False
    return True


def test_push_needs_the_phone_in_the_holders_hand(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("change-password", {"user": upn("victim"), "password": "Known-to-all-1"})
    with pytest.raises(ActionDenied, match="500121"):
        sign_in(rng, "victim", "authenticator", holder="attacker", password="Known-to-all-1")
    failed = rng.records("signin")[-1]
    assert [s["succeeded"] for s in failed["authenticationDetails"]] == [True, False]
    with pytest.raises(ActionDenied, match="50126"):
        sign_in(rng, "victim", "password", holder="attacker")
    ok = sign_in(rng, "victim", "authenticator", holder="victim")
    assert ok["mfa"] is True


def test_a_self_service_reset_leaves_the_attacker_in(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    tokens = _plant(rng)
    result = rng.act("self-service-reset", {"user": upn("victim")})  # the victim verifies with her own phone
    assert result.data["revoked"] == [tokens["own"]]  # only the password-based session
    for key in ("tap", "passkey", "app", "phone"):
        assert _works(rng, tokens[key]), key
    assert not _works(rng, tokens["own"])
    sign_in(rng, "victim", "passkey", holder="attacker")
    sign_in(rng, "victim", "authenticator", holder="attacker")


def test_an_admin_reset_kills_the_tokens_but_the_planted_methods_let_the_attacker_back_in(
    tmp_path: Path,
) -> None:
    rng = new_range(tmp_path)
    tokens = _plant(rng)
    result = rng.act("reset-password", {"user": upn("victim")}, actor=upn("admin"))
    # Microsoft's table: an admin reset in the Entra admin center revokes password-based sessions and
    # non-password refresh tokens, but a non-password browser session (cookie) stays alive ...
    assert set(result.data["revoked"]) == {tokens["own"], tokens["app"]}
    assert not _works(rng, tokens["app"]) and not _works(rng, tokens["own"])
    for key in ("tap", "passkey", "phone"):
        assert _works(rng, tokens[key]), key
    # ... and the attacker's passkey, phone sign-in and the live pass were never about the password.
    sign_in(rng, "victim", "passkey", holder="attacker")
    sign_in(rng, "victim", "authenticator", holder="attacker")
    sign_in(rng, "victim", "tap", holder="attacker")
    records = [r["activityDisplayName"] for r in result.records]
    assert records == ["Reset password (by admin)", "Reset user password"]
    assert result.records[0]["loggedByService"] == "Self-service Password Management"


def test_the_real_containment_dislodges_the_attacker(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    tokens = _plant(rng)
    state = rng.peek()
    planted = [
        m["id"]
        for m in state.methods_of("u-victim")
        if state.secrets.devices.get(str(m["id"]).casefold()) == "attacker"
    ]
    assert len(planted) == 2
    for method_id in planted:
        rng.act("delete-method", {"user": upn("victim"), "method": method_id}, actor=upn("admin"))
    rng.act("delete-tap", {"user": upn("victim")}, actor=upn("admin"))
    revoke = rng.act("revoke-sessions", {"user": upn("victim")}, actor=upn("admin"))
    assert set(revoke.data["revoked"]) == set(tokens.values())
    for token in tokens.values():
        assert not _works(rng, token)
    for method in ("passkey", "authenticator", "tap"):
        with pytest.raises(ActionDenied):
            sign_in(rng, "victim", method, holder="attacker")
    # The victim keeps her own phone and signs in again; that new session is not affected.
    fresh = sign_in(rng, "victim", "authenticator", holder="victim")
    assert _works(rng, fresh["session"])


def test_revoking_sessions_sets_the_valid_from_time_and_writes_the_record(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    old = sign_in(rng, "victim", "authenticator")["session"]
    rng.act("advance-clock", {"minutes": "10"})
    result = rng.act("revoke-sessions", {"user": upn("victim")}, actor=upn("admin"))
    (record,) = result.records
    assert record["activityDisplayName"] == "Update StsRefreshTokenValidFrom Timestamp"
    assert record["loggedByService"] == "Core Directory"
    (prop, included) = record["targetResources"][0]["modifiedProperties"]
    assert prop["displayName"] == "StsRefreshTokensValidFrom"
    assert json.loads(prop["oldValue"]) == [] and json.loads(prop["newValue"]) == ["2026-11-14T01:10:00Z"]
    assert included["displayName"] == "Included Updated Properties"
    user = rng.tenant().users["u-victim"].raw
    assert user["signInSessionsValidFromDateTime"] == "2026-11-14T01:10:00Z"
    with pytest.raises(ActionDenied, match="50173"):
        sign_in(rng, "victim", "refresh-token", token=old)
    assert rng.records("signin")[-1]["signInEventTypes"] == ["nonInteractiveUser"]


def test_a_user_may_revoke_their_own_sessions(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    token = sign_in(rng, "victim", "authenticator")["session"]
    rng.act("revoke-sessions", {"user": upn("victim")}, actor=upn("victim"))
    assert not _works(rng, token)


def test_a_changed_password_revokes_only_password_based_tokens(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    tokens = _plant(rng)
    rng.act("change-password", {"user": upn("victim")})
    assert _works(rng, tokens["passkey"]) and not _works(rng, tokens["own"])


def test_disabling_the_user_stops_every_token(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    tokens = _plant(rng)
    result = rng.act("disable-user", {"user": upn("victim")}, actor=upn("admin"))
    assert [r["activityDisplayName"] for r in result.records] == ["Update user", "Disable account"]
    with pytest.raises(ActionDenied, match="50057"):
        sign_in(rng, "victim", "refresh-token", holder="attacker", token=tokens["passkey"])
    with pytest.raises(ActionDenied, match="50057"):
        sign_in(rng, "victim", "passkey", holder="attacker")


def test_conditional_access_applies_to_sign_ins(tmp_path: Path) -> None:
    rng = new_range(tmp_path, mfa_all="enabled")
    with pytest.raises(ActionDenied, match="50076"):
        sign_in(rng, "victim", "password")
    record = rng.records("signin")[-1]
    assert record["conditionalAccessStatus"] == "failure"
    assert {p["displayName"]: p["result"] for p in record["appliedConditionalAccessPolicies"]} == {
        "Require MFA to register security info": "notApplied",
        "Require MFA for all users": "failure",
    }
    ok = sign_in(rng, "victim", "authenticator")
    assert ok["mfa"] is True
    assert rng.records("signin")[-1]["conditionalAccessStatus"] == "success"


def test_mfa_required_and_no_method_yet_interrupts_for_registration(tmp_path: Path) -> None:
    rng = new_range(tmp_path, mfa_all="enabled", gate="enabledForReportingButNotEnforced")
    data = sign_in(rng, "newbie", "password", holder="attacker")
    assert data["registrationOnly"] is True
    assert rng.records("signin")[-1]["status"]["errorCode"] == 50079
    with pytest.raises(ActionDenied, match="50079"):
        sign_in(rng, "newbie", "refresh-token", holder="attacker", token=data["session"])
    rng.act("register-method", {"session": data["session"], "kind": "authenticator", "holder": "attacker"})
    assert sign_in(rng, "newbie", "authenticator", holder="attacker")["mfa"] is True


def test_the_registration_interrupt_lasts_fifteen_minutes(tmp_path: Path) -> None:
    rng = new_range(tmp_path, mfa_all="enabled", gate="enabledForReportingButNotEnforced")
    stale = sign_in(rng, "newbie", "password", holder="attacker")["session"]
    rng.act("advance-clock", {"minutes": "16"})
    with pytest.raises(ActionDenied, match=r"Security info sessions last 15 minutes.*16 minutes have passed"):
        rng.act("register-method", {"session": stale, "kind": "authenticator", "holder": "attacker"})
    methods = rng.peek().methods_of(rng.peek().user(upn("newbie"))["id"])
    assert [m["@odata.type"] for m in methods] == ["#microsoft.graph.passwordAuthenticationMethod"]
    fresh = sign_in(rng, "newbie", "password", holder="attacker")["session"]  # asked to sign in again
    rng.act("advance-clock", {"minutes": "15"})
    rng.act("register-method", {"session": fresh, "kind": "authenticator", "holder": "attacker"})
    assert sign_in(rng, "newbie", "authenticator", holder="attacker")["mfa"] is True


def test_sms_needs_the_password_and_the_phone(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    data = sign_in(rng, "victim", "sms")
    assert data["mfa"] is True
    steps = rng.records("signin")[-1]["authenticationDetails"]
    assert [s["authenticationMethod"] for s in steps] == ["Password", "SMS"]
    rng.act("reset-password", {"user": upn("victim"), "password": "Typed-by-all-1"}, actor=upn("admin"))
    with pytest.raises(ActionDenied, match="500121"):
        sign_in(rng, "victim", "sms", holder="attacker", password="Typed-by-all-1")


def test_a_passkey_signs_in_only_for_whoever_holds_it(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    session = sign_in(rng, "victim", "authenticator")["session"]
    rng.act("register-method", {"session": session, "kind": "passkey", "device_name": "YubiKey 5"})
    with pytest.raises(ActionDenied, match="No passkey"):
        sign_in(rng, "victim", "passkey", holder="attacker")
    data = sign_in(rng, "victim", "passkey")
    assert data["mfa"] is True
    step = rng.records("signin")[-1]["authenticationDetails"][0]
    assert (step["authenticationMethod"], step["authenticationMethodDetail"]) == (
        "Passkey (device-bound)",
        "YubiKey 5",
    )
    state = rng.peek()
    assert state.sessions[data["session"]].password_based is False


# --- a Temporary Access Pass takes its sessions with it (TAP doc, "Expiration": an expired or deleted pass
# can't be used for interactive or non-interactive authentication) ---------------------------------------


def _tap_session(rng: Range) -> str:
    rng.act("update-tap-policy", {"include_groups": "all_users"}, actor=upn("admin"))
    rng.act("issue-tap", {"user": upn("victim"), "lifetime_minutes": "480"}, actor=upn("aa"))
    return str(sign_in(rng, "victim", "tap", holder="attacker", ip="192.0.2.201")["session"])


def test_deleting_the_pass_kills_the_sessions_it_produced(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    tap = _tap_session(rng)
    own = sign_in(rng, "victim", "authenticator", holder="victim")["session"]
    rng.act("advance-clock", {"minutes": "5"})
    assert _works(rng, tap)
    rng.act("delete-tap", {"user": upn("victim")}, actor=upn("admin"))
    with pytest.raises(ActionDenied, match=r"50173.*deleted or replaced"):
        sign_in(rng, "victim", "refresh-token", holder="attacker", token=tap)
    assert rng.records("signin")[-1]["status"]["failureReason"].startswith("The provided grant has expired")
    assert _works(rng, own)  # sessions that did not come from the pass are untouched
    with pytest.raises(ActionDenied):  # nor can a registration ride on the dead session
        rng.act("register-method", {"session": tap, "kind": "authenticator", "holder": "attacker"})


def test_replacing_the_pass_kills_the_old_passs_sessions(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    tap = _tap_session(rng)
    rng.act("issue-tap", {"user": upn("victim")}, actor=upn("aa"))  # a new pass overrides the old one
    assert not _works(rng, tap)


def test_an_expired_pass_ends_its_sessions(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    tap = _tap_session(rng)
    rng.act("advance-clock", {"minutes": "481"})
    with pytest.raises(ActionDenied, match="70008"):
        sign_in(rng, "victim", "refresh-token", holder="attacker", token=tap)


def test_a_multi_use_pass_stops_working_when_the_policy_becomes_one_time(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    _tap_session(rng)
    rng.act("update-tap-policy", {"usable_once": "true"}, actor=upn("admin"))
    pass_method = next(
        m for m in rng.peek().methods_of("u-victim") if "temporaryAccessPass" in m["@odata.type"]
    )
    assert (pass_method["isUsable"], pass_method["methodUsabilityReason"]) == (False, "DisabledByPolicy")
    with pytest.raises(ActionDenied, match="does not let this user sign in with a pass"):
        sign_in(rng, "victim", "tap", holder="attacker")


def test_failure_records_carry_entras_text_and_the_requirement(tmp_path: Path) -> None:
    rng = new_range(tmp_path, mfa_all="enabled")
    with pytest.raises(ActionDenied, match="50076"):
        sign_in(rng, "victim", "password")
    record = rng.records("signin")[-1]
    assert record["status"]["failureReason"] == (
        "Due to a configuration change made by your administrator, or because you moved to a new location, "
        "you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'."
    )
    assert record["status"]["additionalDetails"].startswith("Conditional Access: Require MFA for all users")
    # What was required for the sign-in to succeed, not what was used (a password).
    assert record["authenticationRequirement"] == "multiFactorAuthentication"
    with pytest.raises(ActionDenied, match="50126"):
        sign_in(rng, "victim", "password", holder="attacker")
    wrong = rng.records("signin")[-1]
    assert (
        wrong["status"]["failureReason"]
        == "Error validating credentials due to invalid username or password."
    )
    assert wrong["authenticationRequirement"] == "singleFactorAuthentication"


def test_a_strong_sign_in_that_nothing_required_mfa_for_is_single_factor(tmp_path: Path) -> None:
    rng = new_range(tmp_path)  # no policy requires MFA for apps
    sign_in(rng, "victim", "authenticator")
    assert rng.records("signin")[-1]["authenticationRequirement"] == "singleFactorAuthentication"


def test_key_restrictions_stop_a_passkey_of_a_model_no_longer_allowed(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    session = sign_in(rng, "victim", "authenticator")["session"]
    rng.act("register-method", {"session": session, "kind": "passkey", "device_name": "iPhone"})
    state = rng.peek()  # the admin now blocks the Authenticator passkey model
    fido = next(
        c
        for c in state.collections["authenticationMethodsPolicy"]["authenticationMethodConfigurations"]
        if c["id"] == "Fido2"
    )
    fido["keyRestrictions"] = {
        "isEnforced": True,
        "enforcementType": "block",
        "aaGuids": ["90a3ccdf-635c-4729-a248-9b709135078f"],
    }
    later = Range.seeded(tmp_path / "later", state)
    with pytest.raises(ActionDenied, match="no longer allows this passkey's model"):
        sign_in(later, "victim", "passkey")


def test_passkey_registration_follows_the_self_service_switch_and_key_restrictions(tmp_path: Path) -> None:
    off = new_range(tmp_path / "off", fido2={"isSelfServiceRegistrationAllowed": False})
    session = sign_in(off, "victim", "authenticator")["session"]
    with pytest.raises(ActionDenied, match="Self-service set up of passkeys is turned off"):
        off.act("register-method", {"session": session, "kind": "passkey"})
    allow = {
        "isEnforced": True,
        "enforcementType": "allow",
        "aaGuids": ["cb69481e-8ff7-4039-93ec-0a2729a154a8"],
    }
    only_yubikeys = new_range(tmp_path / "allow", fido2={"keyRestrictions": allow})
    session = sign_in(only_yubikeys, "victim", "authenticator")["session"]
    with pytest.raises(ActionDenied, match="does not allow passkeys of this model"):
        only_yubikeys.act("register-method", {"session": session, "kind": "passkey"})
    only_yubikeys.act(
        "register-method",
        {"session": session, "kind": "passkey", "aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8"},
    )
