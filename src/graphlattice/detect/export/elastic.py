"""Elasticsearch: Elastic Security detection rules over the Elastic Azure integration's Entra ID streams.

Assumed data: the Elastic Azure Logs integration's ``azure.auditlogs`` and ``azure.signinlogs`` data streams
(``logs-azure.auditlogs-*``, ``logs-azure.signinlogs-*``), whose ingest pipelines rename the diagnostic
settings' fields: ``azure.auditlogs.properties.activity_display_name``, ``.result_reason``,
``.logged_by_service``, ``.initiated_by.user.userPrincipalName``; targets become an object keyed by position,
``azure.auditlogs.properties.target_resources.0.modified_properties.1.new_value``; the audit result and the
sign-in outcome go to ``event.outcome``; sign-in fields are ``azure.signinlogs.properties.user_id``,
``.app_display_name``, ``.status.error_code``, ``.authentication_requirement``, ``.authentication_details``
(flattened); the client address is ``source.ip`` and the country ``geo.country_iso_code``.

Each rule is written as one Elastic Security rule (the JSON the rule import reads, one object per line):
detection rules as ``query`` rules in Lucene (pySigma-backend-elasticsearch's Lucene backend; a field under
the positional target objects is searched across every position with a wildcard field name), sequences as
``eql`` rules whose ``sequence ... with maxspan`` keeps the order and the window (the EQL backend converts
each step; EQL has no wildcard field names, so list positions are spelled out: targets 0-1, modified
properties 0-9). Enrichment fields have no counterpart and are left out; the rule's ``note`` lists what was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from sigma.backends.elasticsearch.elasticsearch_eql import EqlBackend
from sigma.backends.elasticsearch.elasticsearch_lucene import LuceneBackend
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.rule import SigmaRule

from graphlattice.detect.export.base import (
    ExportedRule,
    NotExportable,
    alias_column,
    comment_block,
    event_type,
    fresh_rule,
    step_rules,
)
from graphlattice.detect.export.mapped import MappedExporter
from graphlattice.detect.fields import AUDIT, SIGNIN
from graphlattice.detect.pack import LoadedRule

__all__ = ["DATASETS", "INDICES", "ElasticExporter"]

DATASETS = {AUDIT: "azure.auditlogs", SIGNIN: "azure.signinlogs"}
INDICES = {AUDIT: "logs-azure.auditlogs-*", SIGNIN: "logs-azure.signinlogs-*"}

_A = "azure.auditlogs.properties."
_S = "azure.signinlogs.properties."
_TARGETS = 2
_PROPERTIES = 10


def _audit(positional: bool) -> dict[str, str | list[str]]:
    """The audit mapping; ``positional`` spells list positions out (EQL) instead of a wildcard (Lucene)."""

    def each_target(leaf: str) -> str | list[str]:
        if not positional:
            return f"{_A}target_resources.*.{leaf}"
        return [f"{_A}target_resources.{t}.{leaf}" for t in range(_TARGETS)]

    def each_property(leaf: str) -> str | list[str]:
        if not positional:
            return f"{_A}target_resources.*.modified_properties.*.{leaf}"
        return [
            f"{_A}target_resources.{t}.modified_properties.{p}.{leaf}"
            for t in range(_TARGETS)
            for p in range(_PROPERTIES)
        ]

    return {
        "record_id": f"{_A}id",
        "correlation_id": f"{_A}correlation_id",
        "result": "event.outcome",
        "result_reason": f"{_A}result_reason",
        "activity": f"{_A}activity_display_name",
        "category": f"{_A}category",
        "service": f"{_A}logged_by_service",
        "operation_type": f"{_A}operation_type",
        "initiator_user_id": f"{_A}initiated_by.user.id",
        "initiator_upn": f"{_A}initiated_by.user.userPrincipalName",
        "initiator_name": f"{_A}initiated_by.user.displayName",
        "initiator_ip": f"{_A}initiated_by.user.ipAddress",
        "initiator_app": f"{_A}initiated_by.app.displayName",
        "initiator_app_id": f"{_A}initiated_by.app.appId",
        "target_id": f"{_A}target_resources.0.id",
        "target_type": f"{_A}target_resources.0.type",
        "target_user_id": f"{_A}target_resources.0.id" if positional else each_target("id"),
        "target_upn": each_target("user_principal_name"),
        "target_name": each_target("display_name"),
        "device_name": each_target("display_name"),
        "modified_properties.key": each_property("display_name"),
        "modified_properties.old": each_property("old_value"),
        "modified_properties.new": each_property("new_value"),
        "additional_details.key": f"{_A}additional_details.key",
        "additional_details.value": f"{_A}additional_details.value",
    }


_SIGNIN: Mapping[str, str | list[str]] = {
    "record_id": f"{_S}id",
    "correlation_id": f"{_S}correlation_id",
    "result": "event.outcome",
    "result_reason": "azure.signinlogs.result_description",
    "user_id": f"{_S}user_id",
    "upn": f"{_S}user_principal_name",
    "user_name": f"{_S}user_display_name",
    "user_type": f"{_S}user_type",
    "app_id": f"{_S}app_id",
    "app_name": f"{_S}app_display_name",
    "resource_id": f"{_S}resource_id",
    "resource_name": f"{_S}resource_display_name",
    "client_app": f"{_S}client_app_used",
    "ip": "source.ip",
    "country": "geo.country_iso_code",
    "city": "geo.city_name",
    "state": "geo.country_name",
    "device_id": f"{_S}device_detail.device_id",
    "device_name": f"{_S}device_detail.display_name",
    "device_os": f"{_S}device_detail.operating_system",
    "browser": f"{_S}device_detail.browser",
    "device_compliant": f"{_S}device_detail.is_compliant",
    "device_managed": f"{_S}device_detail.is_managed",
    "device_trust_type": f"{_S}device_detail.trust_type",
    "auth_methods": f"{_S}authentication_details.authenticationMethod",
    "auth_requirement": f"{_S}authentication_requirement",
    "error_code": f"{_S}status.error_code",
    "ca_status": f"{_S}conditional_access_status",
    "is_interactive": f"{_S}is_interactive",
    "signin_event_type": f"{_S}sign_in_event_types",
    "risk_level": f"{_S}risk_level_during_signin",
    "risk_state": f"{_S}risk_state",
}

_SEVERITY = {
    "informational": ("low", 1),
    "low": ("low", 21),
    "medium": ("medium", 47),
    "high": ("high", 73),
    "critical": ("critical", 99),
}


class _Lucene(LuceneBackend):
    """Lucene with line breaks and tabs escaped too: the backend escapes a space, but a raw line break or tab
    in an unquoted term splits it in two (``query_string`` reads any whitespace as a separator). A backslash
    before any character makes it literal, inside a phrase or not."""

    add_escaped: ClassVar[str] = LuceneBackend.add_escaped + "\n\r\t"


_EQL_ESCAPES = {"\\\n": "\\n", "\\\r": "\\r", "\\\t": "\\t", "\n": "\\n", "\r": "\\r"}
_EQL_RAW = re.compile(r"\\[\n\r\t]|[\n\r]")


class _Eql(EqlBackend):
    """EQL with a value's line breaks and tabs written as ``\\n``, ``\\r``, ``\\t``: the backend puts a
    backslash before the raw character, which EQL's string literal does not accept (only ``\\`` followed by
    one of ``btnfr"'\\`` is an escape, and a raw line break ends the literal)."""

    def convert_value_str(self, s: Any, state: ConversionState) -> str:
        return _EQL_RAW.sub(lambda m: _EQL_ESCAPES[m.group(0)], super().convert_value_str(s, state))

    def convert_value_re(self, r: Any, state: ConversionState) -> Any:
        converted = super().convert_value_re(r, state)
        if not isinstance(converted, str):
            return converted
        return _EQL_RAW.sub(lambda m: _EQL_ESCAPES[m.group(0)], converted)


