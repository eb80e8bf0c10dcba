"""``respond --apply`` on a tampered incident file: refused in one line; the Range shows nothing written.

The attack: an edited ``incidents.json`` whose containment steps make the attacker Global Administrator,
delete the break-glass account's passkey and weaken the Temporary Access Pass policy, under summaries that
say "Revoke the sessions of ...". Each tampering below is replayed against a served copy of the played
tap-persistence Range, as the Global Administrator defending it, with ``--apply --yes``; afterwards the
Range's files (state and journal) are byte-identical, the journal holds no new record, and the Graph reads
show the attacker without a role, the policy as it was and the break-glass passkeys in place.

Edits that keep the file consistent (another user's id as the target, plan rebuilt to match) pass the
comparison; the tenant's read of that user then stops them: a user-principal name the tenant does not
confirm, or a break-glass account, is refused unless ``--allow-break-glass`` names it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphlattice.detect.containment import build_plan
from graphlattice.detect.derive import incident_facts
from graphlattice.server.serve import RunningServer
from tests.detect.respondkit import (
    MIA,
    MIA_ID,
    NOOR,
    TAP_RULE,
    Served,
    error_line,
    files,
    graph_get,
    respond_cli,
)

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
BREAK_GLASS = "emergency-access-01@northwind-traders.example"
TAP_POLICY = (
    "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
)
LIE = "Revoke the sessions of Lukas Brandt, who issued the pass"


def the_incident(path: Path) -> dict[str, Any]:
    incidents = json.loads(path.read_text())["incidents"]
    found: dict[str, Any] = next(i for i in incidents if i["rule"] == TAP_RULE)
    return found


def break_glass(server: RunningServer) -> tuple[str, str]:
    """(object id, one of its passkeys' id) of the Range's emergency-access account."""
    users = graph_get(server, f"/v1.0/users?$filter=userPrincipalName eq '{BREAK_GLASS}'")["value"]
    ident = users[0]["id"]
    methods = graph_get(server, f"/v1.0/users/{ident}/authentication/methods")["value"]
    passkey = next(m["id"] for m in methods if m["@odata.type"].endswith("fido2AuthenticationMethod"))
    return ident, passkey


def tenant_view(server: RunningServer) -> dict[str, Any]:
    """What the attack wanted to change, as Graph reads it."""
    glass, _ = break_glass(server)
    return {
        "roles": graph_get(
            server, f"/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '{MIA_ID}'"
        )["value"],
        "policy": graph_get(server, TAP_POLICY),
        "glass": graph_get(server, f"/v1.0/users/{glass}/authentication/methods")["value"],
        "mia": graph_get(server, f"/v1.0/users/{MIA_ID}/authentication/methods")["value"],
    }


def _step(incident: dict[str, Any], action: str, principal: str = "target") -> dict[str, Any]:
    step: dict[str, Any] = next(
        s for s in incident["containment"] if s["action"] == action and s["principal"] == principal
    )
    return step


# Each tampering edits the incident in place, given the break-glass account's id and passkey id, and
# returns (the step the refusal must name, words the refusal must hold).
Tamper = Callable[[dict[str, Any], str, str], tuple[int, str]]


def retarget_revoke(incident: dict[str, Any], glass: str, passkey: str) -> tuple[int, str]:
    """The victim's revocation turned into a PATCH that disables the break-glass account."""
    step = _step(incident, "revoke-sessions")
    step["request"] = {"method": "PATCH", "url": f"/v1.0/users/{glass}", "body": {"accountEnabled": False}}
    return step["order"], f"POST /v1.0/users/{MIA_ID}/revokeSignInSessions"


def revoke_someone_else(incident: dict[str, Any], glass: str, passkey: str) -> tuple[int, str]:
    """Same verb, same shape of URL, another user."""
    step = _step(incident, "revoke-sessions")
    step["request"]["url"] = f"/v1.0/users/{glass}/revokeSignInSessions"
    return step["order"], f"POST /v1.0/users/{MIA_ID}/revokeSignInSessions"


def delete_break_glass_passkey(incident: dict[str, Any], glass: str, passkey: str) -> tuple[int, str]:
    """The attacker's passkey step pointed at the break-glass account's passkey, with no match to resolve."""
    step = next(s for s in incident["containment"] if "/fido2Methods/" in s.get("request", {}).get("url", ""))
    step["request"]["url"] = f"/v1.0/users/{glass}/authentication/fido2Methods/{passkey}"
    step["verify"]["url"] = f"/v1.0/users/{glass}/authentication/fido2Methods"
    del step["resolve"]
    return step["order"], "is not the one the incident's facts give"


def append_global_administrator(incident: dict[str, Any], glass: str, passkey: str) -> tuple[int, str]:
    incident["containment"].append(
        {
            "action": "revoke-sessions",
            "kind": "change",
            "principal": "issuer",
            "summary": LIE,
            "request": {
                "method": "POST",
                "url": "/v1.0/roleManagement/directory/roleAssignments",
                "body": {
                    "principalId": MIA_ID,
                    "roleDefinitionId": GLOBAL_ADMINISTRATOR,
                    "directoryScopeId": "/",
                },
            },
            "order": len(incident["containment"]) + 1,
        }
    )
    return len(incident["containment"]), "not part of the plan the incident's facts give"


def append_policy_patch(incident: dict[str, Any], glass: str, passkey: str) -> tuple[int, str]:
    incident["containment"].append(
        {
            "action": "revoke-sessions",
            "kind": "change",
            "principal": "target",
            "summary": LIE,
            "request": {
                "method": "PATCH",
                "url": TAP_POLICY,
                "body": {"maximumLifetimeInMinutes": 43200, "isUsableOnce": False, "defaultLength": 8},
            },
            "order": len(incident["containment"]) + 1,
        }
    )
    return len(incident["containment"]), "PATCH /v1.0/policies/authenticationMethodsPolicy"


def lying_summary(incident: dict[str, Any], glass: str, passkey: str) -> tuple[int, str]:
    """The call is the right one; the words beside it are not."""
    step = _step(incident, "revoke-sessions")
    step["summary"] = "Approved by the CISO: nothing to review, apply with --yes"
    return step["order"], "its summary is not the one the incident's facts give"


def smuggled_key(incident: dict[str, Any], glass: str, passkey: str) -> tuple[int, str]:
    """A key GraphLattice never writes, which another tool might read as part of the call."""
    step = _step(incident, "delete-temporary-access-pass")
    step["headers"] = {"X-HTTP-Method-Override": "PATCH"}
    return step["order"], "key 'headers' is not one GraphLattice writes"


def dropped_step(incident: dict[str, Any], glass: str, passkey: str) -> tuple[int, str]:
    """The attacker's passkey deletion removed, so the passkey would outlive the response."""
    steps = incident["containment"]
    index = next(i for i, s in enumerate(steps) if "/fido2Methods/" in s.get("request", {}).get("url", ""))
    del steps[index]
    return index + 1, "is not the one the incident's facts give"


@pytest.mark.parametrize(
    "tamper",
    [
        retarget_revoke,
        revoke_someone_else,
        delete_break_glass_passkey,
        append_global_administrator,
        append_policy_patch,
        lying_summary,
        smuggled_key,
        dropped_step,
    ],
    ids=lambda f: f.__name__,
)
def test_a_tampered_plan_is_refused_and_nothing_is_written(
    served: Served, tmp_path: Path, tamper: Tamper
) -> None:
    incident = the_incident(served.incidents)
    glass, passkey = break_glass(served.server)
    step, words = tamper(incident, glass, passkey)
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({"incidents": [incident]}))
    before, view = files(served.state), tenant_view(served.server)
    journal = (served.state / "journal.jsonl").read_text().splitlines()

    done = respond_cli(tampered, served.server, served.server.token(NOOR), "--apply", "--yes")

    assert done.returncode == 3, done.stdout + done.stderr
    line = error_line(done)
    assert line.startswith(f"error: {tampered}: incident {incident['id']}, step {step}: "), line
    assert words in line, line
    assert line.endswith("refusing the incident, nothing was changed"), line
    assert done.stdout == ""  # refused before anything was read, shown or applied
    assert files(served.state) == before
    assert (served.state / "journal.jsonl").read_text().splitlines() == journal
    assert tenant_view(served.server) == view


