"""The role catalogue: reference roles by id and name, and Microsoft's PRIVILEGED label for every role.

Source: MicrosoftDocs/entra-docs docs/identity/role-based-access-control/permissions-reference.md
("All roles" table, January 2026) and, for roles added later in 2026, each role's permission include.
"""

from __future__ import annotations

import re

import pytest

from graphlattice.entra import roles as R

# The roles named in the project's Graph reference (section 4.1), with their display names.
REFERENCE_ROLES = [
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator", R.GLOBAL_ADMINISTRATOR),
    (
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
        R.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    ),
    ("c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator", R.AUTHENTICATION_ADMINISTRATOR),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator", R.HELPDESK_ADMINISTRATOR),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator", R.USER_ADMINISTRATOR),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
        R.PRIVILEGED_ROLE_ADMINISTRATOR,
    ),
    (
        "0526716b-113d-4c15-b2c8-68e3c22b9f80",
        "Authentication Policy Administrator",
        R.AUTHENTICATION_POLICY_ADMINISTRATOR,
    ),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator", R.SECURITY_ADMINISTRATOR),
    ("966707d0-3269-4727-9be2-8c3a10f19b9d", "Password Administrator", R.PASSWORD_ADMINISTRATOR),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
        R.CONDITIONAL_ACCESS_ADMINISTRATOR,
    ),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader", R.GLOBAL_READER),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader", R.SECURITY_READER),
    ("5f2222b1-57c3-48ba-8ad5-d4759f1fde6f", "Security Operator", R.SECURITY_OPERATOR),
    ("4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader", R.REPORTS_READER),
    ("fdd7a751-b60b-444a-984c-02652fe8fa1c", "Groups Administrator", R.GROUPS_ADMINISTRATOR),
    ("88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers", R.DIRECTORY_READERS),
    ("95e79109-95c0-4d8e-aee3-d01accf2d47b", "Guest Inviter", R.GUEST_INVITER),
    ("790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b", "Message Center Reader", R.MESSAGE_CENTER_READER),
    (
        "27460883-1df1-4691-b032-3b79643e5e63",
        "User Experience Success Manager",
        R.USER_EXPERIENCE_SUCCESS_MANAGER,
    ),
    ("75934031-6c7e-415a-99d7-48dbd49e875e", "Usage Summary Reports Reader", R.USAGE_SUMMARY_REPORTS_READER),
    (
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
        "Hybrid Identity Administrator",
        R.HYBRID_IDENTITY_ADMINISTRATOR,
    ),
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator", R.APPLICATION_ADMINISTRATOR),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
        R.CLOUD_APPLICATION_ADMINISTRATOR,
    ),
]

# Every role that carries the PRIVILEGED label in Microsoft's "All roles" table (January 2026 revision).
PRIVILEGED = {
    "db506228-d27e-4b7d-95e5-295956d6615f",  # Agent ID Administrator
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",  # Application Administrator
    "cf1c38e5-3621-4004-a7cb-879624dced7c",  # Application Developer
    "ecb2c6bf-0ab6-418e-bd87-7986f8d63bbe",  # Attribute Provisioning Administrator
    "422218e4-db15-4ef9-bbe0-8afb41546d79",  # Attribute Provisioning Reader
    "c4e39bd9-1100-46d3-8c65-fb160da0071f",  # Authentication Administrator
    "25a516ed-2fa0-40ea-a2d0-12923a21473a",  # Authentication Extensibility Administrator
    "aaf43236-0c0d-4d5f-883a-6955382ac081",  # B2C IEF Keyset Administrator
    "158c047a-c907-4556-b7ef-446551a6b5f7",  # Cloud Application Administrator
    "7698a772-787b-4ac8-901f-60d6b08affd2",  # Cloud Device Administrator
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",  # Conditional Access Administrator
    "9360feb5-f418-4baa-8175-e2a00bac4301",  # Directory Writers
    "8329153b-31d0-4727-b945-745eb3bc5f31",  # Domain Name Administrator
    "be2f45a1-457d-42af-a067-6ec1fa63bc45",  # External Identity Provider Administrator
    "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451",  # Global Reader
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",  # Helpdesk Administrator
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",  # Hybrid Identity Administrator
    "3a2c62db-5318-420d-8d74-23affee5d9d5",  # Intune Administrator
    "59d46f88-662b-457b-bceb-5c3809e5908f",  # Lifecycle Workflows Administrator
    "4ba39ca4-527c-499a-b93d-d9b492c50246",  # Partner Tier1 Support
    "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8",  # Partner Tier2 Support
    "966707d0-3269-4727-9be2-8c3a10f19b9d",  # Password Administrator
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",  # Privileged Authentication Administrator
    "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
    "194ae4cb-b126-40b2-bd5b-6091b380977d",  # Security Administrator
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",  # Security Operator
    "5d6b6bb7-de71-4623-b4af-96380a352509",  # Security Reader
    "fe930be7-5e62-47db-91af-98c3a49a38b1",  # User Administrator
    # Added in 2026 (their includes carry the PRIVILEGED banner or a privileged permission):
    "1fe13547-53f6-408d-ac04-7f8eed167b38",  # AI Reader (2026-06-25)
    "0b00bede-4072-4d22-b441-e7df02a1ef63",  # Auth. Extensibility Password Administrator (2026-02-24)
    "58f930cc-fcf4-4152-852c-1d7dbf502139",  # Entra SOC Identity Responder (2026-06-17)
    "1981f584-96e9-4a6f-95b0-f522373f8fae",  # Tenant Governance Administrator (2026-10-06)
}

