"""Apply an incident's containment plan to a tenant: derive, resolve, show, confirm, execute, verify.

``graphlattice respond INCIDENT`` takes one incident written by ``graphlattice detect --format json`` and
turns its containment plan (:mod:`graphlattice.detect.containment`) into Microsoft Graph calls, through the
collector's Graph client (its pacing, retries, typed errors and token handling):

0. **Derive.** The plan is rebuilt from the incident's facts by our code (:mod:`.derive`); a file whose plan
   differs in any way is refused before anything is read. Only the derived calls can be made, and each must
   be one of the containment operations below, on a principal of the incident: delete an authentication
   method or the Temporary Access Pass of a user, revoke a user's sessions, reset a user's password, turn
   per-user MFA back on, remove a role through PIM.
1. **Resolve.** Every user a call acts on is read: the tenant's name for them is what is shown, an incident
   whose user-principal name is not the tenant's is refused, and a break-glass account (declared in the
   settings, or named like one) is refused unless ``--allow-break-glass`` names it. Audit records never carry
   the id of the method they registered, so a plan names the method by type, registration time and device
   name. Those are matched against a read of the user's typed method collection. A Microsoft Authenticator has
   ``createdDateTime`` only once it is registered for passwordless phone sign-in (the time of *that*, which
   may come later than the registration), so device names are matched first. A candidate that contradicts
   the incident (another device, created at another time) is excluded; exactly one candidate left that is
   confirmed by device name or time is the method. Anything else is ambiguous and is refused with the
   candidates listed: ``--method-id`` chooses. The live Temporary Access Pass is read too (a user holds at
   most one; it may be a newer pass than the one in the logs, or already gone).
2. **Show.** The exact calls, numbered: method, absolute URL, body (secrets shown as ``***``), and a summary
   made from the call itself, never taken from the file.
3. Without ``apply`` nothing more happens. With it, the caller confirms (or passes ``--yes``).
4. **Execute** in order, one result per call; the first failure stops the run and the report says which
   calls were made and which were not. ``resetPassword`` answers 202 with a ``Location`` to poll; it has
   no application permission, so an application's token is refused before anything is changed.
5. **Verify** with the plan's reads: the method is gone, ``signInSessionsValidFromDateTime`` moved, the
   reset operation succeeded.

Tokens, pass codes and passwords are never printed: response bodies are not echoed, and the password a
reset generates is dropped unread. Text from the file or the tenant is printed with control characters
escaped.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson

from graphlattice.collect.auth import TokenProvider
from graphlattice.collect.client import GraphClient, GraphError, normalise_base_url
from graphlattice.collect.plan import family_of
from graphlattice.detect.containment import METHOD_COLLECTIONS, METHOD_NAMES
from graphlattice.detect.derive import DerivedPlan, derive_plan, printable, safe_id
from graphlattice.detect.operations import Person, break_glass_reason, recognise
from graphlattice.errors import CollectError, GraphLatticeError, InputError, UsageError
from graphlattice.files import INCIDENTS, read_bytes
from graphlattice.tenant.model import parse_time

__all__ = [
    "TOLERANCE",
    "Call",
    "CallResult",
    "Candidate",
    "Check",
    "ContainmentIncomplete",
    "Guard",
    "Identity",
    "Plan",
    "Problem",
    "Skip",
    "execute",
    "identity_of",
    "load_incident",
    "match_methods",
    "render_plan",
    "resolve",
    "respond",
    "verify",
]

TOLERANCE = timedelta(minutes=5)
"""How far a method's ``createdDateTime`` may lie from the audit record's time and still be that method."""
PASSWORDLESS_LATER = timedelta(hours=8)
"""An Authenticator's ``createdDateTime`` is when passwordless phone sign-in was turned on: up to this long
after the registration it still points at the registration (the attacker enabling it in the same visit)."""
POLL_SECONDS = 120.0
"""How long to poll a password reset's operation before reporting it as still running."""

_AUTHENTICATOR = "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
_SECRET_KEYS = frozenset({"newPassword", "password", "temporaryAccessPass"})
_PLACEHOLDER = re.compile(r"\{[A-Za-z]+\}")
_TAP_ACTION = "delete-temporary-access-pass"


class ContainmentIncomplete(GraphLatticeError):
    """The plan was not carried out completely, or the reads afterwards do not confirm it (exit 1)."""


# ---- the incident file -------------------------------------------------------------------------------------


