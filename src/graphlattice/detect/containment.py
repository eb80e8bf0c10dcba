"""Containment plans, defined per rule as data: which Graph calls dislodge the attacker, in order.

A plan step is a description of one Graph request (method, path, body) on one principal of the incident,
or a review (a read the analyst looks at) or a note. Ids the logs cannot give — an audit record never
carries the id of the method it registered — are ``{placeholders}`` with a ``resolve`` hint: which list
to read and what to match (method type, registration time, device name). ``graphlattice respond`` resolves
them against the live tenant, shows the calls, and only then executes them; nothing here calls Graph.

The order matters: delete what the attacker registered, then revoke sessions (revoking first would let
them mint new tokens with their own methods), then deal with the person who let them in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

__all__ = [
    "METHOD_COLLECTIONS",
    "METHOD_NAMES",
    "PLANS",
    "ROOT_CAUSES",
    "PlanContext",
    "RegisteredMethod",
    "StepTemplate",
    "build_plan",
]

PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"  # the fixed id of every user's password method

METHOD_COLLECTIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "microsoftAuthenticator": (
            "microsoftAuthenticatorMethods",
            "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
        ),
        "fido2": ("fido2Methods", "#microsoft.graph.fido2AuthenticationMethod"),
        "phone": ("phoneMethods", "#microsoft.graph.phoneAuthenticationMethod"),
        "softwareOath": ("softwareOathMethods", "#microsoft.graph.softwareOathAuthenticationMethod"),
        "windowsHelloForBusiness": (
            "windowsHelloForBusinessMethods",
            "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
        ),
        "email": ("emailMethods", "#microsoft.graph.emailAuthenticationMethod"),
        "temporaryAccessPass": (
            "temporaryAccessPassMethods",
            "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        ),
    }
)
"""Method type (the ``method_type`` field) -> (collection under /users/{id}/authentication, @odata.type)."""

METHOD_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "microsoftAuthenticator": "Microsoft Authenticator",
        "fido2": "passkey (FIDO2)",
        "phone": "phone",
        "softwareOath": "software OATH token",
        "hardwareOath": "hardware OATH token",
        "windowsHelloForBusiness": "Windows Hello for Business",
        "email": "email",
        "temporaryAccessPass": "Temporary Access Pass",
    }
)


@dataclass(frozen=True, slots=True)
class RegisteredMethod:
    """A method an incident says was registered (one or more audit records describe it)."""

    method_type: str | None
    time: str  # ISO UTC
    device_name: str | None
    records: tuple[str, ...]
    description: str  # the audit wording, e.g. "User registered Fido"


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What a plan is filled from: the incident's principals and facts."""

    principals: Mapping[str, Mapping[str, Any]]  # role -> {"id", "type" ("user"/"app"), "displayName", ...}
    methods: Sequence[RegisteredMethod] = ()
    tap_id: str | None = None
    role_template_id: str | None = None
    role_name: str | None = None


@dataclass(frozen=True, slots=True)
class StepTemplate:
    action: str
    principal: str  # which incident principal the step acts on
    summary: str  # may use {name}, {method}, {time}, {device}, {role}
    kind: str = "change"  # change (a write), review (a read to look at), note (no call)
    method: str | None = None
    path: str | None = None  # with {id}, {methodId}, {tapId}, {roleId}
    body: Mapping[str, Any] | None = None
    version: str = "v1.0"
    for_each: str | None = None  # "method": one step per registered method
    condition: str | None = None  # when the step applies, in words
    principal_type: str = "user"  # the step applies only to a principal of this type
    verify: str | None = None  # a GET (path like ``path``) that shows the change took effect


def _revoke(principal: str, summary: str, condition: str | None = None) -> StepTemplate:
    return StepTemplate(
        "revoke-sessions",
        principal,
        summary,
        method="POST",
        path="/users/{id}/revokeSignInSessions",
        condition=condition,
        verify="/users/{id}?$select=signInSessionsValidFromDateTime",
    )


