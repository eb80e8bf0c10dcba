"""What ``respond`` may execute: the containment plan re-derived from an incident's facts.

An incident file is data a user hands in: written by ``detect --format json``, then kept on a share, attached
to a ticket, passed between teams. Anyone who can edit it on that way could, if ``respond --apply`` executed
its ``containment`` steps as written, make the tool grant roles, delete a break-glass account's passkey or
weaken a policy, under whatever summary they typed beside the call. So the steps in the file are never
executed. This module reads the incident's *facts* instead — the rule, the principals it names (their ids
checked as GUIDs), the methods it says were registered (type, time, device), the pass id and the role
template id — rebuilds the rule's plan from them with the code ``detect`` used
(:func:`~graphlattice.detect.containment.build_plan`), and compares the file's plan with it step by step.
Any difference (a step added, dropped or reordered, a method, URL or body changed, a summary that says
something else, a key GraphLattice never writes) refuses the whole incident with one line naming the file, the
incident and the step. What ``respond`` then resolves and shows is the derived plan.

The facts themselves can still be edited consistently (another user's id as the target, say). That is what
the checks in :mod:`.respond` are for: every principal is read from the tenant and shown by the tenant's
name, a user-principal name that does not match is refused, methods are only ever resolved among the target's
own, and a break-glass account is never acted on without ``--allow-break-glass``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from graphlattice.detect.containment import METHOD_NAMES, PLANS, PlanContext, RegisteredMethod, build_plan
from graphlattice.errors import InputError
from graphlattice.safetext import terminal_safe
from graphlattice.tenant.model import parse_time

__all__ = [
    "GUID",
    "DerivedPlan",
    "TamperedIncident",
    "derive_plan",
    "incident_facts",
    "printable",
    "safe_id",
]

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
"""A directory object id, a role template id, a pass id: what Graph writes for each of them."""

_SAFE_ID = re.compile(r"[A-Za-z0-9_=.-]{1,256}")
"""An authentication method's id as Graph returns it: a GUID, or base64url text (passkeys, Windows Hello)."""

_INCIDENT_ID = re.compile(r"[a-z0-9-]{1,80}:[0-9a-f]{12}")
_MAX_TEXT = 1024  # Entra caps display and device names far below this
"""What a fact the plan is built from (a name, a device name) may not contain."""
_SHOWN = 80  # characters of file text quoted in a refusal


class TamperedIncident(InputError):
    """The incident's plan is not the one its facts give, or a fact is malformed (exit 3)."""


def safe_id(value: str) -> bool:
    """Whether ``value`` can stand as one segment of a Graph URL (a method or pass id read back)."""
    return _SAFE_ID.fullmatch(value) is not None


def printable(value: object, limit: int = _SHOWN) -> str:
    """Text from a file or a tenant, fit for one terminal line: control and direction characters escaped,
    long text cut."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    text = terminal_safe(text, single_line=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class DerivedPlan:
    """An incident's facts and the plan our code derives from them (JSON-ready steps, in order)."""

    rule: str
    label: str  # the incident's id when it has detect's shape, else its rule
    context: PlanContext
    steps: tuple[Mapping[str, Any], ...]


def derive_plan(incident: Mapping[str, Any], *, source: str) -> DerivedPlan:
    """The rule's plan rebuilt from the incident's facts; :class:`TamperedIncident` unless the file's plan
    is exactly that plan."""
    rule, context, refuse = _read(incident, source)
    derived = tuple(orjson.loads(orjson.dumps(build_plan(rule, context))))
    given = incident.get("containment")
    steps: Sequence[Any] = given if isinstance(given, list) else ()
    if not derived and steps and rule not in PLANS:
        raise refuse(f"rule {printable(rule)} has no containment plan in GraphLattice", 1)
    for number in range(max(len(steps), len(derived))):
        if number >= len(derived):
            raise refuse(
                f"not part of the plan the incident's facts give: {_brief(steps[number])}", number + 1
            )
        if number >= len(steps):
            raise refuse(
                f"missing: the plan the incident's facts give has {len(derived)} steps and this one is "
                f"{_brief(derived[number])}",
                number + 1,
            )
        difference = _difference(steps[number], derived[number])
        if difference:
            raise refuse(difference, number + 1)
    return DerivedPlan(rule, refuse.label, context, derived)


def incident_facts(incident: Mapping[str, Any], *, source: str) -> tuple[str, PlanContext]:
    """The rule and the facts a plan is built from, checked; :class:`TamperedIncident` for a malformed
    fact. The incident's own plan is not looked at."""
    rule, context, _ = _read(incident, source)
    return rule, context


def _read(incident: Mapping[str, Any], source: str) -> tuple[str, PlanContext, _Refuse]:
    rule = incident.get("rule")
    ident = incident.get("id")
    label = ident if isinstance(ident, str) and _INCIDENT_ID.fullmatch(ident) else printable(rule)
    refuse = _Refuse(source, label)
    if not isinstance(rule, str):
        raise refuse("the incident has no rule id")
    return rule, _facts(incident, rule, refuse), refuse


# ---- the facts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Refuse:
    """Makes the one-line refusal: the file, the incident, the step."""

    source: str
    label: str

    def __call__(self, what: str, step: int | None = None) -> TamperedIncident:
        where = f", step {step}" if step is not None else ""
        return TamperedIncident(
            f"{self.source}: incident {self.label}{where}: {what}; refusing the incident, nothing was changed"
        )


