"""Run the rule pack on Apache Spark: ``graphlattice detect --engine spark [--spark-master URL]``.

The division of labour:

1. DuckDB reads the logs, normalises them and computes the enrichment fields, exactly as for a local run
   (:mod:`.ingest`, :mod:`.enrich`), and writes the two event tables to Parquet (``--parquet DIR``, else a
   temporary folder).
2. Spark reads that Parquet and runs every rule of the pack: each detection and correlation rule is the
   same statement the DuckDB engine runs, written in Spark SQL (:data:`~.sigma_sql.SPARK`).
3. The rows come back to the same Python code that folds sequences and builds incidents, so both engines
   report the same incidents for the same logs (a test holds them to it).

Enrichment stays in DuckDB on purpose: it is defined once, in one SQL dialect (window functions, ASOF
joins), its history is worked out at ingest and a run only applies its settings; the pack is what grows with
the number of rules and what a cluster runs where the logs already live. With a cluster master
(``spark://``, ``yarn``, ``k8s://`` ...) the executors read the Parquet themselves, so ``--parquet`` must
name a folder they can all reach.

pyspark is an optional extra (``pip install 'graphlattice[spark]'``) and needs a Java runtime (17 or newer
for Spark 4): :func:`check_spark` says in one line what is missing before any log is read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from graphlattice.detect.fields import AUDIT, EVENT_TABLES, SIGNIN, Kind, event_columns
from graphlattice.detect.sigma_sql import SPARK, Dialect
from graphlattice.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "DEFAULT_MASTER",
    "INSTALL_HINT",
    "SparkEvents",
    "check_spark",
    "is_local_master",
    "start_session",
]

DEFAULT_MASTER = "local[*]"
INSTALL_HINT = "install the spark extra: pip install 'graphlattice[spark]'"

_LOG4J = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark: %p %c{1}: %m%n
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
logger.apache.name = org.apache
logger.apache.level = error
"""
"""Spark's own logging in sessions this module starts: errors only, on stderr (stdout is the report's). The
``org.apache`` logger is named so that the PySpark driver finds its level configured and does not announce
a default of its own."""


def is_local_master(master: str) -> bool:
    """``local``, ``local[4]``, ``local[*]`` ...: Spark inside this process's JVM, on this machine."""
    return master == "local" or master.startswith("local[")


def _java() -> Path:
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        if not java.is_file():
            raise UsageError(f"--engine spark: JAVA_HOME is {home}, which has no bin/java; point it at a JDK")
        return java
    found = shutil.which("java")
    if found is None:
        raise UsageError(
            "--engine spark needs Java (17 or newer): none on PATH and JAVA_HOME is not set; "
            "install a JDK (e.g. openjdk-17-jre-headless) or set JAVA_HOME"
        )
    return Path(found)


def _java_major(java: Path) -> int | None:
    try:
        proc = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def check_spark() -> str:
    """The pyspark version, after checking pyspark imports and a suitable Java is there (one-line errors)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError(f"--engine spark needs pyspark, which is not installed; {INSTALL_HINT}") from None
    try:
        version = metadata.version("pyspark")
    except metadata.PackageNotFoundError:
        version = "0"
    needed = 17 if int(version.split(".")[0] or 0) >= 4 else 8
    java = _java()
    major = _java_major(java)
    if major is not None and major < needed:
        raise UsageError(
            f"--engine spark: pyspark {version} needs Java {needed} or newer, and {java} is Java {major}; "
            "install a newer JDK or set JAVA_HOME"
        )
    return version


def start_session(master: str = DEFAULT_MASTER, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A new Spark session for detection: UTC, Spark's logging down to errors on stderr, and for a local
    master no UI and nothing listening beyond the loopback interface. ``conf`` adds or overrides settings."""
    from pyspark.sql import SparkSession

    handle, name = tempfile.mkstemp(prefix="graphlattice-log4j2-", suffix=".properties")
    with os.fdopen(handle, "w", encoding="utf-8") as fh:
        fh.write(_LOG4J)
    settings = {
        "spark.app.name": "graphlattice-detect",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{name}",
        "spark.ui.showConsoleProgress": "false",
    }
    if is_local_master(master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": "false",
        }
    settings |= dict(conf or {})
    builder = SparkSession.builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - py4j and pyspark raise several unrelated types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--engine spark: cannot start Spark on {master}: {first}") from None
    finally:
        Path(name).unlink(missing_ok=True)  # read once, when the driver starts


class SparkEvents:
    """The event tables of one run as Spark temporary views; an :class:`~.engine.EventSource`.

    Uses the active Spark session if there is one (and leaves it running), else starts one on ``master``
    and stops it on :meth:`close`.
    """

    def __init__(self, parquet: Mapping[str, Path], master: str = DEFAULT_MASTER) -> None:
        self.master = master
        self.session, self._owned = self._session(master)
        try:
            self._register(parquet)
        except BaseException:
            self.close()
            raise

    @property
    def dialect(self) -> Dialect:
        return SPARK

    def __enter__(self) -> SparkEvents:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self.session.stop()
            self._owned = False

    def _session(self, master: str) -> tuple[SparkSession, bool]:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.conf.set("spark.sql.session.timeZone", "UTC")
            return active, False
        return start_session(master), True

    def _register(self, parquet: Mapping[str, Path]) -> None:
        from pyspark.sql.functions import col

        for kind in (AUDIT, SIGNIN):
            frame = self.session.read.parquet(_location(parquet[kind]))
            # times are UTC wall-clock values; whatever the reader inferred, compare and return them so
            for field in event_columns(kind):
                if field.kind is Kind.TIME:
                    frame = frame.withColumn(field.name, col(field.name).cast("timestamp_ntz"))
            frame.createOrReplaceTempView(EVENT_TABLES[kind])

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.session.sql(sql).collect()]

    def event_records(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        if not ids:
            return records
        wanted = self.session.createDataFrame([(rid,) for rid in ids], "record_id string")
        for kind in (AUDIT, SIGNIN):
            table = self.session.table(EVENT_TABLES[kind])
            for row in table.join(wanted, "record_id", "left_semi").collect():
                record = row.asDict(recursive=True)
                records.setdefault(str(record["record_id"]), record)
        return records


def _location(path: Path) -> str:
    """Where Spark reads a Parquet file: an absolute path (executors of a cluster need the same mount)."""
    return str(path.resolve())