_DELETE_METHODS = StepTemplate(
    "delete-method",
    "target",
    "Delete the {method} registered at {time}{device}",
    method="DELETE",
    path="/users/{id}/authentication/{collection}/{methodId}",
    for_each="method",
    verify="/users/{id}/authentication/{collection}",
)
_DELETE_TAP = StepTemplate(
    "delete-temporary-access-pass",
    "target",
    "Delete the Temporary Access Pass of {name} so it cannot bootstrap again (a user holds at most one)",
    method="DELETE",
    path="/users/{id}/authentication/temporaryAccessPassMethods/{tapId}",
    verify="/users/{id}/authentication/temporaryAccessPassMethods",
)
_NO_PASSWORD_RESET = StepTemplate(
    "note-password-reset",
    "target",
    "A password reset does not help here: the attacker signs in with the methods they registered, not with "
    "the password. Contain by deleting those methods and revoking sessions",
    kind="note",
)
_RESET_PASSWORD = StepTemplate(
    "reset-password",
    "target",
    "Reset the password of {name} as well: this takeover began with a password someone else knows",
    method="POST",
    path="/users/{id}/authentication/methods/" + PASSWORD_METHOD_ID + "/resetPassword",
    body={},
)
_REVIEW_METHODS = StepTemplate(
    "review-methods",
    "target",
    "List the methods of {name} and delete any registered since the pass that the user does not recognise",
    kind="review",
    method="GET",
    path="/users/{id}/authentication/methods",
)
_REVIEW_ISSUER_ROLES = StepTemplate(
    "review-roles",
    "issuer",
    "Review why {name} can issue passes: remove the role, or make it eligible with approval in PIM",
    kind="review",
    method="GET",
    path="/roleManagement/directory/roleAssignments?$filter=principalId eq '{id}'&$expand=roleDefinition",
)
_CONFIRM = "unless the issuer and the user confirm this pass"
_PASS_UNCONFIRMED = (
    replace(_DELETE_TAP, condition=_CONFIRM),
    replace(_REVIEW_METHODS, condition=_CONFIRM),
    _revoke("target", "Revoke every session and refresh token of {name}", _CONFIRM),
    _revoke("issuer", "Revoke the sessions of {name}, who issued the pass", _CONFIRM),
    replace(_REVIEW_ISSUER_ROLES, condition=_CONFIRM),
)

PLANS: Mapping[str, tuple[StepTemplate, ...]] = MappingProxyType(
    {
        "tap-bootstrapped-persistence": (
            _DELETE_METHODS,
            _DELETE_TAP,
            _revoke("target", "Revoke every session and refresh token of {name}"),
            _NO_PASSWORD_RESET,
            _revoke("issuer", "Revoke the sessions of {name}, who issued the pass"),
            StepTemplate(
                "review-app",
                "issuer",
                "The pass was issued by the app {name}: review its credentials and permissions",
                kind="review",
                method="GET",
                path="/servicePrincipals(appId='{id}')/appRoleAssignments",
                principal_type="app",
            ),
            _REVIEW_ISSUER_ROLES,
        ),
        "tap-issued-to-privileged-user": _PASS_UNCONFIRMED,
        "tap-issued-outside-hours": _PASS_UNCONFIRMED,
        "tap-issued-without-ticket": _PASS_UNCONFIRMED,
        "security-info-registered-without-mfa": (
            replace(_DELETE_METHODS, principal="user", condition="unless the user confirms the registration"),
            replace(
                _revoke("user", "Revoke every session and refresh token of {name}"),
                condition="unless the user confirms the registration",
            ),
            replace(_RESET_PASSWORD, principal="user", condition="unless the user confirms the registration"),
        ),
        "mfa-methods-reset-then-reregistered": (
            _DELETE_METHODS,
            _revoke("target", "Revoke every session and refresh token of {name}"),
            _RESET_PASSWORD,
            StepTemplate(
                "review-admin",
                "admin",
                "Ask {name} how the caller was verified before the reset; read their other resets",
                kind="review",
                method="GET",
                path="/auditLogs/directoryAudits?$filter=initiatedBy/user/id eq '{id}'",
            ),
            StepTemplate(
                "note-reenrol",
                "target",
                "Let the real user re-register in person, with a one-time pass issued after verifying them",
                kind="note",
            ),
        ),
        "strong-auth-disabled": (
            StepTemplate(
                "enforce-mfa",
                "target",
                "Turn per-user MFA back on for {name} (or confirm a Conditional Access policy requires MFA)",
                method="PATCH",
                path="/users/{id}/authentication/requirements",
                body={"perUserMfaState": "enforced"},
                version="beta",
                verify="/users/{id}/authentication/requirements",
            ),
            _revoke("target", "Revoke every session and refresh token of {name}"),
            _REVIEW_METHODS,
            StepTemplate(
                "review-admin",
                "admin",
                "Ask {name} why MFA was switched off; read what else they changed",
                kind="review",
                method="GET",
                path="/auditLogs/directoryAudits?$filter=initiatedBy/user/id eq '{id}'",
            ),
        ),
        "tap-issuer-role-activated-without-approval": (
            StepTemplate(
                "review-assignment",
                "assignee",
                "Confirm with {name} why they hold {role} without an approval",
                kind="review",
                method="GET",
                path="/roleManagement/directory/roleAssignmentScheduleInstances?"
                "$filter=principalId eq '{id}' and roleDefinitionId eq '{roleId}'",
            ),
            StepTemplate(
                "remove-assignment",
                "assignee",
                "Remove {role} from {name}",
                method="POST",
                path="/roleManagement/directory/roleAssignmentScheduleRequests",
                body={
                    "action": "adminRemove",
                    "principalId": "{id}",
                    "roleDefinitionId": "{roleId}",
                    "directoryScopeId": "/",
                    "justification": "Assigned or activated without approval",
                },
                condition="unless the assignment is expected",
                verify="/roleManagement/directory/roleAssignmentScheduleInstances?"
                "$filter=principalId eq '{id}' and roleDefinitionId eq '{roleId}'",
            ),
            StepTemplate(
                "review-policy",
                "assignee",
                "Require approval (and MFA) for activating {role} in its PIM policy",
                kind="review",
                method="GET",
                path="/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and "
                "scopeType eq 'DirectoryRole' and roleDefinitionId eq '{roleId}'"
                "&$expand=policy($expand=rules)",
            ),
        ),
    }
)
"""Rule name -> plan. A rule without an entry has no containment (tests require one for every rule)."""

