"""Entra semantics in one place: roles, who may act on whom, TAP policy, authentication strengths and
methods, Graph application permissions and a Conditional Access evaluator. Every rule table is data under
``graphlattice/entra/data`` with the Microsoft source it was taken from."""

from __future__ import annotations

from graphlattice.entra.admin_actions import AdminAction, can_perform, roles_for
from graphlattice.entra.authority import (
    ELIGIBLE_ROLES_PROTECT_TARGET,
    Action,
    Decision,
    TargetProfile,
    decide,
    roles_able_to,
)
from graphlattice.entra.ca import AccessDecision, GrantRequirement, PolicyResult, access_decision, evaluate
from graphlattice.entra.methods import (
    AUTH_METHOD_MODES,
    MethodKind,
    canonical_mode,
    canonical_modes,
    classify_method,
    classify_registered,
)
from graphlattice.entra.permissions import (
    GRAPH_APP_PERMISSIONS,
    MICROSOFT_GRAPH_APP_ID,
    TAP_WRITING_APP_PERMISSIONS,
    AppPermission,
    permission_id,
    permission_name,
)
from graphlattice.entra.registration import (
    ONE_TIME_TAP_REGISTRATION_MINUTES,
    PASSKEY_RECENT_MFA_MINUTES,
    SECURITY_INFO_SESSION_MINUTES,
    RegistrationContext,
    may_register,
)
from graphlattice.entra.roles import (
    ROLE_CATALOG,
    TAP_ISSUER_ROLES,
    RoleInfo,
    get_role,
    is_privileged,
    role_display_name,
)
from graphlattice.entra.signin import SignInContext
from graphlattice.entra.strengths import (
    BUILTIN_STRENGTHS,
    MFA_STRENGTH_ID,
    PASSWORDLESS_MFA_STRENGTH_ID,
    PHISHING_RESISTANT_MFA_STRENGTH_ID,
    Strength,
    accepts_tap,
    satisfied_by,
)
from graphlattice.entra.tap import MethodTarget, TapGrant, TapPolicy, TapPolicyViolation
from graphlattice.entra.tokens import (
    CredentialEvent,
    TokenKind,
    is_password_based,
    revokes,
    survives,
    token_expiry_with_tap,
    valid_after_revocation,
)

__all__ = [
    "AUTH_METHOD_MODES",
    "BUILTIN_STRENGTHS",
    "ELIGIBLE_ROLES_PROTECT_TARGET",
    "GRAPH_APP_PERMISSIONS",
    "MFA_STRENGTH_ID",
    "MICROSOFT_GRAPH_APP_ID",
    "ONE_TIME_TAP_REGISTRATION_MINUTES",
    "PASSKEY_RECENT_MFA_MINUTES",
    "PASSWORDLESS_MFA_STRENGTH_ID",
    "PHISHING_RESISTANT_MFA_STRENGTH_ID",
    "ROLE_CATALOG",
    "SECURITY_INFO_SESSION_MINUTES",
    "TAP_ISSUER_ROLES",
    "TAP_WRITING_APP_PERMISSIONS",
    "AccessDecision",
    "Action",
    "AdminAction",
    "AppPermission",
    "CredentialEvent",
    "Decision",
    "GrantRequirement",
    "MethodKind",
    "MethodTarget",
    "PolicyResult",
    "RegistrationContext",
    "RoleInfo",
    "SignInContext",
    "Strength",
    "TapGrant",
    "TapPolicy",
    "TapPolicyViolation",
    "TargetProfile",
    "TokenKind",
    "accepts_tap",
    "access_decision",
    "can_perform",
    "canonical_mode",
    "canonical_modes",
    "classify_method",
    "classify_registered",
    "decide",
    "evaluate",
    "get_role",
    "is_password_based",
    "is_privileged",
    "may_register",
    "permission_id",
    "permission_name",
    "revokes",
    "role_display_name",
    "roles_able_to",
    "roles_for",
    "satisfied_by",
    "survives",
    "token_expiry_with_tap",
    "valid_after_revocation",
]