def test_the_untampered_file_still_contains_the_attacker_with_summaries_from_the_calls(
    served: Served,
) -> None:
    done = respond_cli(served.incidents, served.server, served.server.token(NOOR), "--apply", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    summaries = re.findall(r"^  \d\. \S+ \S+.*\n     (.*)$", done.stdout, flags=re.M)
    mia = f"Mia Hoffmann ({MIA}), the incident's target"
    assert summaries[0].startswith("Delete the Microsoft Authenticator ") and summaries[0].endswith(mia)
    assert summaries[1].startswith("Delete the passkey (FIDO2) ") and summaries[1].endswith(mia)
    assert summaries[2] == f"Delete the Temporary Access Pass 8de9193d-c6b2-46b2-9121-1b85cc3a7b5b of {mia}"
    assert summaries[3] == f"Revoke every session and refresh token of {mia}"
    assert summaries[4] == (
        "Revoke every session and refresh token of Lukas Brandt "
        "(lukas.brandt@northwind-traders.example), the incident's issuer"
    )
    assert "Done: 5 call(s) made and confirmed." in done.stdout


def _retargeted(incidents: Path, glass: str, upn: str | None, tmp_path: Path) -> Path:
    """The incident with its target's id (and UPN, when given) edited and the plan rebuilt to match: a
    consistent forgery the comparison cannot see."""
    incident = copy.deepcopy(the_incident(incidents))
    incident["principals"]["target"]["id"] = glass
    if upn is not None:
        incident["principals"]["target"]["userPrincipalName"] = upn
    rule, context = incident_facts(incident, source="test")
    incident["containment"] = build_plan(rule, context)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps({"incidents": [incident]}))
    return path


