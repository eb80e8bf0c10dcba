"""Enrichment: the facts Sigma cannot express, as fields the rules match.

What needs history (earlier sign-ins of a user, the session behind an action) is worked out at ingest and
kept in the store (:mod:`graphlattice.detect.history`). Per run, this module applies the run's settings to
it: ``signin_events`` is a view over ``signins`` (look-back window, working hours, the Temporary Access Pass
links of a small candidates table), and ``audit_events`` a table built from ``audits`` (session length,
privileged targets, tickets, PIM approvals). Everything is a window function, an ASOF join or a hash join —
never a loop over records. What each field means is documented in :mod:`graphlattice.detect.fields`.

Inputs beyond the logs: the privileged users (a tenant snapshot's role holders, else whoever a
role-assignment audit record put into a privileged role) and, optionally, tickets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

import duckdb

from graphlattice.detect.factors import single_factor_sql
from graphlattice.detect.fields import AUDIT, SIGNIN, event_columns
from graphlattice.detect.settings import DetectSettings, Ticket
from graphlattice.detect.store import Store
from graphlattice.entra.roles import ROLE_CATALOG
from graphlattice.errors import UsageError

__all__ = ["SECURITY_INFO_APPS", "WORKLOAD_EVENT_TYPES", "EnrichReport", "PrivilegedUsers", "enrich"]

SECURITY_INFO_APPS = (
    "19db86c3-b2b9-44cc-b339-36da233a3be2",  # My Signins (security-info registration)
    "8c59ead7-d703-4a27-9e55-c96a0054c8d2",  # My Profile
)
"""Apps a user signs in to in order to register security info."""

TAP_ISSUANCE_SQL = (
    "method_type = 'temporaryAccessPass' AND coalesce(result, 'success') = 'success' "
    "AND (activity ILIKE '%registered security info%' OR activity ILIKE 'create%temporary access pass%')"
)
"""Audit records that issued a Temporary Access Pass (the pass's properties are on the record)."""


@dataclass(frozen=True, slots=True)
class PrivilegedUsers:
    """Who counts as privileged, and where that came from (for the run summary)."""

    user_ids: frozenset[str] | None
    """Lower-case object ids from a snapshot; None means: derive from role-assignment audit records."""
    source: str


WORKLOAD_EVENT_TYPES = ("servicePrincipal", "managedIdentity")
"""Sign-in event types of an application signing in as itself: no user, no user authentication."""


@dataclass(frozen=True, slots=True)
class EnrichReport:
    privileged_source: str
    privileged_count: int
    user_signins: int
    """Sign-ins of users (interactive or not); the counts below are of these."""
    signins_without_requirement: int
    signins_without_details: int
    workload_signins: int
    """Service-principal and managed-identity sign-ins."""
    tap_signins: int
    tap_signins_inferred: int
    tickets: int | None


def _interval(seconds: int) -> str:
    return f"INTERVAL ({int(seconds)}) SECOND"


def _time_literal(value: time) -> str:
    return f"TIME '{value.strftime('%H:%M:%S.%f')}'"


def working_hours_sql(settings: DetectSettings, column: str = "time") -> str:
    local = f"timezone('{settings.timezone}', CAST({column} AS TIMESTAMPTZ))"
    start, end = _time_literal(settings.working_start), _time_literal(settings.working_end)
    clock = f"CAST({local} AS TIME)"
    within = (
        f"({clock} >= {start} AND {clock} < {end})"
        if settings.working_start < settings.working_end
        else f"({clock} >= {start} OR {clock} < {end})"
    )
    days = ", ".join(str(d) for d in sorted(settings.working_days))
    return f"(isodow({local}) IN ({days}) AND {within})"


def check_timezone(store: Store, name: str) -> None:
    if "'" in name:
        raise UsageError(f"unknown time zone {name!r}")
    try:
        store.rows(f"SELECT timezone('{name}', TIMESTAMPTZ '2026-01-01 00:00:00+00')")
    except duckdb.Error:
        raise UsageError(f"unknown time zone {name!r} (use an IANA name such as Europe/Amsterdam)") from None


def enrich(
    store: Store,
    settings: DetectSettings,
    privileged: PrivilegedUsers,
    tickets: Sequence[Ticket] | None = None,
) -> EnrichReport:
    """Set up ``signin_events`` and ``audit_events`` for this run's settings (temporary: per connection)."""
    check_timezone(store, settings.timezone)
    con = store.con
    _load_privileged(con, privileged)
    _load_tickets(con, tickets)
    con.execute(_tap_links_sql(settings))
    first = store.one("SELECT min(time) FROM signins")[0]
    computed = _signin_enrichment(settings, first)
    con.execute(_signin_sql(computed))
    con.execute(_audit_sql(settings, computed, tickets is not None))
    workload = ", ".join(f"'{t}'" for t in WORKLOAD_EVENT_TYPES)
    row = store.one(
        f"""SELECT count(*) FILTER (WHERE NOT workload),
                  count(*) FILTER (WHERE NOT workload AND auth_requirement IS NULL),
                  count(*) FILTER (WHERE NOT workload AND auth_methods IS NULL),
                  count(*) FILTER (WHERE workload),
                  (SELECT count(*) FROM gl_tap_links),
                  (SELECT count(*) FILTER (WHERE inferred) FROM gl_tap_links)
           FROM (SELECT auth_requirement, auth_methods,
                        coalesce(signin_event_type IN ({workload}), false) AS workload FROM signins)"""
    )
    return EnrichReport(
        privileged_source=privileged.source,
        privileged_count=store.count("gl_privileged"),
        user_signins=int(row[0]),
        signins_without_requirement=int(row[1]),
        signins_without_details=int(row[2]),
        workload_signins=int(row[3]),
        tap_signins=int(row[4]),
        tap_signins_inferred=int(row[5]),
        tickets=len(tickets) if tickets is not None else None,
    )


def _load_privileged(con: duckdb.DuckDBPyConnection, privileged: PrivilegedUsers) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE gl_privileged (user_id VARCHAR)")
    if privileged.user_ids is not None:
        if privileged.user_ids:
            con.execute(
                "INSERT INTO gl_privileged SELECT DISTINCT unnest(?::VARCHAR[])",
                [sorted(privileged.user_ids)],
            )
        return
    roles = sorted(info.template_id for info in ROLE_CATALOG.values() if info.privileged)
    con.execute(
        """INSERT INTO gl_privileged
           SELECT DISTINCT target_user_id FROM audits
           WHERE target_user_id IS NOT NULL AND coalesce(result, 'success') = 'success'
             AND activity ILIKE 'add %member to role%'
             AND role_template_id IN (SELECT unnest(?::VARCHAR[]))""",
        [roles],
    )


def _load_tickets(con: duckdb.DuckDBPyConnection, tickets: Sequence[Ticket] | None) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gl_tickets (ticket VARCHAR, user_key VARCHAR, opened TIMESTAMP)"
    )
    if tickets:
        con.executemany(
            "INSERT INTO gl_tickets VALUES (?, ?, ?)", [(t.ticket, t.user.lower(), t.opened) for t in tickets]
        )


