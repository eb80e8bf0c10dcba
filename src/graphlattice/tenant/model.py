"""The typed tenant model: Graph JSON read once, indexed once.

Objects keep a reference to their Graph JSON (``raw``) so nothing Graph sends is lost; the typed fields are
the ones our checks reason about, normalised (lower-cased enums, lower-cased GUIDs). Indexes that several
checks need (group membership, who holds which role and how) are computed lazily and cached.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

Json = Mapping[str, Any]


def parse_time(value: object) -> datetime | None:
    """Parse Graph's ISO-8601 timestamps (``Z`` suffix, 0–7 fractional digits)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        tail = ""
        for i, ch in enumerate(rest):
            if not ch.isdigit():
                tail = rest[i:]
                break
            digits += ch
        text = f"{head}.{(digits + '000000')[:6]}{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def plus_minutes(moment: datetime, minutes: int) -> datetime:
    """``moment`` plus ``minutes``, held at the calendar's ends instead of overflowing (a pass that starts
    on 9999-12-31 with a lifetime simply never ends within the calendar)."""
    try:
        return moment + timedelta(minutes=minutes)
    except OverflowError:
        edge = datetime.max if minutes > 0 else datetime.min
        return edge.replace(tzinfo=moment.tzinfo)


@dataclass(slots=True)
class User:
    """One user. ``None`` in a property means the snapshot did not carry it (Graph returns
    ``accountEnabled``, ``userType`` and ``onPremisesSyncEnabled`` only when ``$select`` asks for them):
    unknown, never a guess."""

    id: str
    display_name: str
    upn: str
    user_type: str | None  # "member", "guest", an unknown lower-cased value, or None (not in the snapshot)
    account_enabled: bool | None
    on_premises_sync: bool | None
    raw: Json = field(repr=False)

    @property
    def is_member(self) -> bool:
        """Known to be a member (not a guest); False when the type is unknown."""
        return self.user_type == "member"

    @property
    def enabled_member(self) -> bool | None:
        """An enabled member user: True or False when the snapshot tells, None when it cannot."""
        if self.account_enabled is False or (self.user_type is not None and self.user_type != "member"):
            return False
        if self.account_enabled is None or self.user_type is None:
            return None
        return True


@dataclass(slots=True)
class Group:
    id: str
    display_name: str
    is_assignable_to_role: bool
    member_ids: tuple[str, ...]
    owner_ids: tuple[str, ...]
    member_group_ids: tuple[str, ...]
    raw: Json = field(repr=False)


@dataclass(slots=True)
class ServicePrincipal:
    id: str
    app_id: str
    display_name: str
    app_role_ids: frozenset[str]  # appRoleIds granted to this principal (any resource)
    raw: Json = field(repr=False)


GrantKind = Literal["standing", "activated", "eligible"]


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """One way a principal holds a role: directly, or as a member of a role-assignable group."""

    principal_id: str
    role_id: str  # role definition id == template id for built-in roles (lower-case)
    scope: str  # "/" or "/administrativeUnits/{id}" or an object id
    kind: GrantKind
    via_group_id: str | None = None
    end: datetime | None = None
    assignment_id: str = ""

    @property
    def tenant_wide(self) -> bool:
        return self.scope == "/"


@dataclass(frozen=True, slots=True)
class ActivationRules:
    """PIM activation settings for one role (from its role-management policy)."""

    role_id: str
    approval_required: bool | None  # None: the policy's approval rule is missing or unreadable
    mfa_required: bool
    max_duration: str | None
    policy_id: str
    approval_unknown_reason: str = ""


