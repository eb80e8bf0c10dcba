"""The collector's request plan, as data: what to ask Microsoft Graph for, in which pieces, at what pace.

Per collection of the snapshot (:data:`graphlattice.tenant.collections.COLLECTIONS`, which stays the one
source of truth for file names and least-privilege permissions) the plan says the Graph path and version,
the page size, the properties to ``$select``, and the throttling family the requests count against. The
budgets of each family are Microsoft's documented limits (``reference/graph.md`` §8.1):

* ``directory`` — identity and access (users, groups, roles, policies, per-user methods): a bucket of
  resource units per app and tenant, 3,500 / 5,000 / 8,000 per 10 s for tenants under 50 / under 500 /
  larger; a request costs 1 unit, ``GET /users`` 2 and ``GET /groups/{id}/members`` 3, less one with
  ``$select`` (never below 1). Each request inside a ``$batch`` counts on its own.
* ``reports`` — audit and sign-in logs and the authentication-methods reports: 5 requests per 10 s.
* ``conditionalAccess`` — Conditional Access policies and named locations: 1 request per second for the
  whole tenant, and a 429 there comes without ``Retry-After``.

Per-user reads are kept to what the checks need: ``groups`` get their ``/members`` and ``/owners`` paged
per group (``$expand`` stops at 20) and service principals their ``/appRoleAssignments``, both in
``$batch`` requests of 20; ``/users/{id}/authentication/methods`` is read only for privileged users (role
assignments and eligibilities, members of role-assignable groups included) and for users whose
``userRegistrationDetails.methodsRegistered`` shows a Temporary Access Pass. Everyone else is covered by the
registration report, and the manifest records that coverage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from graphlattice.tenant.collections import COLLECTIONS, CollectionSpec

__all__ = [
    "BATCH_SIZE",
    "CA_BUDGET",
    "DIRECTORY_BUDGETS",
    "PLAN",
    "REPORTS_BUDGET",
    "Budget",
    "ChildQuery",
    "CollectionPlan",
    "Family",
    "ListQuery",
    "MinimumPlan",
    "TenantSize",
    "budget_for",
    "directory_budget",
    "family_of",
    "has_temporary_access_pass",
    "log_query",
    "method_candidates",
    "minimum_requests",
    "permissions",
    "plan_for",
    "request_cost",
    "size_class",
]

Family = Literal["directory", "reports", "conditionalAccess"]
SizeClass = Literal["S", "M", "L"]

BATCH_SIZE = 20  # Graph's limit for requests inside one $batch
METHODS_PATH = "/users/{id}/authentication/methods"


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``units`` per ``window`` seconds; ``retry_after``: Graph's 429s for it carry Retry-After."""

    family: Family
    units: int
    window: float
    retry_after: bool = True

    @property
    def rate(self) -> float:
        """Units per second, long-run."""
        return self.units / self.window


DIRECTORY_BUDGETS: dict[SizeClass, Budget] = {
    "S": Budget("directory", 3_500, 10.0),
    "M": Budget("directory", 5_000, 10.0),
    "L": Budget("directory", 8_000, 10.0),
}
REPORTS_BUDGET = Budget("reports", 5, 10.0)
CA_BUDGET = Budget("conditionalAccess", 1, 1.0, retry_after=False)


def size_class(users: int) -> SizeClass:
    """Graph's tenant size for the identity budget: S under 50 users, M under 500, L otherwise."""
    return "S" if users < 50 else "M" if users <= 500 else "L"


def directory_budget(users: int | None) -> Budget:
    """The directory budget for a tenant of ``users`` (None: not known yet, assume the smallest)."""
    return DIRECTORY_BUDGETS["S" if users is None else size_class(users)]


def budget_for(family: Family, users: int | None = None) -> Budget:
    if family == "reports":
        return REPORTS_BUDGET
    if family == "conditionalAccess":
        return CA_BUDGET
    return directory_budget(users)


def _strip_version(path: str) -> str:
    for prefix in ("/v1.0/", "/beta/"):
        if path.startswith(prefix):
            return path[len(prefix) - 1 :]
    return path


def family_of(path: str) -> Family:
    """The throttling family of a Graph path (with or without the version segment)."""
    bare = _strip_version(path.split("?", 1)[0]).lower()
    if bare.startswith(
        ("/identity/conditionalaccess/policies", "/identity/conditionalaccess/namedlocations")
    ):
        return "conditionalAccess"
    if bare.startswith(("/auditlogs/", "/reports/")):
        return "reports"
    return "directory"


