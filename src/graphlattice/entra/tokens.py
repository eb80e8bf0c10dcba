"""Which refresh tokens and session cookies survive a credential change, and how long TAP-born tokens live.

The revocation table is ``data/token_revocation.yaml`` (Microsoft's "Token revocation" table). A token or
cookie is classified by two things: whether the sign-in that produced it used the password as the primary
credential (:func:`is_password_based`) and what it is (:class:`TokenKind`). An event only affects what was
issued before it; :func:`survives` applies that rule, :func:`valid_after_revocation` is the same rule for
``signInSessionsValidFromDateTime``. Tokens born of a Temporary Access Pass sign-in also end with the pass:
:func:`token_expiry_with_tap` gives their hard end, :func:`tap_tokens_alive` says whether the pass still backs
them (it must still exist: a deleted or replaced pass takes its tokens with it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.entra.methods import canonical_modes
from graphlattice.errors import EntraRuleError

__all__ = [
    "CredentialEvent",
    "TokenKind",
    "is_password_based",
    "revokes",
    "survives",
    "tap_tokens_alive",
    "token_expiry_with_tap",
    "valid_after_revocation",
]


class CredentialEvent(StrEnum):
    """A change that may revoke refresh tokens and session cookies (one row of Microsoft's table)."""

    PASSWORD_EXPIRED = "passwordExpired"
    PASSWORD_CHANGED_BY_USER = "passwordChangedByUser"
    PASSWORD_RESET_SELF_SERVICE = "passwordResetSelfService"
    PASSWORD_RESET_BY_ADMIN = "passwordResetByAdmin"  # Entra admin center / M365 admin center / Graph
    PASSWORD_RESET_BY_ADMIN_AZURE_PORTAL = "passwordResetByAdminAzurePortal"  # legacy portal row
    SESSIONS_REVOKED = "sessionsRevoked"  # revokeSignInSessions, by the user or an admin
    SINGLE_SIGN_OUT = "singleSignOut"


class TokenKind(StrEnum):
    """What was issued: a browser session cookie, a refresh token to a public client, or one to a confidential
    client (a web app or service holding a secret)."""

    COOKIE = "cookie"
    TOKEN = "token"
    CONFIDENTIAL_CLIENT_TOKEN = "confidentialClientToken"


@dataclass(slots=True, frozen=True)
class _Column:
    password_based: bool | None  # None: the column does not split on the credential
    kind: TokenKind


def _load() -> tuple[Mapping[CredentialEvent, frozenset[_Column]], frozenset[str]]:
    table = load_table("token_revocation")
    columns: dict[str, _Column] = {}
    for name, raw in require_mapping(table["columns"], "token_revocation.columns").items():
        raw = require_mapping(raw, f"token_revocation.columns.{name}")
        based = raw["password_based"]
        if based is not None and not isinstance(based, bool):
            raise EntraRuleError(
                f"token_revocation.columns.{name}.password_based must be true, false or null"
            )
        columns[name] = _Column(
            based, TokenKind(require_str(raw["kind"], f"token_revocation.columns.{name}"))
        )
    rows: dict[CredentialEvent, frozenset[_Column]] = {}
    for key, raw in require_mapping(table["rows"], "token_revocation.rows").items():
        raw = require_mapping(raw, f"token_revocation.rows.{key}")
        require_str(raw["label"], f"token_revocation.rows.{key}.label")
        names = require_list(raw["revoked"], f"token_revocation.rows.{key}.revoked")
        unknown = set(names) - set(columns)
        if unknown:
            raise EntraRuleError(f"token_revocation.rows.{key}: unknown columns {sorted(unknown)}")
        rows[CredentialEvent(key)] = frozenset(columns[n] for n in names)
    if set(rows) != set(CredentialEvent):
        raise EntraRuleError("token_revocation.yaml must have exactly one row per CredentialEvent")
    modes = require_list(table["password_modes"], "token_revocation.password_modes")
    return MappingProxyType(rows), canonical_modes(require_str(m, "password_modes") for m in modes)


_REVOKED, _PASSWORD_MODES = _load()
_TOKENS_END_WITH_PASS = load_table("tap_policy")["tokens_end_with_pass"] is True


def is_password_based(methods_used: Collection[str]) -> bool:
    """True when the sign-in's primary credential was the password (``authenticationMethodModes`` strings).

    Password plus a second factor (SMS, Authenticator push, ...) is still password-based; a sign-in without a
    password (Temporary Access Pass, passkey, Windows Hello for Business, certificate, Authenticator
    passwordless, SMS sign-in) is not.
    """
    return not _PASSWORD_MODES.isdisjoint(canonical_modes(methods_used))


def revokes(
    event: CredentialEvent | str,
    *,
    password_based: bool,
    kind: TokenKind | str = TokenKind.TOKEN,
) -> bool:
    """Whether ``event`` revokes a token or cookie of this kind that was issued before it.

    ``password_based`` is ignored for confidential-client tokens, whose column does not depend on it.
    """
    token_kind = TokenKind(kind)
    for column in _REVOKED[CredentialEvent(event)]:
        if column.kind is token_kind and column.password_based in (None, password_based):
            return True
    return False


def survives(
    event: CredentialEvent | str,
    *,
    event_at: datetime,
    issued_at: datetime,
    password_based: bool,
    kind: TokenKind | str = TokenKind.TOKEN,
) -> bool:
    """Whether a token or cookie issued at ``issued_at`` is still usable after ``event`` (at ``event_at``).

    Only what was issued strictly before the event can be revoked by it; something issued at the same instant
    or later was obtained with the new state and is untouched.
    """
    if issued_at >= event_at:
        return True
    return not revokes(event, password_based=password_based, kind=kind)


def valid_after_revocation(issued_at: datetime, sign_in_sessions_valid_from: datetime | None) -> bool:
    """``signInSessionsValidFromDateTime`` semantics: refresh tokens and session cookies issued before it are
    invalid, whatever credential produced them. ``None`` means sessions were never revoked."""
    return sign_in_sessions_valid_from is None or issued_at >= sign_in_sessions_valid_from


def token_expiry_with_tap(issued_at: datetime, tap_start: datetime, tap_lifetime_minutes: int) -> datetime:
    """When a token obtained by a Temporary Access Pass sign-in stops working: the end of the pass's lifetime.

    Every token from a TAP sign-in (session, refresh, access) is limited to the pass's lifetime, so the token
    dies with the pass however recently it was issued. A pass lives at most 30 days, always less than the
    default refresh-token lifetime (90 days), so the pass's end is the token's end. ``issued_at`` must fall
    inside the pass's validity.
    """
    if tap_lifetime_minutes <= 0:
        raise ValueError("a Temporary Access Pass lifetime must be a positive number of minutes")
    end = tap_start + timedelta(minutes=tap_lifetime_minutes)
    if not tap_start <= issued_at <= end:
        raise ValueError(
            "a token cannot be obtained with a Temporary Access Pass outside the pass's validity"
        )
    return end


def tap_tokens_alive(*, pass_present: bool, now: datetime, pass_end: datetime) -> bool:
    """Whether tokens obtained by signing in with a Temporary Access Pass still work at ``now``.

    Microsoft: an expired or deleted pass can't be used for interactive or non-interactive authentication, and
    tokens from a pass sign-in are limited to the pass's lifetime. So they die when the pass expires
    (``pass_end``) and as soon as it no longer exists (``pass_present`` False: deleted, or replaced by a new
    pass, which overrides the old one), whichever comes first.
    """
    if not _TOKENS_END_WITH_PASS:
        return now < pass_end
    return pass_present and now < pass_end
