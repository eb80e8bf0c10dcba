"""The reads posture tools make beyond users and groups: the legacy directory roles, applications, the
organization, group settings, the security defaults and authorization policies, and users' signInActivity.
Shapes, addressing, paging and each API's permissions (403 with Graph's error body), over real HTTP."""

from __future__ import annotations

import pytest

from graphlattice.entra.roles import GLOBAL_ADMINISTRATOR
from graphlattice.server.routers._common import USER_DEFAULT
from graphlattice.server.serve import RunningServer
from tests.server.conftest import (
    ELIF,
    LUKAS,
    MIA,
    NO_PERMISSION_APP,
    NOOR,
    READER_APP,
    WRITER_APP,
    as_app,
    as_user,
    assert_graph_error,
)

READS = (
    "/directoryRoles",
    "/directoryRoleTemplates",
    "/applications",
    "/organization",
    "/groupSettings",
    "/policies/identitySecurityDefaultsEnforcementPolicy",
    "/policies/authorizationPolicy",
)


@pytest.mark.parametrize("path", READS)
def test_members_and_permitted_apps_read_what_an_app_without_permission_may_not(
    served: RunningServer, path: str
) -> None:
    assert as_user(served, MIA).get(path).status_code == 200  # every member user (default permissions)
    assert as_app(served, READER_APP).get(path).status_code == 200
    error = assert_graph_error(
        as_app(served, NO_PERMISSION_APP).get(path), 403, "Authorization_RequestDenied"
    )
    assert "needs" in error["message"]


def test_directory_roles_are_the_activated_roles_addressable_by_template(served: RunningServer) -> None:
    graph = as_user(served, MIA)
    body = graph.get("/directoryRoles").json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#directoryRoles")
    roles = {r["roleTemplateId"]: r for r in body["value"]}
    assert GLOBAL_ADMINISTRATOR in roles
    ga = roles[GLOBAL_ADMINISTRATOR]
    assert set(ga) == {"id", "deletedDateTime", "description", "displayName", "roleTemplateId"}
    assert ga["id"] != GLOBAL_ADMINISTRATOR and ga["displayName"] == "Global Administrator"
    by_id = graph.get(f"/directoryRoles/{ga['id']}/members").json()["value"]
    by_template = graph.get(f"/directoryRoles/{GLOBAL_ADMINISTRATOR}/members").json()["value"]
    by_key = graph.get(f"/directoryRoles(roleTemplateId='{GLOBAL_ADMINISTRATOR}')/members").json()["value"]
    assert by_id == by_template == by_key
    assert NOOR in {m["userPrincipalName"] for m in by_id}
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in by_id)
    assert set(by_id[0]) - {"@odata.type"} == set(USER_DEFAULT)  # as /users shows them in v1.0
    filtered = graph.get("/directoryRoles", params={"$filter": f"roleTemplateId eq '{GLOBAL_ADMINISTRATOR}'"})
    assert [r["id"] for r in filtered.json()["value"]] == [ga["id"]]
    assert_graph_error(graph.get("/directoryRoles/not-a-role"), 404, "Request_ResourceNotFound")
    templates = graph.get("/directoryRoleTemplates").json()["value"]
    assert len(templates) > len(roles) and GLOBAL_ADMINISTRATOR in {t["id"] for t in templates}


def test_applications_hide_secrets_and_list_owners(served: RunningServer) -> None:
    graph = as_app(served, READER_APP)
    apps = graph.get("/applications").json()["value"]
    assert {a["displayName"] for a in apps} == {"HR Sync", "Expense Portal"}
    app = next(a for a in apps if a["displayName"] == "Expense Portal")
    assert "owners" not in app  # a navigation property, not part of the object
    assert [c["secretText"] for c in app["passwordCredentials"]] == [None]
    assert [c["key"] for c in app["keyCredentials"]] == [None]
    assert graph.get(f"/applications(appId='{app['appId']}')").json()["id"] == app["id"]
    owners = graph.get(f"/applications/{app['id']}/owners").json()["value"]
    assert [o["userPrincipalName"] for o in owners] == ["daan.visser@northwind-traders.example"]
    page = graph.get("/applications", params={"$top": "1", "$select": "id,displayName"}).json()
    assert len(page["value"]) == 1 and "$skiptoken=" in page["@odata.nextLink"]
    sps = graph.get("/servicePrincipals", params={"$filter": f"appId eq '{app['appId']}'"}).json()["value"]
    assert len(sps) == 1
    assert graph.get(f"/servicePrincipals/{sps[0]['id']}/owners").json()["value"] == owners
    graph_sp = graph.get("/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").json()
    assigned = graph.get(f"/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo").json()["value"]
    hr_sync = next(a for a in apps if a["displayName"] == "HR Sync")
    hr_sp = graph.get("/servicePrincipals", params={"$filter": f"appId eq '{hr_sync['appId']}'"}).json()[
        "value"
    ]
    assert {g["principalDisplayName"] for g in assigned} >= {"HR Sync", "Posture Reader"}
    assert all(g["resourceId"] == graph_sp["id"] for g in assigned)
    assert hr_sp[0]["id"] in {g["principalId"] for g in assigned}


