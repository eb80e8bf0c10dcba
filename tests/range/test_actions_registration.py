"""Registering security info: the Conditional Access gate, Entra's built-in rules, Graph's method shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlattice.entra.strengths import PHISHING_RESISTANT_MFA_STRENGTH_ID
from graphlattice.errors import ActionDenied
from tests.range.engine_fixture import new_range, sign_in, strength_grant, uid, upn


def _register(rng_session: str, rng: object, kind: str, **extra: str) -> dict[str, object]:
    from graphlattice.range.engine import Range

    assert isinstance(rng, Range)
    return rng.act("register-method", {"session": rng_session, "kind": kind, **extra}).data


def test_the_gate_blocks_a_password_only_session_and_a_pass_session_passes_it(tmp_path: Path) -> None:
    rng = new_range(tmp_path)  # gate enabled, requires mfa; no MFA-for-all policy
    password = sign_in(rng, "newbie", "password", holder="attacker")
    assert password["mfa"] is False
    before = rng.peek().methods_of(uid("newbie"))
    with pytest.raises(ActionDenied, match="Require MFA to register security info: requires mfa"):
        _register(password["session"], rng, "authenticator", holder="attacker")
    assert rng.peek().methods_of(uid("newbie")) == before
    blocked = rng.records("signin")[-1]
    assert blocked["status"]["errorCode"] == 50076
    assert blocked["appDisplayName"] == "My Signins"
    assert blocked["appliedConditionalAccessPolicies"][0]["result"] == "failure"
    assert blocked["conditionalAccessStatus"] == "failure"

    rng.act("issue-tap", {"user": upn("newbie")}, actor=upn("admin"))
    rng.act("add-group-member", {"group": "TAP enrolment", "member": upn("newbie")}, actor=upn("admin"))
    tap = sign_in(rng, "newbie", "tap", holder="defender")
    added = _register(tap["session"], rng, "authenticator", device_name="Pixel 9")
    assert added["holder"] == "defender"
    gate = rng.records("signin")[-1]
    assert gate["appliedConditionalAccessPolicies"][0]["result"] == "success"


def test_a_phishing_resistant_gate_blocks_a_pass(tmp_path: Path) -> None:
    rng = new_range(tmp_path, gate_grant=strength_grant(PHISHING_RESISTANT_MFA_STRENGTH_ID))
    rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa"))
    tap = sign_in(rng, "enrolled", "tap", holder="attacker")
    with pytest.raises(ActionDenied, match="authentication strength Phishing resistant MFA"):
        _register(tap["session"], rng, "passkey")


def test_a_report_only_gate_neither_blocks_nor_records_anything(tmp_path: Path) -> None:
    # Report-only mode does not evaluate user actions (concept-conditional-access-report-only): a real tenant
    # writes no report-only result for the registration, so the gate measures nothing.
    rng = new_range(tmp_path, gate="enabledForReportingButNotEnforced")
    signins_before = len(rng.records("signin"))
    password = sign_in(rng, "newbie", "password", holder="attacker")
    planted = _register(password["session"], rng, "authenticator", holder="attacker")
    assert planted["holder"] == "attacker"
    written = rng.records("signin")[signins_before:]
    assert len(written) == 1  # the password sign-in itself; the registration wrote no sign-in record
    results = [p["result"] for r in written for p in r["appliedConditionalAccessPolicies"]]
    assert not any(r.startswith("reportOnly") for r in results)


def test_a_user_with_an_mfa_method_must_complete_mfa_before_registering(tmp_path: Path) -> None:
    rng = new_range(tmp_path, gate=None)  # no Conditional Access at all: Entra's own rule still applies
    password = sign_in(rng, "victim", "password")
    with pytest.raises(ActionDenied, match="must complete multifactor authentication"):
        _register(
            password["session"], rng, "phone", phone_number="+49 1709876543", phone_type="alternateMobile"
        )
    mfa = sign_in(rng, "victim", "authenticator")
    _register(mfa["session"], rng, "phone", phone_number="+49 1709876543", phone_type="alternateMobile")


def test_without_a_gate_a_password_is_enough_for_someone_with_no_method(tmp_path: Path) -> None:
    rng = new_range(tmp_path, gate=None)
    password = sign_in(rng, "newbie", "password", holder="attacker")
    planted = _register(
        password["session"], rng, "authenticator", holder="attacker", device_name="Galaxy A55"
    )
    assert planted["holder"] == "attacker"
    # The attacker now passes MFA as the user with their own phone.
    assert sign_in(rng, "newbie", "authenticator", holder="attacker")["mfa"] is True


def test_a_passkey_needs_mfa_in_the_last_five_minutes(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    mfa = sign_in(rng, "victim", "authenticator")
    rng.act("advance-clock", {"minutes": "6"})
    with pytest.raises(ActionDenied, match="within the past 5 minutes"):
        _register(mfa["session"], rng, "passkey")
    fresh = sign_in(rng, "victim", "authenticator")
    rng.act("advance-clock", {"minutes": "5"})
    _register(fresh["session"], rng, "passkey")


def test_a_one_time_pass_leaves_ten_minutes_for_passwordless_methods(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled"), "usable_once": "true"}, actor=upn("admin"))
    tap = sign_in(rng, "enrolled", "tap", holder="defender")
    rng.act("advance-clock", {"minutes": "11"})
    with pytest.raises(ActionDenied, match="within 10 minutes"):
        _register(tap["session"], rng, "authenticator-passwordless")
    _register(tap["session"], rng, "authenticator")  # not passwordless: no window


def test_method_objects_are_shaped_as_graph_returns_them(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa"))
    tap = sign_in(rng, "enrolled", "tap", holder="attacker")["session"]
    push = _register(tap, rng, "authenticator", device_name="Pixel 9")["method"]
    assert isinstance(push, dict)
    assert push["@odata.type"] == "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
    assert push["createdDateTime"] is None  # push only
    phone = _register(tap, rng, "phone", phone_number="+31 612345678")["method"]
    assert isinstance(phone, dict)
    assert phone["id"] == "3179e48a-750b-4051-897c-87b9720928f7" and phone["phoneType"] == "mobile"
    with pytest.raises(ActionDenied, match="already has a mobile phone"):
        _register(tap, rng, "phone", phone_number="+31 698765432")
    office = _register(tap, rng, "phone", phone_number="+31 201234567", phone_type="office")["method"]
    assert isinstance(office, dict) and office["id"] == "e37fc753-ff3b-4958-9484-eaa9425c82bc"
    passkey = _register(tap, rng, "passkey", device_name="iPhone 15 Pro")["method"]
    assert isinstance(passkey, dict)
    assert passkey["@odata.type"] == "#microsoft.graph.fido2AuthenticationMethod"
    assert passkey["createdDateTime"] == "2026-11-14T01:00:00Z"
    phone_sign_in = _register(tap, rng, "authenticator-passwordless", device_name="Pixel 9")["method"]
    assert isinstance(phone_sign_in, dict)
    assert phone_sign_in["id"] == push["id"]  # the same app, now registered for phone sign-in
    assert phone_sign_in["createdDateTime"] == "2026-11-14T01:00:00Z"
    report = {r["id"]: r for r in rng.tenant().registration.values()}["u-enrolled"]
    assert set(report["methodsRegistered"]) >= {
        "microsoftAuthenticatorPush",
        "microsoftAuthenticatorPasswordless",
        "mobilePhone",
        "officePhone",
        "fido2",
        "temporaryAccessPass",
    }
    assert report["isMfaRegistered"] is True and report["isPasswordlessCapable"] is True


def test_each_registration_writes_its_records(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa"))
    tap = sign_in(rng, "enrolled", "tap", holder="attacker", ip="192.0.2.201", country="SG")["session"]

    def audits(kind: str, **extra: str) -> list[tuple[str, str, str]]:
        result = rng.act("register-method", {"session": tap, "kind": kind, **extra})
        return [
            (r["loggedByService"], r["activityDisplayName"], r["resultReason"])
            for r in result.records
            if "activityDisplayName" in r
        ]

    assert audits("authenticator-passwordless", device_name="iPhone 15 Pro") == [
        (
            "Authentication Methods",
            "User registered security info",
            "User registered Microsoft Authenticator App",
        ),
        ("Device Registration Service", "Add passwordless phone sign-in credential", ""),
    ]
    assert audits("passkey") == [
        (
            "Authentication Methods",
            "Get passkey creation options",
            "Successfully retrieved passkey creation options.",
        ),
        (
            "Authentication Methods",
            "User registered security info",
            "User registered Fido2 Authentication Method",
        ),
        ("Device Registration Service", "Add FIDO2 security key", ""),
    ]
    assert audits("phone", phone_number="+65 81234567") == [
        ("Authentication Methods", "User registered security info", "User registered Mobile Phone SMS"),
    ]
    assert audits("software-oath") == [
        ("Authentication Methods", "User registered security info", "User registered Software OATH token"),
    ]
    registered = [
        r for r in rng.records("audit") if r["activityDisplayName"] == "User registered security info"
    ]
    assert {r["initiatedBy"]["user"]["ipAddress"] for r in registered} == {"192.0.2.201"}
    assert {r["initiatedBy"]["user"]["userPrincipalName"] for r in registered} == {upn("enrolled")}


def test_deleting_a_method_writes_the_admin_record_and_keeps_sessions(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    session = sign_in(rng, "victim", "authenticator")["session"]
    result = rng.act("delete-method", {"user": upn("victim"), "method": "ma-victim"}, actor=upn("admin"))
    (record,) = result.records
    assert (record["activityDisplayName"], record["resultReason"]) == (
        "Admin deleted security info",
        "Admin deleted Microsoft Authenticator App method for user",
    )
    sign_in(rng, "victim", "refresh-token", token=session)  # deleting a method revokes nothing
    with pytest.raises(ActionDenied, match="password method cannot be deleted"):
        rng.act(
            "delete-method",
            {"user": upn("victim"), "method": "28c10230-6103-485e-b985-444c60001490"},
            actor=upn("admin"),
        )


def test_a_usable_pass_counts_as_a_method_for_mfa_an_unusable_one_does_not(tmp_path: Path) -> None:
    rng = new_range(tmp_path, gate=None)
    rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("admin"))  # enrolled: in the pass group
    password = sign_in(rng, "enrolled", "password")
    with pytest.raises(ActionDenied, match="must complete multifactor authentication"):
        _register(password["session"], rng, "authenticator")
    rng.act("issue-tap", {"user": upn("newbie")}, actor=upn("admin"))  # newbie: the policy excludes them
    newbie = sign_in(rng, "newbie", "password", holder="attacker")
    _register(newbie["session"], rng, "authenticator", holder="attacker")
