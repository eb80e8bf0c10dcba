"""Enrichment: the facts Sigma cannot express, computed once per run in SQL over the whole store.

Two statements build the tables the rules scan (``signin_events``, then ``audit_events``) from the
normalised tables; each enrichment is a window function, an ASOF join or a hash join — never a loop over
records. What each field means is documented in :mod:`graphlattice.detect.fields`.

Inputs beyond the logs: the privileged users (a tenant snapshot's role holders, else whoever a
role-assignment audit record put into a privileged role) and, optionally, tickets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

import duckdb

from graphlattice.detect.fields import AUDIT, SIGNIN, event_columns
from graphlattice.detect.settings import DetectSettings, Ticket
from graphlattice.detect.store import Store
from graphlattice.entra.roles import ROLE_CATALOG
from graphlattice.errors import UsageError

__all__ = ["SECURITY_INFO_APPS", "EnrichReport", "PrivilegedUsers", "enrich"]

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


@dataclass(frozen=True, slots=True)
class EnrichReport:
    privileged_source: str
    privileged_count: int
    signins: int
    signins_without_requirement: int
    signins_without_details: int
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
    """(Re)build ``signin_events`` and ``audit_events`` for this run's settings."""
    check_timezone(store, settings.timezone)
    con = store.con
    _load_privileged(con, privileged)
    _load_tickets(con, tickets)
    con.execute(_signin_sql(settings))
    con.execute(_audit_sql(settings, tickets is not None))
    row = store.one(
        """SELECT count(*), count(*) FILTER (WHERE auth_requirement IS NULL),
                  count(*) FILTER (WHERE auth_methods IS NULL),
                  count(*) FILTER (WHERE tap_used), count(*) FILTER (WHERE tap_inferred)
           FROM signin_events"""
    )
    return EnrichReport(
        privileged_source=privileged.source,
        privileged_count=store.count("gl_privileged"),
        signins=int(row[0]),
        signins_without_requirement=int(row[1]),
        signins_without_details=int(row[2]),
        tap_signins=int(row[3]),
        tap_signins_inferred=int(row[4]),
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


def _signin_sql(settings: DetectSettings) -> str:
    lookback = _interval(settings.lookback_days * 86_400)
    infer = _interval(settings.tap_signin_minutes * 60)
    apps = ", ".join(f"'{a}'" for a in SECURITY_INFO_APPS)
    prior = "ORDER BY time, record_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    ok_time = "CASE WHEN error_code = 0 THEN time END"
    return f"""
CREATE OR REPLACE TABLE signin_events AS
WITH coverage AS (SELECT min(time) AS first_time FROM signins),
windows AS (  -- the three look-backs over a narrow projection: sorting wide rows three times is the cost
    SELECT record_id,
        max(ok_time) OVER (PARTITION BY user_id {prior}) AS _prev_user,
        max(ok_time) OVER (PARTITION BY user_id, ip {prior}) AS _prev_ip,
        max(ok_time) OVER (PARTITION BY user_id, country {prior}) AS _prev_country
    FROM (SELECT record_id, user_id, ip, country, time, {ok_time} AS ok_time FROM signins)
),
history AS (
    SELECT s.*, w._prev_user, w._prev_ip, w._prev_country
    FROM signins s JOIN windows w ON w.record_id = s.record_id
),
taps AS (
    SELECT record_id AS tap_record, target_user_id, time AS issued, tap_end
    FROM audits WHERE target_user_id IS NOT NULL AND {TAP_ISSUANCE_SQL}
),
candidates AS (
    SELECT record_id, user_id, time FROM signins
    WHERE user_id IS NOT NULL AND (
        list_contains(list_transform(auth_methods, lambda m: lower(m)), 'temporary access pass')
        OR (auth_methods IS NULL AND error_code = 0 AND app_id IN ({apps})))
),
links AS (
    SELECT c.record_id, t.tap_record, t.issued, t.tap_end
    FROM candidates c ASOF JOIN taps t ON c.user_id = t.target_user_id AND c.time >= t.issued
),
marked AS (
    SELECT h.*, l.tap_record, l.issued, l.tap_end,
        CASE
            WHEN h.auth_methods IS NOT NULL
                THEN coalesce(list_contains(list_transform(h.auth_methods, lambda m: lower(m)),
                                            'temporary access pass'), false)
            WHEN l.tap_record IS NOT NULL AND h.time <= l.issued + {infer}
                 AND h.time <= coalesce(l.tap_end, h.time) THEN true
        END AS _tap
    FROM history h LEFT JOIN links l ON l.record_id = h.record_id
)
SELECT {", ".join(_signin_columns())}
FROM (
    SELECT marked.*,
        {working_hours_sql(settings)} AS working_hours,
        CASE WHEN user_id IS NULL OR ip IS NULL THEN NULL
             WHEN _prev_ip >= time - {lookback} THEN true
             WHEN _prev_user >= time - {lookback} THEN false
             WHEN time - {lookback} >= (SELECT first_time FROM coverage) THEN false
        END AS ip_seen_before,
        CASE WHEN user_id IS NULL OR country IS NULL THEN NULL
             WHEN _prev_country >= time - {lookback} THEN true
             WHEN _prev_user >= time - {lookback} THEN false
             WHEN time - {lookback} >= (SELECT first_time FROM coverage) THEN false
        END AS country_seen_before,
        _tap AS tap_used,
        CASE WHEN _tap THEN auth_methods IS NULL END AS tap_inferred,
        CASE WHEN _tap AND tap_record IS NOT NULL AND time <= coalesce(tap_end, time) THEN tap_record END
            AS tap_issue_record_id
    FROM marked
)"""


def _audit_sql(settings: DetectSettings, with_tickets: bool) -> str:
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
CREATE OR REPLACE TABLE audit_events AS
WITH ok AS (
    SELECT record_id, user_id, ip, time FROM signin_events WHERE error_code = 0 AND user_id IS NOT NULL
),
acts AS (
    SELECT record_id, initiator_user_id, initiator_ip, time FROM audits WHERE initiator_user_id IS NOT NULL
),
by_ip AS (
    SELECT a.record_id, a.time AS atime, o.record_id AS sid, o.time AS stime
    FROM (SELECT * FROM acts WHERE initiator_ip IS NOT NULL) a
    ASOF JOIN (SELECT * FROM ok WHERE ip IS NOT NULL) o
        ON a.initiator_user_id = o.user_id AND a.initiator_ip = o.ip AND a.time >= o.time
),
by_user AS (
    SELECT a.record_id, a.time AS atime, o.record_id AS sid, o.time AS stime
    FROM (SELECT * FROM acts WHERE initiator_ip IS NULL) a
    ASOF JOIN ok o ON a.initiator_user_id = o.user_id AND a.time >= o.time
),
sessions AS (
    SELECT s.record_id, s.sid, e.auth_requirement, e.tap_used, e.country, e.ip_seen_before,
           e.country_seen_before
    FROM (SELECT * FROM by_ip UNION ALL SELECT * FROM by_user) s
    JOIN signin_events e ON e.record_id = s.sid
    WHERE s.stime >= s.atime - {session}
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
        s.tap_used AS session_tap_used,
        s.country AS session_country,
        s.ip_seen_before AS initiator_ip_seen_before,
        s.country_seen_before AS initiator_country_seen_before
    FROM audits a
    LEFT JOIN sessions s ON s.record_id = a.record_id
    LEFT JOIN ticketed tk ON tk.record_id = a.record_id
)"""


def _signin_columns() -> list[str]:
    return [f'"{f.name}"' for f in event_columns(SIGNIN)]


def _audit_columns() -> list[str]:
    return [f'"{f.name}"' for f in event_columns(AUDIT)]
