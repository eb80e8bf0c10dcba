"""The risk catalogue: one folder per risk under ``catalog/`` holding ``article.md`` and ``check.py``.

The folder name is the risk id with ``-`` written as ``_``; ``check.py`` registers its function under the
same id with :func:`register`. :func:`load_catalog` imports every folder once and cross-checks all three.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from graphlattice.checks.article import Article, parse_article
from graphlattice.checks.context import CheckContext
from graphlattice.checks.result import Finding
from graphlattice.errors import CatalogError

CheckFn = Callable[[CheckContext], Finding | Iterable[Finding]]

CATALOG_DIR = Path(__file__).parent / "catalog"
_REGISTERED: dict[str, CheckFn] = {}


def register(risk_id: str) -> Callable[[CheckFn], CheckFn]:
    def decorate(fn: CheckFn) -> CheckFn:
        if risk_id in _REGISTERED and _REGISTERED[risk_id] is not fn:
            raise CatalogError(fn.__code__.co_filename, f"risk {risk_id!r} is registered twice")
        _REGISTERED[risk_id] = fn
        return fn

    return decorate


@dataclass(frozen=True, slots=True)
class Risk:
    article: Article
    evaluate: CheckFn

    @property
    def id(self) -> str:
        return self.article.id


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, Risk]:
    """Every risk, keyed by id, in catalogue order (folder names sorted)."""
    risks: dict[str, Risk] = {}
    package = "graphlattice.checks.catalog"
    for info in sorted(pkgutil.iter_modules([str(CATALOG_DIR)]), key=lambda i: i.name):
        if not info.ispkg:
            continue
        folder = CATALOG_DIR / info.name
        article_path = folder / "article.md"
        if not article_path.exists():
            raise CatalogError(str(folder), "risk folder has no article.md")
        article = parse_article(article_path)
        expected_folder = article.id.replace("-", "_")
        if info.name != expected_folder:
            raise CatalogError(
                str(article_path), f"id {article.id!r} belongs in folder {expected_folder!r}", 2
            )
        importlib.import_module(f"{package}.{info.name}.check")
        fn = _REGISTERED.get(article.id)
        if fn is None:
            raise CatalogError(str(folder / "check.py"), f"check.py does not register {article.id!r}")
        risks[article.id] = Risk(article, fn)
    for risk in risks.values():
        for related in risk.article.related:
            if related not in risks:
                raise CatalogError(str(risk.article.path), f"related risk {related!r} does not exist")
    stray = set(_REGISTERED) - set(risks)
    if stray:
        raise CatalogError(str(CATALOG_DIR), f"registered without an article: {', '.join(sorted(stray))}")
    return risks


def get_risk(risk_id: str) -> Risk:
    risks = load_catalog()
    if risk_id in risks:
        return risks[risk_id]
    import difflib

    close = difflib.get_close_matches(risk_id, list(risks), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    from graphlattice.errors import UsageError

    raise UsageError(f"unknown risk {risk_id!r}{hint}; 'graphlattice risks' lists them")