def _signin_enrichment(settings: DetectSettings, first: datetime | None) -> dict[str, str]:
    """The sign-in enrichment fields as SQL over ``signins s``, ``signin_history h``, ``user_first_ok f``
    and ``gl_tap_links l`` (joined on the sign-in's record id, and the user id for ``f``)."""
    lookback = _interval(settings.lookback_days * 86_400)
    # the logs reach back the whole look-back window before this sign-in (the first sign-in is a constant)
    covered = f"s.time - {lookback} >= TIMESTAMP '{first.isoformat(sep=' ')}'" if first else "false"
    return {
        "working_hours": working_hours_sql(settings, "s.time"),
        "ip_seen_before": f"""CASE WHEN s.user_id IS NULL OR s.ip IS NULL THEN NULL
             WHEN h.prev_ok_ip >= s.time - {lookback} THEN true
             WHEN f.first_ok < s.time THEN false
             WHEN {covered} THEN false END""",
        "country_seen_before": f"""CASE WHEN s.user_id IS NULL OR s.country IS NULL THEN NULL
             WHEN h.prev_ok_country >= s.time - {lookback} THEN true
             WHEN f.first_ok < s.time THEN false
             WHEN {covered} THEN false END""",
        "tap_used": "CASE WHEN s.auth_methods IS NOT NULL OR l.record_id IS NOT NULL "
        "THEN l.record_id IS NOT NULL END",
        "tap_inferred": "l.inferred",
        "tap_issue_record_id": "l.tap_record",
    }


