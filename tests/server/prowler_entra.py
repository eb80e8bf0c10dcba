"""Run Prowler's own Entra services (Azure and Microsoft 365 providers) against a Graph endpoint on 127.0.0.1.

Usage (with the interpreter of the separate Prowler virtualenv, ``.venv-prowler``; Prowler pins versions of
msgraph-sdk, azure-identity and pydantic that differ from ours)::

    .venv-prowler/bin/python tests/server/prowler_entra.py http://127.0.0.1:PORT TOKEN

Prints one JSON object: what each service collected. Nothing of Prowler is re-implemented here: the script
builds the provider object Prowler's services expect (identity, session, region config) and instantiates
``prowler.providers.azure.services.entra.entra_service.Entra`` and its Microsoft 365 twin, which make their
Graph calls in their constructors. The session is an azure-core credential that hands out the Range token.

The Azure provider points its Graph client at a host of its region config (how Prowler reaches sovereign
clouds), so it talks to the endpoint directly. The Microsoft 365 provider always talks to
graph.microsoft.com and some of its reads are absolute URLs, so every request to graph.microsoft.com is sent
to the endpoint instead (with its Host header, so paging links point back to it), and any other host is
refused: this script never sends a request off the machine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from types import SimpleNamespace
from typing import Any

import httpx
from azure.core.credentials import AccessToken

GRAPH_HOST = "graph.microsoft.com"


class RangeCredential:
    """An azure-core TokenCredential that returns the Range token for any scope."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def _local_only(endpoint: httpx.URL) -> None:
    """Send graph.microsoft.com to ``endpoint``; refuse every host that is not the endpoint."""
    real = httpx.AsyncHTTPTransport.handle_async_request

    async def handle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        if request.url.host == GRAPH_HOST:
            request.url = request.url.copy_with(
                scheme=endpoint.scheme, host=endpoint.host, port=endpoint.port
            )
            request.headers["Host"] = f"{endpoint.host}:{endpoint.port}"
        if request.url.host != endpoint.host or request.url.port != endpoint.port:
            raise httpx.ConnectError(f"refused: {request.url.host} is not the endpoint", request=request)
        return await real(self, request)

    httpx.AsyncHTTPTransport.handle_async_request = handle  # type: ignore[method-assign]


def _plain(value: Any) -> Any:
    """Prowler's pydantic models (v1 and v2) and enums as JSON values."""
    for method in ("model_dump", "dict"):
        if hasattr(value, method) and callable(getattr(value, method)):
            return _plain(getattr(value, method)())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return _plain(value.value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def azure_entra(endpoint: str, credential: RangeCredential) -> dict[str, Any]:
    from prowler.providers.azure.services.entra.entra_service import Entra

    provider = SimpleNamespace(
        identity=SimpleNamespace(
            tenant_domain="range.example",
            tenant_ids=["range"],
            subscriptions={},
            identity_type="Service Principal",
        ),
        session=credential,
        region_config=SimpleNamespace(
            graph_host=endpoint, graph_scope=f"{endpoint}/.default", base_url=endpoint, credential_scopes=[]
        ),
        resource_groups=None,
        locations={},
        audit_config={},
        fixer_config={},
    )
    entra = Entra(provider)
    out = {
        name: _plain(getattr(entra, name, None))
        for name in (
            "users",
            "sign_in_activity_errors",
            "users_retrieval_errors",
            "authorization_policy",
            "group_settings",
            "security_default",
            "named_locations",
            "directory_roles",
            "conditional_access_policy",
            "app_registrations",
            "authentication_methods_policy",
        )
    }
    entra.thread_pool.shutdown(wait=False)
    return out


def m365_entra(credential: RangeCredential) -> dict[str, Any]:
    from prowler.providers.m365.services.entra.entra_service import Entra

    provider = SimpleNamespace(
        session=credential,
        credentials=None,  # no PowerShell (Exchange Online) part
        identity=SimpleNamespace(tenant_domain="range.example", tenant_id="range"),
        audit_config={},
        fixer_config={},
    )
    entra = Entra(provider)
    return {
        name: _plain(getattr(entra, name, None))
        for name in ("users", "user_registration_details_error", "app_registrations", "authorization_policy")
    }


def main(argv: list[str]) -> int:
    endpoint, token = argv[1].rstrip("/"), argv[2]
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    _local_only(httpx.URL(endpoint))
    credential = RangeCredential(token)
    result = {"azure": azure_entra(endpoint, credential), "m365": m365_entra(credential)}
    asyncio.set_event_loop(None)
    json.dump(result, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
