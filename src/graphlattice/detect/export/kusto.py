"""KQL for Microsoft Sentinel / Azure Data Explorer over the ``AuditLogs`` and ``SigninLogs`` tables.

pySigma's Kusto backend (pySigma-backend-kusto) converts each rule's condition; this module maps the canonical
fields onto Sentinel's columns first and wraps the predicate in the query that computes what the logs do not
say. Nothing of the pack is lost here:

- plain fields are Sentinel columns (``OperationName``, ``ResultReason``, ``UserId``, ``IPAddress`` ...) or
  paths into dynamic columns (``tostring(InitiatedBy.user.ipAddress)``, ``tostring(LocationDetails.city)``);
- fields GraphLattice derives at ingest (the first User target, the role of a role change, the pass's
  properties) are computed with ``mv-apply`` over ``TargetResources``; the parts of a list of objects named in
  one selection are matched on the same element, as locally;
- enrichment fields are computed in KQL: working hours with ``datetime_utc_to_local``, "address or country
  not seen for this user in the look-back window" with a join on the user's earlier successful sign-ins,
  "this sign-in used a Temporary Access Pass" from ``AuthenticationDetails``, the session of a
  user's action from their sign-ins (successes and MFA-enrolment interrupts) and what that sign-in satisfied
  (the verdict of :mod:`graphlattice.detect.factors`, from the same tables), privileged users from
  role-assignment records, PIM approvals by correlation id, and tickets from a watchlist;
- sequences (Sigma correlation rules, which the Kusto backend does not convert) become ``let`` steps joined
  on the group key within the time window, in order.

Columns the query computes are named in snake_case (the canonical field names of
``src/graphlattice/detect/FIELDS.md``); PascalCase names are Sentinel's own columns
(:mod:`.sentinel_schema`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sigma.backends.kusto.kusto import KustoBackend
from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionNOT
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.rule import SigmaRule
from sigma.types import SigmaBool

from graphlattice.detect.export.base import (
    ExportedRule,
    Exporter,
    ListGroup,
    NotExportable,
    alias_column,
    comment_block,
    conjuncts_without,
    convert_predicate,
    convert_tree,
    element_rule,
    event_type,
    fields_in,
    fresh_rule,
    group_list_items,
    mapping_pipeline,
    step_rules,
)
from graphlattice.detect.export.sentinel_schema import TABLES, TICKETS_WATCHLIST
from graphlattice.detect.factors import SESSION_ERROR_CODES, load_factors
from graphlattice.detect.fields import AUDIT, SIGNIN, field_map
from graphlattice.detect.pack import LoadedRule
from graphlattice.entra.roles import ROLE_CATALOG

__all__ = ["DIRECT", "KustoExporter", "SentinelKql", "escape_controls", "kql_string"]

TABLE = {AUDIT: "AuditLogs", SIGNIN: "SigninLogs"}

DIRECT: Mapping[str, Mapping[str, str]] = {
    AUDIT: {
        "record_id": "Id",
        "event_type": '"audit"',
        "time": "TimeGenerated",
        "correlation_id": "CorrelationId",
        "result": "Result",
        "result_reason": "ResultReason",
        "source_format": '"sentinel"',
        "activity": "OperationName",
        "category": "Category",
        "service": "LoggedByService",
        "operation_type": "AADOperationType",
        "initiator_user_id": "tolower(tostring(InitiatedBy.user.id))",
        "initiator_upn": "tostring(InitiatedBy.user.userPrincipalName)",
        "initiator_name": "tostring(InitiatedBy.user.displayName)",
        "initiator_ip": "tostring(InitiatedBy.user.ipAddress)",
        "initiator_app": "tostring(InitiatedBy.app.displayName)",
        "initiator_app_id": "tolower(tostring(InitiatedBy.app.appId))",
        "target_id": "tolower(tostring(TargetResources[0].id))",
        "target_type": "tostring(TargetResources[0].type)",
    },
    SIGNIN: {
        "record_id": "Id",
        "event_type": '"signin"',
        "time": "TimeGenerated",
        "correlation_id": "CorrelationId",
        "result": 'iff(ResultType == "0", "success", "failure")',
        "result_reason": "ResultDescription",
        "source_format": '"sentinel"',
        "user_id": "tolower(UserId)",
        "upn": "UserPrincipalName",
        "user_name": "UserDisplayName",
        "user_type": "UserType",
        "app_id": "tolower(AppId)",
        "app_name": "AppDisplayName",
        "resource_id": "ResourceIdentity",
        "resource_name": "ResourceDisplayName",
        "client_app": "ClientAppUsed",
        "user_agent": "UserAgent",
        "ip": "IPAddress",
        "country": "tostring(LocationDetails.countryOrRegion)",
        "city": "tostring(LocationDetails.city)",
        "state": "tostring(LocationDetails.state)",
        "device_id": "tostring(DeviceDetail.deviceId)",
        "device_name": "tostring(DeviceDetail.displayName)",
        "device_os": "tostring(DeviceDetail.operatingSystem)",
        "browser": "tostring(DeviceDetail.browser)",
        "device_compliant": "tobool(DeviceDetail.isCompliant)",
        "device_managed": "tobool(DeviceDetail.isManaged)",
        "device_trust_type": "tostring(DeviceDetail.trustType)",
        "auth_requirement": "AuthenticationRequirement",
        "error_code": "toint(ResultType)",
        "ca_status": "ConditionalAccessStatus",
        "is_interactive": "IsInteractive",
        "signin_event_type": 'iff(IsInteractive, "interactiveUser", "nonInteractiveUser")',
        "risk_level": "RiskLevelDuringSignIn",
        "risk_state": "RiskState",
    },
}
"""Canonical field -> KQL expression over the Sentinel table's own columns."""

