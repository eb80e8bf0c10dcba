"""Role definitions, active assignments, PIM schedules and PIM policies."""

from __future__ import annotations

from graphlattice.demo._common import (
    Gen,
    Json,
    days_ago,
    hm,
    iso,
)
from graphlattice.demo._directory import (
    APPROVAL_REQUIRED,
    MAX_ACTIVATION,
    ROLE_ACTIONS,
    ROLE_NAMES,
    Directory,
)
from graphlattice.demo._people import Roster
from graphlattice.entra.pim_policy import role_policy_rules

# -- roles ------------------------------------------------------------------------------------------------


def role_definitions(directory: Directory) -> list[Json]:
    out: list[Json] = []
    for role in directory.role_policy_ids:
        name, description = ROLE_NAMES[role]
        actions = ROLE_ACTIONS.get(role, ("microsoft.directory/users/standard/read",))
        out.append(
            {
                "id": role,
                "description": description,
                "displayName": name,
                "isBuiltIn": True,
                "isEnabled": True,
                "resourceScopes": ["/"],
                "templateId": role,
                "version": "1",
                "rolePermissions": [{"allowedResourceActions": list(actions), "condition": None}],
            }
        )
    return out


def role_assignments(gen: Gen, directory: Directory, roster: Roster) -> tuple[list[Json], list[Json]]:
    """Active assignments and their schedule instances (standing ones and live PIM activations)."""
    assignments: list[Json] = []
    instances: list[Json] = []
    tier0_members = [roster.ids[roster.at("tier0")]]
    for grant in directory.grants:
        window: tuple[int, int | None]
        if grant.kind == "standing":
            window = (grant.start, grant.end)
            assignment_type = "Assigned"
        elif grant.activation is not None:
            window = grant.activation
            assignment_type = "Activated"
        else:
            continue
        assignment_id = gen.b64id(43) + "-1"
        assignments.append(
            {
                "id": assignment_id,
                "principalId": grant.principal_id,
                "roleDefinitionId": grant.role,
                "directoryScopeId": grant.scope,
            }
        )
        schedule_id = gen.uuid()
        base = {
            "roleDefinitionId": grant.role,
            "directoryScopeId": grant.scope,
            "appScopeId": None,
            "startDateTime": iso(window[0]),
            "endDateTime": iso(window[1]) if window[1] else None,
            "assignmentType": assignment_type,
            "roleAssignmentOriginId": assignment_id,
            "roleAssignmentScheduleId": schedule_id,
        }
        instances.append(
            {"id": assignment_id, "principalId": grant.principal_id, "memberType": "Direct", **base}
        )
        if grant.principal_type == "group":
            for member in tier0_members:
                instances.append(
                    {"id": gen.b64id(43) + "-1-g", "principalId": member, "memberType": "Group", **base}
                )
    return assignments, instances


def role_eligibilities(gen: Gen, directory: Directory) -> list[Json]:
    out: list[Json] = []
    for grant in directory.grants:
        if grant.kind != "eligible":
            continue
        schedule_id = gen.uuid()
        expiration: Json = (
            {"type": "afterDateTime", "endDateTime": iso(grant.end), "duration": None}
            if grant.end
            else {"type": "noExpiration", "endDateTime": None, "duration": None}
        )
        out.append(
            {
                "id": schedule_id,
                "principalId": grant.principal_id,
                "roleDefinitionId": grant.role,
                "directoryScopeId": grant.scope,
                "appScopeId": None,
                "createdUsing": schedule_id,
                "createdDateTime": iso(grant.start),
                "modifiedDateTime": None,
                "status": "Provisioned",
                "memberType": "Direct",
                "scheduleInfo": {
                    "startDateTime": iso(grant.start),
                    "recurrence": None,
                    "expiration": expiration,
                },
            }
        )
    return out


def _rules(role: str, approvers_group: str) -> list[Json]:
    approvers = [
        {
            "@odata.type": "#microsoft.graph.groupMembers",
            "groupId": approvers_group,
            "description": "PIM Approvers",
        }
    ]
    return role_policy_rules(
        approval=role in APPROVAL_REQUIRED,
        approvers=approvers,
        max_activation=MAX_ACTIVATION.get(role, "PT8H"),
    )


def role_policies(directory: Directory, defender: tuple[str, str]) -> tuple[list[Json], list[Json]]:
    policies: list[Json] = []
    assignments: list[Json] = []
    modified = iso(days_ago(210, at=hm(13, 5)))
    for role, policy_id in directory.role_policy_ids.items():
        policies.append(
            {
                "id": policy_id,
                "displayName": "DirectoryRole",
                "description": "DirectoryRole",
                "isOrganizationDefault": False,
                "scopeId": "/",
                "scopeType": "DirectoryRole",
                "lastModifiedDateTime": modified,
                "lastModifiedBy": {"displayName": defender[1], "id": defender[0]},
                "rules": _rules(role, directory.groups.approvers),
            }
        )
        assignments.append(
            {
                "id": f"{policy_id}_{role}",
                "policyId": policy_id,
                "roleDefinitionId": role,
                "scopeId": "/",
                "scopeType": "DirectoryRole",
            }
        )
    return policies, assignments
