"""The rule pack: Sigma YAML files under ``rules/``, parsed and checked with pySigma.

Each file holds one alerting rule; a sequence rule's file also holds its base rules (which do not alert on
their own). A rule is known by its Sigma ``name``; that name is the rule id used in incidents, fixtures and
containment plans. Loading checks what the engine relies on: every rule has a unique name and UUID, every
base rule reads ``product: azure`` audit or sign-in logs, every correlation resolves, and every detection
compiles to SQL over the canonical fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule, SigmaRuleBase

from graphlattice.detect.fields import LOGSOURCE_TABLES, field_map
from graphlattice.detect.sigma_sql import compile_detection
from graphlattice.errors import CatalogError
from graphlattice.files import SIGMA_RULE
from graphlattice.safeyaml import load_yaml_documents, parse_yaml_documents

__all__ = ["RULES_DIR", "LoadedRule", "RulePack", "attack_techniques", "load_pack", "rule_event_type"]

RULES_DIR = Path(__file__).parent / "rules"

LEVELS = ("informational", "low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class LoadedRule:
    name: str
    sigma: SigmaRule | SigmaCorrelationRule
    path: Path

    @property
    def title(self) -> str:
        return str(self.sigma.title)

    @property
    def level(self) -> str:
        return self.sigma.level.name.lower() if self.sigma.level is not None else "informational"

    @property
    def tags(self) -> list[str]:
        return [str(tag) for tag in self.sigma.tags]

    @property
    def is_correlation(self) -> bool:
        return isinstance(self.sigma, SigmaCorrelationRule)


@dataclass(frozen=True, slots=True)
class RulePack:
    rules: dict[str, LoadedRule]  # every rule by name, base rules included
    alerting: tuple[str, ...]  # names of the rules that produce incidents, in file order
    collection: SigmaCollection

    def __getitem__(self, name: str) -> LoadedRule:
        return self.rules[name]

    def with_rules(self, extra: Sequence[LoadedRule]) -> RulePack:
        """This pack plus more alerting detection rules (community rules run next to the pack)."""
        rules = dict(self.rules)
        for rule in extra:
            if rule.name in rules:
                raise CatalogError(str(rule.path), f"rule name {rule.name!r} is already in use")
            rules[rule.name] = rule
        added = [rule.sigma for rule in extra]
        collection = SigmaCollection([*self.collection.rules, *added])
        return RulePack(rules, (*self.alerting, *(rule.name for rule in extra)), collection)


def attack_techniques(tags: Iterable[str]) -> list[str]:
    """``attack.t1556.006`` -> ``T1556.006``."""
    out = []
    for tag in tags:
        match = re.fullmatch(r"attack\.(t\d{4}(?:\.\d{3})?)", tag.lower())
        if match:
            out.append(match.group(1).upper())
    return out


def rule_event_type(rule: SigmaRule) -> str | None:
    """AUDIT or SIGNIN for a rule over ``product: azure`` audit or sign-in logs, else None."""
    source = rule.logsource
    if (source.product or "").lower() != "azure":
        return None
    return LOGSOURCE_TABLES.get((source.service or "").lower())


def sigma_documents(path: Path, text: str | None = None) -> list[Any]:
    """The YAML documents of a Sigma rule file, read with the project's safe YAML reader (a regular file of
    at most 4 MiB; no alias bombs, deep nesting, huge numbers or unknown tags). ``text``: already read."""
    if text is None:
        return load_yaml_documents(path, SIGMA_RULE, CatalogError, lines=False)
    return parse_yaml_documents(text, str(path), CatalogError, lines=False)


def _parse_file(path: Path) -> list[SigmaRuleBase]:
    documents = sigma_documents(path)
    try:
        collection = SigmaCollection.from_dicts(documents, resolve_references=False)
    except SigmaError as exc:
        raise CatalogError(str(path), f"not a valid Sigma rule: {exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:  # pySigma's own errors on odd shapes
        raise CatalogError(str(path), f"not a valid Sigma rule file: {exc}") from None
    return list(collection.rules)


def load_pack(paths: Sequence[Path] | None = None) -> RulePack:
    """The pack from ``paths`` (files or folders of ``*.yaml`` / ``*.yml``; default: the built-in pack)."""
    if paths is None:
        return _builtin_pack()
    return _load(tuple(paths))


@lru_cache(maxsize=1)
def _builtin_pack() -> RulePack:
    return _load((RULES_DIR,))


def _rule_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def _load(paths: Sequence[Path]) -> RulePack:
    loaded: dict[str, LoadedRule] = {}
    ids: dict[str, Path] = {}
    order: list[str] = []
    all_rules: list[SigmaRule | SigmaCorrelationRule | SigmaFilter] = []
    for path in _rule_files(paths):
        for rule in _parse_file(path):
            if not isinstance(rule, SigmaRule | SigmaCorrelationRule):
                raise CatalogError(str(path), "only detection and correlation rules are supported")
            if not rule.name:
                raise CatalogError(str(path), f"rule {rule.title!r} has no name (the rule id)")
            if rule.name in loaded:
                raise CatalogError(
                    str(path), f"rule name {rule.name!r} is also used in {loaded[rule.name].path}"
                )
            if rule.id is None:
                raise CatalogError(str(path), f"rule {rule.name!r} has no id (a UUID)")
            if str(rule.id) in ids:
                raise CatalogError(str(path), f"rule id {rule.id} is also used in {ids[str(rule.id)]}")
            if rule.level is None:
                raise CatalogError(str(path), f"rule {rule.name!r} has no level")
            ids[str(rule.id)] = path
            loaded[rule.name] = LoadedRule(rule.name, rule, path)
            order.append(rule.name)
            all_rules.append(rule)
    collection = SigmaCollection(all_rules)
    try:
        collection.resolve_rule_references()
    except SigmaError as exc:
        raise CatalogError(
            str(paths[0]), f"a correlation rule refers to a rule that does not exist: {exc}"
        ) from None
    for name in order:
        _check(loaded[name], loaded)
    output = {id(rule) for rule in collection.get_output_rules()}
    alerting = tuple(name for name in order if id(loaded[name].sigma) in output)
    return RulePack(loaded, alerting, collection)


def _check(rule: LoadedRule, loaded: dict[str, LoadedRule]) -> None:
    where = str(rule.path)
    sigma = rule.sigma
    if isinstance(sigma, SigmaRule):
        kind = rule_event_type(sigma)
        if kind is None:
            raise CatalogError(
                where, f"rule {rule.name!r}: logsource must be product azure, service auditlogs or signinlogs"
            )
        compile_detection(sigma, field_map(kind), where)
        return
    for ref in sigma.referenced_rules:
        target = ref.rule
        if isinstance(target, SigmaCorrelationRule):
            raise CatalogError(where, f"rule {rule.name!r}: nested correlations are not supported")
        if target.name not in loaded:
            raise CatalogError(where, f"rule {rule.name!r} refers to {ref.reference!r}, which has no name")