_TARGET_FIELDS = {
    "target_user_id": ('tolower(take_anyif(tostring(_t.id), tostring(_t.type) =~ "User"))'),
    "target_upn": 'take_anyif(tostring(_t.userPrincipalName), tostring(_t.type) =~ "User")',
    "target_name": 'take_anyif(tostring(_t.displayName), tostring(_t.type) =~ "User")',
    "device_name": 'take_anyif(tostring(_t.displayName), tostring(_t.type) =~ "Device")',
    "_role_target_id": 'tolower(take_anyif(tostring(_t.id), tostring(_t.type) =~ "Role"))',
    "_role_target_name": 'take_anyif(tostring(_t.displayName), tostring(_t.type) =~ "Role")',
}
_PROPERTY_FIELDS = {
    "_role_template_prop": 'take_anyif(_new, _key =~ "Role.TemplateId")',
    "_role_name_prop": 'take_anyif(_new, _key =~ "Role.DisplayName")',
    "tap_id": 'take_anyif(_new, _key endswith "AccessPass.Id")',
    "_tap_start": 'take_anyif(_new, _key endswith "AccessPass.StartDateTime")',
    "_tap_end": (
        'take_anyif(_new, _key endswith "AccessPass.EndDateTime" or _key endswith "AccessPass.EndTime")'
    ),
    "tap_usage": 'take_anyif(_new, _key endswith "AccessPass.AccessPassUsage")',
}
_PROPERTY_RESULTS = {
    "role_template_id": (
        ["_role_template_prop", "_role_target_id"],
        "tolower(iff(isnotempty(_role_template_prop), _role_template_prop, _role_target_id))",
    ),
    "role_name": (
        ["_role_name_prop", "_role_target_name"],
        "iff(isnotempty(_role_name_prop), _role_name_prop, _role_target_name)",
    ),
    "tap_id": (["tap_id"], ""),
    "tap_start": (["_tap_start"], "todatetime(_tap_start)"),
    "tap_end": (["_tap_end"], "todatetime(_tap_end)"),
    "tap_usage": (["tap_usage"], ""),
}
_METHOD_TYPE = (
    "case(\n"
    '        LoggedByService !in ("Authentication Methods", "Device Registration Service")'
    ' and OperationName !contains "security info", "",\n'
    '        ResultReason contains "temporary access pass" or OperationName contains "temporary access pass",'
    ' "temporaryAccessPass",\n'
    '        OperationName contains "passwordless phone sign-in" or ResultReason contains "authenticator",'
    ' "microsoftAuthenticator",\n'
    '        OperationName contains "fido2" or ResultReason has_any ("fido", "passkey", "security key"),'
    ' "fido2",\n'
    '        OperationName contains "windows hello" or ResultReason contains "windows hello",'
    ' "windowsHelloForBusiness",\n'
    '        ResultReason has_any ("hardware oath", "hardware token"), "hardwareOath",\n'
    '        ResultReason has_any ("oath", "software token"), "softwareOath",\n'
    '        ResultReason has_any ("phone", "sms", "voice"), "phone",\n'
    '        ResultReason contains "email", "email",\n'
    '        "")'
)
_ELEMENT_FIELDS = {
    "modified_properties.key": "_key",
    "modified_properties.old": "_old",
    "modified_properties.new": "_new",
    "additional_details.key": "_key",
    "additional_details.value": "_value",
    "auth_methods": "_method",
}