_HEAVY = {"users": 2, "members": 3, "transitivemembers": 5, "applications": 2}


def request_cost(path: str, params: Mapping[str, str] | None = None) -> int:
    """Resource units one GET costs in the directory family (1 elsewhere: those families count requests)."""
    if family_of(path) != "directory":
        return 1
    bare = _strip_version(path.split("?", 1)[0]).rstrip("/").lower()
    segments = [s for s in bare.split("/") if s]
    cost = 1
    if segments and (len(segments) == 1 or segments[-1] in ("members", "transitivemembers")):
        cost = _HEAVY.get(segments[-1], 1)
    query = dict(params or {})
    if "?" in path:
        for part in path.split("?", 1)[1].split("&"):
            key, _, value = part.partition("=")
            query.setdefault(key.replace("%24", "$"), value)
    if "$select" in query:
        cost -= 1
    if "$expand" in query:
        cost += 1
    top = query.get("$top")
    if top is not None and str(top).isdigit() and int(top) < 20:
        cost -= 1
    return max(cost, 1)


def _encode(value: str) -> str:
    return quote(value, safe="$,'()/:=@-._~*")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The first page of a collection; later pages follow ``@odata.nextLink``."""

    version: str
    path: str
    top: int | None = None
    select: tuple[str, ...] = ()
    filter: str | None = None
    expand: str | None = None

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.filter:
            out["$filter"] = self.filter
        if self.expand:
            out["$expand"] = self.expand
        if self.select:
            out["$select"] = ",".join(self.select)
        if self.top is not None:
            out["$top"] = str(self.top)
        return out

    def relative(self) -> str:
        """Path and query without the version (``$batch`` form)."""
        params = self.params()
        query = "&".join(f"{key}={_encode(value)}" for key, value in params.items())
        return f"{self.path}?{query}" if query else self.path

    def url(self) -> str:
        """Path and query with the version, e.g. ``/v1.0/users?$select=id&$top=999``."""
        return f"/{self.version}{self.relative()}"

    @property
    def family(self) -> Family:
        return family_of(self.path)

    @property
    def cost(self) -> int:
        return request_cost(self.path, self.params())


@dataclass(frozen=True, slots=True)
class ChildQuery:
    """A per-object list read for each item of a collection, stored on the item under ``key``."""

    key: str
    path: str  # with {id}
    top: int | None = None
    select: tuple[str, ...] = ()

    def for_id(self, object_id: str) -> ListQuery:
        return ListQuery("v1.0", self.path.replace("{id}", quote(object_id, safe="")), self.top, self.select)

    @property
    def cost(self) -> int:
        return self.for_id("x").cost


@dataclass(frozen=True, slots=True)
class CollectionPlan:
    """How one collection is read. ``query`` is None for the per-user methods."""

    name: str
    query: ListQuery | None
    children: tuple[ChildQuery, ...] = ()
    extra_permissions: tuple[str, ...] = ()
    note: str = ""

    @property
    def spec(self) -> CollectionSpec:
        return COLLECTIONS[self.name]

    @property
    def family(self) -> Family:
        return self.query.family if self.query is not None else "directory"

    @property
    def permission(self) -> str:
        return self.spec.permission

    @property
    def is_log(self) -> bool:
        return self.name in LOGS


LOGS = ("directoryAudits", "signIns")

# The properties the checks, reports and paths read. Graph sends every other default property too when
# nothing is selected; $select also takes one resource unit off the cost of users and group members.
USER_SELECT = (
    "id",
    "displayName",
    "userPrincipalName",
    "mail",
    "userType",
    "accountEnabled",
    "onPremisesSyncEnabled",
    "createdDateTime",
    "department",
    "jobTitle",
)
GROUP_SELECT = (
    "id",
    "displayName",
    "description",
    "createdDateTime",
    "groupTypes",
    "isAssignableToRole",
    "securityEnabled",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "visibility",
)
MEMBER_SELECT = ("id", "displayName", "userPrincipalName")
SERVICE_PRINCIPAL_SELECT = (
    "id",
    "appId",
    "displayName",
    "accountEnabled",
    "servicePrincipalType",
    "appOwnerOrganizationId",
    "signInAudience",
    "tags",
)

_DIRECTORY_ROLE_SCOPE = "scopeId eq '/' and scopeType eq 'DirectoryRole'"
# Graph lists interactive sign-ins only unless the filter names the event types (beta).
USER_SIGN_INS = (
    "(signInEventTypes/any(t: t eq 'interactiveUser') or signInEventTypes/any(t: t eq 'nonInteractiveUser'))"
)

PLAN: tuple[CollectionPlan, ...] = (
    CollectionPlan("users", ListQuery("v1.0", "/users", 999, USER_SELECT)),
    CollectionPlan(
        "groups",
        ListQuery("v1.0", "/groups", 999, GROUP_SELECT),
        children=(
            ChildQuery("members", "/groups/{id}/members", 999, MEMBER_SELECT),
            ChildQuery("owners", "/groups/{id}/owners", 999, MEMBER_SELECT),
        ),
        note="members and owners paged per group, in $batch requests of 20",
    ),
    CollectionPlan("roleDefinitions", ListQuery("v1.0", "/roleManagement/directory/roleDefinitions")),
    CollectionPlan("roleAssignments", ListQuery("v1.0", "/roleManagement/directory/roleAssignments")),
    CollectionPlan(
        "roleEligibilitySchedules", ListQuery("v1.0", "/roleManagement/directory/roleEligibilitySchedules")
    ),
    CollectionPlan(
        "roleAssignmentScheduleInstances",
        ListQuery("v1.0", "/roleManagement/directory/roleAssignmentScheduleInstances"),
    ),
    CollectionPlan(
        "roleManagementPolicies",
        ListQuery("v1.0", "/policies/roleManagementPolicies", filter=_DIRECTORY_ROLE_SCOPE, expand="rules"),
    ),
    CollectionPlan(
        "roleManagementPolicyAssignments",
        ListQuery("v1.0", "/policies/roleManagementPolicyAssignments", filter=_DIRECTORY_ROLE_SCOPE),
    ),
    CollectionPlan(
        "authenticationStrengthPolicies", ListQuery("v1.0", "/policies/authenticationStrengthPolicies")
    ),
    CollectionPlan("authenticationMethodsPolicy", ListQuery("v1.0", "/policies/authenticationMethodsPolicy")),
    CollectionPlan(
        "servicePrincipals",
        ListQuery("v1.0", "/servicePrincipals", 999, SERVICE_PRINCIPAL_SELECT),
        children=(ChildQuery("appRoleAssignments", "/servicePrincipals/{id}/appRoleAssignments", 999),),
        note="appRoleAssignments read per principal, in $batch requests of 20",
    ),
    CollectionPlan("conditionalAccessPolicies", ListQuery("v1.0", "/identity/conditionalAccess/policies")),
    CollectionPlan("namedLocations", ListQuery("v1.0", "/identity/conditionalAccess/namedLocations")),
    CollectionPlan(
        "userRegistrationDetails",
        ListQuery("v1.0", "/reports/authenticationMethods/userRegistrationDetails", 999),
    ),
    CollectionPlan(
        "authenticationMethods",
        None,
        note=(
            "read only for privileged users (role assignments and eligibilities, members of role-assignable "
            "groups included) and for users whose registration report shows a Temporary Access Pass, in "
            "$batch requests of 20; everyone else is covered by userRegistrationDetails"
        ),
    ),
    CollectionPlan(
        "directoryAudits",
        ListQuery("v1.0", "/auditLogs/directoryAudits", 1000),
        extra_permissions=("Directory.Read.All",),
    ),
    CollectionPlan(
        "signIns",
        ListQuery("beta", "/auditLogs/signIns", 1000, filter=USER_SIGN_INS),
        extra_permissions=("Directory.Read.All",),
        note=(
            "beta, interactive and non-interactive user sign-ins: only beta sign-ins carry "
            "authenticationDetails (which method was used) and the non-interactive ones"
        ),
    ),
)

_BY_NAME = {p.name: p for p in PLAN}
assert set(_BY_NAME) == set(COLLECTIONS), "the plan must cover every snapshot collection"


def plan_for(name: str) -> CollectionPlan:
    return _BY_NAME[name]


def log_query(name: str, since: datetime | None) -> ListQuery:
    """The log collection's query, limited to records at or after ``since`` (UTC) when given."""
    base = plan_for(name).query
    assert base is not None
    if since is None:
        return base
    stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    if name == "directoryAudits":
        return ListQuery(base.version, base.path, base.top, base.select, f"activityDateTime ge {stamp}")
    return ListQuery(
        base.version, base.path, base.top, base.select, f"createdDateTime ge {stamp} and {USER_SIGN_INS}"
    )


