"""``rules export``: every rule converts for every backend or says why; the queries name the target's columns.

KQL is held to Sentinel's published ``AuditLogs`` / ``SigninLogs`` columns (``sentinel_schema``): every
identifier of a generated query is a column of those tables, a name the query itself binds (``let``,
``extend``, ``project``, ``summarize``, ``mv-apply``), a path inside a dynamic column, or a word of the KQL
vocabulary listed below. Splunk and Elastic queries are checked for the add-on's and the integration's field
names, and the Databricks SQL is run on local Spark over the demo tenant's event tables and must match what
the local engine matches.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from graphlattice.detect import DetectSettings, load_pack
from graphlattice.detect.engine import run_rule
from graphlattice.detect.enrich import PrivilegedUsers, enrich
from graphlattice.detect.export import BACKENDS, export_rules, resolve_backend
from graphlattice.detect.export.kusto import DIRECT, check_mapping
from graphlattice.detect.export.sentinel_schema import (
    AUDIT_LOGS,
    SIGNIN_LOGS,
    TABLES,
    TICKETS_WATCHLIST_COLUMNS,
)
from graphlattice.detect.fields import FIELDS
from graphlattice.detect.ingest import ingest_files
from graphlattice.detect.sigma_sql import compile_detection
from graphlattice.detect.store import Store
from graphlattice.errors import UsageError

PACK = load_pack()
ALL = set(PACK.alerting)
NOT_ON_SPLUNK = {
    "security-info-registered-without-mfa",
    "tap-issued-to-privileged-user",
    "tap-issued-without-ticket",
}
NOT_ON_ELASTIC = NOT_ON_SPLUNK | {"tap-issued-outside-hours"}
EXPORTS = {name: export_rules(name) for name in BACKENDS}


# -- every rule, every backend -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "missing"),
    [("kusto", set()), ("databricks", set()), ("splunk", NOT_ON_SPLUNK), ("elasticsearch", NOT_ON_ELASTIC)],
)
def test_every_rule_exports_or_says_why(backend: str, missing: set[str]) -> None:
    result = EXPORTS[backend]
    assert {r.name for r in result.rules} == ALL - missing
    assert {s.name for s in result.skipped} == missing
    for skipped in result.skipped:
        # the reason names the enrichment field the target lacks
        assert re.search(
            r"depends on (session_single_factor|target_is_privileged|has_ticket|working_hours)",
            skipped.reason,
        ), skipped.reason
    for rule in result.rules:
        assert rule.text.strip()
        assert rule.filename == f"{rule.name}.{rule.extension}"
        assert rule.name in rule.text  # the header names the rule


def test_kusto_and_databricks_keep_everything() -> None:
    for backend in ("kusto", "databricks"):
        for rule in EXPORTS[backend].rules:
            assert not rule.lost, (backend, rule.name, rule.lost)


def test_what_splunk_and_elastic_lose_is_in_the_header() -> None:
    splunk = {r.name: r for r in EXPORTS["splunk"].rules}
    tap = splunk["tap-bootstrapped-persistence"]
    assert any("order of the steps" in item for item in tap.lost)
    assert any("ip_seen_before: false" in item for item in tap.lost)
    assert "ip_seen_before: false (no such field; left out)" in tap.text
    elastic = {r.name: r for r in EXPORTS["elasticsearch"].rules}
    role = json.loads(elastic["tap-issuer-role-activated-without-approval"].text)
    assert "pim_approved: false (no such field; left out)" in role["note"]


def test_export_leaves_the_shared_pack_untouched() -> None:
    before = {n: compile_detection(r.sigma, _columns(r.sigma), "x") for n, r in _detections().items()}
    for backend in BACKENDS:
        export_rules(backend)
    after = {n: compile_detection(r.sigma, _columns(r.sigma), "x") for n, r in _detections().items()}
    assert before == after


def _detections() -> dict[str, Any]:
    return {name: rule for name, rule in PACK.rules.items() if not rule.is_correlation}


def _columns(rule: Any) -> Any:
    from graphlattice.detect.fields import field_map
    from graphlattice.detect.pack import rule_event_type

    kind = rule_event_type(rule)
    assert kind is not None
    return field_map(kind)


def test_unknown_backend_and_rule_suggest_the_closest() -> None:
    with pytest.raises(UsageError, match=r"unknown backend 'kustoo'.*did you mean 'kusto'"):
        resolve_backend("kustoo")
    assert resolve_backend("Sentinel") == "kusto"
    with pytest.raises(
        UsageError, match=r"unknown rule 'tap-bootstraped-persistence'.*'tap-bootstrapped-persistence'"
    ):
        export_rules("kusto", names=["tap-bootstraped-persistence"])


# -- KQL against Sentinel's columns ------------------------------------------------------------------------

SENTINEL_COLUMNS = set(AUDIT_LOGS) | set(SIGNIN_LOGS) | set(TABLES)
DYNAMIC = {name for table in (AUDIT_LOGS, SIGNIN_LOGS) for name, kind in table.items() if kind == "dynamic"}
KQL_WORDS = set(
    """
    let where extend project summarize join kind inner leftouter on by and or not in has has_any contains
    startswith endswith matches regex mv apply expand to typeof lookup distinct take_any take_anyif countif
    count min max make_set make_list arg_max tostring toint tolower tobool todynamic todatetime iff case
    isempty isnotempty isnull isnotnull coalesce strcat trim dayofweek startofday datetime_utc_to_local bool
    datetime dynamic true false null format_datetime array_concat array_length between _GetWatchlist string
    h d m s
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def _strip(query: str) -> str:
    """The query without comments, and with every string literal (plain, verbatim ``@"..."``) emptied."""
    out: list[str] = []
    i = 0
    while i < len(query):
        char = query[i]
        if query.startswith("//", i):
            i = query.find("\n", i) if "\n" in query[i:] else len(query)
            continue
        verbatim = char == "@" and i + 1 < len(query) and query[i + 1] in "'\""
        if char in "'\"" or verbatim:
            start = i + 1 if verbatim else i
            quote = query[start]
            j = start + 1
            while j < len(query) and query[j] != quote:
                j += 2 if query[j] == "\\" and not verbatim else 1
            out.append('""')
            i = j + 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _kql_identifiers(query: str) -> tuple[set[str], set[str], set[str]]:
    """(identifiers used, names the query binds, roots of dynamic paths) — comments and strings removed."""
    text = re.sub(r'\[""\]', "", _strip(query))  # ['time']: a quoted column name
    bound = set(re.findall(r"\blet\s+([A-Za-z_]\w*)", text))
    bound |= set(re.findall(r"([A-Za-z_]\w*)\s*=(?![=~])", text))
    roots = set(re.findall(r"(?<![\w.])([A-Za-z_]\w*)(?=\s*(?:\.|\[\d))", text))
    used = set(re.findall(r"(?<![\w.\-])([A-Za-z_]\w*)", text))
    return used, bound, roots


