"""``graphlattice respond``: an incident's containment plan applied to a served Range, then judged by it.

The end-to-end tests use real parts only: ``range start`` plays the scenario, ``range export`` and
``detect --format json`` write the incident, a real HTTP server serves the range, ``range token`` signs in,
``respond`` runs as its own process, and ``range verify`` replays the attacker's footholds.

* tap-persistence, as the defender: contained (the attacker's Authenticator and passkey deleted, sessions
  revoked, the live pass deleted), no collateral (the victim's push Authenticator and phone untouched);
* a dry run prints the calls and leaves the range's files byte-identical;
* a second Authenticator with the same device name makes the match ambiguous: refused, candidates listed,
  nothing changed; ``--method-id`` settles it;
* the Reports Reader cannot read the methods: refused before anything changes; the victim acting on her own
  account gets a 403 part-way: the run stops and says which calls were made and which were not;
* registration-gate-bypass: detect finds it (security-info-registered-without-mfa), the plan resets the
  password (202, polled), and the range is contained;
* bad incident files and a missing terminal: one line each.

The rest are in-process tests of the pieces (matching, token kinds, the reset's polling and secrets) over
``httpx.MockTransport``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from graphlattice.collect.auth import StaticToken
from graphlattice.detect.containment import PlanContext, RegisteredMethod, build_plan
from graphlattice.detect.respond import (
    Candidate,
    ContainmentIncomplete,
    identity_of,
    load_incident,
    match_methods,
    respond,
)
from graphlattice.errors import InputError, UsageError
from graphlattice.server.serve import background
from tests.detect.respondkit import (
    ELIF,
    ENV,
    INES,
    MIA,
    MIA_ID,
    NOOR,
    TAP_RULE,
    Played,
    Served,
    cli,
    error_line,
    files,
    methods_of,
    ok,
    respond_cli,
    verdict,
)

# ---- tap-persistence, end to end ---------------------------------------------------------------------


def test_apply_contains_the_attack_without_collateral(tap: Played, tmp_path: Path) -> None:
    state = tap.fresh(tmp_path)
    before = {m["id"]: m for m in json.loads(_export_methods(state))}
    with background(state) as server:
        token = ok("range", "token", "--as", "noor.haddad", "--state", state).strip().splitlines()[-1]
        done = respond_cli(tap.incidents, server, token, "--apply", "--yes")
        assert done.returncode == 0, done.stderr
        after = {m["id"]: m for m in methods_of(server, MIA_ID)}
    out = done.stdout
    calls = re.findall(r"^  (\d)\. (DELETE|POST) (\S+)", out, flags=re.M)
    assert [(n, verb) for n, verb, _ in calls[:5]] == [
        ("1", "DELETE"),
        ("2", "DELETE"),
        ("3", "DELETE"),
        ("4", "POST"),
        ("5", "POST"),
    ]
    urls = [url for _, _, url in calls[:5]]
    assert "/microsoftAuthenticatorMethods/" in urls[0] and "/fido2Methods/" in urls[1]
    assert "/temporaryAccessPassMethods/8de9193d-c6b2-46b2-9121-1b85cc3a7b5b" in urls[2]
    assert urls[3].endswith(f"/users/{MIA_ID}/revokeSignInSessions")  # the victim
    assert urls[4].endswith("/revokeSignInSessions") and MIA_ID not in urls[4]  # the issuer
    assert "A password reset does not help here" in out
    assert "resetPassword" not in out
    assert out.count(": done, ") == 5 and out.count(". ok: ") == 5
    assert "Done: 5 call(s) made and confirmed." in out
    assert token not in out + done.stderr

    result = verdict(state)
    assert result["contained"] is True
    assert all(not f["attackerStillIn"] for f in result["footholds"])
    assert result["collateral"] == []
    # exactly the attacker's Authenticator, passkey and pass are gone; Mia's own two methods are untouched
    gone = {ident: before[ident] for ident in before.keys() - after.keys()}
    assert sorted((m["@odata.type"], m.get("displayName")) for m in gone.values()) == [
        ("#microsoft.graph.fido2AuthenticationMethod", "iPhone 15 Pro"),
        ("#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "iPhone 15 Pro"),
        ("#microsoft.graph.temporaryAccessPassAuthenticationMethod", None),
    ]
    kept = sorted((m["@odata.type"], _label(m)) for m in after.values())
    assert kept == [
        ("#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "Galaxy S23"),
        ("#microsoft.graph.passwordAuthenticationMethod", None),
        ("#microsoft.graph.phoneAuthenticationMethod", "+49 151 23456789"),
    ]


def _label(method: dict[str, Any]) -> str | None:
    return method.get("displayName") or method.get("phoneNumber")


def _export_methods(state: Path) -> str:
    """Mia's methods before the response, read from a served copy (the state itself stays untouched)."""
    copy = state.parent / "peek"
    shutil.copytree(state, copy)
    with background(copy) as server:
        return json.dumps(methods_of(server, MIA_ID))


