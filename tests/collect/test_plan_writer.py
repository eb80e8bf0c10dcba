"""The request plan as data, and the streaming writer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from graphlattice.collect.options import permission_rows, permission_summary
from graphlattice.collect.plan import (
    PLAN,
    TenantSize,
    has_temporary_access_pass,
    log_query,
    minimum_requests,
    permissions,
    plan_for,
)
from graphlattice.collect.writer import JsonlWriter, ListWriter, write_json_atomic
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.snapshot import load_snapshot


def test_the_plan_covers_every_snapshot_collection_with_its_permission() -> None:
    assert [p.name for p in PLAN] == list(COLLECTIONS) or {p.name for p in PLAN} == set(COLLECTIONS)
    for plan in PLAN:
        assert plan.permission == COLLECTIONS[plan.name].permission
    assert plan_for("signIns").query is not None and plan_for("signIns").query.version == "beta"
    listed = {row["collection"]: row for row in permission_rows()}
    assert listed["signIns"]["permissions"] == ["AuditLog.Read.All", "Directory.Read.All"]
    names = [item["permission"] for item in permission_summary()]
    assert names == permissions() and len(names) == len(set(names))
    assert all(".Read" in name for name in names)  # read-only, nothing that writes
    assert not any("Write" in name for name in names)


def test_page_sizes_are_graphs_maximums() -> None:
    assert plan_for("users").query.top == 999  # type: ignore[union-attr]
    assert plan_for("groups").query.top == 999  # type: ignore[union-attr]
    assert plan_for("servicePrincipals").query.top == 999  # type: ignore[union-attr]
    assert plan_for("directoryAudits").query.top == 1000  # type: ignore[union-attr]
    assert plan_for("signIns").query.top == 1000  # type: ignore[union-attr]
    assert all(c.top == 999 for c in plan_for("groups").children)


def test_log_window_filters_on_the_records_own_time() -> None:
    since = datetime(2026, 11, 9, 8, 30, tzinfo=UTC)
    assert log_query("directoryAudits", since).url() == (
        "/v1.0/auditLogs/directoryAudits?$filter=activityDateTime%20ge%202026-11-09T08:30:00Z&$top=1000"
    )
    assert "createdDateTime%20ge%20" in log_query("signIns", since).url()
    assert plan_for("roleManagementPolicies").query.url() == (  # type: ignore[union-attr]
        "/v1.0/policies/roleManagementPolicies?$filter=scopeId%20eq%20'/'%20and%20scopeType%20eq%20"
        "'DirectoryRole'&$expand=rules"
    )


def test_pass_holders_are_read_from_the_registration_report() -> None:
    assert has_temporary_access_pass({"methodsRegistered": ["password", "temporaryAccessPass"]})
    assert not has_temporary_access_pass({"methodsRegistered": ["microsoftAuthenticatorPush"]})
    assert not has_temporary_access_pass({"methodsRegistered": None})


def test_minimum_requests_counts_pages_batches_and_extra_child_pages() -> None:
    size = TenantSize(
        counts={
            "users": 100_000,
            "groups": 1_000,
            "servicePrincipals": 40,
            "userRegistrationDetails": 100_000,
        },
        members=(1_500,) + (10,) * 999,  # one group needs a second members page
        owners=(1,) * 1_000,
        app_role_assignments=(0,) * 40,
        method_reads=250,
    )
    plan = minimum_requests(size, logs=False)
    # users 101 + groups 2 + members/owners batches 100 + 1 extra page + SPs 1 + appRoleAssignment batch 2 +
    # methods 13 batches + 9 single-page directory collections (incl. the policy singleton)
    assert plan.requests["directory"] == 101 + 2 + 100 + 1 + 1 + 2 + 13 + 7 + 1
    assert plan.requests["reports"] == 101
    assert plan.requests["conditionalAccess"] == 2
    assert plan.seconds(100_000) == pytest.approx((101 - 5) / 0.5)


def test_list_writer_streams_and_appears_only_when_complete(tmp_path: Path) -> None:
    final = tmp_path / "users.json"
    with ListWriter(final) as writer:
        writer.write({"id": "a"})
        writer.write_raw(b'{"id":"b"')
        writer.append(b',"members":[]}')
        assert not final.exists() and (tmp_path / ".users.json.part").exists()
        assert writer.commit() == 2
    assert orjson.loads(final.read_bytes()) == {"value": [{"id": "a"}, {"id": "b", "members": []}]}
    assert not (tmp_path / ".users.json.part").exists()


def test_an_interrupted_collection_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), JsonlWriter(tmp_path / "signIns.jsonl") as writer:
        writer.write({"id": 1})
        raise RuntimeError("connection lost")
    assert list(tmp_path.iterdir()) == []


def test_written_files_load_as_a_snapshot(tmp_path: Path) -> None:
    with ListWriter(tmp_path / "users.json") as users:
        users.write(
            {"id": "U1", "displayName": "One", "userPrincipalName": "one@x.example", "userType": "Member"}
        )
        users.commit()
    with JsonlWriter(tmp_path / "authenticationMethods.jsonl") as methods:
        methods.write({"userId": "U1", "value": []})
        methods.commit()
    write_json_atomic(
        tmp_path / "manifest.json",
        {
            "tenantId": "t",
            "collectedAt": "2026-11-16T08:30:00Z",
            "collections": {
                "users": {"status": "ok", "count": 1},
                "signIns": {"status": "error", "error": "x"},
            },
        },
    )
    tenant = load_snapshot(tmp_path)
    assert list(tenant.users) == ["u1"] and tenant.methods == {"u1": []}
    assert "signIns" in tenant.errors


def test_each_sign_in_option_builds_its_azure_identity_credential(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from graphlattice.collect.auth import AzureToken, CommandToken, StaticToken
    from graphlattice.collect.options import LiveOptions, token_provider

    monkeypatch.setenv("GL_SECRET", "not-a-real-secret")
    cert = tmp_path / "app.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    cases = {
        "ClientSecretCredential": LiveOptions(tenant="t", client_id="c", client_secret_env="GL_SECRET"),
        "CertificateCredential": LiveOptions(tenant="t", client_id="c", certificate=cert),
        "DeviceCodeCredential": LiveOptions(tenant="t", device_code=True),
        "AzureCliCredential": LiveOptions(tenant="t", azure_cli=True),
        "ManagedIdentityCredential": LiveOptions(managed_identity=True),
    }
    for expected, options in cases.items():
        try:
            provider = token_provider(options)
        except ValueError:  # the certificate file is not a real certificate: azure-identity reads it eagerly
            assert expected == "CertificateCredential"
            continue
        assert isinstance(provider, AzureToken)
        assert type(provider.credential).__name__ == expected
        assert provider.scope == "https://graph.microsoft.com/.default"
        assert "not-a-real-secret" not in repr(provider)
    assert isinstance(token_provider(LiveOptions(base_url="http://127.0.0.1:1", token="x")), StaticToken)
    assert isinstance(token_provider(LiveOptions(token_command="echo x")), CommandToken)
    assert CommandToken("printf 'noise\\ntok3n\\n'").token() == "tok3n"
