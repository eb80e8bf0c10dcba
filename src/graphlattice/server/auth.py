"""Bearer tokens for the Range's principals.

A token is shaped like an Entra access token (a JWT: header, claims, signature) so tools that peek at
``tid`` / ``oid`` / ``idtyp`` work, but it is signed with HMAC-SHA256 under a secret kept in the range's
folder (``graph-secret.key``, created on first use, readable by its owner only). Tokens are deterministic —
the same principal always gets the same token from the same folder — and cannot be made without the secret.
Nothing here expires: the Range's clock is simulated, and revoking sign-in sessions does not revoke
access tokens in Entra either (they live until they expire).

Two kinds: ``idtyp=user`` (a user of the tenant, delegated: Entra roles decide) and ``idtyp=app`` (a
service principal, application permissions: its Microsoft Graph appRoleAssignments decide).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from graphlattice.errors import RangeError

__all__ = [
    "RANGE_CLIENT_APP_ID",
    "SECRET_FILE",
    "Principal",
    "TokenClaims",
    "load_secret",
    "mint_token",
    "read_token",
]

SECRET_FILE = "graph-secret.key"
RANGE_CLIENT_APP_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
"""The client application a delegated Range token names (``appid``): Microsoft Graph Command Line Tools, the
public client Graph PowerShell signs in with [observed in sign-in logs]. Throttling counts per client app."""

_HEADER = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a user (delegated) or a service principal (application permissions)."""

    kind: Literal["user", "app"]
    object_id: str  # lower-case object id of the user or service principal
    name: str  # UPN, or the service principal's display name
    app_id: str  # the client application (for apps: the service principal's appId)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    kind: Literal["user", "app"]
    tenant_id: str
    object_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(state_dir: Path, *, create: bool = True) -> bytes:
    """The folder's signing secret (32 random bytes), created with owner-only permissions if absent."""
    path = Path(state_dir) / SECRET_FILE
    try:
        raw = path.read_text(encoding="ascii").strip()
        return bytes.fromhex(raw)
    except FileNotFoundError:
        if not create:
            raise RangeError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise RangeError(f"cannot read the token secret {path}: {exc}") from None
    value = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by another process meanwhile
        return load_secret(state_dir, create=False)
    except OSError as exc:
        raise RangeError(f"cannot create the token secret {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value.hex() + "\n")
    return value


def _sign(secret: bytes, signing_input: bytes) -> str:
    return _b64(hmac.new(secret, signing_input, hashlib.sha256).digest())


def mint_token(secret: bytes, tenant_id: str, principal: Principal) -> str:
    """The token of ``principal`` in this range (the same every time)."""
    claims: dict[str, Any] = {
        "aud": "https://graph.microsoft.com",
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "tid": tenant_id,
        "oid": principal.object_id,
        "idtyp": principal.kind,
        "appid": principal.app_id,
        "ver": "1.0",
    }
    if principal.kind == "user":
        claims["upn"] = principal.name
        claims["scp"] = "Directory.AccessAsUser.All"
    else:
        claims["app_displayname"] = principal.name
    head = _b64(orjson.dumps(_HEADER))
    body = _b64(orjson.dumps(claims, option=orjson.OPT_SORT_KEYS))
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{_sign(secret, signing_input)}"


def read_token(secret: bytes, token: str) -> TokenClaims | None:
    """The claims of a token this folder signed; None for anything else (malformed, forged, foreign)."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts) or not token.isascii():
        return None  # a JWT is three base64url segments: ASCII only (compare_digest refuses other text)
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    if not hmac.compare_digest(_sign(secret, signing_input).encode("ascii"), parts[2].encode("ascii")):
        return None
    try:
        claims = orjson.loads(_unb64(parts[1]))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    kind, tid, oid = claims.get("idtyp"), claims.get("tid"), claims.get("oid")
    if kind not in ("user", "app") or not isinstance(tid, str) or not isinstance(oid, str):
        return None
    return TokenClaims(kind, tid, oid)