def test_dry_run_prints_the_calls_and_changes_nothing(tap: Played, tmp_path: Path) -> None:
    state = tap.fresh(tmp_path)
    with background(state) as server:
        token = server.token(NOOR)  # the first token writes the range's signing key
        before = files(state)
        done = respond_cli(tap.incidents, server, token)
    assert done.returncode == 0, done.stderr
    assert files(state) == before
    out = done.stdout
    assert f"DELETE {server.url}/v1.0/users/{MIA_ID}/authentication/microsoftAuthenticatorMethods/" in out
    assert f"POST {server.url}/v1.0/users/{MIA_ID}/revokeSignInSessions" in out
    assert "{methodId}" not in out and "{tapId}" not in out
    assert len(re.findall(r"^  \d\. ", out, flags=re.M)) == 5
    assert "Dry run: nothing was changed. Add --apply to make these calls." in out
    assert "Applying" not in out


def _plant_second_authenticator(state: Path) -> None:
    """The attacker, still holding the reusable pass, adds another Authenticator named like the first."""
    signed = cli(
        "range", "act", "sign-in", f"user={MIA}", "method=tap", "ip=192.0.2.201", "country=SG",
        "holder=attacker", "--as", "attacker", "--state", state, "--format", "json",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    session = json.loads(signed.stdout)["data"]["session"]
    ok(
        "range", "act", "register-method", f"session={session}", "kind=authenticator",
        "device_name=iPhone 15 Pro", "holder=attacker", "--as", "attacker", "--state", state,
    )  # fmt: skip


def test_an_ambiguous_match_is_refused_until_a_method_is_chosen(tap: Played, tmp_path: Path) -> None:
    state = tap.fresh(tmp_path)
    _plant_second_authenticator(state)
    with background(state) as server:
        token = server.token(NOOR)
        before = files(state)
        refused = respond_cli(tap.incidents, server, token, "--apply", "--yes")
        assert refused.returncode == 2
        assert "nothing was changed" in error_line(refused)
        assert files(state) == before
        out = refused.stdout
        assert "Cannot be resolved without a guess:" in out
        assert "refusing to guess: pass --method-id ID" in out
        candidates = re.findall(
            r"^\s+(match|possible|excluded)\s+(\S+) \"([^\"]+)\", created (\S+)", out, re.M
        )
        assert sorted((verdict, name) for verdict, _, name, _ in candidates) == [
            ("excluded", "Galaxy S23"),
            ("match", "iPhone 15 Pro"),
            ("match", "iPhone 15 Pro"),
        ]
        first = next(ident for _, ident, _, created in candidates if created == "2026-11-14T02:09:06Z:")
        second = next(ident for v, ident, name, _ in candidates if v == "match" and ident != first)
        chosen = respond_cli(tap.incidents, server, token, "--apply", "--yes", "--method-id", first)
        assert chosen.returncode == 0, chosen.stderr
        assert "chosen with --method-id" in chosen.stdout
        left = {m["id"] for m in methods_of(server, MIA_ID)}
    assert first not in left and second in left  # only the chosen one was deleted


def test_the_reports_reader_is_refused_before_anything_changes(served: Served) -> None:
    before = files(served.state)
    token = served.server.token(ELIF)
    done = respond_cli(served.incidents, served.server, token, "--apply", "--yes")
    assert done.returncode == 5
    line = error_line(done)
    assert "HTTP 403" in line and "nothing was changed" in line
    assert files(served.state) == before


def test_a_403_part_way_stops_and_reports_what_was_done(served: Served) -> None:
    """Mia acting on her own account: Graph lets nobody manage their own methods through the admin API,
    so a call of the plan is refused; the run stops there and says what was made and what was not."""
    done = respond_cli(served.incidents, served.server, served.server.token(MIA), "--apply", "--yes")
    assert done.returncode == 5, done.stdout + done.stderr
    line = error_line(done)
    stopped = re.search(r"stopped: call (\d) failed \(HTTP 403", line)
    assert stopped, line
    failed = int(stopped.group(1))
    applied = re.findall(r"^  (\d)\. (?:DELETE|POST) /v1\.0\S+: (\w+), ", done.stdout, flags=re.M)
    assert applied == [(str(n), "done") for n in range(1, failed)] + [(str(failed), "failed")]
    assert f"not made: {', '.join(str(n) for n in range(failed + 1, 6))}" in line
    if failed > 1:
        assert f"made: {', '.join(str(n) for n in range(1, failed))}" in line
        assert done.stdout.count(". ok: ") == failed - 1
    else:
        assert "nothing was changed" in line
    assert verdict(served.state)["contained"] is False


# ---- registration-gate-bypass: the password reset ------------------------------------------------------


def test_registration_without_mfa_resets_the_password_and_contains(gate: Played, tmp_path: Path) -> None:
    incidents = json.loads(gate.incidents.read_text())["incidents"]
    found = [i for i in incidents if i["rule"] == "security-info-registered-without-mfa"]
    assert len(found) == 1, [i["rule"] for i in incidents]
    assert "reset-password" in [step["action"] for step in found[0]["containment"]]
    state = gate.fresh(tmp_path)
    args: list[str | Path] = ["respond", gate.incidents, "--rule", "security-info-registered-without-mfa"]
    with background(state) as server:
        token = server.token(INES)
        dry = cli(*args, "--base-url", server.url, token=token)
        assert dry.returncode == 0, dry.stderr
        reset = r"^  3\. POST \S+/methods/28c10230-6103-485e-b985-444c60001490/resetPassword  \{\}$"
        assert re.search(reset, dry.stdout, flags=re.M)
        assert "generated by Entra and not shown" in dry.stdout
        assert (
            "passwordless phone sign-in turned on later" in dry.stdout
        )  # the Authenticator's createdDateTime
        done = cli(*args, "--base-url", server.url, "--apply", "--yes", token=token)
    assert done.returncode == 0, done.stderr
    assert "202 Accepted; the operation succeeded" in done.stdout
    assert "newPassword" not in done.stdout + done.stderr
    result = verdict(state)
    assert result["contained"] is True
    assert result["collateral"] == []


def test_secrets_come_from_a_file_or_stdin_and_are_never_shown(gate: Played, tmp_path: Path) -> None:
    """The token from --token-file, the new password from standard input: no warning, nothing echoed."""
    state = gate.fresh(tmp_path)
    password = "Typed-Pa55word"
    args: list[str | Path] = ["respond", gate.incidents, "--rule", "security-info-registered-without-mfa"]
    with background(state) as server:
        token_file = tmp_path / "token"
        token_file.write_text(server.token(INES) + "\n")
        done = cli(
            *args, "--base-url", server.url, "--token-file", token_file, "--new-password-file", "-",
            stdin=password + "\n",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert re.search(r'/resetPassword  \{"newPassword":"\*\*\*"\}$', done.stdout, flags=re.M)
    assert "the one you gave (not shown)" in done.stdout
    assert password not in done.stdout and token_file.read_text().strip() not in done.stdout
    from_stdin = cli(
        *args, "--base-url", "http://127.0.0.1:9", "--apply", "--new-password-file", "-", token="t"
    )
    assert from_stdin.returncode == 2
    assert "no terminal to confirm on; add --yes" in error_line(from_stdin)


def test_a_token_typed_on_the_command_line_is_warned_about(tmp_path: Path) -> None:
    secret = "eyJ0eXAi.secret-token.c2ln"
    done = cli("respond", tmp_path / "missing.json", "--base-url", "http://127.0.0.1:9", "--token", secret)
    assert done.returncode == 3
    warning, error = done.stderr.strip().splitlines()
    assert warning.startswith("warning: a secret given as --token VALUE shows in ps and shell history")
    assert "GRAPHLATTICE_TOKEN" in warning and "--token-file" in warning
    assert error.startswith("error: ") and "cannot read the incident file" in error
    assert secret not in done.stderr + done.stdout
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    nowhere = ["--base-url", "http://127.0.0.1:9", "--token-file", empty]
    collect = cli("collect", "--out", tmp_path / "x", *nowhere)
    assert collect.returncode == 2
    last = collect.stderr.strip().splitlines()[-1]  # after the progress rows
    assert last == f"error: --token-file {empty}: holds no bearer token (the first line is empty)"


# ---- bad input -------------------------------------------------------------------------------------------


def test_bad_incident_files_are_one_line(tap: Played, tmp_path: Path) -> None:
    (tmp_path / "truncated.json").write_text('{"incidents": [\n  {"rule": "x",')
    (tmp_path / "other.json").write_text('{"value": []}')
    (tmp_path / "empty.json").write_text('{"incidents": []}')
    (tmp_path / "noplan.json").write_text('{"rule": "strong-auth-disabled"}')
    cases = {
        "missing.json": (3, "cannot read the incident file"),
        "truncated.json": (3, "truncated.json:2: not JSON"),
        "other.json": (3, "not an incident file"),
        "empty.json": (3, "holds no incident"),
        "noplan.json": (3, "has no containment plan"),
    }
    for name, (code, text) in cases.items():
        done = cli("respond", tmp_path / name, "--base-url", "http://127.0.0.1:9", token="t")
        assert done.returncode == code, (name, done.stderr)
        assert text in error_line(done), name
    several = cli("respond", tap.incidents, "--base-url", "http://127.0.0.1:9", token="t")
    assert several.returncode == 2
    assert "choose one with --incident N (1: tap-bootstrapped-persistence" in error_line(several)
    unknown = cli("respond", tap.incidents, "--rule", "nope", "--base-url", "http://127.0.0.1:9", token="t")
    assert unknown.returncode == 2 and "no incident of rule nope" in error_line(unknown)


def test_apply_without_a_terminal_needs_yes(tap: Played) -> None:
    nowhere = ["--base-url", "http://127.0.0.1:9"]
    done = cli("respond", tap.incidents, "--rule", TAP_RULE, "--apply", *nowhere, token="t")
    assert done.returncode == 2
    assert "no terminal to confirm on; add --yes" in error_line(done)


# ---- the pieces, in process ----------------------------------------------------------------------------

AUTHENTICATOR = "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
FIDO2 = "#microsoft.graph.fido2AuthenticationMethod"


def _auth(ident: str, name: str, created: str | None) -> dict[str, Any]:
    return {"@odata.type": AUTHENTICATOR, "id": ident, "displayName": name, "createdDateTime": created}


def _verdicts(candidates: list[Candidate]) -> dict[str, str]:
    return {c.id: c.verdict for c in candidates}


def test_matching_prefers_device_names_and_reads_authenticator_times_carefully() -> None:
    items = [
        _auth("own", "Galaxy S23", None),  # the victim's push-only Authenticator: no time recorded
        _auth("planted", "iPhone 15 Pro", "2026-11-14T02:09:06Z"),
        _auth("old", "iPhone 15 Pro", "2025-01-01T00:00:00Z"),
    ]
    match = {"@odata.type": AUTHENTICATOR, "registeredAround": "2026-11-14T02:09:06Z"}
    named = {**match, "displayName": "iPhone 15 Pro"}
    assert _verdicts(match_methods(items, named)) == {
        "own": "excluded",
        "planted": "match",
        "old": "excluded",
    }
    # without a device name the push-only one cannot be ruled out
    assert _verdicts(match_methods(items, match)) == {
        "own": "possible",
        "planted": "match",
        "old": "excluded",
    }
    # passwordless turned on a few minutes after the registration: still that Authenticator
    later = [_auth("later", "Galaxy A55", "2026-11-14T02:14:10Z")]
    assert match_methods(later, match)[0].verdict == "match"
    assert "passwordless phone sign-in turned on later" in match_methods(later, match)[0].why
    # ... but not a passkey created minutes later, nor anything created before the registration
    passkey = [{"@odata.type": FIDO2, "id": "k", "createdDateTime": "2026-11-14T02:20:00Z"}]
    assert (
        match_methods(passkey, {"@odata.type": FIDO2, "registeredAround": "2026-11-14T02:09:06Z"})[0].verdict
        == "excluded"
    )
    assert _verdicts(match_methods(items, {**match, "registeredAround": "2026-11-14T03:00:00Z"}))[
        "planted"
    ] == ("excluded")


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


USER_TOKEN = _jwt(
    {"idtyp": "user", "scp": "UserAuthenticationMethod.ReadWrite.All", "upn": "admin@x.example"}
)
APP_TOKEN = _jwt({"idtyp": "app", "roles": ["UserAuthenticationMethod.ReadWrite.All"], "appid": "a1"})


def test_token_kinds() -> None:
    assert identity_of(USER_TOKEN).kind == "user" and identity_of(USER_TOKEN).name == "admin@x.example"
    assert identity_of(APP_TOKEN).kind == "app"
    assert identity_of(_jwt({"roles": ["x"]})).kind == "app"
    assert identity_of("opaque").kind == "unknown"


USER = "df1d5508-e49a-5bef-b130-911fb96e049e"
ISSUER = "489b5a2b-ede8-50e8-bdb0-71937a8c5976"
LOGGED_PASS = "0d1c6d0e-3a53-4d7a-9f0e-1b2c3d4e5f60"
GENERATED = "Xq7!generated-by-entra"


def incident_of(rule: str, context: PlanContext) -> dict[str, Any]:
    """An incident as detect writes it: the facts (principals, methods, pass) and the plan built from them."""
    methods = [
        {
            "type": m.method_type,
            "time": m.time,
            "description": m.description,
            "records": list(m.records),
            **({"deviceName": m.device_name} if m.device_name else {}),
        }
        for m in context.methods
    ]
    details: dict[str, Any] = {"methods": methods}
    if context.tap_id:
        details["pass"] = {"id": context.tap_id}
    return {
        "rule": rule,
        "principals": dict(context.principals),
        "details": details,
        "containment": build_plan(rule, context),
    }


def _gate_incident() -> dict[str, Any]:
    """A security-info-registered-without-mfa incident built by the containment module itself."""
    context = PlanContext(
        principals={"user": {"id": USER, "type": "user", "displayName": "Tom Verbeek"}},
        methods=[
            RegisteredMethod(
                "microsoftAuthenticator", "2026-11-14T21:16:02Z", None, ("r1",), "User registered"
            )
        ],
    )
    return incident_of("security-info-registered-without-mfa", context)


class FakeGraph:
    """Just enough of Graph for the gate plan: one Authenticator, revocation, an asynchronous reset."""

    def __init__(self, *, delete_status: int = 204, polls_running: int = 1) -> None:
        self.methods = [_auth("m1", "Galaxy A55", "2026-11-14T21:21:10Z")]
        self.valid_from: str | None = None
        self.requests: list[tuple[str, str, bytes]] = []
        self.delete_status = delete_status
        self.polls_running = polls_running

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path, request.content))
        path = request.url.path
        if request.method == "GET" and path.endswith("/microsoftAuthenticatorMethods"):
            return httpx.Response(200, json={"value": self.methods})
        if request.method == "DELETE":
            self.methods = []
            return httpx.Response(self.delete_status)
        if path.endswith("/revokeSignInSessions"):
            self.valid_from = "2026-11-16T09:00:00Z"
            return httpx.Response(200, json={"value": True})
        if request.method == "GET" and path == f"/v1.0/users/{USER}":
            return httpx.Response(200, json={"signInSessionsValidFromDateTime": self.valid_from})
        if path.endswith("/resetPassword"):
            location = f"https://graph.example/v1.0/users/{USER}/authentication/operations/op1"
            return httpx.Response(202, json={"newPassword": GENERATED}, headers={"Location": location})
        if path.endswith("/operations/op1"):
            self.polls_running -= 1
            return httpx.Response(200, json={"status": "running" if self.polls_running >= 0 else "succeeded"})
        return httpx.Response(404, json={"error": {"code": "NotFound", "message": path}})