# Roles added to Microsoft's catalogue in 2026, privileged or not.
ADDED_2026 = {
    "1fe13547-53f6-408d-ac04-7f8eed167b38": "AI Reader",
    "0b00bede-4072-4d22-b441-e7df02a1ef63": "Authentication Extensibility Password Administrator",
    "fc8ad4e2-40e4-4724-8317-bcda7503ecbf": "Customer Delegated Admin Relationship Administrator",
    "b6a27b2b-f905-4b2e-81b5-0d90e0ef1fdb": "Entra Backup Administrator",
    "f42252d9-5400-4d7b-b9ef-cc582dbb8577": "Entra Backup Reader",
    "58f930cc-fcf4-4152-852c-1d7dbf502139": "Entra SOC Identity Responder",
    "2fe872fb-daa8-4afc-8f6c-53c4565cfef4": "Teams External Collaboration Administrator",
    "1981f584-96e9-4a6f-95b0-f522373f8fae": "Tenant Governance Administrator",
    "e0a4caa6-fe82-443f-b92f-d87341d17b2e": "Tenant Governance Reader",
    "b8e31d83-1534-480f-9b10-0338ded51b7e": "Tenant Governance Relationship Administrator",
    "124577f8-48ed-456a-839f-13b419002e33": "Tenant Governance Relationship Reader",
}

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.mark.parametrize(("template_id", "name", "constant"), REFERENCE_ROLES)
def test_reference_roles(template_id: str, name: str, constant: str) -> None:
    assert constant == template_id
    info = R.get_role(template_id)
    assert info is not None
    assert info.display_name == name
    assert info.template_id == template_id
    assert R.role_display_name(template_id) == name


@pytest.mark.parametrize("template_id", sorted(R.ROLE_CATALOG))
def test_privileged_label_for_every_role(template_id: str) -> None:
    assert R.is_privileged(template_id) is (template_id in PRIVILEGED)
    assert R.ROLE_CATALOG[template_id].privileged is (template_id in PRIVILEGED)


@pytest.mark.parametrize("template_id", sorted(PRIVILEGED))
def test_every_privileged_role_is_catalogued(template_id: str) -> None:
    assert template_id in R.ROLE_CATALOG


@pytest.mark.parametrize(("template_id", "name"), sorted(ADDED_2026.items()))
def test_roles_added_in_2026_are_catalogued(template_id: str, name: str) -> None:
    assert R.role_display_name(template_id) == name
    assert R.is_privileged(template_id) is (template_id in PRIVILEGED)


def test_catalogue_shape() -> None:
    assert len(R.ROLE_CATALOG) == 134
    names = [info.display_name for info in R.ROLE_CATALOG.values()]
    assert len(set(names)) == len(names)
    for key, info in R.ROLE_CATALOG.items():
        assert _GUID.match(key) and key == info.template_id
        assert info.description.strip()


def test_authentication_policy_administrator_is_not_labelled_privileged() -> None:
    assert not R.is_privileged(R.AUTHENTICATION_POLICY_ADMINISTRATOR)


def test_lookups_ignore_case_and_fall_back() -> None:
    assert R.get_role(R.GLOBAL_ADMINISTRATOR.upper()) is R.ROLE_CATALOG[R.GLOBAL_ADMINISTRATOR]
    assert R.is_privileged(" " + R.GLOBAL_ADMINISTRATOR.upper())
    custom = "0d9b2c1a-1111-4222-8333-444455556666"
    assert R.get_role(custom) is None
    assert R.role_display_name(custom) == custom
    assert R.is_privileged(custom) is None  # unknown, never "not privileged"


def test_tap_issuer_roles() -> None:
    assert {
        "62e90394-69f5-4237-9190-012177145e10",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    } == R.TAP_ISSUER_ROLES
