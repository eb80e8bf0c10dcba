"""Run the rule pack on the store: every rule is one SQL statement, a scan or a windowed join.

- A detection rule is a scan of its event table with the compiled predicate (:mod:`.sigma_sql`).
- A ``temporal_ordered`` correlation rule is a chain of range joins: each base rule's matches, keyed by the
  group-by fields (through the rule's ``aliases``), joined to the next rule's matches that are not earlier
  and not later than the first match plus the timespan. ``temporal`` is the same without the order. The
  result rows are complete sequences; they are folded per first event into one match.

``--window-minutes`` replaces every correlation timespan. Python only folds result rows.

The statements are written in the SQL dialect of the :class:`EventSource` they run on: the DuckDB store, or
Spark over the same tables exported to Parquet (:mod:`.spark`). Both get the same statements up to leaf
syntax, and the rows they return go through the same folding, so both give the same matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.rule import SigmaRule

from graphlattice.detect.fields import EVENT_TABLES, field_map
from graphlattice.detect.pack import LoadedRule, RulePack, rule_event_type
from graphlattice.detect.settings import DetectSettings
from graphlattice.detect.sigma_sql import DUCKDB, Dialect, RuleCompileError, compile_detection

__all__ = ["EventSource", "Match", "rule_sql", "run_pack", "run_rule"]


class EventSource(Protocol):
    """Where the event tables (``audit_events``, ``signin_events``) are, and how to query them."""

    @property
    def dialect(self) -> Dialect: ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Every row of a query, in the source's dialect."""
        ...

    def event_records(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The full rows of both event tables with these record ids, by id (column name to value)."""
        ...


@dataclass(frozen=True, slots=True)
class Match:
    """One hit of an alerting rule: the records of each step (base rule), in rule order."""

    rule: str
    group: tuple[str, ...]  # correlation group-by values; empty for a detection rule
    steps: tuple[tuple[str, tuple[str, ...]], ...]  # (base rule name, record ids in time order)
    start: datetime
    end: datetime

    @property
    def record_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for _, ids in self.steps:
            for rid in ids:
                seen.setdefault(rid, None)
        return list(seen)


def _predicate(rule: SigmaRule, where: str, dialect: Dialect) -> tuple[str, str]:
    """(event type, SQL predicate) of a detection rule."""
    kind = rule_event_type(rule)
    if kind is None:
        raise RuleCompileError(
            where, f"rule {rule.name or rule.title!r}: not over azure audit or sign-in logs"
        )
    return kind, compile_detection(rule, field_map(kind), where, dialect)


def timespan_seconds(rule: SigmaCorrelationRule, settings: DetectSettings) -> int:
    if settings.window_minutes is not None:
        return settings.window_minutes * 60
    return int(rule.timespan.seconds)


def rule_sql(
    pack: RulePack, name: str, settings: DetectSettings | None = None, dialect: Dialect = DUCKDB
) -> str:
    """The SQL the engine runs for one alerting rule (DuckDB's, or another engine's dialect)."""
    return _rule_sql(pack[name], settings or DetectSettings(), dialect)


def _rule_sql(loaded: LoadedRule, settings: DetectSettings, dialect: Dialect) -> str:
    sigma = loaded.sigma
    where = str(loaded.path)
    if isinstance(sigma, SigmaRule):
        kind, predicate = _predicate(sigma, where, dialect)
        return f"SELECT record_id, time FROM {EVENT_TABLES[kind]} WHERE {predicate} ORDER BY time, record_id"
    return _correlation_sql(sigma, where, settings, dialect)


def _correlation_sql(
    rule: SigmaCorrelationRule, where: str, settings: DetectSettings, dialect: Dialect
) -> str:
    if rule.type not in (SigmaCorrelationType.TEMPORAL_ORDERED, SigmaCorrelationType.TEMPORAL):
        raise RuleCompileError(
            where,
            f"rule {rule.name!r}: the local engine runs temporal and temporal_ordered correlations only",
        )
    steps: list[SigmaRule] = []
    for ref in rule.referenced_rules:
        if not isinstance(ref.rule, SigmaRule):
            raise RuleCompileError(where, f"rule {rule.name!r}: nested correlations are not supported")
        steps.append(ref.rule)
    if len(steps) < 2:
        raise RuleCompileError(where, f"rule {rule.name!r}: a sequence needs at least two rules")
    group_by = list(rule.group_by or [])
    span = dialect.seconds(timespan_seconds(rule, settings))
    ctes = []
    for index, step in enumerate(steps, start=1):
        kind, predicate = _predicate(step, where, dialect)
        columns = field_map(kind)
        keys = []
        for position, group in enumerate(group_by):
            column = _alias(rule, group, step)
            if column not in columns:
                raise RuleCompileError(
                    where,
                    f"rule {rule.name!r}: group-by {group!r} is {column!r}, not a field of {step.name!r}",
                )
            keys.append(f"{dialect.quote(column)} AS g{position}")
        not_null = (
            " AND ".join(f"{dialect.quote(_alias(rule, g, step))} IS NOT NULL" for g in group_by) or "true"
        )
        select_keys = (", " + ", ".join(keys)) if keys else ""
        ctes.append(
            f"s{index} AS (SELECT record_id, time{select_keys} FROM {EVENT_TABLES[kind]} "
            f"WHERE {predicate} AND {not_null})"
        )
    joins = []
    ordered = rule.type is SigmaCorrelationType.TEMPORAL_ORDERED
    for index in range(2, len(steps) + 1):
        same_group = [f"s{index}.g{p} = s1.g{p}" for p in range(len(group_by))]
        if ordered:
            window = [f"s{index}.time >= s{index - 1}.time", f"s{index}.time <= s1.time + {span}"]
        else:
            window = [f"s{index}.time >= s1.time - {span}", f"s{index}.time <= s1.time + {span}"]
        joins.append(f"JOIN s{index} ON " + " AND ".join(same_group + window))
    times = [f"s{i}.time" for i in range(1, len(steps) + 1)]
    extent = "" if ordered else f"WHERE greatest({', '.join(times)}) <= least({', '.join(times)}) + {span}"
    select = [f"s1.g{p} AS g{p}" for p in range(len(group_by))]
    select += [f"s{i}.record_id AS r{i}, s{i}.time AS t{i}" for i in range(1, len(steps) + 1)]
    return (
        f"WITH {', '.join(ctes)} SELECT {', '.join(select)} FROM s1 {' '.join(joins)} {extent} "
        f"ORDER BY s1.time, s1.record_id"
    )


def _alias(rule: SigmaCorrelationRule, group: str, step: SigmaRule) -> str:
    for alias in rule.aliases:
        if alias.alias != group:
            continue
        for ref, column in alias.mapping.items():
            if ref.reference in (step.name, str(step.id)):
                return column
    return group


def run_rule(source: EventSource, loaded: LoadedRule, settings: DetectSettings) -> list[Match]:
    """Every match of one alerting rule."""
    sql = _rule_sql(loaded, settings, source.dialect)
    rows = source.rows(sql)
    sigma = loaded.sigma
    if isinstance(sigma, SigmaRule):
        matches = [Match(loaded.name, (), ((loaded.name, (str(rid),)),), t, t) for rid, t in rows]
    else:
        matches = _fold(loaded.name, sigma, rows)
    if settings.since is not None:
        since = settings.since
        matches = [m for m in matches if m.end >= since]
    return matches


def _fold(name: str, rule: SigmaCorrelationRule, rows: Sequence[tuple[object, ...]]) -> list[Match]:
    """Sequences sharing their first event become one match holding every record of every step."""
    groups = len(rule.group_by or [])
    steps = [ref.rule.name or str(ref.rule.id) for ref in rule.referenced_rules]
    folded: dict[tuple[object, ...], dict[int, dict[str, datetime]]] = {}
    for row in rows:
        key = (*row[:groups], row[groups])  # group values + first record id
        per_step = folded.setdefault(key, {i: {} for i in range(len(steps))})
        for i in range(len(steps)):
            rid, when = row[groups + 2 * i], row[groups + 2 * i + 1]
            assert isinstance(when, datetime)
            per_step[i][str(rid)] = when
    matches = []
    for key, per_step in folded.items():
        ordered = [
            sorted(per_step[i].items(), key=lambda item: (item[1], item[0])) for i in range(len(steps))
        ]
        times = [when for records in ordered for _, when in records]
        matches.append(
            Match(
                name,
                tuple(str(v) for v in key[:groups]),
                tuple((steps[i], tuple(rid for rid, _ in ordered[i])) for i in range(len(steps))),
                min(times),
                max(times),
            )
        )
    matches.sort(key=lambda m: (m.start, m.record_ids[0]))
    return matches


def run_pack(source: EventSource, pack: RulePack, settings: DetectSettings) -> dict[str, list[Match]]:
    """Every alerting rule of the pack, by name (rules without matches map to an empty list)."""
    return {name: run_rule(source, pack[name], settings) for name in pack.alerting}
