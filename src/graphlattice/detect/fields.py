"""The canonical, normalised field set of audit and sign-in events: the one vocabulary of the rule pack.

Every log format GraphLattice reads (Graph ``directoryAudit`` / ``signIn`` JSON, v1.0 or beta, and the Log
Analytics / Sentinel ``AuditLogs`` / ``SigninLogs`` tables) is normalised ONCE into two DuckDB tables whose
columns are exactly these fields:

``audit_events``  (Sigma ``logsource: {product: azure, service: auditlogs}``)
``signin_events`` (Sigma ``logsource: {product: azure, service: signinlogs}``)

Rules name only these fields, so the same rule runs here and, through an exporter's field mapping, on any
engine that holds the original columns (``graph`` and ``sentinel`` say where each field comes from).
Conventions:

- snake_case names; object ids (users, apps, roles) are lower-cased; times are UTC ``TIMESTAMP``.
- A missing value is NULL. In particular ``auth_requirement`` and ``auth_methods`` are NULL for v1.0
  sign-ins (those properties are beta-only), which lets rules and the run summary tell "v1.0, cannot know"
  from "single factor".
- ``modified_properties`` flattens the ``modifiedProperties`` of every target into ``{key, old, new}``;
  ``key`` has a doubled prefix collapsed (``TemporaryAccessPass.TemporaryAccessPass.StartDateTime`` becomes
  ``TemporaryAccessPass.StartDateTime``) and JSON-quoted string values are unquoted. A Sigma rule addresses
  the parts as ``modified_properties.key`` / ``.old`` / ``.new``; several of them inside one selection must
  hold for the SAME property.
- Enrichment fields (``enrichment=True``) are not in the logs, for what Sigma cannot say — "an address never
  seen for this user in the look-back window", "this sign-in used that Temporary Access Pass", "inside
  working hours". What they need from earlier records is worked out once, at ingest
  (:mod:`graphlattice.detect.history`); the run's settings are applied to it per run
  (:mod:`graphlattice.detect.enrich`). An exporter must either compute them the same way or drop the rule
  conditions that use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "AUDIT",
    "BASE_TABLES",
    "EVENT_TABLES",
    "FIELDS",
    "LOGSOURCE_TABLES",
    "SIGNIN",
    "Field",
    "Kind",
    "base_columns",
    "event_columns",
    "field_map",
    "markdown",
]

AUDIT = "audit"
SIGNIN = "signin"

EVENT_TABLES: Mapping[str, str] = MappingProxyType({AUDIT: "audit_events", SIGNIN: "signin_events"})
"""Table the rules scan, per event type (normalised columns plus enrichment)."""

BASE_TABLES: Mapping[str, str] = MappingProxyType({AUDIT: "audits", SIGNIN: "signins"})
"""Table ingest writes, per event type (normalised columns only; kept across runs with ``--db``)."""

LOGSOURCE_TABLES: Mapping[str, str] = MappingProxyType({"auditlogs": AUDIT, "signinlogs": SIGNIN})
"""Sigma ``logsource.service`` (with ``product: azure``) to event type."""


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    TIME = "time"
    TEXT_LIST = "text_list"
    STRUCT_LIST = "struct_list"


@dataclass(frozen=True, slots=True)
class Field:
    """One canonical field: its name, type, which tables hold it, and where it comes from."""

    name: str
    kind: Kind
    tables: tuple[str, ...]
    description: str
    graph: str
    sentinel: str
    enrichment: bool = False
    subfields: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        if self.kind is Kind.STRUCT_LIST:
            inner = ", ".join(f'"{name}" VARCHAR' for name in self.subfields)
            return f"STRUCT({inner})[]"
        return _SQL_TYPES[self.kind]


_SQL_TYPES = {
    Kind.TEXT: "VARCHAR",
    Kind.INT: "INTEGER",
    Kind.BOOL: "BOOLEAN",
    Kind.TIME: "TIMESTAMP",
    Kind.TEXT_LIST: "VARCHAR[]",
}

_BOTH = (AUDIT, SIGNIN)
_A = (AUDIT,)
_S = (SIGNIN,)


def _f(
    name: str,
    kind: Kind,
    tables: tuple[str, ...],
    description: str,
    graph: str,
    sentinel: str,
    *,
    enrichment: bool = False,
    subfields: tuple[str, ...] = (),
) -> Field:
    return Field(name, kind, tables, description, graph, sentinel, enrichment, subfields)


T, N, B, TM, TL, SL = Kind.TEXT, Kind.INT, Kind.BOOL, Kind.TIME, Kind.TEXT_LIST, Kind.STRUCT_LIST

FIELDS: tuple[Field, ...] = (
    # -- every event ---------------------------------------------------------------------------------------
    _f("record_id", T, _BOTH, "The record's own id; the deduplication key.", "id", "Id"),
    _f("event_type", T, _BOTH, "'audit' or 'signin'.", "(file kind)", "Type"),
    _f(
        "time",
        TM,
        _BOTH,
        "When it happened, UTC.",
        "activityDateTime / createdDateTime",
        "ActivityDateTime / CreatedDateTime, else TimeGenerated",
    ),
    _f(
        "correlation_id",
        T,
        _BOTH,
        "Correlation id shared by records of one operation.",
        "correlationId",
        "CorrelationId",
    ),
    _f(
        "result",
        T,
        _BOTH,
        "Lower-case outcome: audits 'success'/'failure'/'timeout'; sign-ins 'success' when error_code is 0.",
        "result / status.errorCode",
        "Result / ResultType",
    ),
    _f(
        "result_reason",
        T,
        _BOTH,
        "Audits: resultReason (for Authentication Methods events it names the method, e.g. 'Admin "
        "registered temporary access pass method for user'); sign-ins: the failure reason.",
        "resultReason / status.failureReason",
        "ResultReason / Status.failureReason, else ResultDescription",
    ),
    _f("source_format", T, _BOTH, "'graph' or 'sentinel': the shape the record was read from.", "-", "-"),
    # -- audit events --------------------------------------------------------------------------------------
    _f(
        "activity",
        T,
        _A,
        "Activity name, e.g. 'Admin registered security info'.",
        "activityDisplayName",
        "ActivityDisplayName, else OperationName",
    ),
    _f("category", T, _A, "Audit category, e.g. 'UserManagement', 'RoleManagement'.", "category", "Category"),
    _f(
        "service",
        T,
        _A,
        "Logging service, e.g. 'Authentication Methods', 'PIM'.",
        "loggedByService",
        "LoggedByService",
    ),
    _f("operation_type", T, _A, "Add, Update, Delete, Assign, ...", "operationType", "AADOperationType"),
    _f(
        "initiator_user_id",
        T,
        _A,
        "User who acted (lower-case object id).",
        "initiatedBy.user.id",
        "InitiatedBy.user.id",
    ),
    _f(
        "initiator_upn",
        T,
        _A,
        "Their user principal name.",
        "initiatedBy.user.userPrincipalName",
        "InitiatedBy.user.userPrincipalName",
    ),
    _f(
        "initiator_name",
        T,
        _A,
        "Their display name.",
        "initiatedBy.user.displayName",
        "InitiatedBy.user.displayName",
    ),
    _f(
        "initiator_ip",
        T,
        _A,
        "Address the user acted from.",
        "initiatedBy.user.ipAddress",
        "InitiatedBy.user.ipAddress",
    ),
    _f(
        "initiator_app",
        T,
        _A,
        "App that acted (display name), e.g. 'MS-PIM'.",
        "initiatedBy.app.displayName",
        "InitiatedBy.app.displayName",
    ),
    _f("initiator_app_id", T, _A, "Its application id.", "initiatedBy.app.appId", "InitiatedBy.app.appId"),
    _f(
        "target_id",
        T,
        _A,
        "Id of the first target resource.",
        "targetResources[0].id",
        "TargetResources[0].id",
    ),
    _f(
        "target_type",
        T,
        _A,
        "Type of the first target: User, Group, Role, Device, Policy, ...",
        "targetResources[0].type",
        "TargetResources[0].type",
    ),
    _f(
        "target_user_id",
        T,
        _A,
        "First target of type User (lower-case object id).",
        "targetResources[type=User].id",
        "TargetResources[type=User].id",
    ),
    _f(
        "target_upn",
        T,
        _A,
        "Its user principal name.",
        "targetResources[type=User].userPrincipalName",
        "TargetResources[type=User].userPrincipalName",
    ),
    _f(
        "target_name",
        T,
        _A,
        "Its display name.",
        "targetResources[type=User].displayName",
        "TargetResources[type=User].displayName",
    ),
    _f(
        "device_name",
        T,
        _A,
        "Display name of the first Device target (e.g. the phone of a passwordless credential).",
        "targetResources[type=Device].displayName",
        "TargetResources[type=Device].displayName",
    ),
    _f(
        "role_template_id",
        T,
        _A,
        "Role concerned (lower-case template id): Role.TemplateId property, else the Role target's id.",
        "targetResources.modifiedProperties / [type=Role].id",
        "TargetResources (same)",
    ),
    _f(
        "role_name",
        T,
        _A,
        "Its display name.",
        "Role.DisplayName property / [type=Role].displayName",
        "TargetResources (same)",
    ),
    _f(
        "modified_properties",
        SL,
        _A,
        "Every target's modified properties flattened to {key, old, new} (key de-duplicated, values "
        "unquoted).",
        "targetResources[].modifiedProperties[]",
        "TargetResources[].modifiedProperties[]",
        subfields=("key", "old", "new"),
    ),
    _f(
        "additional_details",
        SL,
        _A,
        "additionalDetails as {key, value} (PIM justification, user agent, ...).",
        "additionalDetails[]",
        "AdditionalDetails[]",
        subfields=("key", "value"),
    ),
    _f(
        "tap_id",
        T,
        _A,
        "Temporary Access Pass id of a TAP issuance (property matched on suffix '.Id').",
        "TemporaryAccessPass.Id",
        "TargetResources (same)",
    ),
    _f("tap_start", TM, _A, "Its start time.", "TemporaryAccessPass.StartDateTime", "TargetResources (same)"),
    _f(
        "tap_end",
        TM,
        _A,
        "Its end time.",
        "TemporaryAccessPass.EndDateTime / .EndTime",
        "TargetResources (same)",
    ),
    _f(
        "tap_usage",
        T,
        _A,
        "'OneTime' or 'Multiple' when the record says.",
        "TemporaryAccessPass.AccessPassUsage",
        "TargetResources (same)",
    ),
    _f(
        "method_type",
        T,
        _A,
        "For security-info events: the method concerned, as Graph names its type — temporaryAccessPass, "
        "microsoftAuthenticator, fido2, phone, softwareOath, windowsHelloForBusiness, email.",
        "activityDisplayName + resultReason",
        "ActivityDisplayName + ResultReason",
    ),
    # -- sign-in events ------------------------------------------------------------------------------------
    _f("user_id", T, _S, "Who signed in (lower-case object id).", "userId", "UserId"),
    _f("upn", T, _S, "Their user principal name.", "userPrincipalName", "UserPrincipalName"),
    _f("user_name", T, _S, "Their display name.", "userDisplayName", "UserDisplayName"),
    _f("user_type", T, _S, "member / guest (beta).", "userType", "UserType"),
    _f("app_id", T, _S, "Client application id (lower-case).", "appId", "AppId"),
    _f("app_name", T, _S, "Client application name, e.g. 'My Signins'.", "appDisplayName", "AppDisplayName"),
    _f("resource_id", T, _S, "Resource (API) id.", "resourceId", "ResourceIdentity"),
    _f("resource_name", T, _S, "Resource name.", "resourceDisplayName", "ResourceDisplayName"),
    _f(
        "client_app",
        T,
        _S,
        "Browser, Mobile Apps and Desktop clients, legacy protocols, ...",
        "clientAppUsed",
        "ClientAppUsed",
    ),
    _f("user_agent", T, _S, "User agent string.", "userAgent", "UserAgent"),
    _f("ip", T, _S, "Client address.", "ipAddress", "IPAddress"),
    _f(
        "country",
        T,
        _S,
        "Country or region code.",
        "location.countryOrRegion",
        "LocationDetails.countryOrRegion, else Location",
    ),
    _f("city", T, _S, "City.", "location.city", "LocationDetails.city"),
    _f("state", T, _S, "State or province.", "location.state", "LocationDetails.state"),
    _f(
        "device_id",
        T,
        _S,
        "Device id when the device is known to Entra.",
        "deviceDetail.deviceId",
        "DeviceDetail.deviceId",
    ),
    _f("device_name", T, _S, "Device display name.", "deviceDetail.displayName", "DeviceDetail.displayName"),
    _f(
        "device_os",
        T,
        _S,
        "Operating system.",
        "deviceDetail.operatingSystem",
        "DeviceDetail.operatingSystem",
    ),
    _f("browser", T, _S, "Browser.", "deviceDetail.browser", "DeviceDetail.browser"),
    _f(
        "device_compliant",
        B,
        _S,
        "Device marked compliant.",
        "deviceDetail.isCompliant",
        "DeviceDetail.isCompliant",
    ),
    _f("device_managed", B, _S, "Device managed.", "deviceDetail.isManaged", "DeviceDetail.isManaged"),
    _f(
        "device_trust_type",
        T,
        _S,
        "Join type of the device.",
        "deviceDetail.trustType",
        "DeviceDetail.trustType",
    ),
    _f(
        "auth_methods",
        TL,
        _S,
        "Methods of the SUCCEEDED authentication steps, e.g. ['Password', 'Authenticator App'] or "
        "['Temporary Access Pass']; NULL when the record has no authenticationDetails (v1.0).",
        "authenticationDetails[].authenticationMethod (beta)",
        "AuthenticationDetails[].authenticationMethod",
    ),
    _f(
        "auth_requirement",
        T,
        _S,
        "singleFactorAuthentication / multiFactorAuthentication; NULL when absent (v1.0 records).",
        "authenticationRequirement (beta)",
        "AuthenticationRequirement",
    ),
    _f(
        "error_code",
        N,
        _S,
        "0 on success, otherwise the Entra error code.",
        "status.errorCode",
        "Status.errorCode, else ResultType",
    ),
    _f(
        "ca_status",
        T,
        _S,
        "Conditional Access: success, failure, notApplied.",
        "conditionalAccessStatus",
        "ConditionalAccessStatus",
    ),
    _f("is_interactive", B, _S, "Interactive sign-in.", "isInteractive", "IsInteractive"),
    _f(
        "signin_event_type",
        T,
        _S,
        "interactiveUser, nonInteractiveUser, servicePrincipal, managedIdentity.",
        "signInEventTypes[0] (beta), else from isInteractive; diagnostic settings: from the category",
        "from Type / Category (SigninLogs, AADNonInteractiveUserSignInLogs, AADServicePrincipalSignInLogs, "
        "AADManagedIdentitySignInLogs)",
    ),
    _f(
        "risk_level",
        T,
        _S,
        "Risk level during sign-in (hidden without P2).",
        "riskLevelDuringSignIn",
        "RiskLevelDuringSignIn",
    ),
    _f("risk_state", T, _S, "Risk state.", "riskState", "RiskState"),
    # -- enrichment: every event ---------------------------------------------------------------------------
    _f(
        "working_hours",
        B,
        _BOTH,
        "Inside the configured working hours and days, in the configured time zone.",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    # -- enrichment: sign-ins ------------------------------------------------------------------------------
    _f(
        "ip_seen_before",
        B,
        _S,
        "Whether this user had a successful sign-in from this address in the look-back window before this "
        "one. NULL when the user has no earlier successful sign-in in the window and the logs do not reach "
        "back the whole window (cannot tell); FALSE when they do (the user was silent all that time).",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f(
        "country_seen_before", B, _S, "The same for the country.", "(computed)", "(computed)", enrichment=True
    ),
    _f(
        "tap_used",
        B,
        _S,
        "The sign-in used a Temporary Access Pass: from auth_methods when the record has them; otherwise "
        "(v1.0) TRUE for a successful sign-in to the security-info apps (My Signins, My Profile) soon after "
        "a TAP issuance for that user, else NULL (cannot tell).",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f(
        "tap_inferred",
        B,
        _S,
        "tap_used was inferred from timing (no authenticationDetails).",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f(
        "tap_issue_record_id",
        T,
        _S,
        "For a TAP sign-in: record_id of the audit record that issued the pass (latest issuance for the "
        "user before the sign-in, still valid at that time).",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    # -- enrichment: audits --------------------------------------------------------------------------------
    _f(
        "target_is_privileged",
        B,
        _A,
        "The target user holds (or is eligible for) a privileged role: from a tenant snapshot when given, "
        "else from role-assignment audit records. NULL without a target user.",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f(
        "has_ticket",
        B,
        _A,
        "A ticket names the target user around this time (only when a tickets file is given; NULL "
        "otherwise, and for records without a target user).",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f("ticket_id", T, _A, "The matching ticket, if any.", "(computed)", "(computed)", enrichment=True),
    _f(
        "pim_approved",
        B,
        _A,
        "For a completed PIM activation: an approval record shares its correlation id. NULL for other "
        "records.",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f(
        "session_signin_id",
        T,
        _A,
        "For a user-initiated record: the latest sign-in of that user that began a session - a successful "
        "one, or an MFA-enrolment interrupt (error 50072 or 50079, after which the user may register "
        "security info) - from the same address (any address when the record has none) within the session "
        "window before it.",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f(
        "session_auth_requirement",
        T,
        _A,
        "That sign-in's auth_requirement: what it REQUIRED, not what it satisfied (an enrolment interrupt "
        "says multiFactorAuthentication). NULL: v1.0 or no session found.",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f(
        "session_single_factor",
        B,
        _A,
        "The session's sign-in satisfied one factor only. TRUE: an MFA-enrolment interrupt (the password "
        "was accepted and the user had no method for MFA); or a success whose authenticationDetails show "
        "one succeeded step that is not multifactor by itself, or that required singleFactorAuthentication "
        "and whose details show no more. FALSE: a success that required multiFactorAuthentication, or whose "
        "details show two succeeded steps or one multifactor step (passkey, Windows Hello, phone sign-in, "
        "Temporary Access Pass). NULL: no session found, or a record without authenticationRequirement "
        "and authenticationDetails (v1.0). Tables: detect/factors.yaml.",
        "(computed) from that sign-in's status.errorCode, authenticationRequirement, authenticationDetails",
        "(computed) from that row's ResultType, AuthenticationRequirement, AuthenticationDetails",
        enrichment=True,
    ),
    _f("session_tap_used", B, _A, "That sign-in's tap_used.", "(computed)", "(computed)", enrichment=True),
    _f("session_country", T, _A, "That sign-in's country.", "(computed)", "(computed)", enrichment=True),
    _f(
        "initiator_ip_seen_before",
        B,
        _A,
        "That sign-in's ip_seen_before: the user acted from a new address.",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
    _f(
        "initiator_country_seen_before",
        B,
        _A,
        "That sign-in's country_seen_before.",
        "(computed)",
        "(computed)",
        enrichment=True,
    ),
)


def field_map(table: str) -> Mapping[str, Field]:
    """Name to field for one event type (``AUDIT`` or ``SIGNIN``), enrichment included."""
    return _BY_TABLE[table]


def base_columns(table: str) -> tuple[Field, ...]:
    """The normalised (not enriched) fields of one event type, in table order."""
    return tuple(f for f in FIELDS if table in f.tables and not f.enrichment)


def event_columns(table: str) -> tuple[Field, ...]:
    """Every field of one event type as the rules see it, in table order."""
    return tuple(f for f in FIELDS if table in f.tables)


_BY_TABLE: Mapping[str, Mapping[str, Field]] = MappingProxyType(
    {t: MappingProxyType({f.name: f for f in FIELDS if t in f.tables}) for t in (AUDIT, SIGNIN)}
)


def markdown() -> str:
    """The field set as a Markdown reference (``FIELDS.md`` beside this module is this text)."""
    lines = [
        "# Canonical log fields",
        "",
        "Generated from `graphlattice.detect.fields` (a test keeps the two in step). Rules name only these",
        "fields; `audit_events` answers `logsource: {product: azure, service: auditlogs}`, `signin_events`",
        "answers `service: signinlogs`. Enrichment fields are not read from the logs: what they need from",
        "earlier records is worked out at ingest; each run applies its settings (look-back, working hours).",
        "",
    ]
    for kind, title in (
        (AUDIT, "Audit events (`audit_events`)"),
        (SIGNIN, "Sign-in events (`signin_events`)"),
    ):
        lines += [
            f"## {title}",
            "",
            "| Field | Type | Meaning | Graph JSON | Log Analytics |",
            "|---|---|---|---|---|",
        ]
        for f in event_columns(kind):
            name = f"`{f.name}`" + (" (enrichment)" if f.enrichment else "")
            if f.subfields:
                name += " — parts " + ", ".join(f"`{f.name}.{sub}`" for sub in f.subfields)
            cells = (name, f.sql_type, f.description, f.graph, f.sentinel)
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
