"""Detection benchmark: ingest and the rule pack over generated Graph sign-in and audit logs.

    python bench/detect.py [--signins N] [--audits N] [--full] [--memory-limit 3GB] [--spark]

Graph JSON Lines logs (``signIns.jsonl`` beta shape with authenticationDetails, ``directoryAudits.jsonl``)
are generated once, streamed to disk, and cached under build/bench-detect-<signins>-<audits>/. They hold a
tenant's ordinary month (users signing in from their usual places, now and then from new ones; group,
password, role and security-info changes) and a few planted Temporary Access Pass takeovers. Then, each in
a fresh process so its peak memory is its own, both on a DuckDB database file with the same memory limit:

  * raw     — DuckDB's own read_json of the same two files (schema auto-detected) into tables;
  * detect  — graphlattice: ingest (normalise into the store, deduplicate, and work out the history the
              enrichment needs), then a run: the run's enrichment settings, the whole rule pack and the
              incidents, as ``graphlattice detect --db FILE`` runs them.

Goals (issue 6), at 10 million sign-ins and 1 million audit records (``--full``): ingest within 1.5x of the
raw read, the pack <= 10 s after ingest, peak memory <= 4 GiB. The default scale is a tenth of that, which
finishes in a few minutes here. ``--spark`` also runs the pack on local Spark over the Parquet export and
checks it reports the same incidents (its JVM's memory is not in the figures).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
FULL_SIGNINS, FULL_AUDITS = 10_000_000, 1_000_000
GIB = 1024

# -- the generated tenant ------------------------------------------------------------------------------------

_COUNTRIES = [
    ("NL", "Amsterdam", "Noord-Holland"),
    ("BE", "Antwerp", "Antwerp"),
    ("DE", "Berlin", "Berlin"),
    ("GB", "London", "England"),
    ("FR", "Paris", "Ile-de-France"),
    ("US", "Seattle", "Washington"),
    ("PL", "Warsaw", "Mazowieckie"),
    ("ES", "Madrid", "Madrid"),
]
_FAR = [("SG", "Singapore", "Singapore"), ("BR", "Sao Paulo", "Sao Paulo"), ("NG", "Lagos", "Lagos")]
_APPS = [
    ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online", "Microsoft Outlook"),
    ("00000003-0000-0000-c000-000000000000", "Microsoft Graph", "Microsoft Teams"),
    ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online", "OneDrive SyncEngine"),
    ("797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API", "Azure Portal"),
]
_APP_IDS = {
    "Microsoft Outlook": "5d661950-3475-41cd-a2c3-d671a3162bc1",
    "Microsoft Teams": "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    "OneDrive SyncEngine": "ab9b8c07-8f02-4f72-87fa-80105867a763",
    "Azure Portal": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
}
_MY_SIGNINS = ("19db86c3-b2b9-44cc-b339-36da233a3be2", "My Signins")
_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 Edg/131.0.0.0"
)
_POLICIES = [
    ("75bf7eda-1c21-4ee2-9da7-f5757cc81192", "Require MFA for all users", ["Mfa"], "success"),
    ("17feee2c-7dfd-4e0e-b626-57f58e280b6c", "Require MFA to register security info", [], "notApplied"),
    ("3b12358e-e8eb-4348-ac7f-47bbec4f4355", "Block legacy authentication", [], "notApplied"),
]
_PIM_ADMIN = "62e90394-69f5-4237-9190-012177145e10"  # Global Administrator


class Tenant:
    """Users with their usual places, admins, and a deterministic random stream."""

    def __init__(self, users: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.users = []
        for n in range(users):
            country = _COUNTRIES[n % len(_COUNTRIES)]
            self.users.append(
                {
                    "id": self.uuid(),
                    "upn": f"user{n:07d}@contoso-bench.example",
                    "name": f"User {n:07d}",
                    "place": country,
                    "ips": [self.ip(n, 0), self.ip(n, 1)],
                    "device": f"CONTOSO-LT{n:07d}",
                }
            )
        self.admins = self.users[:20]

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    @staticmethod
    def ip(n: int, k: int) -> str:
        return f"10.{(n >> 8) & 255}.{n & 255}.{10 + k}"

    def when(self) -> datetime:
        return START + timedelta(seconds=self.rng.random() * DAYS * 86_400)


def _ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def signin(t: Tenant, user: dict[str, Any], when: datetime, **over: Any) -> dict[str, Any]:
    rng = t.rng
    resource_id, resource_name, app = _APPS[rng.randrange(len(_APPS))]
    ip, place = user["ips"][rng.random() < 0.3], user["place"]
    roll = rng.random()
    if roll < 0.01:
        place = _FAR[rng.randrange(len(_FAR))]
        ip = f"198.51.100.{rng.randrange(1, 255)}"
    elif roll < 0.05:
        ip = f"203.0.113.{rng.randrange(1, 255)}"
    error = 0 if rng.random() < 0.93 else (50126 if rng.random() < 0.7 else 50074)
    interactive = rng.random() < 0.4
    mfa = rng.random() < 0.7
    steps = [{"authenticationMethod": "Password", "succeeded": error != 50126}]
    if mfa and error == 0:
        steps.append({"authenticationMethod": "Authenticator App", "succeeded": True})
    record = {
        "id": t.uuid(),
        "createdDateTime": _ts(when),
        "userDisplayName": user["name"],
        "userPrincipalName": user["upn"],
        "userId": user["id"],
        "appId": _APP_IDS[app],
        "appDisplayName": app,
        "ipAddress": ip,
        "clientAppUsed": "Browser" if interactive else "Mobile Apps and Desktop clients",
        "correlationId": t.uuid(),
        "conditionalAccessStatus": "success" if error == 0 else "notApplied",
        "isInteractive": interactive,
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "resourceDisplayName": resource_name,
        "resourceId": resource_id,
        "userAgent": _AGENT,
        "status": {"errorCode": error, "failureReason": "Other." if error == 0 else "Invalid password"},
        "deviceDetail": {
            "deviceId": "",
            "displayName": user["device"],
            "operatingSystem": "Windows10",
            "browser": "Edge 131.0.0",
            "isCompliant": True,
            "isManaged": True,
            "trustType": "Azure AD joined",
        },
        "location": {"city": place[1], "state": place[2], "countryOrRegion": place[0]},
        "appliedConditionalAccessPolicies": [
            {"id": p[0], "displayName": p[1], "enforcedGrantControls": p[2], "result": p[3]}
            for p in _POLICIES
        ],
        "authenticationRequirement": "multiFactorAuthentication" if mfa else "singleFactorAuthentication",
        "signInEventTypes": ["interactiveUser" if interactive else "nonInteractiveUser"],
        "userType": "member",
        "authenticationDetails": steps,
    }
    record.update(over)
    return record


def _actor(user: dict[str, Any], ip: str | None = None) -> dict[str, Any]:
    return {
        "user": {
            "id": user["id"],
            "displayName": user["name"],
            "userPrincipalName": user["upn"],
            "ipAddress": ip or user["ips"][0],
        },
        "app": None,
    }


def _target(user: dict[str, Any], props: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "id": user["id"],
        "displayName": user["name"],
        "type": "User",
        "userPrincipalName": user["upn"],
        "modifiedProperties": props or [],
    }


def audit(
    t: Tenant,
    when: datetime,
    activity: str,
    service: str,
    actor: dict[str, Any],
    targets: list[dict[str, Any]],
    reason: str = "",
    category: str = "UserManagement",
    operation: str = "Update",
) -> dict[str, Any]:
    return {
        "id": f"{service}_{t.uuid()}",
        "category": category,
        "correlationId": t.uuid(),
        "result": "success",
        "resultReason": reason,
        "activityDisplayName": activity,
        "activityDateTime": _ts(when),
        "loggedByService": service,
        "operationType": operation,
        "initiatedBy": actor,
        "targetResources": targets,
        "additionalDetails": [],
    }


def tap_issued(t: Tenant, when: datetime, admin: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    def prop(name: str, value: str) -> dict[str, str]:
        return {"displayName": f"TemporaryAccessPass.{name}", "oldValue": '""', "newValue": f'"{value}"'}

    props = [
        prop("Id", t.uuid()),
        prop("StartDateTime", _ts(when)),
        prop("EndDateTime", _ts(when + timedelta(hours=8))),
        prop("AccessPassUsage", "Multiple"),
    ]
    return audit(
        t,
        when,
        "Admin registered security info",
        "Authentication Methods",
        _actor(admin),
        [_target(user, props)],
        "Admin registered temporary access pass method for user",
        operation="Add",
    )


def ordinary_audit(t: Tenant) -> dict[str, Any]:
    rng = t.rng
    user = t.users[rng.randrange(len(t.users))]
    admin = t.admins[rng.randrange(len(t.admins))]
    when = t.when()
    roll = rng.random()
    if roll < 0.40:
        prop = {"displayName": "Department", "oldValue": '["Sales"]', "newValue": '["Finance"]'}
        return audit(t, when, "Update user", "Core Directory", _actor(admin), [_target(user, [prop])])
    if roll < 0.65:
        group = {"id": t.uuid(), "displayName": "All staff", "type": "Group", "modifiedProperties": []}
        return audit(
            t,
            when,
            "Add member to group",
            "Core Directory",
            _actor(admin),
            [_target(user), group],
            "",
            "GroupManagement",
        )
    if roll < 0.80:
        return audit(
            t, when, "Reset user password", "Self-service Password Management", _actor(user), [_target(user)]
        )
    if roll < 0.95:
        return audit(
            t,
            when,
            "User registered security info",
            "Authentication Methods",
            _actor(user),
            [_target(user)],
            "User registered Authenticator App with Notification and Code",
            operation="Add",
        )
    if roll < 0.99:
        return tap_issued(t, when, admin, user)  # everyday onboarding: no sign-in from a new place follows
    role = {"displayName": "Role.TemplateId", "oldValue": '""', "newValue": f'"{_PIM_ADMIN}"'}
    return audit(
        t,
        when,
        "Add member to role completed (PIM activation)",
        "PIM",
        {"user": None, "app": {"appId": None, "displayName": "MS-PIM", "servicePrincipalId": None}},
        [_target(admin, [role])],
        "Activation",
        "RoleManagement",
        "Add",
    )


def planted(t: Tenant, n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``n`` takeovers: a pass issued, used from far away, an Authenticator registered minutes later."""
    audits, signins = [], []
    for k in range(n):
        user = t.users[len(t.admins) + t.rng.randrange(len(t.users) - len(t.admins))]
        admin = t.admins[k % len(t.admins)]
        when = START + timedelta(days=20 + k % 9, hours=k % 24)
        audits.append(tap_issued(t, when, admin, user))
        far = _FAR[k % len(_FAR)]
        ip = f"192.0.2.{k % 250 + 1}"
        signins.append(
            signin(
                t,
                user,
                when + timedelta(minutes=12),
                appId=_MY_SIGNINS[0],
                appDisplayName=_MY_SIGNINS[1],
                ipAddress=ip,
                status={"errorCode": 0, "failureReason": "Other."},
                location={"city": far[1], "state": far[2], "countryOrRegion": far[0]},
                authenticationDetails=[{"authenticationMethod": "Temporary Access Pass", "succeeded": True}],
            )
        )
        audits.append(
            audit(
                t,
                when + timedelta(minutes=15),
                "User registered security info",
                "Authentication Methods",
                _actor(user, ip),
                [_target(user)],
                "User registered Authenticator App with Notification and Code",
                operation="Add",
            )
        )
    return audits, signins


