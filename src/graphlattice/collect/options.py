"""From command-line choices to a token provider, and the permission list the plan needs.

Kept apart from the command line so ``collect`` and ``assess --live`` share one reading of the options.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphlattice.collect.auth import (
    CommandToken,
    CredentialChoice,
    CredentialKind,
    FileToken,
    StaticToken,
    TokenProvider,
    azure_token_provider,
)
from graphlattice.collect.client import DEFAULT_BASE_URL, normalise_base_url
from graphlattice.collect.plan import PLAN, permissions
from graphlattice.entra.permissions import permission_id
from graphlattice.errors import CollectError, UsageError

__all__ = ["LiveOptions", "permission_rows", "permission_summary", "token_provider"]


@dataclass(frozen=True, slots=True)
class LiveOptions:
    tenant: str | None = None
    client_id: str | None = None
    client_secret_env: str | None = None
    certificate: Path | None = None
    certificate_password_env: str | None = None
    device_code: bool = False
    azure_cli: bool = False
    managed_identity: bool = False
    base_url: str | None = None
    token: str | None = None
    token_file: Path | None = None
    token_command: str | None = None

    @property
    def endpoint(self) -> str:
        try:
            return normalise_base_url(self.base_url or DEFAULT_BASE_URL)
        except CollectError as exc:
            raise UsageError(str(exc)) from None

    @property
    def custom_endpoint(self) -> bool:
        return self.endpoint != DEFAULT_BASE_URL


def token_provider(options: LiveOptions) -> TokenProvider:
    """The one token source the options name; :class:`UsageError` for none, several or a bad mix."""
    choices: tuple[tuple[str, CredentialKind, bool], ...] = (
        ("--client-secret-env", "client-secret", options.client_secret_env is not None),
        ("--certificate", "certificate", options.certificate is not None),
        ("--device-code", "device-code", options.device_code),
        ("--azure-cli", "azure-cli", options.azure_cli),
        ("--managed-identity", "managed-identity", options.managed_identity),
    )
    given = [(flag, kind) for flag, kind, on in choices if on]
    direct = [
        flag
        for flag, on in (
            ("--token", options.token),
            ("--token-file", options.token_file),
            ("--token-command", options.token_command),
        )
        if on
    ]
    if len(given) + len(direct) > 1:
        raise UsageError(
            f"choose one way to get a token, not {' and '.join([*direct, *(f for f, _ in given)])}"
        )
    if options.token:
        return StaticToken(options.token)
    if options.token_file:
        return FileToken(options.token_file)
    if options.token_command:
        return CommandToken(options.token_command)
    if options.custom_endpoint:
        raise UsageError(
            f"{options.endpoint} is not Microsoft Graph, so azure-identity cannot sign in: give a token "
            "(GRAPHLATTICE_TOKEN or --token-file) or --token-command (for the Range: --token-command "
            "'graphlattice range token --as UPN')"
        )
    if not given:
        raise UsageError(
            "say how to sign in: --client-id with --client-secret-env VAR or --certificate PATH (an app "
            "registration), --device-code, --azure-cli or --managed-identity; see 'graphlattice collect "
            "--permissions' for what to grant"
        )
    kind = given[0][1]
    if kind != "managed-identity" and not options.tenant:
        raise UsageError("--tenant is required (the tenant id or its primary domain)")
    choice = CredentialChoice(
        kind,
        options.tenant or "",
        options.client_id,
        options.client_secret_env,
        options.certificate,
        options.certificate_password_env,
    )
    scope = f"{options.endpoint}/.default"
    return azure_token_provider(choice, scope)


def permission_rows() -> list[dict[str, Any]]:
    """Per collection: file, Graph request, least-privilege permission(s), how it is read, licence note."""
    rows: list[dict[str, Any]] = []
    for plan in PLAN:
        spec = plan.spec
        perms = list(dict.fromkeys([*spec.permission.split(" and "), *plan.extra_permissions]))
        request = (
            f"GET /{plan.query.version}{plan.query.path}"
            if plan.query is not None
            else "GET /v1.0/users/{id}/authentication/methods"
        )
        for child in plan.children:
            request += f" + {child.path.rsplit('/', 1)[-1]} per object"
        rows.append(
            {
                "collection": plan.name,
                "file": spec.filename,
                "request": request,
                "permissions": [p.strip() for p in perms],
                "optional": spec.optional,
                "licence": spec.note if "Entra ID" in spec.note else "",
                "how": plan.note,
            }
        )
    return rows


def permission_summary() -> list[dict[str, str | None]]:
    """The distinct application permissions to grant, with their Microsoft Graph appRole ids when known."""
    out: list[dict[str, str | None]] = []
    for name in permissions():
        out.append({"permission": name, "id": permission_id(name)})
    return out