def _run(graph: FakeGraph, token: str, **options: Any) -> list[str]:
    lines: list[str] = []
    respond(
        _gate_incident(),
        base_url="https://graph.example",
        tokens=StaticToken(token),
        apply=True,
        echo=lines.append,
        confirm=lambda: True,
        transport=httpx.MockTransport(graph),
        **options,
    )
    return lines


def test_a_password_reset_is_polled_and_its_password_never_shown() -> None:
    graph = FakeGraph(polls_running=1)
    out = "\n".join(_run(graph, USER_TOKEN))
    assert GENERATED not in out and USER_TOKEN not in out
    assert "3. POST /v1.0/users/" in out and "202 Accepted; the operation succeeded" in out
    polls = [path for method, path, _ in graph.requests if path.endswith("/operations/op1")]
    assert len(polls) == 2  # running, then succeeded
    assert "Done: 3 call(s) made and confirmed." in out


def test_a_given_new_password_is_sent_but_shown_as_stars() -> None:
    graph = FakeGraph(polls_running=0)
    out = "\n".join(_run(graph, USER_TOKEN, new_password="Typed-Pa55word"))
    assert "Typed-Pa55word" not in out
    assert '/resetPassword  {"newPassword":"***"}' in out
    sent = next(body for method, path, body in graph.requests if path.endswith("/resetPassword"))
    assert orjson.loads(sent) == {"newPassword": "Typed-Pa55word"}


