"""The plan ``respond`` may execute is the one derived from an incident's facts, for every rule with a plan.

Every fixture case of every rule that has a containment plan is run through the real pipeline (files,
ingest, enrichment, rule, incident builder, JSON); the incident it writes must pass the derivation
unchanged, and every write of its plan must be one of the containment operations ``respond`` recognises,
on a principal of that incident. The writes each rule may make are listed here, rule by rule, so a plan
that grows a new kind of write fails a test rather than reaching a tenant unnoticed.
"""

from __future__ import annotations

import copy
import re
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.detect.containment import PLANS
from graphlattice.detect.derive import GUID, TamperedIncident, derive_plan, incident_facts, printable
from graphlattice.detect.engine import run_rule
from graphlattice.detect.incidents import build_incidents
from graphlattice.detect.operations import recognise
from graphlattice.detect.pack import load_pack
from tests.detect.harness import case_store, load_cases

PACK = load_pack()
SOME_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"

ALLOWED_WRITES: dict[str, set[tuple[str, str]]] = {
    "tap-bootstrapped-persistence": {
        ("delete-method", "target"),
        ("delete-temporary-access-pass", "target"),
        ("revoke-sessions", "target"),
        ("revoke-sessions", "issuer"),
    },
    "tap-issued-to-privileged-user": {
        ("delete-temporary-access-pass", "target"),
        ("revoke-sessions", "target"),
        ("revoke-sessions", "issuer"),
    },
    "security-info-registered-without-mfa": {
        ("delete-method", "user"),
        ("revoke-sessions", "user"),
        ("reset-password", "user"),
    },
    "mfa-methods-reset-then-reregistered": {
        ("delete-method", "target"),
        ("revoke-sessions", "target"),
        ("reset-password", "target"),
    },
    "strong-auth-disabled": {("enforce-mfa", "target"), ("revoke-sessions", "target")},
    "tap-issuer-role-activated-without-approval": {("remove-assignment", "assignee")},
}
ALLOWED_WRITES["tap-issued-outside-hours"] = ALLOWED_WRITES["tap-issued-to-privileged-user"]
ALLOWED_WRITES["tap-issued-without-ticket"] = ALLOWED_WRITES["tap-issued-to-privileged-user"]


def _incidents(rule: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Every incident the rule's fixture cases produce, as ``detect --format json`` writes them (with the
    fixtures' short ids, such as ``user-hd``, turned into GUIDs as Entra writes them)."""
    out: list[dict[str, Any]] = []
    for number, case in enumerate(load_cases(rule)):
        with case_store(tmp_path / str(number), case) as (store, settings):
            matches = {rule: run_rule(store, PACK[rule], settings)}
            built = build_incidents(store, PACK, matches, settings)
        out.extend(_as_guids(incident.to_json()) for incident in built)
    return out


def _as_guids(incident: dict[str, Any]) -> dict[str, Any]:
    ids = {str(p["id"]) for p in incident["principals"].values() if p.get("id")}
    ids |= {str(v) for v in (incident["details"].get("pass", {}).get("id"),) if v}
    text = orjson.dumps(incident).decode()
    for short in ids:
        if not GUID.fullmatch(short):
            guid = str(uuid.uuid5(uuid.NAMESPACE_URL, short))
            text = re.sub(rf"(?<![\w-]){re.escape(short)}(?![\w-])", guid, text)
    converted: dict[str, Any] = orjson.loads(text)
    return converted


def test_every_rule_of_the_pack_with_a_plan_is_listed() -> None:
    assert set(PLANS) == set(ALLOWED_WRITES)
    assert set(PLANS) <= set(PACK.alerting)


@pytest.mark.parametrize("rule", sorted(PLANS))
def test_what_detect_writes_is_what_respond_derives(rule: str, tmp_path: Path) -> None:
    incidents = _incidents(rule, tmp_path)
    assert incidents, f"{rule}: no fixture case produces an incident"
    writes: set[tuple[str, str]] = set()
    for incident in incidents:
        derived = derive_plan(incident, source="incidents.json")
        assert list(derived.steps) == incident["containment"]
        ids = {p.get("id") for p in derived.context.principals.values()}
        for step in derived.steps:
            if step["kind"] != "change":
                continue
            writes.add((step["action"], step["principal"]))
            request = step["request"]
            url = re.sub(r"\{(methodId|tapId)\}", SOME_ID, request["url"])
            operation = recognise(request["method"], url, request.get("body"))
            if "{" in url + orjson.dumps(request.get("body")).decode():
                continue  # a fact the incident lacks: respond refuses the step before it is a call
            assert operation is not None, (rule, request)
            assert operation.user in ids, (rule, request)
    assert writes <= ALLOWED_WRITES[rule]


def _tap_incident(tmp_path: Path) -> dict[str, Any]:
    return _incidents("tap-bootstrapped-persistence", tmp_path)[0]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda i: i["principals"]["target"].update(id="../../directoryRoles"), "target is not a GUID"),
        (lambda i: i["principals"]["issuer"].update(type="group"), "has type 'group' (user or app)"),
        (lambda i: i["principals"]["target"].update(displayName=["Mia"]), "is not text of at most 1024"),
        (lambda i: i["details"]["pass"].update(id="x/../../policies"), "the pass id is not a GUID"),
        (lambda i: i["details"]["methods"][0].update(type="password"), "unknown type 'password'"),
        (lambda i: i["details"]["methods"][0].update(time="yesterday"), "no registration time"),
        (lambda i: i.update(principals=[]), "its principals are not an object"),
    ],
)
def test_a_malformed_fact_is_refused_in_one_line(tmp_path: Path, edit: Any, words: str) -> None:
    incident = _tap_incident(tmp_path)
    edit(incident)
    with pytest.raises(TamperedIncident) as caught:
        derive_plan(incident, source="x.json")
    message = str(caught.value)
    assert message.startswith(f"x.json: incident {incident['id']}: "), message
    assert words in message and "\n" not in message and "\x1b" not in message


def test_a_fact_edited_without_its_plan_is_refused(tmp_path: Path) -> None:
    """The facts read back as edited; the plan the file still holds no longer matches them."""
    incident = _tap_incident(tmp_path)
    forged = copy.deepcopy(incident)
    forged["principals"]["target"]["id"] = SOME_ID
    rule, context = incident_facts(forged, source="x.json")
    assert rule == "tap-bootstrapped-persistence" and context.principals["target"]["id"] == SOME_ID
    with pytest.raises(TamperedIncident, match="step 1: the file's call DELETE"):
        derive_plan(forged, source="x.json")  # the old plan no longer matches the new facts


def test_text_from_a_file_or_a_tenant_prints_on_one_line() -> None:
    assert printable("a\nb\x1b[31mc\u202ed") == "a\\u000ab\\u001b[31mc\\u202ed"
    assert printable("x" * 200, 20) == "x" * 17 + "..."
    assert printable({"k": 1}) == '{"k":1}'
