"""Spark SQL for Databricks over GraphLattice's normalised event tables.

Assumed data: the two event tables GraphLattice writes with ``graphlattice detect LOGS --parquet DIR``
(``audit_events.parquet``, ``signin_events.parquet``), registered in Databricks as tables or views named
``audit_events`` and ``signin_events``. Their columns are the canonical fields themselves (FIELDS.md), so the
target's column names are the rule's field names, and the enrichment fields are columns too: nothing of the
pack is lost. The enrichment is computed when the Parquet is written, with that run's settings (look-back,
working hours and time zone, tickets, snapshot); re-export the Parquet to change them.

pySigma's Databricks backend (pySigma-backend-databricks) converts each rule's condition; this module adds
what the canonical tables need on top of it: parts of a list of objects named in one selection are matched
on one element with Spark's ``exists(list, e -> ...)``, a NOT over a missing value is true (as in Sigma and
the local engine, not SQL's unknown), and sequences (which the backend does not convert) become range joins
like the local engine's, folded per first event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigma.backends.databricks.databricks import DatabricksBackend
from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionNOT
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.rule import SigmaRule
from sigma.types import SigmaBool

from graphlattice.detect.export.base import (
    ExportedRule,
    Exporter,
    NotExportable,
    alias_column,
    comment_block,
    convert_predicate,
    element_rule,
    event_type,
    fields_in,
    fresh_rule,
    group_list_items,
    mapping_pipeline,
    step_rules,
)
from graphlattice.detect.fields import EVENT_TABLES, field_map
from graphlattice.detect.pack import LoadedRule

__all__ = ["DatabricksExporter", "SparkSql"]

_ELEMENT = "_e"
_ELEMENT_FIELDS = {
    "modified_properties.key": f"{_ELEMENT}.key",
    "modified_properties.old": f"{_ELEMENT}.old",
    "modified_properties.new": f"{_ELEMENT}.new",
    "additional_details.key": f"{_ELEMENT}.key",
    "additional_details.value": f"{_ELEMENT}.value",
    "auth_methods": _ELEMENT,
}


class SparkSql(DatabricksBackend):
    """The Databricks backend over the canonical columns, with list groups and two-valued NOT."""

    def __init__(self, groups: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.groups = dict(groups or {})

    def escape_and_quote_field(self, field_name: str) -> str:
        return field_name

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: Any
    ) -> str:
        assert isinstance(cond.value, SigmaBool)
        if cond.field in self.groups:
            group = self.groups[cond.field]
            return group if cond.value.boolean else f"NOT {group}"
        return f"{cond.field} = {'true' if cond.value.boolean else 'false'}"

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        if cond.args[0] is None:
            return None
        inner = self.convert_condition(cond.args[0], state)
        if inner is None:
            return None
        return f"NOT coalesce(({inner}), false)"


class DatabricksExporter(Exporter):
    name = "databricks"
    title = "Databricks Spark SQL over GraphLattice's event tables (audit_events, signin_events)"
    extension = "sql"

    def export(self, loaded: LoadedRule) -> ExportedRule:
        sigma = loaded.sigma
        where = str(loaded.path)
        kept = [
            "every condition, enrichment included: the tables hold the canonical fields, computed by "
            "graphlattice detect --parquet with that run's settings"
        ]
        if isinstance(sigma, SigmaRule):
            kind = event_type(sigma, where)
            predicate = self.predicate(fresh_rule(sigma), kind)
            query = f"SELECT *\nFROM {EVENT_TABLES[kind]}\nWHERE {predicate}\nORDER BY time, record_id"
        else:
            query, sequence = self.sequence(sigma, where)
            kept.insert(0, sequence)
        header = comment_block(loaded, "--", self.title, kept, [])
        text = f"{header}\n{query};\n"
        return ExportedRule(
            loaded.name, loaded.title, loaded.level, self.name, self.extension, text, tuple(kept)
        )

    def predicate(self, rule: SigmaRule, kind: str) -> str:
        columns = field_map(kind)
        groups = group_list_items(rule, kind)
        unknown = sorted(n for n in fields_in(rule) if n not in columns and not n.startswith("_match_"))
        if unknown:
            raise NotExportable(f"unknown field(s) {', '.join(unknown)}")
        rendered = {}
        for group in groups:
            element = element_rule(group, rule)
            inner = convert_predicate(SparkSql(), mapping_pipeline("spark-element", _ELEMENT_FIELDS), element)
            rendered[group.name] = (
                f"coalesce(exists({group.field.name}, {_ELEMENT} -> {inner.predicate}), false)"
            )
        return convert_predicate(SparkSql(rendered), mapping_pipeline("spark", {}), rule).predicate

    def sequence(self, rule: SigmaCorrelationRule, where: str) -> tuple[str, str]:
        if rule.type not in (SigmaCorrelationType.TEMPORAL_ORDERED, SigmaCorrelationType.TEMPORAL):
            raise NotExportable(f"correlation type {rule.type.name.lower()} is not exported")
        steps = step_rules(rule)
        if len(steps) < 2:
            raise NotExportable("a sequence needs at least two rules")
        group_by = list(rule.group_by or [])
        seconds = (
            self.settings.window_minutes * 60
            if self.settings.window_minutes is not None
            else rule.timespan.seconds
        )
        span = f"INTERVAL {int(seconds)} SECONDS"
        ctes = []
        for index, step in enumerate(steps, start=1):
            kind = event_type(step, where)
            predicate = self.predicate(fresh_rule(step), kind)
            keys = [alias_column(rule, g, step) for g in group_by]
            for key in keys:
                if key not in field_map(kind):
                    raise NotExportable(f"group-by field {key} is not a column of {EVENT_TABLES[kind]}")
            select = ", ".join(["record_id", "time", *(f"{k} AS g{p}" for p, k in enumerate(keys))])
            present = "".join(f" AND {k} IS NOT NULL" for k in keys)
            ctes.append(
                f"s{index} AS (\n  -- {step.name}\n  SELECT {select}\n  FROM {EVENT_TABLES[kind]}\n"
                f"  WHERE ({predicate}){present}\n)"
            )
        ordered = rule.type is SigmaCorrelationType.TEMPORAL_ORDERED
        joins = []
        for index in range(2, len(steps) + 1):
            same = [f"s{index}.g{p} = s1.g{p}" for p in range(len(group_by))]
            if ordered:
                window = [f"s{index}.time >= s{index - 1}.time", f"s{index}.time <= s1.time + {span}"]
            else:
                window = [f"s{index}.time >= s1.time - {span}", f"s{index}.time <= s1.time + {span}"]
            joins.append(f"  JOIN s{index} ON " + " AND ".join(same + window))
        times = [f"s{i}.time" for i in range(1, len(steps) + 1)]
        extent = (
            "" if ordered else f"\n  WHERE greatest({', '.join(times)}) - least({', '.join(times)}) <= {span}"
        )
        columns = [f"s1.g{p} AS g{p}" for p in range(len(group_by))]
        columns += [f"s{i}.record_id AS r{i}, s{i}.time AS t{i}" for i in range(1, len(steps) + 1)]
        ctes.append(
            "sequences AS (\n  SELECT "
            + ", ".join(columns)
            + "\n  FROM s1\n"
            + "\n".join(joins)
            + extent
            + "\n)"
        )
        folded = [f"g{p} AS {group}" for p, group in enumerate(group_by)]
        folded += ["r1 AS first_record", "min(t1) AS start_time", f"max(t{len(steps)}) AS end_time"]
        for index, step in enumerate(steps, start=1):
            name = (step.name or f"step{index}").replace("-", "_")
            folded.append(f"array_sort(collect_set(r{index})) AS {name}_records")
        group = ", ".join([*(f"g{p}" for p in range(len(group_by))), "r1"])
        query = (
            "WITH "
            + ",\n".join(ctes)
            + "\nSELECT "
            + ",\n  ".join(folded)
            + f"\nFROM sequences\nGROUP BY {group}\nORDER BY start_time, first_record"
        )
        description = (
            f"the sequence {' -> '.join(s.name or '' for s in steps)} for the same "
            f"{', '.join(group_by) or 'record'}, {'in this order, ' if ordered else ''}within "
            f"{int(seconds)}s of "
            "the first (range joins, as the local engine runs it)"
        )
        return query, description
