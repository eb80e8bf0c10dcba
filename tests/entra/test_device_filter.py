"""The small device-filter rule evaluator: decided rules, undecidable facts and unsupported syntax."""

from __future__ import annotations

import pytest

from graphlattice.entra.device_filter import DeviceFacts, evaluate_device_rule

COMPLIANT = DeviceFacts(is_compliant=True, hybrid_joined=False)
HYBRID = DeviceFacts(is_compliant=False, hybrid_joined=True)
UNKNOWN = DeviceFacts()


@pytest.mark.parametrize(
    ("rule", "device", "expected"),
    [
        ("device.isCompliant -eq True", COMPLIANT, True),
        ("device.isCompliant -eq true", HYBRID, False),
        ("device.isCompliant -ne True", HYBRID, True),
        ("device.IsCompliant -EQ 'True'", COMPLIANT, True),
        ("device.isCompliant -eq True", UNKNOWN, None),
        ('device.trustType -eq "ServerAD"', HYBRID, True),
        ('device.trustType -eq "ServerAD"', COMPLIANT, False),
        ('device.trustType -eq "AzureAD"', HYBRID, False),
        ('device.trustType -eq "AzureAD"', COMPLIANT, None),  # Entra joined or registered: not known
        ('device.isCompliant -eq True -and device.trustType -eq "ServerAD"', HYBRID, False),
        ('device.isCompliant -eq True -or device.trustType -eq "ServerAD"', HYBRID, True),
        (
            '(device.isCompliant -eq True -or device.trustType -eq "ServerAD") '
            "-and device.isCompliant -eq False",
            HYBRID,
            True,
        ),
        ("device.isCompliant -eq True -and device.isCompliant -eq True", UNKNOWN, None),
        ("device.isCompliant -eq False -and device.trustType -eq 'ServerAD'", COMPLIANT, False),
        (
            "device.isCompliant -eq True -or device.trustType -eq 'ServerAD'",
            DeviceFacts(is_compliant=True),
            True,
        ),
    ],
)
def test_decidable_rules(rule: str, device: DeviceFacts, expected: bool | None) -> None:
    assert evaluate_device_rule(rule, device) is expected


@pytest.mark.parametrize(
    "rule",
    [
        'device.model -startsWith "Surface"',
        'device.displayName -eq "Kiosk"',
        'device.deviceId -in ["a", "b"]',
        "device.isCompliant -eq Maybe",
        "device.isCompliant -eq True -and",
        "(device.isCompliant -eq True",
        "device.isCompliant -eq True)",
        "",
    ],
)
def test_unsupported_rules_are_not_evaluated(rule: str) -> None:
    assert evaluate_device_rule(rule, COMPLIANT) is None
