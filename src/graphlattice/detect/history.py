"""Ingest-time history: the facts about earlier records that enrichment needs, kept in the store.

Some enrichment fields compare a record with everything before it — "has this user signed in from this
address before?", "which sign-in was the session behind this admin action?". Those answers do not depend on
any run setting, so they are worked out once, when a file is ingested, and kept in three narrow tables
beside the records (internal: the rules never name them):

``signin_history``
    Per sign-in (``record_id``) of a known user: when that user last signed in successfully before it from
    the same IP address (``prev_ok_ip``) and from the same country (``prev_ok_country``); NULL: never, in
    the store.
``user_first_ok``
    Per user: the first successful sign-in in the store.
``audit_sessions``
    Per action (``record_id``) with a user initiator: that user's latest sign-in that began a session, at or
    before it (``session_signin_id``, ``session_signin_time``), from the action's IP address when the record
    has one: the session the action most likely ran in. A session begins with a successful sign-in or with an
    MFA-enrolment interrupt, after which Entra lets the user register security info
    (:mod:`graphlattice.detect.factors`). Actions without one have no row.

Run settings (the look-back window, the session length, working hours) are applied per run by
:mod:`graphlattice.detect.enrich`, over these tables, without another pass over the sign-ins.

Logs may arrive in any order and overlap earlier files. After each sign-in batch, users whose new sign-ins
all follow everything stored for them (the next day's export) are extended: their stored answers cannot
change, and one seed row per stored (user, IP address, country) stands in for their past. Anyone else's
history is recomputed in full and replaces what the tables held for them. Sign-ins and actions share one
sorted pass: a sign-in's previous sighting from an address and an action's session are the same question.
The tables are only ever appended to and pruned, never updated in place (rewriting columns of a large table
is what makes ingest slow). "Seen before" counts successful sign-ins only: an interrupted one proves
nothing about an address.
"""

from __future__ import annotations

import duckdb

from graphlattice.detect.factors import session_sql

__all__ = ["HISTORY_TABLES", "after_audits", "after_signins"]

HISTORY_TABLES = (
    "signin_history (record_id VARCHAR, prev_ok_ip TIMESTAMP, prev_ok_country TIMESTAMP)",
    "user_first_ok (user_id VARCHAR, first_ok TIMESTAMP)",
    "audit_sessions (record_id VARCHAR, session_signin_id VARCHAR, session_signin_time TIMESTAMP)",
)
"""The tables this module keeps, as ``CREATE TABLE`` bodies."""

# Sign-ins sort before actions at the same instant (an action can run in a session that began at that
# instant); records at one instant keep a fixed order (by a hash of their id: cheaper to sort than the id),
# so a split or reordered input gives the same answers. Everything before a row in this order is "earlier".
_EARLIER = "ORDER BY time, kind, hash(record_id) ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
_OK_TIME = "CASE WHEN error_code = 0 THEN time END"
_SESSION = session_sql()
_SESSION_TIME = f"CASE WHEN {_SESSION} THEN time END"
_SESSION_ID = f"CASE WHEN {_SESSION} THEN record_id END"


