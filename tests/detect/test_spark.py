"""``detect --engine spark``: the same pack on Apache Spark gives the same incidents as on DuckDB.

The incidents are compared whole, as the JSON a user gets (``Incident.to_json``): ids, times, principals,
evidence, details, containment plans. Nothing in an incident is volatile (the id is a hash of rule and
evidence; times come from the records), so there is nothing to normalise away. Compared on: the demo
tenant's fortnight of logs (default settings, and with every optional input), the Range's logs after
``tap-persistence``, and every fixture case of every rule. Spark runs locally (one session for the whole
test run, see ``conftest.spark``); the tests are skipped only when pyspark is not installed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from graphlattice.demo import DemoSummary
from graphlattice.detect import DetectionRun, DetectSettings, load_pack, run_detection
from graphlattice.detect.engine import rule_sql, run_rule
from graphlattice.detect.incidents import build_incidents
from graphlattice.detect.run import export_parquet
from graphlattice.detect.sigma_sql import SPARK
from tests.detect.harness import FIXTURES, case_store, load_cases

PACK = load_pack()


def _has_pyspark() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


needs_pyspark = pytest.mark.skipif(
    not _has_pyspark(), reason="pyspark is not installed: pip install -e '.[spark]' (make test does)"
)


def incidents(run: DetectionRun) -> list[dict[str, Any]]:
    return [i.to_json() for i in run.incidents]


def comparable_summary(run: DetectionRun) -> dict[str, Any]:
    """The run summary without what names the engine or where its Parquet went."""
    summary = dict(run.to_json()["summary"])
    for key in ("engine", "parquet"):
        summary.pop(key)
    summary["notes"] = [n for n in summary["notes"] if not n.startswith("The rules ran on Spark")]
    return summary


def assert_same_runs(duck: DetectionRun, spark_run: DetectionRun) -> None:
    assert duck.engine == "duckdb" and spark_run.engine == "spark"
    assert incidents(spark_run) == incidents(duck)
    assert comparable_summary(spark_run) == comparable_summary(duck)


# -- the demo tenant -----------------------------------------------------------------------------------------


@pytest.mark.spark
def test_demo_logs_give_identical_incidents(demo_logs: list[Path], spark: Any, tmp_path: Path) -> None:
    duck = run_detection(demo_logs)
    on_spark = run_detection(demo_logs, engine="spark", parquet_dir=tmp_path / "parquet")
    assert_same_runs(duck, on_spark)
    assert [i.rule for i in on_spark.at_or_above("high")] == ["tap-bootstrapped-persistence"]
    assert len(on_spark.incidents) == 5  # the planted attack and four lesser ones: not two empty lists
    assert {p.name for p in on_spark.parquet} == {"audit_events.parquet", "signin_events.parquet"}
    assert any(n.startswith("The rules ran on Spark (local[*])") for n in on_spark.notes)


@pytest.mark.spark
def test_demo_logs_with_every_input_give_identical_incidents(
    demo: DemoSummary, demo_logs: list[Path], spark: Any, tmp_path: Path
) -> None:
    tickets = tmp_path / "tickets.csv"
    tickets.write_text("ticket,user,time\nREQ0041733,mila.jansen@contoso-demo.example,2026-11-11T09:30:00Z\n")
    settings = DetectSettings(timezone="Europe/Amsterdam", window_minutes=600)
    kwargs: dict[str, Any] = {"settings": settings, "snapshot_dir": demo.out_dir, "tickets_path": tickets}
    duck = run_detection(demo_logs, **kwargs)
    on_spark = run_detection(demo_logs, engine="spark", **kwargs)  # Parquet in a temporary folder
    assert_same_runs(duck, on_spark)
    fired = {i.rule for i in on_spark.incidents}
    assert {"tap-bootstrapped-persistence", "tap-issued-without-ticket", "tap-issued-outside-hours"} <= fired
    assert on_spark.parquet == []


@pytest.mark.spark
@pytest.mark.parametrize(
    ("scenario", "attack"),
    [
        ("tap-persistence", "tap-bootstrapped-persistence"),
        # the intruder registers in the MFA-enrolment interrupt (50079) a password alone reaches
        ("registration-gate-bypass", "security-info-registered-without-mfa"),
    ],
)
def test_range_logs_after_an_attack_give_identical_incidents(
    scenario: str, attack: str, spark: Any, tmp_path: Path
) -> None:
    state, out = tmp_path / "range", tmp_path / "export"
    for args in (
        ("range", "start", scenario, "--state", str(state)),
        ("range", "export", str(out), "--state", str(state)),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "graphlattice", *args], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
    logs = [out / "directoryAudits.jsonl", out / "signIns.jsonl"]
    duck = run_detection(logs, snapshot_dir=out)
    on_spark = run_detection(logs, snapshot_dir=out, engine="spark")
    assert_same_runs(duck, on_spark)
    assert [i.rule for i in on_spark.at_or_above("high")] == [attack]


# -- every fixture case of every rule ------------------------------------------------------------------------


def _cases() -> list[Any]:
    return [
        pytest.param(rule, case, id=f"{rule}: {case['name']}")
        for rule in PACK.alerting
        if (FIXTURES / rule / "cases.yaml").exists()
        for case in load_cases(rule)
    ]


@pytest.mark.spark
@pytest.mark.parametrize(("rule", "case"), _cases())
def test_fixture_case_gives_identical_matches_and_incidents(
    rule: str, case: dict[str, Any], spark: Any, tmp_path: Path
) -> None:
    from graphlattice.detect.spark import SparkEvents

    loaded = PACK[rule]
    with case_store(tmp_path / "logs", case) as (store, settings):
        duck_matches = run_rule(store, loaded, settings)
        duck_incidents = build_incidents(store, PACK, {rule: duck_matches}, settings)
        parquet = export_parquet(store, tmp_path / "parquet")
    with SparkEvents(parquet) as events:
        spark_matches = run_rule(events, loaded, settings)
        spark_incidents = build_incidents(events, PACK, {rule: spark_matches}, settings)
    assert spark_matches == duck_matches
    assert [i.to_json() for i in spark_incidents] == [i.to_json() for i in duck_incidents]
    if case.get("match"):
        assert spark_matches, "the case expects matches: the comparison must not be of two empty lists"


def test_every_rule_compiles_to_spark_sql() -> None:
    for name in PACK.alerting:
        sql = rule_sql(PACK, name, dialect=SPARK)
        assert re.search(r"`[a-z_]+`", sql), f"{name}: Spark SQL quotes identifiers with backquotes"
        assert "list_filter" not in sql and "lambda" not in sql, name
    sequence = rule_sql(PACK, "tap-bootstrapped-persistence", DetectSettings(window_minutes=90), SPARK)
    assert "INTERVAL '5400' SECOND" in sequence and "`target_user_id` AS g0" in sequence
    strong_auth = rule_sql(PACK, "strong-auth-disabled", dialect=SPARK)
    assert "exists(`modified_properties`, _e -> " in strong_auth and "_e.`key`" in strong_auth


# -- the command line ----------------------------------------------------------------------------------------


def detect(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graphlattice", "detect", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.spark
def test_cli_engine_spark_prints_the_same_json(demo_logs: list[Path], spark: Any, tmp_path: Path) -> None:
    parquet = tmp_path / "parquet"
    proc = detect(*map(str, demo_logs), "--engine", "spark", "--format", "json", "--parquet", str(parquet))
    assert proc.returncode == 0, proc.stderr
    doc = orjson.loads(proc.stdout)  # stdout is the report alone; Spark's own logging goes to stderr
    assert doc["summary"]["engine"] == "spark"
    assert doc["incidents"] == incidents(run_detection(demo_logs))
    assert sorted(p.name for p in parquet.iterdir()) == ["audit_events.parquet", "signin_events.parquet"]
    assert "note: The rules ran on Spark (local[*])" in proc.stderr


def test_cli_spark_master_needs_engine_spark(demo_logs: list[Path]) -> None:
    proc = detect(*map(str, demo_logs), "--spark-master", "local[2]")
    assert one_line_error(proc) == "error: --spark-master goes with --engine spark"
    assert proc.returncode == 2


def test_cli_cluster_master_needs_shared_parquet(demo_logs: list[Path]) -> None:
    proc = detect(*map(str, demo_logs), "--engine", "spark", "--spark-master", "spark://10.0.0.1:7077")
    assert "needs --parquet DIR" in one_line_error(proc)


def test_cli_without_pyspark_says_which_extra_to_install(demo_logs: list[Path], tmp_path: Path) -> None:
    blocker = tmp_path / "no-pyspark" / "pyspark"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named pyspark')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker.parent)}
    proc = detect(*map(str, demo_logs), "--engine", "spark", env=env)
    line = one_line_error(proc)
    assert "needs pyspark" in line and "pip install 'graphlattice[spark]'" in line


@needs_pyspark
def test_cli_without_java_says_so(demo_logs: list[Path], tmp_path: Path) -> None:
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-jdk")}
    line = one_line_error(detect(*map(str, demo_logs), "--engine", "spark", env=env))
    assert f"JAVA_HOME is {tmp_path / 'no-jdk'}, which has no bin/java" in line
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"} | {"PATH": str(tmp_path)}
    line = one_line_error(detect(*map(str, demo_logs), "--engine", "spark", env=env))
    assert "needs Java (17 or newer)" in line and "JAVA_HOME" in line
