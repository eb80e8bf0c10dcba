"""Range scenarios: one YAML file each, validated with file:line errors, expanded into a seed tenant.

A scenario file has these top-level keys (``?`` marks optional ones)::

    id, title, attack, summary, narrative, briefing?
    cast:      {defender, victim, attacker, operator?}   person keys (attacker: `attacker` = no account)
    tenant:    {id, name, domain, start, seed, settings?, locations?, groups?, people, applications?,
                groupSettings?, policies}
    attacker?: {knowsPasswordOf: [person keys]}         passwords the attacker holds at the start
    timeline:  [{id?, at, as, action, params?, expect?, note?}]   played by `range start`
    handover?: when the player takes over (the clock is moved there after the timeline)
    hints:     [{cost, text}]
    objectives: {containment: [foothold ids], rootCause: [root-cause ids]}
    footholds: [{id, description, points, replay: [{action, as, params, alsoInOn?}]}]
    rootCause: [{id, description, points, check?, subject?, replay?}]
    scoring?:  {collateralPenalty}

Persons are written compactly (name, upn local part, department, roles, methods; see :mod:`.seed`) and
expanded into the Graph JSON collections the engine is seeded with. In timeline and replay parameters a
person's key in ``user``/``actor``/``principal``/``approver`` becomes their UPN, a group key in
``include_groups``/``group`` becomes the group's id, and ``${step-id.field}`` takes a field of an earlier
step's result. Action names and parameters are checked against the engine's action registry. A replay
succeeds when the engine carries it out; ``alsoInOn`` lists sign-in error codes that count as getting in
too (``[50076]``: the password is accepted and only MFA is asked, so a stolen password is still live).

Points: footholds and root causes together are worth 100; a hint costs its ``cost`` when taken; each piece
of collateral damage costs ``collateralPenalty``. The verdict's score never goes below zero.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphlattice.errors import ScenarioError, UsageError
from graphlattice.range.yamlines import Items, Node, read_yaml
from graphlattice.tenant.model import parse_time

if TYPE_CHECKING:
    from graphlattice.range.seed import SeedIds

__all__ = [
    "ATTACKER",
    "SCENARIO_DIR",
    "Cast",
    "Foothold",
    "Hint",
    "Invocation",
    "Person",
    "RootCause",
    "Scenario",
    "Step",
    "list_scenarios",
    "load_scenario",
]

SCENARIO_DIR = Path(__file__).parent / "scenarios"
ATTACKER = "attacker"
"""The actor label of an attacker who has no account of their own in the tenant."""

TOTAL_POINTS = 100
PERSON_PARAMS = frozenset({"user", "actor", "principal", "approver"})
GROUP_PARAMS = frozenset({"include_groups", "group"})
_REF = re.compile(r"\$\{([a-z0-9][a-z0-9-]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_KEY = re.compile(r"^[a-z][a-z0-9-]*$")
_ATTACK = re.compile(r"^T\d{4}(\.\d{3})?$")

METHOD_KINDS = (
    "authenticator",
    "authenticator-passwordless",
    "passkey",
    "security-key",
    "windows-hello",
    "phone",
    "office-phone",
    "software-oath",
    "email",
)
CA_STATES = {"enabled": "enabled", "report-only": "enabledForReportingButNotEnforced", "disabled": "disabled"}


# ---- the model ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleSpec:
    role_id: str  # lower-case template id
    assignment: str  # "active" or "eligible"
    line: int


@dataclass(frozen=True, slots=True)
class MethodSpec:
    kind: str
    device: str | None
    number: str | None
    address: str | None
    created: datetime | None
    line: int


@dataclass(frozen=True, slots=True)
class Person:
    key: str
    name: str
    upn: str
    department: str | None
    job_title: str | None
    country: str | None
    office: str | None
    created: datetime
    enabled: bool
    password: str | None
    roles: tuple[RoleSpec, ...]
    methods: tuple[MethodSpec, ...]
    line: int


@dataclass(frozen=True, slots=True)
class GroupSpec:
    key: str
    name: str
    description: str | None
    members: tuple[str, ...]
    owners: tuple[str, ...]
    role_assignable: bool
    line: int


@dataclass(frozen=True, slots=True)
class LocationSpec:
    key: str
    name: str
    trusted: bool
    cidr: tuple[str, ...]
    countries: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class CaPolicySpec:
    name: str
    state: str  # Graph spelling
    created: datetime | None
    description: str | None
    include_users: tuple[str, ...]  # "All", "None", "GuestsOrExternalUsers" or person keys
    exclude_users: tuple[str, ...]
    include_groups: tuple[str, ...]
    exclude_groups: tuple[str, ...]
    include_roles: tuple[str, ...]  # role template ids
    exclude_roles: tuple[str, ...]
    apps: tuple[str, ...]
    user_actions: tuple[str, ...]
    client_app_types: tuple[str, ...]
    include_locations: tuple[str, ...]
    exclude_locations: tuple[str, ...]
    grant: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class TapPolicySpec:
    state: str
    usable_once: bool
    default_lifetime: int
    minimum_lifetime: int
    maximum_lifetime: int
    length: int
    include: tuple[str, ...]  # "all_users" or group keys


@dataclass(frozen=True, slots=True)
class RoleSettingsSpec:
    approvers: str | None  # group key
    require_approval: tuple[str, ...]  # role template ids


@dataclass(frozen=True, slots=True)
class CredentialSpec:
    """A client secret or certificate of an application registration."""

    name: str
    expires: datetime
    line: int


@dataclass(frozen=True, slots=True)
class ApplicationSpec:
    """An application registration of the tenant, with its service principal.

    ``permissions``: Microsoft Graph application permissions granted to it (names, e.g. ``User.Read.All``).
    """

    key: str
    name: str
    created: datetime
    owners: tuple[str, ...]
    secrets: tuple[CredentialSpec, ...]
    certificates: tuple[CredentialSpec, ...]
    permissions: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class TenantSpec:
    id: str
    name: str
    domain: str
    start: datetime
    seed: int
    settings: Mapping[str, Any]
    locations: tuple[LocationSpec, ...]
    groups: tuple[GroupSpec, ...]
    people: tuple[Person, ...]
    tap: TapPolicySpec
    conditional_access: tuple[CaPolicySpec, ...]
    role_settings: RoleSettingsSpec
    applications: tuple[ApplicationSpec, ...] = ()
    group_settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # template name -> values
    security_defaults: bool = False


@dataclass(frozen=True, slots=True)
class Cast:
    """Person keys of the parts; ``attacker`` is :data:`ATTACKER` when the attacker has no account."""

    defender: str
    victim: str
    attacker: str
    operator: str | None


@dataclass(frozen=True, slots=True)
class Invocation:
    """One action with its (unresolved) parameters, as written in the file."""

    action: str
    actor: str  # person key or ATTACKER
    params: Mapping[str, str]
    line: int  # where the step or replay starts
    action_line: int = 0
    param_lines: Mapping[str, int] = field(default_factory=dict)
    also_in_on: tuple[int, ...] = ()  # sign-in error codes that still mean the attacker gets in (replays)

    def line_of(self, param: str | None) -> int:
        """The line of a parameter (or of the action name when ``param`` is None)."""
        if param is None:
            return self.action_line or self.line
        return self.param_lines.get(param, self.line)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the attacker's timeline."""

    id: str
    at: datetime
    invocation: Invocation
    expect: str  # "ok" or "denied"
    note: str


