"""Collector benchmark: collect a large Range served with Graph's throttling budgets.

The demo snapshot of N users (see run.py) seeds a Range (cached under build/), which
``graphlattice range serve --throttle`` serves on 127.0.0.1 with Microsoft Graph's documented budgets; a
Global Administrator's token then runs ``graphlattice collect`` against it in a fresh process. Printed:

  * requests made against the fewest the plan needs for this tenant (goal <= 1.05x), from
    graphlattice.collect.plan.minimum_requests;
  * 429s received;
  * wall time against the throttle-bound minimum: the slowest family spending its budget, then waiting for
    refills (goal <= 1.2x);
  * the collector process's peak memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from graphlattice.collect.plan import TenantSize, method_candidates, minimum_requests
from graphlattice.entra.methods import MethodKind, classify_method
from graphlattice.tenant.model import parse_time

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"

_SEED = r"""
import sys
from pathlib import Path
from graphlattice.range.seed_snapshot import seed_from_snapshot
seed_from_snapshot(Path(sys.argv[1]), Path(sys.argv[2]))
"""

# Peak memory from VmHWM: ru_maxrss would include the benchmark process's own, inherited through fork.
_COLLECT = r"""
import json, resource, sys, time
from graphlattice.cli import main
t0 = time.perf_counter()
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
run = {"seconds": time.perf_counter() - t0, "code": code, "peak_mib": peak / 1024}
print(json.dumps(run), file=sys.stderr)
"""


def _values(path: Path) -> list[dict[str, Any]]:
    doc = orjson.loads(path.read_bytes())
    return list(doc["value"]) if isinstance(doc, dict) else list(doc)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def _range(snapshot: Path, users: int) -> Path:
    """A Range seeded from the snapshot (cached: seeding 100,000 users takes a while)."""
    state = ROOT / "build" / f"bench-range-{users}"
    marker = state / ".seeded-from"
    stamp = (snapshot / "manifest.json").read_bytes()
    if not (marker.exists() and marker.read_bytes() == stamp):
        print(f"seeding a Range from {snapshot} into {state} ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", _SEED, str(snapshot), str(state)], check=True)
        marker.write_bytes(stamp)
        print(f"  seeded in {time.perf_counter() - t0:.1f} s")
    return state


@contextmanager
def _serve(state: Path) -> Iterator[str]:
    args = [sys.executable, "-m", "graphlattice", "range", "serve", "--state", str(state), "--port", "0"]
    process = subprocess.Popen([*args, "--throttle"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.endswith("/v1.0"):
            raise RuntimeError(f"range serve did not start: {line!r}")
        yield line.removesuffix("/v1.0")
    finally:
        process.terminate()
        process.wait(30)


def _tenant_size(snapshot: Path) -> tuple[TenantSize, str, str]:
    """What the plan has to read in this tenant, a Global Administrator to read it as, and the clock."""
    users = _values(snapshot / "users.json")
    groups = _values(snapshot / "groups.json")
    sps = _values(snapshot / "servicePrincipals.json")
    counts = {
        name: len(_values(snapshot / f"{name}.json")) for name in ("roleDefinitions", "roleAssignments")
    }
    principals: list[str] = []
    for name in ("roleAssignments", "roleEligibilitySchedules", "roleAssignmentScheduleInstances"):
        principals += [str(a["principalId"]) for a in _values(snapshot / f"{name}.json")]
    role_groups = {
        str(g["id"]): [
            str(m["id"]) for m in g["members"] if not str(m.get("@odata.type", "")).endswith("group")
        ]
        for g in groups
        if g.get("isAssignableToRole")
    }
    # The Range derives its registration report from the methods users hold.
    holders = [
        str(line["userId"])
        for line in _lines(snapshot / "authenticationMethods.jsonl")
        if any(classify_method(m) is MethodKind.TEMPORARY_ACCESS_PASS for m in line["value"])
    ]
    manifest = json.loads((snapshot / "manifest.json").read_text())
    clock = str(manifest["collectedAt"])
    start = parse_time(clock)
    assert start is not None
    since = start - timedelta(days=7)  # the collector's default log window

    def recent(record: dict[str, Any], key: str) -> bool:
        when = parse_time(record.get(key))
        return when is not None and when >= since

    user_kinds = {"interactiveUser", "nonInteractiveUser"}
    logs = {
        "directoryAudits": sum(
            1 for r in _lines(snapshot / "directoryAudits.jsonl") if recent(r, "activityDateTime")
        ),
        "signIns": sum(
            1
            for r in _lines(snapshot / "signIns.jsonl")
            if recent(r, "createdDateTime")
            and user_kinds & set(r.get("signInEventTypes") or ["interactiveUser"])
        ),
    }
    size = TenantSize(
        counts={
            "users": len(users),
            "groups": len(groups),
            "servicePrincipals": len(sps),
            "userRegistrationDetails": len(users),
            **counts,
            **logs,
        },
        members=tuple(len(g["members"]) for g in groups),
        owners=tuple(len(g["owners"]) for g in groups),
        app_role_assignments=tuple(len(sp.get("appRoleAssignments") or []) for sp in sps),
        method_reads=len(method_candidates(principals, role_groups, holders)),
        default_pages={  # collections the plan reads without $top: the Range sends them in one page
            name: 10**9
            for name in (
                "roleDefinitions",
                "roleAssignments",
                "roleEligibilitySchedules",
                "roleAssignmentScheduleInstances",
                "roleManagementPolicies",
                "roleManagementPolicyAssignments",
                "conditionalAccessPolicies",
                "namedLocations",
                "authenticationStrengthPolicies",
            )
        },
    )
    admin = next(
        str(a["principalId"])
        for a in _values(snapshot / "roleAssignments.json")
        if a["roleDefinitionId"] == GLOBAL_ADMINISTRATOR and a.get("directoryScopeId", "/") == "/"
    )
    return size, admin, clock


def bench_collector(users: int, snapshot: Path) -> bool:
    state = _range(snapshot, users)
    size, admin, clock = _tenant_size(snapshot)
    token = (
        subprocess.run(
            [sys.executable, "-m", "graphlattice", "range", "token", "--state", str(state), "--as", admin],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    out = ROOT / "build" / f"bench-collect-{users}"
    with _serve(state) as url:
        # Let the endpoint build its views, then let every budget refill, so only the collector is measured.
        headers = {"Authorization": f"Bearer {token}"}
        httpx.get(f"{url}/v1.0/users?$top=1", headers=headers, timeout=600).raise_for_status()
        time.sleep(11)
        args = ["collect", "--base-url", url, "--token", token, "--out", str(out), "--force"]
        done = subprocess.run(
            [sys.executable, "-c", _COLLECT, *args, "--collected-at", clock],
            capture_output=True,
            text=True,
            check=False,
        )
    run = json.loads(done.stderr.strip().splitlines()[-1])
    if run["code"] != 0:
        print(done.stderr)
        return False
    stats = json.loads((out / ".collect-state.json").read_text())["stats"]
    floor = minimum_requests(size)
    made, least = int(stats["requests"]), floor.total_requests
    seconds, bound = float(run["seconds"]), floor.seconds(users)
    print(f"\ncollecting a {users:,}-user Range served with Graph's throttling budgets (--throttle):")
    print(f"  requests made / fewest the plan needs : {made:,} / {least:,} = {made / least:.3f}x", end="")
    print(" (goal <= 1.05x)")
    print(f"    by family                           : {stats['byFamily']} (fewest {floor.requests})")
    print(f"    reads inside $batch                 : {stats['batchedRequests']:,} in {stats['batches']:,}")
    print(f"  429s received                         : {stats['throttled']}")
    print(
        f"  wall time / throttle-bound minimum    : {seconds:.1f} s / {bound:.1f} s = {seconds / bound:.3f}x",
        end="",
    )
    print(" (goal <= 1.20x)")
    print(f"  collector peak memory                 : {run['peak_mib']:.0f} MiB")
    return made / least <= 1.05 and seconds / bound <= 1.2
