"""Exporters that only rename fields: the target holds the raw log fields, nothing is computed for it.

Splunk and Elasticsearch index each audit or sign-in record as a document; a processing pipeline renames the
canonical fields to the target's names and adds the condition that selects the record type (a sourcetype, a
dataset). What the target does not hold — the enrichment fields, mostly — is left out of the query, the query
header lists it, and an alerting rule that cannot do without it is not exported.

Two canonical facts have a partial stand-in on these targets and use it: ``tap_used: true`` becomes "an
authentication step used a Temporary Access Pass" (from ``authenticationDetails``, present in beta sign-in
records only; the timing inference GraphLattice applies to v1.0 records is not kept).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from sigma.conversion.base import TextQueryBackend
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation
from sigma.rule import SigmaRule
from sigma.types import SigmaBool, SigmaString, SigmaType

from graphlattice.detect.export.base import (
    Exporter,
    NotExportable,
    _items,
    fields_in,
    items_on,
    mapping_pipeline,
    required_fields,
)
from graphlattice.detect.fields import AUDIT, SIGNIN, field_map

__all__ = ["MappedExporter", "Prepared"]

_SERVICE = {AUDIT: "auditlogs", SIGNIN: "signinlogs"}


class Prepared:
    """A rule made ready for a backend: its pipeline and what is kept and lost."""

    def __init__(
        self, pipeline: ProcessingPipeline, kept: list[str], lost: list[str], computed: set[str]
    ) -> None:
        self.pipeline = pipeline
        self.kept = kept
        self.lost = lost
        self.computed = computed


class MappedExporter(Exporter):
    """Field renaming plus a record-type condition; subclasses give the names and the backend."""

    mapping: ClassVar[Mapping[str, Mapping[str, str | list[str]]]] = {}
    """Canonical field -> target field(s) per event type; a field missing here does not exist there."""
    approximate: ClassVar[Mapping[str, str]] = {}
    """Canonical field -> how the target's field differs (noted in the query header when used)."""
    record_type: ClassVar[Mapping[str, tuple[str, str]]] = {}
    """Event type -> (field, value) that selects such records."""
    computed: ClassVar[frozenset[str]] = frozenset()
    """Enrichment fields this exporter rebuilds in the target's language."""

    def prepare(self, rule: SigmaRule, kind: str, *, alerting: bool) -> Prepared:
        """Rewrite stand-ins, decide what is dropped, and build the pipeline (``rule`` is a private copy)."""
        kept: list[str] = []
        lost: list[str] = []
        mapping = self.mapping[kind]
        if kind == AUDIT and "modified_properties.new" in mapping and _role_to_properties(rule):
            kept.append(
                "role_template_id: any modified property whose new value contains the role template id "
                "(Role.TemplateId); a direct assignment naming the role only as a target is not recognised"
            )
        if kind == SIGNIN and "auth_methods" in mapping and _tap_used_to_methods(rule):
            kept.append(
                "Temporary Access Pass sign-in: an authentication step whose method is 'Temporary Access "
                "Pass' (beta sign-in records; the v1.0 timing inference is not kept)"
            )
        used = fields_in(rule)
        known = field_map(kind)
        unknown = sorted(name for name in used if name not in known and name.partition(".")[0] not in known)
        if unknown:
            raise NotExportable(f"unknown field(s) {', '.join(unknown)}")
        computed = used & self.computed
        missing = {name for name in used if name not in mapping and name not in computed}
        required = required_fields(rule, missing)
        if alerting and required:
            raise NotExportable(
                f"it depends on {', '.join(sorted(required))}, which {self.title.split(' (')[0]} does not "
                "have; without it the query would alert on every record the rest of the rule matches"
            )
        if missing:
            lost += [f"{item} (no such field; left out)" for item in items_on(rule, missing)]
        for name in sorted(used & set(self.approximate)):
            if name in mapping:
                kept.append(f"{name}: {self.approximate[name]}")
        field, value = self.record_type[kind]
        pipeline = mapping_pipeline(self.name, mapping, drop=missing)
        pipeline.items.append(
            ProcessingItem(
                identifier=f"graphlattice-{self.name}-record-type",
                transformation=AddConditionTransformation({field: value}),
                rule_conditions=[LogsourceCondition(product="azure", service=_SERVICE[kind])],
            )
        )
        return Prepared(pipeline, kept, lost, computed)

    def predicate(self, backend: TextQueryBackend, rule: SigmaRule, prepared: Prepared) -> Any:
        from graphlattice.detect.export.base import convert_predicate

        return convert_predicate(backend, prepared.pipeline, rule)


def _role_to_properties(rule: SigmaRule) -> bool:
    """``role_template_id: X`` -> ``modified_properties.new|contains: X`` in place; whether it changed."""
    changed = False
    for item in list(_items(rule)):
        if item.field == "role_template_id" and not item.modifiers:
            values: list[SigmaType] = []
            for value in item.value:
                if not isinstance(value, SigmaString):
                    return changed
                values.append(SigmaString("*" + str(value.to_plain()) + "*"))
            item.field = "modified_properties.new"
            item.value = values
            item.original_value = copy.copy(values)
            changed = True
    return changed


def _tap_used_to_methods(rule: SigmaRule) -> bool:
    """``tap_used: true`` -> ``auth_methods: Temporary Access Pass`` in place; whether anything changed."""
    changed = False
    for item in list(_items(rule)):
        if (
            item.field == "tap_used"
            and not item.modifiers
            and all(isinstance(v, SigmaBool) and v.boolean for v in item.value)
        ):
            item.field = "auth_methods"
            methods: list[SigmaType] = [SigmaString("Temporary Access Pass")]
            item.value = methods
            item.original_value = copy.copy(item.value)
            changed = True
    return changed
