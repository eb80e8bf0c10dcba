"""Who may use an authentication method, per its configuration in the authentication methods policy.

Sources: Microsoft Graph v1.0 ``authenticationMethodConfiguration`` and its subtypes
(microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/
authenticationmethodconfiguration.md and smsauthenticationmethodtarget.md — ``isUsableForSignIn``) and
Microsoft Entra "Manage authentication methods" (MicrosoftDocs/entra-docs
docs/identity/authentication/concept-authentication-methods-manage.md): a method is usable by a user when its
configuration is enabled, a target in ``includeTargets`` covers the user (the ``all_users`` pseudo-group, a
group they belong to, or the user) and no target in ``excludeTargets`` does. SMS sign-in (the phone number as
a first factor) additionally needs an include target with ``isUsableForSignIn`` true. While the policy is not
migrated (``policyMigrationState`` other than ``migrationComplete``) the legacy per-user MFA and SSPR policies
can still offer SMS, voice and Authenticator regardless of this policy.

Targets are matched with :class:`graphlattice.entra.tap.MethodTarget`, the same rule the TAP policy uses.

The Passkey (FIDO2) configuration decides more than who is targeted (:class:`PasskeyRules`,
``data/passkey_policy.yaml``): whether users may register passkeys themselves in Security info, and which
authenticator models (AAGUIDs) may register and sign in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from graphlattice.entra._data import load_table, require_mapping, require_str
from graphlattice.entra.tap import MethodTarget
from graphlattice.errors import InputError

__all__ = ["MIGRATION_COMPLETE", "MethodConfiguration", "PasskeyRules", "legacy_policies_apply"]

MIGRATION_COMPLETE = "migrationcomplete"
_ALL_USERS = "all_users"


@dataclass(slots=True, frozen=True)
class MethodConfiguration:
    """One ``authenticationMethodConfiguration``; ``present`` is False when the policy did not list it."""

    id: str
    state: str
    include_targets: tuple[MethodTarget, ...]
    exclude_targets: tuple[MethodTarget, ...]
    sign_in_targets: tuple[MethodTarget, ...]  # include targets with isUsableForSignIn (SMS only)
    present: bool

    @classmethod
    def from_graph(cls, config_id: str, config: Mapping[str, Any] | None) -> MethodConfiguration:
        """Read a method configuration; an absent one is disabled with no targets."""
        if config is None:
            return cls(config_id, "disabled", (), (), (), present=False)
        include = _targets(config_id, config.get("includeTargets"), "includeTargets")
        sign_in = tuple(
            target
            for target, item in zip(include, config.get("includeTargets") or (), strict=True)
            if isinstance(item, Mapping) and item.get("isUsableForSignIn") is True
        )
        return cls(
            id=str(config.get("id") or config_id),
            state=str(config.get("state") or "disabled"),
            include_targets=include,
            exclude_targets=_targets(config_id, config.get("excludeTargets"), "excludeTargets"),
            sign_in_targets=sign_in,
            present=True,
        )

    @property
    def enabled(self) -> bool:
        return self.state.casefold() == "enabled"

    @property
    def includes_all_users(self) -> bool:
        return any(t.id.casefold() == _ALL_USERS for t in self.include_targets)

    def _covers(self, targets: tuple[MethodTarget, ...], user_id: str, group_ids: Collection[str]) -> bool:
        if not self.enabled:
            return False
        groups = frozenset(g.casefold() for g in group_ids)
        if not any(t.matches(user_id, groups) for t in targets):
            return False
        return not any(t.matches(user_id, groups) for t in self.exclude_targets)

    def usable_by(self, user_id: str, group_ids: Collection[str]) -> bool:
        """Whether the policy lets this user register and use the method (``group_ids``: transitive)."""
        return self._covers(self.include_targets, user_id, group_ids)

    def sign_in_usable_by(self, user_id: str, group_ids: Collection[str]) -> bool:
        """SMS only: whether this user may sign in with a phone number and a texted code (first factor)."""
        return self._covers(self.sign_in_targets, user_id, group_ids)


_PASSKEY = load_table("passkey_policy")
_PASSKEY_DEFAULTS = require_mapping(_PASSKEY["defaults"], "passkey_policy.defaults")
_PASSKEY_REFUSALS = {
    key: require_str(text, f"passkey_policy.refusals.{key}")
    for key, text in require_mapping(_PASSKEY["refusals"], "passkey_policy.refusals").items()
}


@dataclass(slots=True, frozen=True)
class PasskeyRules:
    """The registration and key-restriction settings of a ``fido2AuthenticationMethodConfiguration``."""

    self_service: bool
    restrictions_enforced: bool
    allow_list: bool  # enforcementType "allow"; otherwise the listed AAGUIDs are blocked
    aaguids: frozenset[str]

    @classmethod
    def from_graph(cls, config: Mapping[str, Any] | None) -> PasskeyRules:
        config = config or {}
        self_service = config.get("isSelfServiceRegistrationAllowed")
        if self_service is None:
            self_service = _PASSKEY_DEFAULTS["isSelfServiceRegistrationAllowed"]
        keys = config.get("keyRestrictions")
        if keys is None:
            keys = _PASSKEY_DEFAULTS["keyRestrictions"]
        if not isinstance(self_service, bool) or not isinstance(keys, Mapping):
            raise InputError("fido2AuthenticationMethodConfiguration has wrongly typed registration settings")
        listed = keys.get("aaGuids") or []
        if not isinstance(listed, list):
            raise InputError("fido2AuthenticationMethodConfiguration.keyRestrictions.aaGuids is not a list")
        return cls(
            self_service=self_service,
            restrictions_enforced=keys.get("isEnforced") is True,
            allow_list=str(keys.get("enforcementType") or "").casefold() == "allow",
            aaguids=frozenset(str(a).strip().casefold() for a in listed),
        )

    def model_allowed(self, aaguid: str | None) -> bool:
        """Whether key restrictions let a passkey of this model register or sign in."""
        if not self.restrictions_enforced:
            return True
        listed = aaguid is not None and aaguid.strip().casefold() in self.aaguids
        return listed if self.allow_list else not listed

    def registration_refusal(self, aaguid: str | None, *, guest: bool = False) -> str | None:
        """Why a user may not add this passkey in Security info, or None when the configuration allows it."""
        if guest:
            return _PASSKEY_REFUSALS["guest"]
        if not self.self_service:
            return _PASSKEY_REFUSALS["self_service_off"]
        if not self.model_allowed(aaguid):
            return _PASSKEY_REFUSALS["aaguid_not_allowed"].replace("{aaguid}", str(aaguid))
        return None


def legacy_policies_apply(policy: Mapping[str, Any] | None) -> bool:
    """True when the legacy MFA/SSPR method settings still apply alongside the methods policy."""
    if policy is None:
        return False
    state = policy.get("policyMigrationState")
    return not (isinstance(state, str) and state.casefold() == MIGRATION_COMPLETE)


def _targets(config_id: str, raw: Any, field: str) -> tuple[MethodTarget, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"authenticationMethodConfiguration {config_id}.{field} is not a list")
    found: list[MethodTarget] = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise InputError(f"authenticationMethodConfiguration {config_id}.{field} has an entry without id")
        found.append(MethodTarget(id=item["id"], target_type=str(item.get("targetType") or "group")))
    return tuple(found)