ROOT_CAUSES: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "tap-bootstrapped-persistence": (
            (
                "tap-issuers-standing-access",
                "does the issuer hold a pass-issuing role without activation or approval?",
            ),
            ("tap-issuance-unscoped", "can passes be used by any user rather than a small enrolment group?"),
            ("tap-policy-weak", "do long-lived or reusable passes give an attacker time?"),
            (
                "mfa-registration-gate",
                "could methods be registered from a new place without a stronger check?",
            ),
        ),
        "tap-issued-to-privileged-user": (
            ("tap-issuance-unscoped", "can privileged accounts use passes at all?"),
            ("tap-issuers-standing-access", "who can issue passes, and with what oversight?"),
        ),
        "tap-issued-outside-hours": (
            (
                "tap-issuers-standing-access",
                "do issuers hold the role at night without activation or approval?",
            ),
            ("tap-policy-weak", "are passes long-lived or reusable?"),
        ),
        "tap-issued-without-ticket": (
            ("tap-issuers-standing-access", "can issuers act without a recorded request?"),
            ("tap-issuance-unscoped", "can passes be issued to any user?"),
        ),
        "security-info-registered-without-mfa": (
            ("mfa-registration-gate", "does registering security info require MFA?"),
            ("users-without-mfa", "which users have no method and can be claimed with a password alone?"),
        ),
        "mfa-methods-reset-then-reregistered": (
            ("mfa-registration-gate", "does re-registration after a reset require a verified pass?"),
            ("tap-issuers-standing-access", "are the service-desk roles that delete methods standing?"),
        ),
        "strong-auth-disabled": (
            ("users-without-mfa", "which accounts are left without an MFA requirement?"),
        ),
        "tap-issuer-role-activated-without-approval": (
            ("tap-issuers-standing-access", "can pass-issuing roles be held or activated without approval?"),
        ),
    }
)
"""Rule name -> (risk id in the assessment catalogue, the question it answers for this incident)."""