def test_an_application_is_refused_a_password_reset_before_any_change() -> None:
    graph = FakeGraph()
    with pytest.raises(UsageError, match="allows only for a signed-in administrator"):
        _run(graph, APP_TOKEN)
    assert {method for method, _, _ in graph.requests} == {"GET"}


def test_a_delete_answered_404_counts_once_the_read_shows_it_gone() -> None:
    out = "\n".join(_run(FakeGraph(delete_status=404, polls_running=0), USER_TOKEN))
    assert "1. DELETE" in out and "gone, not found: already gone" in out
    assert "  1. ok: m1 is no longer listed" in out


def test_a_change_the_read_does_not_confirm_fails_the_run() -> None:
    class Sticky(FakeGraph):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.method == "DELETE":
                self.requests.append((request.method, request.url.path, request.content))
                return httpx.Response(204)  # says yes, deletes nothing
            return super().__call__(request)

    with pytest.raises(ContainmentIncomplete, match=r"do not confirm call\(s\) 1"):
        _run(Sticky(polls_running=0), USER_TOKEN)


def test_declining_changes_nothing() -> None:
    graph = FakeGraph()
    with pytest.raises(ContainmentIncomplete, match="nothing was changed"):
        respond(
            _gate_incident(),
            base_url="https://graph.example",
            tokens=StaticToken(USER_TOKEN),
            apply=True,
            echo=lambda line: None,
            confirm=lambda: False,
            transport=httpx.MockTransport(graph),
        )
    assert {method for method, _, _ in graph.requests} == {"GET"}


