"""Scenario files: the built-in ones load, and every kind of mistake is reported as file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlattice.errors import ScenarioError, UsageError
from graphlattice.range.scenario import SCENARIO_DIR, list_scenarios, load_scenario

BASE = (SCENARIO_DIR / "tap-persistence.yaml").read_text(encoding="utf-8")


def variant(tmp_path: Path, old: str, new: str, *, count: int = 1) -> tuple[Path, str]:
    """The tap-persistence file with one edit, written outside the built-in folder."""
    assert BASE.count(old) >= count, old
    text = BASE.replace(old, new, count)
    path = tmp_path / "edited.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, needle: str, start: int = 1) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the file")


def error_for(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return str(caught.value)


def test_builtin_scenarios_load() -> None:
    ids = [s.id for s in list_scenarios()]
    assert ids == ["registration-gate-bypass", "tap-persistence"]
    for scenario in list_scenarios():
        assert sum(f.points for f in scenario.footholds) + sum(r.points for r in scenario.root_causes) == 100
        assert scenario.hints and all(h.cost > 0 for h in scenario.hints)
        assert set(scenario.attack) >= {"T1098", "T1556.006", "T1078.004"}
        assert scenario.cast.defender != scenario.cast.victim


def test_unknown_id_suggests_the_closest() -> None:
    with pytest.raises(UsageError, match="did you mean 'tap-persistence'"):
        load_scenario("tap-persistance")


def test_load_by_path(tmp_path: Path) -> None:
    path, _ = variant(tmp_path, "title: A Temporary", "title: Edited, A Temporary")
    assert load_scenario(path).title.startswith("Edited,")


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "summary: >-",
            "sumary: >-",
            "sumary:",
            "unknown key 'sumary' in the scenario (did you mean 'summary'?)",
        ),
        (
            "    action: issue-tap",
            "    action: issue-pass",
            "action: issue-pass",
            "unknown action 'issue-pass' (did you mean 'issue-tap'?)",
        ),
        (
            "params: {user: mia, lifetime_minutes: 10080, usable_once: false}",
            "params: {user: mia, lifetime: 10080, usable_once: false}",
            "lifetime: 10080",
            "issue-tap: unknown parameter 'lifetime'",
        ),
        (
            "params: {user: mia, lifetime_minutes: 10080, usable_once: false}",
            "params: {user: mia, lifetime_minutes: 100000, usable_once: false}",
            "lifetime_minutes: 100000",
            "issue-tap: lifetime_minutes must be between 10 and 43200 (got 100000)",
        ),
        ("  victim: mia\n", "  victim: mya\n", "victim: mya", "unknown person 'mya' (did you mean 'mia'?)"),
        (
            "        - {role: Reports Reader, assignment: active}",
            "        - {role: Report Reader, assignment: active}",
            "role: Report Reader",
            "unknown role 'Report Reader' (did you mean 'Reports Reader'?)",
        ),
        (
            "        - {kind: phone, number: +49 151 23456789}",
            "        - {kind: fone, number: +49 151 23456789}",
            "kind: fone",
            "unknown method kind 'fone'",
        ),
        (
            "      members: [mia, daan]",
            "      members: [mia, dan]",
            "members: [mia, dan]",
            "unknown person 'dan' (did you mean 'daan'?)",
        ),
        (
            "    check: tap-policy-weak",
            "    check: tap-policy-weakness",
            "check: tap-policy-weakness",
            "unknown risk check 'tap-policy-weakness'",
        ),
        (
            "  - id: mia-friday\n    at: 2026-11-13T08:05:12Z",
            "  - id: mia-friday\n    at: Friday morning",
            "at: Friday morning",
            "'at' of step mia-friday must be a UTC timestamp",
        ),
        ("    points: 10\n", "    points: 11\n", "footholds:", "must be worth 100 points together, not 101"),
        (
            "{user: mia, method: passkey, ip: 192.0.2.201,",
            "{user: mia, method: pigeon, ip: 192.0.2.201,",
            "method: pigeon",
            "sign-in: method must be one of",
        ),
        (
            "attack: [T1078.004, T1098, T1556.006]",
            "attack: [T1078.004, T98]",
            "attack:",
            "'T98' is not an ATT&CK",
        ),
    ],
)
def test_mistakes_point_at_file_and_line(
    tmp_path: Path, old: str, new: str, needle: str, message: str
) -> None:
    path, text = variant(tmp_path, old, new)
    found = error_for(path)
    assert found.startswith(f"{path}:{line_of(text, needle)}: "), found
    assert message in found


def test_reference_to_a_later_step(tmp_path: Path) -> None:
    path, text = variant(tmp_path, "session: ${tap-signin.session}", "session: ${passkey-signin.session}")
    found = error_for(path)
    assert found.startswith(f"{path}:{line_of(text, 'session: ${passkey-signin.session}')}: ")
    assert "refers to step 'passkey-signin', which does not come before it" in found


def test_timeline_out_of_order(tmp_path: Path) -> None:
    path, text = variant(tmp_path, "at: 2026-11-14T02:06:56Z", "at: 2026-11-14T01:06:56Z")
    found = error_for(path)
    assert found.startswith(f"{path}:{line_of(text, 'at: 2026-11-14T01:06:56Z')}: ")
    assert "happens before the step above it" in found


def test_objectives_must_match_the_definitions(tmp_path: Path) -> None:
    path, text = variant(tmp_path, "attacker-passkey, live-pass]", "attacker-passkey]")
    found = error_for(path)
    assert found.startswith(f"{path}:{line_of(text, 'containment: [attacker-sessions')}: ")
    assert "objectives.containment must list exactly" in found


def test_duplicate_key_and_yaml_syntax(tmp_path: Path) -> None:
    path, text = variant(tmp_path, "title: A Temporary", "id: again\ntitle: A Temporary")
    assert error_for(path).startswith(f"{path}:{line_of(text, 'id: again')}: key 'id' appears twice")
    path, text = variant(tmp_path, "  domain: northwind-traders.example", "  domain: [northwind")
    found = error_for(path)
    assert found.startswith(f"{path}:") and "not valid YAML" in found


def test_missing_required_key(tmp_path: Path) -> None:
    path, text = variant(tmp_path, "    - key: grace\n      name: Grace Okonkwo\n", "    - key: grace\n")
    found = error_for(path)
    assert found == f"{path}:{line_of(text, '- key: grace')}: a person needs 'name'"


def test_expanded_tenant_is_graph_json() -> None:
    scenario = load_scenario("tap-persistence")
    collections = scenario.seed_collections()
    users = {u["userPrincipalName"]: u for u in collections["users"]}
    assert set(users) == {p.upn for p in scenario.tenant.people}
    mia = users["mia.hoffmann@northwind-traders.example"]
    methods = collections["authenticationMethods"][mia["id"]]
    types = [m["@odata.type"] for m in methods]
    assert types == [
        "#microsoft.graph.passwordAuthenticationMethod",
        "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
        "#microsoft.graph.phoneAuthenticationMethod",
    ]
    assert methods[1]["createdDateTime"] is None  # push only: Graph leaves createdDateTime empty
    assert methods[2]["id"] == "3179e48a-750b-4051-897c-87b9720928f7"
    tap = next(
        c
        for c in collections["authenticationMethodsPolicy"]["authenticationMethodConfigurations"]
        if c["id"] == "TemporaryAccessPass"
    )
    assert tap["isUsableOnce"] is False and tap["maximumLifetimeInMinutes"] == 43200
    assert tap["includeTargets"][0]["id"] == "all_users"
    lukas = users["lukas.brandt@northwind-traders.example"]["id"]
    assert any(
        a["principalId"] == lukas and a["roleDefinitionId"] == "c4e39bd9-1100-46d3-8c65-fb160da0071f"
        for a in collections["roleAssignments"]
    )
    # the same file always seeds the same ids
    assert load_scenario("tap-persistence").seed_collections() == collections


def test_seed_secrets_name_the_parts() -> None:
    scenario = load_scenario("registration-gate-bypass")
    secrets = scenario.seed_secrets()
    assert secrets.owners[scenario.victim_upn] == "victim"
    assert secrets.owners[scenario.defender_upn] == "defender"
    assert secrets.known_by == {scenario.victim_upn: ["attacker"]}


def test_replay_error_codes_must_be_numbers(tmp_path: Path) -> None:
    path, text = variant(
        tmp_path,
        "params: {user: mia, method: tap, ip: 192.0.2.201, country: SG, holder: attacker}",
        "params: {user: mia, method: tap, ip: 192.0.2.201, country: SG, holder: attacker}\n"
        "        alsoInOn: [mfa-required]",
    )
    found = error_for(path)
    assert found == f"{path}:{line_of(text, 'alsoInOn')}: alsoInOn lists sign-in error codes, e.g. [50076]"
