"""Deterministic identifiers: every id, correlation id, token and pass the Range generates.

The source is a seed and a counter, both persisted, so a reset replays byte for byte and a reopened range
carries on where it stopped. Each value is derived from ``sha256(seed:counter)``; nothing depends on the
process, the wall clock or Python's hash randomisation.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["IdSource"]

# Characters of a Temporary Access Pass: letters, digits and a few symbols, like the passes Entra issues.
_TAP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789#@%&*+=?"
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
_TAG_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(slots=True)
class IdSource:
    seed: int
    counter: int = 0

    def _next(self) -> bytes:
        self.counter += 1
        return hashlib.sha256(f"{self.seed}:{self.counter}".encode()).digest()

    def uuid(self) -> str:
        """A random-looking version-4 GUID, lower case, like Graph object ids."""
        raw = bytearray(self._next()[:16])
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def b64id(self, length: int = 43) -> str:
        """An opaque base64url id (role assignments, passkey credential ids)."""
        raw = b""
        while len(raw) * 4 // 3 < length + 4:
            raw += self._next()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")[:length]

    def _chars(self, alphabet: str, length: int) -> str:
        out: list[str] = []
        while len(out) < length:
            out.extend(alphabet[b % len(alphabet)] for b in self._next())
        return "".join(out[:length])

    def tap_code(self, length: int = 8) -> str:
        return self._chars(_TAP_ALPHABET, length)

    def password(self, length: int = 16) -> str:
        return self._chars(_PASSWORD_ALPHABET, length)

    def token(self) -> str:
        """An opaque refresh-token handle."""
        return "rt_" + self.b64id(32)

    def tag(self, length: int = 5) -> str:
        return self._chars(_TAG_ALPHABET, length)

    def number(self, low: int, high: int) -> int:
        return low + int.from_bytes(self._next()[:8], "big") % (high - low + 1)

    def salt(self) -> str:
        return self._next()[:12].hex()

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "counter": self.counter}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IdSource:
        return cls(seed=int(data["seed"]), counter=int(data["counter"]))
