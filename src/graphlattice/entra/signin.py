"""The description of one sign-in that Conditional Access is evaluated against."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SignInContext"]


@dataclass(slots=True, frozen=True)
class SignInContext:
    """Who signs in, to what, from where, and which authentication method modes are already satisfied.

    ``None`` always means *not known*; conditions that depend on an unknown fact are reported as not
    evaluated rather than guessed. Two exceptions follow Entra's own handling of unknowns: ``country=None``
    is an unknown country or region (matched by ``includeUnknownCountriesAndRegions``), and ``platform=None``
    is an unknown device platform (covered by "all" platforms, never by a named one).

    ``role_ids`` are the role template ids the user holds *active* (Conditional Access does not count
    PIM-eligible roles). ``application_suites`` lists the Microsoft app groupings the application belongs to
    (``Office365``, ``MicrosoftAdminPortals``); leave it ``None`` when that is not known.
    ``used_modes`` are ``authenticationMethodModes`` already satisfied in the session.
    """

    user_id: str
    group_ids: frozenset[str] = frozenset()
    role_ids: frozenset[str] = frozenset()
    is_guest: bool = False
    guest_types: frozenset[str] = frozenset()
    home_tenant_id: str | None = None
    application: str | None = None
    application_suites: frozenset[str] | None = None
    user_action: str | None = None
    ip: str | None = None
    country: str | None = None
    client_app_type: str = "browser"
    platform: str | None = None
    device_compliant: bool | None = None
    device_hybrid_joined: bool | None = None
    sign_in_risk: str = "none"
    user_risk: str = "none"
    used_modes: frozenset[str] = frozenset()