def permissions(names: Iterable[str] | None = None) -> list[str]:
    """The distinct Graph application permissions the plan needs (least privilege), in plan order."""
    wanted = set(names) if names is not None else None
    out: list[str] = []
    for plan in PLAN:
        if wanted is not None and plan.name not in wanted:
            continue
        for perm in (*plan.permission.split(" and "), *plan.extra_permissions):
            perm = perm.strip()
            if perm and perm not in out:
                out.append(perm)
    return out


# ---- which users get a per-user methods read -----------------------------------------------------------


def has_temporary_access_pass(row: Mapping[str, Any]) -> bool:
    """A registration-report row whose ``methodsRegistered`` lists a Temporary Access Pass."""
    names = row.get("methodsRegistered")
    if not isinstance(names, list):
        return False
    return any(isinstance(n, str) and n.casefold() == "temporaryaccesspass" for n in names)


def method_candidates(
    principals: Iterable[str], role_groups: Mapping[str, Iterable[str]], pass_holders: Iterable[str]
) -> list[str]:
    """Users whose methods the plan reads, sorted: role holders (``principals`` of role assignments,
    eligibilities and activations; a role-assignable group stands for its members) and pass holders."""
    groups = {key.casefold(): value for key, value in role_groups.items()}
    wanted: set[str] = set()
    for principal in principals:
        key = principal.casefold()
        if key in groups:
            wanted.update(m.casefold() for m in groups[key])
        else:
            wanted.add(key)
    wanted.update(u.casefold() for u in pass_holders)
    wanted.discard("")
    return sorted(wanted)


