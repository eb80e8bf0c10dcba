"""One detection run: ingest the logs, enrich, run the pack, build incidents, say what could not be judged.

The pack runs on DuckDB (the store itself) or, with ``engine="spark"``, on Spark over the event tables
exported to Parquet (:mod:`.spark`); ingest, enrichment and the run summary are the same either way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphlattice.detect.engine import EventSource, run_pack
from graphlattice.detect.enrich import EnrichReport, PrivilegedUsers, enrich
from graphlattice.detect.fields import AUDIT, EVENT_TABLES, SIGNIN
from graphlattice.detect.incidents import Incident, build_incidents, iso
from graphlattice.detect.ingest import FileReport, ingest_files
from graphlattice.detect.pack import LEVELS, RulePack, load_pack
from graphlattice.detect.settings import DetectSettings, load_tickets
from graphlattice.detect.store import Store
from graphlattice.errors import LogError, UsageError

__all__ = ["ENGINES", "DetectionRun", "RuleStatus", "export_parquet", "level_rank", "run_detection"]

ENGINES = ("duckdb", "spark")
"""Where the rule pack can run."""

Progress = Callable[[str], None]

_REGISTRATION_ACTIVITIES = (
    "'user registered security info', 'add passwordless phone sign-in credential', "
    "'add fido2 security key', 'add windows hello for business credential'"
)


def level_rank(level: str) -> int:
    """Sigma levels in order; ``info`` is accepted for ``informational``."""
    name = "informational" if level == "info" else level
    if name not in LEVELS:
        raise UsageError(f"unknown level {level!r} (choose from {', '.join(LEVELS)})")
    return LEVELS.index(name)


@dataclass(frozen=True, slots=True)
class RuleStatus:
    rule: str
    title: str
    level: str
    incidents: int
    active: bool
    note: str | None = None


@dataclass(slots=True)
class DetectionRun:
    incidents: list[Incident]
    rules: list[RuleStatus]
    files: list[FileReport]
    notes: list[str]
    store: str
    totals: dict[str, int]
    enrichment: EnrichReport
    settings: DetectSettings
    parquet: list[Path] = field(default_factory=list)
    engine: str = "duckdb"

    def at_or_above(self, level: str) -> list[Incident]:
        rank = level_rank(level)
        return [i for i in self.incidents if i.rank >= rank]

    def to_json(self) -> dict[str, Any]:
        s = self.settings
        return {
            "incidents": [i.to_json() for i in self.incidents],
            "summary": {
                "store": self.store,
                "engine": self.engine,
                "records": self.totals,
                "files": [
                    {
                        "path": str(f.path),
                        "kind": f.kind,
                        "format": f.source,
                        "records": f.records,
                        "new": f.new,
                        "duplicates": f.duplicates,
                        "skippedLines": f.skipped,
                    }
                    for f in self.files
                ],
                "rules": [
                    {
                        "rule": r.rule,
                        "title": r.title,
                        "level": r.level,
                        "incidents": r.incidents,
                        "active": r.active,
                        **({"note": r.note} if r.note else {}),
                    }
                    for r in self.rules
                ],
                "privilegedUsers": {
                    "source": self.enrichment.privileged_source,
                    "count": self.enrichment.privileged_count,
                },
                "notes": self.notes,
                "settings": {
                    "lookbackDays": s.lookback_days,
                    "windowMinutes": s.window_minutes,
                    "workingHours": f"{s.working_start.strftime('%H:%M')}-{s.working_end.strftime('%H:%M')}",
                    "timezone": s.timezone,
                    "since": iso(s.since),
                },
                "parquet": [str(p) for p in self.parquet],
            },
        }


def _privileged(snapshot_dir: Path | None, progress: Progress) -> PrivilegedUsers:
    if snapshot_dir is None:
        return PrivilegedUsers(None, "role-assignment audit records in the logs")
    from graphlattice.entra.roles import is_privileged
    from graphlattice.tenant.snapshot import load_snapshot

    progress(f"Reading role holders from {snapshot_dir}")
    if not snapshot_dir.is_dir():
        raise UsageError(f"--snapshot {snapshot_dir} is not a folder")
    tenant = load_snapshot(snapshot_dir, with_logs=False)
    ids = frozenset(g.principal_id.lower() for g in tenant.role_grants if is_privileged(g.role_id))
    if not tenant.available.get("roleAssignments", True):
        source = f"role-assignment audit records (snapshot {snapshot_dir} has no role data)"
        return PrivilegedUsers(None, source)
    return PrivilegedUsers(ids, f"tenant snapshot {snapshot_dir}")


def run_detection(
    logs: Sequence[Path],
    *,
    settings: DetectSettings | None = None,
    db: Path | None = None,
    parquet_dir: Path | None = None,
    snapshot_dir: Path | None = None,
    tickets_path: Path | None = None,
    skip_bad_lines: bool = False,
    pack: RulePack | None = None,
    progress: Progress | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> DetectionRun:
    """Ingest ``logs`` (into ``db`` when given, else a fresh in-memory store) and run the rule pack.

    ``engine="spark"`` runs the pack on Spark (``spark_master``, default ``local[*]``; an active session
    is used as it is) over the event tables written to ``parquet_dir``, or to a temporary folder.
    """
    settings = settings or DetectSettings()
    say = progress or (lambda _message: None)
    if not logs:
        raise UsageError("give at least one log file")
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if spark_master is not None and engine != "spark":
        raise UsageError("--spark-master goes with --engine spark")
    if engine == "spark":
        from graphlattice.detect.spark import DEFAULT_MASTER, check_spark, is_local_master

        spark_master = spark_master or DEFAULT_MASTER
        if not is_local_master(spark_master) and parquet_dir is None:
            raise UsageError(
                f"--spark-master {spark_master} needs --parquet DIR: a folder every Spark executor can read"
            )
        check_spark()
    pack = pack or load_pack()
    tickets = load_tickets(tickets_path) if tickets_path is not None else None
    privileged = _privileged(snapshot_dir, say)
    with Store(db) as store:
        before = {t: store.count(t) for t in ("audits", "signins")}
        try:
            files = ingest_files(
                store, logs, skip_bad_lines=skip_bad_lines, progress=lambda p: say(f"Reading {p.name}")
            )
        except LogError as exc:
            if db is not None:
                kept = store.count("audits") + store.count("signins")
                message = f"{_message(exc)} (the {kept:,} records already in {db} are kept)"
                raise LogError(exc.path, message, exc.line) from None
            raise
        say("Enriching")
        report = enrich(store, settings, privileged, tickets)
        exported = export_parquet(store, parquet_dir) if parquet_dir is not None else {}
        with _rule_source(store, engine, spark_master, exported, say) as source:
            say("Running the rules" + (f" on Spark ({spark_master})" if engine == "spark" else ""))
            matches = run_pack(source, pack, settings)
            incidents = build_incidents(source, pack, matches, settings, _risk_titles())
        totals = {"audit": store.count("audits"), "signin": store.count("signins")}
        notes = _notes(store, files, report, settings, before, totals)
        if engine == "spark":
            where = f"Parquet in {parquet_dir}" if parquet_dir is not None else "Parquet (temporary)"
            notes.append(f"The rules ran on Spark ({spark_master}) over the event tables as {where}.")
        rules = _rule_statuses(pack, matches, report)
    return DetectionRun(
        incidents,
        rules,
        files,
        notes,
        str(db) if db is not None else "memory",
        totals,
        report,
        settings,
        list(exported.values()),
        engine,
    )


@contextmanager
def _rule_source(
    store: Store, engine: str, master: str | None, exported: dict[str, Path], say: Progress
) -> Iterator[EventSource]:
    """The store itself, or Spark over its event tables in Parquet (exported here if not already)."""
    if engine != "spark":
        yield store
        return
    from graphlattice.detect.spark import DEFAULT_MASTER, SparkEvents

    with tempfile.TemporaryDirectory(prefix="graphlattice-spark-") as scratch:
        files = exported or export_parquet(store, Path(scratch))
        say("Starting Spark")
        with SparkEvents(files, master or DEFAULT_MASTER) as source:
            yield source


def _message(exc: LogError) -> str:
    text = str(exc)
    prefix = f"{exc.path}:{exc.line}: " if exc.line is not None else f"{exc.path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _risk_titles() -> dict[str, str]:
    from graphlattice.checks.registry import load_catalog

    return {rid: risk.article.title for rid, risk in load_catalog().items()}


def _rule_statuses(pack: RulePack, matches: dict[str, list[Any]], report: EnrichReport) -> list[RuleStatus]:
    out = []
    for name in pack.alerting:
        rule = pack[name]
        active, note = True, None
        if name == "tap-issued-without-ticket" and report.tickets is None:
            active, note = False, "inactive: no --tickets file was given"
        elif name == "security-info-registered-without-mfa" and report.signins_without_requirement:
            note = (
                f"blind for {report.signins_without_requirement:,} sign-ins without "
                "authenticationRequirement (v1.0)"
            )
        elif name == "tap-issued-to-privileged-user":
            note = f"privileged users from {report.privileged_source} ({report.privileged_count:,})"
        out.append(RuleStatus(name, rule.title, rule.level, len(matches.get(name, [])), active, note))
    return out


def _notes(
    store: Store,
    files: list[FileReport],
    report: EnrichReport,
    settings: DetectSettings,
    before: dict[str, int],
    totals: dict[str, int],
) -> list[str]:
    notes = []
    new = sum(f.new for f in files)
    dups = sum(f.duplicates for f in files)
    skipped = sum(f.skipped for f in files)
    empty = [f.path.name for f in files if f.kind is None]
    line = f"Read {len(files)} file(s): {new:,} new records"
    if dups:
        line += f", {dups:,} already in the store or repeated (skipped)"
    if skipped:
        line += f", {skipped:,} unreadable records skipped (--skip-bad-lines)"
    if before["audits"] or before["signins"]:
        line += f"; the store held {before['audits'] + before['signins']:,} records before this run"
    notes.append(line + ".")
    if empty:
        notes.append(f"Empty log file(s): {', '.join(empty)}.")
    if not totals["signin"]:
        notes.append(
            "No sign-in records: rules that need TAP use or new places (tap-bootstrapped-persistence) "
            "cannot fire."
        )
    if not totals["audit"]:
        notes.append("No audit records: rules over issuances, registrations and role changes cannot fire.")
    privileged = f"{report.privileged_source} ({report.privileged_count:,} users)"
    notes.append(f"Privileged users come from {privileged}.")
    if report.tickets is None:
        notes.append("tap-issued-without-ticket is inactive: no --tickets file was given.")
    else:
        notes.append(
            f"{report.tickets:,} tickets read; a pass with no ticket for its user around that time alerts."
        )
    if report.signins_without_requirement:
        row = store.one(
            f"""SELECT count(*) FROM audit_events
                WHERE lower(activity) IN ({_REGISTRATION_ACTIVITIES}) AND result = 'success'
                  AND session_signin_id IS NOT NULL AND session_auth_requirement IS NULL"""
        )
        notes.append(
            f"{report.signins_without_requirement:,} of {report.signins:,} sign-ins have no "
            "authenticationRequirement (the v1.0 shape): security-info-registered-without-mfa cannot "
            "tell single- from multi-factor sessions there, so it did not judge "
            f"{int(row[0]):,} registration(s) made in such sessions. Export beta sign-ins "
            "(/beta/auditLogs/signIns) or Sentinel SigninLogs to evaluate it."
        )
    if report.signins_without_details:
        notes.append(
            f"{report.signins_without_details:,} sign-ins have no authenticationDetails: a Temporary Access "
            "Pass's use is inferred from a sign-in to My Signins or My Profile within "
            f"{settings.tap_signin_minutes} minutes of its issuance "
            f"({report.tap_signins_inferred:,} such sign-ins)."
        )
    if settings.since is not None:
        notes.append(
            f"Only incidents ending at or after {iso(settings.since)} are reported; older records served "
            "as history."
        )
    return notes


def export_parquet(store: Store, directory: Path) -> dict[str, Path]:
    """Write the event tables (``audit_events.parquet``, ``signin_events.parquet``) into ``directory``."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from None
    out = {}
    for kind in (AUDIT, SIGNIN):
        table = EVENT_TABLES[kind]
        target = directory / f"{table}.parquet"
        path_sql = "'" + str(target).replace("'", "''") + "'"
        store.con.execute(f"COPY {table} TO {path_sql} (FORMAT parquet)")
        out[kind] = target
    return out
