"""Splunk SPL over the Splunk Add-on for Microsoft Azure's Entra ID inputs.

Assumed data: the add-on's *Directory Audit* and *Sign-ins* inputs, which read Microsoft Graph
(``/auditLogs/directoryAudits``, ``/auditLogs/signIns``) and index each record as JSON under the sourcetypes
``azure:aad:audit`` and ``azure:aad:signin``. Splunk extracts the Graph property names as fields, arrays
with ``{}``: ``activityDisplayName``, ``initiatedBy.user.userPrincipalName``,
``targetResources{}.modifiedProperties{}.newValue``, ``location.countryOrRegion``, ``status.errorCode`` ...
Records streamed through Event Hubs instead carry a ``properties.`` prefix: add it with your own field
aliases.

pySigma's Splunk backend (pySigma-backend-splunk) converts each rule; correlations use its ``multisearch`` +
``stats`` form, which knows unordered ``temporal`` correlations only: a ``temporal_ordered`` sequence is
exported as ``temporal`` (all steps within one time bucket of the window's length, in any order). Working
hours are computed with ``eval`` in the time zone of the user running the search; the other enrichment fields
have no counterpart and are left out.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import ClassVar

from sigma.backends.splunk.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.rule import SigmaRule

from graphlattice.detect.export.base import (
    ExportedRule,
    NotExportable,
    comment_block,
    conjuncts_without,
    control_character_value,
    convert_tree,
    event_type,
    fresh_rule,
    step_rules,
)
from graphlattice.detect.export.mapped import MappedExporter
from graphlattice.detect.fields import AUDIT, SIGNIN
from graphlattice.detect.pack import LoadedRule

__all__ = ["SOURCETYPES", "SplunkExporter"]

SOURCETYPES = {AUDIT: "azure:aad:audit", SIGNIN: "azure:aad:signin"}

_AUDIT: Mapping[str, str | list[str]] = {
    "record_id": "id",
    "correlation_id": "correlationId",
    "result": "result",
    "result_reason": "resultReason",
    "activity": "activityDisplayName",
    "category": "category",
    "service": "loggedByService",
    "operation_type": "operationType",
    "initiator_user_id": "initiatedBy.user.id",
    "initiator_upn": "initiatedBy.user.userPrincipalName",
    "initiator_name": "initiatedBy.user.displayName",
    "initiator_ip": "initiatedBy.user.ipAddress",
    "initiator_app": "initiatedBy.app.displayName",
    "initiator_app_id": "initiatedBy.app.appId",
    "target_id": "targetResources{}.id",
    "target_type": "targetResources{}.type",
    "target_user_id": "targetResources{}.id",
    "target_upn": "targetResources{}.userPrincipalName",
    "target_name": "targetResources{}.displayName",
    "device_name": "targetResources{}.displayName",
    "modified_properties.key": "targetResources{}.modifiedProperties{}.displayName",
    "modified_properties.old": "targetResources{}.modifiedProperties{}.oldValue",
    "modified_properties.new": "targetResources{}.modifiedProperties{}.newValue",
    "additional_details.key": "additionalDetails{}.key",
    "additional_details.value": "additionalDetails{}.value",
}
_SIGNIN: Mapping[str, str | list[str]] = {
    "record_id": "id",
    "correlation_id": "correlationId",
    "result_reason": "status.failureReason",
    "user_id": "userId",
    "upn": "userPrincipalName",
    "user_name": "userDisplayName",
    "user_type": "userType",
    "app_id": "appId",
    "app_name": "appDisplayName",
    "resource_id": "resourceId",
    "resource_name": "resourceDisplayName",
    "client_app": "clientAppUsed",
    "user_agent": "userAgent",
    "ip": "ipAddress",
    "country": "location.countryOrRegion",
    "city": "location.city",
    "state": "location.state",
    "device_id": "deviceDetail.deviceId",
    "device_name": "deviceDetail.displayName",
    "device_os": "deviceDetail.operatingSystem",
    "browser": "deviceDetail.browser",
    "device_compliant": "deviceDetail.isCompliant",
    "device_managed": "deviceDetail.isManaged",
    "device_trust_type": "deviceDetail.trustType",
    "auth_methods": "authenticationDetails{}.authenticationMethod",
    "auth_requirement": "authenticationRequirement",
    "error_code": "status.errorCode",
    "ca_status": "conditionalAccessStatus",
    "is_interactive": "isInteractive",
    "signin_event_type": "signInEventTypes{}",
    "risk_level": "riskLevelDuringSignIn",
    "risk_state": "riskState",
}


class SplunkExporter(MappedExporter):
    name = "splunk"
    title = "Splunk SPL (Splunk Add-on for Microsoft Azure: sourcetypes azure:aad:audit, azure:aad:signin)"
    extension = "spl"
    mapping: ClassVar[Mapping[str, Mapping[str, str | list[str]]]] = {AUDIT: _AUDIT, SIGNIN: _SIGNIN}
    record_type: ClassVar[Mapping[str, tuple[str, str]]] = {
        kind: ("sourcetype", value) for kind, value in SOURCETYPES.items()
    }
    computed: ClassVar[frozenset[str]] = frozenset({"working_hours"})
    approximate: ClassVar[Mapping[str, str]] = {
        "target_id": "any target (Splunk's targetResources{}.id holds them all), not only the first",
        "target_type": "any target, not only the first",
        "target_user_id": "the id of any target, not only the User one",
        "target_upn": "any target's userPrincipalName",
        "target_name": "any target's displayName",
        "device_name": "any target's displayName, not only the Device one",
        "modified_properties.key": "parts of modifiedProperties match on any property, not on one together",
        "modified_properties.old": "parts of modifiedProperties match on any property, not on one together",
        "modified_properties.new": "parts of modifiedProperties match on any property, not on one together",
        "auth_methods": "authenticationDetails{} from beta sign-in records; any step, succeeded or not",
    }

    def export(self, loaded: LoadedRule) -> ExportedRule:
        sigma = loaded.sigma
        where = str(loaded.path)
        for rule in [sigma] if isinstance(sigma, SigmaRule) else step_rules(sigma):
            odd = control_character_value(rule)
            if odd is not None:
                raise NotExportable(
                    f"a value holds a line break or another control character ({odd}), which SPL has no "
                    "escape for in a quoted term"
                )
        if isinstance(sigma, SigmaRule):
            text, kept, lost = self._detection(fresh_rule(sigma), event_type(sigma, where))
            extra: list[str] = []
        else:
            text, kept, lost, extra = self._sequence(sigma, where)
        header = comment_block(loaded, "", self.title, kept, lost, extra)
        text = "```\n" + header.replace("`", "'") + "\n```\n" + text + "\n"
        return ExportedRule(
            loaded.name, loaded.title, loaded.level, self.name, self.extension, text, tuple(kept), tuple(lost)
        )

    def _detection(self, rule: SigmaRule, kind: str) -> tuple[str, list[str], list[str]]:
        prepared = self.prepare(rule, kind, alerting=True)
        backend = SplunkBackend()
        conversion = self.predicate(backend, rule, prepared)
        if not prepared.computed:
            return conversion.predicate, prepared.kept, prepared.lost
        prefilter = conjuncts_without(conversion.trees[0], set(prepared.computed))
        base = convert_tree(backend, prefilter) or f'sourcetype="{SOURCETYPES[kind]}"'
        kept = [*prepared.kept, self._working_hours_note()]
        return f"{base}\n| {self._working_hours_eval()}\n| search {conversion.predicate}", kept, prepared.lost

    def _working_hours_eval(self) -> str:
        settings = self.settings
        start = settings.working_start.hour * 60 + settings.working_start.minute
        end = (
            settings.working_end.hour * 60
            + settings.working_end.minute
            + (1 if settings.working_end.second else 0)
        )
        days = ", ".join(f'"{d}"' for d in sorted(settings.working_days))
        clock = 'tonumber(strftime(_time, "%H")) * 60 + tonumber(strftime(_time, "%M"))'
        window = (
            f"{clock} >= {start} AND {clock} < {end}"
            if start < end
            else f"({clock} >= {start} OR {clock} < {end})"
        )
        return f'eval working_hours=if(in(strftime(_time, "%u"), {days}) AND {window}, "true", "false")'

    def _working_hours_note(self) -> str:
        s = self.settings
        days = ",".join(str(d) for d in sorted(s.working_days))
        return (
            f"working hours {s.working_start:%H:%M}-{s.working_end:%H:%M} on ISO days {days}, computed with "
            f"eval in the time zone of the Splunk user running the search (set it to {s.timezone})"
        )

    def _sequence(
        self, rule: SigmaCorrelationRule, where: str
    ) -> tuple[str, list[str], list[str], list[str]]:
        copied = copy.deepcopy(rule)
        steps = step_rules(copied)
        kept: list[str] = []
        lost: list[str] = []
        pipelines = []
        for step in steps:
            step._output = False
            kind = event_type(step, where)
            prepared = self.prepare(step, kind, alerting=False)
            if prepared.computed:
                raise NotExportable(
                    f"step {step.name} uses {', '.join(sorted(prepared.computed))}, which a multisearch step "
                    "cannot compute"
                )
            kept += prepared.kept
            lost += [f"{step.name}: {item}" for item in prepared.lost]
            pipelines.append(prepared.pipeline)
        # each step was prepared with its own event type: apply each pipeline to its own rule now, then let
        # the backend convert the correlation with an empty pipeline
        for step, pipeline in zip(steps, pipelines, strict=True):
            pipeline.apply(step)
        group_fields = {
            alias.alias: {ref.reference: column for ref, column in alias.mapping.items()}
            for alias in copied.aliases
        }
        for alias in copied.aliases:
            for ref in list(alias.mapping):
                step = next(s for s in steps if ref.reference in (s.name, str(s.id)))
                mapping = self.mapping[event_type(step, where)]
                target = mapping.get(alias.mapping[ref])
                if not isinstance(target, str):
                    raise NotExportable(f"group-by field {alias.mapping[ref]} has no Splunk field")
                alias.mapping[ref] = target
        extra: list[str] = []
        if copied.type is SigmaCorrelationType.TEMPORAL_ORDERED:
            copied.type = SigmaCorrelationType.TEMPORAL
            lost.insert(0, "the order of the steps (Splunk's correlation is temporal: all steps, any order)")
        if self.settings.window_minutes is not None:
            from sigma.correlations import SigmaCorrelationTimespan

            copied.timespan = SigmaCorrelationTimespan(f"{self.settings.window_minutes}m")
        lost.insert(
            1 if lost and lost[0].startswith("the order") else 0,
            f"the sliding window: stats counts the steps per {copied.timespan.spec} bucket of _time "
            "(bin _time), so a sequence across a bucket boundary is missed",
        )
        kept.insert(
            0,
            f"the steps {' -> '.join(s.name or '' for s in steps)}, grouped by "
            f"{', '.join(group_fields) or 'nothing'}",
        )
        backend = SplunkBackend()
        queries = backend.convert(SigmaCollection([*steps, copied]))
        if len(queries) != 1:
            raise NotExportable("the Splunk backend did not return one query for the correlation")
        return str(queries[0]), kept, lost, extra
