"""The PIM policy rule set of a directory role, as Graph returns it."""

from __future__ import annotations

from graphlattice.entra.pim_policy import role_policy_rules

_GROUP = {"@odata.type": "#microsoft.graph.groupMembers", "groupId": "g-1", "description": "Approvers"}


def _by_id(**kwargs: object) -> dict[str, dict[str, object]]:
    rules = role_policy_rules(**kwargs)  # type: ignore[arg-type]
    by_id = {str(r["id"]): r for r in rules}
    assert len(by_id) == len(rules)  # ids are unique within a policy
    return by_id


def test_the_documented_rule_ids() -> None:
    ids = set(_by_id(approval=False, approvers=[]))
    scopes = {"Admin_Eligibility", "Admin_Assignment", "EndUser_Assignment"}
    expected = {"Approval_EndUser_Assignment", "AuthenticationContext_EndUser_Assignment"}
    expected |= {f"{kind}_{scope}" for kind in ("Enablement", "Expiration") for scope in scopes}
    expected |= {
        f"Notification_{who}_{scope}" for who in ("Admin", "Requestor", "Approver") for scope in scopes
    }
    assert ids == expected and len(ids) == 17


def test_approval_and_its_approvers() -> None:
    on = _by_id(approval=True, approvers=[_GROUP])["Approval_EndUser_Assignment"]["setting"]
    assert on["isApprovalRequired"] is True  # type: ignore[index]
    assert on["approvalStages"][0]["primaryApprovers"] == [_GROUP]  # type: ignore[index]
    off = _by_id(approval=False, approvers=[_GROUP])["Approval_EndUser_Assignment"]["setting"]
    assert off["isApprovalRequired"] is False  # type: ignore[index]
    assert off["approvalStages"][0]["primaryApprovers"] == []  # type: ignore[index]


def test_defaults_and_activation_length() -> None:
    rules = _by_id(approval=False, approvers=[], max_activation="PT4H")
    assert rules["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT4H"
    assert rules["Expiration_EndUser_Assignment"]["isExpirationRequired"] is True
    assert rules["Enablement_EndUser_Assignment"]["enabledRules"] == [
        "MultiFactorAuthentication",
        "Justification",
    ]
    assert rules["Expiration_Admin_Eligibility"]["maximumDuration"] == "P365D"
    assert rules["Expiration_Admin_Assignment"]["maximumDuration"] == "P180D"
    default = _by_id(approval=False, approvers=[])
    assert default["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT8H"