def test_tenant_policies_and_settings_have_graphs_shapes(served: RunningServer) -> None:
    graph = as_user(served, MIA)
    defaults = graph.get("/policies/identitySecurityDefaultsEnforcementPolicy").json()
    assert defaults["id"] == "00000000-0000-0000-0000-000000000005"
    assert defaults["isEnabled"] is False
    policy = graph.get("/policies/authorizationPolicy").json()
    assert policy["id"] == "authorizationPolicy"
    assert policy["defaultUserRolePermissions"]["allowedToCreateApps"] is True
    beta = as_user(served, MIA, "beta").get("/policies/authorizationPolicy").json()
    assert [p["id"] for p in beta["value"]] == ["authorizationPolicy"]  # a collection in beta
    settings = graph.get("/groupSettings").json()["value"]
    values = {v["name"]: v["value"] for v in settings[0]["values"]}
    assert settings[0]["templateId"] == "62375ab9-6b52-47ed-826b-58e47e0e304b"
    assert values["EnableGroupCreation"] == "false" and values["AllowToAddGuests"] == "true"
    assert graph.get(f"/groupSettings/{settings[0]['id']}").json()["values"] == settings[0]["values"]
    assert as_user(served, MIA, "beta").get("/settings").json()["value"] == settings  # directorySetting
    assert_graph_error(graph.get("/settings"), 400, "Request_BadRequest")  # beta only
    org = graph.get("/organization").json()["value"]
    assert [o["displayName"] for o in org] == ["Northwind Traders"]
    assert org[0]["verifiedDomains"][0]["name"] == "northwind-traders.example"


def test_sign_in_activity_needs_its_permission_and_role(served: RunningServer) -> None:
    select = {"$select": "id,displayName,signInActivity"}
    body = as_user(served, ELIF).get("/users", params=select).json()  # Reports Reader
    lukas_id = as_user(served, ELIF).get(f"/users/{LUKAS}").json()["id"]
    activity = next(u for u in body["value"] if u["id"] == lukas_id)["signInActivity"]
    assert set(activity) == {
        "lastSignInDateTime",
        "lastSignInRequestId",
        "lastNonInteractiveSignInDateTime",
        "lastNonInteractiveSignInRequestId",
        "lastSuccessfulSignInDateTime",
        "lastSuccessfulSignInRequestId",
    }
    assert activity["lastSignInDateTime"] and activity["lastSignInRequestId"]
    recent = as_app(served, READER_APP).get(
        "/users",
        params={"$filter": "signInActivity/lastSignInDateTime ge 2026-11-01T00:00:00Z", "$select": "id"},
    )
    assert lukas_id in {u["id"] for u in recent.json()["value"]}
    assert_graph_error(as_user(served, MIA).get("/users", params=select), 403, "Authorization_RequestDenied")
    # an application with User.Read.All but not AuditLog.Read.All
    assert_graph_error(
        as_app(served, WRITER_APP).get("/users", params=select), 403, "Authorization_RequestDenied"
    )
    assert as_app(served, WRITER_APP).get("/users", params={"$select": "id"}).status_code == 200
    assert_graph_error(
        as_user(served, MIA).get(f"/users/{LUKAS}", params=select), 403, "Authorization_RequestDenied"
    )


def test_double_slashes_and_unserved_reads_answer_like_graph(served: RunningServer) -> None:
    graph = as_user(served, NOOR)
    # SDK base URLs with a trailing slash send /v1.0//directoryRoles
    assert graph.get(f"{served.url}/v1.0//directoryRoles").status_code == 200
    for path in ("/policies/adminConsentRequestPolicy", "/identityGovernance/accessReviews/definitions"):
        assert_graph_error(graph.get(path), 501, "NotImplemented")
    assert_graph_error(as_user(served, NOOR, "beta").get("/legacy/policies"), 501, "NotImplemented")
