"""GraphLattice: an identity-security workbench for Microsoft Entra ID.

The library behind the ``graphlattice`` command::

    from graphlattice import load_snapshot, assess
    tenant = load_snapshot("snapshots/contoso")
    for finding in assess(tenant).findings:
        print(finding.risk, finding.status, finding.summary)
"""

from __future__ import annotations

from graphlattice._version import __version__
from graphlattice.assess import run_assessment
from graphlattice.checks.config import AssessConfig, load_config
from graphlattice.checks.engine import Assessment, assess
from graphlattice.checks.registry import load_catalog
from graphlattice.checks.result import Finding, Severity, Status
from graphlattice.checks.waivers import load_waivers
from graphlattice.errors import (
    ActionDenied,
    CatalogError,
    ConfigError,
    EntraRuleError,
    GraphLatticeError,
    InputError,
    LogError,
    RangeError,
    SnapshotError,
    UsageError,
)
from graphlattice.tenant.model import Tenant
from graphlattice.tenant.snapshot import load_snapshot

__all__ = [
    "ActionDenied",
    "AssessConfig",
    "Assessment",
    "CatalogError",
    "ConfigError",
    "EntraRuleError",
    "Finding",
    "GraphLatticeError",
    "InputError",
    "LogError",
    "RangeError",
    "Severity",
    "SnapshotError",
    "Status",
    "Tenant",
    "UsageError",
    "__version__",
    "assess",
    "load_catalog",
    "load_config",
    "load_snapshot",
    "load_waivers",
    "run_assessment",
]
