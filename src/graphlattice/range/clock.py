"""The Range's clock: simulated time that only moves when told to.

Every action takes its time from the clock, so a replay of the same actions writes the same timestamps.
Timestamps are written the way Graph writes them: UTC, ISO 8601, a trailing ``Z``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from graphlattice.errors import RangeError
from graphlattice.tenant.model import parse_time

__all__ = ["Clock", "iso", "parse_instant"]


def iso(moment: datetime) -> str:
    """Graph's timestamp spelling: ``2026-03-02T09:14:05Z`` (whole seconds, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str, *, what: str = "time") -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime; a naive one is taken as UTC."""
    parsed = parse_time(text)
    if parsed is None:
        raise RangeError(f"{what} is not an ISO 8601 timestamp: {text!r}")
    return parsed.astimezone(UTC)


@dataclass(slots=True)
class Clock:
    """The current simulated instant (aware, UTC, whole seconds)."""

    now: datetime

    def __post_init__(self) -> None:
        moment = self.now if self.now.tzinfo else self.now.replace(tzinfo=UTC)
        self.now = moment.astimezone(UTC).replace(microsecond=0)

    def advance(self, minutes: float) -> datetime:
        """Move forward; time never runs backwards."""
        if minutes < 0:
            raise RangeError("the clock only moves forward (minutes must be 0 or more)")
        self.now = self.now + timedelta(seconds=round(minutes * 60))
        return self.now

    def advance_to(self, moment: datetime) -> datetime:
        target = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if target < self.now:
            raise RangeError(f"cannot move the clock back from {iso(self.now)} to {iso(target)}")
        self.now = target.astimezone(UTC).replace(microsecond=0)
        return self.now

    def iso(self) -> str:
        return iso(self.now)

    def to_json(self) -> str:
        return iso(self.now)

    @classmethod
    def from_json(cls, text: str) -> Clock:
        return cls(parse_instant(text, what="clock"))
