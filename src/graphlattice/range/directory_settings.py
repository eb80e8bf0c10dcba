"""Tenant-wide directory settings a Range tenant can carry: Microsoft's setting templates and their defaults.

Entra keeps tenant-wide group settings as ``groupSetting`` objects (``GET /groupSettings``), each made from a
setting template: an object holds *every* value of its template, the defaults unless changed. A tenant that
never created one has none (``/groupSettings`` is empty and Entra applies the template defaults). Scenarios
name the template and only the values they change; :func:`group_setting_values` fills in the rest.

Source: learn.microsoft.com/entra/identity/users/groups-settings-cmdlets, section "Template settings"
(MicrosoftDocs/entra-docs ``docs/identity/users/groups-settings-cmdlets.md``), and the Microsoft Graph
``groupSettingTemplate`` list (template id of ``Group.Unified``). Values are strings in Graph, booleans
spelled ``true`` / ``false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["GROUP_SETTING_TEMPLATES", "SettingTemplate", "group_setting_values"]


class SettingTemplate:
    """One directory setting template: its id and its values' defaults, in Graph's order."""

    def __init__(self, template_id: str, defaults: Mapping[str, str]) -> None:
        self.template_id = template_id
        self.defaults = MappingProxyType(dict(defaults))


GROUP_SETTING_TEMPLATES: Mapping[str, SettingTemplate] = MappingProxyType(
    {
        "Group.Unified": SettingTemplate(
            "62375ab9-6b52-47ed-826b-58e47e0e304b",
            {
                "NewUnifiedGroupWritebackDefault": "true",
                "EnableMIPLabels": "false",
                "CustomBlockedWordsList": "",
                "EnableMSStandardBlockedWords": "false",
                "ClassificationDescriptions": "",
                "DefaultClassification": "",
                "PrefixSuffixNamingRequirement": "",
                "AllowGuestsToBeGroupOwner": "false",
                "AllowGuestsToAccessGroups": "true",
                "GuestUsageGuidelinesUrl": "",
                "GroupCreationAllowedGroupId": "",
                "AllowToAddGuests": "true",
                "UsageGuidelinesUrl": "",
                "ClassificationList": "",
                "EnableGroupCreation": "true",
            },
        ),
    }
)


def group_setting_values(template: str, changed: Mapping[str, str]) -> list[dict[str, str]]:
    """The ``values`` of a group setting made from ``template`` with ``changed`` applied (Graph's shape).

    Raises KeyError for an unknown template or value name."""
    found = GROUP_SETTING_TEMPLATES[template]
    unknown = set(changed) - set(found.defaults)
    if unknown:
        raise KeyError(", ".join(sorted(unknown)))
    return [{"name": name, "value": changed.get(name, default)} for name, default in found.defaults.items()]
