"""``graphlattice rules validate``: every problem of a set of Sigma rule files, one line each, FILE:LINE.

Three passes: pySigma parses each file collecting every error (not only the first); the pack loader
(:func:`graphlattice.detect.pack.load_pack`) checks each file as the engine will use it (names, ids, levels,
log sources, fields that exist, conditions that compile, resolvable correlations); then the files are
loaded together, for references and names across files. Rules must also carry what the pack promises its
users: an ATT&CK technique tag and the known false positives.

pySigma rarely knows the line of a problem; when a message names something of the rule (a field, a rule
name) the line where it first appears in the file is reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from graphlattice.detect.pack import RULES_DIR, _load, _rule_files, attack_techniques, sigma_documents
from graphlattice.errors import CatalogError
from graphlattice.files import SIGMA_RULE, read_text

__all__ = ["Problem", "ValidationReport", "validate_rule_files"]


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


@dataclass
class ValidationReport:
    files: int = 0
    rules: int = 0
    problems: list[Problem] = field(default_factory=list)


def validate_rule_files(paths: Sequence[Path] | None = None) -> ValidationReport:
    """Validate the rule files under ``paths`` (files or folders; default: the built-in pack)."""
    files = _rule_files(list(paths) if paths else [RULES_DIR])
    report = ValidationReport(files=len(files))
    deferred: list[Path] = []
    for path in files:
        try:
            text = read_text(path, SIGMA_RULE, CatalogError)
        except CatalogError as exc:
            report.problems.append(Problem(exc.path, exc.line, str(exc).split(": ", 1)[-1]))
            continue
        rules, broken = _pysigma_pass(path, text, report.problems)
        report.rules += rules
        if broken:
            continue
        try:
            _load((path,))
        except CatalogError as exc:
            if "refers to a rule that does not exist" in str(exc):
                deferred.append(path)  # its base rules may live in another file
            else:
                report.problems.append(_problem(exc, text))
    if not report.problems and len(files) > 1:
        try:
            _load(tuple(files))
        except CatalogError as exc:
            try:
                text = read_text(exc.path, SIGMA_RULE, CatalogError)
            except CatalogError:
                text = ""
            report.problems.append(_problem(exc, text))
    elif deferred and not report.problems:
        for path in deferred:
            report.problems.append(
                Problem(str(path), None, "a correlation rule refers to a rule that does not exist")
            )
    return report


def _pysigma_pass(path: Path, text: str, problems: list[Problem]) -> tuple[int, bool]:
    """Parse with pySigma, collecting every error; (rules, whether the file could not be parsed)."""
    try:
        collection = SigmaCollection.from_dicts(sigma_documents(path, text), collect_errors=True)
    except CatalogError as exc:
        problems.append(Problem(str(path), exc.line, exc.message))
        return 0, True
    broken = bool(collection.errors) or any(rule.errors for rule in collection.rules)
    for error in collection.errors:
        problems.append(Problem(str(path), _line_of(str(error), text), f"not a valid Sigma rule: {error}"))
    for rule in collection.rules:
        name = getattr(rule, "name", None) or str(getattr(rule, "title", "?"))
        for error in rule.errors:
            problems.append(Problem(str(path), _line_of(str(error), text, name), f"rule {name!r}: {error}"))
        if isinstance(rule, SigmaRule | SigmaCorrelationRule) and not rule.errors:
            if not attack_techniques(str(tag) for tag in rule.tags):
                problems.append(
                    Problem(
                        str(path),
                        _line_of("'tags'", text, name),
                        f"rule {name!r} has no ATT&CK technique tag",
                    )
                )
            if not rule.falsepositives:
                problems.append(
                    Problem(str(path), _line_of("", text, name), f"rule {name!r} lists no false positives")
                )
    return len(collection.rules), broken


def _problem(exc: CatalogError, text: str) -> Problem:
    message = str(exc)
    prefix = f"{exc.path}:{exc.line}: " if exc.line is not None else f"{exc.path}: "
    message = message.removeprefix(prefix)
    named = re.match(r"rule '([^']+)'", message)
    line = exc.line if exc.line is not None else _line_of(message, text, named.group(1) if named else None)
    return Problem(exc.path, line, message)


def _line_of(message: str, text: str, rule_name: str | None = None) -> int | None:
    """The line of the first thing the message quotes that appears in the file (after the rule's name)."""
    lines = text.splitlines()
    start = 0
    if rule_name:
        for number, line in enumerate(lines):
            if re.search(rf"^\s*(name|title):\s*['\"]?{re.escape(rule_name)}['\"]?\s*$", line):
                start = number
                break
    names = [n for n in re.findall(r"'([^']+)'", message) if n != rule_name]
    for wanted in names:
        key = wanted.split(".")[0] if wanted.count(".") > 2 else wanted
        for number in range(start, len(lines)):
            if re.search(rf"(^|[\s'\"]){re.escape(key)}(\||:|['\"]|\s|$)", lines[number]):
                return number + 1
    return start + 1 if rule_name and start else None