def _facts(incident: Mapping[str, Any], rule: str, refuse: _Refuse) -> PlanContext:
    principals = incident.get("principals")
    if principals is None:
        principals = {}
    if not isinstance(principals, dict):
        raise refuse("its principals are not an object")
    roles = {template.principal for template in PLANS.get(rule, ())}
    people = {
        role: _principal(role, principals[role], refuse)
        for role in sorted(roles)
        if principals.get(role) is not None
    }
    details = incident.get("details")
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise refuse("its details are not an object")
    passes = details.get("pass")
    tap_id = _guid(passes.get("id"), "the pass id", refuse) if isinstance(passes, dict) else None
    return PlanContext(
        people,
        _methods(details.get("methods"), refuse),
        tap_id=tap_id,
        role_template_id=_guid(details.get("roleTemplateId"), "the role template id", refuse),
        role_name=_text(details.get("role"), "the role name", refuse),
    )


def _principal(role: str, value: Any, refuse: _Refuse) -> dict[str, str]:
    if not isinstance(value, dict):
        raise refuse(f"principal {printable(role)} is not an object")
    kind = value.get("type", "user")
    if kind not in ("user", "app"):
        raise refuse(f"principal {printable(role)} has type {printable(kind)!r} (user or app)")
    out = {"type": str(kind)}
    ident = _guid(value.get("id"), f"the id of principal {role}", refuse)
    if ident is not None:
        out["id"] = ident
    for key in ("displayName", "userPrincipalName"):
        text = _text(value.get(key), f"the {key} of principal {role}", refuse)
        if text is not None:
            out[key] = text
    return out


def _methods(value: Any, refuse: _Refuse) -> list[RegisteredMethod]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise refuse("its registered methods are not a list")
    out = []
    for number, item in enumerate(value, 1):
        what = f"registered method {number}"
        if not isinstance(item, dict):
            raise refuse(f"{what} is not an object")
        kind = item.get("type")
        if kind is not None and kind not in METHOD_NAMES:
            raise refuse(f"{what} has an unknown type {printable(kind)!r}")
        time = item.get("time")
        if not isinstance(time, str) or parse_time(time) is None:
            raise refuse(f"{what} has no registration time (ISO 8601)")
        records = item.get("records", [])
        if not isinstance(records, list) or not all(isinstance(r, str) for r in records):
            raise refuse(f"{what}: its records are not a list of record ids")
        out.append(
            RegisteredMethod(
                kind,
                time,
                _text(item.get("deviceName"), f"the device name of {what}", refuse),
                tuple(records),
                _text(item.get("description"), f"the description of {what}", refuse) or "",
            )
        )
    return out


def _guid(value: Any, what: str, refuse: _Refuse) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or GUID.fullmatch(value) is None:
        raise refuse(f"{what} is not a GUID: {printable(value)}")
    return value


def _text(value: Any, what: str, refuse: _Refuse) -> str | None:
    """A name or description the incident quotes. Control characters are kept: they are the attacker's to
    choose (a passkey named with an escape sequence), matching needs them as they are, and every terminal
    line escapes them; refusing them would let an attacker block containment with a name."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise refuse(f"{what} is not text of at most {_MAX_TEXT} characters: {printable(value)}")
    return value


# ---- comparing a step with the derived one -----------------------------------------------------------------


def _brief(step: Any) -> str:
    if not isinstance(step, dict):
        return "a step that is not an object"
    request = step.get("request")
    what = f"{printable(step.get('action'), 40)}, a {printable(step.get('kind'), 20)}"
    if not isinstance(request, dict):
        return what
    return f"{printable(request.get('method'), 10)} {printable(request.get('url'), 160)} ({what})"


def _difference(given: Any, derived: Mapping[str, Any]) -> str | None:
    """What makes the file's step differ from the derived one, in a few words; None when they are equal."""
    if not isinstance(given, dict):
        return "not an object"
    if given == derived:
        return None
    unknown = sorted(set(given) - set(derived))
    if unknown:
        key = printable(unknown[0], 40)
        return f"key {key!r} is not one GraphLattice writes in this step ({_brief(derived)})"
    request, expected = given.get("request"), derived.get("request")
    if request != expected:
        if not isinstance(request, dict) or not isinstance(expected, dict):
            return f"its request is not the one the incident's facts give ({_brief(derived)})"
        for key in ("method", "url"):
            if request.get(key) != expected.get(key):
                return (
                    f"the file's call {_brief(given)} is not the one the incident's facts give: "
                    f"{printable(expected.get('method'), 10)} {printable(expected.get('url'), 160)}"
                )
        call = f"{printable(expected.get('method'), 10)} {printable(expected.get('url'), 160)}"
        return f"the body of {call} is not the one the incident's facts give"
    for key in (
        "action",
        "kind",
        "principal",
        "summary",
        "condition",
        "verify",
        "resolve",
        "evidence",
        "order",
    ):
        if given.get(key) != derived.get(key):
            if key not in given:
                return f"it lacks the {key} GraphLattice writes ({_brief(derived)})"
            shown = f" ({printable(derived[key])!r} from the incident's facts)" if key == "summary" else ""
            return f"its {key} is not the one the incident's facts give{shown}"
    missing = sorted(set(derived) - set(given))
    return f"it lacks {printable(missing[0], 40)}" if missing else "it differs from the derived step"
