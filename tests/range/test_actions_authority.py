"""Who may do what: refusals carry Entra's reason and leave the range exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlattice.errors import ActionDenied, RangeError
from graphlattice.range.engine import Range
from tests.range.engine_fixture import new_range, upn


def _files(root: Path) -> dict[str, bytes]:
    # The journal records the refusal; the principal index is derived from the state and stamped with its
    # file, which is written again (with the same bytes).
    skip = ("journal.jsonl", "principals.json")
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.name not in skip}


def test_authentication_administrator_cannot_issue_a_pass_for_a_global_administrator(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    before = _files(rng.state_dir)
    with pytest.raises(ActionDenied) as denied:
        rng.act("issue-tap", {"user": upn("admin")}, actor=upn("aa"))
    assert (
        "Authentication Administrator cannot manage authentication methods of a user who holds Global "
        in str(denied.value)
    )
    assert denied.value.exit_code == 4
    assert _files(rng.state_dir) == before
    journal = rng.journal()
    assert journal[-1]["outcome"] == "denied" and journal[-1]["action"] == "issue-tap"


def test_an_eligible_role_protects_the_target_too(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    with pytest.raises(ActionDenied, match="holds Global Administrator"):
        rng.act("issue-tap", {"user": upn("eligible_ga")}, actor=upn("aa"))
    rng.act("issue-tap", {"user": upn("eligible_ga")}, actor=upn("paa"))


def test_nobody_issues_a_pass_for_themselves(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    with pytest.raises(ActionDenied, match="their own account"):
        rng.act("issue-tap", {"user": upn("admin")}, actor=upn("admin"))


@pytest.mark.parametrize(
    ("action", "params", "actor", "needs"),
    [
        ("update-tap-policy", {"usable_once": "true"}, "paa", "Authentication Policy Administrator"),
        ("create-ca-policy", {"template": "registration-gate"}, "paa", "Conditional Access Administrator"),
        (
            "update-role-policy",
            {"role": "Authentication Administrator", "approval_required": "true"},
            "aa",
            "Privileged Role Administrator",
        ),
        (
            "assign-role",
            {"principal": upn("victim"), "role": "Global Administrator"},
            "policy",
            "Privileged Role Administrator",
        ),
    ],
)
def test_policy_changes_need_their_roles(
    tmp_path: Path, action: str, params: dict[str, str], actor: str, needs: str
) -> None:
    rng = new_range(tmp_path)
    before = rng.peek().dumps()
    with pytest.raises(ActionDenied, match=needs):
        rng.act(action, params, actor=upn(actor))
    assert rng.peek().dumps() == before


def test_policy_administrator_may_change_the_pass_policy(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    rng.act("update-tap-policy", {"usable_once": "true", "max_lifetime": "120"}, actor=upn("policy"))
    config = next(
        c
        for c in rng.tenant().auth_methods_policy["authenticationMethodConfigurations"]  # type: ignore[index]
        if c["id"] == "TemporaryAccessPass"
    )
    assert config["isUsableOnce"] is True and config["maximumLifetimeInMinutes"] == 120


def test_reports_reader_cannot_reset_a_password_or_revoke_sessions(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    with pytest.raises(ActionDenied, match="holds no role that can reset the password"):
        rng.act("reset-password", {"user": upn("victim")}, actor=upn("reader"))
    with pytest.raises(ActionDenied, match="invalidate the refresh tokens"):
        rng.act("revoke-sessions", {"user": upn("victim")}, actor=upn("reader"))


def test_bad_input_is_one_clear_line_and_changes_nothing(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    before = _files(rng.state_dir)
    with pytest.raises(RangeError, match="unknown user: nobody@x"):
        rng.act("issue-tap", {"user": "nobody@x"}, actor=upn("admin"))
    with pytest.raises(RangeError, match="unknown action 'fly'"):
        rng.act("fly", {}, actor=upn("admin"))
    with pytest.raises(RangeError, match="unknown parameter"):
        rng.act("issue-tap", {"user": upn("victim"), "colour": "red"}, actor=upn("admin"))
    with pytest.raises(RangeError, match="must be a whole number"):
        rng.act("issue-tap", {"user": upn("victim"), "lifetime_minutes": "long"}, actor=upn("admin"))
    with pytest.raises(RangeError, match="needs an acting principal"):
        rng.act("issue-tap", {"user": upn("victim")})
    assert _files(rng.state_dir) == before


def test_global_administrator_does_it_all(tmp_path: Path) -> None:
    rng = new_range(tmp_path)
    admin = upn("admin")
    rng.act("issue-tap", {"user": upn("paa")}, actor=admin)
    rng.act(
        "create-ca-policy",
        {"template": "require-mfa-all", "state": "enabledForReportingButNotEnforced"},
        actor=admin,
    )
    rng.act("update-ca-policy", {"policy": "Require MFA for all users", "state": "enabled"}, actor=admin)
    rng.act("remove-role", {"principal": upn("aa"), "role": "Authentication Administrator"}, actor=admin)
    rng.act(
        "add-eligibility",
        {"principal": upn("aa"), "role": "Authentication Administrator", "approval": "true"},
        actor=admin,
    )
    tenant = rng.tenant()
    kinds = {g.kind for g in tenant.grants_of("u-aa")}
    assert kinds == {"eligible"}
    assert tenant.activation_rules["c4e39bd9-1100-46d3-8c65-fb160da0071f"].approval_required is True
    assert [p["state"] for p in tenant.ca_policies if p["displayName"] == "Require MFA for all users"] == [
        "enabled"
    ]


def _with_roles(tmp_path: Path, roles: dict[str, str]) -> Range:
    """The fixture tenant with extra active tenant-wide roles (person key -> role template id)."""
    from tests.range.engine_fixture import state, uid

    seeded = state()
    for n, (key, role) in enumerate(roles.items()):
        seeded.collections["roleAssignments"].append(
            {
                "id": f"ra-extra-{n}",
                "principalId": uid(key),
                "roleDefinitionId": role,
                "directoryScopeId": "/",
            }
        )
    return Range.seeded(tmp_path / "range", seeded)


def test_a_password_administrator_resets_passwords_but_cannot_revoke_sessions(tmp_path: Path) -> None:
    from graphlattice.entra import roles as R

    rng = _with_roles(tmp_path, {"enrolled": R.PASSWORD_ADMINISTRATOR})
    with pytest.raises(ActionDenied, match="Password Administrator\\) holds no role that can invalidate"):
        rng.act("revoke-sessions", {"user": upn("victim")}, actor=upn("enrolled"))
    rng.act("reset-password", {"user": upn("victim")}, actor=upn("enrolled"))


def test_the_soc_identity_responder_contains_non_administrators_only(tmp_path: Path) -> None:
    from graphlattice.entra import roles as R

    rng = _with_roles(tmp_path, {"enrolled": R.ENTRA_SOC_IDENTITY_RESPONDER})
    for action in ("revoke-sessions", "reset-password", "disable-user"):
        rng.act(action, {"user": upn("victim")}, actor=upn("enrolled"))
    with pytest.raises(
        ActionDenied, match="cannot invalidate the refresh tokens of a user who holds Reports"
    ):
        rng.act("revoke-sessions", {"user": upn("reader")}, actor=upn("enrolled"))
    with pytest.raises(ActionDenied):  # no authentication-method management
        rng.act("issue-tap", {"user": upn("newbie")}, actor=upn("enrolled"))


def test_partner_tier2_support_can_take_over_a_global_administrator(tmp_path: Path) -> None:
    from graphlattice.entra import roles as R

    rng = _with_roles(tmp_path, {"enrolled": R.PARTNER_TIER2_SUPPORT})
    rng.act("reset-password", {"user": upn("admin")}, actor=upn("enrolled"))
    rng.act("revoke-sessions", {"user": upn("admin")}, actor=upn("enrolled"))