def after_signins(con: duckdb.DuckDBPyConnection, batch: int, *, alone: bool) -> None:
    """Bring the history up to date after sign-in batch ``batch`` was appended.

    ``alone``: the batch is all the store holds (nothing to prune or to look back on). Otherwise users
    whose new sign-ins all come after everything stored for them (the usual case: the next day's export)
    take the quick path; the others' history is recomputed in full.
    """
    if alone:
        _recompute(con, "")
        return
    b = int(batch)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE gl_batch_users AS
        SELECT n.user_id, n.first_time, (o.last_time IS NULL OR o.last_time < n.first_time) AS appended
        FROM (SELECT user_id, min(time) AS first_time FROM signins
              WHERE ingest_batch = {b} AND user_id IS NOT NULL GROUP BY user_id) n
        LEFT JOIN (SELECT user_id, max(time) AS last_time FROM signins
                   WHERE ingest_batch <> {b}
                     AND user_id IN (SELECT user_id FROM signins WHERE ingest_batch = {b})
                   GROUP BY user_id) o USING (user_id)"""
    )
    late, appended = con.execute(
        "SELECT count(*) FILTER (WHERE NOT appended), count(*) FILTER (WHERE appended) FROM gl_batch_users"
    ).fetchall()[0]
    if late:
        _recompute(con, "SELECT user_id FROM gl_batch_users WHERE NOT appended")
    if appended:
        _append(con, b)
    con.execute("DROP TABLE gl_batch_users")


def _recompute(con: duckdb.DuckDBPyConnection, users: str) -> None:
    """Recompute the whole history of ``users`` (a query of user ids; empty: everyone, nothing to prune)."""
    only = f"AND user_id IN ({users})" if users else ""
    only_initiators = f"AND initiator_user_id IN ({users})" if users else ""
    if users:
        con.execute(
            f"""DELETE FROM signin_history WHERE record_id IN
                (SELECT record_id FROM signins WHERE user_id IS NOT NULL {only})"""
        )
        con.execute(f"DELETE FROM user_first_ok WHERE user_id IN ({users})")
        _prune_sessions(con, only_initiators)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE gl_history AS
        SELECT record_id, kind, false AS seed, {_WINDOWS}
        FROM (
            SELECT record_id, 0 AS kind, user_id, ip, country, time, {_OK_TIME} AS ok_time,
                   {_SESSION_TIME} AS session_time, {_SESSION_ID} AS session_id
            FROM signins WHERE user_id IS NOT NULL {only}
            UNION ALL
            SELECT record_id, 1, initiator_user_id, initiator_ip, NULL, time, NULL, NULL, NULL
            FROM audits WHERE initiator_user_id IS NOT NULL AND initiator_ip IS NOT NULL {only_initiators})"""
    )
    _insert_history(con)
    con.execute(
        f"""INSERT INTO user_first_ok
            SELECT user_id, min({_OK_TIME}) FROM signins WHERE user_id IS NOT NULL {only} GROUP BY user_id"""
    )
    _link_without_ip(con, only_initiators)


def _append(con: duckdb.DuckDBPyConnection, batch: int) -> None:
    """The quick path for users whose new sign-ins (batch ``batch``) all follow their stored ones.

    Their stored sign-ins cannot change, and only their actions from the first new sign-in on can gain a
    later session. The window runs over the new sign-ins, those actions, and one "seed" row per stored
    (user, IP address, country): its latest sign-in that began a session and the time of its latest
    successful one, which is all the earlier answers need.
    """
    users = "SELECT user_id FROM gl_batch_users WHERE appended"
    actions = """FROM audits a JOIN gl_batch_users u ON u.user_id = a.initiator_user_id
        WHERE u.appended AND a.time >= u.first_time"""
    con.execute(f"""DELETE FROM audit_sessions WHERE record_id IN (SELECT a.record_id {actions})""")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE gl_history AS
        SELECT record_id, kind, seed, {_WINDOWS}
        FROM (
            SELECT latest AS record_id, 0 AS kind, user_id, ip, country, time, ok_time,
                   time AS session_time, latest AS session_id, true AS seed
            FROM (SELECT user_id, ip, country, max(time) AS time, max({_OK_TIME}) AS ok_time,
                         arg_max(record_id, struct_pack(t := time, h := hash(record_id))) AS latest
                  FROM signins
                  WHERE ingest_batch <> {batch} AND {_SESSION} AND user_id IN ({users})
                  GROUP BY user_id, ip, country)
            UNION ALL
            SELECT record_id, 0, user_id, ip, country, time, {_OK_TIME}, {_SESSION_TIME}, {_SESSION_ID}, false
            FROM signins WHERE ingest_batch = {batch} AND user_id IN ({users})
            UNION ALL
            SELECT a.record_id, 1, a.initiator_user_id, a.initiator_ip, NULL, a.time, NULL, NULL, NULL, false
            {actions} AND a.initiator_ip IS NOT NULL)"""
    )
    _insert_history(con)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE gl_first AS
        SELECT user_id, min(first_ok) AS first_ok FROM (
            SELECT user_id, first_ok FROM user_first_ok WHERE user_id IN ({users})
            UNION ALL
            SELECT user_id, {_OK_TIME} FROM signins WHERE ingest_batch = {batch} AND user_id IN ({users})
        ) GROUP BY user_id"""
    )
    con.execute(f"DELETE FROM user_first_ok WHERE user_id IN ({users})")
    con.execute("INSERT INTO user_first_ok SELECT * FROM gl_first")
    con.execute("DROP TABLE gl_first")
    _link_without_ip(
        con,
        f"""AND record_id IN (SELECT a.record_id {actions})""",
    )


