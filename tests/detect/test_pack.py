"""The rule pack is valid Sigma (pySigma parses and validates every rule) and consistent with the product."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.rule import SigmaRule
from sigma.validation import SigmaValidator
from sigma.validators.core import validators

from graphlattice.checks.registry import load_catalog
from graphlattice.detect.containment import PLANS, ROOT_CAUSES
from graphlattice.detect.fields import FIELDS, LOGSOURCE_TABLES
from graphlattice.detect.pack import RULES_DIR, load_pack
from graphlattice.entra.roles import TAP_ISSUER_ROLES
from graphlattice.errors import CatalogError

PACK = load_pack()
RULE_FILES = sorted(RULES_DIR.glob("*.yaml"))
# The ATT&CK validators download MITRE's data; the tests run offline, so technique ids are checked below.
OFFLINE_VALIDATORS = [cls for name, cls in validators.items() if name not in ("attacktag", "d3_fendtag")]


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_document_parses_with_pysigma(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    collection = SigmaCollection.from_yaml(text, collect_errors=True)
    assert not collection.errors
    for rule in collection.rules:
        assert not rule.errors, rule.errors
    for document in text.split("\n---\n"):
        parser = SigmaCorrelationRule if "\ncorrelation:" in document else SigmaRule
        parsed = parser.from_yaml(document)
        assert parsed.name, "every rule is known by its name"


def test_pysigma_validators_find_no_issue() -> None:
    collection = SigmaCollection.load_ruleset([str(p) for p in RULE_FILES])
    issues = list(SigmaValidator(OFFLINE_VALIDATORS).validate_rules(collection))
    assert not issues, [(type(i).__name__, [getattr(r, "name", None) for r in i.rules]) for i in issues]


@pytest.mark.parametrize("name", sorted(PACK.rules))
def test_rule_metadata(name: str) -> None:
    rule = PACK[name].sigma
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
    assert rule.id is not None and rule.title and rule.description
    assert rule.author == "GraphLattice"
    assert rule.date is not None and rule.status is not None and rule.level is not None
    assert rule.references and rule.falsepositives
    tags = [str(t) for t in rule.tags]
    assert any(re.fullmatch(r"attack\.t\d{4}(\.\d{3})?", t) for t in tags), "needs an ATT&CK technique"
    assert all(re.fullmatch(r"attack\.[a-z0-9.-]+", t) for t in tags)
    if isinstance(rule, SigmaRule):
        assert (rule.logsource.product, rule.logsource.service) in {("azure", s) for s in LOGSOURCE_TABLES}


@pytest.mark.parametrize("name", PACK.alerting)
def test_alerting_rule_lives_in_its_own_file(name: str) -> None:
    assert PACK[name].path.stem == name


def test_sequences_are_ordered_correlations_grouped_by_user() -> None:
    correlations = [PACK[n].sigma for n in PACK.alerting if PACK[n].is_correlation]
    assert {c.name for c in correlations} == {
        "tap-bootstrapped-persistence",
        "mfa-methods-reset-then-reregistered",
    }
    for rule in correlations:
        assert isinstance(rule, SigmaCorrelationRule)
        assert rule.type is SigmaCorrelationType.TEMPORAL_ORDERED
        assert rule.group_by == ["user"]
        assert not rule.generate
        for ref in rule.referenced_rules:
            assert ref.rule.name not in PACK.alerting, "base rules of a sequence do not alert on their own"


def test_tap_issuer_roles_match_the_entra_table() -> None:
    rule = PACK["tap-issuer-role-activated-without-approval"].sigma
    assert isinstance(rule, SigmaRule)
    values = {
        str(value.to_plain())
        for detection in rule.detection.detections.values()
        for item in detection.detection_items
        if getattr(item, "field", None) == "role_template_id"
        for value in item.value
    }
    assert values == set(TAP_ISSUER_ROLES)


@pytest.mark.parametrize("name", PACK.alerting)
def test_every_rule_has_a_containment_plan_and_root_causes_from_the_catalogue(name: str) -> None:
    assert PLANS.get(name), f"{name} has no containment plan"
    catalogue = set(load_catalog())
    causes = ROOT_CAUSES.get(name, ())
    assert causes, f"{name} names no root-cause risk"
    assert {rid for rid, _ in causes} <= catalogue


def test_root_cause_catalogue_ids_used_by_tap_persistence() -> None:
    ids = {rid for rid, _ in ROOT_CAUSES["tap-bootstrapped-persistence"]}
    assert ids == {
        "tap-policy-weak",
        "tap-issuance-unscoped",
        "tap-issuers-standing-access",
        "mfa-registration-gate",
    }
    assert "users-without-mfa" in {rid for rid, _ in ROOT_CAUSES["security-info-registered-without-mfa"]}


def test_field_names_are_unique_per_table() -> None:
    for table in ("audit", "signin"):
        names = [f.name for f in FIELDS if table in f.tables]
        assert len(names) == len(set(names))
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)


def test_a_bad_rule_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(
        "title: x\nid: 00000000-0000-4000-8000-000000000001\nname: broken\nstatus: test\nlevel: low\n"
        "logsource: {product: azure, service: auditlogs}\n"
        "detection: {sel: {no_such_field: 1}, condition: sel}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=r"broken.yaml: rule 'broken': unknown field 'no_such_field'"):
        load_pack([bad])
    (tmp_path / "broken.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"broken\.yaml:2: not valid YAML"):
        load_pack([bad])


def test_the_field_reference_is_in_step_with_the_code() -> None:
    from graphlattice.detect.fields import markdown

    reference = Path(__file__).parents[2] / "src/graphlattice/detect/FIELDS.md"
    assert reference.read_text(encoding="utf-8") == markdown(), "regenerate FIELDS.md from fields.markdown()"
