"""``range act`` with values Graph would refuse: one line naming the parameter, exit 2, the folder untouched.

Overflowing numbers, ``nan``/``inf``, instants outside what the clock can hold, integers of thousands of
digits, out-of-range pass settings and passwords the policy refuses all used to be either accepted (and
then break every later command) or crash with exit 70.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.range.test_cli_range import one_line_error, run, start

MIA = "mia.hoffmann"
FILES = ("state.json", "seed.json", "journal.jsonl", "principals.json")


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES if (folder / name).exists()}


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return start(tmp_path_factory.mktemp("hostile") / "range")


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        (("advance-clock", "minutes=1e20"), "minutes"),
        (("advance-clock", "minutes=nan"), "minutes"),
        (("advance-clock", "minutes=inf"), "minutes"),
        (("advance-clock", "minutes=-5"), "minutes"),
        (("advance-clock", "minutes=" + "9" * 5000), "minutes"),
        (("advance-clock", "minutes=1000000000"), "minutes"),  # nineteen centuries: past the clock's last day
        (("advance-clock", "to=9999-12-31T23:59:59Z"), "to"),
        (("advance-clock", "to=0001-01-01T00:00:00Z"), "to"),
        (("advance-clock", "to=2020-01-01T00:00:00Z"), "to"),  # backwards
        (("issue-tap", f"user={MIA}", "start=9999-12-31T00:00:00Z"), "start"),
        (("issue-tap", f"user={MIA}", "start=0001-01-01T00:00:00Z"), "start"),
        (("issue-tap", f"user={MIA}", "start=+1e300"), "start"),
        (("issue-tap", f"user={MIA}", "lifetime_minutes=" + "9" * 4000), "lifetime_minutes"),
        (("issue-tap", f"user={MIA}", "lifetime_minutes=-1"), "lifetime_minutes"),
        (("issue-tap", f"user={MIA}", "lifetime_minutes=43201"), "lifetime_minutes"),
        (("update-tap-policy", "length=0"), "length"),
        (("update-tap-policy", "length=1000000000"), "length"),
        (("update-tap-policy", "default_lifetime=9"), "default_lifetime"),
        (("update-tap-policy", "default_lifetime=600", "max_lifetime=480"), "default_lifetime"),
        (("reset-password", f"user={MIA}", "password=" + "Aa1!" * 70), "password"),
        (("reset-password", f"user={MIA}", "password=alllowercase"), "password"),
        (("reset-password", f"user={MIA}", "password=Pässwörd-123"), "password"),
        (("activate-role", "role=Global Administrator", "duration=P99999999D"), "duration"),
        (("add-eligibility", "principal=mia.hoffmann", "role=Global Reader", "duration=nan"), "duration"),
        (
            ("create-ca-policy", 'policy={"displayName": "x", "conditions": {}, "grantControls": 5}'),
            "policy.grantControls",
        ),
        (
            (
                "create-ca-policy",
                'policy={"displayName": "x", "conditions": {}, "grantControls": {"builtInControls": 5}}',
            ),
            "policy.grantControls.builtInControls",
        ),
        (("create-ca-policy", "policy=" + "[" * 100_000), "policy"),
        (("sign-in", f"user={MIA}", "method=password", "ip=not-an-address"), "ip"),
        (("sign-in", f"user={MIA}", "method=password", "country=Netherlands"), "country"),
        (("delete-tap", f"user={MIA}", "ip=\x1b[31m"), "ip"),
    ],
)
def test_hostile_value_is_one_line_naming_the_parameter(
    started: Path, args: tuple[str, ...], parameter: str
) -> None:
    before = _files(started)
    line = one_line_error(run("range", "act", *args, "--state", str(started)), 2)
    assert f"{args[0]}: {parameter} " in line, line
    assert len(line) < 400, "the value is quoted short, not echoed whole"
    assert "\x1b" not in line
    assert _files(started) == before


def test_a_refused_value_leaves_every_command_working(started: Path) -> None:
    for args in (("status",), ("log",), ("verify", "--format", "json")):
        proc = run("range", *args, "--state", str(started))
        assert proc.returncode == 0, (args, proc.stderr)
