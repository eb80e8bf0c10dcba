"""One sub-package per risk: ``article.md`` (the explanation) and ``check.py`` (the logic)."""
