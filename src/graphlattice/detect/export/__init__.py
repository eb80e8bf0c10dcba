"""Export the rule pack to the engines where large tenants' logs already live.

::

    from graphlattice.detect.export import export_rules
    result = export_rules("kusto", names=["tap-bootstrapped-persistence"])
    print(result.rules[0].text)

One exporter per backend, each converting rules with its pySigma backend and mapping the canonical fields onto
the target's own names: :mod:`.kusto` (Microsoft Sentinel / Azure Data Explorer, ``AuditLogs`` /
``SigninLogs``), :mod:`.splunk` (Splunk Add-on for Microsoft Azure), :mod:`.elastic` (Elastic Security over
the Azure integration) and :mod:`.databricks` (Spark SQL over GraphLattice's Parquet event tables). What
each keeps and loses is in every query's header and in ``docs/detection-export.md``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from graphlattice.detect.export.base import ExportedRule, Exporter, NotExportable
from graphlattice.detect.pack import LoadedRule, RulePack
from graphlattice.detect.settings import DetectSettings
from graphlattice.errors import UsageError

__all__ = [
    "BACKENDS",
    "ExportResult",
    "ExportedRule",
    "NotExportable",
    "Skipped",
    "export_loaded",
    "export_rules",
    "exporter",
    "resolve_backend",
]


def _kusto(settings: DetectSettings) -> Exporter:
    from graphlattice.detect.export.kusto import KustoExporter

    return KustoExporter(settings)


def _splunk(settings: DetectSettings) -> Exporter:
    from graphlattice.detect.export.splunk import SplunkExporter

    return SplunkExporter(settings)


def _elastic(settings: DetectSettings) -> Exporter:
    from graphlattice.detect.export.elastic import ElasticExporter

    return ElasticExporter(settings)


def _databricks(settings: DetectSettings) -> Exporter:
    from graphlattice.detect.export.databricks import DatabricksExporter

    return DatabricksExporter(settings)


BACKENDS: dict[str, Callable[[DetectSettings], Exporter]] = {
    "kusto": _kusto,
    "splunk": _splunk,
    "databricks": _databricks,
    "elasticsearch": _elastic,
}
"""Backend name -> exporter factory, in the order the command line lists them."""

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""A rule name that can name the exported file (``--output DIR``) and sit in a query's comment."""

_ALIASES = {
    "sentinel": "kusto",
    "kql": "kusto",
    "adx": "kusto",
    "spl": "splunk",
    "spark": "databricks",
    "elastic": "elasticsearch",
    "es": "elasticsearch",
}


@dataclass(frozen=True, slots=True)
class Skipped:
    """An alerting rule that was not exported, and why."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ExportResult:
    backend: str
    rules: list[ExportedRule] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def resolve_backend(name: str) -> str:
    """The backend ``name`` means (an alias such as ``sentinel`` allowed), else a UsageError with a hint."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key in BACKENDS:
        return key
    choices = [*BACKENDS, *_ALIASES]
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.5)
    hint = f"; did you mean {_ALIASES.get(close[0], close[0])!r}?" if close else ""
    raise UsageError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)}){hint}")


def exporter(backend: str, settings: DetectSettings | None = None) -> Exporter:
    return BACKENDS[resolve_backend(backend)](settings or DetectSettings())


def export_loaded(
    backend: str, rules: Sequence[LoadedRule], settings: DetectSettings | None = None
) -> ExportResult:
    """Export these rules (alerting rules: detection rules and correlations with their base rules)."""
    name = resolve_backend(backend)
    converter = exporter(name, settings)
    result = ExportResult(name)
    for loaded in rules:
        if _FILE_NAME.fullmatch(loaded.name) is None:
            result.skipped.append(
                Skipped(loaded.name, "its name cannot be a file name (letters, digits, '.', '_', '-' only)")
            )
            continue
        try:
            result.rules.append(converter.export(loaded))
        except NotExportable as exc:
            result.skipped.append(Skipped(loaded.name, str(exc)))
    return result


def export_rules(
    backend: str,
    pack: RulePack | None = None,
    names: Sequence[str] | None = None,
    settings: DetectSettings | None = None,
) -> ExportResult:
    """Export the alerting rules of ``pack`` (default: the built-in pack), or only ``names``."""
    from graphlattice.detect.pack import load_pack

    pack = pack or load_pack()
    if names:
        chosen = []
        for name in names:
            if name not in pack.rules:
                close = difflib.get_close_matches(name, list(pack.rules), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UsageError(f"unknown rule {name!r}{hint} (graphlattice rules list shows them)")
            chosen.append(pack[name])
    else:
        chosen = [pack[name] for name in pack.alerting]
    return export_loaded(backend, chosen, settings)