_SESSION_WINDOWS = f"""max(session_time) OVER (PARTITION BY user_id, ip {_EARLIER}) AS prev_session_time,
            last_value(session_id IGNORE NULLS) OVER (PARTITION BY user_id, ip {_EARLIER})
                AS prev_session_id"""
_WINDOWS = f"""max(ok_time) OVER (PARTITION BY user_id, ip {_EARLIER}) AS prev_ok_ip,
            {_SESSION_WINDOWS},
            max(ok_time) OVER (PARTITION BY user_id, country {_EARLIER}) AS prev_ok_country"""


def _insert_history(con: duckdb.DuckDBPyConnection) -> None:
    """Write ``gl_history``'s answers: sign-ins (not seeds) to ``signin_history``, actions to sessions."""
    con.execute(
        """INSERT INTO signin_history
           SELECT record_id, prev_ok_ip, prev_ok_country FROM gl_history WHERE kind = 0 AND NOT seed"""
    )
    _insert_sessions(con)


def after_audits(con: duckdb.DuckDBPyConnection, batch: int) -> None:
    """Link the actions of audit batch ``batch`` (all new records) to their session sign-ins.

    Sign-ins are what an action's session depends on, so earlier actions keep theirs.
    """
    this_batch = f"AND ingest_batch = {int(batch)}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE gl_history AS
        SELECT record_id, kind, {_SESSION_WINDOWS}
        FROM (
            SELECT record_id, 0 AS kind, user_id, ip, time, time AS session_time, record_id AS session_id
            FROM signins WHERE {_SESSION} AND ip IS NOT NULL
              AND user_id IN (SELECT initiator_user_id FROM audits
                              WHERE initiator_ip IS NOT NULL {this_batch})
            UNION ALL
            SELECT record_id, 1, initiator_user_id, initiator_ip, time, NULL, NULL
            FROM audits WHERE initiator_user_id IS NOT NULL AND initiator_ip IS NOT NULL {this_batch})"""
    )
    _insert_sessions(con)
    _link_without_ip(con, this_batch)


def _prune_sessions(con: duckdb.DuckDBPyConnection, only_initiators: str) -> None:
    con.execute(
        f"""DELETE FROM audit_sessions WHERE record_id IN
            (SELECT record_id FROM audits WHERE initiator_user_id IS NOT NULL {only_initiators})"""
    )


def _insert_sessions(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """INSERT INTO audit_sessions SELECT record_id, prev_session_id, prev_session_time
           FROM gl_history WHERE kind = 1 AND prev_session_id IS NOT NULL"""
    )
    con.execute("DROP TABLE gl_history")


def _link_without_ip(con: duckdb.DuckDBPyConnection, only: str) -> None:
    """Actions whose record carries no IP address: the initiator's latest session sign-in from anywhere."""
    acts = f"FROM audits WHERE initiator_user_id IS NOT NULL AND initiator_ip IS NULL {only}"
    if not con.execute(f"SELECT EXISTS (SELECT 1 {acts})").fetchall()[0][0]:
        return
    con.execute(
        f"""INSERT INTO audit_sessions
        WITH acts AS (SELECT record_id, initiator_user_id, time {acts}),
        ok AS (  -- one sign-in per instant: the last in the window order, as for actions with an IP
            SELECT arg_max(record_id, hash(record_id)) AS record_id, user_id, time FROM signins
            WHERE {_SESSION} AND user_id IN (SELECT DISTINCT initiator_user_id FROM acts)
            GROUP BY user_id, time
        )
        SELECT a.record_id, o.record_id, o.time
        FROM acts a ASOF JOIN ok o ON a.initiator_user_id = o.user_id AND a.time >= o.time"""
    )
