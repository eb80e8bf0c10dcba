"""Every rule table ships with the Microsoft source it was taken from and notes on how it is read."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

TABLES = sorted(
    entry.name.removesuffix(".yaml")
    for entry in resources.files("graphlattice.entra").joinpath("data").iterdir()
    if entry.name.endswith(".yaml")
)


def test_expected_tables_are_present() -> None:
    assert {"roles", "authority", "auth_strengths", "graph_app_permissions", "methods", "tap_policy"} <= set(
        TABLES
    )


@pytest.mark.parametrize("name", TABLES)
def test_table_names_source_and_notes(name: str) -> None:
    text = resources.files("graphlattice.entra").joinpath("data", f"{name}.yaml").read_text("utf-8")
    table = yaml.safe_load(text)
    assert isinstance(table["source"], str) and "microsoft" in table["source"].casefold()
    assert isinstance(table["notes"], str) and table["notes"].strip()
