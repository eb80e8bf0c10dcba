"""Snapshot loading: Graph shapes accepted, bad input named by file (and line), missing data recorded."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from graphlattice.errors import SnapshotError
from graphlattice.tenant.snapshot import load_snapshot
from tests.checks.builder import apply_patch, base_document, write_snapshot


def _snap(tmp_path: Path, patch: dict[str, object] | None = None) -> Path:
    return write_snapshot(apply_patch(base_document(), patch or {}), tmp_path / "snap")


def test_base_snapshot_loads_with_indexes(tmp_path: Path) -> None:
    tenant = load_snapshot(_snap(tmp_path))
    assert tenant.tenant_id == "11111111-2222-3333-4444-555555555555"
    assert tenant.collected_at.isoformat() == "2026-11-16T09:00:00+00:00"
    assert set(tenant.users) == {"u-admin", "u-bg1", "u-alice", "u-bob", "u-helpdesk", "u-guest"}
    assert tenant.users["u-guest"].user_type == "guest"
    assert tenant.groups_of("u-bob") == frozenset({"g-tap"})
    assert "u-bg1" in tenant.role_assignable_members
    kinds = {(g.principal_id, g.kind, g.via_group_id) for g in tenant.role_grants}
    assert ("u-bg1", "standing", None) in kinds
    assert ("u-admin", "eligible", None) in kinds
    rules = tenant.activation_rules["62e90394-69f5-4237-9190-012177145e10"]
    assert rules.approval_required and rules.mfa_required and rules.max_duration == "PT4H"
    assert tenant.errors == {}
    assert tenant.method_configuration("temporaryaccesspass") is not None


def test_role_assigned_to_group_reaches_its_members(tmp_path: Path) -> None:
    snap = _snap(
        tmp_path,
        {
            "merge": {
                "roleAssignments": [
                    {
                        "id": "ra-group",
                        "principalId": "g-bg",
                        "roleDefinitionId": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
                        "directoryScopeId": "/",
                    }
                ]
            }
        },
    )
    tenant = load_snapshot(snap)
    via = [g for g in tenant.grants_of("u-bg1") if g.via_group_id == "g-bg"]
    assert [g.role_id for g in via] == ["c4e39bd9-1100-46d3-8c65-fb160da0071f"]


def test_activation_instance_marks_assignment_as_activated(tmp_path: Path) -> None:
    snap = _snap(
        tmp_path,
        {
            "merge": {
                "roleAssignments": [
                    {
                        "id": "ra-x",
                        "principalId": "u-alice",
                        "roleDefinitionId": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
                        "directoryScopeId": "/",
                    }
                ],
                "roleAssignmentScheduleInstances": [
                    {
                        "id": "inst-x",
                        "roleAssignmentOriginId": "ra-x",
                        "principalId": "u-alice",
                        "directoryScopeId": "/",
                        "roleDefinitionId": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
                        "assignmentType": "Activated",
                        "endDateTime": "2026-11-16T12:00:00Z",
                    }
                ],
            }
        },
    )
    grants = load_snapshot(snap).grants_of("u-alice")
    assert [(g.kind, g.end is not None) for g in grants] == [("activated", True)]


def test_without_instances_active_counts_as_standing(tmp_path: Path) -> None:
    snap = _snap(tmp_path, {"delete": ["roleAssignmentScheduleInstances"]})
    tenant = load_snapshot(snap)
    assert tenant.available["roleAssignmentScheduleInstances"] is False
    assert "roleAssignmentScheduleInstances" not in tenant.errors  # optional: not an error
    assert [g.kind for g in tenant.grants_of("u-bg1")] == ["standing"]


def test_missing_and_errored_collections_are_recorded(tmp_path: Path) -> None:
    snap = _snap(tmp_path, {"delete": ["users"], "error": {"conditionalAccessPolicies": "403 Forbidden"}})
    tenant = load_snapshot(snap)
    assert tenant.available["users"] is False
    assert "User.Read.All" in tenant.errors["users"]
    assert tenant.errors["conditionalAccessPolicies"].startswith("403 Forbidden")


def test_enums_fold_case_and_unknown_values_warn(tmp_path: Path) -> None:
    snap = _snap(
        tmp_path,
        {
            "merge": {
                "users": [{"id": "u-alice", "userType": "MEMBER"}, {"id": "u-bob", "userType": "robot"}],
                "conditionalAccessPolicies": [{"id": "ca-gate", "state": "Enabled", "futureField": 1}],
            }
        },
    )
    tenant = load_snapshot(snap)
    assert tenant.users["u-alice"].user_type == "member"
    assert tenant.unknown("users", "userType") == frozenset({"robot"})
    assert any("robot" in w for w in tenant.warnings)
    assert any("futureField" in w for w in tenant.warnings)


def test_bad_json_names_the_file(tmp_path: Path) -> None:
    snap = _snap(tmp_path)
    (snap / "groups.json").write_text('{"value": [', encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"groups\.json.*not valid JSON"):
        load_snapshot(snap)


def test_wrong_shape_names_the_file(tmp_path: Path) -> None:
    snap = _snap(tmp_path)
    (snap / "users.json").write_bytes(orjson.dumps({"users": []}))
    with pytest.raises(SnapshotError, match=r"users\.json: expected a Graph collection"):
        load_snapshot(snap)


def test_group_without_members_array_is_rejected(tmp_path: Path) -> None:
    doc = base_document()
    del doc["collections"]["groups"]["value"][0]["members"]
    snap = write_snapshot(doc, tmp_path / "snap")
    with pytest.raises(SnapshotError, match='complete "members"'):
        load_snapshot(snap)


def test_jsonl_error_names_the_line(tmp_path: Path) -> None:
    snap = _snap(tmp_path)
    path = snap / "authenticationMethods.jsonl"
    lines = path.read_bytes().splitlines()
    lines[2] = b'{"userId": "u-alice", "value": [}'
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(SnapshotError, match=r"authenticationMethods\.jsonl:3"):
        load_snapshot(snap)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="not a directory"):
        load_snapshot(tmp_path / "nowhere")


def test_bare_array_and_logs_in_json_form_load(tmp_path: Path) -> None:
    snap = _snap(tmp_path)
    users = orjson.loads((snap / "users.json").read_bytes())["value"]
    (snap / "users.json").write_bytes(orjson.dumps(users))
    (snap / "directoryAudits.json").write_bytes(
        orjson.dumps({"value": [{"id": "a1", "activityDisplayName": "x"}]})
    )
    tenant = load_snapshot(snap)
    assert len(tenant.users) == 6
    assert tenant.directory_audits is not None and tenant.directory_audits[0]["id"] == "a1"


def test_activation_approval_unknown_without_an_approval_rule(tmp_path: Path) -> None:
    doc = base_document()
    policies = doc["collections"]["roleManagementPolicies"]["value"]
    ga_policy = next(p for p in policies if p["id"] == "DirectoryRole_fixture_ga")
    ga_policy["rules"] = [r for r in ga_policy["rules"] if r["id"] != "Approval_EndUser_Assignment"]
    tenant = load_snapshot(write_snapshot(doc, tmp_path / "snap"))
    needed, why = tenant.activation_approval("62E90394-69F5-4237-9190-012177145E10")
    assert needed is None and "no Approval_EndUser_Assignment rule" in why
    assert tenant.activation_approval("c4e39bd9-1100-46d3-8c65-fb160da0071f") == (True, "")
    assert tenant.activation_approval("00000000-0000-0000-0000-00000000dead")[0] is None


def test_tenant_from_collections_matches_the_directory_loader(tmp_path: Path) -> None:
    from graphlattice.tenant.snapshot import tenant_from_collections

    doc = base_document()
    from_disk = load_snapshot(_snap(tmp_path))
    in_memory = tenant_from_collections(doc["collections"], doc["manifest"])
    assert in_memory.tenant_id == from_disk.tenant_id
    assert in_memory.collected_at == from_disk.collected_at
    assert set(in_memory.users) == set(from_disk.users)
    assert in_memory.role_grants == from_disk.role_grants
    assert in_memory.methods == from_disk.methods
    assert in_memory.available == from_disk.available
    assert in_memory.errors == from_disk.errors == {}
    by_user = {line["userId"]: line["value"] for line in doc["collections"]["authenticationMethods"]}
    keyed = tenant_from_collections({**doc["collections"], "authenticationMethods": by_user}, doc["manifest"])
    assert keyed.methods == from_disk.methods


def test_tenant_from_collections_marks_missing_collections_unavailable() -> None:
    from graphlattice.tenant.snapshot import tenant_from_collections

    doc = base_document()
    collections = dict(doc["collections"])
    del collections["conditionalAccessPolicies"]
    tenant = tenant_from_collections(collections, doc["manifest"])
    assert tenant.available["conditionalAccessPolicies"] is False
    assert "conditionalAccessPolicies" in tenant.errors
    assert tenant.available.get("directoryAudits") is False
