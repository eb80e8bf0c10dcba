"""Helpers the routers share: writes as Range actions, lookups that answer 404, object shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphlattice.errors import ActionDenied, InvalidValue, RangeBusy, RangeError
from graphlattice.range.actions import ActionResult
from graphlattice.range.schema import Spec, json_schema
from graphlattice.server import access as A
from graphlattice.server.context import GraphContext
from graphlattice.server.errors import (
    FORBIDDEN,
    UNAVAILABLE,
    GraphError,
    bad_request,
    invalid_value,
    not_found,
    refused,
)

__all__ = ["NS", "act", "body_schema", "directory_shape", "user_or_404", "with_sign_in_activity", "without"]

Json = dict[str, Any]
NS = "#microsoft.graph."
USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
"""v1.0 returns only these user properties unless ``$select`` names others (Graph's default property set)."""
USER_SELECT_ONLY = frozenset({"signInActivity", "signInSessionsValidFromDateTime", "passwordProfile"})
"""Properties Graph returns only when selected, in beta too."""


POLICY_RULES_FAILED = "RoleAssignmentRequestPolicyValidationFailed"


def act(
    ctx: GraphContext,
    action: str,
    params: Mapping[str, Any],
    access: A.Access,
    *,
    body: Spec | None = None,
    names: Mapping[str, str] | None = None,
) -> ActionResult:
    """Carry out a Range action as the signed-in user; refusals become Graph errors (403 for missing
    privileges, 400 for what the service itself refuses, e.g. a lifetime outside the policy; 503 with
    ``Retry-After`` when another process kept the range's folder locked too long, nothing changed).

    A parameter the action refuses is answered as Graph answers a bad property of ``body`` (the resource
    the request wrote); ``names`` maps the action's parameters back to that resource's properties."""
    actor = ctx.actor(access)
    try:
        return ctx.service.act(action, dict(params), actor=actor)
    except InvalidValue as exc:
        raise invalid_value(body.graph_type if body is not None else "", exc, names) from None
    except ActionDenied as denied:
        if denied.reason.startswith("Insufficient privileges"):
            raise GraphError(403, FORBIDDEN, denied.reason) from None
        if denied.reason.startswith("The following policy rules failed"):
            raise GraphError(400, POLICY_RULES_FAILED, denied.reason) from None
        raise refused(body.graph_type if body is not None else "", denied.reason) from None
    except RangeBusy as busy:
        raise GraphError(503, UNAVAILABLE, str(busy), headers={"Retry-After": "1"}) from None
    except RangeError as exc:
        raise bad_request(str(exc)) from None


def body_schema(spec: Spec) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route whose body ``spec`` describes (what ``read_body`` checks)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": json_schema(spec)}},
        }
    }


def user_or_404(ctx: GraphContext, key: str) -> Json:
    user = ctx.views.user(key)
    if user is None:
        raise not_found(key)
    return user


def without(item: Json, names: frozenset[str]) -> Json:
    return {k: v for k, v in item.items() if k not in names}


def user_shape(ctx: GraphContext) -> Any:
    if ctx.beta:
        return lambda user: without(user, USER_SELECT_ONLY)
    return lambda user: {k: user.get(k, [] if k == "businessPhones" else None) for k in USER_DEFAULT}


SIGN_IN_TIMES = ("lastSignInDateTime", "lastNonInteractiveSignInDateTime", "lastSuccessfulSignInDateTime")
_SIGN_IN_PAIRS = (
    ("lastSignInDateTime", "lastSignInRequestId"),
    ("lastNonInteractiveSignInDateTime", "lastNonInteractiveSignInRequestId"),
    ("lastSuccessfulSignInDateTime", "lastSuccessfulSignInRequestId"),
)


def with_sign_in_activity(user: Json) -> Json:
    """A user whose ``signInActivity`` (when it has one) carries all six properties of Graph's
    ``signInActivity``; a sign-in that was the last successful one lends it its request id."""
    activity = user.get("signInActivity")
    if not isinstance(activity, dict):
        return user
    full: Json = {}
    for when, request in _SIGN_IN_PAIRS:
        full[when] = activity.get(when)
        full[request] = activity.get(request)
    success_at = full["lastSuccessfulSignInDateTime"]
    for when, request in _SIGN_IN_PAIRS[:2]:
        if full[request] is None and full[when] is not None and full[when] == success_at:
            full[request] = full["lastSuccessfulSignInRequestId"]
    return {**user, "signInActivity": full}


GROUP_NAV = frozenset({"members", "owners"})
SP_NAV = frozenset({"appRoleAssignments", "owners"})


def directory_shape(ctx: GraphContext, kind: str, item: Json) -> Json:
    """A directory object as a member list shows it (with its ``@odata.type``)."""
    if kind == "user":
        body = user_shape(ctx)(item)
    elif kind == "group":
        body = without(item, GROUP_NAV)
    else:
        body = without(item, SP_NAV)
    return {"@odata.type": NS + kind, **body}