# enrichment: computed per row (cheap) or from other records (history joins, after a prefilter)
_ROW_ENRICHMENT = {"working_hours", "tap_used", "tap_inferred", "target_is_privileged", "pim_approved"}
_HISTORY_ENRICHMENT = {
    SIGNIN: {"ip_seen_before", "country_seen_before"},
    AUDIT: {
        "has_ticket",
        "session_signin_id",
        "session_auth_requirement",
        "session_single_factor",
        "session_tap_used",
        "session_country",
        "initiator_ip_seen_before",
        "initiator_country_seen_before",
    },
}
_UNSUPPORTED = {"tap_issue_record_id", "ticket_id"}
_OK_SIGNINS = 'SigninLogs | where ResultType == "0"'
_SESSION_SIGNINS = (
    "SigninLogs | where ResultType in (" + ", ".join(f'"{c}"' for c in SESSION_ERROR_CODES) + ")"
)


def _single_factor_lines() -> tuple[list[str], str]:
    """The session sign-in's verdict (:func:`graphlattice.detect.factors.single_factor_sql`) in KQL: lines
    that count its succeeded steps and its steps that are multifactor by themselves, and the verdict.

    An empty or missing ``AuthenticationDetails`` is given one empty step, so that ``mv-apply`` keeps the
    row (an empty array would expand to none); like ingest, a step without ``succeeded`` counts as succeeded
    and a step without a method does not count."""
    factors = load_factors()
    names = ", ".join(kql_string(m.lower()) for m in factors.multifactor_steps)
    prefixes = "".join(
        f" or _m startswith {kql_string(p.lower())}" for p in factors.multifactor_step_prefixes
    )
    interrupts = ", ".join(f'"{c}"' for c in sorted(factors.enrolment_interrupts))
    lines = [
        "    | extend _details = todynamic(AuthenticationDetails)",
        "    | mv-apply _a = iff(array_length(_details) > 0, _details, dynamic([{}])) on (",
        "        where isnotempty(tostring(_a.authenticationMethod))"
        " and coalesce(tobool(_a.succeeded), true)",
        "        | extend _m = tolower(tostring(_a.authenticationMethod))",
        f"        | summarize _s_steps = count(), _s_strong = countif(_m in ({names}){prefixes}))",
    ]
    verdict = (
        f"case(ResultType in ({interrupts}), true, "
        'AuthenticationRequirement =~ "multiFactorAuthentication", false, '
        "_s_steps >= 2 or _s_strong > 0, false, "
        'AuthenticationRequirement =~ "singleFactorAuthentication" or _s_steps == 1, true, '
        "bool(null))"
    )
    return lines, verdict


class SentinelKql(KustoBackend):
    """The Kusto backend, for predicates over expressions: fields are KQL expressions, booleans compare with
    ``==``, a missing value is an empty one (``isempty``), a NOT over a dropped part drops with it, and a
    value's line breaks and other control characters are escaped (the backend leaves them raw, which ends
    a KQL string literal mid-value)."""

    field_null_expression: ClassVar[str] = "isempty({field})"

    def escape_and_quote_field(self, field_name: str) -> str:
        return field_name

    def convert_value_str(self, s: Any, state: ConversionState) -> str:
        return escape_controls(super().convert_value_str(s, state))

    def convert_value_re(self, r: Any, state: ConversionState) -> Any:
        converted = super().convert_value_re(r, state)
        return escape_controls(converted) if isinstance(converted, str) else converted

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: Any
    ) -> str:
        assert isinstance(cond.value, SigmaBool)
        return f"{cond.field} == {'true' if cond.value.boolean else 'false'}"

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        if cond.args[0] is None:
            return None
        inner = self.convert_condition(cond.args[0], state)
        if inner is None:
            return None
        return f"not({inner})"


def _duration(seconds: int) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def escape_controls(text: str) -> str:
    """``text`` (the inside of a KQL string literal, quotes and backslashes already escaped) with its control
    characters as escape sequences: KQL's lexer ends a ``"..."`` literal at a raw line break."""
    return _CONTROL.sub(lambda m: _CONTROL_ESCAPES.get(m.group(0), f"\\u{ord(m.group(0)):04x}"), text)


