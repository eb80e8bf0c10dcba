"""The public surface is deliberate: this list changes only on purpose."""

from __future__ import annotations

import graphlattice

PUBLIC = {
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
}


def test_exported_members() -> None:
    assert set(graphlattice.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(graphlattice, name) is not None


def test_error_hierarchy() -> None:
    assert issubclass(graphlattice.SnapshotError, graphlattice.InputError)
    assert issubclass(graphlattice.LogError, graphlattice.InputError)
    assert issubclass(graphlattice.InputError, graphlattice.GraphLatticeError)
    assert issubclass(graphlattice.UsageError, graphlattice.GraphLatticeError)
    assert issubclass(graphlattice.ActionDenied, graphlattice.RangeError)
    assert issubclass(graphlattice.RangeError, graphlattice.InputError)
    assert graphlattice.RangeError.exit_code == 3
    assert graphlattice.ActionDenied.exit_code == 4
