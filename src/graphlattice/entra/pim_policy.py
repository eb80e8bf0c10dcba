"""The rules of a directory role's PIM policy, in the shape Microsoft Graph returns them.

A ``unifiedRoleManagementPolicy`` for a directory role (``scopeType: DirectoryRole``) carries one rule per
(kind, caller, level): approval, authentication context, enablement (what activation asks for: MFA,
justification), expiration, and notifications to admins, requestors and approvers. This builds that set
with Entra's defaults, for tenants this project writes (the demo tenant, the Range); which settings the
assessment reads back, and how, lives in :mod:`graphlattice.tenant.model`.

Source: Microsoft Graph, "unifiedRoleManagementPolicyRule resource type" and "Overview of rules for
Microsoft Entra roles in PIM APIs" (rule ids such as ``Approval_EndUser_Assignment`` and
``Expiration_Admin_Eligibility``; defaults: activation up to 8 hours with MFA and justification, eligible
assignments up to a year, active assignments up to 180 days).
"""

from __future__ import annotations

from typing import Any

__all__ = ["approval_stage", "role_policy_rules"]

_NS = "#microsoft.graph.unifiedRoleManagementPolicy"

_SCOPES = (
    ("Admin", "Eligibility", "Admin_Eligibility"),
    ("Admin", "Assignment", "Admin_Assignment"),
    ("EndUser", "Assignment", "EndUser_Assignment"),
)
"""(caller, level, id suffix) of the rule targets a directory-role policy has."""


def _target(caller: str, level: str) -> dict[str, Any]:
    return {
        "caller": caller,
        "operations": ["all"],
        "level": level,
        "inheritableSettings": [],
        "enforcedSettings": [],
    }


def approval_stage(approvers: list[dict[str, Any]]) -> dict[str, Any]:
    """The single approval stage of an activation request (``approvers``: the primary approvers)."""
    return {
        "approvalStageTimeOutInDays": 1,
        "isApproverJustificationRequired": True,
        "escalationTimeInMinutes": 0,
        "isEscalationEnabled": False,
        "primaryApprovers": list(approvers),
        "escalationApprovers": [],
    }


def role_policy_rules(
    *, approval: bool, approvers: list[dict[str, Any]], max_activation: str = "PT8H"
) -> list[dict[str, Any]]:
    """The full rule set of one directory role's PIM policy.

    ``approval``: activation needs approval (``approvers``: the primary approvers, as Graph's
    ``userSet`` objects; ignored without approval). ``max_activation``: the longest activation (ISO 8601).
    """
    stage = approval_stage(approvers if approval else [])
    rules: list[dict[str, Any]] = [
        {
            "@odata.type": _NS + "ApprovalRule",
            "id": "Approval_EndUser_Assignment",
            "setting": {
                "isApprovalRequired": approval,
                "isApprovalRequiredForExtension": False,
                "isRequestorJustificationRequired": True,
                "approvalMode": "SingleStage",
                "approvalStages": [stage],
            },
            "target": _target("EndUser", "Assignment"),
        },
        {
            "@odata.type": _NS + "AuthenticationContextRule",
            "id": "AuthenticationContext_EndUser_Assignment",
            "isEnabled": False,
            "claimValue": "",
            "target": _target("EndUser", "Assignment"),
        },
    ]
    enablement = {
        "EndUser_Assignment": ["MultiFactorAuthentication", "Justification"],
        "Admin_Eligibility": [],
        "Admin_Assignment": ["Justification"],
    }
    expiration = {
        "EndUser_Assignment": (True, max_activation),
        "Admin_Eligibility": (False, "P365D"),
        "Admin_Assignment": (False, "P180D"),
    }
    for caller, level, suffix in (_SCOPES[2], _SCOPES[0], _SCOPES[1]):
        required, longest = expiration[suffix]
        rules += [
            {
                "@odata.type": _NS + "EnablementRule",
                "id": f"Enablement_{suffix}",
                "enabledRules": enablement[suffix],
                "target": _target(caller, level),
            },
            {
                "@odata.type": _NS + "ExpirationRule",
                "id": f"Expiration_{suffix}",
                "isExpirationRequired": required,
                "maximumDuration": longest,
                "target": _target(caller, level),
            },
        ]
    for recipient in ("Admin", "Requestor", "Approver"):
        for caller, level, suffix in _SCOPES:
            rules.append(
                {
                    "@odata.type": _NS + "NotificationRule",
                    "id": f"Notification_{recipient}_{suffix}",
                    "notificationType": "Email",
                    "recipientType": recipient,
                    "notificationLevel": "All",
                    "isDefaultRecipientsEnabled": True,
                    "notificationRecipients": [],
                    "target": _target(caller, level),
                }
            )
    return rules
