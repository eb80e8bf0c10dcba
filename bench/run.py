"""Benchmarks: print figures and ratios against baselines measured in the same run.

    python bench/run.py [--users 100000] [--repeat 3]

Assessment: a demo snapshot of N users is generated once (cached under build/), then, each in a fresh
process so memory figures are clean:
  * baseline — parse every file the loader reads with orjson, nothing else;
  * load     — graphlattice.tenant.snapshot.load_snapshot;
  * assess   — the whole catalogue over the loaded tenant.
Goal: (load + assess) <= 3x baseline, peak memory < 2 GiB.

Range Graph endpoint (bench/server.py): requests/s and p99 latency of ``graphlattice range serve`` over a
--server-users demo tenant under a bounded loopback load. Goal: >= 500 requests/s, p99 <= 50 ms.

Collector (bench/collector.py): the N-user demo tenant seeded into a Range, served with --throttle, collected
by ``graphlattice collect``: requests made / the fewest the plan needs (goal <= 1.05x), 429s received, wall
time / the throttle-bound minimum (goal <= 1.2x).

Detection (bench/detect.py): generated Graph sign-in and audit logs; DuckDB's own read_json of the files
against graphlattice's ingest (goal <= 1.5x), the whole rule pack after ingest (goal <= 10 s at 10M sign-ins
and 1M audits), peak memory (goal <= 4 GiB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector import bench_collector  # noqa: E402 - bench/collector.py, the collector benchmark

from detect import bench_detect  # noqa: E402 - bench/detect.py, the detection benchmark
from server import bench_server  # noqa: E402 - bench/server.py, the Range endpoint benchmark

_BASELINE = r"""
import json, resource, sys, time
from pathlib import Path
import orjson
root = Path(sys.argv[1])
t0 = time.perf_counter()
count = 0
for path in sorted(root.iterdir()):
    if path.suffix == ".json":
        orjson.loads(path.read_bytes()); count += 1
    elif path.suffix == ".jsonl":
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    orjson.loads(line)
        count += 1
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "files": count,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_ASSESS = r"""
import json, resource, sys, time
from graphlattice.checks.config import load_config, AssessConfig
from graphlattice.checks.engine import assess
from graphlattice.checks.registry import load_catalog
from graphlattice.tenant.snapshot import load_snapshot
load_catalog()
t0 = time.perf_counter()
tenant = load_snapshot(sys.argv[1])
t1 = time.perf_counter()
config = load_config(tenant.config_path) if tenant.config_path else AssessConfig()
result = assess(tenant, config)
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "assess": t2 - t1, "findings": len(result.findings),
                  "counts": result.counts(),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _snapshot(users: int) -> Path:
    target = ROOT / "build" / f"bench-demo-{users}"
    if not (target / "manifest.json").exists():
        print(f"generating a {users:,}-user demo snapshot in {target} ...", flush=True)
        t0 = time.perf_counter()
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
        print(f"  generated in {time.perf_counter() - t0:.1f} s")
    return target


def bench_assess(users: int, repeat: int) -> bool:
    snap = _snapshot(users)
    size = sum(p.stat().st_size for p in snap.iterdir()) / 2**20
    baselines = [_run(_BASELINE, str(snap)) for _ in range(repeat)]
    runs = [_run(_ASSESS, str(snap)) for _ in range(repeat)]
    base = min(float(b["seconds"]) for b in baselines)  # type: ignore[arg-type]
    best = min(runs, key=lambda r: float(r["load"]) + float(r["assess"]))  # type: ignore[arg-type]
    load, ev = float(best["load"]), float(best["assess"])  # type: ignore[arg-type]
    peak = max(float(r["peak_mib"]) for r in runs)  # type: ignore[arg-type]
    ratio = (load + ev) / base
    print(f"\nassessment of a {users:,}-user demo snapshot ({size:,.0f} MiB on disk), best of {repeat}:")
    print(f"  baseline orjson parse of the same files : {base:8.2f} s")
    print(f"  snapshot load                          : {load:8.2f} s")
    print(f"  full assessment ({best['findings']} findings)         : {ev:8.2f} s")
    print(f"  load + assess / baseline               : {ratio:8.2f} x   (goal <= 3.00 x)")
    print(f"  peak memory (load + assess process)    : {peak:8.0f} MiB (goal < 2048 MiB)")
    print(f"  statuses: {best['counts']}")
    return ratio <= 3.0 and peak < 2048


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--server-users", type=int, default=5000, help="tenant size for the endpoint benchmark"
    )
    args = parser.parse_args()
    ok = bench_assess(args.users, args.repeat)
    ok = bench_collector(args.users, _snapshot(args.users)) and ok
    ok = bench_server(args.server_users) and ok
    ok = bench_detect() and ok  # a tenth of the goals' scale; python bench/detect.py --full for all of it
    print("\nall goals met" if ok else "\nsome goals missed (see above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