class ElasticExporter(MappedExporter):
    name = "elasticsearch"
    title = (
        "Elasticsearch (Elastic Security rules over the Azure integration: azure.auditlogs, azure.signinlogs)"
    )
    extension = "json"
    mapping: ClassVar[Mapping[str, Mapping[str, str | list[str]]]] = {
        AUDIT: _audit(positional=False),
        SIGNIN: _SIGNIN,
    }
    record_type: ClassVar[Mapping[str, tuple[str, str]]] = {
        kind: ("event.dataset", value) for kind, value in DATASETS.items()
    }
    approximate: ClassVar[Mapping[str, str]] = {
        "result": "event.outcome, which the integration sets only for success and failure",
        "target_user_id": "any target's id (Lucene) or the first target's (EQL), not only the User one",
        "target_upn": "any target's user_principal_name",
        "target_name": "any target's display_name",
        "device_name": "any target's display_name, not only the Device one",
        "modified_properties.key": "parts of modified_properties match on any property, not on one together",
        "modified_properties.old": "parts of modified_properties match on any property, not on one together",
        "modified_properties.new": "parts of modified_properties match on any property, not on one together",
        "auth_methods": "authentication_details (flattened) from beta sign-in records; any step",
        "state": "geo.country_name, where the integration puts location.state",
    }

    def export(self, loaded: LoadedRule) -> ExportedRule:
        sigma = loaded.sigma
        where = str(loaded.path)
        if isinstance(sigma, SigmaRule):
            kind = event_type(sigma, where)
            rule = fresh_rule(sigma)
            prepared = self.prepare(rule, kind, alerting=True)
            query = self.predicate(_Lucene(), rule, prepared).predicate
            kept, lost = prepared.kept, prepared.lost
            language, indices, lookback = "lucene", [INDICES[kind]], "now-6m"
        else:
            query, kept, lost, indices, lookback = self._sequence(sigma, where)
            language = "eql"
        note = comment_block(loaded, "", self.title, kept, lost)
        severity, risk = _SEVERITY.get(loaded.level, ("low", 21))
        rule_json: dict[str, Any] = {
            "rule_id": str(sigma.id),
            "name": loaded.title,
            "description": " ".join(str(sigma.description or loaded.title).split()),
            "type": "query" if language == "lucene" else "eql",
            "language": language,
            "index": indices,
            "query": query,
            "severity": severity,
            "risk_score": risk,
            "from": lookback,
            "interval": "5m",
            "enabled": False,
            "tags": ["GraphLattice", f"GraphLattice rule: {loaded.name}", *loaded.tags],
            "false_positives": [str(fp) for fp in (sigma.falsepositives or [])],
            "references": [str(r) for r in (sigma.references or [])],
            "author": [str(sigma.author or "GraphLattice")],
            "license": str(sigma.license or "Apache-2.0"),
            "note": "\n".join(line.strip() and line[1:] for line in note.splitlines()),
            "max_signals": 100,
            "version": 1,
        }
        text = json.dumps(rule_json, ensure_ascii=False) + "\n"
        return ExportedRule(
            loaded.name, loaded.title, loaded.level, self.name, self.extension, text, tuple(kept), tuple(lost)
        )

    def _sequence(
        self, rule: SigmaCorrelationRule, where: str
    ) -> tuple[str, list[str], list[str], list[str], str]:
        if rule.type not in (SigmaCorrelationType.TEMPORAL_ORDERED, SigmaCorrelationType.TEMPORAL):
            raise NotExportable(f"correlation type {rule.type.name.lower()} is not exported")
        steps = step_rules(rule)
        ordered = rule.type is SigmaCorrelationType.TEMPORAL_ORDERED
        seconds = (
            self.settings.window_minutes * 60
            if self.settings.window_minutes is not None
            else rule.timespan.seconds
        )
        kept: list[str] = [
            f"the sequence {' -> '.join(s.name or '' for s in steps)} for the same "
            f"{', '.join(rule.group_by or []) or 'record'}, in this order, within {seconds}s (EQL sequence)"
        ]
        lost: list[str] = []
        if not ordered:
            lost.append("the steps may come in any order locally; EQL's sequence requires this order")
        lines = [f"sequence with maxspan={seconds}s"]
        kinds = set()
        for step in steps:
            kind = event_type(step, where)
            kinds.add(kind)
            copy = fresh_rule(step)
            exporter = _Positional(self.settings)
            prepared = exporter.prepare(copy, kind, alerting=False)
            predicate = exporter.predicate(_Eql(), copy, prepared).predicate
            kept += [k for k in prepared.kept if k not in kept]
            lost += [f"{step.name}: {item}" for item in prepared.lost]
            keys = []
            for group in rule.group_by or []:
                column = alias_column(rule, group, step)
                target = exporter.mapping[kind].get(column)
                if not isinstance(target, str):
                    raise NotExportable(f"group-by field {column} has no single Elastic field")
                keys.append(target)
            by = f" by {', '.join(keys)}" if keys else ""
            lines.append(f"  [any where {predicate}]{by}")
        indices = [INDICES[k] for k in (AUDIT, SIGNIN) if k in kinds]
        minutes = seconds // 60 + 5
        return "\n".join(lines), kept, lost, indices, f"now-{minutes}m"


class _Positional(ElasticExporter):
    """The EQL variant: list positions spelled out."""

    mapping: ClassVar[Mapping[str, Mapping[str, str | list[str]]]] = {
        AUDIT: _audit(positional=True),
        SIGNIN: _SIGNIN,
    }
