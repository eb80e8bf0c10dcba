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
from graphlattice.detect.ingest import FileReport, ingest_files, log_inputs
from graphlattice.detect.pack import LEVELS, LoadedRule, RulePack, load_pack
from graphlattice.detect.settings import DetectSettings, load_tickets
from graphlattice.detect.store import Store
from graphlattice.errors import LogError, UsageError

__all__ = [
    "ENGINES",
    "DetectionRun",
    "NotJudged",
    "RuleStatus",
    "SkippedRule",
    "export_parquet",
    "level_rank",
    "run_detection",
]

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
    file: str | None = None  # a rule given with --rules
    not_judged: int | None = None  # records the rule could not judge (and says why in ``note``)


@dataclass(frozen=True, slots=True)
class SkippedRule:
    """A rule file given with --rules that cannot run on the local engine, and why."""

    file: str
    title: str
    reason: str


@dataclass(frozen=True, slots=True)
class NotJudged:
    """Security-info registrations security-info-registered-without-mfa could not judge."""

    no_session: int  # no sign-in of the user began a session in the session window before it, in the logs
    undetermined: int  # its session sign-in does not say what it satisfied (v1.0, no enrolment interrupt)

    @property
    def total(self) -> int:
        return self.no_session + self.undetermined


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
    warnings: list[str] = field(default_factory=list)
    """What makes the answer partial (an incomplete collection): on stderr as warnings."""
    skipped_rules: list[SkippedRule] = field(default_factory=list)

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
                "files": [_file_json(f) for f in self.files],
                "rules": [
                    {
                        "rule": r.rule,
                        "title": r.title,
                        "level": r.level,
                        "incidents": r.incidents,
                        "active": r.active,
                        **({"note": r.note} if r.note else {}),
                        **({"file": r.file} if r.file else {}),
                        **({"notJudged": r.not_judged} if r.not_judged is not None else {}),
                    }
                    for r in self.rules
                ],
                "skippedRules": [
                    {"file": r.file, "title": r.title, "reason": r.reason} for r in self.skipped_rules
                ],
                "warnings": self.warnings,
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


def _file_json(f: FileReport) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "path": str(f.path),
        "kind": f.kind,
        "format": f.source,
        "records": f.records,
        "new": f.new,
        "duplicates": f.duplicates,
        "skippedLines": f.skipped,
    }
    if f.skipped_categories:
        doc["skippedCategories"] = f.skipped_categories
    if f.next_link:
        doc["nextLink"] = f.next_link
    if f.not_a_log:
        doc["notALog"] = f.not_a_log
    return doc


