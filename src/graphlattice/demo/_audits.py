"""Directory audit records (``directoryAudit``) in the shape Graph returns them."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from graphlattice.demo._common import Gen, Json, iso
from graphlattice.demo._people import Roster

MS_PIM = {
    "appId": "01fc33a7-78ba-4d2f-a4b7-768e336e890e",
    "displayName": "MS-PIM",
    "servicePrincipalId": None,
    "servicePrincipalName": None,
}
_ID_PREFIX = {
    "Core Directory": "Directory",
    "Authentication Methods": "Authentication Methods",
    "Self-service Password Management": "SSPR",
    "PIM": "PIM",
    "Conditional Access": "Conditional Access",
    "Device Registration Service": "DRS",
}
# Role.WellKnownObjectName values of the roles whose assignments the demo logs.
WELL_KNOWN = {
    "62e90394-69f5-4237-9190-012177145e10": "TenantAdmins",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "PrivilegedRoleAdmins",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "AuthenticationAdministrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "PrivilegedAuthenticationAdministrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "SecurityAdministrator",
}


def quoted(value: str) -> str:
    """Audit modifiedProperties carry JSON-encoded strings."""
    return orjson.dumps(value).decode()


def prop(name: str, old: str | None, new: str | None) -> Json:
    return {"displayName": name, "oldValue": old, "newValue": new}


@dataclass
class AuditContext:
    gen: Gen
    roster: Roster
    records: list[tuple[int, int, Json]] = field(default_factory=list)
    seq: int = 0

    def by_user(self, i: int, ip: str) -> Json:
        r = self.roster
        return {
            "user": {
                "id": r.ids[i],
                "displayName": r.names[i],
                "userPrincipalName": r.upns[i],
                "ipAddress": ip,
            },
            "app": None,
        }

    @staticmethod
    def by_app(app_id: str, name: str, sp_id: str | None = None) -> Json:
        return {
            "user": None,
            "app": {
                "appId": app_id,
                "displayName": name,
                "servicePrincipalId": sp_id,
                "servicePrincipalName": name if sp_id else None,
            },
        }

    def user_target(self, i: int, props: list[Json] | None = None) -> Json:
        r = self.roster
        return {
            "id": r.ids[i],
            "displayName": r.names[i],
            "type": "User",
            "userPrincipalName": r.upns[i],
            "groupType": None,
            "modifiedProperties": props or [],
        }

    @staticmethod
    def target(
        tid: str, name: str, kind: str, props: list[Json] | None = None, group_type: str | None = None
    ) -> Json:
        return {
            "id": tid,
            "displayName": name,
            "type": kind,
            "userPrincipalName": None,
            "groupType": group_type,
            "modifiedProperties": props or [],
        }

    def add(
        self,
        ts: int,
        service: str,
        category: str,
        activity: str,
        operation: str,
        initiated_by: Json,
        targets: list[Json],
        *,
        result_reason: str = "",
        result: str = "success",
        details: list[tuple[str, str]] | None = None,
        correlation: str | None = None,
        gen: Gen | None = None,
    ) -> str:
        """Append one record. ``gen``: draw its ids from another generator (a record added to the story
        later, so that every other record keeps its ids)."""
        gen = gen or self.gen
        correlation = correlation or gen.uuid()
        serial = gen.randint(10_000_000, 999_999_999)
        aid = f"{_ID_PREFIX[service]}_{correlation}_{gen.tag()}_{serial}"
        record = {
            "id": aid,
            "category": category,
            "correlationId": correlation,
            "result": result,
            "resultReason": result_reason,
            "activityDisplayName": activity,
            "activityDateTime": iso(ts),
            "loggedByService": service,
            "operationType": operation,
            "initiatedBy": initiated_by,
            "targetResources": targets,
            "additionalDetails": [{"key": k, "value": v} for k, v in details or ()],
        }
        self.seq += 1
        self.records.append((ts, self.seq, record))
        return aid

    def tap_issued(
        self, ts: int, actor: Json, target: int, tap_id: str, lifetime_minutes: int, once: bool
    ) -> str:
        props = [
            prop("TemporaryAccessPass.Id", '""', quoted(tap_id)),
            prop("TemporaryAccessPass.StartDateTime", '""', quoted(iso(ts))),
            prop("TemporaryAccessPass.EndDateTime", '""', quoted(iso(ts + lifetime_minutes * 60))),
            prop("TemporaryAccessPass.AccessPassUsage", '""', quoted("OneTime" if once else "Multiple")),
        ]
        return self.add(
            ts,
            "Authentication Methods",
            "UserManagement",
            "Admin registered security info",
            "Add",
            actor,
            [self.user_target(target, props)],
            result_reason="Admin registered temporary access pass method for user",
        )

    def user_registered(self, ts: int, i: int, ip: str, reason: str) -> str:
        return self.self_service(ts, i, ip, "User registered security info", "Add", reason)

    def passkey_options(self, ts: int, i: int, ip: str, gen: Gen | None = None) -> str:
        """The step Security info takes before a passkey registration: it fetches the WebAuthn options."""
        reason = "Successfully retrieved passkey creation options."
        return self.self_service(ts, i, ip, "Get passkey creation options", "Other", reason, gen)

    def self_service(
        self, ts: int, i: int, ip: str, activity: str, operation: str, reason: str, gen: Gen | None = None
    ) -> str:
        return self.add(
            ts,
            "Authentication Methods",
            "UserManagement",
            activity,
            operation,
            self.by_user(i, ip),
            [self.user_target(i)],
            result_reason=reason,
            gen=gen,
        )
