"""What a failed sign-in's record says: Entra's own message for each error code.

``status.failureReason`` in a ``signIn`` record is the service's text for the error code, the same text the
token endpoint returns after ``AADSTSnnnnn:``. Anything that writes sign-in records (the Range, the demo)
takes it from here, so a record reads like one from a real tenant; an explanation of *why* belongs in
``status.additionalDetails``. The table, with its sources, is ``data/signin_errors.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from graphlattice.entra._data import load_table, require_mapping, require_str
from graphlattice.errors import EntraRuleError

__all__ = [
    "ACCOUNT_DISABLED",
    "ACCOUNT_LOCKED",
    "BLOCKED_BY_CONDITIONAL_ACCESS",
    "GRANT_EXPIRED",
    "GRANT_REVOKED",
    "INVALID_PASSWORD",
    "MFA_ENROLLMENT_REQUIRED",
    "MFA_FAILED",
    "MFA_REQUIRED",
    "STRONG_AUTH_REQUIRED",
    "failure_reason",
]

ACCOUNT_LOCKED = 50053
ACCOUNT_DISABLED = 50057
STRONG_AUTH_REQUIRED = 50074
MFA_REQUIRED = 50076
MFA_ENROLLMENT_REQUIRED = 50079
INVALID_PASSWORD = 50126
GRANT_REVOKED = 50173
BLOCKED_BY_CONDITIONAL_ACCESS = 53003
GRANT_EXPIRED = 70008
MFA_FAILED = 500121


def _load() -> Mapping[int, str]:
    table = load_table("signin_errors")
    out: dict[int, str] = {}
    for code, raw in require_mapping(table["errors"], "signin_errors.errors").items():
        row = require_mapping(raw, f"signin_errors.errors.{code}")
        if row.get("name") is not None:
            require_str(row["name"], f"signin_errors.errors.{code}.name")
        out[int(code)] = " ".join(require_str(row.get("failureReason"), f"signin_errors.{code}").split())
    return MappingProxyType(out)


_REASONS = _load()


def failure_reason(code: int, *, resource: str | None = None) -> str:
    """Entra's ``failureReason`` for ``code``; ``resource`` fills ``{resource}`` (the resource's app id)."""
    try:
        text = _REASONS[code]
    except KeyError:
        raise EntraRuleError(f"no failure reason is known for sign-in error {code}") from None
    if "{resource}" in text:
        if not resource:
            raise EntraRuleError(f"sign-in error {code} names the resource it was for")
        text = text.replace("{resource}", resource)
    return text