def generate(target: Path, signins: int, audits: int, seed: int = 11) -> Path:
    """Write (once) the logs for this scale; return their folder."""
    done = target / "done.json"
    if done.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    print(f"generating {signins:,} sign-ins and {audits:,} audit records in {target} ...", flush=True)
    t0 = time.perf_counter()
    tenant = Tenant(max(1_000, signins // 100), seed)
    attacks = max(5, audits // 100_000 * 5)
    extra_audits, extra_signins = planted(tenant, attacks)
    users = tenant.users
    for name, count, make, extra in (
        (
            "signIns.jsonl",
            signins,
            lambda: signin(tenant, users[tenant.rng.randrange(len(users))], tenant.when()),
            extra_signins,
        ),
        ("directoryAudits.jsonl", audits, lambda: ordinary_audit(tenant), extra_audits),
    ):
        with (target / name).open("wb") as fh:
            batch: list[bytes] = [orjson.dumps(r) for r in extra]
            for i in range(count - len(extra)):
                batch.append(orjson.dumps(make()))
                if len(batch) >= 50_000:
                    fh.write(b"\n".join(batch) + b"\n")
                    batch.clear()
                if i and i % 1_000_000 == 0:
                    print(f"  {name}: {i:,} ...", flush=True)
            if batch:
                fh.write(b"\n".join(batch) + b"\n")
    size = sum(p.stat().st_size for p in target.glob("*.jsonl")) / 2**20
    meta = {"signins": signins, "audits": audits, "attacks": attacks, "mib": size}
    done.write_text(json.dumps(meta))
    print(f"  generated {size:,.0f} MiB in {time.perf_counter() - t0:.1f} s")
    return target


# -- steps, each run in a fresh process ----------------------------------------------------------------------


def _peak_mib() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (ru_maxrss carries over the
    peak of the benchmark process that started this one)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh(path: Path) -> Path:
    for p in (path, path.with_name(path.name + ".wal"), path.with_name(path.name + ".tmp")):
        if p.is_dir():
            import shutil

            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    return path


def step_raw(logs: Path, db: Path, memory_limit: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(_fresh(db)))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    t0 = time.perf_counter()
    for table, name in (("audits", "directoryAudits.jsonl"), ("signins", "signIns.jsonl")):
        path = str(logs / name).replace("'", "''")
        con.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_json('{path}', format = 'newline_delimited')"
        )
    loaded = time.perf_counter() - t0
    rows = sum(int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in ("audits", "signins"))  # type: ignore[index]
    con.close()
    return {"seconds": loaded, "rows": rows, "peak_mib": _peak_mib()}


def step_detect(logs: Path, db: Path, memory_limit: str) -> dict[str, Any]:
    from graphlattice.detect.engine import run_pack
    from graphlattice.detect.enrich import PrivilegedUsers, enrich
    from graphlattice.detect.incidents import build_incidents
    from graphlattice.detect.ingest import ingest_files
    from graphlattice.detect.pack import load_pack
    from graphlattice.detect.settings import DetectSettings
    from graphlattice.detect.store import Store

    pack, settings = load_pack(), DetectSettings()
    with Store(_fresh(db)) as store:
        store.con.execute(f"SET memory_limit = '{memory_limit}'")
        t0 = time.perf_counter()
        ingest_files(store, [logs / "directoryAudits.jsonl", logs / "signIns.jsonl"])
        t1 = time.perf_counter()
        enrich(store, settings, PrivilegedUsers(None, "role-assignment audit records"))
        t2 = time.perf_counter()
        matches = run_pack(store, pack, settings)
        t3 = time.perf_counter()
        incidents = build_incidents(store, pack, matches, settings)
        t4 = time.perf_counter()
        rows = store.count("audits") + store.count("signins")
    per_rule = {name: len(found) for name, found in matches.items()}
    return {
        "ingest": t1 - t0,
        "enrich": t2 - t1,
        "rules": t3 - t2,
        "incidents": t4 - t3,
        "rows": rows,
        "matches": per_rule,
        "incident_ids": sorted(i.id for i in incidents),
        "peak_mib": _peak_mib(),
    }


def step_spark(db: Path, parquet: Path) -> dict[str, Any]:
    from graphlattice.detect.engine import run_pack
    from graphlattice.detect.enrich import PrivilegedUsers, enrich
    from graphlattice.detect.incidents import build_incidents
    from graphlattice.detect.pack import load_pack
    from graphlattice.detect.run import export_parquet
    from graphlattice.detect.settings import DetectSettings
    from graphlattice.detect.spark import SparkEvents, check_spark, start_session
    from graphlattice.detect.store import Store

    check_spark()
    pack, settings = load_pack(), DetectSettings()
    with Store(db) as store:
        t0 = time.perf_counter()
        enrich(store, settings, PrivilegedUsers(None, "role-assignment audit records"))  # per connection
        files = export_parquet(store, parquet)
        t1 = time.perf_counter()
    session = start_session("local[*]", {"spark.driver.memory": "3g"})
    t2 = time.perf_counter()
    with SparkEvents(files) as events:
        run_pack(events, pack, settings)  # a first pass warms the JVM (code generation, file listing)
        t3 = time.perf_counter()
        matches = run_pack(events, pack, settings)
        incidents = build_incidents(events, pack, matches, settings)
        t4 = time.perf_counter()
    session.stop()
    return {
        "export": t1 - t0,
        "start": t2 - t1,
        "first": t3 - t2,
        "pack": t4 - t3,
        "incident_ids": sorted(i.id for i in incidents),
    }


def _step(name: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--step", name, *args], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench step {name} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bench_detect(
    signins: int = FULL_SIGNINS // 10,
    audits: int = FULL_AUDITS // 10,
    memory_limit: str = "3GB",
    spark: bool = False,
) -> bool:
    logs = generate(ROOT / "build" / f"bench-detect-{signins}-{audits}", signins, audits)
    size = json.loads((logs / "done.json").read_text())["mib"]
    work = ROOT / "build" / "bench-detect-work"
    work.mkdir(parents=True, exist_ok=True)
    raw = _step("raw", str(logs), str(work / "raw.duckdb"), memory_limit)
    ours = _step("detect", str(logs), str(work / "store.duckdb"), memory_limit)
    _fresh(work / "raw.duckdb")
    ingest_ratio = ours["ingest"] / raw["seconds"]
    pack = ours["enrich"] + ours["rules"] + ours["incidents"]
    peak = max(raw["peak_mib"], ours["peak_mib"])
    full = signins >= FULL_SIGNINS and audits >= FULL_AUDITS
    rules = len(ours["matches"])
    print(
        f"\ndetection over {signins:,} sign-ins and {audits:,} audit records ({size:,.0f} MiB of JSON Lines)"
    )
    print(f"(DuckDB database files, memory_limit {memory_limit}; goals are for 10M sign-ins and 1M audits):")
    rows = [
        ("DuckDB raw read_json into tables", f"{raw['seconds']:8.2f} s  ({raw['rows']:,} rows)"),
        ("ingest (normalise, dedupe, history)", f"{ours['ingest']:8.2f} s  ({ours['rows']:,} records)"),
        ("ingest / raw read_json", f"{ingest_ratio:8.2f} x   (goal <= 1.50 x)"),
        (f"a run: enrichment, {rules} rules, incidents", f"{pack:8.2f} s   (goal <= 10 s)"),
        ("peak memory, raw read_json", f"{raw['peak_mib']:8.0f} MiB"),
        ("peak memory, graphlattice", f"{ours['peak_mib']:8.0f} MiB (goal <= 4096 MiB)"),
    ]
    for label, value in rows:
        print(f"  {label:<44}: {value}")
    print(
        f"  (enrichment {ours['enrich']:.2f} s, rules {ours['rules']:.2f} s, "
        f"incidents {ours['incidents']:.2f} s; matches {ours['matches']})"
    )
    ok = ingest_ratio <= 1.5 and pack <= 10 and peak <= 4 * GIB
    if spark:
        on_spark = _step("spark", str(work / "store.duckdb"), str(work / "parquet"))
        same = on_spark["incident_ids"] == ours["incident_ids"]
        print(
            f"  Spark (local[*]): Parquet export {on_spark['export']:.2f} s, "
            f"session {on_spark['start']:.1f} s, first pack {on_spark['first']:.1f} s,"
        )
        print(f"    pack and incidents {on_spark['pack']:.2f} s; the same incidents as DuckDB: {same}")
        ok = ok and same
    if not full:
        print("  (a smaller scale than the goals' own: run with --full for 10M sign-ins and 1M audits)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signins", type=int, default=FULL_SIGNINS // 10)
    parser.add_argument("--audits", type=int, default=FULL_AUDITS // 10)
    parser.add_argument("--full", action="store_true", help="10 million sign-ins and 1 million audit records")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit for both sides")
    parser.add_argument("--spark", action="store_true", help="also run the pack on local Spark")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        steps = {"raw": step_raw, "detect": step_detect, "spark": step_spark}
        params = [Path(a) for a in args.args[:2]] + args.args[2:]
        print(json.dumps(steps[args.step](*params)))
        return 0
    if args.full:
        args.signins, args.audits = FULL_SIGNINS, FULL_AUDITS
    ok = bench_detect(args.signins, args.audits, args.memory_limit, args.spark)
    print("\nall goals met" if ok else "\nsome goals missed (see above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
