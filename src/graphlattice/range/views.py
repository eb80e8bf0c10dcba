"""Read-only views of a range for its faces (command line, later the web UI): logs, people, methods, export.

Reading is subject to the same rules as in Entra: audit and sign-in logs need a role that may read them
(a Privileged Authentication Administrator may manage methods but not read logs), other people's methods
need a role that may read them. A refusal is :class:`~graphlattice.errors.ActionDenied` with the reason.
Nothing here changes the range.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from graphlattice.entra.admin_actions import AdminAction, can_perform
from graphlattice.entra.methods import classify_method, odata_type_name
from graphlattice.entra.roles import GLOBAL_ADMINISTRATOR, role_display_name
from graphlattice.errors import ActionDenied, RangeError
from graphlattice.range.engine import Range
from graphlattice.range.sessions import user_active_roles
from graphlattice.tenant.model import Tenant

__all__ = [
    "Person",
    "directory_role_members",
    "directory_roles",
    "export_range",
    "people",
    "read_records",
    "user_methods",
]

Kind = Literal["audit", "signin", "all"]
_READ = {"audit": AdminAction.READ_AUDIT_LOGS, "signin": AdminAction.READ_SIGN_IN_LOGS}


def _authorize(tenant: Tenant, action: AdminAction, upn: str, *, target_id: str | None = None) -> None:
    user = tenant.user_by_upn_or_id(upn)
    if user is None:
        raise RangeError(f"unknown user: {upn}")
    if target_id is not None and target_id == user.id:
        return  # everyone may read their own methods
    decision = can_perform(action, user_active_roles(tenant, user.id))
    if not decision.allowed:
        raise ActionDenied(f"Insufficient privileges to complete the operation: {decision.reason}")


def read_records(rng: Range, kind: Kind, *, as_upn: str) -> dict[str, list[dict[str, Any]]]:
    """``{"directoryAudits": [...], "signIns": [...]}`` (only the kinds asked for), as ``as_upn`` may read."""
    tenant = rng.tenant()
    kinds: list[Literal["audit", "signin"]] = ["audit", "signin"] if kind == "all" else [kind]
    for one in kinds:
        _authorize(tenant, _READ[one], as_upn)
    out: dict[str, list[dict[str, Any]]] = {}
    for one in kinds:
        out["directoryAudits" if one == "audit" else "signIns"] = rng.records(one)
    return out


def user_methods(rng: Range, user: str, *, as_upn: str) -> list[dict[str, Any]]:
    """``GET /users/{user}/authentication/methods`` as ``as_upn`` sees it."""
    tenant = rng.tenant()
    target = tenant.user_by_upn_or_id(user)
    if target is None:
        raise RangeError(f"unknown user: {user}")
    _authorize(tenant, AdminAction.READ_USER_AUTH_METHODS, as_upn, target_id=target.id)
    return [dict(m) for m in tenant.methods.get(target.id, [])]


def method_label(method: dict[str, Any]) -> str:
    """A short description: type and display name / number."""
    kind = classify_method(method).value
    name = method.get("displayName") or method.get("phoneNumber") or method.get("emailAddress") or ""
    return f"{kind} ({name})" if name else (kind if kind != "unknown" else odata_type_name(method))


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    upn: str
    enabled: bool
    roles: tuple[str, ...]  # "Global Administrator (active)" ...


def people(rng: Range) -> list[Person]:
    tenant = rng.tenant()
    out: list[Person] = []
    for user in sorted(tenant.users.values(), key=lambda u: u.display_name.casefold()):
        labels: list[str] = []
        for grant in tenant.grants_of(user.id):
            how = {"standing": "active", "activated": "activated", "eligible": "eligible"}[grant.kind]
            label = f"{role_display_name(grant.role_id)} ({how})"
            if label not in labels:
                labels.append(label)
        out.append(Person(user.display_name, user.upn, user.account_enabled is not False, tuple(labels)))
    return out


def export_range(rng: Range, out_dir: Path) -> None:
    """The engine's export plus the tenant's assessment settings (``graphlattice.yaml``), so that
    ``graphlattice assess OUT_DIR`` judges it as the verifier does."""
    rng.export(out_dir)
    settings = rng.scenario.tenant.settings
    lines = ["# GraphLattice settings of this Range tenant (exported)."]
    glass = settings.get("breakGlassAccounts") or []
    if glass:
        lines.append("breakGlassAccounts:")
        lines.extend(f"  - {upn}" for upn in glass)
    for key, value in settings.items():
        if key != "breakGlassAccounts":
            lines.append(f"{key}: {int(value)}")
    (Path(out_dir) / "graphlattice.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---- Graph's legacy directory roles --------------------------------------------------------------------


def _rows(collections: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    value = collections.get(name)
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def directory_roles(collections: Mapping[str, Any], tenant_id: str) -> list[dict[str, Any]]:
    """``GET /directoryRoles``: the *activated* built-in roles (Graph's legacy role API).

    Entra activates a role the first time someone is assigned to it (the portal and PIM do this implicitly);
    Global Administrator ("Company Administrator") is always activated. The Range counts a role as activated
    when it has an active assignment or an eligibility now (a role whose last member left stays activated in
    Entra; the Range forgets it). Each object's ``id`` is its own (stable per tenant and template), not the
    template id, which is ``roleTemplateId``. Sorted by display name.
    """
    definitions = {str(d.get("id", "")).casefold(): d for d in _rows(collections, "roleDefinitions")}
    used = {GLOBAL_ADMINISTRATOR.casefold()}
    for name in ("roleAssignments", "roleEligibilitySchedules"):
        used.update(str(a.get("roleDefinitionId", "")).casefold() for a in _rows(collections, name))
    used.discard("")
    out: list[dict[str, Any]] = []
    for template in used:
        definition = definitions.get(template, {})
        out.append(
            {
                "id": str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"graphlattice:{tenant_id}:directoryRole:{template}")
                ),
                "deletedDateTime": None,
                "description": definition.get("description"),
                "displayName": definition.get("displayName") or role_display_name(template),
                "roleTemplateId": template,
            }
        )
    out.sort(key=lambda r: str(r["displayName"]).casefold())
    return out


def directory_role_members(collections: Mapping[str, Any], template_id: str) -> list[str]:
    """Object ids of a directory role's members: principals with an active assignment at tenant scope (a
    PIM activation included, an eligibility not; an assigned group is a member itself, not its members)."""
    wanted = template_id.casefold()
    out: list[str] = []
    for assignment in _rows(collections, "roleAssignments"):
        if str(assignment.get("roleDefinitionId", "")).casefold() != wanted:
            continue
        if str(assignment.get("directoryScopeId") or "/") != "/":
            continue
        principal = str(assignment.get("principalId", "")).casefold()
        if principal and principal not in out:
            out.append(principal)
    return out