@dataclass(frozen=True, slots=True)
class Hint:
    cost: int
    text: str


@dataclass(frozen=True, slots=True)
class Foothold:
    id: str
    description: str
    points: int
    replay: tuple[Invocation, ...]


@dataclass(frozen=True, slots=True)
class RootCause:
    """A root-cause objective: a foundation check (optionally about one person) or an action that must
    now be refused."""

    id: str
    description: str
    points: int
    check: str | None
    subject: str | None  # person key
    replay: tuple[Invocation, ...]


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    attack: tuple[str, ...]
    summary: str
    narrative: str
    briefing: str
    path: Path
    cast: Cast
    tenant: TenantSpec
    attacker_knows: tuple[str, ...]
    timeline: tuple[Step, ...]
    handover: datetime | None
    hints: tuple[Hint, ...]
    containment: tuple[str, ...]
    root_cause_ids: tuple[str, ...]
    footholds: tuple[Foothold, ...]
    root_causes: tuple[RootCause, ...]
    collateral_penalty: int
    _people: dict[str, Person] = field(default_factory=dict, repr=False)
    _groups: dict[str, GroupSpec] = field(default_factory=dict, repr=False)

    # ---- lookups --------------------------------------------------------------------------------

    def person(self, key: str) -> Person:
        return self._people[key]

    def has_person(self, key: str) -> bool:
        return key in self._people

    def group(self, key: str) -> GroupSpec:
        return self._groups[key]

    def upn(self, key: str) -> str:
        return self._people[key].upn

    @property
    def defender_upn(self) -> str:
        return self.upn(self.cast.defender)

    @property
    def victim_upn(self) -> str:
        return self.upn(self.cast.victim)

    @property
    def operator_upn(self) -> str | None:
        return self.upn(self.cast.operator) if self.cast.operator else None

    def user_id(self, key: str) -> str:
        return self.ids.user(key)

    def group_id(self, key: str) -> str:
        return self.ids.group(key)

    @property
    def hint_total(self) -> int:
        return sum(h.cost for h in self.hints)

    @cached_property
    def ids(self) -> SeedIds:
        from graphlattice.range.seed import SeedIds

        return SeedIds(self.id, self.tenant.id)

    # ---- seeding (see graphlattice.range.seed) --------------------------------------------------

    def seed_collections(self) -> dict[str, Any]:
        """The tenant as Graph JSON collections, ready for ``RangeState.from_collections``."""
        from graphlattice.range.seed import expand

        return expand(self)

    def seed_secrets(self) -> Any:
        """A :class:`graphlattice.range.state.SeedSecrets`: who the owners are and what the attacker knows."""
        from graphlattice.range.seed import seed_secrets

        return seed_secrets(self)

    def victim_method_ids(self) -> dict[str, str]:
        """The victim's own seeded methods: method id -> a short description (for collateral damage)."""
        from graphlattice.range.seed import own_methods

        return own_methods(self, self.cast.victim)

    def assess_config(self) -> Any:
        """The assessment settings of this tenant (declared break-glass accounts, bounds)."""
        from graphlattice.checks.config import AssessConfig

        settings = self.tenant.settings
        kwargs: dict[str, Any] = {}
        if "breakGlassAccounts" in settings:
            kwargs["break_glass"] = tuple(str(v).lower() for v in settings["breakGlassAccounts"])
        for key, attr in _SETTINGS_INT.items():
            if key in settings:
                kwargs[attr] = int(settings[key])
        return AssessConfig(source=f"scenario {self.id}", **kwargs)

    # ---- parameters -----------------------------------------------------------------------------

    def actor_upn(self, actor: str) -> str | None:
        """The UPN an invocation acts as, or None for an attacker without an account."""
        return None if actor == ATTACKER else self.upn(actor)

    def resolve(self, invocation: Invocation, results: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """Parameters ready for ``Range.act``: person and group keys replaced, ``${step.field}`` filled in.

        ``results`` maps step ids to the ``data`` of their results; a missing value raises ScenarioError.
        """
        out: dict[str, str] = {}
        for name, value in invocation.params.items():
            if name in PERSON_PARAMS and value in self._people:
                value = self.upn(value)
            elif name in GROUP_PARAMS:
                value = ",".join(
                    self.group_id(part) if part in self._groups else part for part in _split(value)
                )

            def fill(match: re.Match[str], name: str = name) -> str:
                step, key = match.group(1), match.group(2)
                found = results.get(step, {}).get(key)
                if found is None:
                    raise ScenarioError(
                        str(self.path),
                        f"parameter {name!r} needs '{key}' from step {step!r}, which did not provide it",
                        invocation.line_of(name),
                    )
                return str(found)

            out[name] = _REF.sub(fill, value)
        return out


_SETTINGS_INT = {
    "tapMaxLifetimeMinutes": "tap_max_lifetime_minutes",
    "tapDefaultLifetimeMinutes": "tap_default_lifetime_minutes",
    "tapIssuanceMaxGroupSize": "tap_issuance_max_group_size",
    "reportOnlyMaxDays": "report_only_max_days",
}


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# ---- reading ------------------------------------------------------------------------------------------


class _Reader:
    """Typed access to the YAML tree; every complaint names the file and the line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, message: str, line: int | None) -> ScenarioError:
        return ScenarioError(str(self.path), message, line)

    def mapping(
        self,
        value: Any,
        what: str,
        line: int,
        *,
        required: Sequence[str] = (),
        optional: Sequence[str] = (),
    ) -> Node:
        if not isinstance(value, Node):
            raise self.fail(f"{what} must be a mapping of keys to values", line)
        allowed = [*required, *optional]
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"
                raise self.fail(f"unknown key {key!r} in {what}{hint}", value.line_of(key))
        for key in required:
            if key not in value:
                raise self.fail(f"{what} needs '{key}'", value.line)
        return value

    def items(self, node: Node, key: str, what: str, *, optional: bool = False) -> Items:
        value = node.get(key)
        if value is None and optional:
            empty = Items()
            empty.line = node.line_of(key)
            empty.item_lines = []
            return empty
        if not isinstance(value, Items):
            raise self.fail(f"{what} must be a list", node.line_of(key))
        return value

    def text(self, node: Node, key: str, what: str, *, optional: bool = False) -> str:
        value = node.get(key)
        if value is None:
            if optional:
                return ""
            raise self.fail(f"{what} needs '{key}'", node.line)
        if isinstance(value, (Node, Items, bool)):
            raise self.fail(f"'{key}' of {what} must be text", node.line_of(key))
        text = str(value).strip()
        if not text and not optional:
            raise self.fail(f"'{key}' of {what} is empty", node.line_of(key))
        return text

    def maybe_text(self, node: Node, key: str, what: str) -> str | None:
        return self.text(node, key, what, optional=True) or None

    def integer(self, node: Node, key: str, what: str, *, low: int = 0, default: int | None = None) -> int:
        value = node.get(key)
        if value is None and default is not None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"'{key}' of {what} must be a whole number", node.line_of(key))
        if value < low:
            raise self.fail(f"'{key}' of {what} must be at least {low}", node.line_of(key))
        return value

    def boolean(self, node: Node, key: str, what: str, default: bool) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' of {what} must be true or false", node.line_of(key))
        return value

    def time(self, node: Node, key: str, what: str, *, optional: bool = False) -> datetime | None:
        value = node.get(key)
        if value is None:
            if optional:
                return None
            raise self.fail(f"{what} needs '{key}'", node.line)
        parsed = parse_time(str(value)) if isinstance(value, str) else None
        if parsed is None:
            raise self.fail(
                f"'{key}' of {what} must be a UTC timestamp like 2026-11-16T08:30:00Z", node.line_of(key)
            )
        return parsed.astimezone(UTC).replace(microsecond=0)

    def words(self, node: Node, key: str, what: str, *, optional: bool = True) -> tuple[str, ...]:
        value = node.get(key)
        if value is None:
            if optional:
                return ()
            raise self.fail(f"{what} needs '{key}'", node.line)
        if isinstance(value, str):
            return tuple(_split(value))
        if not isinstance(value, Items) or not all(
            isinstance(v, (str, int)) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(f"'{key}' of {what} must be a list of names", node.line_of(key))
        return tuple(str(v).strip() for v in value)


def _param_text(reader: _Reader, value: Any, what: str, line: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value).strip()
    if isinstance(value, Items) and all(isinstance(v, (str, int)) for v in value):
        return ",".join(str(v) for v in value)
    raise reader.fail(f"{what} must be text, a number, true/false or a list of names", line)


def _role_id(reader: _Reader, name: str, line: int) -> str:
    from graphlattice.entra.roles import ROLE_CATALOG, get_role

    found = get_role(name)
    if found is not None:
        return found.template_id
    by_name = {r.display_name.casefold(): r.template_id for r in ROLE_CATALOG.values()}
    if name.casefold() in by_name:
        return by_name[name.casefold()]
    close = difflib.get_close_matches(name, [r.display_name for r in ROLE_CATALOG.values()], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise reader.fail(f"unknown role {name!r}{hint}", line)


def _key(reader: _Reader, node: Node, what: str, seen: set[str]) -> str:
    key = reader.text(node, "key", what)
    if not _KEY.match(key):
        raise reader.fail(f"key {key!r} must be lower-case letters, digits and '-'", node.line_of("key"))
    if key in seen:
        raise reader.fail(f"key {key!r} is used twice", node.line_of("key"))
    if key == ATTACKER:
        raise reader.fail(f"{key!r} is reserved for an attacker without an account", node.line_of("key"))
    seen.add(key)
    return key


def _people(reader: _Reader, tenant: Node, domain: str, keys: set[str]) -> tuple[Person, ...]:
    people: list[Person] = []
    upns: set[str] = set()
    raw = reader.items(tenant, "people", "tenant.people")
    for index, item in enumerate(raw):
        line = raw.line_at(index)
        node = reader.mapping(
            item,
            "a person",
            line,
            required=("key", "name", "upn", "created"),
            optional=(
                "department",
                "jobTitle",
                "country",
                "office",
                "enabled",
                "password",
                "roles",
                "methods",
            ),
        )
        key = _key(reader, node, "a person", keys)
        upn = reader.text(node, "upn", "a person")
        if "@" not in upn:
            upn = f"{upn}@{domain}"
        if upn.casefold() in upns:
            raise reader.fail(f"UPN {upn} is used twice", node.line_of("upn"))
        upns.add(upn.casefold())
        country = reader.maybe_text(node, "country", "a person")
        if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
            raise reader.fail(
                f"country {country!r} must be a two-letter code like NL", node.line_of("country")
            )
        roles: list[RoleSpec] = []
        role_items = reader.items(node, "roles", f"roles of {key}", optional=True)
        for r_index, r_item in enumerate(role_items):
            r_line = role_items.line_at(r_index)
            r_node = reader.mapping(r_item, f"a role of {key}", r_line, required=("role", "assignment"))
            assignment = reader.text(r_node, "assignment", f"a role of {key}")
            if assignment not in ("active", "eligible"):
                raise reader.fail(
                    f"assignment must be 'active' or 'eligible', not {assignment!r}",
                    r_node.line_of("assignment"),
                )
            role_id = _role_id(
                reader, reader.text(r_node, "role", f"a role of {key}"), r_node.line_of("role")
            )
            roles.append(RoleSpec(role_id, assignment, r_line))
        methods: list[MethodSpec] = []
        method_items = reader.items(node, "methods", f"methods of {key}", optional=True)
        for m_index, m_item in enumerate(method_items):
            m_line = method_items.line_at(m_index)
            m_node = reader.mapping(
                m_item,
                f"a method of {key}",
                m_line,
                required=("kind",),
                optional=("device", "number", "address", "created"),
            )
            kind = reader.text(m_node, "kind", f"a method of {key}")
            if kind not in METHOD_KINDS:
                close = difflib.get_close_matches(kind, METHOD_KINDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(METHOD_KINDS)})"
                raise reader.fail(f"unknown method kind {kind!r}{hint}", m_node.line_of("kind"))
            number = reader.maybe_text(m_node, "number", f"a method of {key}")
            if kind in ("phone", "office-phone") and not (
                number and re.fullmatch(r"\+\d{1,3} [\d ]+", number)
            ):
                raise reader.fail(
                    "a phone needs 'number' written as +{country code} {number}, e.g. +31 6 12345678",
                    m_node.line_of("number"),
                )
            address = reader.maybe_text(m_node, "address", f"a method of {key}")
            if kind == "email" and not (address and "@" in address):
                raise reader.fail("an email method needs 'address'", m_node.line)
            device = reader.maybe_text(m_node, "device", f"a method of {key}")
            if kind not in ("phone", "office-phone", "email") and not device:
                raise reader.fail(f"a {kind} method needs 'device' (its display name)", m_node.line)
            methods.append(
                MethodSpec(
                    kind,
                    device,
                    number,
                    address,
                    reader.time(m_node, "created", f"a method of {key}", optional=True),
                    m_line,
                )
            )
        phones = [m.kind for m in methods if m.kind in ("phone", "office-phone", "email")]
        if len(phones) != len(set(phones)):
            raise reader.fail(
                f"{key} has two methods of the same phone or email slot", node.line_of("methods")
            )
        created = reader.time(node, "created", f"person {key}")
        assert created is not None
        people.append(
            Person(
                key=key,
                name=reader.text(node, "name", f"person {key}"),
                upn=upn,
                department=reader.maybe_text(node, "department", f"person {key}"),
                job_title=reader.maybe_text(node, "jobTitle", f"person {key}"),
                country=country,
                office=reader.maybe_text(node, "office", f"person {key}"),
                created=created,
                enabled=reader.boolean(node, "enabled", f"person {key}", True),
                password=reader.maybe_text(node, "password", f"person {key}"),
                roles=tuple(roles),
                methods=tuple(methods),
                line=line,
            )
        )
    if not people:
        raise reader.fail("tenant.people lists nobody", raw.line)
    return tuple(people)


def _groups(reader: _Reader, tenant: Node, people: set[str], keys: set[str]) -> tuple[GroupSpec, ...]:
    out: list[GroupSpec] = []
    raw = reader.items(tenant, "groups", "tenant.groups", optional=True)
    for index, item in enumerate(raw):
        line = raw.line_at(index)
        node = reader.mapping(
            item,
            "a group",
            line,
            required=("key", "name"),
            optional=("description", "members", "owners", "roleAssignable"),
        )
        key = _key(reader, node, "a group", keys)
        members = reader.words(node, "members", f"group {key}")
        owners = reader.words(node, "owners", f"group {key}")
        for ref in (*members, *owners):
            if ref not in people:
                raise reader.fail(_unknown("person", ref, people), node.line_of("members"))
        out.append(
            GroupSpec(
                key,
                reader.text(node, "name", f"group {key}"),
                reader.maybe_text(node, "description", f"group {key}"),
                members,
                owners,
                reader.boolean(node, "roleAssignable", f"group {key}", False),
                line,
            )
        )
    return tuple(out)


def _locations(reader: _Reader, tenant: Node, keys: set[str]) -> tuple[LocationSpec, ...]:
    out: list[LocationSpec] = []
    raw = reader.items(tenant, "locations", "tenant.locations", optional=True)
    for index, item in enumerate(raw):
        line = raw.line_at(index)
        node = reader.mapping(
            item,
            "a named location",
            line,
            required=("key", "name"),
            optional=("trusted", "cidr", "countries"),
        )
        key = _key(reader, node, "a named location", keys)
        cidr = reader.words(node, "cidr", f"location {key}")
        countries = reader.words(node, "countries", f"location {key}")
        if bool(cidr) == bool(countries):
            raise reader.fail(f"location {key} needs either 'cidr' or 'countries'", line)
        for block in cidr:
            if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}/\d{1,2}", block):
                raise reader.fail(f"{block!r} is not an IPv4 CIDR block", node.line_of("cidr"))
        out.append(
            LocationSpec(
                key,
                reader.text(node, "name", f"location {key}"),
                reader.boolean(node, "trusted", f"location {key}", False),
                cidr,
                countries,
                line,
            )
        )
    return tuple(out)


def _credentials(reader: _Reader, node: Node, key: str, what: str) -> tuple[CredentialSpec, ...]:
    out: list[CredentialSpec] = []
    raw = reader.items(node, key, f"{key} of {what}", optional=True)
    for index, item in enumerate(raw):
        line = raw.line_at(index)
        cred = reader.mapping(item, f"a credential of {what}", line, required=("name", "expires"))
        expires = reader.time(cred, "expires", f"a credential of {what}")
        assert expires is not None
        out.append(CredentialSpec(reader.text(cred, "name", f"a credential of {what}"), expires, line))
    return tuple(out)


def _applications(
    reader: _Reader, tenant: Node, people: set[str], keys: set[str], start: datetime
) -> tuple[ApplicationSpec, ...]:
    from graphlattice.entra.permissions import permission_id

    out: list[ApplicationSpec] = []
    raw = reader.items(tenant, "applications", "tenant.applications", optional=True)
    for index, item in enumerate(raw):
        line = raw.line_at(index)
        node = reader.mapping(
            item,
            "an application",
            line,
            required=("key", "name"),
            optional=("created", "owners", "secrets", "certificates", "permissions"),
        )
        key = _key(reader, node, "an application", keys)
        what = f"application {key}"
        owners = reader.words(node, "owners", what)
        for ref in owners:
            if ref not in people:
                raise reader.fail(_unknown("person", ref, people), node.line_of("owners"))
        permissions = reader.words(node, "permissions", what)
        for name in permissions:
            if permission_id(name) is None:
                raise reader.fail(
                    f"{name!r} is not a Microsoft Graph application permission the Range knows",
                    node.line_of("permissions"),
                )
        out.append(
            ApplicationSpec(
                key=key,
                name=reader.text(node, "name", what),
                created=reader.time(node, "created", what, optional=True) or start,
                owners=owners,
                secrets=_credentials(reader, node, "secrets", what),
                certificates=_credentials(reader, node, "certificates", what),
                permissions=permissions,
                line=line,
            )
        )
    return tuple(out)


def _group_settings(reader: _Reader, tenant: Node) -> Mapping[str, Mapping[str, str]]:
    from graphlattice.range.directory_settings import GROUP_SETTING_TEMPLATES

    if "groupSettings" not in tenant:
        return {}
    node = reader.mapping(
        tenant["groupSettings"],
        "tenant.groupSettings",
        tenant.line_of("groupSettings"),
        optional=tuple(GROUP_SETTING_TEMPLATES),
    )
    out: dict[str, dict[str, str]] = {}
    for template, found in GROUP_SETTING_TEMPLATES.items():
        if template not in node:
            continue
        values = reader.mapping(
            node[template],
            f"groupSettings.{template}",
            node.line_of(template),
            optional=tuple(found.defaults),
        )
        changed: dict[str, str] = {}
        for name in values:
            value = values[name]
            if isinstance(value, bool):
                changed[name] = "true" if value else "false"
            elif isinstance(value, (str, int)):
                changed[name] = str(value)
            else:
                raise reader.fail(f"'{name}' of groupSettings.{template} must be text", values.line_of(name))
        out[template] = changed
    return out


def _tap_policy(reader: _Reader, policies: Node, groups: set[str]) -> TapPolicySpec:
    what = "policies.temporaryAccessPass"
    node = reader.mapping(
        policies.get("temporaryAccessPass"),
        what,
        policies.line_of("temporaryAccessPass"),
        required=("state", "usableOnce", "include"),
        optional=("defaultLifetimeMinutes", "minimumLifetimeMinutes", "maximumLifetimeMinutes", "length"),
    )
    state = reader.text(node, "state", what)
    if state not in ("enabled", "disabled"):
        raise reader.fail("state must be 'enabled' or 'disabled'", node.line_of("state"))
    include = reader.words(node, "include", what, optional=False)
    for ref in include:
        if ref != "all_users" and ref not in groups:
            raise reader.fail(_unknown("group", ref, groups) + " (or all_users)", node.line_of("include"))
    spec = TapPolicySpec(
        state=state,
        usable_once=reader.boolean(node, "usableOnce", what, False),
        default_lifetime=reader.integer(node, "defaultLifetimeMinutes", what, low=10, default=60),
        minimum_lifetime=reader.integer(node, "minimumLifetimeMinutes", what, low=10, default=60),
        maximum_lifetime=reader.integer(node, "maximumLifetimeMinutes", what, low=10, default=480),
        length=reader.integer(node, "length", what, low=8, default=8),
        include=include,
    )
    if not spec.minimum_lifetime <= spec.default_lifetime <= spec.maximum_lifetime <= 43_200:
        raise reader.fail(
            "lifetimes must satisfy minimum <= default <= maximum <= 43200 minutes (30 days)", node.line
        )
    return spec


def _ca_policies(
    reader: _Reader, policies: Node, people: set[str], groups: set[str], locations: set[str]
) -> tuple[CaPolicySpec, ...]:
    out: list[CaPolicySpec] = []
    raw = reader.items(policies, "conditionalAccess", "policies.conditionalAccess", optional=True)
    names: set[str] = set()
    for index, item in enumerate(raw):
        line = raw.line_at(index)
        node = reader.mapping(
            item,
            "a Conditional Access policy",
            line,
            required=("name", "state", "users", "grant"),
            optional=("created", "description", "apps", "userActions", "clientAppTypes", "locations"),
        )
        name = reader.text(node, "name", "a Conditional Access policy")
        if name in names:
            raise reader.fail(f"two Conditional Access policies are named {name!r}", node.line_of("name"))
        names.add(name)
        what = f"policy {name!r}"
        state = reader.text(node, "state", what)
        if state not in CA_STATES:
            raise reader.fail(f"state must be one of {', '.join(CA_STATES)}", node.line_of("state"))
        users = reader.mapping(
            node.get("users"),
            f"users of {what}",
            node.line_of("users"),
            required=("include",),
            optional=("excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles"),
        )
        include = reader.words(users, "include", f"users of {what}", optional=False)
        for ref in include:
            if ref not in ("All", "None", "GuestsOrExternalUsers") and ref not in people:
                raise reader.fail(_unknown("person", ref, people), users.line_of("include"))
        exclude_users = reader.words(users, "excludeUsers", f"users of {what}")
        for ref in exclude_users:
            if ref not in people:
                raise reader.fail(_unknown("person", ref, people), users.line_of("excludeUsers"))
        group_refs: dict[str, tuple[str, ...]] = {}
        for key in ("includeGroups", "excludeGroups"):
            group_refs[key] = reader.words(users, key, f"users of {what}")
            for ref in group_refs[key]:
                if ref not in groups:
                    raise reader.fail(_unknown("group", ref, groups), users.line_of(key))
        roles = {
            key: tuple(_role_id(reader, r, users.line_of(key)) for r in reader.words(users, key, what))
            for key in ("includeRoles", "excludeRoles")
        }
        apps = reader.words(node, "apps", what)
        actions = reader.words(node, "userActions", what)
        if bool(apps) == bool(actions):
            raise reader.fail(f"{what} targets either 'apps' or 'userActions'", line)
        for action in actions:
            if action not in ("registersecurityinfo", "registerdevice"):
                raise reader.fail(
                    f"unknown user action {action!r} (registersecurityinfo or registerdevice)",
                    node.line_of("userActions"),
                )
        include_locations: tuple[str, ...] = ()
        exclude_locations: tuple[str, ...] = ()
        if "locations" in node:
            loc = reader.mapping(
                node["locations"],
                f"locations of {what}",
                node.line_of("locations"),
                optional=("include", "exclude"),
            )
            include_locations = reader.words(loc, "include", f"locations of {what}")
            exclude_locations = reader.words(loc, "exclude", f"locations of {what}")
            for ref in (*include_locations, *exclude_locations):
                if ref not in ("All", "AllTrusted") and ref not in locations:
                    raise reader.fail(_unknown("named location", ref, locations), loc.line)
        grant = reader.words(node, "grant", what, optional=False)
        for control in grant:
            if control not in _GRANTS:
                raise reader.fail(
                    f"unknown grant {control!r} (known: {', '.join(_GRANTS)})", node.line_of("grant")
                )
        out.append(
            CaPolicySpec(
                name=name,
                state=CA_STATES[state],
                created=reader.time(node, "created", what, optional=True),
                description=reader.maybe_text(node, "description", what),
                include_users=include,
                exclude_users=exclude_users,
                include_groups=group_refs["includeGroups"],
                exclude_groups=group_refs["excludeGroups"],
                include_roles=roles["includeRoles"],
                exclude_roles=roles["excludeRoles"],
                apps=apps,
                user_actions=actions,
                client_app_types=reader.words(node, "clientAppTypes", what) or ("all",),
                include_locations=include_locations,
                exclude_locations=exclude_locations,
                grant=grant,
                line=line,
            )
        )
    return tuple(out)


_GRANTS = (
    "mfa",
    "block",
    "compliantDevice",
    "domainJoinedDevice",
    "passwordless-strength",
    "phishing-resistant",
)


def _unknown(kind: str, ref: str, known: set[str]) -> str:
    close = difflib.get_close_matches(ref, sorted(known), n=1)
    return f"unknown {kind} {ref!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _tenant(reader: _Reader, doc: Node) -> TenantSpec:
    node = reader.mapping(
        doc.get("tenant"),
        "tenant",
        doc.line_of("tenant"),
        required=("id", "name", "domain", "start", "seed", "people", "policies"),
        optional=("settings", "locations", "groups", "applications", "groupSettings"),
    )
    tenant_id = reader.text(node, "id", "tenant").lower()
    if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", tenant_id):
        raise reader.fail("tenant id must be a GUID", node.line_of("id"))
    domain = reader.text(node, "domain", "tenant")
    keys: set[str] = set()
    people = _people(reader, node, domain, keys)
    person_keys = {p.key for p in people}
    group_keys: set[str] = set()
    groups = _groups(reader, node, person_keys, group_keys)
    keys |= group_keys
    location_keys: set[str] = set()
    locations = _locations(reader, node, location_keys)
    settings: Mapping[str, Any] = {}
    if "settings" in node:
        settings = reader.mapping(
            node["settings"],
            "tenant.settings",
            node.line_of("settings"),
            optional=("breakGlassAccounts", *_SETTINGS_INT),
        )
        for key in _SETTINGS_INT:
            if key in settings:
                reader.integer(settings, key, "tenant.settings", low=1)
        if "breakGlassAccounts" in settings:
            upns = {p.upn.casefold() for p in people}
            for upn in reader.words(settings, "breakGlassAccounts", "tenant.settings"):
                if upn.casefold() not in upns:
                    raise reader.fail(
                        f"break-glass account {upn} is not a person of the tenant", settings.line
                    )
    policies = reader.mapping(
        node.get("policies"),
        "tenant.policies",
        node.line_of("policies"),
        required=("temporaryAccessPass",),
        optional=("conditionalAccess", "roleSettings", "securityDefaults"),
    )
    role_settings = RoleSettingsSpec(None, ())
    if "roleSettings" in policies:
        rs = reader.mapping(
            policies["roleSettings"],
            "policies.roleSettings",
            policies.line_of("roleSettings"),
            optional=("approvers", "requireApproval"),
        )
        approvers = reader.maybe_text(rs, "approvers", "policies.roleSettings")
        if approvers is not None and approvers not in group_keys:
            raise reader.fail(_unknown("group", approvers, group_keys), rs.line_of("approvers"))
        required = tuple(
            _role_id(reader, r, rs.line_of("requireApproval"))
            for r in reader.words(rs, "requireApproval", "policies.roleSettings")
        )
        if required and approvers is None:
            raise reader.fail("roles that require approval need 'approvers' (a group key)", rs.line)
        role_settings = RoleSettingsSpec(approvers, required)
    start = reader.time(node, "start", "tenant")
    assert start is not None
    conditional_access = _ca_policies(reader, policies, person_keys, group_keys, location_keys)
    security_defaults = reader.boolean(policies, "securityDefaults", "tenant.policies", False)
    if security_defaults and any(p.state != "disabled" for p in conditional_access):
        # Entra refuses to turn security defaults on while Conditional Access policies are in use.
        raise reader.fail(
            "securityDefaults cannot be true while Conditional Access policies are enabled or report-only",
            policies.line_of("securityDefaults"),
        )
    return TenantSpec(
        id=tenant_id,
        name=reader.text(node, "name", "tenant"),
        domain=domain,
        start=start,
        seed=reader.integer(node, "seed", "tenant"),
        settings=settings,
        locations=locations,
        groups=groups,
        people=people,
        tap=_tap_policy(reader, policies, group_keys),
        conditional_access=conditional_access,
        role_settings=role_settings,
        applications=_applications(reader, node, person_keys, keys, start),
        group_settings=_group_settings(reader, node),
        security_defaults=security_defaults,
    )


def _cast(reader: _Reader, doc: Node, people: set[str]) -> Cast:
    node = reader.mapping(
        doc.get("cast"),
        "cast",
        doc.line_of("cast"),
        required=("defender", "victim", "attacker"),
        optional=("operator",),
    )
    parts: dict[str, str | None] = {}
    for part in ("defender", "victim", "attacker", "operator"):
        ref = reader.maybe_text(node, part, "cast") if part == "operator" else reader.text(node, part, "cast")
        if ref is not None and ref not in people and not (part == "attacker" and ref == ATTACKER):
            raise reader.fail(_unknown("person", ref, people), node.line_of(part))
        parts[part] = ref
    defender, victim, attacker = parts["defender"], parts["victim"], parts["attacker"]
    assert defender is not None and victim is not None and attacker is not None
    if len({defender, victim, attacker}) < 3:
        raise reader.fail(
            "the defender, the victim and the attacker must be three different people", node.line
        )
    return Cast(defender, victim, attacker, parts["operator"])


def _invocation(reader: _Reader, node: Node, what: str, actors: set[str]) -> Invocation:
    action = reader.text(node, "action", what)
    actor = reader.text(node, "as", what)
    if actor not in actors:
        raise reader.fail(_unknown("actor", actor, actors), node.line_of("as"))
    params: dict[str, str] = {}
    lines: dict[str, int] = {}
    if "params" in node:
        given = node["params"]
        raw = reader.mapping(
            given,
            f"params of {what}",
            node.line_of("params"),
            optional=tuple(given) if isinstance(given, Node) else (),
        )
        for name, value in raw.items():
            params[name] = _param_text(reader, value, f"parameter {name!r} of {what}", raw.line_of(name))
            lines[name] = raw.line_of(name)
    return Invocation(action, actor, params, node.line, node.line_of("action"), lines)


def _replays(
    reader: _Reader, node: Node, what: str, actors: set[str], *, optional: bool
) -> tuple[Invocation, ...]:
    raw = reader.items(node, "replay", f"replay of {what}", optional=optional)
    out = []
    for index, item in enumerate(raw):
        line = raw.line_at(index)
        r_node = reader.mapping(
            item, f"a replay of {what}", line, required=("action", "as"), optional=("params", "alsoInOn")
        )
        inv = _invocation(reader, r_node, f"a replay of {what}", actors)
        if "alsoInOn" in r_node:
            codes = r_node["alsoInOn"]
            if not isinstance(codes, Items) or not all(
                isinstance(c, int) and not isinstance(c, bool) for c in codes
            ):
                raise reader.fail(
                    "alsoInOn lists sign-in error codes, e.g. [50076]", r_node.line_of("alsoInOn")
                )
            inv = replace(inv, also_in_on=tuple(codes))
        out.append(inv)
    if not out and not optional:
        raise reader.fail(f"{what} needs at least one replay", node.line_of("replay"))
    return tuple(out)


def _parse(path: Path) -> Scenario:
    reader = _Reader(path)
    doc = read_yaml(path)
    doc = reader.mapping(
        doc,
        "the scenario",
        1,
        required=(
            "id",
            "title",
            "attack",
            "summary",
            "narrative",
            "cast",
            "tenant",
            "timeline",
            "hints",
            "objectives",
            "footholds",
            "rootCause",
        ),
        optional=("briefing", "attacker", "handover", "scoring"),
    )
    scenario_id = reader.text(doc, "id", "the scenario")
    if not _ID.match(scenario_id):
        raise reader.fail(f"id {scenario_id!r} must be lower-case words joined by '-'", doc.line_of("id"))
    if path.parent == SCENARIO_DIR and path.stem != scenario_id:
        raise reader.fail(f"id {scenario_id!r} belongs in a file named {scenario_id}.yaml", doc.line_of("id"))
    attack = reader.words(doc, "attack", "the scenario", optional=False)
    for tech in attack:
        if not _ATTACK.match(tech):
            raise reader.fail(
                f"{tech!r} is not an ATT&CK technique id (T1234 or T1234.001)", doc.line_of("attack")
            )
    tenant = _tenant(reader, doc)
    people = {p.key: p for p in tenant.people}
    groups = {g.key: g for g in tenant.groups}
    cast = _cast(reader, doc, set(people))
    actors = {*people, ATTACKER}

    knows: tuple[str, ...] = ()
    if "attacker" in doc:
        att = reader.mapping(
            doc["attacker"], "attacker", doc.line_of("attacker"), optional=("knowsPasswordOf",)
        )
        knows = reader.words(att, "knowsPasswordOf", "attacker")
        for ref in knows:
            if ref not in people:
                raise reader.fail(_unknown("person", ref, set(people)), att.line_of("knowsPasswordOf"))

    steps: list[Step] = []
    step_ids: set[str] = set()
    raw_steps = reader.items(doc, "timeline", "timeline")
    previous: datetime | None = None
    for index, item in enumerate(raw_steps):
        line = raw_steps.line_at(index)
        node = reader.mapping(
            item,
            "a timeline step",
            line,
            required=("at", "as", "action"),
            optional=("id", "params", "expect", "note"),
        )
        step_id = reader.text(node, "id", "a timeline step", optional=True) or f"step-{index + 1}"
        if not _KEY.match(step_id):
            raise reader.fail(
                f"step id {step_id!r} must be lower-case letters, digits and '-'", node.line_of("id")
            )
        if step_id in step_ids:
            raise reader.fail(f"step id {step_id!r} is used twice", node.line_of("id"))
        at = reader.time(node, "at", f"step {step_id}")
        assert at is not None
        if at < tenant.start:
            raise reader.fail(
                f"step {step_id} happens before the tenant starts ({tenant.start:%Y-%m-%dT%H:%M:%SZ})",
                node.line_of("at"),
            )
        if previous is not None and at < previous:
            raise reader.fail(
                f"step {step_id} happens before the step above it; keep the timeline in order",
                node.line_of("at"),
            )
        previous = at
        expect = reader.text(node, "expect", f"step {step_id}", optional=True) or "ok"
        if expect not in ("ok", "denied"):
            raise reader.fail("expect must be 'ok' or 'denied'", node.line_of("expect"))
        invocation = _invocation(reader, node, f"step {step_id}", actors)
        _check_refs(reader, invocation, step_ids)
        step_ids.add(step_id)
        steps.append(
            Step(step_id, at, invocation, expect, reader.text(node, "note", "a step", optional=True))
        )
    if not steps:
        raise reader.fail("the timeline has no steps", raw_steps.line)
    handover = reader.time(doc, "handover", "the scenario", optional=True)
    if handover is not None and previous is not None and handover < previous:
        raise reader.fail("handover comes before the last timeline step", doc.line_of("handover"))

    hints: list[Hint] = []
    raw_hints = reader.items(doc, "hints", "hints")
    for index, item in enumerate(raw_hints):
        node = reader.mapping(item, "a hint", raw_hints.line_at(index), required=("cost", "text"))
        hints.append(Hint(reader.integer(node, "cost", "a hint"), reader.text(node, "text", "a hint")))

    footholds: list[Foothold] = []
    seen: set[str] = set()
    raw_footholds = reader.items(doc, "footholds", "footholds")
    for index, item in enumerate(raw_footholds):
        node = reader.mapping(
            item,
            "a foothold",
            raw_footholds.line_at(index),
            required=("id", "description", "points", "replay"),
        )
        fid = reader.text(node, "id", "a foothold")
        if fid in seen:
            raise reader.fail(f"objective id {fid!r} is used twice", node.line_of("id"))
        seen.add(fid)
        replays = _replays(reader, node, f"foothold {fid}", actors, optional=False)
        for inv in replays:
            _check_refs(reader, inv, step_ids)
        footholds.append(
            Foothold(
                fid,
                reader.text(node, "description", "a foothold"),
                reader.integer(node, "points", "a foothold"),
                replays,
            )
        )
    if not footholds:
        raise reader.fail("a scenario needs at least one foothold", raw_footholds.line)

    root_causes: list[RootCause] = []
    raw_roots = reader.items(doc, "rootCause", "rootCause")
    for index, item in enumerate(raw_roots):
        node = reader.mapping(
            item,
            "a root cause",
            raw_roots.line_at(index),
            required=("id", "description", "points"),
            optional=("check", "subject", "replay"),
        )
        rid = reader.text(node, "id", "a root cause")
        if rid in seen:
            raise reader.fail(f"objective id {rid!r} is used twice", node.line_of("id"))
        seen.add(rid)
        check = reader.maybe_text(node, "check", f"root cause {rid}")
        if check is not None:
            _check_risk(reader, check, node.line_of("check"))
        subject = reader.maybe_text(node, "subject", f"root cause {rid}")
        if subject is not None:
            if check is None:
                raise reader.fail("'subject' narrows a 'check'; give the check too", node.line_of("subject"))
            if subject not in people:
                raise reader.fail(_unknown("person", subject, set(people)), node.line_of("subject"))
        replays = _replays(reader, node, f"root cause {rid}", actors, optional=True)
        if (check is None) == (not replays):
            raise reader.fail(f"root cause {rid} needs exactly one of 'check' or 'replay'", node.line)
        for inv in replays:
            _check_refs(reader, inv, step_ids)
        root_causes.append(
            RootCause(
                rid,
                reader.text(node, "description", "a root cause"),
                reader.integer(node, "points", "a root cause"),
                check,
                subject,
                replays,
            )
        )

    objectives = reader.mapping(
        doc.get("objectives"), "objectives", doc.line_of("objectives"), required=("containment", "rootCause")
    )
    containment = reader.words(objectives, "containment", "objectives", optional=False)
    root_ids = reader.words(objectives, "rootCause", "objectives", optional=False)
    for listed, defined, key in (
        (containment, [f.id for f in footholds], "containment"),
        (root_ids, [r.id for r in root_causes], "rootCause"),
    ):
        if sorted(listed) != sorted(defined) or len(set(listed)) != len(listed):
            raise reader.fail(
                f"objectives.{key} must list exactly the ids defined under "
                f"{'footholds' if key == 'containment' else 'rootCause'}: {', '.join(defined)}",
                objectives.line_of(key),
            )
    total = sum(f.points for f in footholds) + sum(r.points for r in root_causes)
    if total != TOTAL_POINTS:
        raise reader.fail(
            f"footholds and root causes must be worth {TOTAL_POINTS} points together, not {total}",
            doc.line_of("footholds"),
        )
    penalty = 15
    if "scoring" in doc:
        scoring = reader.mapping(
            doc["scoring"], "scoring", doc.line_of("scoring"), optional=("collateralPenalty",)
        )
        penalty = reader.integer(scoring, "collateralPenalty", "scoring", default=15)

    scenario = Scenario(
        id=scenario_id,
        title=reader.text(doc, "title", "the scenario"),
        attack=attack,
        summary=reader.text(doc, "summary", "the scenario"),
        narrative=reader.text(doc, "narrative", "the scenario"),
        briefing=reader.text(doc, "briefing", "the scenario", optional=True),
        path=path,
        cast=cast,
        tenant=tenant,
        attacker_knows=knows,
        timeline=tuple(steps),
        handover=handover,
        hints=tuple(hints),
        containment=containment,
        root_cause_ids=root_ids,
        footholds=tuple(footholds),
        root_causes=tuple(root_causes),
        collateral_penalty=penalty,
        _people=people,
        _groups=groups,
    )
    _check_actions(reader, scenario)
    return scenario


def _check_refs(reader: _Reader, invocation: Invocation, earlier: set[str]) -> None:
    for name, value in invocation.params.items():
        for match in _REF.finditer(value):
            if match.group(1) not in earlier:
                raise reader.fail(
                    f"parameter {name!r} refers to step {match.group(1)!r}, which does not come before it",
                    invocation.line_of(name),
                )
        if "${" in _REF.sub("", value):
            raise reader.fail(
                f"parameter {name!r}: write references as ${{step-id.field}}", invocation.line_of(name)
            )


def _check_risk(reader: _Reader, risk_id: str, line: int) -> None:
    from graphlattice.checks.registry import load_catalog

    catalog = load_catalog()
    if risk_id not in catalog:
        raise reader.fail(_unknown("risk check", risk_id, set(catalog)), line)


ActionCheck = Callable[[str, Mapping[str, str]], str | None]
"""Returns a complaint about an action name and its parameter names, or None when they are acceptable."""


def _check_actions(reader: _Reader, scenario: Scenario) -> None:
    """Every action exists in the engine's registry and gets only parameters it knows, with those it needs."""
    from graphlattice.range.actionspec import describe_problem

    invocations: list[Invocation] = [s.invocation for s in scenario.timeline]
    for foothold in scenario.footholds:
        invocations.extend(foothold.replay)
    for cause in scenario.root_causes:
        invocations.extend(cause.replay)
    for inv in invocations:
        problem = describe_problem(inv.action, inv.params)
        if problem is not None:
            message, param = problem
            raise reader.fail(message, inv.line_of(param))
        for name, value in inv.params.items():
            if name in PERSON_PARAMS and "@" not in value and value not in scenario._people:
                raise reader.fail(_unknown("person", value, set(scenario._people)), inv.line_of(name))
            if name in GROUP_PARAMS:
                for part in _split(value):
                    if part != "all_users" and not scenario._groups.get(part) and not part.startswith("${"):
                        raise reader.fail(_unknown("group", part, set(scenario._groups)), inv.line_of(name))


# ---- finding scenarios -----------------------------------------------------------------------------------


def _builtin_paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.yaml"))}


def list_scenarios() -> list[Scenario]:
    """Every built-in scenario, validated, in id order."""
    return [load_scenario(path) for path in _builtin_paths().values()]


_CACHE: dict[Path, tuple[float, Scenario]] = {}


def load_scenario(id_or_path: str | Path) -> Scenario:
    """A built-in scenario by id, or any scenario file by path.

    An unknown id raises :class:`UsageError` with the closest id; an invalid file raises
    :class:`ScenarioError` naming the file and line.
    """
    candidate = Path(id_or_path)
    text = str(id_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in text or candidate.is_file():
        if not candidate.exists():  # anything else that exists is refused by the reader in one line
            raise UsageError(f"no scenario file at {candidate}")
        path = candidate.resolve()
    else:
        builtin = _builtin_paths()
        if text not in builtin:
            close = difflib.get_close_matches(text, list(builtin), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"unknown scenario {text!r}{hint}; 'graphlattice range list' lists them")
        path = builtin[text]
    mtime = path.stat().st_mtime
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    scenario = _parse(path)
    _CACHE[path] = (mtime, scenario)
    return scenario
