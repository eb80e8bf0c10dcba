"""The Range's whole state: a tenant as Graph JSON, the secrets people hold, live sessions, clock and ids.

The tenant part is exactly the snapshot format (one Graph collection per name in
:data:`graphlattice.tenant.collections.COLLECTIONS`; ``authenticationMethods`` keyed by user id), so
:meth:`RangeState.tenant` builds the same :class:`~graphlattice.tenant.model.Tenant` the checks read from a
real export. Around it the Range keeps what Graph never shows:

* **secrets** — per user a salted password hash and the *holders* who know the password; per Temporary
  Access Pass the holders who know its code; per authenticator, passkey or phone the holder of the device
  (whoever holds the private key or the handset). A holder is a free label: ``attacker``, ``victim``,
  ``defender`` or a user principal name. The plaintext of a password is kept only when the seed hands it to
  someone other than the account's owner (the attacker's stolen password); records never contain it.
* **sessions** — one per successful sign-in; the session id doubles as its refresh-token handle.
* **clock** and **ids** — simulated time and the seeded id source, persisted so replays are exact.

Seeding: :meth:`RangeState.from_collections` takes Graph JSON collections (what a scenario's compact
personas expand to), the starting instant, the id seed and a :class:`SeedSecrets`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from graphlattice.entra.methods import MethodKind, classify_method
from graphlattice.errors import RangeError
from graphlattice.range.clock import Clock, iso, parse_instant
from graphlattice.range.ids import IdSource
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.model import Tenant
from graphlattice.tenant.snapshot import tenant_from_collections

__all__ = [
    "ATTACKER",
    "DEFENDER",
    "SERVED_ONLY",
    "STATE_VERSION",
    "VICTIM",
    "RangeState",
    "Secret",
    "Secrets",
    "SeedSecrets",
    "Session",
]

STATE_VERSION = 1
ATTACKER = "attacker"
VICTIM = "victim"
DEFENDER = "defender"

Json = dict[str, Any]

_LIST_COLLECTIONS = tuple(
    name
    for name, spec in COLLECTIONS.items()
    if spec.shape == "list" or name in ("directoryAudits", "signIns")
)
_LOGS = ("directoryAudits", "signIns")
SERVED_ONLY: Mapping[str, str] = {
    "applications": "list",
    "groupSettings": "list",
    "organization": "list",
    "identitySecurityDefaultsEnforcementPolicy": "singleton",
    "authorizationPolicy": "singleton",
}
"""Graph JSON a range keeps and its Graph endpoint serves beyond the snapshot format (name -> shape): no
check reads these yet, so snapshots and the collector leave them out and ``export`` does not write them."""


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


@dataclass(slots=True)
class Secret:
    """One credential secret: a salted hash, the holders who know it, and the plaintext only if handed out."""

    salt: str
    digest: str
    known_by: list[str]
    plaintext: str | None = None

    @classmethod
    def new(cls, ids: IdSource, value: str, known_by: Collection[str], *, keep_plaintext: bool) -> Secret:
        salt = ids.salt()
        return cls(salt, _hash(salt, value), sorted(set(known_by)), value if keep_plaintext else None)

    def matches(self, value: str) -> bool:
        return _hash(self.salt, value) == self.digest

    def known_to(self, holder: str) -> bool:
        return holder.casefold() in {h.casefold() for h in self.known_by}

    def to_json(self) -> Json:
        return {
            "salt": self.salt,
            "digest": self.digest,
            "knownBy": list(self.known_by),
            "plaintext": self.plaintext,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Secret:
        return cls(
            str(data["salt"]),
            str(data["digest"]),
            [str(h) for h in data.get("knownBy") or []],
            data.get("plaintext"),
        )


@dataclass(slots=True)
class Secrets:
    """Who knows or holds what (see the module docstring). Keys are lower-case object ids."""

    owners: dict[str, str] = field(default_factory=dict)  # user id -> holder label of the account's owner
    passwords: dict[str, Secret] = field(default_factory=dict)  # user id -> password
    passes: dict[str, Secret] = field(default_factory=dict)  # TAP method id -> code
    devices: dict[str, str] = field(default_factory=dict)  # method id -> holder of the device or key

    def to_json(self) -> Json:
        return {
            "owners": dict(sorted(self.owners.items())),
            "passwords": {k: v.to_json() for k, v in sorted(self.passwords.items())},
            "passes": {k: v.to_json() for k, v in sorted(self.passes.items())},
            "devices": dict(sorted(self.devices.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Secrets:
        return cls(
            owners={str(k): str(v) for k, v in (data.get("owners") or {}).items()},
            passwords={str(k): Secret.from_json(v) for k, v in (data.get("passwords") or {}).items()},
            passes={str(k): Secret.from_json(v) for k, v in (data.get("passes") or {}).items()},
            devices={str(k): str(v) for k, v in (data.get("devices") or {}).items()},
        )


@dataclass(slots=True, frozen=True)
class SeedSecrets:
    """What a scenario says about secrets when it seeds a range (every mapping keyed by user id or UPN).

    ``passwords``: the starting password of a user (users left out get a generated one that only their
    owner knows). ``known_by``: holders *besides the owner* who know a user's password, e.g.
    ``{"pat@contoso.example": ["attacker"]}``; their plaintext is kept so a replay can use it. ``owners``:
    the holder label of the person behind an account (default: the account's UPN), e.g. ``victim``.
    ``devices``: method id -> holder of that authenticator, passkey or phone (default: the owner).
    ``passes``: TAP method id -> (code, holders who know it) for passes that exist at the start.
    """

    passwords: Mapping[str, str] = field(default_factory=dict)
    known_by: Mapping[str, Collection[str]] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)
    devices: Mapping[str, str] = field(default_factory=dict)
    passes: Mapping[str, tuple[str, Collection[str]]] = field(default_factory=dict)


@dataclass(slots=True)
class Session:
    """A signed-in session and its refresh token (``id`` is the token handle).

    ``methods_used``: the authenticationMethodModes satisfied at sign-in; ``mfa_at``: when MFA was last
    satisfied in it (None: single factor); ``password_based``: the primary credential was the password
    (Microsoft's refresh-token revocation table keys on this); ``via_tap_id``: the pass it came from;
    ``expires_at``: a hard end (tokens from a pass die with the pass); ``holder``: who holds the token;
    ``registration_only``: the sign-in was interrupted to set up MFA (Conditional Access required MFA and
    the user had no method for it), so the session can only register security info.
    """

    id: str
    user_id: str
    issued_at: datetime
    methods_used: tuple[str, ...]
    mfa_at: datetime | None
    password_based: bool
    via_tap_id: str | None
    expires_at: datetime | None
    holder: str
    ip: str
    country: str | None
    app_id: str = ""
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    registration_only: bool = False

    def to_json(self) -> Json:
        def t(value: datetime | None) -> str | None:
            return iso(value) if value else None

        return {
            "id": self.id,
            "userId": self.user_id,
            "issuedAt": iso(self.issued_at),
            "methodsUsed": list(self.methods_used),
            "mfaAt": t(self.mfa_at),
            "passwordBased": self.password_based,
            "viaTapId": self.via_tap_id,
            "expiresAt": t(self.expires_at),
            "holder": self.holder,
            "ip": self.ip,
            "country": self.country,
            "appId": self.app_id,
            "revokedAt": t(self.revoked_at),
            "revokedReason": self.revoked_reason,
            "registrationOnly": self.registration_only,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        def t(key: str) -> datetime | None:
            value = data.get(key)
            return parse_instant(value, what=key) if isinstance(value, str) else None

        issued = t("issuedAt")
        if issued is None:
            raise RangeError("a stored session has no issuedAt")
        return cls(
            id=str(data["id"]),
            user_id=str(data["userId"]),
            issued_at=issued,
            methods_used=tuple(str(m) for m in data.get("methodsUsed") or ()),
            mfa_at=t("mfaAt"),
            password_based=bool(data.get("passwordBased")),
            via_tap_id=data.get("viaTapId"),
            expires_at=t("expiresAt"),
            holder=str(data.get("holder") or ""),
            ip=str(data.get("ip") or ""),
            country=data.get("country"),
            app_id=str(data.get("appId") or ""),
            revoked_at=t("revokedAt"),
            revoked_reason=data.get("revokedReason"),
            registration_only=bool(data.get("registrationOnly")),
        )


# methodsRegistered names (userRegistrationDetails) per method kind; phones depend on phoneType.
_REGISTERED_NAME = {
    MethodKind.EMAIL: "email",
    MethodKind.MICROSOFT_AUTHENTICATOR_PUSH: "microsoftAuthenticatorPush",
    MethodKind.SOFTWARE_OATH: "softwareOneTimePasscode",
    MethodKind.HARDWARE_OATH: "hardwareOneTimePasscode",
    MethodKind.FIDO2: "fido2",
    MethodKind.WINDOWS_HELLO_FOR_BUSINESS: "windowsHelloForBusiness",
    MethodKind.TEMPORARY_ACCESS_PASS: "temporaryAccessPass",
}
_PHONE_NAME = {"mobile": "mobilePhone", "alternatemobile": "alternateMobilePhone", "office": "officePhone"}
_PREFERRED = (
    (MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS, "push"),
    (MethodKind.MICROSOFT_AUTHENTICATOR_PUSH, "push"),
    (MethodKind.SOFTWARE_OATH, "oath"),
    (MethodKind.HARDWARE_OATH, "oath"),
    (MethodKind.PHONE_MOBILE, "sms"),
)


def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


@dataclass
class RangeState:
    """Everything a range is; mutated only by :mod:`graphlattice.range.actions`."""

    tenant_id: str
    clock: Clock
    ids: IdSource
    collections: dict[str, Any]
    secrets: Secrets = field(default_factory=Secrets)
    sessions: dict[str, Session] = field(default_factory=dict)
    audits: list[Json] = field(default_factory=list)
    sign_ins: list[Json] = field(default_factory=list)
    requests: dict[str, Json] = field(default_factory=dict)  # PIM activation requests awaiting approval
    notes: dict[str, Any] = field(default_factory=dict)  # free space for the scenario layer (JSON values)

    # ---- seeding ------------------------------------------------------------------------------------

    @classmethod
    def from_collections(
        cls,
        collections: Mapping[str, Any],
        *,
        now: datetime,
        seed: int,
        secrets: SeedSecrets | None = None,
        tenant_id: str | None = None,
    ) -> RangeState:
        """A fresh range from Graph JSON collections (see the module docstring for the secrets).

        ``collections`` uses snapshot names; a list collection may be a list or ``{"value": [...]}``;
        ``authenticationMethods`` may be ``{userId: [methods]}`` or a list of ``{"userId", "value"}``.
        Missing collections start empty; :data:`SERVED_ONLY` collections are kept when given. The input is
        copied, never kept.
        """
        unknown = set(collections) - set(COLLECTIONS) - set(SERVED_ONLY)
        if unknown:
            raise RangeError(f"unknown collection(s) in the seed: {', '.join(sorted(unknown))}")
        data: dict[str, Any] = {}
        for name in _LIST_COLLECTIONS:
            raw = collections.get(name)
            if isinstance(raw, Mapping):
                raw = raw.get("value")
            if raw is None:
                raw = []
            if not isinstance(raw, list) or not all(isinstance(x, Mapping) for x in raw):
                raise RangeError(f"seed collection {name} must be a list of objects")
            data[name] = _copy(raw)
        policy = collections.get("authenticationMethodsPolicy")
        data["authenticationMethodsPolicy"] = (
            _copy(policy)
            if isinstance(policy, Mapping)
            else {
                "id": "authenticationMethodsPolicy",
                "displayName": "Authentication Methods Policy",
                "policyMigrationState": "migrationComplete",
                "authenticationMethodConfigurations": [],
            }
        )
        for name, shape in SERVED_ONLY.items():
            raw = collections.get(name)
            if raw is None:
                continue
            if isinstance(raw, Mapping) and shape == "list":
                raw = raw.get("value")
            if not isinstance(raw, Mapping if shape == "singleton" else list):
                raise RangeError(
                    f"seed collection {name} must be {'an object' if shape == 'singleton' else 'a list'}"
                )
            data[name] = _copy(raw)
        methods: dict[str, list[Json]] = {}
        raw_methods = collections.get("authenticationMethods") or {}
        if isinstance(raw_methods, list):
            raw_methods = {str(line.get("userId")): line.get("value") for line in raw_methods}
        if not isinstance(raw_methods, Mapping):
            raise RangeError("seed authenticationMethods must map user ids to method lists")
        for uid, value in raw_methods.items():
            if not isinstance(value, list):
                raise RangeError(f"seed authenticationMethods of {uid} is not a list")
            methods[str(uid).casefold()] = _copy(value)
        data["authenticationMethods"] = methods
        audits = data.pop("directoryAudits")
        sign_ins = data.pop("signIns")
        state = cls(
            tenant_id=tenant_id or "00000000-0000-0000-0000-000000000000",
            clock=Clock(now),
            ids=IdSource(seed),
            collections=data,
            audits=audits,
            sign_ins=sign_ins,
        )
        state._seed_secrets(secrets or SeedSecrets())
        return state

    def _seed_secrets(self, seed: SeedSecrets) -> None:
        s = self.secrets
        for user in self.collections["users"]:
            uid = str(user["id"]).casefold()
            s.owners[uid] = str(user.get("userPrincipalName") or uid)
        for key, holder in seed.owners.items():
            s.owners[self.user_id(key)] = holder
        given = {self.user_id(k): v for k, v in seed.passwords.items()}
        extra = {self.user_id(k): list(v) for k, v in seed.known_by.items()}
        for user in self.collections["users"]:
            uid = str(user["id"]).casefold()
            others = [h for h in extra.get(uid, []) if h.casefold() != s.owners[uid].casefold()]
            value = given.get(uid) or self.ids.password()
            s.passwords[uid] = Secret.new(
                self.ids, value, [s.owners[uid], *others], keep_plaintext=bool(others)
            )
        for method_id, holder in seed.devices.items():
            s.devices[method_id.casefold()] = holder
        for method_id, (code, holders) in seed.passes.items():
            s.passes[method_id.casefold()] = Secret.new(self.ids, code, holders, keep_plaintext=True)
        for uid, methods in self.collections["authenticationMethods"].items():
            for method in methods:
                mid = str(method.get("id", "")).casefold()
                kind = classify_method(method)
                if mid and kind is not MethodKind.PASSWORD and mid not in s.devices:
                    s.devices[mid] = s.owners.get(uid, uid)

    # ---- lookups ------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.now

    def find_user(self, key: str) -> Json | None:
        wanted = key.strip().casefold()
        for user in self.collections["users"]:
            if str(user.get("id", "")).casefold() == wanted:
                return user  # type: ignore[no-any-return]
            if str(user.get("userPrincipalName", "")).casefold() == wanted:
                return user  # type: ignore[no-any-return]
        return None

    def user(self, key: str) -> Json:
        """A user by object id or UPN; :class:`RangeError` names the unknown one."""
        found = self.find_user(key)
        if found is None:
            raise RangeError(f"unknown user: {key}")
        return found

    def user_id(self, key: str) -> str:
        return str(self.user(key)["id"]).casefold()

    def methods_of(self, user_id: str) -> list[Json]:
        methods: dict[str, list[Json]] = self.collections["authenticationMethods"]
        return methods.setdefault(user_id.casefold(), [])

    def owner_of(self, user_id: str) -> str:
        return self.secrets.owners.get(user_id.casefold(), user_id)

    # ---- views --------------------------------------------------------------------------------------

    def manifest(self) -> Json:
        return {
            "tenantId": self.tenant_id,
            "collectedAt": iso(self.now),
            "source": "range",
            "collections": {name: {"status": "ok"} for name in COLLECTIONS},
        }

    def graph_collections(self, *, with_logs: bool = True) -> dict[str, Any]:
        """The tenant as snapshot collections (a copy), with ``userRegistrationDetails`` derived afresh."""
        out: dict[str, Any] = _copy(self.collections)
        out["userRegistrationDetails"] = self.registration_details()
        if with_logs:
            out["directoryAudits"] = _copy(self.audits)
            out["signIns"] = _copy(self.sign_ins)
        return out

    def tenant(self, *, with_logs: bool = True) -> Tenant:
        """The read-only model the checks read (a copy: later actions do not change it)."""
        manifest = self.manifest()
        if not with_logs:
            for name in _LOGS:
                manifest["collections"].pop(name, None)
        return tenant_from_collections(self.graph_collections(with_logs=with_logs), manifest)

    def registration_details(self) -> list[Json]:
        """``userRegistrationDetails`` rows as Entra's report would show them now."""
        admins = {
            str(a.get("principalId", "")).casefold()
            for name in ("roleAssignments", "roleEligibilitySchedules")
            for a in self.collections.get(name, [])
        }
        old = {
            str(r.get("id", "")).casefold(): r for r in self.collections.get("userRegistrationDetails", [])
        }
        rows: list[Json] = []
        for user in self.collections["users"]:
            uid = str(user["id"]).casefold()
            kinds: list[MethodKind] = []
            names: list[str] = []
            for method in self.collections["authenticationMethods"].get(uid, []):
                kind = classify_method(method)
                kinds.append(kind)
                if kind in (MethodKind.PHONE_MOBILE, MethodKind.PHONE_VOICE):
                    name = _PHONE_NAME.get(str(method.get("phoneType", "")).casefold())
                    if name:
                        names.append(name)
                elif kind is MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS:
                    names += ["microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless"]
                elif kind in _REGISTERED_NAME:
                    names.append(_REGISTERED_NAME[kind])
            registered = list(dict.fromkeys(names))
            strong = [k for k in kinds if k.is_mfa_capable and k is not MethodKind.TEMPORARY_ACCESS_PASS]
            preferred = next((label for kind, label in _PREFERRED if kind in kinds), "none")
            sspr = bool(strong) or MethodKind.EMAIL in kinds
            guest = str(user.get("userType") or "Member").casefold() == "guest"
            row: Json = dict(old.get(uid, {}))
            row.update(
                {
                    "id": user["id"],
                    "userPrincipalName": user.get("userPrincipalName"),
                    "userDisplayName": user.get("displayName"),
                    "userType": "guest" if guest else "member",
                    "isAdmin": uid in admins,
                    "isMfaRegistered": bool(strong),
                    "isMfaCapable": bool(strong),
                    "isPasswordlessCapable": any(
                        k
                        in (
                            MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS,
                            MethodKind.FIDO2,
                            MethodKind.WINDOWS_HELLO_FOR_BUSINESS,
                        )
                        for k in kinds
                    ),
                    "isSsprRegistered": sspr,
                    "isSsprEnabled": not guest,
                    "isSsprCapable": sspr and not guest,
                    "isSystemPreferredAuthenticationMethodEnabled": True,
                    "methodsRegistered": registered,
                    "systemPreferredAuthenticationMethods": [] if preferred == "none" else [preferred],
                    "userPreferredMethodForSecondaryAuthentication": preferred,
                    "lastUpdatedDateTime": iso(self.now),
                }
            )
            rows.append(row)
        return rows

    # ---- (de)serialisation --------------------------------------------------------------------------

    def to_json(self) -> Json:
        return {
            "version": STATE_VERSION,
            "tenantId": self.tenant_id,
            "clock": self.clock.to_json(),
            "ids": self.ids.to_json(),
            "collections": self.collections,
            "secrets": self.secrets.to_json(),
            "sessions": [s.to_json() for s in self.sessions.values()],
            "requests": self.requests,
            "notes": self.notes,
            "directoryAudits": self.audits,
            "signIns": self.sign_ins,
        }

    def dumps(self) -> bytes:
        """The whole state as canonical JSON bytes (equal states give equal bytes)."""
        return orjson.dumps(self.to_json(), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RangeState:
        if data.get("version") != STATE_VERSION:
            raise RangeError(f"range state version {data.get('version')!r} is not supported")
        try:
            sessions = [Session.from_json(s) for s in data.get("sessions") or []]
            return cls(
                tenant_id=str(data["tenantId"]),
                clock=Clock.from_json(str(data["clock"])),
                ids=IdSource.from_json(dict(data["ids"])),
                collections=_copy(data["collections"]),
                secrets=Secrets.from_json(data.get("secrets") or {}),
                sessions={s.id: s for s in sessions},
                audits=_copy(data.get("directoryAudits") or []),
                sign_ins=_copy(data.get("signIns") or []),
                requests=_copy(data.get("requests") or {}),
                notes=_copy(data.get("notes") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RangeError(f"the range state is damaged ({type(exc).__name__}: {exc})") from None

    @classmethod
    def loads(cls, raw: bytes) -> RangeState:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RangeError(f"the range state is not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise RangeError("the range state is not a JSON object")
        return cls.from_json(data)

    def copy(self) -> RangeState:
        """An independent deep copy (for verification and dry runs)."""
        return RangeState.loads(self.dumps())