def _signin_sql(computed: dict[str, str]) -> str:
    """``signin_events``: a view over ``signins`` (no copy of the sign-ins is made per run).

    The look-back answers come from the ingest-time history tables; the Temporary Access Pass links from
    the small ``gl_tap_links`` table built just before.
    """
    columns = [
        f'{computed[f.name]} AS "{f.name}"' if f.enrichment else f's."{f.name}"'
        for f in event_columns(SIGNIN)
    ]
    select = f"SELECT {', '.join(columns)}"
    joins = """LEFT JOIN user_first_ok f ON f.user_id = s.user_id
    LEFT JOIN gl_tap_links l ON l.record_id = s.record_id"""
    # signin_events_of(ids): the same rows for a few record ids. Each table is narrowed by row id first, so
    # only the id column is scanned in full (a semi-join on the id would read every column of every row).
    return f"""
CREATE OR REPLACE TEMP VIEW signin_events AS
{select}
FROM signins s
    LEFT JOIN signin_history h ON h.record_id = s.record_id
    {joins};
CREATE OR REPLACE TEMP MACRO signin_events_of(ids) AS TABLE
{select}
FROM (SELECT * FROM signins WHERE rowid IN
        (SELECT rowid FROM signins WHERE record_id IN (SELECT unnest(ids)))) s
    LEFT JOIN (SELECT * FROM signin_history WHERE rowid IN
        (SELECT rowid FROM signin_history WHERE record_id IN (SELECT unnest(ids)))) h
        ON h.record_id = s.record_id
    {joins}"""


_TAP_IN_METHODS = (
    "coalesce(list_contains(list_transform(s.auth_methods, lambda m: lower(m)), "
    "'temporary access pass'), false)"
)


def _tap_links_sql(settings: DetectSettings) -> str:
    """``gl_tap_links``: the sign-ins that used a Temporary Access Pass, and the issuance they used.

    Only candidates are looked at: sign-ins whose authentication details name a pass (``inferred`` false),
    and (v1.0, no details) successful sign-ins to the security-info apps soon after a pass was issued to
    the user, while it was valid (``inferred`` true). ``tap_record``: the latest issuance for the user
    before the sign-in, if the pass was still valid then.
    """
    infer = _interval(settings.tap_signin_minutes * 60)
    apps = ", ".join(f"'{a}'" for a in SECURITY_INFO_APPS)
    return f"""
CREATE OR REPLACE TEMP TABLE gl_tap_links AS
WITH taps AS (
    SELECT record_id AS tap_record, target_user_id, time AS issued, tap_end
    FROM audits WHERE target_user_id IS NOT NULL AND {TAP_ISSUANCE_SQL}
),
candidates AS (
    SELECT s.record_id, s.user_id, s.time, s.auth_methods IS NOT NULL AS detailed FROM signins s
    WHERE (s.auth_methods IS NOT NULL AND {_TAP_IN_METHODS})
       OR (s.auth_methods IS NULL AND s.user_id IS NOT NULL AND s.error_code = 0 AND s.app_id IN ({apps}))
),
links AS (
    SELECT c.record_id, c.time, c.detailed, t.tap_record, t.issued, t.tap_end
    FROM candidates c ASOF LEFT JOIN taps t ON c.user_id = t.target_user_id AND c.time >= t.issued
)
SELECT record_id, NOT detailed AS inferred,
    CASE WHEN time <= coalesce(tap_end, time) THEN tap_record END AS tap_record
FROM links
WHERE detailed OR (time <= issued + {infer} AND time <= coalesce(tap_end, time))"""