# ---- the least number of requests the plan needs, for the benchmark ----------------------------------


@dataclass(frozen=True, slots=True)
class TenantSize:
    """What decides the request count: objects per collection and, per group / principal, child counts."""

    counts: Mapping[str, int]  # collection -> number of objects (logs: records in the window)
    members: tuple[int, ...] = ()  # per group
    owners: tuple[int, ...] = ()  # per group
    app_role_assignments: tuple[int, ...] = ()  # per service principal
    method_reads: int = 0  # users whose methods the plan reads
    default_pages: Mapping[str, int] = field(default_factory=dict)  # page size where the plan sets no $top


@dataclass(frozen=True, slots=True)
class MinimumPlan:
    requests: dict[Family, int]  # HTTP requests
    units: dict[Family, int]  # budget units they spend

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def seconds(self, users: int) -> float:
        """The throttle-bound floor: the slowest family, each spending its bucket then waiting for refills."""
        worst = 0.0
        for family, units in self.units.items():
            budget = budget_for(family, users)
            worst = max(worst, max(0.0, units - budget.units) / budget.rate)
        return worst


def _pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


def minimum_requests(size: TenantSize, *, logs: bool = True) -> MinimumPlan:
    """The fewest requests (and budget units) this plan can read a tenant of ``size`` with."""
    requests: dict[Family, int] = {"directory": 0, "reports": 0, "conditionalAccess": 0}
    units: dict[Family, int] = {"directory": 0, "reports": 0, "conditionalAccess": 0}
    for plan in PLAN:
        if plan.is_log and not logs:
            continue
        if plan.query is None:  # per-user methods: batches of 20 single-page reads
            n = size.method_reads
            requests["directory"] += math.ceil(n / BATCH_SIZE)
            units["directory"] += n * request_cost(METHODS_PATH)
            continue
        query = plan.query
        page = query.top or size.default_pages.get(plan.name, 100)
        count = size.counts.get(plan.name, 0)
        pages = 1 if plan.spec.shape == "singleton" else _pages(count, page)
        requests[query.family] += pages
        units[query.family] += pages * query.cost
        first_pages = 0  # the children's first pages share $batch requests
        for child in plan.children:
            per_object = {
                "members": size.members,
                "owners": size.owners,
                "appRoleAssignments": size.app_role_assignments,
            }[child.key]
            first_pages += len(per_object)
            extra = sum(_pages(n, child.top or 100) - 1 for n in per_object)
            requests["directory"] += extra
            units["directory"] += (len(per_object) + extra) * child.cost
        requests["directory"] += math.ceil(first_pages / BATCH_SIZE)
    return MinimumPlan(requests, units)
