"""Temporary Access Pass: creatable for anyone, usable only as the policy says, lifetimes, one-time use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphlattice.errors import ActionDenied
from tests.range.engine_fixture import new_range, sign_in, uid, upn


def _tap(rng_state_methods: list[dict[str, object]]) -> dict[str, object]:
    return next(m for m in rng_state_methods if "temporaryAccessPass" in str(m["@odata.type"]))


def test_a_pass_can_be_created_for_anyone_but_used_only_by_included_users(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    issued = rng.act("issue-tap", {"user": upn("victim")}, actor=upn("aa"))  # victim is not in g-tap
    assert issued.data["method"]["methodUsabilityReason"] == "DisabledByPolicy"
    assert issued.data["method"]["isUsable"] is False
    sessions_before = rng.peek().sessions
    with pytest.raises(ActionDenied, match="policy does not let this user sign in with a pass"):
        sign_in(rng, "victim", "tap", holder="attacker")
    failed = rng.records("signin")[-1]
    assert failed["status"]["errorCode"] != 0
    assert failed["authenticationDetails"][0]["authenticationMethod"] == "Temporary Access Pass"
    assert failed["authenticationDetails"][0]["succeeded"] is False
    assert rng.peek().sessions.keys() == sessions_before.keys()

    rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa"))
    data = sign_in(rng, "enrolled", "tap", holder="attacker")
    assert data["mfa"] is True and data["session"] == data["refresh_token"]
    ok = rng.records("signin")[-1]
    assert ok["status"]["errorCode"] == 0
    # Nothing in this tenant requires MFA to sign in, so the pass sign-in only had to be single factor
    # (authenticationRequirement is what was required, not what was used).
    assert ok["authenticationRequirement"] == "singleFactorAuthentication"


def test_the_code_is_known_to_the_issuer_or_whoever_types_it(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    code = rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("admin")).data["code"]
    with pytest.raises(ActionDenied, match="not correct"):
        sign_in(rng, "enrolled", "tap", holder="attacker")  # the admin is "defender"
    sign_in(rng, "enrolled", "tap", holder="someone", code=code)


def test_a_one_time_pass_dies_after_one_use(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled"), "usable_once": "true"}, actor=upn("aa"))
    sign_in(rng, "enrolled", "tap", holder="attacker")
    method = _tap(rng.peek().methods_of(uid("enrolled")))
    assert method["isUsable"] is False and method["methodUsabilityReason"] == "OneTimeUsed"
    with pytest.raises(ActionDenied, match="already been used"):
        sign_in(rng, "enrolled", "tap", holder="attacker")


def test_a_reusable_pass_works_until_it_expires_and_its_tokens_die_with_it(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled"), "lifetime_minutes": "60"}, actor=upn("aa"))
    first = sign_in(rng, "enrolled", "tap", holder="attacker")
    rng.act("advance-clock", {"minutes": "30"})
    sign_in(rng, "enrolled", "tap", holder="attacker")
    sign_in(rng, "enrolled", "refresh-token", holder="attacker", token=first["refresh_token"])
    rng.act("advance-clock", {"minutes": "31"})
    with pytest.raises(ActionDenied, match="has expired"):
        sign_in(rng, "enrolled", "tap", holder="attacker")
    with pytest.raises(ActionDenied, match="came from a Temporary Access Pass that has expired"):
        sign_in(rng, "enrolled", "refresh-token", holder="attacker", token=first["refresh_token"])
    assert _tap(rng.peek().methods_of(uid("enrolled")))["methodUsabilityReason"] == "Expired"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"lifetime_minutes": "30"}, "outside the policy's range of 60 to 480"),
        ({"lifetime_minutes": "481"}, "outside the policy's range of 60 to 480"),
    ],
)
def test_lifetimes_must_fit_the_policy(tmp_path: Path, params: dict[str, str], reason: str) -> None:
    rng = new_range(tmp_path)
    with pytest.raises(ActionDenied, match=reason):
        rng.act("issue-tap", {"user": upn("enrolled"), **params}, actor=upn("aa"))
    assert not [
        m for m in rng.peek().methods_of(uid("enrolled")) if "temporaryAccess" in str(m["@odata.type"])
    ]


def test_a_one_time_policy_refuses_reusable_passes_and_a_disabled_policy_refuses_all(tmp_path: Path) -> None:
    rng = new_range(tmp_path, tap={"isUsableOnce": True})
    with pytest.raises(ActionDenied, match="only one-time passes"):
        rng.act("issue-tap", {"user": upn("enrolled"), "usable_once": "false"}, actor=upn("aa"))
    assert (
        rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa")).data["method"]["isUsableOnce"]
        is True
    )
    off = new_range(tmp_path / "off", tap={"state": "disabled"})
    with pytest.raises(ActionDenied, match="disabled"):
        off.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa"))


def test_a_pass_starting_later_is_not_yet_valid(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("issue-tap", {"user": upn("enrolled"), "start": "+30"}, actor=upn("aa"))
    with pytest.raises(ActionDenied, match="not valid yet"):
        sign_in(rng, "enrolled", "tap", holder="attacker")
    rng.act("advance-clock", {"minutes": "30"})
    sign_in(rng, "enrolled", "tap", holder="attacker")


def test_a_new_pass_replaces_the_old_one(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    old = rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("admin")).data
    new = rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("admin")).data
    passes = [m for m in rng.peek().methods_of(uid("enrolled")) if "temporaryAccess" in str(m["@odata.type"])]
    assert [p["id"] for p in passes] == [new["id"]]
    with pytest.raises(ActionDenied, match="not correct"):
        sign_in(rng, "enrolled", "tap", holder="x", code=old["code"])
    sign_in(rng, "enrolled", "tap", holder="x", code=new["code"])


def test_issuing_and_deleting_write_entra_records(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    result = rng.act("issue-tap", {"user": upn("victim"), "lifetime_minutes": "120"}, actor=upn("aa"))
    (record,) = result.records
    assert record["activityDisplayName"] == "Admin registered security info"
    assert record["resultReason"] == "Admin registered temporary access pass method for user"
    assert record["loggedByService"] == "Authentication Methods" and record["category"] == "UserManagement"
    assert record["initiatedBy"]["user"]["userPrincipalName"] == upn("aa")
    target = record["targetResources"][0]
    assert target["userPrincipalName"] == upn("victim") and target["type"] == "User"
    props = {p["displayName"]: json.loads(p["newValue"]) for p in target["modifiedProperties"]}
    assert props == {
        "TemporaryAccessPass.Id": result.data["id"],
        "TemporaryAccessPass.StartDateTime": "2026-11-14T01:00:00Z",
        "TemporaryAccessPass.EndDateTime": "2026-11-14T03:00:00Z",
        "TemporaryAccessPass.AccessPassUsage": "Multiple",
    }
    assert result.data["code"] not in json.dumps(rng.records("audit"))
    (deleted,) = rng.act("delete-tap", {"user": upn("victim")}, actor=upn("aa")).records
    assert deleted["activityDisplayName"] == "Admin deleted security info"
    assert deleted["resultReason"] == "Admin deleted temporary access pass method for user"
    stored = rng.peek().methods_of(uid("victim"))
    assert not [m for m in stored if "temporaryAccess" in str(m["@odata.type"])]


def test_the_pass_code_is_shown_once_and_never_stored_in_clear(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    code = rng.act("issue-tap", {"user": upn("enrolled")}, actor=upn("aa")).data["code"]
    stored = (rng.state_dir / "state.json").read_text()
    assert code not in stored
    assert code not in (rng.state_dir / "journal.jsonl").read_text()
    assert _tap(rng.peek().methods_of(uid("enrolled")))["temporaryAccessPass"] is None


def test_no_pass_for_an_external_guest(tmp_path: Path) -> None:
    # TAP doc, "Guest access": only internal guests can be issued a pass; Entra refuses external guests.
    from graphlattice.range.engine import Range
    from tests.range.engine_fixture import state

    seeded = state()
    guest = next(u for u in seeded.collections["users"] if u["id"] == uid("newbie"))
    guest.update({"userType": "Guest", "externalUserState": "Accepted", "creationType": "Invitation"})
    rng = Range.seeded(tmp_path / "range", seeded)
    with pytest.raises(
        ActionDenied, match=r"^Temporary Access Pass cannot be added to an external guest user"
    ):
        rng.act("issue-tap", {"user": upn("newbie")}, actor=upn("admin"))
    assert not [m for m in rng.peek().methods_of(uid("newbie")) if "temporaryAccessPass" in m["@odata.type"]]
