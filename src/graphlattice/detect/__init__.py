"""Detect and respond: Sigma rules over Entra audit and sign-in logs, run on DuckDB (or Apache Spark).

::

    from graphlattice.detect import run_detection
    run = run_detection([Path("directoryAudits.jsonl"), Path("signIns.jsonl")])
    for incident in run.incidents:
        print(incident.level, incident.rule, incident.summary)

Layers, each its own module: :mod:`.fields` (the canonical field set), :mod:`.store` and :mod:`.ingest`
(logs into DuckDB once: :mod:`.sniff` tells what a file holds, :mod:`.readers` is the SQL that reads it,
:mod:`.stream` rewrites appended documents as JSON Lines, :mod:`.locate` finds a bad record),
:mod:`.enrich` (facts Sigma cannot express, in SQL), :mod:`.pack` and ``rules/``
(the Sigma rule pack), :mod:`.sigma_sql` and :mod:`.engine` (Sigma to SQL, every rule one statement, in
DuckDB's SQL or Spark's), :mod:`.spark` (the pack on Apache Spark over the event tables in Parquet),
:mod:`.incidents` and :mod:`.containment` (what a match means and what to do), :mod:`.respond` (a plan
applied through the collector's Graph client), :mod:`.pipeline` (the SigmaHQ Azure taxonomy mapped onto the
canonical fields), :mod:`.render` (table and HTML).
"""

from __future__ import annotations

from graphlattice.detect.incidents import Incident
from graphlattice.detect.pack import RulePack, load_pack
from graphlattice.detect.run import DetectionRun, run_detection
from graphlattice.detect.settings import DetectSettings, parse_since, parse_working_hours

__all__ = [
    "DetectSettings",
    "DetectionRun",
    "Incident",
    "RulePack",
    "load_pack",
    "parse_since",
    "parse_working_hours",
    "run_detection",
]
