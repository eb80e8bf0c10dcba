"""Classification of user authentication methods: the single place that says what a method is worth.

Two inputs are understood: the ``@odata.type`` objects returned by ``/users/{id}/authentication/methods``
and the ``methodsRegistered`` strings of ``userRegistrationDetails``. Both map to a :class:`MethodKind`.
Anything not recognised is ``MethodKind.UNKNOWN``; callers turn that into an UNKNOWN result rather than a
guess. The properties of each kind come from ``data/methods.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphlattice.entra._data import load_table, require_list, require_mapping, require_str
from graphlattice.errors import EntraRuleError

__all__ = [
    "AUTH_METHOD_MODES",
    "MethodKind",
    "canonical_mode",
    "canonical_modes",
    "classify_method",
    "classify_registered",
    "odata_type_name",
]


class MethodKind(Enum):
    """What kind of credential a registered authentication method is."""

    PASSWORD = "password"
    EMAIL = "email"
    PHONE_MOBILE = "mobilePhone"
    PHONE_VOICE = "voicePhone"
    MICROSOFT_AUTHENTICATOR_PUSH = "microsoftAuthenticatorPush"
    MICROSOFT_AUTHENTICATOR_PASSWORDLESS = "microsoftAuthenticatorPasswordless"
    SOFTWARE_OATH = "softwareOath"
    HARDWARE_OATH = "hardwareOath"
    FIDO2 = "fido2"
    WINDOWS_HELLO_FOR_BUSINESS = "windowsHelloForBusiness"
    PLATFORM_CREDENTIAL = "platformCredential"
    X509_CERTIFICATE = "x509Certificate"
    TEMPORARY_ACCESS_PASS = "temporaryAccessPass"
    SECURITY_QUESTION = "securityQuestion"
    EXTERNAL = "external"
    UNKNOWN = "unknown"

    @property
    def is_mfa_capable(self) -> bool:
        """True when the method can act as (or replace) a second factor."""
        return _TRAITS[self].mfa_capable

    @property
    def is_phishing_resistant(self) -> bool:
        return _TRAITS[self].phishing_resistant

    @property
    def is_weak_second_factor(self) -> bool:
        """True for the phone-delivered factors (SMS and voice)."""
        return _TRAITS[self].weak_second_factor

    @property
    def auth_modes(self) -> frozenset[str]:
        """The ``authenticationMethodModes`` values this method can produce in a sign-in."""
        return _TRAITS[self].auth_modes


@dataclass(slots=True, frozen=True)
class _Traits:
    mfa_capable: bool
    phishing_resistant: bool
    weak_second_factor: bool
    auth_modes: frozenset[str]


def _load() -> tuple[
    dict[MethodKind, _Traits], dict[str, str], dict[str, MethodKind], dict[str, MethodKind], dict[str, str]
]:
    table = load_table("methods")
    modes = {require_str(m, "methods.modes").casefold(): m for m in require_list(table["modes"], "modes")}
    traits: dict[MethodKind, _Traits] = {}
    for name, row in require_mapping(table["kinds"], "methods.kinds").items():
        row = require_mapping(row, f"methods.kinds.{name}")
        kind_modes = frozenset(require_list(row["auth_modes"], f"methods.kinds.{name}.auth_modes"))
        if not kind_modes <= set(modes.values()):
            raise EntraRuleError(f"methods.kinds.{name}: unknown authentication method mode")
        traits[MethodKind(name)] = _Traits(
            mfa_capable=bool(row["mfa_capable"]),
            phishing_resistant=bool(row["phishing_resistant"]),
            weak_second_factor=bool(row["weak_second_factor"]),
            auth_modes=kind_modes,
        )
    if set(traits) != set(MethodKind):
        raise EntraRuleError("methods.kinds must describe every MethodKind")

    def kinds(section: str) -> dict[str, MethodKind]:
        rows = require_mapping(table[section], f"methods.{section}")
        return {str(key).casefold(): MethodKind(value) for key, value in rows.items()}

    phone_ids = {
        str(k).casefold(): str(v) for k, v in require_mapping(table["phone_method_ids"], "ids").items()
    }
    return traits, modes, kinds("odata_types"), kinds("registered_names"), phone_ids


_TRAITS, _MODES, _BY_ODATA_TYPE, _BY_REGISTERED_NAME, _PHONE_TYPE_BY_ID = _load()
_BY_PHONE_TYPE = {
    str(k).casefold(): MethodKind(v)
    for k, v in require_mapping(load_table("methods")["phone_types"], "methods.phone_types").items()
}

AUTH_METHOD_MODES: frozenset[str] = frozenset(_MODES.values())
"""Every ``authenticationMethodModes`` member, in Graph's spelling."""


def canonical_mode(mode: str) -> str:
    """Graph's spelling of an authentication method mode (case-insensitive); unknown modes pass through."""
    cleaned = mode.strip()
    return _MODES.get(cleaned.casefold(), cleaned)


def canonical_modes(modes: Iterable[str]) -> frozenset[str]:
    return frozenset(canonical_mode(m) for m in modes if m.strip())


def odata_type_name(obj: Mapping[str, Any]) -> str:
    """The bare ``@odata.type``, e.g. ``fido2AuthenticationMethod`` for ``#microsoft.graph.fido2...``."""
    raw = obj.get("@odata.type")
    if not isinstance(raw, str):
        return ""
    name = raw.strip().lstrip("#")
    prefix = "microsoft.graph."
    if name.casefold().startswith(prefix):
        name = name[len(prefix) :]
    return name


_TYPE_NAME_CACHE: dict[str, str] = {}


def _folded_type_name(obj: Mapping[str, Any]) -> str:
    """``odata_type_name(obj).casefold()``, remembered per distinct ``@odata.type`` (a handful exist)."""
    raw = obj.get("@odata.type")
    if type(raw) is not str:
        return ""
    name = _TYPE_NAME_CACHE.get(raw)
    if name is None:
        name = odata_type_name(obj).casefold()
        if len(_TYPE_NAME_CACHE) < 4096:
            _TYPE_NAME_CACHE[raw] = name
    return name


def classify_method(obj: Mapping[str, Any]) -> MethodKind:
    """Classify one user ``authenticationMethod`` object by its ``@odata.type`` (and, where needed, content).

    A phone method's kind depends on ``phoneType`` (falling back to Graph's fixed per-slot ids). A Microsoft
    Authenticator method has a non-null ``createdDateTime`` only when it is registered for passwordless phone
    sign-in, so that field decides between push-only and passwordless. Cheap enough for whole-tenant passes.
    """
    type_name = _folded_type_name(obj)
    if type_name == "phoneauthenticationmethod":
        phone_type = obj.get("phoneType")
        if not isinstance(phone_type, str):
            phone_type = _PHONE_TYPE_BY_ID.get(str(obj.get("id", "")).casefold())
        return (
            _BY_PHONE_TYPE.get(phone_type.casefold(), MethodKind.UNKNOWN)
            if phone_type
            else MethodKind.UNKNOWN
        )
    if type_name == "microsoftauthenticatorauthenticationmethod":
        if obj.get("createdDateTime"):
            return MethodKind.MICROSOFT_AUTHENTICATOR_PASSWORDLESS
        return MethodKind.MICROSOFT_AUTHENTICATOR_PUSH
    return _BY_ODATA_TYPE.get(type_name, MethodKind.UNKNOWN)


def classify_registered(name: str) -> MethodKind:
    """Classify one ``userRegistrationDetails.methodsRegistered`` string."""
    return _BY_REGISTERED_NAME.get(name.strip().casefold(), MethodKind.UNKNOWN)
