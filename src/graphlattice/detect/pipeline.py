"""A pySigma processing pipeline from the SigmaHQ Azure taxonomy to the canonical fields.

SigmaHQ's community rules for ``product: azure`` audit and sign-in logs name fields after several sources
at once (``properties.message`` from diagnostic settings, ``OperationName`` / ``ResultType`` from Log
Analytics, ``Status`` meaning either the result or its reason). This pipeline maps every such name whose
meaning is clear onto :mod:`~graphlattice.detect.fields`; ``Status`` maps to both ``result`` and
``result_reason`` (pySigma ORs the two), because the community uses it for both. A rule left with a field
that has no canonical equivalent (a whole ``TargetResources`` blob, consent context, network location
details) is reported as not runnable, never silently widened.

The same mapping is the seam for exporters: the canonical names are what a backend pipeline maps to its
own columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from sigma.rule import SigmaRule

from graphlattice.detect.fields import field_map
from graphlattice.detect.pack import LoadedRule, rule_event_type, sigma_documents
from graphlattice.detect.sigma_sql import RuleCompileError, compile_detection
from graphlattice.errors import CatalogError, UsageError

__all__ = [
    "AUDIT_MAPPING",
    "SIGNIN_MAPPING",
    "CommunityRule",
    "load_community_rules",
    "sigma_rule_files",
    "sigmahq_azure_pipeline",
]

AUDIT_MAPPING: Mapping[str, str | list[str]] = MappingProxyType(
    {
        "properties.message": "activity",
        "OperationName": "activity",
        "operationName": "activity",
        "ActivityDisplayName": "activity",
        "activityDisplayName": "activity",
        "ActivityType": "activity",
        "activityType": "activity",
        "Status": ["result", "result_reason"],
        "properties.result": "result",
        "Result": "result",
        "result": "result",
        "ResultReason": "result_reason",
        "ResultDescription": "result_reason",
        "LoggedByService": "service",
        "loggedByService": "service",
        "Category": "category",
        "category": "category",
        "AADOperationType": "operation_type",
        "TargetResources.ModifiedProperties.DisplayName": "modified_properties.key",
        "TargetResources.modifiedProperties.displayName": "modified_properties.key",
        "TargetResources.ModifiedProperties.NewValue": "modified_properties.new",
        "TargetResources.modifiedProperties.newValue": "modified_properties.new",
        "TargetResources.ModifiedProperties.OldValue": "modified_properties.old",
        "TargetResources.modifiedProperties.oldValue": "modified_properties.old",
        "targetResources.type": "target_type",
        "TargetResources.type": "target_type",
        "Initiatedby": "initiator_upn",
        "InitiatedBy": "initiator_upn",
        "Target": "target_upn",
    }
)
"""SigmaHQ Azure audit-log field -> canonical field(s)."""

SIGNIN_MAPPING: Mapping[str, str | list[str]] = MappingProxyType(
    {
        "ResultType": "error_code",
        "ResultDescription": "result_reason",
        "Resultdescription": "result_reason",
        "Status": ["result", "result_reason"],
        "AuthenticationRequirement": "auth_requirement",
        "ConditionalAccessStatus": "ca_status",
        "conditionalAccessStatus": "ca_status",
        "ResourceDisplayName": "resource_name",
        "AppDisplayName": "app_name",
        "AppId": "app_id",
        "userAgent": "user_agent",
        "UserAgent": "user_agent",
        "DeviceDetail.trusttype": "device_trust_type",
        "DeviceDetail.trustType": "device_trust_type",
        "DeviceDetail.isCompliant": "device_compliant",
        "DeviceDetail.deviceId": "device_id",
        "RiskState": "risk_state",
        "RiskLevelDuringSignIn": "risk_level",
        "ClientApp": "client_app",
        "ClientAppUsed": "client_app",
        "Username": "upn",
        "UserPrincipalName": "upn",
        "IPAddress": "ip",
        "IsInteractive": "is_interactive",
    }
)
"""SigmaHQ Azure sign-in-log field -> canonical field(s)."""


def _optional_keys(mapping: Mapping[str, str | list[str]]) -> dict[str | None, str | list[str]]:
    return {key: value for key, value in mapping.items()}


def sigmahq_azure_pipeline() -> ProcessingPipeline:
    """Field mappings for ``product: azure`` rules, per service (auditlogs, signinlogs)."""
    items = [
        ProcessingItem(
            identifier=f"graphlattice-{service}-fields",
            transformation=FieldMappingTransformation(_optional_keys(mapping)),
            rule_conditions=[LogsourceCondition(product="azure", service=service)],
        )
        for service, mapping in (("auditlogs", AUDIT_MAPPING), ("signinlogs", SIGNIN_MAPPING))
    ]
    return ProcessingPipeline(name="GraphLattice canonical fields for SigmaHQ Azure rules", items=items)


@dataclass(frozen=True, slots=True)
class CommunityRule:
    """One community rule file after mapping: runnable (``rule``) or why not (``problem``)."""

    path: Path
    title: str
    rule: LoadedRule | None
    problem: str | None


def sigma_rule_files(paths: Sequence[Path]) -> list[Path]:
    """The ``.yml`` / ``.yaml`` files of these files and folders (folders searched recursively, in name
    order); raises :class:`UsageError` for a path that does not exist or a folder without rules."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
            if not found:
                raise UsageError(f"no Sigma rule files (.yml, .yaml) in {path}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no such rule file or folder: {path}")
    return files


def load_community_rules(paths: Sequence[Path]) -> list[CommunityRule]:
    """Parse each file with pySigma, map it with :func:`sigmahq_azure_pipeline`, and check it compiles."""
    out = []
    for path in paths:
        try:
            collection = SigmaCollection.from_dicts(sigma_documents(path))
        except CatalogError as exc:
            out.append(CommunityRule(path, path.stem, None, f"does not parse: {exc.message}"))
            continue
        except (SigmaError, ValueError) as exc:
            out.append(CommunityRule(path, path.stem, None, f"does not parse: {exc}"))
            continue
        for rule in collection.rules:
            title = str(getattr(rule, "title", path.stem))
            if not isinstance(rule, SigmaRule):
                out.append(CommunityRule(path, title, None, "correlation rules are not mapped here"))
                continue
            kind = rule_event_type(rule)
            if kind is None:
                out.append(CommunityRule(path, title, None, "not an azure auditlogs / signinlogs rule"))
                continue
            sigmahq_azure_pipeline().apply(rule)
            try:
                compile_detection(rule, field_map(kind), str(path))
            except RuleCompileError as exc:
                out.append(CommunityRule(path, title, None, str(exc).split(": ", 1)[-1]))
                continue
            name = rule.name or str(rule.id)
            out.append(CommunityRule(path, title, LoadedRule(name, rule, path), None))
    return out
