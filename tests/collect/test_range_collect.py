"""The collector against a served Range over real HTTP on 127.0.0.1.

* parity: what the collector writes assesses exactly like the Range's own export (same findings: status,
  severity, affected objects), as the defender and as a least-privilege read-only application;
* faults: 20% of requests answered with 429 / 503 / a connection reset (and 20% of the answers inside
  ``$batch`` with 429 / 503) still give a byte-identical snapshot;
* resume: a run killed mid-way and resumed reads only what was not finished, and ends with the same snapshot;
* a 403 on one collection: recorded in the manifest with the permission, the risks that need it UNKNOWN.
"""

from __future__ import annotations

import base64
import json
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.collect.collector import STATE_FILE
from graphlattice.collect.plan import METHODS_PATH, PLAN, has_temporary_access_pass, method_candidates
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.snapshot import iter_jsonl, load_snapshot
from tests.collect.conftest import (
    DEFENDER,
    ENV,
    MISSING,
    PARTIAL_APP,
    READER_APP,
    RangeDir,
    Served,
    cli,
)
from tests.collect.proxy import Faults, fault_proxy


def collect(url: str, token: str, out: Path, clock: str, *extra: str, check: bool = True) -> Any:
    return cli(
        "collect",
        "--base-url",
        url,
        "--token",
        token,
        "--out",
        str(out),
        "--collected-at",
        clock,
        *extra,
        check=check,
    )


def findings(snapshot: Path, config: Path) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """(risk, status, severity, title, affected ids) per finding, and the summary counts."""
    doc = json.loads(cli("assess", str(snapshot), "--format", "json", "--config", str(config)).stdout)
    rows = [
        (f["risk"], f["status"], f["severity"], f["title"], sorted(a["id"] for a in f.get("affected") or []))
        for f in doc["findings"]
    ]
    return rows, doc["summary"]


def snapshot_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != STATE_FILE}