def _privileged(snapshot_dir: Path | None, progress: Progress) -> PrivilegedUsers:
    if snapshot_dir is None:
        return PrivilegedUsers(None, "role-assignment audit records in the logs")
    from graphlattice.entra.privileged import privileged_holders
    from graphlattice.tenant.snapshot import load_snapshot

    progress(f"Reading role holders from {snapshot_dir}")
    if not snapshot_dir.is_dir():
        raise UsageError(f"--snapshot {snapshot_dir} is not a folder")
    tenant = load_snapshot(snapshot_dir, with_logs=False)
    if not tenant.available.get("roleAssignments", True):
        source = f"role-assignment audit records (snapshot {snapshot_dir} has no role data)"
        return PrivilegedUsers(None, source)
    # The assessment's own answer (admins-risky-mfa); a holder the snapshot cannot resolve may be a user
    # it lacks, so it counts too rather than letting a pass issued to it go unnoticed.
    holders = privileged_holders(tenant)
    source = f"tenant snapshot {snapshot_dir}"
    if holders.unresolved:
        source += (
            f", {len(holders.unresolved):,} of them in no collection of the snapshot "
            f"({tenant.unresolved_hint()})"
        )
    return PrivilegedUsers(holders.user_ids_or_unresolved(), source)


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
    rules: Sequence[Path] = (),
    progress: Progress | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> DetectionRun:
    """Ingest ``logs`` (files, or folders of them, into ``db`` when given, else a fresh in-memory store)
    and run the rule pack, plus the Sigma rules in ``rules`` (files or folders: SigmaHQ's Azure rules, or
    rules over the canonical fields; those that cannot run here are listed in ``skipped_rules``).

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
    inputs, several = log_inputs(logs)
    pack = pack or load_pack()
    extra, skipped_rules = _extra_rules(rules, pack)
    if extra:
        pack = pack.with_rules(extra)
    tickets = load_tickets(tickets_path) if tickets_path is not None else None
    privileged = _privileged(snapshot_dir, say)
    with Store(db) as store:
        before = {t: store.count(t) for t in ("audits", "signins")}
        try:
            files = ingest_files(
                store,
                inputs,
                skip_bad_lines=skip_bad_lines,
                skip_non_logs=several,
                progress=lambda p: say(f"Reading {p.name}"),
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
        not_judged = _not_judged(store, settings)
        notes = _notes(store, files, report, settings, before, totals, not_judged)
        notes += _rule_notes(rules, extra, skipped_rules)
        if engine == "spark":
            where = f"Parquet in {parquet_dir}" if parquet_dir is not None else "Parquet (temporary)"
            notes.append(f"The rules ran on Spark ({spark_master}) over the event tables as {where}.")
        statuses = _rule_statuses(pack, matches, report, not_judged, {r.name for r in extra})
    return DetectionRun(
        incidents,
        statuses,
        files,
        notes,
        str(db) if db is not None else "memory",
        totals,
        report,
        settings,
        list(exported.values()),
        engine,
        _warnings(files),
        skipped_rules,
    )


def _extra_rules(paths: Sequence[Path], pack: RulePack) -> tuple[list[LoadedRule], list[SkippedRule]]:
    """The rules of ``paths`` that run here (named after their file unless they have a name), and the
    others with the reason."""
    if not paths:
        return [], []
    from graphlattice.detect.pipeline import load_community_rules, sigma_rule_files

    runnable: list[LoadedRule] = []
    skipped: list[SkippedRule] = []
    used = set(pack.rules)
    for found in load_community_rules(sigma_rule_files(paths)):
        if found.rule is None:
            reason = str(found.problem).removeprefix(f"rule {found.title!r}: ")
            skipped.append(SkippedRule(str(found.path), found.title, reason))
            continue
        sigma = found.rule.sigma
        name = sigma.name or found.path.stem
        if name in used:
            name = f"{name}-{str(sigma.id)[:8]}"
        used.add(name)
        runnable.append(LoadedRule(name, sigma, found.path))
    return runnable, skipped


def _rule_notes(paths: Sequence[Path], extra: list[LoadedRule], skipped: list[SkippedRule]) -> list[str]:
    if not paths:
        return []
    where = ", ".join(str(p) for p in paths)
    notes = [
        f"Ran {len(extra)} Sigma rule(s) from {where} next to the built-in pack"
        + (f"; {len(skipped)} cannot run here and were skipped:" if skipped else ".")
    ]
    notes += [f"skipped rule {Path(r.file).name} ({r.title}): {r.reason}" for r in skipped]
    return notes


def _warnings(files: Sequence[FileReport]) -> list[str]:
    return [
        f"{f.path.name} is an incomplete collection: its last page has @odata.nextLink "
        f"({_shorten(f.next_link, 70)}), so the records after it were never exported and the results cover "
        "only part of the period. Fetch the remaining pages (follow the link) and run again."
        for f in files
        if f.next_link
    ]


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


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


def _rule_statuses(
    pack: RulePack,
    matches: dict[str, list[Any]],
    report: EnrichReport,
    not_judged: NotJudged,
    extra: set[str],
) -> list[RuleStatus]:
    out = []
    for name in pack.alerting:
        rule = pack[name]
        active, note, unjudged = True, None, None
        if name == "tap-issued-without-ticket" and report.tickets is None:
            active, note = False, "inactive: no --tickets file was given"
        elif name == "security-info-registered-without-mfa":
            unjudged = not_judged.total
            if unjudged:
                note = f"did not judge {_not_judged_text(not_judged)}"
        elif name == "tap-issued-to-privileged-user":
            note = f"privileged users from {report.privileged_source} ({report.privileged_count:,})"
        file = str(rule.path) if name in extra else None
        count = len(matches.get(name, []))
        out.append(RuleStatus(name, rule.title, rule.level, count, active, note, file, unjudged))
    return out


def _not_judged_text(n: NotJudged) -> str:
    parts = []
    if n.no_session:
        parts.append(f"{n.no_session:,} with no sign-in session in the logs")
    if n.undetermined:
        parts.append(
            f"{n.undetermined:,} made in sessions whose sign-in has no authenticationRequirement or "
            "authenticationDetails (v1.0)"
        )
    return f"{n.total:,} security-info registration(s): " + " and ".join(parts)


def _not_judged(store: Store, settings: DetectSettings) -> NotJudged:
    """Successful registrations whose session security-info-registered-without-mfa cannot tell."""
    since = "AND time >= ?" if settings.since is not None else ""
    row = store.one(
        f"""SELECT count(*) FILTER (WHERE session_signin_id IS NULL),
                  count(*) FILTER (WHERE session_signin_id IS NOT NULL AND session_single_factor IS NULL)
           FROM audit_events
           WHERE lower(activity) IN ({_REGISTRATION_ACTIVITIES}) AND result = 'success' {since}""",
        [settings.since.replace(tzinfo=None)] if settings.since is not None else [],
    )
    return NotJudged(int(row[0]), int(row[1]))


def _notes(
    store: Store,
    files: list[FileReport],
    report: EnrichReport,
    settings: DetectSettings,
    before: dict[str, int],
    totals: dict[str, int],
    not_judged: NotJudged,
) -> list[str]:
    logs = [f for f in files if f.not_a_log is None]
    notes = []
    new = sum(f.new for f in logs)
    dups = sum(f.duplicates for f in logs)
    skipped = sum(f.skipped for f in logs)
    empty = [f.path.name for f in logs if f.empty]
    line = f"Read {len(logs)} file(s): {new:,} new records"
    if dups:
        line += f", {dups:,} already in the store or repeated (skipped)"
    if skipped:
        line += f", {skipped:,} unreadable records skipped (--skip-bad-lines)"
    if before["audits"] or before["signins"]:
        line += f"; the store held {before['audits'] + before['signins']:,} records before this run"
    notes.append(line + ".")
    others = [f for f in files if f.not_a_log is not None]
    if others:
        listed = "; ".join(f"{f.path.name} ({f.not_a_log})" for f in others)
        notes.append(f"Skipped {len(others)} file(s) that are not audit or sign-in logs: {listed}.")
    if empty:
        notes.append(f"Empty log file(s): {', '.join(empty)}.")
    categories: dict[str, int] = {}
    for f in logs:
        for name, count in f.skipped_categories.items():
            categories[name] = categories.get(name, 0) + count
    if categories:
        listed = ", ".join(f"{name} ({count:,})" for name, count in sorted(categories.items()))
        notes.append(
            "Diagnostic-settings records of categories detect does not read (neither audit nor sign-in "
            f"records) were skipped: {listed}."
        )
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
        notes.append(
            f"{report.signins_without_requirement:,} of {report.user_signins:,} user sign-ins have no "
            "authenticationRequirement (the v1.0 shape): security-info-registered-without-mfa cannot tell "
            "single- from multi-factor sessions there, except MFA-enrolment interrupts, which their error "
            "code names. Export beta sign-ins (/beta/auditLogs/signIns) or Sentinel SigninLogs to evaluate "
            "it."
        )
    if not_judged.total:
        notes.append(
            f"security-info-registered-without-mfa did not judge {_not_judged_text(not_judged)}"
            + (
                f" (no successful sign-in or MFA-enrolment interrupt of the user in the "
                f"{settings.session_minutes} minutes before, from that address: give the sign-in logs that "
                "cover them)"
                if not_judged.no_session
                else ""
            )
            + "."
        )
    if report.workload_signins:
        notes.append(
            f"{report.workload_signins:,} service-principal and managed-identity sign-ins: applications "
            "signing in with their own credential, with no user and no user authentication to judge; the "
            "built-in user rules leave them aside (rules given with --rules see them)."
        )
    if report.signins_without_details:
        notes.append(
            f"{report.signins_without_details:,} user sign-ins have no authenticationDetails: a Temporary "
            "Access Pass's use is inferred from a sign-in to My Signins or My Profile within "
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
