"""Where the collector's bearer token comes from: azure-identity credentials, a fixed token, or a command.

Microsoft Graph: an app registration with read-only application permissions (client secret read from an
environment variable, or a certificate file), a signed-in user (device code, Azure CLI) or a managed
identity, always for the ``https://graph.microsoft.com/.default`` scope. A Graph-compatible endpoint (the
Range) mints its own tokens, so there the token is given (``GRAPHLATTICE_TOKEN``, ``--token-file``, or the
deprecated ``--token VALUE``, which other local users see in ``ps``) or printed by a command
(``--token-command``, whose last output line is the token). A token is never written to a log or a message.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from graphlattice.errors import CollectError, UsageError
from graphlattice.safetext import terminal_safe

__all__ = [
    "GRAPH_SCOPE",
    "AzureToken",
    "CommandToken",
    "CredentialChoice",
    "FileToken",
    "StaticToken",
    "TokenProvider",
    "azure_token_provider",
    "read_secret",
]

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CredentialKind = Literal["client-secret", "certificate", "device-code", "azure-cli", "managed-identity"]


class TokenProvider(Protocol):
    def token(self, refresh: bool = False) -> str:
        """A bearer token; ``refresh`` asks for a new one (the last was refused)."""
        ...


def read_secret(path: Path, option: str, what: str) -> str:
    """The first line of ``path`` (``-``: standard input) as a secret; :class:`UsageError` when it cannot
    be read or is empty. The secret itself never appears in the message."""
    try:
        text = sys.stdin.readline() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise UsageError(f"{option} {path}: cannot read the {what}: {why}") from None
    lines = text.splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise UsageError(f"{option} {path}: holds no {what} (the first line is empty)")
    return secret


@dataclass(slots=True)
class FileToken:
    """A token read from a file (``-``: standard input, read once); a refused token is read again from
    the file, so a job that rotates the file keeps going."""

    path: Path
    _cached: str | None = None

    def token(self, refresh: bool = False) -> str:
        if self._cached is not None:
            if not refresh:
                return self._cached
            if str(self.path) == "-":
                raise CollectError("the endpoint refused the token read from standard input; get a new one")
        value = read_secret(self.path, "--token-file", "bearer token")
        if refresh and value == self._cached:
            raise CollectError(f"the endpoint refused the token in {self.path}; write a new one there")
        self._cached = value
        return value

    def __repr__(self) -> str:  # never show the token
        return f"FileToken({str(self.path)!r}, ***)"


@dataclass(slots=True)
class StaticToken:
    value: str

    def token(self, refresh: bool = False) -> str:
        if refresh:
            raise CollectError("the endpoint refused the token given with --token; get a new one")
        return self.value

    def __repr__(self) -> str:  # never show the token
        return "StaticToken(***)"


@dataclass(slots=True)
class CommandToken:
    """Runs ``command`` (no shell) and takes the last non-empty line of its output as the token."""

    command: str
    timeout: float = 120.0
    _cached: str | None = None

    def token(self, refresh: bool = False) -> str:
        if self._cached is not None and not refresh:
            return self._cached
        try:
            argv = shlex.split(self.command)
        except ValueError as exc:
            raise UsageError(f"--token-command cannot be parsed: {exc}") from None
        if not argv:
            raise UsageError("--token-command is empty")
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout, check=False)
        except FileNotFoundError:
            raise CollectError(f"--token-command: {argv[0]} not found") from None
        except subprocess.TimeoutExpired:
            raise CollectError(f"--token-command did not finish within {self.timeout:.0f} s") from None
        lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        if done.returncode != 0 or not lines:
            why = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise CollectError(f"--token-command failed: {why}")
        self._cached = lines[-1]
        return self._cached

    def __repr__(self) -> str:
        return f"CommandToken({self.command.split(' ', 1)[0]!r}, ...)"


class _Credential(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


@dataclass(slots=True)
class AzureToken:
    """An azure-identity credential; tokens are reused until two minutes before they expire."""

    credential: _Credential
    scope: str = GRAPH_SCOPE
    _value: str | None = None
    _expires: float = 0.0

    def token(self, refresh: bool = False) -> str:
        if self._value is not None and not refresh and time.time() < self._expires - 120:
            return self._value
        from azure.core.exceptions import ClientAuthenticationError

        try:
            access = self.credential.get_token(self.scope)
        except ClientAuthenticationError as exc:
            first = str(exc.message or exc).strip().splitlines()
            raise CollectError(f"sign-in failed: {first[0] if first else type(exc).__name__}") from None
        self._value = str(access.token)
        self._expires = float(access.expires_on)
        return self._value

    def __repr__(self) -> str:
        return f"AzureToken({type(self.credential).__name__})"


@dataclass(frozen=True, slots=True)
class CredentialChoice:
    """What the command line asked for; secrets stay in the environment or in the certificate file."""

    kind: CredentialKind
    tenant_id: str
    client_id: str | None = None
    secret_env: str | None = None
    certificate: Path | None = None
    certificate_password_env: str | None = None


def _device_prompt(verification_uri: str, user_code: str, expires_on: Any) -> None:
    prompt = f"To sign in, open {verification_uri} and enter the code {user_code}."
    print(
        terminal_safe(prompt, single_line=True),
        file=sys.stderr,
        flush=True,
    )


def azure_token_provider(choice: CredentialChoice, scope: str = GRAPH_SCOPE) -> AzureToken:
    """The azure-identity credential for ``choice``; bad combinations are :class:`UsageError`."""
    import azure.identity as identity

    credential: _Credential
    if choice.kind == "client-secret":
        if not choice.client_id or not choice.secret_env:
            raise UsageError("--client-secret-env needs --client-id")
        secret = os.environ.get(choice.secret_env)
        if not secret:
            raise UsageError(
                f"environment variable {choice.secret_env} is not set (it holds the client secret)"
            )
        credential = identity.ClientSecretCredential(choice.tenant_id, choice.client_id, secret)
    elif choice.kind == "certificate":
        if not choice.client_id or choice.certificate is None:
            raise UsageError("--certificate needs --client-id")
        if not choice.certificate.is_file():
            raise UsageError(f"certificate file not found: {choice.certificate}")
        password = (
            os.environ.get(choice.certificate_password_env) if choice.certificate_password_env else None
        )
        credential = identity.CertificateCredential(
            choice.tenant_id, choice.client_id, certificate_path=str(choice.certificate), password=password
        )
    elif choice.kind == "device-code":
        kwargs: dict[str, Any] = {"tenant_id": choice.tenant_id, "prompt_callback": _device_prompt}
        if choice.client_id:
            kwargs["client_id"] = choice.client_id
        credential = identity.DeviceCodeCredential(**kwargs)
    elif choice.kind == "azure-cli":
        credential = identity.AzureCliCredential(tenant_id=choice.tenant_id)
    else:
        credential = (
            identity.ManagedIdentityCredential(client_id=choice.client_id)
            if choice.client_id
            else identity.ManagedIdentityCredential()
        )
    return AzureToken(credential, scope)
