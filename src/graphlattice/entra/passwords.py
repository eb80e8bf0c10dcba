"""Microsoft Entra's password policy for cloud accounts: length, allowed characters, complexity.

Every password the Range sets on request (an admin reset, a self-service reset, a change) is checked here,
as Entra checks it; the facts come from ``data/password_policy.yaml``.
"""

from __future__ import annotations

import string

from graphlattice.entra._data import load_table, require_mapping, require_str

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "password_problem"]

_TABLE = load_table("password_policy")
_LENGTH = require_mapping(_TABLE["length"], "password_policy.length")
MIN_LENGTH = int(_LENGTH["min"])
MAX_LENGTH = int(_LENGTH["max"])
_SYMBOLS = frozenset(require_str(_TABLE["symbols"], "password_policy.symbols"))
_REQUIRED = int(_TABLE["categories_required"])
_CATEGORIES = (
    frozenset(string.ascii_uppercase),
    frozenset(string.ascii_lowercase),
    frozenset(string.digits),
    _SYMBOLS,
)
_ALLOWED = frozenset().union(*_CATEGORIES)


def password_problem(password: str) -> str | None:
    """Why Entra would refuse ``password`` (one phrase), or None when the policy allows it."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long (got {len(password)})"
    if not set(password) <= _ALLOWED:
        return (
            "may hold only ASCII letters, digits, spaces and the symbols @#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>"
        )
    used = sum(1 for category in _CATEGORIES if category & set(password))
    if used < _REQUIRED:
        return (
            f"does not comply with password complexity requirements: it needs {_REQUIRED} of upper case, "
            "lower case, digits and symbols"
        )
    return None
