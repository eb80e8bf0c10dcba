"""Every error GraphLattice raises on purpose.

The hierarchy, drawn once::

    GraphLatticeError                 base: the CLI prints str(error) on one line and exits non-zero
    ├── UsageError                    a bad option, flag combination or argument value (exit 2)
    ├── InputError                    user-supplied data cannot be used (exit 3)
    │   ├── LocatedError              bad input in a file: path, line (when known), message
    │   │   ├── SnapshotError         a snapshot directory, file or record has the wrong shape
    │   │   ├── ConfigError           a settings, waivers or tickets file is malformed
    │   │   ├── CatalogError          a risk article, check folder or detection rule is wrong
    │   │   ├── LogError              an audit or sign-in log file cannot be read
    │   │   └── ScenarioError         a Range scenario file is invalid
    │   └── RangeError                a Range request that cannot be carried out; nothing changed
    │       ├── InvalidValue          a parameter or body property Graph would refuse (exit 2, names it)
    │       ├── ActionDenied          Entra would refuse the action (exit 4)
    │       └── RangeBusy             another writer kept the range locked too long; retry (exit 75)
    ├── CollectError                  a live collection from Microsoft Graph cannot go on (sign-in refused,
    │                                 endpoint unreachable, retries exhausted) (exit 5)
    └── EntraRuleError                an Entra rule table (role matrix, strength, ...) is inconsistent

Anything else escaping the library is a bug, and the CLI reports it as such.
"""

from __future__ import annotations

import re

__all__ = [
    "ActionDenied",
    "CatalogError",
    "CollectError",
    "ConfigError",
    "EntraRuleError",
    "GraphLatticeError",
    "InputError",
    "InvalidValue",
    "LocatedError",
    "LogError",
    "RangeBusy",
    "RangeError",
    "ScenarioError",
    "SnapshotError",
    "UsageError",
]


_LONG_WORD = re.compile(r"\S{301,}")  # longer than any real path or name


def _elide(match: re.Match[str]) -> str:
    word = match.group(0)
    return f"{word[:200]}…[{len(word) - 260:,} more characters]…{word[-60:]}"


class GraphLatticeError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with.

    Messages quote values from the user's files and commands (an unknown name, a date that does not exist),
    which may be anything, a 100,000-character string included: words longer than 300 characters are shown
    shortened in the middle, so an error stays one readable line.
    """

    exit_code = 1

    def __str__(self) -> str:
        return _LONG_WORD.sub(_elide, super().__str__())


class UsageError(GraphLatticeError):
    exit_code = 2


class InputError(GraphLatticeError):
    exit_code = 3


class LocatedError(InputError):
    """Bad input in a file: ``path``, the 1-based ``line`` when it can be told, and the ``message``."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        message = _LONG_WORD.sub(_elide, message)
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class SnapshotError(LocatedError):
    """A snapshot file is missing, is not JSON, or does not have Graph's shape."""


class ConfigError(LocatedError):
    """A settings, waivers or tickets file cannot be used."""


class CatalogError(LocatedError):
    """A risk article, check folder or detection rule file is wrong."""


class LogError(LocatedError):
    """An audit or sign-in log file is unreadable, truncated, malformed or not a log this tool knows.

    ``line`` is the 1-based line of the first bad record when it can be told.
    """


class ScenarioError(LocatedError):
    """A Range scenario YAML file is malformed or refers to something that does not exist."""


class RangeError(InputError):
    """A Range request that cannot be carried out: no range in the state directory, an unknown user or
    action, a parameter with a bad value. Nothing changed."""


class InvalidValue(RangeError):
    """A value Microsoft Graph would refuse for its type or limits (an integer out of range, a string where a
    list belongs, a password the policy rejects). ``field`` names it: an action parameter (``minutes``) or a
    Graph property path (``grantControls.builtInControls``); ``reason`` says what is wrong with it. Nothing
    changed. A usage mistake, hence exit 2."""

    exit_code = 2

    def __init__(
        self, field: str, reason: str, *, action: str | None = None, message: str | None = None
    ) -> None:
        self.field = field
        self.reason = reason
        self.action = action
        line = message or f"{field} {reason}"
        super().__init__(f"{action}: {line}" if action else line)


class ActionDenied(RangeError):
    """Entra would refuse this action; ``reason`` is the one-line reason it would give.

    ``records`` are the failure records Entra writes for the attempt (a failed sign-in, for example); the
    Range appends them to its logs, but no other state changes.
    """

    exit_code = 4

    def __init__(self, reason: str, *, records: list[dict[str, object]] | None = None) -> None:
        self.reason = reason
        self.records: list[dict[str, object]] = list(records or [])
        super().__init__(reason)


class RangeBusy(RangeError):
    """Another process kept the range's folder locked for longer than the writer would wait. Nothing changed;
    trying again later is the fix, hence ``EX_TEMPFAIL`` (75) from sysexits rather than a bad-input code."""

    exit_code = 75


class CollectError(GraphLatticeError):
    """Collecting from Microsoft Graph (or a Graph-compatible endpoint) cannot go on: the token was refused,
    the endpoint cannot be reached, or a request kept failing after every retry. The message never contains a
    token or a secret."""

    exit_code = 5


class EntraRuleError(GraphLatticeError):
    pass
