"""Who may make which request: Entra roles for delegated tokens, Graph application permissions for apps.

Delegated (a user's token): reads that every member may make (users, groups, role definitions and
assignments, service principals) need no role; the others need a role that
:func:`graphlattice.entra.admin_actions.can_perform` allows. Writes are not checked here: they run as the
Range's actions, which apply Entra's authority rules themselves (and journal a refusal).

Application (a service principal's token): the permissions the service principal holds on Microsoft Graph
(its ``appRoleAssignments``; an ``appRoleId`` is named by the Microsoft Graph service principal's
``appRoles`` in the tenant, else by :data:`graphlattice.entra.permissions.GRAPH_APP_PERMISSIONS`). Each
:class:`Access` lists, per Microsoft Graph's permission tables (reference/graph.md §1.5, §2.1, §3.1, §4.2,
§5, §6; the API pages' "Permissions" sections), groups of permissions: one permission of every group is
needed (audit and sign-in logs need ``AuditLog.Read.All`` *and* ``Directory.Read.All``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphlattice.entra.admin_actions import AdminAction, can_perform
from graphlattice.server.auth import Principal
from graphlattice.server.errors import FORBIDDEN, GraphError

__all__ = ["Access", "authorize", "method_access"]

_DIR_READ = ("Directory.Read.All", "Directory.ReadWrite.All")


@dataclass(frozen=True, slots=True)
class Access:
    """One kind of request. ``app``: groups of application permissions, one of each group needed (an empty
    tuple: no application may do it). ``delegated``: the admin action a user's roles must allow (None: any
    user of the tenant). ``self_allowed``: a user may do it on their own account without that role."""

    label: str
    app: tuple[tuple[str, ...], ...]
    delegated: AdminAction | None = None
    self_allowed: bool = False


READ_USERS = Access("read users", (("User.Read.All", "User.ReadWrite.All", *_DIR_READ),))
READ_GROUPS = Access(
    "read groups",
    (("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", *_DIR_READ),),
)
_APP_READ = ("Application.Read.All", "Application.ReadWrite.All", *_DIR_READ)
READ_SERVICE_PRINCIPALS = Access("read service principals", (_APP_READ,))
# Every member user may read the following (learn.microsoft.com/entra/fundamentals/users-default-permissions,
# ms.date 2026-06-18: member users read all applications, company information and tenant-wide directory
# settings, all administrative roles and memberships, all properties of policies); applications need the
# permissions of each API's page (directoryrole-list, application-list, groupsetting-list, organization-get,
# identitysecuritydefaultsenforcementpolicy-get, authorizationpolicy-get).
READ_APPLICATIONS = Access("read applications", (_APP_READ,))
READ_DIRECTORY_ROLES = Access(
    "read directory roles",
    (("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", *_DIR_READ),),
)
READ_ORGANIZATION = Access(
    "read the organization", (("Organization.Read.All", "Organization.ReadWrite.All", *_DIR_READ),)
)
READ_GROUP_SETTINGS = Access(
    "read group settings", (("GroupSettings.Read.All", "GroupSettings.ReadWrite.All", *_DIR_READ),)
)
READ_SECURITY_DEFAULTS = Access(
    "read the security defaults policy", (("Policy.Read.All", "Policy.ReadWrite.SecurityDefaults"),)
)
READ_AUTHORIZATION_POLICY = Access(
    "read the authorization policy", (("Policy.Read.All", "Policy.ReadWrite.Authorization"),)
)
# user.signInActivity (user resource page: "Returned only on $select"; needs AuditLog.Read.All besides the
# user read permission, and for a signed-in user a role that reads sign-in reports).
READ_SIGN_IN_ACTIVITY = Access(
    "read users' sign-in activity", (("AuditLog.Read.All",),), AdminAction.READ_SIGN_IN_LOGS
)
READ_APP_ROLE_ASSIGNMENTS = Access(
    "read app role assignments",
    (("Application.Read.All", "AppRoleAssignment.ReadWrite.All", "Application.ReadWrite.All", *_DIR_READ),),
)
READ_ROLES = Access(
    "read directory roles",
    (
        (
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
            *_DIR_READ,
        ),
    ),
)
READ_ELIGIBILITY = Access(
    "read role eligibility schedules",
    (
        (
            "RoleEligibilitySchedule.Read.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleEligibilitySchedule.ReadWrite.Directory",
            "RoleManagement.ReadWrite.Directory",
        ),
    ),
    AdminAction.READ_ROLE_MANAGEMENT,
)
READ_ASSIGNMENT_SCHEDULES = Access(
    "read role assignment schedules",
    (
        (
            "RoleAssignmentSchedule.Read.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleManagement.ReadWrite.Directory",
        ),
    ),
    AdminAction.READ_ROLE_MANAGEMENT,
)
READ_ROLE_POLICIES = Access(
    "read role management policies",
    (
        (
            "RoleManagementPolicy.Read.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagementPolicy.ReadWrite.Directory",
            "RoleManagement.ReadWrite.Directory",
        ),
    ),
    AdminAction.READ_ROLE_MANAGEMENT,
)
READ_CONDITIONAL_ACCESS = Access(
    "read Conditional Access policies",
    (("Policy.Read.ConditionalAccess", "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"),),
    AdminAction.READ_CONDITIONAL_ACCESS,
)
READ_STRENGTHS = Access(
    "read authentication strength policies",
    (
        (
            "Policy.Read.ConditionalAccess",
            "Policy.Read.All",
            "Policy.ReadWrite.ConditionalAccess",
            "Policy.ReadWrite.AuthenticationMethod",
        ),
    ),
    AdminAction.READ_CONDITIONAL_ACCESS,
)
READ_METHODS_POLICY = Access(
    "read the authentication methods policy",
    (("Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod", "Policy.Read.All"),),
    AdminAction.READ_AUTH_METHODS_POLICY,
)
READ_REGISTRATION_DETAILS = Access(
    "read authentication methods usage reports",
    (("AuditLog.Read.All", "UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"),),
    AdminAction.READ_AUTH_METHOD_REPORTS,
)
READ_AUDITS = Access("read audit logs", (("AuditLog.Read.All",), _DIR_READ), AdminAction.READ_AUDIT_LOGS)
READ_SIGN_INS = Access(
    "read sign-in logs", (("AuditLog.Read.All",), _DIR_READ), AdminAction.READ_SIGN_IN_LOGS
)
READ_CA_IN_SIGN_INS = Access(
    "see applied Conditional Access policies in sign-ins",
    (("Policy.Read.ConditionalAccess", "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"),),
    AdminAction.READ_CONDITIONAL_ACCESS,
)

# Writes: the application side only (a user's writes are decided by the Range's actions).
WRITE_USER = Access(
    "update users", (("User.EnableDisableAccount.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),)
)
REVOKE_SESSIONS = Access(
    "revoke sign-in sessions", (("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),)
)
RESET_PASSWORD = Access("reset passwords", ())  # delegated only: no application permission exists
WRITE_GROUP_MEMBERS = Access(
    "change group members", (("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"),)
)
WRITE_CONDITIONAL_ACCESS = Access(
    "change Conditional Access policies", (("Policy.ReadWrite.ConditionalAccess",), ("Policy.Read.All",))
)
WRITE_METHODS_POLICY = Access(
    "change the authentication methods policy", (("Policy.ReadWrite.AuthenticationMethod",),)
)
WRITE_ROLE_POLICIES = Access(
    "change role management policies",
    (("RoleManagementPolicy.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory"),),
)
WRITE_ROLES = Access(
    "change role assignments and eligibility",
    (
        (
            "RoleManagement.ReadWrite.Directory",
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleEligibilitySchedule.ReadWrite.Directory",
        ),
    ),
)

# Per-method permission families (UserAuthMethod-<M>.*), reference/graph.md §1.5.
_METHOD_FAMILY = {
    "temporaryAccessPassMethods": "TAP",
    "microsoftAuthenticatorMethods": "MicrosoftAuthApp",
    "fido2Methods": "Passkey",
    "phoneMethods": "Phone",
    "softwareOathMethods": "SoftwareOATH",
    "emailMethods": "Email",
    "windowsHelloForBusinessMethods": "WindowsHello",
    "passwordMethods": "Password",
    "platformCredentialMethods": "PlatformCred",
}


def method_access(collection: str | None, *, write: bool) -> Access:
    """Reading or changing a user's methods (``collection`` None: the polymorphic ``methods``)."""
    family = _METHOD_FAMILY.get(collection or "")
    if write:
        names = ((f"UserAuthMethod-{family}.ReadWrite.All",) if family else ()) + (
            "UserAuthenticationMethod.ReadWrite.All",
        )
        return Access("change users' authentication methods", (names,))
    names = (
        (f"UserAuthMethod-{family}.Read.All", f"UserAuthMethod-{family}.ReadWrite.All") if family else ()
    ) + ("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All")
    return Access(
        "read users' authentication methods", (names,), AdminAction.READ_USER_AUTH_METHODS, self_allowed=True
    )