def kql_string(text: str) -> str:
    """``text`` as one double-quoted KQL string literal."""
    return '"' + escape_controls(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


@dataclass
class _Body:
    """One base rule as a tabular KQL expression over its table, and the ``let`` helpers it needs."""

    kind: str
    lines: list[str]
    lets: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    def text(self, indent: str = "") -> str:
        return ("\n" + indent).join(self.lines)


class KustoExporter(Exporter):
    name = "kusto"
    title = "Microsoft Sentinel / Azure Data Explorer (KQL over AuditLogs and SigninLogs)"
    extension = "kql"

    def export(self, loaded: LoadedRule) -> ExportedRule:
        sigma = loaded.sigma
        where = str(loaded.path)
        lets: dict[str, str]
        if isinstance(sigma, SigmaRule):
            body = self.detection(fresh_rule(sigma), event_type(sigma, where), where, alerting=True)
            lets, query, kept, lost = body.lets, body.text(), body.kept, body.lost
        else:
            lets, query, kept, lost = self.sequence(sigma, where)
        header = comment_block(
            loaded,
            "//",
            self.title,
            _unique(kept),
            _unique(lost),
            extra=self._notes(lets),
        )
        declarations = [f"let {name} = {value};" for name, value in lets.items()]
        text = "\n".join([header, *declarations, query]) + "\n"
        return ExportedRule(
            loaded.name, loaded.title, loaded.level, self.name, self.extension, text, tuple(kept), tuple(lost)
        )

    def _notes(self, lets: Mapping[str, str]) -> list[str]:
        notes = [
            "Columns in snake_case are computed by this query (GraphLattice's canonical fields, FIELDS.md);",
            "PascalCase names are the tables' own columns. As a scheduled analytics rule, the rule's query",
            "period bounds every table this query reads, look-backs included.",
        ]
        if "_ticket_times" in lets:
            notes.append(
                f"Tickets come from the watchlist {TICKETS_WATCHLIST!r}: upload the detect --tickets CSV "
                "(columns ticket, user, time) with that alias."
            )
        return notes

    # -- one detection rule -------------------------------------------------------------------------------

    def detection(
        self,
        rule: SigmaRule,
        kind: str,
        where: str,
        *,
        alerting: bool,
        extra: Sequence[str] = (),
    ) -> _Body:
        columns = field_map(kind)
        groups = group_list_items(rule, kind)
        placeholders = {g.name for g in groups}
        used = (fields_in(rule) - placeholders) | set(extra)
        unknown = sorted(name for name in used if name not in columns)
        if unknown:
            raise NotExportable(f"unknown field(s) {', '.join(unknown)}")
        dropped = used & _UNSUPPORTED
        body = _Body(kind, [TABLE[kind]])
        if dropped:
            body.lost.append(
                "conditions on "
                + ", ".join(sorted(dropped))
                + " (GraphLattice evidence links, not a log fact)"
            )
        need = set(used)
        if "target_is_privileged" in need or "has_ticket" in need:
            need |= {"target_user_id", "target_upn"}
        self._rule = rule
        if kind == AUDIT:
            self._audit_derived(body, need, groups)
        else:
            self._signin_derived(body, need, groups)
        self._row_enrichment(body, need, kind)
        history = need & _HISTORY_ENRICHMENT[kind]

        mapping: dict[str, str | list[str]] = dict(DIRECT[kind])
        backend = SentinelKql()
        conversion = convert_predicate(backend, _pipeline(mapping, dropped), rule)
        if history:
            prefilter = (
                conjuncts_without(conversion.trees[0], history) if len(conversion.trees) == 1 else None
            )
            prefilter_text = convert_tree(backend, prefilter)
            if prefilter_text:
                body.lines.append(f"| where {prefilter_text}")
            if kind == SIGNIN:
                self._signin_history(body, history)
            else:
                self._audit_history(body, history)
        body.lines.append(f"| where {conversion.predicate}")
        return body

    def _audit_derived(self, body: _Body, need: set[str], groups: Sequence[ListGroup]) -> None:
        target = [name for name in _TARGET_FIELDS if name in need]
        props = [name for name in _PROPERTY_RESULTS if name in need]
        for name in props:
            target += [f for f in _PROPERTY_RESULTS[name][0] if f in _TARGET_FIELDS and f not in target]
        if target:
            parts = [f"{name} = {_TARGET_FIELDS[name]}" for name in target]
            body.lines.append(_mv_apply("_t = TargetResources", [], parts))
        mp_groups = [g for g in groups if g.field.name == "modified_properties"]
        prop_parts: list[str] = []
        for name in props:
            prop_parts += [
                f"{f} = {_PROPERTY_FIELDS[f]}" for f in _PROPERTY_RESULTS[name][0] if f in _PROPERTY_FIELDS
            ]
        prop_parts += [f"{g.name} = countif({self._element(g)}) > 0" for g in mp_groups]
        if prop_parts:
            body.lines.append(
                _mv_apply(
                    "_t = TargetResources",
                    [
                        "mv-expand _p = _t.modifiedProperties",
                        "extend _key = tostring(_p.displayName), _old = trim(@'\"', tostring(_p.oldValue)),"
                        " _new = trim(@'\"', tostring(_p.newValue))",
                    ],
                    prop_parts,
                )
            )
            if mp_groups:
                body.kept.append(
                    "modified properties: every target's modifiedProperties, the parts named in one "
                    "selection matched on the same property (values unquoted, as locally)"
                )
        results = [f"{name} = {expr}" for name in props for expr in [_PROPERTY_RESULTS[name][1]] if expr]
        if results:
            body.lines.append("| extend " + ", ".join(results))
        detail_groups = [g for g in groups if g.field.name == "additional_details"]
        if detail_groups:
            parts = [f"{g.name} = countif({self._element(g)}) > 0" for g in detail_groups]
            body.lines.append(
                _mv_apply(
                    "_d = AdditionalDetails",
                    ["extend _key = tostring(_d.key), _value = tostring(_d.value)"],
                    parts,
                )
            )
        if "method_type" in need:
            body.lines.append(f"| extend method_type = {_METHOD_TYPE}")
        if need & set(_TARGET_FIELDS):
            body.kept.append(
                "target fields: the first target of type User (or Device, Role) of TargetResources"
            )

    def _signin_derived(self, body: _Body, need: set[str], groups: Sequence[ListGroup]) -> None:
        parts = [f"{g.name} = countif({self._element(g)}) > 0" for g in groups]
        if "tap_used" in need:
            parts.append('tap_used = countif(_method =~ "Temporary Access Pass") > 0')
        if "auth_methods" in need:
            parts.append("auth_methods = make_list(_method)")
        if parts:
            body.lines.append(
                _mv_apply(
                    "_a = todynamic(AuthenticationDetails)",
                    ["where tobool(_a.succeeded)", "extend _method = tostring(_a.authenticationMethod)"],
                    parts,
                )
            )
            body.kept.append(
                "authentication methods: the succeeded steps of AuthenticationDetails (always present in "
                "SigninLogs, so a Temporary Access Pass sign-in is read, never inferred from timing)"
            )

    def _element(self, group: ListGroup) -> str:
        element = element_rule(group, self._rule)
        return convert_predicate(SentinelKql(), _pipeline(_ELEMENT_FIELDS, ()), element).predicate

    # -- enrichment ---------------------------------------------------------------------------------------

    def _row_enrichment(self, body: _Body, need: set[str], kind: str) -> None:
        settings = self.settings
        if "working_hours" in need:
            zone = settings.timezone
            local = (
                "TimeGenerated"
                if zone.upper() == "UTC"
                else f"datetime_utc_to_local(TimeGenerated, {kql_string(zone)})"
            )
            start = settings.working_start.hour * 60 + settings.working_start.minute
            end = (
                settings.working_end.hour * 60
                + settings.working_end.minute
                + (1 if settings.working_end.second else 0)
            )
            joiner = "and" if start < end else "or"
            days = ", ".join(str(d) for d in sorted(settings.working_days))
            body.lines.append(f"| extend _local = {local}")
            body.lines.append(
                "| extend _weekday = toint(dayofweek(_local) / 1d), _clock = _local - startofday(_local)"
            )
            body.lines.append(
                f"| extend working_hours = iff(_weekday == 0, 7, _weekday) in ({days}) "
                f"and (_clock >= {start}m {joiner} _clock < {end}m)"
            )
            body.kept.append(
                f"working hours {settings.working_start:%H:%M}-{settings.working_end:%H:%M} on ISO days "
                f"{days} in {zone} (datetime_utc_to_local)"
            )
        if "tap_inferred" in need:
            body.lines.append("| extend tap_inferred = false")
        if "target_is_privileged" in need:
            roles = sorted(info.template_id for info in ROLE_CATALOG.values() if info.privileged)
            role_list = ", ".join(kql_string(r) for r in roles)
            body.lets["_privileged_roles"] = f"dynamic([{role_list}])"
            body.lets["_privileged_users"] = "\n".join(
                [
                    "AuditLogs",
                    '    | where OperationName has "member to role" and Result =~ "success"',
                    "    "
                    + _mv_apply(
                        "_t = TargetResources",
                        [],
                        [
                            f"target_user_id = {_TARGET_FIELDS['target_user_id']}",
                            f"_role_target_id = {_TARGET_FIELDS['_role_target_id']}",
                        ],
                        indent="    ",
                    ),
                    "    "
                    + _mv_apply(
                        "_t = TargetResources",
                        [
                            "mv-expand _p = _t.modifiedProperties",
                            "extend _key = tostring(_p.displayName), _new = trim(@'\"', "
                            "tostring(_p.newValue))",
                        ],
                        [f"_role_template_prop = {_PROPERTY_FIELDS['_role_template_prop']}"],
                        indent="    ",
                    ),
                    "    | extend _role = tolower(iff(isnotempty(_role_template_prop), _role_template_prop,"
                    " _role_target_id))",
                    "    | where isnotempty(target_user_id) and _role in (_privileged_roles)",
                    "    | distinct target_user_id",
                ]
            )
            body.lines.append(
                "| extend target_is_privileged = iff(isempty(target_user_id), bool(null),"
                " target_user_id in (_privileged_users))"
            )
            body.kept.append(
                "privileged target: holders of a privileged role according to the role-assignment records in "
                "the workspace (as GraphLattice does without --snapshot); Sentinel's IdentityInfo table is "
                "an "
                "alternative where UEBA is on"
            )
        if "pim_approved" in need:
            body.lets["_pim_approvals"] = (
                'AuditLogs\n    | where OperationName has "request approved" and isnotempty(CorrelationId)\n'
                "    | distinct CorrelationId"
            )
            body.lines.append(
                "| extend pim_approved = iff("
                'OperationName startswith "Add member to role completed (PIM activation)",'
                " CorrelationId in (_pim_approvals), bool(null))"
            )
            body.kept.append("PIM approval: an approval record with the activation's correlation id")

    def _signin_history(self, body: _Body, history: set[str]) -> None:
        lookback = _duration(self.settings.lookback_days * 86_400)
        body.lets["lookback"] = lookback
        body.lines += [
            "| join kind=leftouter (",
            f"    {_OK_SIGNINS}",
            "    | project UserId, _seen_ip = IPAddress, _seen_country = "
            "tostring(LocationDetails.countryOrRegion),"
            " _seen_at = TimeGenerated",
            "    ) on UserId",
            "| extend _earlier = isnotnull(_seen_at) and _seen_at < TimeGenerated and _seen_at >= "
            "TimeGenerated - lookback",
            "| summarize _ip_hits = countif(_earlier and _seen_ip == IPAddress),",
            "    _country_hits = countif(_earlier and _seen_country == "
            "tostring(LocationDetails.countryOrRegion)),",
            "    arg_max(toint(_earlier), *) by Id",
            "| extend ip_seen_before = iff(isempty(IPAddress), bool(null), _ip_hits > 0),",
            "    country_seen_before = iff(isempty(tostring(LocationDetails.countryOrRegion)), bool(null),"
            " _country_hits > 0)",
        ]
        body.kept.append(
            f"address / country not seen for the user: no earlier successful sign-in of the user from it in "
            f"the last {lookback} before this one (a join on SigninLogs)"
        )

    def _audit_history(self, body: _Body, history: set[str]) -> None:
        settings = self.settings
        if "has_ticket" in history:
            body.lets["_ticket_times"] = (
                f"_GetWatchlist({kql_string(TICKETS_WATCHLIST)})\n"
                "    | project _ticket_user = tolower(tostring(user)), _ticket_time = todatetime(['time'])\n"
                "    | summarize _ticket_times = make_list(_ticket_time) by _ticket_user"
            )
            before, after = (
                _duration(settings.ticket_before_hours * 3600),
                _duration(settings.ticket_after_hours * 3600),
            )
            body.lines += [
                "| extend _upn_key = tolower(target_upn), _id_key = target_user_id",
                "| lookup kind=leftouter (_ticket_times | project _upn_key = _ticket_user, _by_upn = "
                "_ticket_times)"
                " on _upn_key",
                "| lookup kind=leftouter (_ticket_times | project _id_key = _ticket_user, _by_id = "
                "_ticket_times)"
                " on _id_key",
                "| extend _ticket_candidates = array_concat(coalesce(_by_upn, dynamic([])),"
                " coalesce(_by_id, dynamic([])))",
                "| mv-apply _tt = _ticket_candidates to typeof(datetime) on (",
                f"    summarize _covering = countif(_tt >= TimeGenerated - {before} and _tt <= "
                f"TimeGenerated + {after}))",
                "| extend has_ticket = iff(isempty(target_user_id), bool(null), _covering > 0)",
            ]
            body.kept.append(
                f"tickets: a ticket for the target (UPN or object id) opened from {before} before to {after} "
                f"after the action, from the watchlist {TICKETS_WATCHLIST}"
            )
        session_fields = history - {"has_ticket"}
        if not session_fields:
            return
        session = _duration(settings.session_minutes * 60)
        lookback = _duration(settings.lookback_days * 86_400)
        body.lets["session_window"] = session
        factors, verdict = _single_factor_lines() if "session_single_factor" in session_fields else ([], "")
        body.lines += [
            "| extend _actor = tolower(tostring(InitiatedBy.user.id)), _actor_ip = "
            "tostring(InitiatedBy.user.ipAddress)",
            "| join kind=leftouter (",
            f"    {_SESSION_SIGNINS}",
            *factors,
            "    | project _actor = tolower(UserId), _s_id = Id, _s_ip = IPAddress, _s_at = TimeGenerated,",
            "        _s_requirement = AuthenticationRequirement, _s_country = "
            "tostring(LocationDetails.countryOrRegion),",
            '        _s_tap = tostring(AuthenticationDetails) has "Temporary Access Pass"'
            + (f",\n        _s_single = {verdict}" if verdict else ""),
            "    ) on _actor",
            "| extend _in_session = isnotempty(_actor) and isnotnull(_s_at) and _s_at <= TimeGenerated",
            "    and _s_at >= TimeGenerated - session_window and (isempty(_actor_ip) or _s_ip == _actor_ip)",
            "| extend _rank = iff(_in_session, _s_at, datetime(1970-01-01))",
            "| summarize arg_max(_rank, *) by Id",
            '| extend session_signin_id = iff(_in_session, _s_id, ""),',
            '    session_auth_requirement = iff(_in_session, _s_requirement, ""),',
            *(["    session_single_factor = iff(_in_session, _s_single, bool(null)),"] if verdict else []),
            "    session_tap_used = iff(_in_session, _s_tap, bool(null)),",
            '    session_country = iff(_in_session, _s_country, "")',
        ]
        body.kept.append(
            f"the user's session: their latest sign-in from the same address within {session} before the "
            "action that was a success or an MFA-enrolment interrupt (its authentication requirement, "
            "country, pass use)"
        )
        if verdict:
            body.kept.append(
                "what the session's sign-in satisfied: one factor for an MFA-enrolment interrupt; for a "
                "success, its AuthenticationRequirement and the succeeded steps of AuthenticationDetails "
                "(two steps, or one that is multifactor by itself, satisfy MFA), as locally"
            )
        if session_fields & {"initiator_ip_seen_before", "initiator_country_seen_before"}:
            body.lets["lookback"] = lookback
            body.lines += [
                "| join kind=leftouter (",
                f"    {_OK_SIGNINS}",
                "    | project _actor = tolower(UserId), _h_ip = IPAddress,"
                " _h_country = tostring(LocationDetails.countryOrRegion), _h_at = TimeGenerated",
                "    ) on _actor",
                "| extend _earlier = _in_session and isnotnull(_h_at) and _h_at < _s_at and _h_at >= _s_at "
                "- lookback",
                "| summarize _ip_hits = countif(_earlier and _h_ip == _s_ip),",
                "    _country_hits = countif(_earlier and _h_country == _s_country), "
                "arg_max(toint(_earlier), *) by Id",
                "| extend initiator_ip_seen_before = iff(_in_session, _ip_hits > 0, bool(null)),",
                "    initiator_country_seen_before = iff(_in_session and isnotempty(_s_country), "
                "_country_hits > 0,"
                " bool(null))",
            ]
            body.kept.append(
                f"acted from a new address / country: the session's sign-in had no earlier successful "
                "sign-in of "
                f"the user from it in the last {lookback}"
            )

    # -- sequences ----------------------------------------------------------------------------------------

    def sequence(
        self, rule: SigmaCorrelationRule, where: str
    ) -> tuple[dict[str, str], str, list[str], list[str]]:
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
        lets: dict[str, str] = {"sequence_window": _duration(int(seconds))}
        kept: list[str] = []
        lost: list[str] = []
        names: list[str] = []
        for index, step in enumerate(steps, start=1):
            kind = event_type(step, where)
            keys = [alias_column(rule, g, step) for g in group_by]
            evidence = ["target_upn", "device_name"] if kind == AUDIT else []
            body = self.detection(fresh_rule(step), kind, where, alerting=False, extra=[*keys, *evidence])
            lets.update({k: v for k, v in body.lets.items() if k not in lets})
            kept += body.kept
            lost += [f"{step.name}: {item}" for item in body.lost]
            projection = [f"_g{p} = {self._key(kind, key)}" for p, key in enumerate(keys)]
            projection += [f"_t{index} = TimeGenerated", f"_id{index} = Id"]
            if kind == AUDIT:
                projection += [
                    f"_by{index} = iff(isnotempty(tostring(InitiatedBy.user.userPrincipalName)),"
                    " tostring(InitiatedBy.user.userPrincipalName), tostring(InitiatedBy.app.displayName))",
                    f'_what{index} = strcat(OperationName, ": ", ResultReason,'
                    ' iff(isnotempty(device_name), strcat(" (", device_name, ")"), ""))',
                    f"_upn{index} = target_upn",
                ]
            else:
                projection += [
                    f"_ip{index} = IPAddress",
                    f'_where{index} = strcat(tostring(LocationDetails.city), ", ",'
                    " tostring(LocationDetails.countryOrRegion))",
                    f"_upn{index} = UserPrincipalName",
                ]
            not_empty = " and ".join(f"isnotempty(_g{p})" for p in range(len(keys)))
            lines = [line.replace("\n", "\n    ") for line in body.lines]
            lines.append("| project " + ", ".join(projection))
            if not_empty:
                lines.append(f"| where {not_empty}")
            name = f"_step{index}"
            names.append(name)
            lets[name] = "\n    ".join(lines)
            lets[name] = f"// {step.name}\n    " + lets[name]
        ordered = rule.type is SigmaCorrelationType.TEMPORAL_ORDERED
        keys_on = ", ".join(f"_g{p}" for p in range(len(group_by))) or "$left._id1 == $right._id1"
        query = [names[0]]
        for index in range(2, len(steps) + 1):
            query.append(f"| join kind=inner {names[index - 1]} on {keys_on}")
            if ordered:
                query.append(f"| where _t{index} >= _t{index - 1} and _t{index} <= _t1 + sequence_window")
            else:
                query.append(
                    f"| where _t{index} between ((_t1 - sequence_window) .. (_t1 + sequence_window))"
                )
        if not ordered:
            times = ", ".join(f"_t{i}" for i in range(1, len(steps) + 1))
            query.append(f"| where max_of({times}) - min_of({times}) <= sequence_window")
        summary = ["StartTime = min(_t1)", f"EndTime = max(_t{len(steps)})"]
        user = "_upn1"
        for i in range(2, len(steps) + 1):
            user = f"iff(isnotempty({user}), {user}, _upn{i})"
        summary.append(f"User = take_any({user})")
        for index, step in enumerate(steps, start=1):
            prefix = (step.name or f"step{index}").replace("-", "_")
            summary.append(f"{prefix}_records = make_set(_id{index})")
            if event_type(step, where) == AUDIT:
                summary.append(f"{prefix}_by = make_set(_by{index})")
                summary.append(
                    f'{prefix}_what = make_set(strcat(format_datetime(_t{index}, "yyyy-MM-dd HH:mm:ss"), " ",'
                    f" _what{index}))"
                )
            else:
                summary.append(f"{prefix}_ip = make_set(_ip{index})")
                summary.append(f"{prefix}_where = make_set(_where{index})")
        by = [f"{g} = _g{p}" for p, g in enumerate(group_by)] + ["FirstRecord = _id1"]
        query.append("| summarize " + ",\n    ".join(summary) + "\n    by " + ", ".join(by))
        kept.insert(
            0,
            f"the sequence: {' -> '.join(s.name or '' for s in steps)} for the same "
            f"{', '.join(group_by) or 'record'}, {'in this order, ' if ordered else ''}within "
            f"{lets['sequence_window']} of the first",
        )
        return lets, "\n".join(query), kept, lost

    def _key(self, kind: str, name: str) -> str:
        expression = DIRECT[kind].get(name, name)
        return expression


def _pipeline(mapping: Mapping[str, str | list[str]], drop: Sequence[str] | set[str]) -> Any:
    return mapping_pipeline("sentinel", mapping, drop)


def _mv_apply(binding: str, inner: Sequence[str], aggregates: Sequence[str], indent: str = "") -> str:
    """``| mv-apply binding on (inner | ... | summarize aggregates)``, an operator or an aggregate a line."""
    pad = "\n" + indent + "    "
    operators = [*inner, "summarize " + ("," + pad + "    ").join(aggregates)]
    return f"| mv-apply {binding} on ({pad}" + (pad + "| ").join(operators) + ")"


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def check_mapping() -> None:
    """Every column the mapping names exists in the Sentinel table (the tests call this too)."""
    import re

    for kind, mapping in DIRECT.items():
        columns = TABLES[TABLE[kind]]
        for canonical, expression in mapping.items():
            for root in re.findall(r"\b([A-Z][A-Za-z_]+)\b(?!\s*\()", expression.replace('"', " ")):
                if root not in columns:
                    raise AssertionError(f"{canonical}: {root} is not a {TABLE[kind]} column")
