"""Assessment settings: a YAML file (``graphlattice.yaml``) with camelCase keys, every key optional."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from graphlattice.errors import ConfigError

_KEYS = {
    "breakGlassAccounts": "break_glass",
    "tapMaxLifetimeMinutes": "tap_max_lifetime_minutes",
    "tapDefaultLifetimeMinutes": "tap_default_lifetime_minutes",
    "tapIssuanceMaxGroupSize": "tap_issuance_max_group_size",
    "reportOnlyMaxDays": "report_only_max_days",
}


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
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(file), f"cannot read: {exc.strerror or exc}") from None
    try:
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(str(file), "not valid YAML", mark.line + 1 if mark else None) from None
    except ValueError as exc:  # a value YAML reads as a date that does not exist, e.g. 2027-02-30
        raise ConfigError(str(file), f"not valid YAML: {exc}") from None
    if doc is None:
        return AssessConfig(source=str(file))
    if not isinstance(doc, dict):
        raise ConfigError(str(file), "expected a mapping of settings", 1)

    def line_of(key: str) -> int | None:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith(f"{key}:"):
                return number
        return None

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
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(str(file), f"{key} must be a positive whole number", line_of(key))
            values[target] = value
    if extra:
        known = ", ".join(sorted(_KEYS))
        first = sorted(extra)[0]
        raise ConfigError(str(file), f"unknown setting {first!r} (known: {known})", line_of(first))
    return AssessConfig(source=str(file), **values)
