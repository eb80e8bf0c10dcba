"""SigmaHQ's community Azure rules (test data outside the project): they parse with pySigma, the processing
pipeline maps their taxonomy onto the canonical fields, and the applicable ones fire where they should."""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma.collection import SigmaCollection

from graphlattice.demo import DemoSummary
from graphlattice.detect.engine import run_rule
from graphlattice.detect.enrich import PrivilegedUsers, enrich
from graphlattice.detect.ingest import ingest_files
from graphlattice.detect.pipeline import CommunityRule, load_community_rules
from graphlattice.detect.settings import DetectSettings
from graphlattice.detect.store import Store
from tests.detect.harness import load_cases, sigmahq_dir, write_jsonl

SIGMAHQ = sigmahq_dir()
RULE_FILES = sorted(SIGMAHQ.glob("*/*.yml"))
pytestmark = pytest.mark.skipif(not RULE_FILES, reason=f"SigmaHQ test data not found in {SIGMAHQ}")


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_community_rule_parses_with_pysigma(path: Path) -> None:
    collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"), collect_errors=True)
    assert not collection.errors
    assert all(not rule.errors for rule in collection.rules)


@pytest.fixture(scope="module")
def community() -> dict[str, CommunityRule]:
    return {r.path.name: r for r in load_community_rules(RULE_FILES)}


def test_most_community_rules_map_onto_the_canonical_fields(community: dict[str, CommunityRule]) -> None:
    runnable = [name for name, r in community.items() if r.rule is not None]
    assert len(runnable) >= 45
    for name in (
        "azure_tap_added.yml",
        "azure_change_to_authentication_method.yml",
        "azure_user_account_mfa_disable.yml",
    ):
        assert community[name].rule is not None, community[name].problem
    # a rule over a field we do not keep says so instead of matching more widely
    problem = community["azure_app_end_user_consent.yml"].problem
    assert problem is not None and "ConsentContext.IsAdminConsent" in problem


@pytest.fixture(scope="module")
def demo_store(demo_logs: list[Path]) -> Store:
    store = Store()
    ingest_files(store, demo_logs)
    enrich(store, DetectSettings(), PrivilegedUsers(None, "audit records"))
    return store


def _matched(store: Store, rule: CommunityRule) -> set[str]:
    assert rule.rule is not None
    return {rid for m in run_rule(store, rule.rule, DetectSettings()) for rid in m.record_ids}


def _activities(store: Store, ids: set[str]) -> set[str]:
    rows = store.rows(
        "SELECT activity FROM audit_events WHERE record_id IN (SELECT unnest(?::VARCHAR[]))", [sorted(ids)]
    )
    return {r[0] for r in rows}


def test_tap_added_fires_on_every_issuance_and_nothing_else(
    community: dict[str, CommunityRule], demo_store: Store, demo: DemoSummary
) -> None:
    matched = _matched(demo_store, community["azure_tap_added.yml"])
    issuances = {
        r[0]
        for r in demo_store.rows(
            "SELECT record_id FROM audit_events "
            "WHERE result_reason = 'Admin registered temporary access pass method for user'"
        )
    }
    assert matched == issuances and len(issuances) == 3
    assert matched & set(demo.planted["attack"])  # the attack's pass is one of them


def test_auth_method_change_fires_on_the_rogue_registrations_only_among_registrations(
    community: dict[str, CommunityRule], demo_store: Store, demo: DemoSummary
) -> None:
    matched = _matched(demo_store, community["azure_change_to_authentication_method.yml"])
    rogue = {
        r[0]
        for r in demo_store.rows(
            "SELECT record_id FROM audit_events WHERE activity = 'User registered security info' "
            "AND initiator_ip = '192.0.2.201'"
        )
    }
    assert len(rogue) == 2 and rogue <= matched
    assert _activities(demo_store, matched) == {"User registered security info"}
    assert not matched & {r[0] for r in demo_store.rows("SELECT record_id FROM signin_events")}


def test_community_mfa_disable_rule_agrees_with_ours_on_our_fixture(
    community: dict[str, CommunityRule], tmp_path: Path
) -> None:
    case = load_cases("strong-auth-disabled")[0]
    with Store() as store:
        ingest_files(store, [write_jsonl(tmp_path / "audits.jsonl", case["audits"])])
        enrich(store, DetectSettings(), PrivilegedUsers(None, "audit records"))
        matched = _matched(store, community["azure_user_account_mfa_disable.yml"])
    assert matched == {"state-zero"}  # SigmaHQ's rule looks for "State":0 only; ours also sees the other two
