"""A memoising front for :func:`graphlattice.entra.methods.classify_method`, for whole-tenant passes.

Classification reads little of each ``authenticationMethod`` object: the ``@odata.type``; for a phone method
its ``phoneType`` (or, without one, its fixed per-slot ``id``); for a Microsoft Authenticator method whether
``createdDateTime`` is set (only for passwordless phone sign-in). See the Graph v1.0 resources
phoneAuthenticationMethod and microsoftAuthenticatorAuthenticationMethod (microsoftgraph/
microsoft-graph-docs-contrib api-reference/v1.0/resources/). The classifier remembers the kind per combination
of those values, so a 100,000-user tenant is classified with dictionary look-ups instead of one parse per
method. Results are identical to ``classify_method``, which it calls for every combination it has not seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphlattice.entra.methods import MethodKind, classify_method, odata_type_name

__all__ = ["MethodClassifier"]

_PHONE = "phoneauthenticationmethod"
_AUTHENTICATOR = "microsoftauthenticatorauthenticationmethod"


class MethodClassifier:
    """Callable like ``classify_method``; keep one instance for a whole pass over a tenant."""

    __slots__ = ("_by_content", "_by_type", "_family")

    def __init__(self) -> None:
        self._by_type: dict[str, MethodKind] = {}  # types whose kind depends on the type alone
        self._family: dict[str, str] = {}  # raw @odata.type -> _PHONE, _AUTHENTICATOR or ""
        self._by_content: dict[tuple[str, object], MethodKind] = {}

    def __call__(self, obj: Mapping[str, Any]) -> MethodKind:
        raw = obj.get("@odata.type")
        if type(raw) is not str:
            return classify_method(obj)
        kind = self._by_type.get(raw)
        if kind is not None:
            return kind
        family = self._family.get(raw)
        if family is None:
            name = odata_type_name(obj).casefold()
            family = self._family[raw] = name if name in (_PHONE, _AUTHENTICATOR) else ""
        if not family:
            kind = self._by_type[raw] = classify_method(obj)
            return kind
        detail: object
        if family == _PHONE:
            phone_type = obj.get("phoneType")
            detail = phone_type if isinstance(phone_type, str) else ("id", str(obj.get("id", "")))
        else:
            detail = bool(obj.get("createdDateTime"))
        key = (raw, detail)
        kind = self._by_content.get(key)
        if kind is None:
            kind = self._by_content[key] = classify_method(obj)
        return kind