@dataclass
class Tenant:
    """Everything a check may look at. ``available`` says which collections could be read."""

    tenant_id: str
    collected_at: datetime
    source: str
    available: dict[str, bool]
    errors: dict[str, str]
    coverage: dict[str, Any]
    users: dict[str, User]
    groups: dict[str, Group]
    service_principals: dict[str, ServicePrincipal]
    role_definitions: dict[str, Json]
    role_assignments: list[Json]
    role_eligibilities: list[Json]
    role_schedule_instances: list[Json] | None
    role_policies: dict[str, Json]
    role_policy_assignments: list[Json]
    ca_policies: list[Json]
    named_locations: dict[str, Json]
    strength_policies: dict[str, Json]
    auth_methods_policy: Json | None
    registration: dict[str, Json]
    methods: dict[str, list[Json]]
    directory_audits: list[Json] | None = None
    sign_ins: list[Json] | None = None
    unknown_enums: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    config_path: str | None = None
    # Collections whose file is one page of a longer collection (it ends with @odata.nextLink): name -> why.
    partial: dict[str, str] = field(default_factory=dict)
    # Unavailable collections whose file is simply absent (no manifest entry says why).
    not_collected: frozenset[str] = frozenset()
    # Views that higher layers derive from this tenant (e.g. classified methods per user), computed once per
    # tenant and shared by every consumer; keys are namespaced by the module that owns them.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ---- group membership -------------------------------------------------------------------------

    @cached_property
    def _direct_groups(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for group in self.groups.values():
            for member in group.member_ids:
                index[member].append(group.id)
            for member in group.member_group_ids:
                index[member].append(group.id)
        return index

    def groups_of(self, object_id: str) -> frozenset[str]:
        """Transitive group memberships of a user, group or service principal."""
        direct = self._direct_groups
        seen: set[str] = set()
        stack = list(direct.get(object_id, ()))
        while stack:
            gid = stack.pop()
            if gid in seen:
                continue
            seen.add(gid)
            stack.extend(direct.get(gid, ()))
        return frozenset(seen)

    def members_of(self, group_id: str) -> frozenset[str]:
        """Transitive user and service-principal members of a group."""
        seen_groups: set[str] = set()
        members: set[str] = set()
        stack = [group_id]
        while stack:
            gid = stack.pop()
            if gid in seen_groups:
                continue
            seen_groups.add(gid)
            group = self.groups.get(gid)
            if group is None:
                continue
            members.update(group.member_ids)
            stack.extend(group.member_group_ids)
        return frozenset(members)

    @cached_property
    def role_assignable_members(self) -> frozenset[str]:
        """Users who are members or owners of a role-assignable group (Entra protects them)."""
        out: set[str] = set()
        for group in self.groups.values():
            if group.is_assignable_to_role:
                out.update(group.member_ids)
                out.update(group.owner_ids)
        return frozenset(out)

    # ---- roles --------------------------------------------------------------------------------------

    @cached_property
    def _activated_assignment_ids(self) -> dict[str, datetime | None]:
        """Ids of assignments that are PIM activations (origin id, instance id, or principal|role|scope)."""
        out: dict[str, datetime | None] = {}
        for inst in self.role_schedule_instances or ():
            if str(inst.get("assignmentType", "")).lower() == "activated":
                end = parse_time(inst.get("endDateTime"))
                for key in ("roleAssignmentOriginId", "id"):
                    value = inst.get(key)
                    if isinstance(value, str) and value:
                        out[value.lower()] = end
                principal = str(inst.get("principalId", "")).lower()
                role = str(inst.get("roleDefinitionId", "")).lower()
                scope = str(inst.get("directoryScopeId", "/") or "/")
                out[f"{principal}|{role}|{scope}"] = end
        return out

    @cached_property
    def role_grants(self) -> tuple[RoleGrant, ...]:
        """Every (principal, role) pair, expanding role-assignable groups to their members."""
        activated = self._activated_assignment_ids
        grants: list[RoleGrant] = []

        def expand(
            principal: str, role: str, scope: str, kind: GrantKind, end: datetime | None, assignment_id: str
        ) -> None:
            grants.append(RoleGrant(principal, role, scope, kind, None, end, assignment_id))
            group = self.groups.get(principal)
            if group is not None:
                for member in self.members_of(group.id):
                    grants.append(RoleGrant(member, role, scope, kind, group.id, end, assignment_id))

        for a in self.role_assignments:
            principal = str(a.get("principalId", "")).lower()
            role = str(a.get("roleDefinitionId", "")).lower()
            scope = str(a.get("directoryScopeId") or "/")
            aid = str(a.get("id", "")).lower()
            key = f"{principal}|{role}|{scope}"
            if aid in activated or key in activated:
                kind: GrantKind = "activated"
                end = activated.get(aid, activated.get(key))
            else:
                kind, end = "standing", None
            expand(principal, role, scope, kind, end, aid)
        for e in self.role_eligibilities:
            principal = str(e.get("principalId", "")).lower()
            role = str(e.get("roleDefinitionId", "")).lower()
            scope = str(e.get("directoryScopeId") or "/")
            info = e.get("scheduleInfo") or {}
            expiration = info.get("expiration") or {} if isinstance(info, Mapping) else {}
            end = parse_time(expiration.get("endDateTime")) if isinstance(expiration, Mapping) else None
            if end is not None and end <= self.collected_at:
                continue
            expand(principal, role, scope, "eligible", end, str(e.get("id", "")).lower())
        return tuple(grants)

    def resolves(self, object_id: str) -> bool:
        """Whether an id names a user, group or service principal of this snapshot."""
        key = object_id.lower()
        return key in self.users or key in self.groups or key in self.service_principals

    def principal_collections_unread(self) -> list[str]:
        """The collections that resolve principals (users, groups, service principals) not read."""
        return [n for n in ("users", "groups", "servicePrincipals") if not self.available.get(n, False)]

    def unresolved_hint(self) -> str:
        """Why a principal may be in no collection: what was not read, else an incomplete users.json."""
        lost = self.principal_collections_unread()
        if lost:
            return f"{', '.join(lost)} could not be read"
        return "users.json may be incomplete, or they were deleted while the snapshot was read"

    @cached_property
    def unresolved_grants(self) -> tuple[RoleGrant, ...]:
        """Role grants whose principal is in neither users, groups nor service principals.

        A truncated ``users.json``, unreadable service principals or groups, or an object deleted while the
        snapshot was read: whoever holds the role cannot be told, so nothing may be concluded about them.
        """
        return tuple(g for g in self.role_grants if not self.resolves(g.principal_id))

    @cached_property
    def _grants_by_principal(self) -> dict[str, list[RoleGrant]]:
        index: dict[str, list[RoleGrant]] = defaultdict(list)
        for grant in self.role_grants:
            index[grant.principal_id].append(grant)
        return index

    def grants_of(self, principal_id: str) -> list[RoleGrant]:
        return self._grants_by_principal.get(principal_id.lower(), [])

    def active_role_ids(self, principal_id: str) -> frozenset[str]:
        return frozenset(g.role_id for g in self.grants_of(principal_id) if g.kind != "eligible")

    def any_role_ids(self, principal_id: str) -> frozenset[str]:
        return frozenset(g.role_id for g in self.grants_of(principal_id))

    def holders(self, role_id: str, *, include_eligible: bool = True) -> list[RoleGrant]:
        role = role_id.lower()
        return [
            g for g in self.role_grants if g.role_id == role and (include_eligible or g.kind != "eligible")
        ]

    @cached_property
    def activation_rules(self) -> dict[str, ActivationRules]:
        """Role id -> PIM activation settings, from policy assignments and expanded policy rules."""
        out: dict[str, ActivationRules] = {}
        for assignment in self.role_policy_assignments:
            role = str(assignment.get("roleDefinitionId", "")).lower()
            policy_id = str(assignment.get("policyId", ""))
            policy = self.role_policies.get(policy_id.lower())
            if not role or policy is None:
                continue
            approval: bool | None = None
            approval_why = f"PIM policy {policy_id} has no Approval_EndUser_Assignment rule"
            mfa = False
            max_duration: str | None = None
            rules = policy.get("rules")
            if not isinstance(rules, list):
                approval_why = f"PIM policy {policy_id} carries no rules (were they expanded?)"
                rules = []
            for rule in rules:
                if not isinstance(rule, Mapping):
                    continue
                rid = str(rule.get("id", "")).lower()
                if rid == "approval_enduser_assignment":
                    setting = rule.get("setting")
                    value = setting.get("isApprovalRequired") if isinstance(setting, Mapping) else None
                    if isinstance(value, bool):
                        approval, approval_why = value, ""
                    else:
                        approval_why = (
                            f"the approval rule of PIM policy {policy_id} has an unrecognised shape"
                        )
                elif rid == "enablement_enduser_assignment":
                    enabled = {str(x).lower() for x in rule.get("enabledRules") or ()}
                    mfa = "multifactorauthentication" in enabled
                elif rid == "expiration_enduser_assignment":
                    value = rule.get("maximumDuration")
                    max_duration = str(value) if value else None
            out[role] = ActivationRules(role, approval, mfa, max_duration, policy_id, approval_why)
        return out

    def activation_approval(self, role_id: str) -> tuple[bool | None, str]:
        """Whether activating ``role_id`` needs approval; ``None`` and the reason when data cannot tell."""
        for name in ("roleManagementPolicies", "roleManagementPolicyAssignments"):
            if not self.available.get(name, False):
                return None, f"{name} could not be read"
        rules = self.activation_rules.get(role_id.lower())
        if rules is None:
            return None, "no PIM policy is assigned to this role in the snapshot"
        return rules.approval_required, rules.approval_unknown_reason

    # ---- lookups ------------------------------------------------------------------------------------

    def display_name(self, object_id: str) -> str:
        key = object_id.lower()
        if key in self.users:
            return self.users[key].display_name
        if key in self.groups:
            return self.groups[key].display_name
        if key in self.service_principals:
            return self.service_principals[key].display_name
        return object_id

    def object_type(self, object_id: str) -> str:
        key = object_id.lower()
        if key in self.users:
            return "user"
        if key in self.groups:
            return "group"
        if key in self.service_principals:
            return "servicePrincipal"
        return "directoryObject"

    def user_by_upn_or_id(self, key: str) -> User | None:
        found = self.users.get(key.lower())
        if found is not None:
            return found
        return self._users_by_upn.get(key.lower())

    @cached_property
    def _users_by_upn(self) -> dict[str, User]:
        return {u.upn.lower(): u for u in self.users.values()}

    def iter_members(self) -> Iterator[User]:
        """Users known to be enabled members (not guests); see :attr:`standing_unknown` for the rest."""
        return (u for u in self.users.values() if u.enabled_member is True)

    @cached_property
    def standing_unknown(self) -> tuple[str, ...]:
        """Users who may be enabled members but whose ``accountEnabled`` or ``userType`` was not read."""
        return tuple(u.id for u in self.users.values() if u.enabled_member is None)

    def method_configuration(self, config_id: str) -> Json | None:
        """One authentication-method configuration (e.g. ``TemporaryAccessPass``) from the methods policy."""
        policy = self.auth_methods_policy or {}
        for config in policy.get("authenticationMethodConfigurations") or ():
            if isinstance(config, Mapping) and str(config.get("id", "")).lower() == config_id.lower():
                return config
        return None

    def unknown(self, collection: str, field_name: str) -> frozenset[str]:
        return self.unknown_enums.get((collection, field_name), frozenset())


def lower_ids(values: Iterable[object]) -> tuple[str, ...]:
    return tuple(str(v).lower() for v in values if v)