def _denied(message: str) -> GraphError:
    return GraphError(403, FORBIDDEN, f"Insufficient privileges to complete the operation. {message}")


def app_allows(access: Access, held: frozenset[str]) -> bool:
    """Whether application permissions ``held`` (lower-case names) satisfy ``access``."""
    return bool(access.app) and all(any(n.casefold() in held for n in group) for group in access.app)


def authorize(
    principal: Principal,
    access: Access,
    *,
    roles: Callable[[], frozenset[str]],
    app_permissions: Callable[[], frozenset[str]],
    target_user_id: str | None = None,
) -> None:
    """Raise 403 unless ``principal`` may do ``access``. ``roles``: its active Entra roles (a user);
    ``app_permissions``: lower-case permission names (an app). Both are computed only when needed."""
    if principal.kind == "app":
        if app_allows(access, app_permissions()):
            return
        if not access.app:
            raise _denied(f"No application permission allows an application to {access.label}.")
        needed = " and ".join(" or ".join(group) for group in access.app)
        raise _denied(f"The application needs {needed} to {access.label}.")
    if access.delegated is None:
        return
    if (
        access.self_allowed
        and target_user_id is not None
        and target_user_id.casefold() == principal.object_id
    ):
        return
    decision = can_perform(access.delegated, roles())
    if not decision.allowed:
        raise _denied(decision.reason + ".")


def may(
    principal: Principal,
    access: Access,
    *,
    roles: Callable[[], frozenset[str]],
    app_permissions: Callable[[], frozenset[str]],
) -> bool:
    """:func:`authorize` as a yes/no (for data that is silently left out, like CA results in sign-ins)."""
    try:
        authorize(principal, access, roles=roles, app_permissions=app_permissions)
    except GraphError:
        return False
    return True
