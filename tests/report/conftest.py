"""A small, hand-built assessment that exercises every status, waiver state and a variant."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from graphlattice.checks.article import Article, parse_article
from graphlattice.checks.config import AssessConfig
from graphlattice.checks.engine import Assessment
from graphlattice.checks.registry import CATALOG_DIR
from graphlattice.checks.result import Affected, Finding, PreCheck, Severity, Status
from graphlattice.checks.waivers import Waiver, apply_waivers
from graphlattice.tenant.snapshot import load_snapshot
from tests.checks.builder import apply_patch, base_document, write_snapshot

TENANT_ID = "11111111-2222-3333-4444-555555555555"
INJECTED = "<script>alert('owned')</script>"
KIOSK_RATIONALE = "Shared kiosk sign-in; replaced by passkeys in Q1 <b>2027</b>"
LEGACY_RATIONALE = "Legacy batch accounts are being retired"


@pytest.fixture(scope="session")
def tap_article() -> Article:
    """The real catalogue article for tap-policy-weak (parsed straight from its file)."""
    return parse_article(CATALOG_DIR / "tap_policy_weak" / "article.md")


@pytest.fixture(scope="session")
def articles(tap_article: Article) -> dict[str, Article]:
    return {tap_article.id: tap_article}


def _users(count: int) -> list[Affected]:
    return [
        Affected(
            id=f"u-bulk-{n:04d}",
            type="user",
            display_name=f"Batch Account {n:04d}",
            detail="no registered method",
        )
        for n in range(count)
    ]


def build_findings(tap: Article) -> list[Finding]:
    return [
        Finding(
            risk="tap-issuance-unscoped",
            status=Status.PASS,
            severity=Severity.HIGH,
            title="Temporary Access Pass can be issued to anyone",
            summary="TAP use is limited to the TAP enrolment group.",
        ),
        Finding(
            risk="users-without-mfa",
            status=Status.FAIL,
            severity=Severity.MEDIUM,
            title="Users who cannot complete MFA",
            summary="120 enabled members have no MFA method registered.",
            affected=_users(120),
            reasons=["120 members have no strong method."],
        ),
        Finding(
            risk=tap.id,
            status=Status.FAIL,
            severity=tap.severity,
            title=tap.title,
            summary=f"The TAP policy is weak: passes may be multi-use. {INJECTED}",
            affected=[
                Affected(
                    id="TemporaryAccessPass",
                    type="authenticationMethodConfiguration",
                    display_name="Temporary Access Pass policy",
                )
            ],
            reasons=[
                "Passes may be multi-use (isUsableOnce is false).",
                "Maximum lifetime is 43200 min (720 h), above the bound of 480 min (8 h).",
            ],
            evidence={
                "state": "enabled",
                "isUsableOnce": False,
                "maximumLifetimeInMinutes": 43200,
                "includeTargets": [{"targetType": "group", "id": "g-tap"}],
                "holders": {"u-bob", "u-alice"},
            },
            prechecks=[
                PreCheck("Is the TAP method enabled, and for whom?", "Enabled for 1 group(s)."),
                PreCheck(
                    "Who holds a usable pass right now (kept after a policy change)?",
                    "2 user(s) hold a usable pass.",
                ),
            ],
        ),
        Finding(
            risk="admins-risky-mfa",
            status=Status.FAIL,
            severity=Severity.CRITICAL,
            title="Administrators sign in with phishable methods",
            summary="3 privileged users can satisfy MFA with SMS.",
            variant="sms",
            affected=[
                Affected(id="u-admin", type="user", display_name="Ada Admin", detail="Global Administrator"),
                Affected(
                    id="u-alice", type="user", display_name="Alice Member", detail="Helpdesk Administrator"
                ),
                Affected(
                    id="u-helpdesk",
                    type="user",
                    display_name="Hana Helpdesk",
                    detail="Authentication Administrator",
                ),
            ],
        ),
        Finding(
            risk="ca-report-only-never-enforced",
            status=Status.FAIL,
            severity=Severity.LOW,
            title="Conditional Access policies left in report-only mode",
            summary="1 policy has been report-only for 400 days.",
            affected=[Affected(id="ca-1", type="conditionalAccessPolicy", display_name="Block legacy auth")],
        ),
        Finding(
            risk="mfa-registration-gate",
            status=Status.UNKNOWN,
            severity=Severity.HIGH,
            title="Registering security info is not protected",
            summary="Not evaluated: userRegistrationDetails could not be read; grant AuditLog.Read.All.",
            reasons=["userRegistrationDetails: 403 Authorization_RequestDenied"],
            missing=["userRegistrationDetails"],
            grant=["AuditLog.Read.All"],
        ),
        Finding(
            risk="tap-active-passes",
            status=Status.NOT_APPLICABLE,
            severity=Severity.MEDIUM,
            title="Usable Temporary Access Passes exist",
            summary="The Temporary Access Pass method is disabled.",
        ),
    ]


WAIVERS = [
    Waiver(
        risk="admins-risky-mfa",
        object="alice@fixture.example",
        rationale=KIOSK_RATIONALE,
        owner="dana@fixture.example",
        expires=date(2027, 3, 31),
        line=1,
    ),
    Waiver(
        risk="users-without-mfa",
        object=None,
        rationale=LEGACY_RATIONALE,
        owner="it-ops@fixture.example",
        expires=date(2027, 6, 30),
        line=7,
    ),
    Waiver(
        risk="ca-report-only-never-enforced",
        object=None,
        rationale="Pilot for the finance team",
        owner="ravi@fixture.example",
        expires=date(2026, 1, 31),
        line=13,
    ),
]


def build_assessment(tmp_path: Path, tap: Article, findings: list[Finding] | None = None) -> Assessment:
    patch = {"error": {"userRegistrationDetails": "403 Authorization_RequestDenied"}}
    snapshot = write_snapshot(apply_patch(base_document(), patch), tmp_path / "snapshot")
    tenant = load_snapshot(snapshot)
    chosen = build_findings(tap) if findings is None else findings
    upns = {u.id: u.upn for u in tenant.users.values()}
    notes = apply_waivers(chosen, WAIVERS, tenant.collected_at.date(), upns)
    return Assessment(tenant=tenant, config=AssessConfig(), findings=chosen, notes=notes)


@pytest.fixture
def assessment(tmp_path: Path, tap_article: Article) -> Assessment:
    return build_assessment(tmp_path, tap_article)