def _items(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [obj for _, obj in iter_jsonl(path)]
    doc = orjson.loads(path.read_bytes())
    return list(doc["value"]) if isinstance(doc, dict) and "value" in doc else [doc]


@pytest.fixture(scope="module")
def clean_snapshot(
    scenario_range: RangeDir, served_scenario: Served, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A fault-free collection as the defender, for the tests that compare against one."""
    out = tmp_path_factory.mktemp("clean") / "snap"
    collect(served_scenario.url, scenario_range.token(upn=DEFENDER), out, scenario_range.clock)
    return out


# ---- parity -----------------------------------------------------------------------------------------------


def test_collected_snapshot_assesses_exactly_like_the_ranges_export(
    scenario_range: RangeDir, served_scenario: Served, tmp_path: Path
) -> None:
    out = tmp_path / "snap"
    command = shlex.join(
        [
            sys.executable,
            "-m",
            "graphlattice",
            "range",
            "token",
            "--as",
            "noor.haddad",
            "--state",
            str(scenario_range.state),
        ]
    )
    done = cli(
        "collect",
        "--base-url",
        served_scenario.url,
        "--token-command",
        command,
        "--out",
        str(out),
        "--collected-at",
        scenario_range.clock,
    )
    assert "17 of 17 collections read" in done.stderr
    config = scenario_range.export / "graphlattice.yaml"
    expected, expected_summary = findings(scenario_range.export, config)
    got, summary = findings(out, config)
    assert got == expected
    assert summary == expected_summary
    assert any(status == "FAIL" for _, status, *_ in expected)  # the scenario's risks are there to see

    # the same objects, collection by collection
    export = scenario_range.export
    for name, spec in COLLECTIONS.items():
        mine, theirs = _items(out / spec.filename), _items(export / spec.filename)
        if name == "authenticationMethods":
            continue
        key = "id" if spec.shape != "singleton" else None
        if key:
            assert sorted(i[key] for i in mine) == sorted(i[key] for i in theirs), name
    groups = {g["id"]: g for g in _items(export / "groups.json")}
    for group in _items(out / "groups.json"):
        for relation in ("members", "owners"):
            assert [m["id"] for m in group[relation]] == [m["id"] for m in groups[group["id"]][relation]]

    # per-user methods: exactly the privileged users and the pass holders, each with all their methods
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["collectedAt"] == scenario_range.clock
    principals = [
        str(a["principalId"])
        for name in ("roleAssignments", "roleEligibilitySchedules", "roleAssignmentScheduleInstances")
        for a in _items(export / f"{name}.json")
    ]
    holders = [
        str(r["id"]) for r in _items(export / "userRegistrationDetails.json") if has_temporary_access_pass(r)
    ]
    users = {u["id"].casefold() for u in _items(export / "users.json")}
    wanted = [u for u in method_candidates(principals, {}, holders) if u in users]
    theirs_methods = {
        line["userId"].casefold(): line["value"] for line in _items(export / "authenticationMethods.jsonl")
    }
    mine_methods = {
        line["userId"].casefold(): line["value"] for line in _items(out / "authenticationMethods.jsonl")
    }
    assert sorted(mine_methods) == wanted
    assert holders and all(h.casefold() in mine_methods for h in holders)
    assert all(mine_methods[u] == theirs_methods[u] for u in wanted)
    coverage = manifest["coverage"]["authenticationMethods"]
    assert coverage["users"] == len(wanted) < len(users)
    assert "userRegistrationDetails" in coverage["reason"]
    tenant = load_snapshot(out)
    assert tenant.coverage["authenticationMethods"]["users"] == len(wanted)


def test_the_least_privilege_app_reads_everything_and_assesses_the_same(
    apps_range: RangeDir, served_apps: Served, tmp_path: Path
) -> None:
    """An app holding exactly the permissions 'collect --permissions' lists (Dana's read-only app)."""
    listed = json.loads(cli("collect", "--permissions", "--format", "json").stdout)["permissions"]
    assert MISSING in [p["permission"] for p in listed]
    out = tmp_path / "snap"
    done = collect(served_apps.url, apps_range.token(app=READER_APP), out, apps_range.clock)
    assert "17 of 17 collections read" in done.stderr, done.stderr
    config = apps_range.export / "graphlattice.yaml"
    assert findings(out, config) == findings(apps_range.export, config)


# ---- faults -----------------------------------------------------------------------------------------------


def test_a_fifth_of_requests_failing_still_gives_the_same_snapshot(
    scenario_range: RangeDir, served_scenario: Served, clean_snapshot: Path, tmp_path: Path
) -> None:
    token = scenario_range.token(upn=DEFENDER)
    clean = clean_snapshot
    faults = Faults(every=5, inner_every=5)
    with fault_proxy(served_scenario.url, faults) as proxy:
        faulty = tmp_path / "faulty"
        done = collect(proxy.url, token, faulty, scenario_range.clock)
        outcomes = {kind: proxy.count(kind) for kind in ("429", "503", "reset", "forwarded")}
        inner = proxy.inner_faults
    assert snapshot_bytes(faulty) == snapshot_bytes(clean)
    assert all(outcomes[kind] >= 1 for kind in ("429", "503", "reset")), outcomes
    total = sum(outcomes.values())
    assert sum(outcomes[k] for k in ("429", "503", "reset")) == total // 5
    assert inner >= 1
    stats = orjson.loads((faulty / STATE_FILE).read_bytes())["stats"]
    assert stats["throttled"] >= outcomes["429"] and stats["retries"] >= total // 5
    assert "17 of 17 collections read" in done.stderr


# ---- resume -----------------------------------------------------------------------------------------------


def _paths_of(name: str, state: dict[str, Any]) -> list[str]:
    """The request paths (with version, inner $batch paths included) that read collection ``name``."""
    plan = next(p for p in PLAN if p.name == name)
    if plan.query is None:
        return [METHODS_PATH.split("{id}")[0] + "*" + METHODS_PATH.split("{id}")[1]]
    out = [f"/{plan.query.version}{plan.query.path}"]
    out += [c.path for c in plan.children]
    return out


def _matches(pattern: str, path: str) -> bool:
    parts, have = pattern.strip("/").split("/"), path.strip("/").split("/")
    if have and have[0] in ("v1.0", "beta") and parts[0] not in ("v1.0", "beta"):
        have = have[1:]
    return len(parts) == len(have) and all(
        p in ("*", h) or p.startswith("{") for p, h in zip(parts, have, strict=False)
    )


def test_a_killed_run_resumes_without_reading_finished_collections_again(
    scenario_range: RangeDir, served_scenario: Served, clean_snapshot: Path, tmp_path: Path
) -> None:
    token = scenario_range.token(upn=DEFENDER)
    out = tmp_path / "snap"
    args = [
        sys.executable,
        "-m",
        "graphlattice",
        "collect",
        "--token",
        token,
        "--out",
        str(out),
        "--collected-at",
        scenario_range.clock,
    ]
    with fault_proxy(served_scenario.url, Faults(die_after=7)) as proxy:
        process = subprocess.Popen(
            [*args, "--base-url", proxy.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
        )
        deadline = time.monotonic() + 60
        while proxy.count("dead") < 4 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        state = orjson.loads((out / STATE_FILE).read_bytes())
        finished = [name for name, entry in state["collections"].items() if entry["status"] == "ok"]
        assert finished and len(finished) < len(COLLECTIONS)
        assert not (out / "manifest.json").exists()

        mark = proxy.revive()  # the endpoint is back
        done = cli(*args[3:], "--base-url", proxy.url, "--resume")
        second = proxy.paths(since=mark)
    assert "17 of 17 collections read" in done.stderr
    for name in finished:
        for pattern in _paths_of(name, state):
            assert not any(_matches(pattern, path) for path in second), (name, pattern, second)
    unfinished = [n for n in COLLECTIONS if n not in finished]
    assert all(any(_matches(p, path) for p in _paths_of(n, state) for path in second) for n in unfinished)

    assert snapshot_bytes(out) == snapshot_bytes(clean_snapshot)


def test_resume_refuses_another_tenant_and_a_fresh_run_refuses_a_used_folder(
    scenario_range: RangeDir, served_scenario: Served, clean_snapshot: Path, tmp_path: Path
) -> None:
    token = scenario_range.token(upn=DEFENDER)
    out = tmp_path / "snap"
    shutil.copytree(clean_snapshot, out)
    again = collect(served_scenario.url, token, out, scenario_range.clock, check=False)
    assert again.returncode == 2 and "--resume" in again.stderr and "--force" in again.stderr
    forged = token.split(".")
    forged[1] = base64.urlsafe_b64encode(b'{"tid":"someone-else"}').decode().rstrip("=")
    other = cli(
        "collect",
        "--base-url",
        "http://127.0.0.1:9",
        "--token",
        ".".join(forged),
        "--out",
        str(out),
        "--resume",
        check=False,
    )
    assert other.returncode == 2 and "holds tenant 6f1c2a9e" in other.stderr, other.stderr
    nothing = collect(
        served_scenario.url, token, tmp_path / "empty", scenario_range.clock, "--resume", check=False
    )
    assert nothing.returncode == 2 and "nothing to resume" in nothing.stderr


# ---- a collection the identity may not read ----------------------------------------------------------------


def test_a_403_is_recorded_with_the_permission_and_its_risks_turn_unknown(
    apps_range: RangeDir, served_apps: Served, tmp_path: Path
) -> None:
    out = tmp_path / "snap"
    done = collect(served_apps.url, apps_range.token(app=PARTIAL_APP), out, apps_range.clock)
    assert done.returncode == 0
    assert "not collected: authenticationMethods" in done.stderr and MISSING in done.stderr
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    entry = manifest["collections"]["authenticationMethods"]
    assert entry["status"] == "error" and entry["requiredPermission"] == MISSING
    assert "403" in entry["error"]
    assert [n for n, e in manifest["collections"].items() if e["status"] != "ok"] == ["authenticationMethods"]
    assert not (out / "authenticationMethods.jsonl").exists()

    doc = json.loads(cli("assess", str(out), "--format", "json").stdout)
    unknown = {f["risk"]: f for f in doc["findings"] if f["status"] == "UNKNOWN"}
    assert "tap-active-passes" in unknown
    assert MISSING in json.dumps(unknown["tap-active-passes"])
    assert doc["tenant"]["unavailable"].get("authenticationMethods")
    table = cli("assess", str(out), "--color", "never").stdout
    assert MISSING in table
