"""Each hostile input found by attacking the tool, as a real file given to the real command line.

Every case here once crashed (exit 70), hung, read forever, exhausted memory or drew a verdict from bad data;
now each is one ``error:`` line naming the file (and the line or JSON path), exit 3 — or, where the input is
legitimate (a byte order mark, a large first log record), the same answer as without the oddity.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.demo import generate_demo
from graphlattice.range.scenario import SCENARIO_DIR
from tests.hostile.fuzzkit import BILLION_LAUGHS

MEMORY_LIMIT = 1536 << 20  # address space for the child: the 2.1 GB alias bomb could never fit


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
    )


def refused(proc: Any, *needles: str) -> str:
    """The one error line of a refusal (exit 3), which must contain every needle."""
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 3 and len(errors) == 1, (proc.returncode, proc.stderr)
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "demo"
    generate_demo(out, users=50, seed=5)
    return out


@pytest.fixture
def snap(demo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(demo, tmp_path / "snap"))


def _edit(snapshot: Path, name: str, change: Any) -> None:
    path = snapshot / name
    if path.suffix == ".jsonl":
        lines = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        change(lines)
        path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    else:
        doc = orjson.loads(path.read_bytes())
        change(doc)
        path.write_bytes(orjson.dumps(doc))


def _first(items: list[Any], key: str) -> Any:
    return next(item for item in items if key in item)


# ---- wrong JSON types in snapshot collections: one line with the file and the JSON path -------------------


@pytest.mark.parametrize(
    ("name", "change", "where"),
    [
        ("namedLocations.json", lambda d: _first(d["value"], "ipRanges").update(ipRanges=True), ".ipRanges:"),
        (
            "conditionalAccessPolicies.json",
            lambda d: _first(
                [p["grantControls"] for p in d["value"] if p["grantControls"]], "builtInControls"
            ).update(builtInControls=5),
            ".grantControls.builtInControls:",
        ),
        (
            "conditionalAccessPolicies.json",
            lambda d: d["value"][1].update(conditions="all"),
            "value[1].conditions:",
        ),
        ("groups.json", lambda d: d["value"][0].update(groupTypes="Unified"), "value[0].groupTypes:"),
        (
            "conditionalAccessPolicies.json",
            lambda d: _first(
                [(p["grantControls"] or {}).get("authenticationStrength") or {} for p in d["value"]], "id"
            ).update(id=""),
            ".authenticationStrength.id: expected a non-empty id",
        ),
        (
            "roleManagementPolicies.json",
            lambda d: _first(d["value"][0]["rules"], "enabledRules").update(enabledRules=1.5),
            ".enabledRules:",
        ),
        (
            "authenticationMethodsPolicy.json",
            lambda d: d.update(authenticationMethodConfigurations=True),
            "authenticationMethodConfigurations:",
        ),
        (
            "signIns.jsonl",
            lambda d: d[0].update(appliedConditionalAccessPolicies=-1),
            "appliedConditionalAccessPolicies",
        ),
        ("directoryAudits.jsonl", lambda d: d[0].update(targetResources=False), "targetResources"),
        (
            "authenticationMethods.jsonl",
            lambda d: _first([m for line in d for m in line["value"]], "lifetimeInMinutes").update(
                lifetimeInMinutes=2**63 - 1
            ),
            "lifetimeInMinutes: expected a whole number (32-bit)",
        ),
        ("users.json", lambda d: d["value"][0].update(accountEnabled="yes"), "value[0].accountEnabled:"),
        (
            "manifest.json",
            lambda d: d.update(collectedAt="2027-02-30T00:00:00Z"),
            "collectedAt: expected a date-time",
        ),
    ],
)
def test_a_wrong_type_in_a_snapshot_is_one_line_with_its_path(
    snap: Path, name: str, change: Any, where: str
) -> None:
    _edit(snap, name, change)
    refused(run("assess", snap, "--format", "json"), name, where)


def test_a_bad_strength_list_is_refused_not_a_failing_verdict(snap: Path) -> None:
    def to_text(doc: Any) -> None:
        for policy in doc["value"]:
            strength = (policy.get("grantControls") or {}).get("authenticationStrength")
            if strength:
                strength["allowedCombinations"] = "password"

    _edit(snap, "conditionalAccessPolicies.json", to_text)
    _edit(
        snap, "authenticationStrengthPolicies.json", lambda d: d["value"][0].update(allowedCombinations=True)
    )
    proc = run("assess", snap, "--format", "json", "--fail-on", "low")
    refused(proc, "allowedCombinations: expected a list of text")


def test_a_pass_that_starts_at_the_end_of_the_calendar_does_not_overflow(snap: Path) -> None:
    def far(lines: Any) -> None:
        _first([m for line in lines for m in line["value"]], "lifetimeInMinutes")["startDateTime"] = (
            "9999-12-31T23:59:59Z"
        )

    _edit(snap, "authenticationMethods.jsonl", far)
    proc = run("assess", snap, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout)["findings"]


def test_a_byte_order_mark_in_snapshot_files_is_accepted(snap: Path, demo: Path) -> None:
    for path in snap.glob("*.json*"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    plain = run("assess", demo, "--format", "json")
    marked = run("assess", snap, "--format", "json")
    assert plain.returncode == marked.returncode == 0, marked.stderr
    assert orjson.loads(marked.stdout)["findings"] == orjson.loads(plain.stdout)["findings"]


# ---- YAML inputs: settings, waivers, scenarios ------------------------------------------------------------

_WAIVER = "waivers:\n  - risk: tap-policy-weak\n    rationale: r\n    owner: o\n    expires: {}\n"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (_WAIVER.format("2099-01-01\n    object: " + "[" * 3000 + "]" * 3000), "nested more than"),
        (_WAIVER.format("1" + "0" * 5000), "number too large"),
        (_WAIVER.format("2027-02-30"), "not a date that exists"),
        (BILLION_LAUGHS + "waivers: *i\n", "aliases expand"),
        ("waivers: !!python/object/apply:os.system ['true']\n", "not supported"),
    ],
)
def test_hostile_waivers_are_one_line(snap: Path, tmp_path: Path, text: str, needle: str) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(text, encoding="utf-8")
    refused(run("assess", snap, "--waivers", waivers), str(waivers), needle)


def test_invalid_utf8_in_settings_names_its_line(snap: Path, tmp_path: Path) -> None:
    settings = tmp_path / "graphlattice.yaml"
    settings.write_bytes(b"reportOnlyMaxDays: 30\nbreakGlassAccounts: [\xff]\n")
    refused(run("assess", snap, "--config", settings), f"{settings}:2:", "not UTF-8")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("tapMaxLifetimeMinutes: " + "[" * 3000 + "]" * 3000 + "\n", "nested more than"),
        ("tapMaxLifetimeMinutes: " + "9" * 30 + "\n", "number too large"),
        ("reportOnlyMaxDays: 99999999999\n", "from 1 to"),
        (BILLION_LAUGHS, "aliases expand"),
    ],
)
def test_hostile_settings_are_one_line(snap: Path, tmp_path: Path, text: str, needle: str) -> None:
    settings = tmp_path / "graphlattice.yaml"
    settings.write_text(text, encoding="utf-8")
    refused(run("assess", snap, "--config", settings), str(settings), needle)


def _scenario(tmp_path: Path, old: str, new: str) -> Path:
    text = (SCENARIO_DIR / "tap-persistence.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "scenario.yaml"
    path.write_text(text.replace(old, new, 1) if old else text + new, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (
            "id: tap-persistence",
            "id: tap-persistence\nx: " + "{a: " * 3000 + "1" + "}" * 3000,
            "nested more than",
        ),
        ("  seed: ", "  seed: 1" + "0" * 5000 + "\n  x-seed: ", "number too large"),
        ("", BILLION_LAUGHS + "bomb: *i\n", "aliases expand"),  # appended at the end
    ],
)
def test_hostile_scenarios_are_one_line(tmp_path: Path, old: str, new: str, needle: str) -> None:
    path = _scenario(tmp_path, old, new)
    refused(run("range", "start", path, "--state", tmp_path / "state"), str(path), needle)


def test_a_cast_member_left_empty_is_named(tmp_path: Path) -> None:
    text = (SCENARIO_DIR / "tap-persistence.yaml").read_text(encoding="utf-8")
    start = text.index("  defender: ")
    end = text.index("\n", start)
    path = tmp_path / "scenario.yaml"
    path.write_text(text[:start] + "  defender: null" + text[end:], encoding="utf-8")
    refused(run("range", "start", path, "--state", tmp_path / "state"), str(path), "cast needs 'defender'")


# ---- only regular files, within their size limits ---------------------------------------------------------


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


@pytest.mark.parametrize("make", [_fifo, _zero], ids=["fifo", "dev-zero"])
def test_fifos_and_devices_are_refused_everywhere(snap: Path, tmp_path: Path, make: Any) -> None:
    hostile = make(tmp_path / "hostile.yaml")
    refused(run("assess", snap, "--config", hostile), str(hostile), "not a regular file")
    refused(run("assess", snap, "--waivers", hostile), str(hostile), "not a regular file")
    refused(run("range", "start", hostile, "--state", tmp_path / "state"), "not a regular file")
    logs = snap / "directoryAudits.jsonl"
    refused(run("detect", logs, "--tickets", hostile), str(hostile), "not a regular file")
    refused(
        run("respond", hostile, "--base-url", "http://127.0.0.1:9", "--token-file", hostile), str(hostile)
    )
    (snap / "users.json").unlink()
    make(snap / "users.json")
    refused(run("assess", snap), "users.json", "not a regular file")


def test_size_limits_per_kind_and_their_override(snap: Path, tmp_path: Path) -> None:
    settings = tmp_path / "graphlattice.yaml"
    settings.write_text("# padding\n" * 120_000, encoding="utf-8")  # 1.2 MB of comments
    refused(run("assess", snap, "--config", settings), "more than a settings file may be (1.0 MiB)")
    tickets = tmp_path / "tickets.csv"
    tickets.write_text("ticket,user,time\n" + "T1,someone@contoso.com,2026-11-01T00:00:00Z\n" * 40_000)
    logs = snap / "directoryAudits.jsonl"
    env = {"GRAPHLATTICE_MAX_TICKETS_MB": "1"}
    refused(run("detect", logs, "--tickets", tickets, env=env), "GRAPHLATTICE_MAX_TICKETS_MB")
    assert run("detect", logs, "--tickets", tickets).returncode == 0


# ---- detect: a large first record, a --db that is not a log store ----------------------------------------


def test_a_first_log_record_over_a_megabyte_is_read(demo: Path, tmp_path: Path) -> None:
    lines = (demo / "signIns.jsonl").read_bytes().splitlines()
    first = orjson.loads(lines[0])
    first["userAgent"] = "x" * (2 << 20)
    for name, data in {
        "big.jsonl": orjson.dumps(first) + b"\n" + b"\n".join(lines[1:5]) + b"\n",
        "big.json": orjson.dumps([first, *map(orjson.loads, lines[1:5])], option=orjson.OPT_INDENT_2),
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        proc = run("detect", path, "--format", "json")
        assert proc.returncode == 0, proc.stderr
        assert orjson.loads(proc.stdout)["summary"]["records"]["signin"] == 5, name


@pytest.mark.parametrize("content", [b"", b"my notes\n", b"SQLite format 3\x00" + b"\x00" * 200])
def test_db_that_is_not_a_log_store_is_refused_and_left_alone(
    demo: Path, tmp_path: Path, content: bytes
) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(content)
    refused(run("detect", demo / "directoryAudits.jsonl", "--db", db), str(db), "not a log store")
    assert db.read_bytes() == content
