"""Policies: Conditional Access (and named locations), authentication strengths, the authentication methods
policy and its method configurations, PIM role management policies and their assignments (§2, §3, §4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from graphlattice.range import writes as W
from graphlattice.server import access as A
from graphlattice.server.context import GraphContext, graph, no_content, read_body, read_json
from graphlattice.server.errors import bad_request, not_found, not_implemented
from graphlattice.server.filters import Filter
from graphlattice.server.odata import ListSpec, parse_expand
from graphlattice.server.routers._common import NS, act, body_schema, without

router = APIRouter()
Json = dict[str, Any]

EQ = frozenset({"eq"})
TEXT = frozenset({"eq", "startswith"})
TIME = frozenset({"eq", "ge", "gt", "le", "lt"})
CA_POLICIES = ListSpec(
    "ConditionalAccessPolicy",
    filters={"id": EQ, "displayName": TEXT, "state": EQ, "createdDateTime": TIME, "modifiedDateTime": TIME},
    orderby=frozenset({"displayName", "createdDateTime", "modifiedDateTime"}),
    skip=True,
)
NAMED_LOCATIONS = ListSpec(
    "NamedLocation",
    filters={"id": EQ, "displayName": TEXT, "createdDateTime": TIME, "modifiedDateTime": TIME},
    orderby=frozenset({"displayName"}),
    skip=True,
)
STRENGTHS = ListSpec(
    "AuthenticationStrengthPolicy", filters={"id": EQ, "displayName": TEXT, "policyType": EQ}
)
METHOD_CONFIGURATIONS = ListSpec("AuthenticationMethodConfiguration")


def _scope_required(flt: Filter | None) -> None:
    """Graph refuses role management policy reads without a filter on scopeId and scopeType."""
    terms = {k.casefold() for k in (flt.equals() if flt is not None else {})}
    if not {"scopeid", "scopetype"} <= terms:
        raise bad_request(
            "The $filter query option must specify scopeId and scopeType, e.g. "
            "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'."
        )


ROLE_POLICIES = ListSpec(
    "UnifiedRoleManagementPolicy",
    filters={"scopeId": EQ, "scopeType": EQ, "id": EQ, "isOrganizationDefault": EQ},
    required_filter=_scope_required,
)
ROLE_POLICY_ASSIGNMENTS = ListSpec(
    "UnifiedRoleManagementPolicyAssignment",
    filters={"scopeId": EQ, "scopeType": EQ, "roleDefinitionId": EQ, "policyId": EQ, "id": EQ},
    required_filter=_scope_required,
)
RULES = ListSpec("UnifiedRoleManagementPolicyRule", filters={"id": EQ})


def _one(items: list[Json], key: str) -> Json:
    found = next((i for i in items if str(i.get("id", "")).casefold() == key.casefold()), None)
    if found is None:
        raise not_found(key)
    return found


# ---- Conditional Access ---------------------------------------------------------------------------------


@router.get("/identity/conditionalAccess/policies")
@router.get("/policies/conditionalAccessPolicies")
async def list_ca(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_CONDITIONAL_ACCESS)
    return ctx.collection(
        "identity/conditionalAccess/policies", ctx.views.items("conditionalAccessPolicies"), CA_POLICIES
    )


@router.get("/identity/conditionalAccess/policies/{policy_id}")
@router.get("/policies/conditionalAccessPolicies/{policy_id}")
async def get_ca(request: Request, policy_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_CONDITIONAL_ACCESS)
    return ctx.entity(
        "identity/conditionalAccess/policies", _one(ctx.views.items("conditionalAccessPolicies"), policy_id)
    )


@router.post("/identity/conditionalAccess/policies", openapi_extra=body_schema(W.CA_POLICY_CREATE))
async def create_ca(request: Request) -> Response:
    ctx = graph(request)
    body = await read_body(request, W.CA_POLICY_CREATE)
    policy = {k: v for k, v in body.items() if k in W.CA_POLICY_PATCH.fields}
    result = act(ctx, "create-ca-policy", {"policy": policy}, A.WRITE_CONDITIONAL_ACCESS, body=W.CA_POLICY)
    created = _one(ctx.service.views().items("conditionalAccessPolicies"), str(result.data["id"]))
    payload = {"@odata.context": ctx.metadata("identity/conditionalAccess/policies/$entity"), **created}
    location = f"{ctx.root}/identity/conditionalAccess/policies/{created['id']}"
    return ctx.json(payload, status=201, headers={"Location": location})


@router.patch(
    "/identity/conditionalAccess/policies/{policy_id}", openapi_extra=body_schema(W.CA_POLICY_PATCH)
)
async def update_ca(request: Request, policy_id: str) -> Response:
    ctx = graph(request)
    policy = _one(ctx.views.items("conditionalAccessPolicies"), policy_id)
    body = await read_body(request, W.CA_POLICY_PATCH)
    patch = {k: v for k, v in body.items() if "@" not in k}
    if not patch:
        return no_content()
    act(
        ctx,
        "update-ca-policy",
        {"policy": policy["id"], "patch": patch},
        A.WRITE_CONDITIONAL_ACCESS,
        body=W.CA_POLICY_PATCH,
    )
    return no_content()


@router.delete("/identity/conditionalAccess/policies/{policy_id}")
async def delete_ca(request: Request, policy_id: str) -> Response:
    ctx = graph(request)
    _one(ctx.views.items("conditionalAccessPolicies"), policy_id)
    raise not_implemented("Deleting a Conditional Access policy (set its state to disabled instead)")


@router.get("/identity/conditionalAccess/namedLocations")
async def list_locations(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_CONDITIONAL_ACCESS)
    return ctx.collection(
        "identity/conditionalAccess/namedLocations", ctx.views.items("namedLocations"), NAMED_LOCATIONS
    )


@router.get("/identity/conditionalAccess/namedLocations/{location_id}")
async def get_location(request: Request, location_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_CONDITIONAL_ACCESS)
    return ctx.entity(
        "identity/conditionalAccess/namedLocations", _one(ctx.views.items("namedLocations"), location_id)
    )


@router.post("/identity/conditionalAccess/namedLocations")
async def create_location(request: Request) -> Response:
    raise not_implemented("POST on named locations (the Range has no named-location action yet)")


@router.patch("/identity/conditionalAccess/namedLocations/{location_id}")
@router.delete("/identity/conditionalAccess/namedLocations/{location_id}")
async def write_location(request: Request, location_id: str) -> Response:
    raise not_implemented(f"{request.method} on named locations (the Range has no named-location action yet)")


# ---- authentication strengths ---------------------------------------------------------------------------


@router.get("/policies/authenticationStrengthPolicies")
@router.get("/identity/conditionalAccess/authenticationStrength/policies")
async def list_strengths(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_STRENGTHS)
    return ctx.collection(
        "policies/authenticationStrengthPolicies",
        ctx.views.items("authenticationStrengthPolicies"),
        STRENGTHS,
    )


@router.get("/policies/authenticationStrengthPolicies/{strength_id}")
@router.get("/identity/conditionalAccess/authenticationStrength/policies/{strength_id}")
async def get_strength(request: Request, strength_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_STRENGTHS)
    return ctx.entity(
        "policies/authenticationStrengthPolicies",
        _one(ctx.views.items("authenticationStrengthPolicies"), strength_id),
    )


# ---- authentication methods policy ----------------------------------------------------------------------


def _methods_policy(ctx: GraphContext) -> Json:
    policy = ctx.views.collections.get("authenticationMethodsPolicy")
    return policy if isinstance(policy, dict) else {}


def _configurations(ctx: GraphContext) -> list[Json]:
    configs = _methods_policy(ctx).get("authenticationMethodConfigurations") or []
    return [c for c in configs if isinstance(c, dict)]


@router.get("/policies/authenticationMethodsPolicy")
async def get_methods_policy(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_METHODS_POLICY)
    policy = dict(_methods_policy(ctx))
    policy.setdefault("id", "authenticationMethodsPolicy")
    policy["authenticationMethodConfigurations@odata.context"] = ctx.metadata(
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
    )
    policy["authenticationMethodConfigurations"] = _configurations(ctx)
    return ctx.entity("policies/authenticationMethodsPolicy", policy)


@router.patch("/policies/authenticationMethodsPolicy")
async def update_methods_policy(request: Request) -> Response:
    ctx = graph(request)
    await read_json(request)
    if ctx.principal.kind == "app":
        ctx.authorize(A.WRITE_METHODS_POLICY)
    raise not_implemented(
        "PATCH /policies/authenticationMethodsPolicy (change a method configuration instead, e.g. "
        "PATCH .../authenticationMethodConfigurations/TemporaryAccessPass)"
    )


@router.get("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations")
async def list_configurations(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_METHODS_POLICY)
    return ctx.collection(
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        _configurations(ctx),
        METHOD_CONFIGURATIONS,
    )


@router.get("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{config_id}")
async def get_configuration(request: Request, config_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_METHODS_POLICY)
    return ctx.entity(
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        _one(_configurations(ctx), config_id),
    )


_TAP_FIELDS = {
    "state": "state",
    "isUsableOnce": "usable_once",
    "defaultLifetimeInMinutes": "default_lifetime",
    "minimumLifetimeInMinutes": "min_lifetime",
    "maximumLifetimeInMinutes": "max_lifetime",
    "defaultLength": "length",
}
_TAP_PARAMS = {param: prop for prop, param in _TAP_FIELDS.items()}
_TAP_CONFIGURATION = NS + "temporaryAccessPassAuthenticationMethodConfiguration"


@router.patch(
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{config_id}",
    openapi_extra=body_schema(W.TAP_CONFIGURATION),
)
async def update_configuration(request: Request, config_id: str) -> Response:
    ctx = graph(request)
    if config_id.casefold() != "temporaryaccesspass":
        await read_json(request)
        _one(_configurations(ctx), config_id)
        if ctx.principal.kind == "app":
            ctx.authorize(A.WRITE_METHODS_POLICY)
        raise not_implemented(
            f"Changing the {config_id} configuration (the Range changes the TemporaryAccessPass one)"
        )
    body = await read_body(request, W.TAP_CONFIGURATION)
    kind = body.get("@odata.type")
    if kind is not None and str(kind).casefold() != _TAP_CONFIGURATION.casefold():
        raise bad_request(f"'@odata.type' must be {_TAP_CONFIGURATION}.")
    params: Json = {}
    for key, value in body.items():
        if key in _TAP_FIELDS:
            params[_TAP_FIELDS[key]] = value
        elif key == "includeTargets":
            params["include_groups"] = [target["id"] for target in value]
        elif key == "excludeTargets":
            params["exclude_groups"] = [target["id"] for target in value]
    if not params:
        return no_content()
    act(
        ctx,
        "update-tap-policy",
        params,
        A.WRITE_METHODS_POLICY,
        body=W.TAP_CONFIGURATION,
        names={**_TAP_PARAMS, "include_groups": "includeTargets", "exclude_groups": "excludeTargets"},
    )
    return no_content()


# ---- PIM role management policies -----------------------------------------------------------------------


def _expansions(ctx: GraphContext, allowed: set[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for item in parse_expand(ctx.query.get("$expand")):
        if item.name not in allowed:
            raise bad_request(
                f"Parsing OData Select and Expand failed: Could not find a property named '{item.name}'."
            )
        out[item.name] = dict(item.options)
    return out


def _policy_shape(expand: dict[str, dict[str, str]]) -> Any:
    def shape(policy: Json) -> Json:
        out = without(policy, frozenset({"rules", "effectiveRules"}))
        for name in ("rules", "effectiveRules"):
            if name in expand:
                out[name] = list(policy.get("rules") or [])
        return out

    return shape


@router.get("/policies/roleManagementPolicies")
async def list_role_policies(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLE_POLICIES)
    shape = _policy_shape(_expansions(ctx, {"rules", "effectiveRules"}))
    return ctx.collection(
        "policies/roleManagementPolicies",
        ctx.views.items("roleManagementPolicies"),
        ROLE_POLICIES,
        shape=shape,
    )


@router.get("/policies/roleManagementPolicies/{policy_id}")
async def get_role_policy(request: Request, policy_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLE_POLICIES)
    shape = _policy_shape(_expansions(ctx, {"rules", "effectiveRules"}))
    return ctx.entity(
        "policies/roleManagementPolicies",
        _one(ctx.views.items("roleManagementPolicies"), policy_id),
        shape=shape,
    )


@router.get("/policies/roleManagementPolicies/{policy_id}/rules")
async def list_rules(request: Request, policy_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLE_POLICIES)
    policy = _one(ctx.views.items("roleManagementPolicies"), policy_id)
    rules = [r for r in policy.get("rules") or () if isinstance(r, dict)]
    return ctx.collection(f"policies/roleManagementPolicies('{policy['id']}')/rules", rules, RULES)


@router.get("/policies/roleManagementPolicies/{policy_id}/rules/{rule_id}")
async def get_rule(request: Request, policy_id: str, rule_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLE_POLICIES)
    policy = _one(ctx.views.items("roleManagementPolicies"), policy_id)
    rules = [r for r in policy.get("rules") or () if isinstance(r, dict)]
    return ctx.entity(f"policies/roleManagementPolicies('{policy['id']}')/rules", _one(rules, rule_id))


def _rule_params(rule_id: str, body: Json) -> Json:
    """update-role-policy parameters for a PATCH of one activation rule."""
    key = rule_id.casefold()
    if key == "enablement_enduser_assignment":
        enabled = body.get("enabledRules")
        if not isinstance(enabled, list) or not all(isinstance(r, str) for r in enabled):
            raise bad_request("enabledRules must be a list of strings.")
        return {"mfa_required": "MultiFactorAuthentication" in enabled}
    if key == "expiration_enduser_assignment":
        duration = body.get("maximumDuration")
        if not isinstance(duration, str):
            raise bad_request("maximumDuration must be an ISO 8601 duration, e.g. PT8H.")
        return {"max_duration": duration}
    if key == "approval_enduser_assignment":
        setting = body.get("setting")
        if not isinstance(setting, dict) or not isinstance(setting.get("isApprovalRequired"), bool):
            raise bad_request("setting.isApprovalRequired (true or false) is required.")
        params: Json = {"approval_required": setting["isApprovalRequired"]}
        approvers: list[str] = []
        for stage in setting.get("approvalStages") or ():
            for approver in (stage or {}).get("primaryApprovers") or ():
                ref = (approver or {}).get("userId") or (approver or {}).get("groupId")
                if isinstance(ref, str):
                    approvers.append(ref)
        if approvers:
            params["approvers"] = approvers
        return params
    raise not_implemented(
        f"Changing the rule {rule_id} (the Range changes activation approval, MFA and duration)"
    )


@router.patch(
    "/policies/roleManagementPolicies/{policy_id}/rules/{rule_id}",
    openapi_extra=body_schema(W.ROLE_POLICY_RULE),
)
async def update_rule(request: Request, policy_id: str, rule_id: str) -> Response:
    ctx = graph(request)
    policy = _one(ctx.views.items("roleManagementPolicies"), policy_id)
    rules = [r for r in policy.get("rules") or () if isinstance(r, dict)]
    _one(rules, rule_id)
    body = await read_body(request, W.ROLE_POLICY_RULE)
    assignment = next(
        (a for a in ctx.views.items("roleManagementPolicyAssignments") if a.get("policyId") == policy["id"]),
        None,
    )
    if assignment is None:
        raise bad_request(f"The policy {policy_id} is not assigned to a role.")
    params = {"role": assignment.get("roleDefinitionId"), **_rule_params(rule_id, body)}
    act(
        ctx,
        "update-role-policy",
        params,
        A.WRITE_ROLE_POLICIES,
        body=W.ROLE_POLICY_RULE,
        names={"max_duration": "maximumDuration", "approvers": "setting.approvalStages"},
    )
    return no_content()


def _assignment_shape(ctx: GraphContext, expand: dict[str, dict[str, str]]) -> Any:
    if "policy" not in expand:
        return None
    nested = {e.name: dict(e.options) for e in parse_expand(expand["policy"].get("$expand"))}
    for name in nested:
        if name not in ("rules", "effectiveRules"):
            raise bad_request(
                f"Parsing OData Select and Expand failed: Could not find a property named '{name}'."
            )
    policies = {str(p.get("id", "")).casefold(): p for p in ctx.views.items("roleManagementPolicies")}
    policy_shape = _policy_shape(nested)

    def shape(item: Json) -> Json:
        found = policies.get(str(item.get("policyId", "")).casefold())
        return {**item, "policy": policy_shape(found) if found is not None else None}

    return shape


@router.get("/policies/roleManagementPolicyAssignments")
async def list_role_policy_assignments(request: Request) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLE_POLICIES)
    shape = _assignment_shape(ctx, _expansions(ctx, {"policy"}))
    return ctx.collection(
        "policies/roleManagementPolicyAssignments",
        ctx.views.items("roleManagementPolicyAssignments"),
        ROLE_POLICY_ASSIGNMENTS,
        shape=shape,
    )


@router.get("/policies/roleManagementPolicyAssignments/{assignment_id}")
async def get_role_policy_assignment(request: Request, assignment_id: str) -> Response:
    ctx = graph(request)
    ctx.authorize(A.READ_ROLE_POLICIES)
    shape = _assignment_shape(ctx, _expansions(ctx, {"policy"}))
    return ctx.entity(
        "policies/roleManagementPolicyAssignments",
        _one(ctx.views.items("roleManagementPolicyAssignments"), assignment_id),
        shape=shape,
    )


__all__ = ["router"]
