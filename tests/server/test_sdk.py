"""Microsoft's own Python SDK (msgraph-sdk) against the Range endpoint, as a learner scripts it at work.

The SDK gets a ``GraphRequestAdapter`` whose base URL is the Range endpoint and a bearer-token provider that
sends the Range token (kiota's ``BaseBearerTokenAuthenticationProvider`` with our ``AccessTokenProvider``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)

from graphlattice.range.engine import Range
from graphlattice.server.serve import RunningServer
from tests.server.conftest import ELIF, MIA, NOOR, as_user

T = TypeVar("T")
# the SDK's generated request builders warn about their own deprecated configuration classes
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class RangeToken(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


def _client(server: RunningServer, upn: str) -> GraphServiceClient:
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(RangeToken(server.token(upn))))
    adapter.base_url = f"{server.url}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def _run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


def test_list_users_with_paging(served: RunningServer) -> None:
    # imported here: the generated builder warns at import time about its own deprecated classes
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    async def go() -> list[str]:
        client = _client(served, NOOR)
        config = RequestConfiguration(
            query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                top=4, select=["id", "displayName", "userPrincipalName", "accountEnabled"]
            )
        )
        page = await client.users.get(request_configuration=config)
        names: list[str] = []
        pages = 0
        while page is not None:
            pages += 1
            names += [u.user_principal_name for u in page.value or []]
            assert all(u.account_enabled is True for u in page.value or [])
            if not page.odata_next_link:
                break
            page = await client.users.with_url(page.odata_next_link).get()
        assert pages == 3
        return names

    names = _run(go)
    assert len(names) == 9 and len(set(names)) == 9 and MIA in names


def test_read_methods_create_and_delete_a_tap_delete_an_authenticator_revoke(fresh: RunningServer) -> None:
    async def go() -> None:
        client = _client(fresh, NOOR)
        mia = client.users.by_user_id(MIA)
        methods = await mia.authentication.methods.get()
        kinds = sorted(m.odata_type for m in methods.value)
        assert "#microsoft.graph.fido2AuthenticationMethod" in kinds
        assert "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod" in kinds

        body = TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60, is_usable_once=True)
        tap = await mia.authentication.temporary_access_pass_methods.post(body)
        assert tap.temporary_access_pass and tap.is_usable_once is True and tap.lifetime_in_minutes == 60
        listed = await mia.authentication.temporary_access_pass_methods.get()
        assert [m.id for m in listed.value] == [tap.id] and listed.value[0].temporary_access_pass is None
        taps = mia.authentication.temporary_access_pass_methods
        await taps.by_temporary_access_pass_authentication_method_id(tap.id).delete()
        assert (await mia.authentication.temporary_access_pass_methods.get()).value == []

        apps = await mia.authentication.microsoft_authenticator_methods.get()
        planted = next(a for a in apps.value if a.display_name == "iPhone 15 Pro")
        authenticators = mia.authentication.microsoft_authenticator_methods
        await authenticators.by_microsoft_authenticator_authentication_method_id(planted.id).delete()
        left = await mia.authentication.microsoft_authenticator_methods.get()
        assert [a.display_name for a in left.value] == ["Galaxy S23"]

        revoked = await mia.revoke_sign_in_sessions.post()
        assert revoked.value is True

    _run(go)
    actions = [e["action"] for e in Range.open(fresh.service.state_dir).journal()[-4:]]
    assert actions == ["issue-tap", "delete-tap", "delete-method", "revoke-sessions"]


def test_read_conditional_access_and_audit_logs(served: RunningServer) -> None:
    async def go() -> None:
        client = _client(served, NOOR)
        policies = await client.identity.conditional_access.policies.get()
        assert policies.value and all(p.display_name for p in policies.value)
        states = {p.state.value for p in policies.value if p.state}
        assert states <= {"enabled", "disabled", "enabledForReportingButNotEnforced"}
        audits = await client.audit_logs.directory_audits.get()
        assert audits.value
        tap = [a for a in audits.value if a.activity_display_name == "Admin registered security info"]
        assert tap and tap[0].target_resources[0].user_principal_name == MIA
        sign_ins = await client.audit_logs.sign_ins.get()
        assert sign_ins.value and sign_ins.value[0].user_principal_name
        assert sign_ins.value[0].status.error_code is not None

    _run(go)


def test_errors_surface_as_sdk_api_errors(served: RunningServer) -> None:
    async def go() -> APIError:
        client = _client(served, ELIF)  # Reports Reader: no Conditional Access
        with pytest.raises(APIError) as caught:
            await client.identity.conditional_access.policies.get()
        return caught.value

    error = _run(go)
    assert error.response_status_code == 403
    assert as_user(served, ELIF).get("/auditLogs/directoryAudits?$top=1").status_code == 200