def build_plan(rule: str, context: PlanContext) -> list[dict[str, Any]]:
    """The rule's plan filled from one incident, as JSON-ready steps (empty for an unknown rule)."""
    steps: list[dict[str, Any]] = []
    for template in PLANS.get(rule, ()):
        principal = context.principals.get(template.principal)
        if principal is None or principal.get("type", "user") != template.principal_type:
            continue
        if template.for_each == "method":
            for method in context.methods:
                step = _method_step(template, principal, method)
                if step is not None:
                    steps.append(step)
            continue
        if "{tapId}" in (template.path or "") and not context.tap_id:
            steps.append(_step(template, principal, context, {"tapId": "{tapId}"}, resolve_tap=True))
            continue
        steps.append(_step(template, principal, context, {"tapId": context.tap_id or ""}))
    for number, step in enumerate(steps, start=1):
        step["order"] = number
    return steps


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(text: str, values: Mapping[str, str]) -> str:
    """``{name}`` placeholders replaced by their values (unknown ones stay as they are), in one pass."""
    if "{" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _request(template: StepTemplate, values: Mapping[str, str]) -> dict[str, Any] | None:
    if template.method is None or template.path is None:
        return None
    request: dict[str, Any] = {
        "method": template.method,
        "url": f"/{template.version}" + _fill(template.path, values),
    }
    if template.body is not None:
        request["body"] = {k: _fill(v, values) if isinstance(v, str) else v for k, v in template.body.items()}
    return request


def _verify(template: StepTemplate, values: Mapping[str, str]) -> dict[str, str] | None:
    if template.verify is None:
        return None
    return {"method": "GET", "url": f"/{template.version}" + _fill(template.verify, values)}


def _base(template: StepTemplate, principal: Mapping[str, Any], summary: str) -> dict[str, Any]:
    step: dict[str, Any] = {
        "action": template.action,
        "kind": template.kind,
        "principal": template.principal,
        "summary": summary,
    }
    if template.condition:
        step["condition"] = template.condition
    return step


def _step(
    template: StepTemplate,
    principal: Mapping[str, Any],
    context: PlanContext,
    extra: Mapping[str, str],
    resolve_tap: bool = False,
) -> dict[str, Any]:
    values = {
        "id": str(principal.get("id") or ""),
        "name": str(
            principal.get("displayName") or principal.get("userPrincipalName") or principal.get("id")
        ),
        "role": context.role_name or "the role",
        "roleId": context.role_template_id or "{roleId}",
        **extra,
    }
    step = _base(template, principal, _fill(template.summary, values))
    request = _request(template, values)
    if request is not None:
        step["request"] = request
    verify = _verify(template, values)
    if verify is not None:
        step["verify"] = verify
    if resolve_tap:
        step["resolve"] = {
            "tapId": {
                "list": f"GET /v1.0/users/{values['id']}/authentication/temporaryAccessPassMethods",
                "match": {"any": True},
            }
        }
    return step


def _method_step(
    template: StepTemplate, principal: Mapping[str, Any], method: RegisteredMethod
) -> dict[str, Any] | None:
    name = METHOD_NAMES.get(method.method_type or "", "method")
    values = {
        "id": str(principal.get("id") or ""),
        "method": name,
        "time": method.time,
        "device": f" on {method.device_name}" if method.device_name else "",
    }
    summary = _fill(template.summary, values) + f" ({method.description})"
    step = _base(template, principal, summary)
    collection = METHOD_COLLECTIONS.get(method.method_type or "")
    if collection is None:
        step["kind"] = "review"
        step["summary"] += (
            ": its type is not known; find it in GET /users/{id}/authentication/methods".replace(
                "{id}", values["id"]
            )
        )
        step["request"] = {"method": "GET", "url": f"/v1.0/users/{values['id']}/authentication/methods"}
        step["evidence"] = list(method.records)
        return step
    path_values = {**values, "collection": collection[0], "methodId": "{methodId}"}
    step["request"] = _request(template, path_values)
    verify = _verify(template, path_values)
    if verify is not None:
        step["verify"] = verify
    match: dict[str, Any] = {"@odata.type": collection[1], "registeredAround": method.time}
    if method.device_name:
        match["displayName"] = method.device_name
    step["resolve"] = {
        "methodId": {
            "list": f"GET /v1.0/users/{values['id']}/authentication/{collection[0]}",
            "match": match,
        }
    }
    step["evidence"] = list(method.records)
    return step