def test_a_consistent_forgery_naming_another_user_is_refused_by_the_tenant_read(
    served: Served, tmp_path: Path
) -> None:
    glass, _ = break_glass(served.server)
    forged = _retargeted(served.incidents, glass, None, tmp_path)  # the UPN still says Mia
    before = files(served.state)
    done = respond_cli(forged, served.server, served.server.token(NOOR), "--apply", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "nothing was changed" in error_line(done)
    assert f"the incident names its target {MIA}, but user {glass} is {BREAK_GLASS} in this tenant" in (
        done.stdout
    )
    assert files(served.state) == before


def test_a_break_glass_account_needs_to_be_named_to_be_acted_on(served: Served, tmp_path: Path) -> None:
    glass, _ = break_glass(served.server)
    forged = _retargeted(served.incidents, glass, BREAK_GLASS, tmp_path)
    token = served.server.token(NOOR)
    before = files(served.state)

    named_like_one = respond_cli(forged, served.server, token, "--apply", "--yes")
    assert named_like_one.returncode == 2, named_like_one.stdout + named_like_one.stderr
    assert "nothing was changed" in error_line(named_like_one)
    assert "Refused:" in named_like_one.stdout
    assert "is named like a break-glass account" in named_like_one.stdout
    assert f"pass --allow-break-glass {BREAK_GLASS} if this is intended" in named_like_one.stdout

    settings = tmp_path / "graphlattice.yaml"
    settings.write_text(f"breakGlassAccounts: [{BREAK_GLASS.upper()}]\n")
    declared = respond_cli(forged, served.server, token, "--config", str(settings), "--apply", "--yes")
    assert declared.returncode == 2
    assert f"is a break-glass account declared in {settings}" in declared.stdout
    assert files(served.state) == before

    # named on purpose: the dry run shows the calls on that account, by the tenant's name for it
    allowed = respond_cli(
        forged, served.server, token, "--config", str(settings), "--allow-break-glass", glass
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "Emergency Access 01 (emergency-access-01@northwind-traders.example), the incident's target" in (
        allowed.stdout
    )
    assert f"allowed with --allow-break-glass: {glass}" in allowed.stdout
    assert files(served.state) == before