def _unknown_identifiers(query: str, extra: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    used, bound, _ = _kql_identifiers(query)
    return used - SENTINEL_COLUMNS - bound - KQL_WORDS - extra - _property_names(query)


def _property_names(query: str) -> set[str]:
    """Names after a dot: properties inside dynamic columns (``InitiatedBy.user.id``), not columns."""
    return set(re.findall(r"\.([A-Za-z_]\w*)", _strip(query)))


def _kql(name: str) -> str:
    return next(r.text for r in EXPORTS["kusto"].rules if r.name == name)


TAP_RULES = sorted(n for n in ALL if n.startswith("tap-"))


@pytest.mark.parametrize("name", TAP_RULES)
def test_tap_rules_in_kql_name_only_sentinel_columns(name: str) -> None:
    query = _kql(name)
    extra = set(TICKETS_WATCHLIST_COLUMNS) if name == "tap-issued-without-ticket" else set()
    assert _unknown_identifiers(query, extra) == set()
    # nothing canonical leaks in unbound: every snake_case column the query reads, it computes itself
    _, bound, roots = _kql_identifiers(query)
    canonical = {f.name for f in FIELDS}
    assert (_kql_identifiers(query)[0] & canonical) <= bound
    # paths go into dynamic columns (or into bound list elements), never into a made-up column
    assert {r for r in roots if r[0].isupper()} <= DYNAMIC


def test_tap_bootstrapped_persistence_kql() -> None:
    query = _kql("tap-bootstrapped-persistence")
    for column in (
        "AuditLogs",
        "SigninLogs",
        "OperationName",
        "ResultReason",
        "Result",
        "TargetResources",
        "InitiatedBy",
        "AuthenticationDetails",
        "IPAddress",
        "LocationDetails",
        "UserId",
        "ResultType",
    ):
        assert re.search(rf"\b{column}\b", query), column
    assert (
        'OperationName in~ ("Admin registered security info", "Create Temporary Access Pass method for user")'
        in query
    )
    assert 'ResultReason contains "temporary access pass"' in query
    assert "let sequence_window = 8h;" in query
    assert (
        "| join kind=inner _step2 on _g0" in query and "_t2 >= _t1 and _t2 <= _t1 + sequence_window" in query
    )
    assert "_t3 >= _t2 and _t3 <= _t1 + sequence_window" in query
    assert "ip_seen_before == false or country_seen_before == false" in query
    assert "_seen_at >= TimeGenerated - lookback" in query and "let lookback = 30d;" in query
    assert "todynamic(AuthenticationDetails)" in query and '_method =~ "Temporary Access Pass"' in query
    # the incident's questions: who issued, from where was it used, what got registered
    for answer in (
        "tap_issued_by_admin_by",
        "tap_signin_from_new_place_ip",
        "tap_signin_from_new_place_where",
        "strong_method_registered_what",
    ):
        assert answer in query


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_kql_query_names_only_sentinel_columns(name: str) -> None:
    extra = set(TICKETS_WATCHLIST_COLUMNS) if name == "tap-issued-without-ticket" else set()
    assert _unknown_identifiers(_kql(name), extra) == set()


def test_kusto_mapping_names_real_columns() -> None:
    check_mapping()
    for mapping in DIRECT.values():
        for canonical in mapping:
            assert canonical in {f.name for f in FIELDS}, canonical


def test_kql_follows_the_settings() -> None:
    settings = DetectSettings(window_minutes=90, timezone="Europe/Amsterdam", lookback_days=14)
    rules = {r.name: r.text for r in export_rules("kusto", settings=settings).rules}
    assert 'datetime_utc_to_local(TimeGenerated, "Europe/Amsterdam")' in rules["tap-issued-outside-hours"]
    assert "let sequence_window = 90m;" in rules["tap-bootstrapped-persistence"]
    assert "let lookback = 14d;" in rules["tap-bootstrapped-persistence"]


def test_identifier_check_catches_a_made_up_column() -> None:
    assert _unknown_identifiers('AuditLogs | where Activity =~ "x"') == {"Activity"}


# -- Splunk and Elastic field names ------------------------------------------------------------------------

CANONICAL_ONLY = {
    "result_reason",
    "target_user_id",
    "initiator_upn",
    "auth_methods",
    "error_code",
    "activity",
}


def test_splunk_queries_use_the_add_on_fields() -> None:
    rules = {r.name: r.text for r in EXPORTS["splunk"].rules}
    tap = rules["tap-bootstrapped-persistence"]
    assert 'sourcetype="azure:aad:audit" activityDisplayName IN ("Admin registered security info"' in tap
    assert 'resultReason="*temporary access pass*"' in tap
    assert '"authenticationDetails{}.authenticationMethod"="Temporary Access Pass" status.errorCode=0' in tap
    assert 'rename "targetResources{}.id" as user' in tap and "rename userId as user" in tap
    assert "| bin _time span=8h" in tap
    assert (
        '"targetResources{}.modifiedProperties{}.displayName"="StrongAuthenticationRequirement"'
        in (rules["strong-auth-disabled"])
    )
    assert (
        '| eval working_hours=if(in(strftime(_time, "%u"), "1", "2", "3", "4", "5")'
        in rules["tap-issued-outside-hours"]
    )
    for name, text in rules.items():
        query = text.split("```")[-1]
        assert not {w for w in CANONICAL_ONLY if re.search(rf"(?<![\w.{{]){w}(?![\w])", query)}, name


def test_elastic_rules_use_the_integration_fields() -> None:
    rules = {r.name: json.loads(r.text) for r in EXPORTS["elasticsearch"].rules}
    strong = rules["strong-auth-disabled"]
    assert strong["type"] == "query" and strong["language"] == "lucene"
    assert strong["index"] == ["logs-azure.auditlogs-*"]
    assert strong["query"].startswith("event.dataset:azure.auditlogs AND ")
    assert (
        'azure.auditlogs.properties.activity_display_name:"Disable Strong Authentication"' in strong["query"]
    )
    assert (
        r"azure.auditlogs.properties.target_resources.\*.modified_properties.\*.display_name"
        in strong["query"]
    )
    tap = rules["tap-bootstrapped-persistence"]
    assert tap["type"] == "eql" and tap["language"] == "eql"
    assert tap["query"].startswith("sequence with maxspan=28800s\n")
    assert "] by azure.auditlogs.properties.target_resources.0.id" in tap["query"]
    assert "] by azure.signinlogs.properties.user_id" in tap["query"]
    assert (
        'azure.signinlogs.properties.authentication_details.authenticationMethod:"Temporary Access Pass"'
        in (tap["query"])
    )
    assert tap["severity"] == "critical" and tap["rule_id"] == str(
        PACK["tap-bootstrapped-persistence"].sigma.id
    )
    for name, rule in rules.items():
        assert not {w for w in CANONICAL_ONLY if re.search(rf"(?<![\w.]){w}(?![\w])", rule["query"])}, name


# -- Databricks: the exported SQL on Spark matches what the local engine matches ---------------------------


@pytest.fixture(scope="module")
def demo_tables(demo_logs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Path]:
    from graphlattice.detect.run import export_parquet

    store = Store()
    ingest_files(store, demo_logs)
    enrich(store, DetectSettings(), PrivilegedUsers(None, "audit records"))
    directory = tmp_path_factory.mktemp("parquet")
    export_parquet(store, directory)
    return store, directory


@pytest.mark.spark
def test_databricks_sql_on_spark_matches_the_local_engine(
    demo_tables: tuple[Store, Path], spark: Any
) -> None:
    store, directory = demo_tables
    for table in ("audit_events", "signin_events"):
        spark.read.parquet(str(directory / f"{table}.parquet")).createOrReplaceTempView(table)
    seen_sequence = False
    for exported in EXPORTS["databricks"].rules:
        sql = exported.text.strip().rstrip(";")
        rows = spark.sql(sql).collect()
        local = run_rule(store, PACK[exported.name], DetectSettings())
        if PACK[exported.name].is_correlation:
            got = {row["first_record"] for row in rows}
            want = {m.steps[0][1][0] for m in local}
            records = {
                rid for row in rows for c, v in row.asDict().items() if c.endswith("_records") for rid in v
            }
            assert records == {rid for m in local for rid in m.record_ids}, exported.name
            seen_sequence = seen_sequence or bool(got)
        else:
            got = {row["record_id"] for row in rows}
            want = {rid for m in local for rid in m.record_ids}
        assert got == want, exported.name
    assert seen_sequence  # the demo's planted attack is found on Spark too


# -- SigmaHQ community rules through the same backends -----------------------------------------------------


def test_community_tap_added_rule_converts_to_kql_with_sentinel_columns() -> None:
    from graphlattice.detect.export import export_loaded
    from tests.detect.test_community import RULE_FILES, SIGMAHQ

    if not RULE_FILES:
        pytest.skip(f"SigmaHQ test data not found in {SIGMAHQ}")
    from graphlattice.detect.pipeline import load_community_rules

    community = {c.path.name: c for c in load_community_rules(RULE_FILES)}
    tap = community["azure_tap_added.yml"].rule
    assert tap is not None
    result = export_loaded("kusto", [tap])
    assert not result.skipped
    query = result.rules[0].text
    assert 'OperationName =~ "Admin registered security info"' in query
    assert 'Result =~ "Admin registered temporary access pass method for user"' in query
    assert 'ResultReason =~ "Admin registered temporary access pass method for user"' in query
    assert _unknown_identifiers(query) == set()
    # and every runnable community rule exports to every backend, or says why
    runnable = [c.rule for c in community.values() if c.rule is not None]
    for backend in BACKENDS:
        out = export_loaded(backend, runnable)
        assert len(out.rules) + len(out.skipped) == len(runnable)
        assert all(s.reason for s in out.skipped)
        if backend in ("kusto", "databricks"):
            assert not out.skipped, out.skipped


@pytest.mark.spark
def test_databricks_sql_finds_a_registration_in_the_enrolment_interrupt(spark: Any, tmp_path: Path) -> None:
    """The demo has no single-factor session; the rule's fixture with the 50079 interrupt has one."""
    from graphlattice.detect.run import export_parquet
    from tests.detect.harness import case_store, load_cases

    name = "security-info-registered-without-mfa"
    case = next(c for c in load_cases(name) if "MFA-enrolment interrupt alerts" in c["name"])
    with case_store(tmp_path / "logs", case) as (store, settings):
        local = {rid for m in run_rule(store, PACK[name], settings) for rid in m.record_ids}
        export_parquet(store, tmp_path / "parquet")
    for table in ("audit_events", "signin_events"):
        spark.read.parquet(str(tmp_path / "parquet" / f"{table}.parquet")).createOrReplaceTempView(table)
    [exported] = [r for r in EXPORTS["databricks"].rules if r.name == name]
    rows = spark.sql(exported.text.strip().rstrip(";")).collect()
    assert {row["record_id"] for row in rows} == local == {"reg-in-interrupt"}
