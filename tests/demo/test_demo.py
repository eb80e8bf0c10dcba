"""The demo tenant generator: determinism, scale, Graph shapes, integrity and the planted story."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from graphlattice.demo import COLLECTIONS, DEMO_NOW, RISKS, DemoSummary, generate_demo
from graphlattice.entra import roles as R
from graphlattice.errors import UsageError

Json = dict[str, Any]
MY_SIGNINS = "19db86c3-b2b9-44cc-b339-36da233a3be2"
SINGLETONS = {"authenticationMethodsPolicy"}
JSONL = {"authenticationMethods", "directoryAudits", "signIns"}
NOW = "2026-11-16T09:00:00Z"


def _file(root: Path, name: str) -> Path:
    return root / (f"{name}.jsonl" if name in JSONL else f"{name}.json")


def _items(root: Path, name: str) -> list[Json]:
    doc = orjson.loads(_file(root, name).read_bytes())
    assert isinstance(doc, dict) and isinstance(doc["value"], list), name
    return doc["value"]


def _lines(root: Path, name: str) -> Iterator[Json]:
    with _file(root, name).open("rb") as fh:
        for line in fh:
            yield orjson.loads(line)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, float]:
    out = tmp_path_factory.mktemp("demo200")
    started = time.perf_counter()
    summary = generate_demo(out, users=200, seed=7)
    return summary, time.perf_counter() - started


@pytest.fixture(scope="module")
def root(demo: tuple[DemoSummary, float]) -> Path:
    return demo[0].out_dir


@pytest.fixture(scope="module")
def users(root: Path) -> dict[str, Json]:
    return {u["id"]: u for u in _items(root, "users")}


def test_200_users_is_fast(demo: tuple[DemoSummary, float]) -> None:
    summary, seconds = demo
    assert summary.users == 200
    assert seconds < 5


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", users=50, seed=11)
    second = generate_demo(tmp_path / "b", users=50, seed=11)
    other = generate_demo(tmp_path / "c", users=50, seed=12)
    names = sorted(p.name for p in first.out_dir.iterdir())
    assert names == sorted(p.name for p in second.out_dir.iterdir())
    for name in names:
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes(), name
    assert first.planted == second.planted
    assert (first.out_dir / "users.json").read_bytes() != (other.out_dir / "users.json").read_bytes()


@pytest.mark.parametrize("size", [50, 2_000])
def test_counts(tmp_path: Path, size: int) -> None:
    calls: list[tuple[int, int]] = []
    summary = generate_demo(tmp_path, users=size, progress=lambda done, total: calls.append((done, total)))
    assert summary.users == size
    assert len(_items(tmp_path, "users")) == size
    assert len(_items(tmp_path, "userRegistrationDetails")) == size
    assert sum(1 for _ in _lines(tmp_path, "authenticationMethods")) == size
    assert len(_items(tmp_path, "groups")) == summary.groups
    assert sum(1 for _ in _lines(tmp_path, "directoryAudits")) == summary.audit_records
    assert sum(1 for _ in _lines(tmp_path, "signIns")) == summary.signin_records
    assert calls and calls[-1] == (size, size)
    assert all(a[0] < b[0] for a, b in itertools.pairwise(calls))


def test_population_mix_at_2000(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path, users=2_000)
    rows = _items(tmp_path, "userRegistrationDetails")
    members = {
        u["id"] for u in _items(tmp_path, "users") if u["userType"] == "Member" and u["accountEnabled"]
    }
    no_mfa = len(summary.planted["users-without-mfa"]) / len(members)
    assert 0.03 < no_mfa < 0.08
    sms_only = len(summary.planted["users-risky-mfa"]) / len(members)
    assert 0.07 < sms_only < 0.14
    admins = [r for r in rows if r["isAdmin"]]
    assert len(admins) >= 10
    guests = [r for r in rows if r["userType"] == "guest"]
    assert guests and len(guests) < 60


@pytest.mark.parametrize("bad", [49, 200_001, 0, -5])
def test_user_count_is_bounded(tmp_path: Path, bad: int) -> None:
    with pytest.raises(UsageError):
        generate_demo(tmp_path, users=bad)


def test_every_file_has_the_documented_shape(root: Path) -> None:
    manifest = orjson.loads((root / "manifest.json").read_bytes())
    assert manifest["source"] == "demo"
    assert manifest["collectedAt"] == DEMO_NOW.strftime("%Y-%m-%dT%H:%M:%SZ") == "2026-11-16T09:00:00Z"
    assert manifest["generator"] == {"seed": 7, "users": 200}
    assert set(manifest["collections"]) == set(COLLECTIONS)
    assert all(entry == {"status": "ok"} for entry in manifest["collections"].values())
    for name in COLLECTIONS:
        if name in SINGLETONS:
            doc = orjson.loads(_file(root, name).read_bytes())
            assert isinstance(doc, dict) and "value" not in doc
        elif name in JSONL:
            assert all(isinstance(obj, dict) for obj in _lines(root, name))
        else:
            assert all("id" in item for item in _items(root, name)), name
    expected = {_file(root, n).name for n in COLLECTIONS} | {"manifest.json", "graphlattice.yaml"}
    assert {p.name for p in root.iterdir()} == expected


def test_timestamps_are_utc_z(root: Path) -> None:
    for user in _items(root, "users"):
        assert user["createdDateTime"].endswith("Z")
    for record in _lines(root, "signIns"):
        assert record["createdDateTime"].endswith("Z") and record["createdDateTime"] <= "2026-11-16T09:00:00Z"
    window_start = "2026-11-02T09:00:00Z"
    audits = list(_lines(root, "directoryAudits"))
    old = [a for a in audits if a["activityDateTime"] < window_start]
    # Only the registration gate's creation and edit predate the fortnight.
    assert [a["activityDisplayName"] for a in old] == [
        "Add conditional access policy",
        "Update conditional access policy",
    ]


def test_users(users: dict[str, Json]) -> None:
    kinds = {u["userType"] for u in users.values()}
    assert kinds == {"Member", "Guest"}
    guests = [u for u in users.values() if u["userType"] == "Guest"]
    assert all("#EXT#@" in u["userPrincipalName"] for u in guests)
    assert any(not u["accountEnabled"] for u in users.values())
    assert len({u["userPrincipalName"] for u in users.values()}) == len(users)
    for user in users.values():
        for key in (
            "id",
            "displayName",
            "userPrincipalName",
            "mail",
            "userType",
            "accountEnabled",
            "department",
            "jobTitle",
            "createdDateTime",
            "onPremisesSyncEnabled",
        ):
            assert key in user


def test_group_members_and_owners_exist(root: Path, users: dict[str, Json]) -> None:
    groups = _items(root, "groups")
    for group in groups:
        for key in (
            "members",
            "owners",
            "isAssignableToRole",
            "securityEnabled",
            "mailEnabled",
            "groupTypes",
        ):
            assert key in group
        for ref in group["members"] + group["owners"]:
            assert ref["@odata.type"] == "#microsoft.graph.user"
            assert ref["id"] in users
            assert ref["displayName"] == users[ref["id"]]["displayName"]
    by_name = {g["displayName"]: g for g in groups}
    kiosk = by_name["Legacy Kiosk Devices - MFA Exclusion"]
    assert not kiosk["isAssignableToRole"] and len(kiosk["owners"]) == 1
    assert by_name["Tier0 Platform Admins"]["isAssignableToRole"]
    departments = [g for g in groups if g["displayName"].startswith("Dept - ")]
    in_department = {ref["id"] for g in departments for ref in g["members"]}
    assert in_department == {u["id"] for u in users.values() if u["department"] and u["userType"] == "Member"}


def test_roles_and_pim_are_consistent(root: Path, users: dict[str, Json]) -> None:
    groups = {g["id"] for g in _items(root, "groups")}
    definitions = {d["id"] for d in _items(root, "roleDefinitions")}
    principals = set(users) | groups
    assignments = _items(root, "roleAssignments")
    for item in assignments:
        assert item["principalId"] in principals and item["roleDefinitionId"] in definitions
    instances = _items(root, "roleAssignmentScheduleInstances")
    assert {i["assignmentType"] for i in instances} == {"Assigned", "Activated"}
    assert {i["memberType"] for i in instances} == {"Direct", "Group"}
    assert all(i["endDateTime"] for i in instances if i["assignmentType"] == "Activated")
    assert {i["roleAssignmentOriginId"] for i in instances} == {a["id"] for a in assignments}
    scoped = [a for a in assignments if a["directoryScopeId"] != "/"]
    assert len(scoped) == 1 and scoped[0]["directoryScopeId"].startswith("/administrativeUnits/")
    assert scoped[0]["roleDefinitionId"] == R.AUTHENTICATION_ADMINISTRATOR
    for item in _items(root, "roleEligibilitySchedules"):
        assert item["principalId"] in principals and item["status"] == "Provisioned"
        expiration = item["scheduleInfo"]["expiration"]
        assert expiration["type"] in {"noExpiration", "afterDateTime"}
        assert expiration["endDateTime"] is None or expiration["endDateTime"] > NOW
    assert all(i["endDateTime"] is None or i["endDateTime"] > NOW for i in instances)
    policies = {p["id"]: p for p in _items(root, "roleManagementPolicies")}
    approval: dict[str, bool] = {}
    for link in _items(root, "roleManagementPolicyAssignments"):
        assert link["scopeId"] == "/" and link["scopeType"] == "DirectoryRole"
        rules = {r["id"]: r for r in policies[link["policyId"]]["rules"]}
        assert {
            "Approval_EndUser_Assignment",
            "Enablement_EndUser_Assignment",
            "Expiration_EndUser_Assignment",
        } <= set(rules)
        rule = rules["Approval_EndUser_Assignment"]
        assert rule["@odata.type"] == "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule"
        approval[link["roleDefinitionId"]] = rule["setting"]["isApprovalRequired"]
    assert approval[R.GLOBAL_ADMINISTRATOR] and not approval[R.AUTHENTICATION_ADMINISTRATOR]
    assert not approval[R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR]


def test_policies(root: Path) -> None:
    ca = {p["displayName"]: p for p in _items(root, "conditionalAccessPolicies")}
    gate = ca["Require MFA to register security info"]
    assert gate["state"] == "enabledForReportingButNotEnforced"
    assert gate["conditions"]["applications"]["includeUserActions"] == ["urn:user:registersecurityinfo"]
    assert gate["conditions"]["locations"]["excludeLocations"] == ["AllTrusted"]
    assert gate["createdDateTime"] < "2026-08-10" and gate["modifiedDateTime"] < "2026-08-10"
    assert {p["state"] for p in ca.values()} == {"enabled", "disabled", "enabledForReportingButNotEnforced"}
    admins = ca["Require phishing-resistant MFA for admin portals"]
    assert admins["grantControls"]["authenticationStrength"]["id"] == "00000000-0000-0000-0000-000000000004"
    assert admins["conditions"]["users"]["excludeRoles"] == [R.AUTHENTICATION_ADMINISTRATOR]
    locations = _items(root, "namedLocations")
    assert {n["@odata.type"] for n in locations} == {
        "#microsoft.graph.ipNamedLocation",
        "#microsoft.graph.countryNamedLocation",
    }
    strengths = {s["id"]: s for s in _items(root, "authenticationStrengthPolicies")}
    assert (
        "temporaryAccessPassMultiUse"
        in strengths["00000000-0000-0000-0000-000000000002"]["allowedCombinations"]
    )
    assert strengths["00000000-0000-0000-0000-000000000004"]["allowedCombinations"] == [
        "windowsHelloForBusiness",
        "fido2",
        "x509CertificateMultiFactor",
    ]
    assert sum(s["policyType"] == "custom" for s in strengths.values()) == 1
    policy = orjson.loads((root / "authenticationMethodsPolicy.json").read_bytes())
    tap = {c["id"]: c for c in policy["authenticationMethodConfigurations"]}["TemporaryAccessPass"]
    assert tap["state"] == "enabled" and tap["isUsableOnce"] is False
    assert tap["defaultLifetimeInMinutes"] == 480 and tap["maximumLifetimeInMinutes"] == 43_200
    assert tap["includeTargets"][0]["id"] == "all_users"


def test_service_principals(root: Path) -> None:
    sps = _items(root, "servicePrincipals")
    graph = next(sp for sp in sps if sp["appId"] == "00000003-0000-0000-c000-000000000000")
    writers = [
        sp
        for sp in sps
        if any(g["appRoleId"] == "50483e42-d915-4231-9639-7fdb7fd190e5" for g in sp["appRoleAssignments"])
    ]
    assert [sp["displayName"] for sp in writers] == ["Helpdesk Automation"]
    for sp in sps:
        for grant in sp["appRoleAssignments"]:
            assert grant["resourceId"] == graph["id"] and grant["principalId"] == sp["id"]
            assert grant["principalType"] == "ServicePrincipal"


def test_methods_and_registration_agree(root: Path, users: dict[str, Json]) -> None:
    rows = {r["id"]: r for r in _items(root, "userRegistrationDetails")}
    taps: list[Json] = []
    for line in _lines(root, "authenticationMethods"):
        row = rows[line["userId"]]
        types = {m["@odata.type"].removeprefix("#microsoft.graph.") for m in line["value"]}
        strong = types & {
            "microsoftAuthenticatorAuthenticationMethod",
            "fido2AuthenticationMethod",
            "windowsHelloForBusinessAuthenticationMethod",
            "softwareOathAuthenticationMethod",
            "phoneAuthenticationMethod",
        }
        assert row["isMfaRegistered"] == bool(strong), users[line["userId"]]["displayName"]
        for method in line["value"]:
            if method["@odata.type"].endswith("passwordAuthenticationMethod"):
                assert method["id"] == "28c10230-6103-485e-b985-444c60001490"
            if method["@odata.type"].endswith("temporaryAccessPassAuthenticationMethod"):
                assert method["temporaryAccessPass"] is None
                taps.append(method)
                assert "temporaryAccessPass" in row["methodsRegistered"]
    usable = [t for t in taps if t["isUsable"]]
    assert len(usable) == 3 and len(taps) == 4
    assert [t["methodUsabilityReason"] for t in taps if not t["isUsable"]] == ["Expired"]
    assert any(not t["isUsableOnce"] and t["lifetimeInMinutes"] == 43_200 for t in usable)


def test_break_glass(root: Path, users: dict[str, Json]) -> None:
    config = yaml.safe_load((root / "graphlattice.yaml").read_text())
    declared = config["breakGlassAccounts"]
    assert declared == ["emergency-access-01@contoso-demo.example"]
    by_upn = {u["userPrincipalName"]: u for u in users.values()}
    second = by_upn["emergency-access-02@contoso-demo.example"]
    assert second["displayName"] == "Emergency Access 2" and second["onPremisesSyncEnabled"] is None
    ga = {
        a["principalId"]
        for a in _items(root, "roleAssignments")
        if a["roleDefinitionId"] == R.GLOBAL_ADMINISTRATOR
    }
    assert {by_upn[declared[0]]["id"], second["id"]} <= ga


def test_the_attack_is_in_the_logs_once(root: Path, users: dict[str, Json]) -> None:
    summary_users = {u["userPrincipalName"]: u["id"] for u in users.values()}
    operator = summary_users["jordan.pike@contoso-demo.example"]
    victim = summary_users["elena.marsh@contoso-demo.example"]
    audits = list(_lines(root, "directoryAudits"))
    issued = [
        a
        for a in audits
        if a["activityDisplayName"] == "Admin registered security info"
        and a["resultReason"] == "Admin registered temporary access pass method for user"
    ]
    assert all(a["loggedByService"] == "Authentication Methods" for a in issued)
    by_operator = [a for a in issued if a["initiatedBy"]["user"]["id"] == operator]
    assert len(by_operator) == 1
    tap = by_operator[0]
    assert tap["targetResources"][0]["id"] == victim
    props = {p["displayName"]: p["newValue"] for p in tap["targetResources"][0]["modifiedProperties"]}
    assert props["TemporaryAccessPass.AccessPassUsage"] == '"Multiple"'
    assert {
        "TemporaryAccessPass.Id",
        "TemporaryAccessPass.StartDateTime",
        "TemporaryAccessPass.EndDateTime",
    } <= set(props)
    assert tap["activityDateTime"][11:13] < "06"  # night time
    signins = list(_lines(root, "signIns"))
    tap_signins = [
        s
        for s in signins
        if any(d["authenticationMethod"] == "Temporary Access Pass" for d in s["authenticationDetails"])
        and s["userId"] == victim
    ]
    assert len(tap_signins) == 1
    attack_signin = tap_signins[0]
    assert attack_signin["appId"] == MY_SIGNINS and attack_signin["createdDateTime"] > tap["activityDateTime"]
    attacker_ip = attack_signin["ipAddress"]
    earlier = [
        s
        for s in signins
        if s["userId"] == victim and s["createdDateTime"] < attack_signin["createdDateTime"]
    ]
    assert earlier and all(s["ipAddress"] != attacker_ip for s in earlier)
    assert all(
        s["location"]["countryOrRegion"] != attack_signin["location"]["countryOrRegion"] for s in earlier
    )
    assert {s["userId"] for s in signins if s["ipAddress"] == attacker_ip} == {victim}
    registered = [
        a
        for a in audits
        if a["activityDisplayName"] == "User registered security info"
        and a["initiatedBy"]["user"]["ipAddress"] == attacker_ip
    ]
    assert sorted(a["resultReason"] for a in registered) == [
        "User registered Fido2 Authentication Method",
        "User registered Microsoft Authenticator App",
    ]
    drs = [a["activityDisplayName"] for a in audits if a["loggedByService"] == "Device Registration Service"]
    assert sorted(drs) == ["Add FIDO2 security key", "Add passwordless phone sign-in credential"]
    methods = next(
        line["value"] for line in _lines(root, "authenticationMethods") if line["userId"] == victim
    )
    authenticators = [
        m for m in methods if m["@odata.type"].endswith("microsoftAuthenticatorAuthenticationMethod")
    ]
    planted_app = [m for m in authenticators if m["createdDateTime"]]
    assert len(planted_app) == 1 and planted_app[0]["createdDateTime"] > attack_signin["createdDateTime"]
    passkeys = [m for m in methods if m["@odata.type"].endswith("fido2AuthenticationMethod")]
    assert len(passkeys) == 1 and passkeys[0]["createdDateTime"] > attack_signin["createdDateTime"]


def test_planted_map(demo: tuple[DemoSummary, float], root: Path, users: dict[str, Json]) -> None:
    planted = demo[0].planted
    assert set(planted) == {*RISKS, "attack"}
    assert all(planted[key] for key in planted)
    known: set[str] = set(users) | {"TemporaryAccessPass", R.AUTHENTICATION_ADMINISTRATOR}
    for name in ("groups", "servicePrincipals", "conditionalAccessPolicies", "namedLocations"):
        known |= {item["id"] for item in _items(root, name)}
    for risk in RISKS:
        assert set(planted[risk]) <= known, risk
    # Passing objects exist beside the failing ones.
    rows = {r["id"]: r for r in _items(root, "userRegistrationDetails")}
    admins = {i for i, r in rows.items() if r["isAdmin"]}
    assert admins - set(planted["admins-risky-mfa"])
    assert set(planted["admins-risky-mfa"]) <= admins


def test_personas_exist_at_50_users(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path, users=50)
    upns = {u["userPrincipalName"] for u in _items(tmp_path, "users")}
    for local in (
        "avery.lindqvist",
        "emergency-access-01",
        "emergency-access-02",
        "jordan.pike",
        "sam.okafor",
        "casey.novak",
        "riley.chen",
        "taylor.brooks",
        "quinn.harper",
        "drew.castillo",
        "parker.wu",
        "elena.marsh",
        "lee.baptiste",
    ):
        assert f"{local}@contoso-demo.example" in upns
    assert len(summary.planted["attack"]) >= 10
    assert all(summary.planted[risk] for risk in RISKS)


def test_loads_with_the_snapshot_reader(root: Path) -> None:
    snapshot = pytest.importorskip("graphlattice.tenant.snapshot")
    tenant = snapshot.load_snapshot(root)
    assert len(tenant.users) == 200
    assert not tenant.errors