def _audit_sql(settings: DetectSettings, signin: dict[str, str], with_tickets: bool) -> str:
    session = _interval(settings.session_minutes * 60)
    before = _interval(settings.ticket_before_hours * 3600)
    after = _interval(settings.ticket_after_hours * 3600)
    ticket_match = f"t.opened >= a.time - {before} AND t.opened <= a.time + {after}"
    has_ticket = (
        "CASE WHEN a.target_user_id IS NULL THEN NULL ELSE tk.ticket IS NOT NULL END"
        if with_tickets
        else "NULL::BOOLEAN"
    )
    return f"""
CREATE OR REPLACE TEMP TABLE audit_events AS
WITH sessions AS (  -- the session sign-in of each action, if it started within the session length
    SELECT a.record_id, x.session_signin_id AS sid
    FROM audits a JOIN audit_sessions x ON x.record_id = a.record_id
    WHERE x.session_signin_time >= a.time - {session}
),
session_facts AS (  -- the session sign-in's enrichment, from the tables (quicker than through the view)
    SELECT x.record_id, x.sid, s.auth_requirement, {single_factor_sql("s")} AS single_factor,
           {signin["tap_used"]} AS tap_used, s.country,
           {signin["ip_seen_before"]} AS ip_seen_before,
           {signin["country_seen_before"]} AS country_seen_before
    FROM sessions x JOIN signins s ON s.record_id = x.sid
        LEFT JOIN signin_history h ON h.record_id = x.sid
        LEFT JOIN user_first_ok f ON f.user_id = s.user_id
        LEFT JOIN gl_tap_links l ON l.record_id = x.sid
),
approvals AS (
    SELECT DISTINCT correlation_id FROM audits
    WHERE activity ILIKE '%request approved%' AND correlation_id IS NOT NULL
),
ticketed AS (
    SELECT record_id, min(ticket) AS ticket FROM (
        SELECT a.record_id, t.ticket FROM audits a JOIN gl_tickets t ON t.user_key = a.target_user_id
        WHERE {ticket_match}
        UNION ALL
        SELECT a.record_id, t.ticket FROM audits a JOIN gl_tickets t ON t.user_key = lower(a.target_upn)
        WHERE {ticket_match}
    ) GROUP BY record_id
)
SELECT {", ".join(_audit_columns())}
FROM (
    SELECT a.*,
        {working_hours_sql(settings, "a.time")} AS working_hours,
        CASE WHEN a.target_user_id IS NULL THEN NULL
             ELSE a.target_user_id IN (SELECT user_id FROM gl_privileged) END AS target_is_privileged,
        {has_ticket} AS has_ticket,
        tk.ticket AS ticket_id,
        CASE WHEN a.activity ILIKE 'add member to role completed (pim activation)%'
             THEN coalesce(a.correlation_id IN (SELECT correlation_id FROM approvals), false)
        END AS pim_approved,
        s.sid AS session_signin_id,
        s.auth_requirement AS session_auth_requirement,
        s.single_factor AS session_single_factor,
        s.tap_used AS session_tap_used,
        s.country AS session_country,
        s.ip_seen_before AS initiator_ip_seen_before,
        s.country_seen_before AS initiator_country_seen_before
    FROM audits a
    LEFT JOIN session_facts s ON s.record_id = a.record_id
    LEFT JOIN ticketed tk ON tk.record_id = a.record_id
)"""


def _audit_columns() -> list[str]:
    return [f'"{f.name}"' for f in event_columns(AUDIT)]
