"""Benchmark of the Range's Graph endpoint: requests/s and latency under a bounded loopback load.

    python bench/server.py [--users 5000] [--requests 6000] [--concurrency 4]

A demo tenant of N users (a snapshot generated once and cached under build/) is seeded into a Range; the
endpoint runs in its own process (``graphlattice range serve``, as a user runs it) and one client process
sends
a fixed number of GET requests over a few keep-alive connections (httpx, asyncio), cycling through what a
Graph client reads: user pages, single users, a user's methods, groups, sign-ins, registration details,
Conditional Access and the methods policy. Goal on a 2-core machine: >= 500 requests/s with p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
GOAL_RPS = 500.0
GOAL_P99_MS = 50.0


def _snapshot(users: int) -> Path:
    target = ROOT / "build" / f"bench-demo-{users}"
    if not (target / "manifest.json").exists():
        print(f"generating a {users:,}-user demo snapshot in {target} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "graphlattice",
                "demo",
                "generate",
                str(target),
                "--users",
                str(users),
                "--seed",
                "7",
                "--force",
            ],
            check=True,
        )
    return target


def range_from_snapshot(snapshot: Path, state_dir: Path) -> None:
    """Seed a Range with a snapshot folder's collections (and its logs)."""
    from datetime import datetime

    from graphlattice.range.engine import Range
    from graphlattice.range.state import RangeState
    from graphlattice.tenant.collections import COLLECTIONS

    collections: dict[str, Any] = {}
    for name, spec in COLLECTIONS.items():
        path = snapshot / spec.filename
        if not path.exists():
            continue
        if spec.shape == "jsonl":
            collections[name] = [
                orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()
            ]
        else:
            collections[name] = orjson.loads(path.read_bytes())
    manifest = orjson.loads((snapshot / "manifest.json").read_bytes())
    now = datetime.fromisoformat(
        str(manifest.get("collectedAt", "2026-03-02T12:00:00Z")).replace("Z", "+00:00")
    )
    state = RangeState.from_collections(collections, now=now, seed=7, tenant_id=manifest.get("tenantId"))
    Range.seeded(state_dir, state, scenario_id="bench")


async def _load(
    base: str, token: str, paths: list[str], total: int, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30
    ) as client:
        for path in paths:  # warm-up: every view built once
            (await client.get(path)).raise_for_status()
        counter = iter(range(total))

        async def worker() -> None:
            for n in counter:
                path = paths[n % len(paths)]
                t0 = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies


def bench_server(users: int = 5000, requests: int = 6000, concurrency: int = 4) -> bool:
    import tempfile

    snapshot = _snapshot(users)
    with tempfile.TemporaryDirectory(prefix="graphlattice-bench-range-") as tmp:
        state_dir = Path(tmp) / "range"
        t0 = time.perf_counter()
        range_from_snapshot(snapshot, state_dir)
        seeded = time.perf_counter() - t0
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "graphlattice",
                "range",
                "serve",
                "--state",
                str(state_dir),
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert server.stdout is not None
            base = server.stdout.readline().strip()
            if not base.startswith("http"):
                raise RuntimeError("the endpoint did not start")
            from graphlattice.server.service import RangeService

            service = RangeService(state_dir)
            users_json = orjson.loads((snapshot / "users.json").read_bytes())["value"]
            token = service.token_for_user(_global_admin(service) or users_json[0]["userPrincipalName"])
            sample = [u["id"] for u in users_json[:: max(1, len(users_json) // 50)]]
            paths = [
                "/users?$top=100",
                "/groups?$top=100",
                "/auditLogs/signIns?$top=50",
                "/reports/authenticationMethods/userRegistrationDetails?$top=100",
                "/identity/conditionalAccess/policies",
                "/policies/authenticationMethodsPolicy",
            ]
            for uid in sample:
                paths += [f"/users/{uid}", f"/users/{uid}/authentication/methods"]
            wall, latencies = asyncio.run(_load(base, token, paths, requests, concurrency))
        finally:
            server.terminate()
            server.wait(timeout=10)
    latencies.sort()
    rps = len(latencies) / wall

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    p99 = pct(0.99)
    print(
        f"\nRange Graph endpoint, {users:,}-user tenant (seeded in {seeded:.1f} s), {requests:,} GETs over "
        f"{concurrency} keep-alive connections, server and client in separate processes:"
    )
    print(f"  throughput      : {rps:8.0f} requests/s   (goal >= {GOAL_RPS:.0f})")
    print(f"  latency p50     : {pct(0.50):8.1f} ms")
    print(f"  latency p99     : {p99:8.1f} ms           (goal <= {GOAL_P99_MS:.0f} ms)")
    print(f"  latency max     : {latencies[-1] * 1000:8.1f} ms")
    return rps >= GOAL_RPS and p99 <= GOAL_P99_MS


def _global_admin(service: Any) -> str | None:
    """A user holding Global Administrator (reads everything), if the tenant has one."""
    views = service.views()
    ga = "62e90394-69f5-4237-9190-012177145e10"
    for user in views.users:
        if ga in views.active_roles(str(user["id"])):
            return str(user["userPrincipalName"])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    ok = bench_server(args.users, args.requests, args.concurrency)
    print("\nendpoint goals met" if ok else "\nendpoint goals missed (see above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
