"""The snapshot collections: file name, Graph source, and the least-privilege permission that reads each.

One table serves the loader (what to read), the checks (what they need), the reports (what to grant when a
collection is missing) and, later, the collector (what to request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Shape = Literal["list", "singleton", "jsonl"]


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    name: str
    shape: Shape
    graph_path: str
    permission: str
    optional: bool = False
    note: str = ""
    # Properties the checks read that Graph does not return unless asked for with $select.
    select: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.name}.jsonl" if self.shape == "jsonl" else f"{self.name}.json"

    @property
    def request(self) -> str:
        """The Graph request that reads this collection, with its ``$select`` when it needs one."""
        path = self.graph_path.removeprefix("/v1.0")
        return f"GET {path}?$select={','.join(self.select)}" if self.select else f"GET {path}"


_SPECS = (
    CollectionSpec(
        "users",
        "list",
        "/v1.0/users",
        "User.Read.All",
        # A plain GET /users returns none of accountEnabled, userType and onPremisesSyncEnabled.
        select=(
            "id",
            "displayName",
            "userPrincipalName",
            "userType",
            "accountEnabled",
            "onPremisesSyncEnabled",
        ),
    ),
    CollectionSpec(
        "groups",
        "list",
        "/v1.0/groups (+ /members and /owners paged per group)",
        "GroupMember.Read.All",
        note="each group carries complete members and owners arrays",
    ),
    CollectionSpec(
        "roleDefinitions",
        "list",
        "/v1.0/roleManagement/directory/roleDefinitions",
        "RoleManagement.Read.Directory",
    ),
    CollectionSpec(
        "roleAssignments",
        "list",
        "/v1.0/roleManagement/directory/roleAssignments",
        "RoleManagement.Read.Directory",
    ),
    CollectionSpec(
        "roleEligibilitySchedules",
        "list",
        "/v1.0/roleManagement/directory/roleEligibilitySchedules",
        "RoleEligibilitySchedule.Read.Directory",
        note="needs Entra ID P2 or ID Governance",
    ),
    CollectionSpec(
        "roleManagementPolicies",
        "list",
        "/v1.0/policies/roleManagementPolicies?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'"
        "&$expand=rules",
        "RoleManagementPolicy.Read.Directory",
    ),
    CollectionSpec(
        "roleManagementPolicyAssignments",
        "list",
        "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq "
        "'DirectoryRole'",
        "RoleManagementPolicy.Read.Directory",
    ),
    CollectionSpec(
        "conditionalAccessPolicies",
        "list",
        "/v1.0/identity/conditionalAccess/policies",
        "Policy.Read.All",
        note="needs Entra ID P1",
    ),
    CollectionSpec(
        "namedLocations", "list", "/v1.0/identity/conditionalAccess/namedLocations", "Policy.Read.All"
    ),
    CollectionSpec(
        "authenticationStrengthPolicies",
        "list",
        "/v1.0/policies/authenticationStrengthPolicies",
        "Policy.Read.All",
    ),
    CollectionSpec(
        "authenticationMethodsPolicy",
        "singleton",
        "/v1.0/policies/authenticationMethodsPolicy",
        "Policy.Read.AuthenticationMethod",
    ),
    CollectionSpec(
        "userRegistrationDetails",
        "list",
        "/v1.0/reports/authenticationMethods/userRegistrationDetails",
        "AuditLog.Read.All",
        note="needs Entra ID P1",
    ),
    CollectionSpec(
        "servicePrincipals",
        "list",
        "/v1.0/servicePrincipals (+ /appRoleAssignments per principal)",
        "Application.Read.All",
    ),
    CollectionSpec(
        "authenticationMethods",
        "jsonl",
        "/v1.0/users/{id}/authentication/methods",
        "UserAuthenticationMethod.Read.All",
        note="one line per user read; coverage is recorded in the manifest",
    ),
    CollectionSpec(
        "roleAssignmentScheduleInstances",
        "list",
        "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances",
        "RoleAssignmentSchedule.Read.Directory",
        optional=True,
        note="tells PIM activations from standing assignments",
    ),
    CollectionSpec(
        "directoryAudits",
        "jsonl",
        "/v1.0/auditLogs/directoryAudits",
        "AuditLog.Read.All and Directory.Read.All",
        optional=True,
    ),
    CollectionSpec(
        "signIns",
        "jsonl",
        "/beta/auditLogs/signIns",
        "AuditLog.Read.All and Directory.Read.All",
        optional=True,
        note="needs Entra ID P1",
    ),
)

COLLECTIONS: dict[str, CollectionSpec] = {spec.name: spec for spec in _SPECS}
CORE_COLLECTIONS: tuple[str, ...] = tuple(s.name for s in _SPECS if not s.optional)


def spec(name: str) -> CollectionSpec:
    return COLLECTIONS[name]
