"""Incidents: what a match means, in the analyst's terms, with its evidence and containment plan.

An incident answers: which rule, how bad, when, who (``principals``: the issuing admin and the target, the
user, the assignee ...), from where, what was registered, which records prove it (``evidence``: record ids),
what to do now (``containment``, from :mod:`.containment`) and what to fix for good (``rootCauseRisks``: ids
of the assessment catalogue).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sigma.correlations import SigmaCorrelationRule

from graphlattice.detect.containment import (
    METHOD_NAMES,
    ROOT_CAUSES,
    PlanContext,
    RegisteredMethod,
    build_plan,
)
from graphlattice.detect.engine import EventSource, Match, timespan_seconds
from graphlattice.detect.pack import LEVELS, LoadedRule, RulePack, attack_techniques
from graphlattice.detect.settings import DetectSettings

__all__ = ["Incident", "build_incidents", "iso"]

Record = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, seconds precision unless the record has fractions."""
    if value is None:
        return None
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(slots=True)
class Incident:
    rule: str
    rule_uuid: str
    level: str
    title: str
    summary: str
    start: datetime
    end: datetime
    attack: list[str]
    principals: dict[str, dict[str, Any]]
    evidence: list[str]
    details: dict[str, Any]
    containment: list[dict[str, Any]] = field(default_factory=list)
    root_cause_risks: list[dict[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        digest = hashlib.sha256(f"{self.rule}|{'|'.join(self.evidence)}".encode()).hexdigest()
        return f"{self.rule}:{digest[:12]}"

    @property
    def rank(self) -> int:
        return LEVELS.index(self.level) if self.level in LEVELS else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "ruleUuid": self.rule_uuid,
            "level": self.level,
            "title": self.title,
            "summary": self.summary,
            "start": iso(self.start),
            "end": iso(self.end),
            "attack": self.attack,
            "principals": self.principals,
            "evidence": self.evidence,
            "details": self.details,
            "containment": self.containment,
            "rootCauseRisks": self.root_cause_risks,
        }


# -- reading the evidence ------------------------------------------------------------------------------------


def _initiator(r: Record) -> dict[str, Any] | None:
    if r.get("initiator_user_id"):
        return _clean(
            {
                "type": "user",
                "id": r["initiator_user_id"],
                "userPrincipalName": r.get("initiator_upn"),
                "displayName": r.get("initiator_name"),
                "ipAddress": r.get("initiator_ip"),
            }
        )
    if r.get("initiator_app") or r.get("initiator_app_id"):
        return _clean({"type": "app", "id": r.get("initiator_app_id"), "displayName": r.get("initiator_app")})
    return None


def _target(r: Record) -> dict[str, Any] | None:
    if not r.get("target_user_id") and not r.get("target_upn"):
        return None
    return _clean(
        {
            "type": "user",
            "id": r.get("target_user_id"),
            "userPrincipalName": r.get("target_upn"),
            "displayName": r.get("target_name"),
        }
    )


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _who(p: Mapping[str, Any] | None) -> str:
    if not p:
        return "someone"
    name, upn = p.get("displayName"), p.get("userPrincipalName")
    if name and upn:
        return f"{name} ({upn})"
    return str(name or upn or p.get("id") or "someone")


def _pass(r: Record) -> dict[str, Any]:
    return _clean(
        {
            "id": r.get("tap_id"),
            "issuedAt": iso(r.get("time")),
            "start": iso(r.get("tap_start")),
            "end": iso(r.get("tap_end")),
            "usage": r.get("tap_usage"),
            "record": r.get("record_id"),
        }
    )


def registered_methods(records: Sequence[Record]) -> list[RegisteredMethod]:
    """Registration records folded into methods: the Authentication Methods record and the Device
    Registration Service record of one registration (same type, minutes apart) are one method."""
    methods: list[dict[str, Any]] = []
    for r in sorted(records, key=lambda x: (x["time"], x["record_id"])):
        kind = r.get("method_type")
        service = r.get("service")
        for m in methods:
            close = abs((r["time"] - m["time"]).total_seconds()) <= 300
            if m["type"] == kind and close and service not in m["services"]:
                m["records"].append(r["record_id"])
                m["services"].add(service)
                m["device"] = m["device"] or r.get("device_name")
                if service == "Authentication Methods":
                    m["description"] = r.get("result_reason") or m["description"]
                break
        else:
            methods.append(
                {
                    "type": kind,
                    "time": r["time"],
                    "device": r.get("device_name"),
                    "records": [r["record_id"]],
                    "services": {service},
                    "description": r.get("result_reason") or r.get("activity") or "",
                }
            )
    return [
        RegisteredMethod(m["type"], iso(m["time"]) or "", m["device"], tuple(m["records"]), m["description"])
        for m in methods
    ]


def _methods_json(methods: Sequence[RegisteredMethod]) -> list[dict[str, Any]]:
    return [
        _clean(
            {
                "type": m.method_type,
                "name": METHOD_NAMES.get(m.method_type or "", m.description),
                "time": m.time,
                "deviceName": m.device_name,
                "description": m.description,
                "records": list(m.records),
            }
        )
        for m in methods
    ]


def _signin_json(r: Record) -> dict[str, Any]:
    return _clean(
        {
            "record": r["record_id"],
            "time": iso(r["time"]),
            "ipAddress": r.get("ip"),
            "city": r.get("city"),
            "state": r.get("state"),
            "country": r.get("country"),
            "app": r.get("app_name"),
            "browser": r.get("browser"),
            "operatingSystem": r.get("device_os"),
            "userAgent": r.get("user_agent"),
            "authenticationMethods": r.get("auth_methods"),
            "authenticationRequirement": r.get("auth_requirement"),
            "passUseInferred": r.get("tap_inferred"),
            "addressSeenBefore": r.get("ip_seen_before"),
            "countrySeenBefore": r.get("country_seen_before"),
        }
    )


def _place(r: Record) -> str:
    where = ", ".join(str(x) for x in (r.get("city"), r.get("country")) if x)
    return f"{r.get('ip') or 'an unknown address'}" + (f" ({where})" if where else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# -- one builder per rule family -----------------------------------------------------------------------------


@dataclass(slots=True)
class Built:
    summary: str
    principals: dict[str, dict[str, Any]]
    details: dict[str, Any]
    context: PlanContext


Builder = Callable[[LoadedRule, Match, dict[str, Record], DetectSettings], Built]


def _step_records(match: Match, records: Mapping[str, Record], index: int) -> list[Record]:
    return [records[rid] for rid in match.steps[index][1] if rid in records]


def _principals(**kwargs: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in kwargs.items() if v}


def _tap_persistence(rule: LoadedRule, match: Match, records: dict[str, Record], s: DetectSettings) -> Built:
    issue = _step_records(match, records, 0)[0]
    signins = _step_records(match, records, 1)
    regs = _step_records(match, records, 2)
    issuer, target = _initiator(issue), _target(issue)
    methods = registered_methods(regs)
    first = signins[0]
    novelty = []
    if first.get("ip_seen_before") is False:
        novelty.append("an address")
    if first.get("country_seen_before") is False:
        novelty.append("a country")
    new = " and ".join(novelty) or "a place"
    names = ", ".join(_method_label(m) for m in methods)
    summary = (
        f"{_who(issuer)} issued a Temporary Access Pass to {_who(target)} at {iso(issue['time'])}; it was "
        f"used from {_place(first)}, {new} not seen for this user in the last {s.lookback_days} days, and "
        f"{_plural(len(methods), 'method')} registered: {names}. A password reset will not remove them."
    )
    window = timespan_seconds(rule.sigma, s) // 60 if isinstance(rule.sigma, SigmaCorrelationRule) else None
    details = {
        "pass": _pass(issue),
        "passSignIn": _signin_json(first),
        "otherPassSignIns": [_signin_json(r) for r in signins[1:]],
        "methods": _methods_json(methods),
        "windowMinutes": window,
        "lookbackDays": s.lookback_days,
        "passwordResetHelps": False,
    }
    principals = _principals(issuer=issuer, target=target)
    context = PlanContext(principals, methods, tap_id=issue.get("tap_id"))
    return Built(summary, principals, details, context)


def _method_label(m: RegisteredMethod) -> str:
    name = METHOD_NAMES.get(m.method_type or "", m.description)
    return f"{name} ({m.device_name})" if m.device_name else name


def _local_time(when: datetime, zone: str) -> str | None:
    try:
        return when.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _tap_issued(rule: LoadedRule, match: Match, records: dict[str, Record], s: DetectSettings) -> Built:
    issue = records[match.steps[0][1][0]]
    issuer, target = _initiator(issue), _target(issue)
    details: dict[str, Any] = {"pass": _pass(issue)}
    reason = ""
    if rule.name == "tap-issued-outside-hours":
        local = _local_time(issue["time"], s.timezone)
        hours = f"{s.working_start.strftime('%H:%M')}-{s.working_end.strftime('%H:%M')}"
        details.update({"localTime": local, "timezone": s.timezone, "workingHours": hours})
        reason = f", outside working hours ({local or iso(issue['time'])} {s.timezone}; hours {hours})"
    elif rule.name == "tap-issued-without-ticket":
        details["ticketWindowHours"] = [-s.ticket_before_hours, s.ticket_after_hours]
        reason = ", and no ticket names the user around that time"
    elif rule.name == "tap-issued-to-privileged-user":
        reason = ", a user who holds or is eligible for a privileged role"
    when = iso(issue["time"])
    summary = f"{_who(issuer)} issued a Temporary Access Pass to {_who(target)} at {when}{reason}."
    principals = _principals(issuer=issuer, target=target)
    return Built(summary, principals, _clean(details), PlanContext(principals, tap_id=issue.get("tap_id")))


def _registered_without_mfa(
    rule: LoadedRule, match: Match, records: dict[str, Record], s: DetectSettings
) -> Built:
    reg = records[match.steps[0][1][0]]
    user = _target(reg) or _initiator(reg)
    methods = registered_methods([reg])
    session = _session(reg)
    summary = (
        f"{_who(user)} registered {METHOD_NAMES.get(reg.get('method_type') or '', 'a method')} at "
        f"{iso(reg['time'])} from {reg.get('initiator_ip') or 'an unknown address'} in a session whose "
        "sign-in satisfied a single factor: whoever holds the password now holds MFA as well."
    )
    details = {"methods": _methods_json(methods), "session": session}
    principals = _principals(user=user)
    return Built(summary, principals, _clean(details), PlanContext(principals, methods))


def _session(reg: Record) -> dict[str, Any]:
    return _clean(
        {
            "record": reg.get("session_signin_id"),
            "authenticationRequirement": reg.get("session_auth_requirement"),
            "singleFactor": reg.get("session_single_factor"),
            "country": reg.get("session_country"),
            "ipAddress": reg.get("initiator_ip"),
            "addressSeenBefore": reg.get("initiator_ip_seen_before"),
            "countrySeenBefore": reg.get("initiator_country_seen_before"),
        }
    )


def _reset_then_reregistered(
    rule: LoadedRule, match: Match, records: dict[str, Record], s: DetectSettings
) -> Built:
    deleted = _step_records(match, records, 0)
    regs = _step_records(match, records, 1)
    admin, target = _initiator(deleted[0]), _target(deleted[0])
    methods = registered_methods(regs)
    first = regs[0]
    place = first.get("initiator_ip") or "an unknown address"
    if first.get("session_country"):
        place += f" ({first['session_country']})"
    summary = (
        f"{_who(admin)} deleted authentication methods of {_who(target)} at {iso(deleted[0]['time'])}; then "
        f"{_plural(len(methods), 'method')} were registered from {place}, a place not seen for this user. "
        "Verify the caller was the user."
    )
    details = {
        "deleted": [
            _clean(
                {
                    "record": r["record_id"],
                    "time": iso(r["time"]),
                    "what": r.get("result_reason") or r.get("activity"),
                }
            )
            for r in deleted
        ],
        "methods": _methods_json(methods),
        "session": _session(first),
    }
    principals = _principals(admin=admin, target=target)
    return Built(summary, principals, _clean(details), PlanContext(principals, methods))


def _strong_auth_disabled(
    rule: LoadedRule, match: Match, records: dict[str, Record], s: DetectSettings
) -> Built:
    r = records[match.steps[0][1][0]]
    admin, target = _initiator(r), _target(r)
    props = r.get("modified_properties") or []
    change = next(
        (p for p in props if str(p.get("key", "")).endswith("StrongAuthenticationRequirement")), None
    )
    summary = f"{_who(admin)} switched off per-user MFA for {_who(target)} at {iso(r['time'])}."
    details = _clean(
        {
            "activity": r.get("activity"),
            "requirementBefore": change.get("old") if change else None,
            "requirementAfter": change.get("new") if change else None,
        }
    )
    principals = _principals(admin=admin, target=target)
    return Built(summary, principals, details, PlanContext(principals))


def _role_without_approval(
    rule: LoadedRule, match: Match, records: dict[str, Record], s: DetectSettings
) -> Built:
    r = records[match.steps[0][1][0]]
    assignee = _target(r)
    actor = _initiator(r)
    justification = next(
        (d.get("value") for d in r.get("additional_details") or [] if d.get("key") == "Justification"), None
    )
    activity = str(r.get("activity") or "")
    how = "activated without an approval" if "activation" in activity.lower() else "assigned outside approval"
    role = r.get("role_name") or "a pass-issuing role"
    summary = f"{_who(assignee)} got {role} at {iso(r['time'])}: {how}."
    details = _clean(
        {
            "role": r.get("role_name"),
            "roleTemplateId": r.get("role_template_id"),
            "activity": activity,
            "justification": justification or r.get("result_reason"),
            "approved": r.get("pim_approved"),
        }
    )
    if actor and actor.get("id") == (assignee or {}).get("id"):
        actor = None  # a self-activation: the assignee acted
    principals = _principals(assignee=assignee, actor=actor)
    context = PlanContext(
        principals, role_template_id=r.get("role_template_id"), role_name=r.get("role_name")
    )
    return Built(summary, principals, details, context)


def _generic(rule: LoadedRule, match: Match, records: dict[str, Record], s: DetectSettings) -> Built:
    first = records.get(match.record_ids[0], {})
    initiator = _initiator(first) if first.get("event_type") == "audit" else None
    target = _target(first)
    if first.get("event_type") == "signin":
        target = _clean(
            {
                "type": "user",
                "id": first.get("user_id"),
                "userPrincipalName": first.get("upn"),
                "displayName": first.get("user_name"),
            }
        )
    what = first.get("activity") or first.get("app_name") or "an event"
    concerning = f" concerning {_who(target)}" if target else ""
    summary = f"{rule.title}: {what} at {iso(match.start)}{concerning}."
    principals = _principals(initiator=initiator, target=target)
    return Built(summary, principals, {}, PlanContext(principals))


BUILDERS: Mapping[str, Builder] = {
    "tap-bootstrapped-persistence": _tap_persistence,
    "tap-issued-to-privileged-user": _tap_issued,
    "tap-issued-outside-hours": _tap_issued,
    "tap-issued-without-ticket": _tap_issued,
    "security-info-registered-without-mfa": _registered_without_mfa,
    "mfa-methods-reset-then-reregistered": _reset_then_reregistered,
    "strong-auth-disabled": _strong_auth_disabled,
    "tap-issuer-role-activated-without-approval": _role_without_approval,
}


def _root_causes(rule: str, titles: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"id": rid, "title": titles.get(rid, rid), "why": why} for rid, why in ROOT_CAUSES.get(rule, ())]


def build_incidents(
    source: EventSource,
    pack: RulePack,
    matches: Mapping[str, Sequence[Match]],
    settings: DetectSettings,
    risk_titles: Mapping[str, str] | None = None,
) -> list[Incident]:
    """One incident per match, most severe first, then by time."""
    ids = sorted({rid for ms in matches.values() for m in ms for rid in m.record_ids})
    records = source.event_records(ids)
    incidents = []
    for name, rule_matches in matches.items():
        rule = pack[name]
        builder = BUILDERS.get(name, _generic)
        for match in rule_matches:
            built = builder(rule, match, records, settings)
            evidence = sorted(
                (rid for rid in match.record_ids if rid in records),
                key=lambda rid: (records[rid]["time"], rid),
            )
            incidents.append(
                Incident(
                    rule=name,
                    rule_uuid=str(rule.sigma.id),
                    level=rule.level,
                    title=rule.title,
                    summary=built.summary,
                    start=match.start,
                    end=match.end,
                    attack=attack_techniques(rule.tags),
                    principals=built.principals,
                    evidence=evidence,
                    details=built.details,
                    containment=build_plan(name, built.context),
                    root_cause_risks=_root_causes(name, risk_titles or {}),
                )
            )
    incidents.sort(key=lambda i: (-i.rank, i.start, i.rule))
    return incidents
