"""Run settings of a detection run, and the optional inputs that feed enrichment (tickets)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from graphlattice.errors import ConfigError, UsageError
from graphlattice.files import TICKETS, read_text

__all__ = ["DetectSettings", "Ticket", "load_tickets", "parse_since", "parse_working_hours"]


@dataclass(frozen=True, slots=True)
class DetectSettings:
    """Everything a run can be told; the defaults suit a first look at an unknown tenant."""

    lookback_days: int = 30
    """How far back "seen before for this user" looks (addresses, countries)."""
    window_minutes: int | None = None
    """Overrides the timespan of every correlation rule (sequences) when set."""
    working_start: time = time(8, 0)
    working_end: time = time(18, 0)
    working_days: tuple[int, ...] = (1, 2, 3, 4, 5)
    """ISO weekdays (1 = Monday) that are working days."""
    timezone: str = "UTC"
    since: datetime | None = None
    """Report only incidents that end at or after this time (UTC); older records still count as history."""
    tap_signin_minutes: int = 60
    """Without authenticationDetails (v1.0), a security-info sign-in this soon after an issuance used
    the pass."""
    session_minutes: int = 60
    """A user's action belongs to their latest sign-in from the same address at most this long before it."""
    ticket_before_hours: int = 72
    """A ticket covers an action on its user from this long after it was opened ..."""
    ticket_after_hours: int = 2
    """... until this long after the action (tickets are often logged after the call)."""

    def __post_init__(self) -> None:
        for name in ("lookback_days", "tap_signin_minutes", "session_minutes"):
            if getattr(self, name) <= 0:
                raise UsageError(f"{name.replace('_', ' ')} must be positive")
        if self.window_minutes is not None and self.window_minutes <= 0:
            raise UsageError("--window-minutes must be positive")
        if not set(self.working_days) <= set(range(1, 8)):
            raise UsageError("working days are ISO weekdays 1 (Monday) to 7 (Sunday)")


_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_working_hours(text: str) -> tuple[time, time]:
    """``"08:00-18:00"`` to (start, end); an end before the start spans midnight."""
    match = _HOURS.match(text)
    if match is None:
        raise UsageError(f"--working-hours must look like 08:00-18:00 (got {text!r})")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise UsageError(f"--working-hours has an impossible time: {text!r}")
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    if (h1, m1) == (h2, m2):
        raise UsageError("--working-hours must not start and end at the same time")
    return time(h1, m1), end


def parse_since(text: str) -> datetime:
    """An ISO date or date-time; without an offset it is UTC. Returned as naive UTC."""
    raw = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"--since must be an ISO date or date-time, e.g. 2026-11-14T00:00Z (got {text!r})"
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True, slots=True)
class Ticket:
    """One change or service ticket: its id, the user it is about (UPN or object id), when it was opened."""

    ticket: str
    user: str
    opened: datetime  # naive UTC


_TICKET_COLUMNS = {
    "ticket": ("ticket", "ticket_id", "id", "number", "reference"),
    "user": ("user", "upn", "user_principal_name", "userprincipalname", "user_id", "userid", "target"),
    "time": ("time", "opened", "created", "opened_at", "created_at", "date", "timestamp"),
}


def load_tickets(path: Path) -> list[Ticket]:
    """Read a tickets CSV with a header naming a ticket, a user and a time column (see ``--tickets``)."""
    text = read_text(path, TICKETS, ConfigError)
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
    except StopIteration:
        raise ConfigError(
            str(path), "the tickets file is empty (it needs a header: ticket,user,time)"
        ) from None
    except csv.Error as exc:
        raise ConfigError(str(path), f"not valid CSV ({exc})", 1) from None
    index: dict[str, int] = {}
    for role, names in _TICKET_COLUMNS.items():
        found = next((header.index(n) for n in names if n in header), None)
        if found is None:
            raise ConfigError(str(path), f"no {role} column (header needs ticket, user and time)", 1)
        index[role] = found
    tickets = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if len(row) <= max(index.values()):
                raise ConfigError(str(path), "row is missing columns", line)
            ticket, user, when = (row[index[k]].strip() for k in ("ticket", "user", "time"))
            if not user:
                raise ConfigError(str(path), "row has no user", line)
            try:
                opened = parse_since(when)
            except UsageError:
                raise ConfigError(str(path), f"unreadable time {when!r} (use ISO 8601)", line) from None
            tickets.append(Ticket(ticket or f"line {line}", user.lower(), opened))
    except csv.Error as exc:
        raise ConfigError(str(path), f"not valid CSV ({exc})", reader.line_num) from None
    return tickets