def load_incident(path: Path, *, choose: str | None = None, rule: str | None = None) -> dict[str, Any]:
    """One incident from ``detect --format json`` output (``{"incidents": [...]}``) or a single incident.

    ``choose`` is a 1-based number or an incident id; ``rule`` keeps the incidents of that rule. Anything
    unusable is one :class:`InputError` (a bad file) or :class:`UsageError` (a bad choice) line.
    """
    raw = read_bytes(path, INCIDENTS)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"{path}:{exc.lineno}: not JSON ({exc.msg}); expected the output of 'graphlattice detect "
            "--format json'"
        ) from None
    if isinstance(doc, dict) and isinstance(doc.get("incidents"), list):
        incidents = doc["incidents"]
    elif isinstance(doc, dict) and "rule" in doc:
        incidents = [doc]
    else:
        raise InputError(
            f'{path}: not an incident file: expected {{"incidents": [...]}} from \'graphlattice detect '
            "--format json', or one incident object"
        )
    numbered = [(n, item) for n, item in enumerate(incidents, 1) if isinstance(item, dict)]
    if len(numbered) != len(incidents):
        raise InputError(f"{path}: every incident must be a JSON object")
    if not numbered:
        raise InputError(f"{path}: holds no incident (detect found nothing to respond to)")
    if rule is not None:
        numbered = [(n, item) for n, item in numbered if item.get("rule") == rule]
        if not numbered:
            rules = sorted({printable(item.get("rule"), 60) for item in incidents})
            raise UsageError(f"{path}: no incident of rule {rule} (it holds: {', '.join(rules)})")
    if choose is not None:
        picked = [
            (n, item)
            for n, item in numbered
            if (choose.isdigit() and int(choose) == n) or item.get("id") == choose
        ]
        if not picked:
            raise UsageError(
                f"{path}: no incident {choose}"
                + (f" of rule {rule}" if rule else "")
                + f" ({_menu(numbered)})"
            )
        numbered = picked
    if len(numbered) > 1:
        raise UsageError(
            f"{path} holds {len(numbered)} incidents: choose one with --incident N ({_menu(numbered)})"
            + ("" if rule else " or --rule ID")
        )
    incident = numbered[0][1]
    _check_shape(path, incident)
    return incident


def _menu(numbered: Sequence[tuple[int, Mapping[str, Any]]]) -> str:
    shown = [
        f"{n}: {printable(item.get('rule'), 60)} ({printable(item.get('level'), 20)})"
        for n, item in numbered[:8]
    ]
    return ", ".join(shown) + (", ..." if len(numbered) > 8 else "")


def _check_shape(path: Path, incident: Mapping[str, Any]) -> None:
    if not isinstance(incident.get("rule"), str):
        raise InputError(f"{path}: the incident has no rule id")
    steps = incident.get("containment")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise InputError(
            f"{path}: incident {printable(incident['rule'])} has no containment plan (a list of steps)"
        )
    for number, step in enumerate(steps, 1):
        request = step.get("request")
        if step.get("kind") == "change" and not (
            isinstance(request, dict)
            and isinstance(request.get("method"), str)
            and isinstance(request.get("url"), str)
            and str(request["url"]).startswith("/")
        ):
            raise InputError(
                f"{path}: step {number} of {printable(incident['rule'])} is a change without a "
                "request (method and a /v1.0 or /beta URL)"
            )


# ---- who the token speaks for ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    kind: Literal["user", "app", "unknown"]
    name: str | None = None

    def describe(self) -> str:
        if self.kind == "user":
            return f"{self.name or 'a signed-in user'} (delegated)"
        if self.kind == "app":
            return f"the application {self.name} (application permissions)" if self.name else "an application"
        return "the given token (its kind cannot be read)"


def identity_of(token: str) -> Identity:
    """Who a bearer token speaks for, from its claims (read, not validated: the service does that)."""
    parts = token.split(".")
    if len(parts) != 3:
        return Identity("unknown")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = orjson.loads(payload)
    except (ValueError, orjson.JSONDecodeError):
        return Identity("unknown")
    if not isinstance(claims, dict):
        return Identity("unknown")
    kind = str(claims.get("idtyp") or "").casefold()
    if kind == "app" or (not kind and "roles" in claims and "scp" not in claims):
        return Identity("app", _text(claims.get("app_displayname")) or _text(claims.get("appid")))
    if kind == "user" or "scp" in claims:
        return Identity("user", _text(claims.get("upn")) or _text(claims.get("unique_name")))
    return Identity("unknown")


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


# ---- matching a registration to a method -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A method of the right type on the account, and what the incident says about it."""

    id: str
    name: str | None  # device name, phone number or address
    created: str | None
    verdict: Literal["match", "possible", "excluded"]
    why: str


