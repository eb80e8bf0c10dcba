"""Paging, $select, $filter, $expand, $orderby and versions over real HTTP."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from graphlattice.server.serve import RunningServer
from tests.server.conftest import ELIF, MIA, NOOR, READER_APP, as_app, as_user


def _pages(client: httpx.Client | object, url: str) -> list[dict[str, object]]:
    """Every page of a collection, following @odata.nextLink."""
    http = client.http if hasattr(client, "http") else client  # type: ignore[attr-defined]
    pages = []
    response = http.get(url)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        link = body.get("@odata.nextLink")
        if not link:
            return pages
        response = http.get(link)


def test_users_page_with_top_and_next_link(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    everyone = noor.get("/users").json()["value"]
    assert len(everyone) == 9
    pages = _pages(noor, "/users?$top=2")
    assert [len(p["value"]) for p in pages] == [2, 2, 2, 2, 1]  # type: ignore[arg-type]
    seen = [u["id"] for p in pages for u in p["value"]]  # type: ignore[attr-defined]
    assert seen == [u["id"] for u in everyone]
    link = str(pages[0]["@odata.nextLink"])
    assert link.startswith(f"{served.url}/v1.0/users?") and "$top=2" in link and "$skiptoken=" in link
    assert pages[0]["@odata.context"] == f"{served.url}/v1.0/$metadata#users"


def test_next_links_keep_filter_and_select(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    url = "/users?$filter=accountEnabled eq true&$select=displayName,accountEnabled&$top=3"
    pages = _pages(noor, url)
    rows = [u for p in pages for u in p["value"]]  # type: ignore[attr-defined]
    assert len(rows) == 9 and all(set(r) == {"displayName", "accountEnabled"} for r in rows)
    assert pages[0]["@odata.context"].endswith("#users(displayName,accountEnabled)")  # type: ignore[union-attr]


def test_v1_returns_the_default_user_properties_and_beta_more(served: RunningServer) -> None:
    v1 = as_user(served, NOOR).get(f"/users/{MIA}").json()
    assert "accountEnabled" not in v1 and "signInSessionsValidFromDateTime" not in v1
    assert {"id", "displayName", "userPrincipalName", "mail", "businessPhones"} <= set(v1)
    beta = as_user(served, NOOR, "beta").get(f"/users/{MIA}").json()
    assert beta["accountEnabled"] is True
    assert "signInSessionsValidFromDateTime" not in beta
    selected = as_user(served, NOOR).get(f"/users/{MIA}?$select=id,signInSessionsValidFromDateTime").json()
    assert set(selected) == {"@odata.context", "id", "signInSessionsValidFromDateTime"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"/users?$filter=userPrincipalName eq '{MIA.upper()}'", ["Mia Hoffmann"]),
        ("/users?$filter=startswith(displayName,'e')", ["Elif Demir", "Emergency Access 01"]),
        (f"/users?$filter=userPrincipalName in ('{MIA}', '{NOOR}')", ["Noor Haddad", "Mia Hoffmann"]),
        (
            "/users?$filter=startswith(displayName,'e') and not(displayName eq 'Elif Demir')",
            ["Emergency Access 01"],
        ),
        ("/groups?$filter=displayName eq 'TAP enrolment'", None),
    ],
)
def test_user_and_group_filters(served: RunningServer, url: str, expected: list[str] | None) -> None:
    response = as_user(served, NOOR).get(url)
    assert response.status_code == 200, response.text
    names = [u["displayName"] for u in response.json()["value"]]
    if expected is not None:
        assert sorted(names) == sorted(expected)


def test_audit_filters(served: RunningServer) -> None:
    elif_ = as_user(served, ELIF)  # Reports Reader
    audits = elif_.get("/auditLogs/directoryAudits?$top=1000").json()["value"]
    assert audits, "the scenario's timeline writes audit records"
    stamps = [a["activityDateTime"] for a in audits]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    tap = elif_.get(
        "/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Admin registered security info'"
    )
    rows = tap.json()["value"]
    assert rows and {r["activityDisplayName"] for r in rows} == {"Admin registered security info"}
    mia_id = as_user(served, NOOR).get(f"/users/{MIA}").json()["id"]
    about_mia = elif_.get(f"/auditLogs/directoryAudits?$filter=targetResources/any(t: t/id eq '{mia_id}')")
    assert about_mia.status_code == 200
    assert all(any(t["id"] == mia_id for t in r["targetResources"]) for r in about_mia.json()["value"])
    assert about_mia.json()["value"]
    nobody = elif_.get("/auditLogs/directoryAudits?$filter=targetResources/any(t: t/id eq 'no-such-id')")
    assert nobody.json()["value"] == []
    first, last = min(stamps), max(stamps)
    middle = sorted(stamps)[len(stamps) // 2]
    window = elif_.get(
        f"/auditLogs/directoryAudits?$filter=activityDateTime ge {middle} and activityDateTime le {last}"
    ).json()["value"]
    assert window and all(middle <= r["activityDateTime"] <= last for r in window)
    assert len(window) < len(audits) or first == middle
    ascending = elif_.get("/auditLogs/directoryAudits?$orderby=activityDateTime asc").json()["value"]
    assert [r["activityDateTime"] for r in ascending] == sorted(r["activityDateTime"] for r in ascending)


def test_log_pages_do_not_shift_when_records_arrive(fresh: RunningServer) -> None:
    noor = as_user(fresh, NOOR)
    first = noor.get("/auditLogs/directoryAudits?$top=3").json()
    noor.post(f"/users/{MIA}/revokeSignInSessions")  # writes a new audit record meanwhile
    rest = _pages(noor, str(first["@odata.nextLink"]))
    seen = [r["id"] for r in first["value"]] + [r["id"] for p in rest for r in p["value"]]  # type: ignore[attr-defined]
    assert len(seen) == len(set(seen))
    newest = noor.get("/auditLogs/directoryAudits?$top=1").json()["value"][0]
    assert newest["activityDisplayName"] == "Update StsRefreshTokenValidFrom Timestamp"
    assert newest["id"] not in seen


def test_sign_ins_v1_is_interactive_and_without_beta_fields(served: RunningServer) -> None:
    noor_v1, noor_beta = as_user(served, NOOR), as_user(served, NOOR, "beta")
    v1 = noor_v1.get("/auditLogs/signIns").json()["value"]
    beta = noor_beta.get("/auditLogs/signIns").json()["value"]
    assert v1 and len(v1) == len(beta)
    assert all("authenticationDetails" not in r and "signInEventTypes" not in r for r in v1)
    assert all("authenticationDetails" in r for r in beta)
    assert all(r["isInteractive"] for r in v1)
    every = noor_beta.get(
        "/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'interactiveUser' "
        "or t eq 'nonInteractiveUser')"
    ).json()["value"]
    non_interactive = noor_beta.get(
        "/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'nonInteractiveUser')"
    ).json()["value"]
    assert non_interactive and len(every) == len(beta) + len(non_interactive)
    stamps = [r["createdDateTime"] for r in every]
    assert stamps == sorted(stamps, reverse=True)
    since = stamps[len(stamps) // 2]
    later = noor_v1.get(f"/auditLogs/signIns?$filter=createdDateTime ge {since}").json()["value"]
    assert all(datetime.fromisoformat(r["createdDateTime"]) >= datetime.fromisoformat(since) for r in later)
    tap = noor_beta.get(
        "/auditLogs/signIns?$filter=authenticationDetails/any(d: d/authenticationMethod "
        "eq 'Temporary Access Pass')"
    ).json()["value"]
    assert tap and all(
        any(d["authenticationMethod"] == "Temporary Access Pass" for d in r["authenticationDetails"])
        for r in tap
    )
    assert noor_v1.get("/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'x')").status_code == 400


def test_applied_ca_policies_need_a_ca_reader(served: RunningServer) -> None:
    assert all(
        "appliedConditionalAccessPolicies" in r
        for r in as_user(served, NOOR).get("/auditLogs/signIns").json()["value"]
    )
    as_reports_reader = as_user(served, ELIF).get("/auditLogs/signIns").json()["value"]
    assert as_reports_reader and all("appliedConditionalAccessPolicies" not in r for r in as_reports_reader)
    as_app_with_policy_read = as_app(served, READER_APP).get("/auditLogs/signIns").json()["value"]
    assert all("appliedConditionalAccessPolicies" in r for r in as_app_with_policy_read)


def test_registration_details_filters(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    rows = noor.get("/reports/authenticationMethods/userRegistrationDetails").json()["value"]
    assert len(rows) == 9
    admins = noor.get(
        "/reports/authenticationMethods/userRegistrationDetails?$filter=isAdmin eq true"
    ).json()["value"]
    assert admins and all(r["isAdmin"] for r in admins) and len(admins) < len(rows)
    push = noor.get(
        "/reports/authenticationMethods/userRegistrationDetails"
        "?$filter=methodsRegistered/any(m: m eq 'microsoftAuthenticatorPush')"
    ).json()["value"]
    assert MIA in {r["userPrincipalName"] for r in push}
    assert all("microsoftAuthenticatorPush" in r["methodsRegistered"] for r in push)


def test_role_management_policies_with_scope_filter_and_expand(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    scope = "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'"
    policies = noor.get(f"/policies/roleManagementPolicies?{scope}").json()["value"]
    assert policies and all("rules" not in p for p in policies)
    expanded = noor.get(f"/policies/roleManagementPolicies?{scope}&$expand=rules").json()["value"]
    assert all(len(p["rules"]) >= 4 for p in expanded)
    ga = "62e90394-69f5-4237-9190-012177145e10"
    assignments = noor.get(
        f"/policies/roleManagementPolicyAssignments?{scope} and roleDefinitionId eq '{ga}'"
        "&$expand=policy($expand=rules)"
    ).json()["value"]
    assert len(assignments) == 1 and assignments[0]["roleDefinitionId"] == ga
    rule_ids = {r["id"] for r in assignments[0]["policy"]["rules"]}
    assert "Enablement_EndUser_Assignment" in rule_ids
    policy_id = assignments[0]["policyId"]
    rule = noor.get(
        f"/policies/roleManagementPolicies/{policy_id}/rules/Enablement_EndUser_Assignment"
    ).json()
    assert rule["@odata.type"].endswith("EnablementRule")


def test_role_assignments_expand_and_filter(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    noor_id = noor.get("/me").json()["id"]
    mine = noor.get(
        f"/roleManagement/directory/roleAssignments?$filter=principalId eq '{noor_id}'"
        "&$expand=principal,roleDefinition"
    ).json()["value"]
    assert mine and all(a["principalId"] == noor_id for a in mine)
    assert mine[0]["principal"]["@odata.type"] == "#microsoft.graph.user"
    assert mine[0]["roleDefinition"]["displayName"] == "Global Administrator"


def test_group_members_are_paged_directory_objects(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    groups = noor.get("/groups").json()["value"]
    assert groups and all("members" not in g and "owners" not in g for g in groups)
    biggest = max(groups, key=lambda g: len(noor.get(f"/groups/{g['id']}/members").json()["value"]))
    members = noor.get(f"/groups/{biggest['id']}/members").json()["value"]
    assert members and all(m["@odata.type"] == "#microsoft.graph.user" for m in members)
    pages = _pages(noor, f"/groups/{biggest['id']}/members?$top=1")
    assert [m["id"] for p in pages for m in p["value"]] == [m["id"] for m in members]  # type: ignore[attr-defined]


def test_service_principals_and_their_grants(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    sps = noor.get("/servicePrincipals").json()["value"]
    assert all("appRoleAssignments" not in sp for sp in sps)
    reader = noor.get(f"/servicePrincipals(appId='{READER_APP}')").json()
    grants = noor.get(f"/servicePrincipals/{reader['id']}/appRoleAssignments").json()["value"]
    assert len(grants) == 8


def test_methods_policy_and_tap_configuration(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    policy = noor.get("/policies/authenticationMethodsPolicy").json()
    ids = {c["id"] for c in policy["authenticationMethodConfigurations"]}
    assert "TemporaryAccessPass" in ids
    tap = noor.get(
        "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
    ).json()
    assert tap["@odata.type"] == "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"


def test_ca_policies_named_locations_and_strengths(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    policies = noor.get("/identity/conditionalAccess/policies").json()["value"]
    assert policies
    enabled = noor.get("/identity/conditionalAccess/policies?$filter=state eq 'enabled'").json()["value"]
    assert all(p["state"] == "enabled" for p in enabled)
    assert noor.get("/identity/conditionalAccess/namedLocations").status_code == 200
    strengths = noor.get("/policies/authenticationStrengthPolicies?$filter=policyType eq 'builtIn'").json()[
        "value"
    ]
    assert {s["id"] for s in strengths} >= {"00000000-0000-0000-0000-000000000002"}


def test_skip_tokens_are_signed(served: RunningServer) -> None:
    noor = as_user(served, NOOR)
    link = str(noor.get("/users?$top=2").json()["@odata.nextLink"])
    token = link.split("$skiptoken=")[1]
    assert noor.get(link).status_code == 200
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert noor.get(link.replace(token, altered)).status_code == 400


def test_date_header_follows_the_range_clock(served: RunningServer) -> None:
    from email.utils import parsedate_to_datetime

    response = as_user(served, NOOR).get("/users?$top=1")
    assert response.status_code == 200
    stamped = parsedate_to_datetime(response.headers["date"])
    assert abs((stamped - served.service.range.now).total_seconds()) < 1  # Range time, not wall-clock time
    assert (stamped.year, stamped.month, stamped.day) == (2026, 11, 16)
    assert len(response.headers.get_list("date")) == 1
