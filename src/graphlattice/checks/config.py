"""Assessment settings: a YAML file (``graphlattice.yaml``) with camelCase keys, every key optional."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphlattice.errors import ConfigError
from graphlattice.files import SETTINGS
from graphlattice.safeyaml import Node, load_yaml

_KEYS = {
    "breakGlassAccounts": "break_glass",
    "tapMaxLifetimeMinutes": "tap_max_lifetime_minutes",
    "tapDefaultLifetimeMinutes": "tap_default_lifetime_minutes",
    "tapIssuanceMaxGroupSize": "tap_issuance_max_group_size",
    "reportOnlyMaxDays": "report_only_max_days",
}

# Minutes, days and group sizes: a year of minutes is 525,600, so this leaves room and keeps date arithmetic
# (``now - timedelta(days=...)``) far from overflowing.
_MAX_SETTING = 10_000_000


@dataclass(frozen=True, slots=True)
class AssessConfig:
    break_glass: tuple[str, ...] = ()  # UPNs or object ids of declared emergency-access accounts
    tap_max_lifetime_minutes: int = 480
    tap_default_lifetime_minutes: int = 60
    tap_issuance_max_group_size: int = 50
    report_only_max_days: int = 30
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_config(path: str | Path) -> AssessConfig:
    """Read a settings file (a regular file of at most 1 MiB, through the safe YAML reader)."""
    file = Path(path)
    doc: Any = load_yaml(file, SETTINGS, ConfigError)
    if doc is None:
        return AssessConfig(source=str(file))
    if not isinstance(doc, Node):
        raise ConfigError(str(file), "expected a mapping of settings", 1)
    line_of = doc.line_of

    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in doc.items():
        target = _KEYS.get(str(key))
        if target is None:
            extra[str(key)] = value
            continue
        if target == "break_glass":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(str(file), f"{key} must be a list of UPNs or object ids", line_of(key))
            values[target] = tuple(v.lower() for v in value)
        else:
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= _MAX_SETTING:
                raise ConfigError(
                    str(file), f"{key} must be a whole number from 1 to {_MAX_SETTING:,}", line_of(key)
                )
            values[target] = value
    if extra:
        known = ", ".join(sorted(_KEYS))
        first = sorted(extra)[0]
        raise ConfigError(str(file), f"unknown setting {first!r} (known: {known})", line_of(first))
    return AssessConfig(source=str(file), **values)