def test_load_incident_chooses_by_number_id_or_rule(tmp_path: Path) -> None:
    doc = {
        "incidents": [
            {"id": "a:1", "rule": "a", "containment": []},
            {"id": "b:2", "rule": "b", "containment": []},
        ]
    }
    path = tmp_path / "incidents.json"
    path.write_bytes(orjson.dumps(doc))
    assert load_incident(path, choose="2")["id"] == "b:2"
    assert load_incident(path, choose="a:1")["id"] == "a:1"
    assert load_incident(path, rule="b")["id"] == "b:2"
    with pytest.raises(UsageError, match="holds 2 incidents"):
        load_incident(path)
    path.write_bytes(orjson.dumps({"rule": "a", "containment": [{"kind": "change", "request": {}}]}))
    with pytest.raises(InputError, match="a change without a request"):
        load_incident(path)


def test_what_is_already_gone_is_skipped_and_a_newer_pass_is_the_one_deleted() -> None:
    """The planted Authenticator was removed already; the pass in the logs was replaced by a newer one."""
    context = PlanContext(
        principals={
            "target": {"id": USER, "type": "user", "displayName": "Mia Hoffmann"},
            "issuer": {"id": ISSUER, "type": "user", "displayName": "Lukas Brandt"},
        },
        methods=[
            RegisteredMethod("microsoftAuthenticator", "2026-11-14T02:09:06Z", "iPhone 15 Pro", ("r",), "x")
        ],
        tap_id=LOGGED_PASS,
    )
    incident = incident_of(TAP_RULE, context)

    def graph(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/temporaryAccessPassMethods"):
            return httpx.Response(
                200, json={"value": [{"id": "newer-pass", "createdDateTime": "2026-11-16T08:00:00Z"}]}
            )
        if request.url.path.endswith("/microsoftAuthenticatorMethods"):
            return httpx.Response(200, json={"value": [_auth("own", "Galaxy S23", None)]})
        return httpx.Response(200, json={"signInSessionsValidFromDateTime": None})

    lines: list[str] = []
    respond(
        incident,
        base_url="https://graph.example",
        tokens=StaticToken(USER_TOKEN),
        apply=False,
        echo=lines.append,
        confirm=lambda: True,
        transport=httpx.MockTransport(graph),
    )
    out = "\n".join(lines)
    assert (
        "/temporaryAccessPassMethods/newer-pass" in out
        and f"not {LOGGED_PASS} from the logs: a newer pass" in out
    )
    gone = "the Microsoft Authenticator registered at 2026-11-14T02:09:06Z on iPhone 15 Pro is not on the"
    assert f"nothing to do, {gone} account now (already removed?)" in out
    assert "/microsoftAuthenticatorMethods/own" not in out  # the victim's own is never the fallback
    assert len(re.findall(r"^  \d\. ", out, flags=re.M)) == 3  # the pass, and two revocations


def test_on_a_terminal_it_asks_first(served: Served) -> None:
    """A real terminal on stdin: the prompt comes first; 'n' changes nothing, 'y' applies."""
    import pty

    def answer(text: str) -> subprocess.CompletedProcess[str]:
        leader, follower = pty.openpty()
        try:
            os.write(leader, text.encode())
            args = [
                "respond",
                served.incidents,
                "--rule",
                TAP_RULE,
                "--apply",
                "--base-url",
                served.server.url,
            ]
            process = subprocess.run(
                [sys.executable, "-m", "graphlattice", *map(str, args)],
                stdin=follower,
                capture_output=True,
                text=True,
                timeout=120,
                env={**ENV, "GRAPHLATTICE_TOKEN": served.server.token(NOOR)},
                check=False,
            )
        finally:
            os.close(leader)
            os.close(follower)
        return process

    before = files(served.state)
    declined = answer("n\n")
    assert declined.returncode == 1
    assert (
        "Make these calls? [y/N]" in declined.stderr
        and "not confirmed: nothing was changed" in declined.stderr
    )
    assert files(served.state) == before
    accepted = answer("y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "Done: 5 call(s) made and confirmed." in accepted.stdout