def _label(item: Mapping[str, Any]) -> str | None:
    for key in ("displayName", "phoneNumber", "emailAddress"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _minutes(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def match_methods(
    items: Sequence[Mapping[str, Any]],
    match: Mapping[str, Any],
    *,
    tolerance: timedelta = TOLERANCE,
) -> list[Candidate]:
    """Judge each method of ``items`` against a plan's ``match`` (``@odata.type``, ``registeredAround``,
    ``displayName``): ``match`` (device name or time confirms it), ``possible`` (nothing contradicts it,
    nothing confirms it) or ``excluded`` (another device, or created at another time)."""
    kind = str(match.get("@odata.type") or "")
    authenticator = kind.casefold() == _AUTHENTICATOR.casefold()
    when = parse_time(match.get("registeredAround"))
    device = match.get("displayName") if isinstance(match.get("displayName"), str) else None
    out: list[Candidate] = []
    for item in items:
        item_kind = str(item.get("@odata.type") or "")
        if kind and item_kind and item_kind.casefold() != kind.casefold():
            continue
        name = _label(item)
        stamp = item.get("createdDateTime")
        created_text = stamp if isinstance(stamp, str) and stamp else None
        created = parse_time(created_text)
        confirms: list[str] = []
        against: list[str] = []
        notes: list[str] = []
        if device:
            if name is not None and name.casefold() == device.casefold():
                confirms.append("same device name")
            else:
                against.append(f"device {name or '(none)'}, not {device}")
        if when is not None and created is not None:
            delta = created - when
            if abs(delta) <= tolerance:
                confirms.append(_near(delta))
            elif authenticator and tolerance < delta <= PASSWORDLESS_LATER:
                confirms.append(
                    f"created {_minutes(delta)} after the registration (passwordless phone sign-in turned "
                    "on later)"
                )
            else:
                side = "before" if delta < timedelta(0) else "after"
                against.append(f"created {_minutes(delta)} {side} the registration")
        elif when is not None:
            notes.append(
                "no registration time recorded" + (" (push notifications only)" if authenticator else "")
            )
        ident = str(item.get("id") or "")
        if against:
            out.append(Candidate(ident, name, created_text, "excluded", "; ".join(against)))
        else:
            verdict: Literal["match", "possible"] = "match" if confirms else "possible"
            why = "; ".join([*confirms, *notes]) or "nothing to compare"
            out.append(Candidate(ident, name, created_text, verdict, why))
    return out


def _near(delta: timedelta) -> str:
    if abs(delta) < timedelta(seconds=1):
        return "created at the registration time"
    side = "after" if delta > timedelta(0) else "before"
    return f"created {_minutes(delta)} {side} the registration"


# ---- the resolved plan -------------------------------------------------------------------------------------

_TYPE_NAMES = {odata: METHOD_NAMES[kind] for kind, (_, odata) in METHOD_COLLECTIONS.items()}
"""``@odata.type`` -> the method's name in plain words."""


@dataclass(slots=True)
class Call:
    """One Graph request the plan makes, with everything needed to show it and to check it afterwards."""

    number: int
    step: int  # the plan step it carries out
    action: str
    method: str
    url: str  # /v1.0/... or /beta/...
    body: dict[str, Any] | None
    summary: str  # made from the call (operations.Operation.describe), never read from the file
    condition: str | None = None
    verify: str | None = None  # the GET that shows the change took effect
    target: str | None = None  # the id the call removes
    found: str | None = None  # how that id was found
    before: str | None = None  # signInSessionsValidFromDateTime before a revocation

    def shown_body(self) -> str | None:
        if self.body is None:
            return None
        shown = {key: "***" if key in _SECRET_KEYS else value for key, value in self.body.items()}
        return orjson.dumps(shown).decode()


@dataclass(frozen=True, slots=True)
class Skip:
    step: int
    summary: str
    why: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A step that cannot be turned into a call without a guess, or that must not be made as it stands."""

    step: int
    summary: str
    message: str
    candidates: tuple[Candidate, ...] = ()
    refused: bool = False  # not a question of which id: the step must not be made as it stands


@dataclass(slots=True)
class Plan:
    derived: DerivedPlan
    identity: Identity
    calls: list[Call] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    others: list[Mapping[str, Any]] = field(default_factory=list)  # reviews and notes: shown, not applied
    people: dict[str, Person] = field(default_factory=dict)  # role -> the user as the tenant knows them
    guards: str = ""  # which break-glass accounts are protected, in words

    @property
    def resets_password(self) -> bool:
        return any(call.url.endswith("/resetPassword") for call in self.calls)


class _Client(GraphClient):
    """The collector's client, allowed to write: same pacing, retries, 401 refresh and typed errors.

    Every write in a containment plan is idempotent in effect (a repeated delete answers 404, a repeated
    revocation or reset only does it again), so the client's retries after a 5xx or a dropped connection
    are safe; a delete answered 404 counts as done once the read afterwards shows the method gone."""

    async def send(self, method: str, url: str, body: Mapping[str, Any] | None) -> httpx.Response:
        data = orjson.dumps(dict(body)) if body is not None else None
        return await self._send(method, url, family_of(url), 1, body=data)

    async def items(self, url: str) -> list[dict[str, Any]]:
        """Every item of a collection, across its pages."""
        out: list[dict[str, Any]] = []
        async for page in self.follow(url, family_of(url), 1):
            value = page.get("value")
            if not isinstance(value, list):
                raise CollectError(f"{url.split('?', 1)[0]}: expected a collection (a value array)")
            out.extend(item for item in value if isinstance(item, dict))
        return out


def _describe_match(match: Mapping[str, Any]) -> str:
    kind = _TYPE_NAMES.get(str(match.get("@odata.type") or ""), "method")
    when = match.get("registeredAround")
    device = match.get("displayName")
    return f"the {kind} registered at {when}" + (f" on {device}" if device else "")


def _shown(candidate: Candidate) -> str:
    name = f'"{printable(candidate.name, 60)}"' if candidate.name else "(no name)"
    created = printable(candidate.created, 40) if candidate.created else "(not recorded)"
    return f"{printable(candidate.id, 80)} {name}, created {created}"


async def _resolve_method(
    client: _Client,
    spec: Mapping[str, Any],
    pins: Mapping[str, str],
    used: set[str],
    cache: dict[str, list[dict[str, Any]]],
) -> tuple[str | None, str, tuple[Candidate, ...], bool]:
    """(method id or None, why, candidates, refused): which method a ``methodId`` placeholder means."""
    listing = str(spec.get("list") or "").removeprefix("GET ").strip()
    given = spec.get("match")
    match: Mapping[str, Any] = given if isinstance(given, dict) else {}
    if not listing.startswith("/"):
        return None, "the plan does not say which list to read", (), True
    if listing not in cache:
        cache[listing] = await client.items(listing)
    candidates = tuple(match_methods(cache[listing], match))
    what = _describe_match(match)
    pinned = [c for c in candidates if c.id.casefold() in pins]
    if len(pinned) > 1:
        pinned = [c for c in pinned if c.verdict != "excluded"]
    if len(pinned) == 1:
        used.add(pinned[0].id.casefold())
        return pinned[0].id, f"{_shown(pinned[0])}: chosen with --method-id", candidates, False
    if pinned:
        return None, f"several --method-id values could be {what}; give one", candidates, True
    live = [c for c in candidates if c.verdict != "excluded"]
    if not live:
        return None, f"{what} is not on the account now (already removed?)", candidates, False
    if len(live) == 1 and live[0].verdict == "match":
        return live[0].id, f"{_shown(live[0])}: {live[0].why}", candidates, False
    if len(live) == 1:
        return (
            None,
            f"the only candidate for {what} cannot be confirmed ({live[0].why}); if it is the one, pass "
            f"--method-id {live[0].id}",
            candidates,
            True,
        )
    return (
        None,
        f"{len(live)} methods could be {what}; refusing to guess: pass --method-id ID for the right one",
        candidates,
        True,
    )


_Fill = tuple[dict[str, str], str | None, str | None]  # placeholder values, the id removed, how it was found


async def _fills(
    client: _Client,
    resolve_spec: Mapping[str, Any],
    pins: Mapping[str, str],
    used: set[str],
    cache: dict[str, list[dict[str, Any]]],
) -> list[_Fill] | Skip | Problem:
    """How a step's placeholders are filled (one call per fill), or why the step is skipped or refused.
    The returned Skip / Problem carry step 0 and no summary: the caller knows them."""
    if "methodId" in resolve_spec:
        found, why, candidates, refused = await _resolve_method(
            client, resolve_spec["methodId"], pins, used, cache
        )
        if refused:
            return Problem(0, "", why, candidates)
        if found is None:
            return Skip(0, "", why)
        if not safe_id(found):
            return Problem(
                0, "", f"the method id read back ({printable(found)}) is not a Graph id", refused=True
            )
        return [({"methodId": found}, found, why)]
    if "tapId" in resolve_spec:
        spec = resolve_spec["tapId"]
        listing = str(spec.get("list") or "").removeprefix("GET ").strip()
        passes = await client.items(listing)
        if not passes:
            return Skip(0, "", "no Temporary Access Pass on the account now")
        logged = spec.get("logged")
        fills: list[_Fill] = []
        for item in passes:
            ident = str(item.get("id") or "")
            if not safe_id(ident):
                return Problem(
                    0, "", f"the pass id read back ({printable(ident)}) is not a Graph id", refused=True
                )
            how = (
                f"the live pass {ident}, created {printable(item.get('createdDateTime') or '(not recorded)')}"
            )
            if logged and ident.casefold() != str(logged).casefold():
                how += f" (not {logged} from the logs: a newer pass; a user holds at most one)"
            fills.append(({"tapId": ident}, ident, how))
        return fills
    return [({}, None, None)]


_PERSON_READ = "?$select=id,displayName,userPrincipalName,signInSessionsValidFromDateTime"


@dataclass(frozen=True, slots=True)
class Guard:
    """The break-glass accounts ``respond`` will not act on, and the ones the operator allowed."""

    declared: tuple[str, ...] = ()  # UPNs or object ids, from the settings
    source: str | None = None  # the settings file that declares them
    allowed: tuple[str, ...] = ()  # --allow-break-glass

    def describe(self) -> str:
        declared = (
            f"{len(self.declared)} declared in {self.source or 'the settings'}"
            if self.declared
            else "none declared (--config)"
        )
        allowed = f"; allowed with --allow-break-glass: {', '.join(self.allowed)}" if self.allowed else ""
        return f"Break-glass accounts are not acted on: {declared}, and any named like one{allowed}"


async def _people(
    client: _Client, plan: Plan, guard: Guard
) -> tuple[dict[str, Person], dict[str, str], dict[str, str | None]]:
    """Every user a change of the plan acts on, read from the tenant: (role -> person, role -> why no call
    may act on them, user id -> signInSessionsValidFromDateTime)."""
    changed = {str(step.get("principal")) for step in plan.derived.steps if step.get("kind") == "change"}
    people: dict[str, Person] = {}
    refused: dict[str, str] = {}
    sessions: dict[str, str | None] = {}
    for role, principal in plan.derived.context.principals.items():
        ident = principal.get("id")
        if role not in changed or principal.get("type", "user") != "user" or not ident:
            continue
        try:
            doc = await client.get(f"/v1.0/users/{ident}{_PERSON_READ}")
        except GraphError as exc:
            if exc.status != 404:
                raise
            refused[role] = f"the incident's {role} {ident} is not a user of this tenant"
            continue
        doc = doc if isinstance(doc, dict) else {}
        person = Person(
            str(ident), str(doc.get("displayName") or ""), str(doc.get("userPrincipalName") or ""), role
        )
        people[role] = person
        stamp = doc.get("signInSessionsValidFromDateTime")
        sessions[person.id.casefold()] = str(stamp) if stamp else None
        named = str(principal.get("userPrincipalName") or "")
        if named and person.upn and named.casefold() != person.upn.casefold():
            refused[role] = (
                f"the incident names its {role} {printable(named)}, but user {ident} is "
                f"{printable(person.upn)} in this tenant"
            )
            continue
        why = break_glass_reason(person, guard.declared, guard.source, guard.allowed)
        if why:
            refused[role] = why
    return people, refused, sessions


async def resolve(
    client: _Client,
    derived: DerivedPlan,
    *,
    identity: Identity,
    method_ids: Sequence[str] = (),
    new_password: str | None = None,
    guard: Guard | None = None,
) -> Plan:
    """Turn the derived plan into calls: read the users it acts on, fill method and pass ids from reads of
    their methods, and keep only the containment operations of :mod:`.operations`. Reads only."""
    guard = guard or Guard()
    plan = Plan(derived, identity, guards=guard.describe())
    plan.people, refused, sessions = await _people(client, plan, guard)
    pins = {value.casefold(): value for value in method_ids}
    used: set[str] = set()
    cache: dict[str, list[dict[str, Any]]] = {}
    seen: dict[tuple[str, str], int] = {}
    for order, step in enumerate(derived.steps, 1):
        summary = printable(step.get("summary") or step.get("action") or "", 200)
        if step.get("kind") != "change":
            plan.others.append(step)
            continue
        role = str(step.get("principal"))
        if role in refused:
            plan.problems.append(Problem(order, summary, refused[role], refused=True))
            continue
        request = step["request"]
        method = str(request["method"]).upper()
        url = str(request["url"])
        body = dict(request["body"]) if isinstance(request.get("body"), dict) else None
        if step.get("action") == "reset-password" and new_password is not None:
            body = {**(body or {}), "newPassword": new_password}
        resolve_spec = dict(step.get("resolve") or {})
        if step.get("action") == _TAP_ACTION and "tapId" not in resolve_spec:
            parent, _, logged = url.rpartition("/")
            resolve_spec = {"tapId": {"list": f"GET {parent}", "match": {"any": True}, "logged": logged}}
            url = parent + "/{tapId}"
        fills = await _fills(client, resolve_spec, pins, used, cache)
        if isinstance(fills, Problem):
            plan.problems.append(Problem(order, summary, fills.message, fills.candidates, fills.refused))
            continue
        if isinstance(fills, Skip):
            plan.skipped.append(Skip(order, summary, fills.why))
            continue
        for values, target, how in fills:
            filled = url
            for name, value in values.items():
                filled = filled.replace("{" + name + "}", value)
            unfilled = sorted(set(_PLACEHOLDER.findall(filled + orjson.dumps(body or {}).decode())))
            if unfilled or "//" in filled:
                missing = ", ".join(unfilled) or "the principal's id"
                plan.problems.append(Problem(order, summary, f"the incident does not give {missing}"))
                continue
            operation = recognise(method, filled, body)
            person = plan.people.get(role)
            if operation is None or person is None or operation.user.casefold() != person.id.casefold():
                plan.problems.append(
                    Problem(
                        order, summary, "not a containment operation on a user of the incident", refused=True
                    )
                )
                continue
            key = (method, filled.casefold())
            if key in seen:
                plan.skipped.append(Skip(order, summary, f"the same call as {seen[key]}"))
                continue
            condition = step.get("condition")
            call = Call(
                number=len(plan.calls) + 1,
                step=order,
                action=str(step.get("action") or ""),
                method=method,
                url=filled,
                body=body,
                summary=operation.describe(filled, body, person),
                condition=condition if isinstance(condition, str) else None,
                verify=_verify_url(step, values),
                target=target,
                found=how,
                before=sessions.get(person.id.casefold())
                if step.get("action") == "revoke-sessions"
                else None,
            )
            seen[key] = call.number
            plan.calls.append(call)
    for folded, value in pins.items():
        if folded not in used:
            read = ", ".join(url.rsplit("/", 1)[-1] for url in cache) or "none"
            message = f"not a method this plan could delete (the method lists it read: {read})"
            plan.problems.append(Problem(0, f"--method-id {printable(value)}", message))
    return plan


def _verify_url(step: Mapping[str, Any], values: Mapping[str, str]) -> str | None:
    verify = step.get("verify")
    url = verify.get("url") if isinstance(verify, dict) else None
    if not isinstance(url, str):
        return None
    for key, value in values.items():
        url = url.replace("{" + key + "}", value)
    return None if _PLACEHOLDER.search(url) else url


# ---- showing it --------------------------------------------------------------------------------------------


def render_plan(plan: Plan, base_url: str) -> list[str]:
    """The plan as lines of text: who it acts on, the numbered calls, what is not applied, and what cannot
    be resolved. Every line is made from the derived plan and the tenant's reads, never from the file's
    words."""
    base = normalise_base_url(base_url)
    derived = plan.derived
    lines = [f"Incident {derived.label}, rule {derived.rule}: the plan derived from its facts"]
    for role, person in plan.people.items():
        lines.append(f"  {role}: {person.who()} [{person.id}]")
    lines.append(plan.guards)
    lines.append(f"Endpoint {base}, acting as {plan.identity.describe()}")
    lines.append("")
    if plan.calls:
        lines.append(f"Graph calls, in order ({len(plan.calls)}):")
    else:
        lines.append("No Graph call to make.")
    for call in plan.calls:
        body = call.shown_body()
        lines.append(f"  {call.number}. {call.method} {base}{call.url}" + (f"  {body}" if body else ""))
        lines.append(f"     {call.summary}")
        if call.found:
            lines.append(f"     found: {printable(call.found, 200)}")
        if call.condition:
            lines.append(f"     condition: {call.condition}")
        if call.url.endswith("/resetPassword"):
            lines.append(
                "     resetPassword needs a signed-in administrator (Graph has no application permission for "
                "it); it answers 202 and is polled; the new password is "
                + (
                    "the one you gave (not shown)"
                    if call.body and call.body.get("newPassword")
                    else "generated by Entra and not shown (the user sets their own after verification)"
                )
            )
    if plan.skipped or plan.others:
        lines.append("Not applied:")
    for skip in plan.skipped:
        lines.append(f"  - step {skip.step}, {skip.summary}: nothing to do, {skip.why}")
    for step in plan.others:
        request = step.get("request") if isinstance(step.get("request"), dict) else None
        where = f" ({request.get('method')} {printable(request.get('url'), 200)})" if request else ""
        lines.append(f"  - {step.get('kind', 'note')}: {printable(step.get('summary'), 200)}{where}")
    for refused, heading in ((True, "Refused:"), (False, "Cannot be resolved without a guess:")):
        problems = [problem for problem in plan.problems if problem.refused is refused]
        if problems:
            lines.append(heading)
        for problem in problems:
            where = f"step {problem.step}, " if problem.step else ""
            lines.append(f"  ! {where}{problem.summary}: {problem.message}")
            for candidate in problem.candidates:
                lines.append(
                    f"      {candidate.verdict:>8}  {_shown(candidate)}: {printable(candidate.why, 200)}"
                )
    return lines


# ---- carrying it out ---------------------------------------------------------------------------------------

Outcome = Literal["done", "gone", "pending", "failed"]


@dataclass(frozen=True, slots=True)
class CallResult:
    call: Call
    outcome: Outcome
    status: int | None
    detail: str


async def _poll(client: _Client, location: str, first_wait: float | None, deadline: float) -> tuple[str, str]:
    """(status, detail) of a long-running operation: succeeded, failed, or still running at the deadline."""
    loop = asyncio.get_running_loop()
    wait = first_wait if first_wait is not None else 0.0
    delay = 1.0
    status, detail = "notStarted", ""
    while True:
        if wait > 0:
            await asyncio.sleep(min(wait, max(0.0, deadline - loop.time())))
        doc = await client.get(location)
        if isinstance(doc, dict):
            status = str(doc.get("status") or "unknown")
            detail = str(doc.get("statusDetail") or "")
        if status in ("succeeded", "failed") or loop.time() >= deadline:
            return status, detail
        wait, delay = delay, min(delay * 2, 10.0)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


async def execute(
    client: _Client,
    plan: Plan,
    report: Callable[[CallResult], None],
    *,
    poll_seconds: float = POLL_SECONDS,
) -> list[CallResult]:
    """Make the calls in order; the first failure stops the run (its result is the last one)."""
    results: list[CallResult] = []
    for call in plan.calls:
        result = await _execute_one(client, call, poll_seconds)
        results.append(result)
        report(result)
        if result.outcome == "failed":
            break
    return results


async def _execute_one(client: _Client, call: Call, poll_seconds: float) -> CallResult:
    try:
        response = await client.send(call.method, call.url, call.body)
    except GraphError as exc:
        if exc.status == 404 and call.method == "DELETE":
            return CallResult(call, "gone", 404, "not found: already gone (the read afterwards confirms)")
        return CallResult(call, "failed", exc.status, str(exc))
    except CollectError as exc:
        return CallResult(call, "failed", None, str(exc))
    status = response.status_code
    location = response.headers.get("location")
    if status == 202 and location:
        loop = asyncio.get_running_loop()
        try:
            state, detail = await _poll(client, location, _retry_after(response), loop.time() + poll_seconds)
        except CollectError as exc:  # GraphError included
            return CallResult(call, "pending", status, f"202 Accepted; cannot read its progress: {exc}")
        if state == "succeeded":
            return CallResult(call, "done", status, "202 Accepted; the operation succeeded")
        if state == "failed":
            return CallResult(call, "failed", status, f"202 Accepted, then the operation failed: {detail}")
        return CallResult(
            call,
            "pending",
            status,
            f"202 Accepted; still {state} after {poll_seconds:.0f} s (GET {location})",
        )
    return CallResult(call, "done", status, f"{status} {response.reason_phrase}".strip())


# ---- checking it -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    call: Call
    ok: bool | None  # None: nothing to compare, or it cannot be read
    detail: str


async def verify(client: _Client, results: Sequence[CallResult]) -> list[Check]:
    """Read back what each call changed (the plan's verify reads)."""
    checks: list[Check] = []
    for result in results:
        if result.outcome == "failed":
            continue
        call = result.call
        if call.url.endswith("/resetPassword"):
            checks.append(Check(call, result.outcome == "done" or None, result.detail))
            continue
        if not call.verify:
            checks.append(Check(call, None, "the plan gives no read to confirm it"))
            continue
        try:
            checks.append(await _check(client, call))
        except CollectError as exc:
            checks.append(Check(call, None, f"cannot read it back: {exc}"))
    return checks


async def _check(client: _Client, call: Call) -> Check:
    assert call.verify is not None
    if call.method == "DELETE" and call.target:
        ids = {str(item.get("id") or "").casefold() for item in await client.items(call.verify)}
        if call.target.casefold() in ids:
            return Check(call, False, f"{call.target} is still listed")
        return Check(call, True, f"{call.target} is no longer listed")
    doc = await client.get(call.verify)
    if not isinstance(doc, dict):
        return Check(call, None, "the read did not return an object")
    if call.action == "revoke-sessions":
        value = doc.get("signInSessionsValidFromDateTime")
        now, before = parse_time(value), parse_time(call.before)
        if now is None:
            return Check(call, False, "signInSessionsValidFromDateTime is not set")
        if before is not None and now < before:
            return Check(call, False, f"signInSessionsValidFromDateTime went back ({call.before} to {value})")
        return Check(call, True, f"sessions valid only from {value} (before: {call.before or 'never set'})")
    if call.method == "PATCH" and call.body:
        differ = [key for key, value in call.body.items() if doc.get(key) != value]
        if differ:
            return Check(call, False, f"{', '.join(differ)} not as set")
        return Check(call, True, "reads back as set")
    if isinstance(doc.get("value"), list):
        left = len(doc["value"])
        return Check(call, left == 0, "none left" if not left else f"{left} still listed")
    return Check(call, None, "read back")


# ---- the whole response ------------------------------------------------------------------------------------


def _fail_summary(results: Sequence[CallResult], plan: Plan) -> str:
    failed = results[-1]
    done = [r.call.number for r in results if r.outcome != "failed"]
    left = [c.number for c in plan.calls if c.number > failed.call.number]
    parts = [f"call {failed.call.number} failed ({failed.detail})"]
    parts.append(f"made: {', '.join(map(str, done))}" if done else "nothing was changed")
    if left:
        parts.append(f"not made: {', '.join(map(str, left))}")
    return "; ".join(parts)


def respond(
    incident: Mapping[str, Any],
    *,
    base_url: str,
    tokens: TokenProvider,
    apply: bool,
    echo: Callable[[str], None],
    confirm: Callable[[], bool],
    method_ids: Sequence[str] = (),
    new_password: str | None = None,
    guard: Guard | None = None,
    source: str = "the incident file",
    transport: httpx.AsyncBaseTransport | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Derive, resolve, show, and (with ``apply``, once ``confirm()`` says yes) execute and verify the plan.

    Raises :class:`~graphlattice.detect.derive.TamperedIncident` (before anything is read) when the
    incident's plan is not the one its facts give, :class:`UsageError` when a step cannot be resolved
    without a guess, must not be made (a break-glass account, a user the tenant names otherwise) or the
    identity cannot make a call, :class:`CollectError` when a call fails (after reporting what was made and
    what was not), and :class:`ContainmentIncomplete` when the reads afterwards do not confirm every
    change. ``source`` names the incident file in messages."""
    derived = derive_plan(incident, source=source)
    identity = identity_of(tokens.token())

    async def resolved() -> Plan:
        client = _Client(base_url, tokens, transport=transport)
        async with client:
            try:
                return await resolve(
                    client,
                    derived,
                    identity=identity,
                    method_ids=method_ids,
                    new_password=new_password,
                    guard=guard,
                )
            except GraphError as exc:
                raise CollectError(
                    f"cannot read what the plan needs ({exc.url.split('?', 1)[0]}): {exc}; "
                    "nothing was changed"
                ) from None

    plan = asyncio.run(resolved())
    for line in render_plan(plan, base_url):
        echo(line)
    if plan.problems:
        first = plan.problems[0]
        where = f"step {first.step}" if first.step else first.summary
        raise UsageError(
            f"{len(plan.problems)} problem(s) to settle before anything can be applied ({where}: see "
            "above); nothing was changed"
        )
    if not apply:
        echo("")
        echo("Dry run: nothing was changed. Add --apply to make these calls.")
        return
    if plan.resets_password and identity.kind == "app":
        reset = next(c for c in plan.calls if c.url.endswith("/resetPassword"))
        raise UsageError(
            f"call {reset.number} resets a password, which Microsoft Graph allows only for a signed-in "
            "administrator, not an application: sign in as one (--device-code, --azure-cli, or a user's "
            "token); nothing was changed"
        )
    if not plan.calls:
        echo("")
        echo("Nothing to apply.")
        return
    if not confirm():
        raise ContainmentIncomplete("not confirmed: nothing was changed")

    def shown(result: CallResult) -> None:
        call = result.call
        echo(f"  {call.number}. {call.method} {call.url}: {result.outcome}, {result.detail}")

    async def applied() -> tuple[list[CallResult], list[Check]]:
        client = _Client(base_url, tokens, transport=transport)
        async with client:
            echo("")
            echo("Applying:")
            results = await execute(client, plan, shown, poll_seconds=poll_seconds)
            return results, await verify(client, results)

    results, checks = asyncio.run(applied())
    if checks:
        echo("")
        echo("Verified by reading back:")
    for check in checks:
        mark = {True: "ok", False: "NOT CONFIRMED", None: "unknown"}[check.ok]
        echo(f"  {check.call.number}. {mark}: {check.detail}")
    if results and results[-1].outcome == "failed":
        raise CollectError("stopped: " + _fail_summary(results, plan))
    unconfirmed = [c.call.number for c in checks if c.ok is not True]
    if unconfirmed:
        raise ContainmentIncomplete(
            f"all {len(results)} calls were made, but the reads do not confirm call(s) "
            f"{', '.join(map(str, unconfirmed))} (see above)"
        )
    echo("")
    echo(f"Done: {len(results)} call(s) made and confirmed.")
