"""Hypothesis against ``range act``: every action, its parameters given hostile values (overflowing and
non-finite numbers, instants outside the clock's window, huge, empty and control-character text, broken
JSON, unknown parameter names, unknown actors) through the command line's own entry point on a real folder.

The exit code is always one the README documents (0 done, 2 bad parameter, 3 unusable input, 4 Entra
refuses), never 70; a refusal for bad input (2, 3) leaves the folder byte for byte as it was, and one Entra
refuses (4) changes nothing but the failure records Entra writes. Bounded by ``FUZZ_EXAMPLES``.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphlattice.cli import main
from graphlattice.range.actions import ACTIONS
from tests.fuzzing import EXAMPLES, fuzz_settings
from tests.range.test_cli_range import start

pytestmark = pytest.mark.slow

DOCUMENTED = {0, 2, 3, 4}
LOGS = ("directoryAudits", "signIns", "ids")

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e20",
            "1e309",
            "-1e309",
            "nan",
            "inf",
            "-inf",
            "9" * 5000,
            "2147483648",
            "-2147483649",
            "0x10",
            "+1e20",
            "+nan",
            "+-5",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "2026-11-16T08:30:00+14:00",
            "P99999999D",
            "PT0S",
            "P" + "9" * 400 + "D",
            "[" * 5000,
            '{"displayName": "x", "conditions": {"users": 5}}',
            '{"grantControls": {"builtInControls": 5}}',
            "null",
            "true",
            "A" * 20_000,
            "\x00",
            "\x1b[31mred\x1b[0m",
            "é" * 300,
            "mia.hoffmann",
            "mia.hoffmann@northwind-traders.example",
            "lukas.brandt@northwind-traders.example",
            "Global Administrator",
            "TAP Enrolment",
            "Require MFA for all users",
            "PT4H",
            "60",
            "10080",
            "Str0ng-Passw0rd!",
            "192.0.2.1",
            "DE",
            "all_users",
        ]
    ),
    st.text(max_size=60),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


_DOMAIN = "@northwind-traders.example"
PLAUSIBLE: dict[str, list[str]] = {
    "user": ["mia.hoffmann", "mia.hoffmann" + _DOMAIN, "lukas.brandt", "elif.demir"],
    "principal": ["lukas.brandt", "mia.hoffmann"],
    "member": ["mia.hoffmann", "lukas.brandt"],
    "group": ["TAP Enrolment"],
    "role": ["Global Reader", "Authentication Administrator", "Global Administrator"],
    "lifetime_minutes": ["60", "480", "10"],
    "default_lifetime": ["60", "120"],
    "min_lifetime": ["60", "10"],
    "max_lifetime": ["480", "43200"],
    "length": ["8", "12", "48"],
    "minutes": ["5", "60", "0"],
    "to": ["+30", "2026-12-01T00:00:00Z"],
    "start": ["+10", "2026-11-17T00:00:00Z"],
    "duration": ["PT4H", "P30D", "2"],
    "max_duration": ["PT4H", "PT1H"],
    "password": ["Str0ng-Passw0rd!", "Another-0ne-2026"],
    "current_password": ["Str0ng-Passw0rd!"],
    "ip": ["192.0.2.1", "2001:db8::1"],
    "country": ["DE", "NL"],
    "policy": [
        "Require MFA for all users",
        '{"displayName": "Fuzzed", "state": "disabled", "conditions": {"users": {"includeUsers": ["All"]},'
        ' "applications": {"includeApplications": ["All"]}}, "grantControls": {"operator": "OR",'
        ' "builtInControls": ["mfa"]}}',
    ],
    "patch": ['{"state": "disabled"}', '{"grantControls": {"operator": "OR", "builtInControls": ["block"]}}'],
    "include_groups": ["TAP Enrolment", "all_users"],
    "exclude_groups": ["TAP Enrolment"],
    "exclude_users": ["noor.haddad" + _DOMAIN],
    "approvers": ["noor.haddad" + _DOMAIN],
    "holder": ["attacker", "victim"],
    "usable_once": ["true", "false"],
    "approval": ["true", "false"],
    "approval_required": ["true", "false"],
    "mfa_required": ["true", "false"],
    "strength": ["mfa", "phishing-resistant"],
}


@st.composite
def invocations(draw: st.DrawFn) -> tuple[str, dict[str, str], str | None]:
    """One action, its parameters mostly plausible and now and then hostile (one at a time, mostly), so
    that examples reach the action itself and not only the first check."""
    name = draw(st.sampled_from(sorted(ACTIONS)))
    spec = ACTIONS[name]
    params: dict[str, str] = {}
    for param in spec.params:
        if not (param.required or draw(st.integers(0, 4)) == 0):
            continue
        plausible = list(param.choices) or PLAUSIBLE.get(param.name, ["x"])
        hostile = draw(st.integers(0, 3)) == 0
        params[param.name] = draw(HOSTILE if hostile else st.sampled_from(plausible))
    if draw(st.integers(0, 19)) == 0:
        params[draw(st.text(min_size=1, max_size=12).filter(lambda k: "=" not in k))] = draw(HOSTILE)
    actor = draw(st.sampled_from([None] * 6 + ["lukas.brandt", "mia.hoffmann", "ghost"]))
    if draw(st.integers(0, 19)) == 0:
        actor = draw(HOSTILE)
    return name, params, actor


def _act(folder: Path, name: str, params: dict[str, str], actor: str | None) -> tuple[int, str]:
    argv = ["range", "act", name, *(f"{k}={v}" for k, v in params.items()), "--state", str(folder)]
    if actor is not None:
        argv += ["--as", actor]
    err = io.StringIO()
    code: Any = 0
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
    return int(code or 0), err.getvalue()


def _state(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((folder / "state.json").read_bytes())
    return doc


def _without_logs(doc: dict[str, Any]) -> dict[str, Any]:
    state = {k: v for k, v in doc["state"].items() if k not in LOGS}
    return {**{k: v for k, v in doc.items() if k not in ("state", "commit")}, "state": state}


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return start(tmp_path_factory.mktemp("fuzz-act") / "range")


@fuzz_settings(EXAMPLES * 60)
@given(invocation=invocations())
def test_range_act_answers_every_input_with_a_documented_exit(
    started: Path,
    tmp_path_factory: pytest.TempPathFactory,
    invocation: tuple[str, dict[str, str], str | None],
) -> None:
    name, params, actor = invocation
    if any("\x00" in v or "\x00" in k for k, v in params.items()) or (actor and "\x00" in actor):
        params = {
            k.replace("\x00", ""): v.replace("\x00", "?") for k, v in params.items()
        }  # argv cannot hold NUL
        actor = actor.replace("\x00", "?") if actor else actor
    before_bytes = (started / "state.json").read_bytes()
    journal = (started / "journal.jsonl").read_bytes()
    code, stderr = _act(started, name, params, actor)
    assert code in DOCUMENTED, (code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    if code in (2, 3):
        assert len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr
        assert (started / "state.json").read_bytes() == before_bytes
        assert (started / "journal.jsonl").read_bytes() == journal
    elif code == 4:
        assert _without_logs(_state(started)) == _without_logs(orjson.loads(before_bytes))
    if code == 0 and name == "advance-clock":
        # keep the clock where the remaining examples can still act: start the folder over now and then
        shutil.rmtree(started)
        shutil.copytree(_pristine(tmp_path_factory, started), started)


_COPIES: dict[Path, Path] = {}


def _pristine(factory: pytest.TempPathFactory, folder: Path) -> Path:
    if folder not in _COPIES:
        _COPIES[folder] = start(factory.mktemp("fuzz-act-pristine") / "range")
    return _COPIES[folder]
