"""What every exporter shares: rule copies, the parts of a detection, notes, conversion through pySigma.

An exporter turns one alerting rule of the pack (a detection rule or a correlation rule with its base rules)
into one query for its engine. The canonical fields of :mod:`graphlattice.detect.fields` are the seam: each
exporter says, per field, whether the target has it (a column or expression), computes it (an enrichment
rebuilt in the target's language), or lacks it. Conditions on a lacking field are left out and the query says
so in its header; an alerting rule that cannot do without one is not exported at all (:class:`NotExportable`),
because the query that remained would alert on something else than the rule describes.

Rules are deep-copied before any processing: pySigma pipelines rewrite rules in place, and the built-in pack
is shared.
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionItem, ConditionNOT
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.processing.conditions import IncludeFieldCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import DropDetectionItemTransformation, FieldMappingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaBool, SigmaType

from graphlattice.detect.fields import Field, Kind, field_map
from graphlattice.detect.pack import LoadedRule, attack_techniques, rule_event_type
from graphlattice.detect.settings import DetectSettings
from graphlattice.errors import CatalogError

__all__ = [
    "ExportedRule",
    "Exporter",
    "ListGroup",
    "NotExportable",
    "alias_column",
    "comment_block",
    "control_character_value",
    "convert_predicate",
    "describe_item",
    "fields_in",
    "fresh_rule",
    "group_list_items",
    "one_line",
    "required_fields",
    "step_rules",
]


class NotExportable(Exception):
    """A rule that cannot be expressed on a backend without changing what it alerts on; ``str`` says why."""


@dataclass(frozen=True, slots=True)
class ExportedRule:
    """One rule as a query for one engine."""

    name: str
    title: str
    level: str
    backend: str
    extension: str
    text: str
    kept: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.extension}"


@dataclass(frozen=True, slots=True)
class ListGroup:
    """The detection items of one selection that are about one list field, matched on ONE element together."""

    name: str  # the placeholder field that replaces them in the rule
    field: Field
    items: tuple[SigmaDetectionItem, ...]


class Exporter:
    """One backend: ``export`` returns the rule as a query or raises :class:`NotExportable`."""

    name = ""
    title = ""
    extension = ""

    def __init__(self, settings: DetectSettings) -> None:
        self.settings = settings

    def export(self, loaded: LoadedRule) -> ExportedRule:  # pragma: no cover - every backend overrides
        raise NotImplementedError


# -- rules -----------------------------------------------------------------------------------------------


def fresh_rule(rule: SigmaRule) -> SigmaRule:
    """A private copy of a detection rule that backends will convert (base rules of a sequence included)."""
    copied = copy.deepcopy(rule)
    copied._output = True
    return copied


def step_rules(rule: SigmaCorrelationRule) -> list[SigmaRule]:
    """The base rules of a correlation, in order; nested correlations are refused."""
    steps = []
    for ref in rule.referenced_rules:
        if not isinstance(ref.rule, SigmaRule):
            raise NotExportable("nested correlation rules are not supported")
        steps.append(ref.rule)
    return steps


def alias_column(rule: SigmaCorrelationRule, group: str, step: SigmaRule) -> str:
    """The field of ``step`` that the correlation's group-by name ``group`` stands for (through aliases)."""
    for alias in rule.aliases:
        if alias.alias != group:
            continue
        for ref, column in alias.mapping.items():
            if ref.reference in (step.name, str(step.id)):
                return str(column)
    return group


def event_type(rule: SigmaRule, where: str) -> str:
    kind = rule_event_type(rule)
    if kind is None:
        raise CatalogError(where, f"rule {rule.name or rule.title!r}: not over azure audit or sign-in logs")
    return kind


def _detections(rule: SigmaRule) -> Iterator[SigmaDetection]:
    """Every detection (selection) of the rule, nested ones included, outermost first."""
    stack: list[SigmaDetection] = list(rule.detection.detections.values())
    while stack:
        detection = stack.pop(0)
        yield detection
        stack.extend(item for item in detection.detection_items if isinstance(item, SigmaDetection))


def _items(rule: SigmaRule) -> Iterator[SigmaDetectionItem]:
    for detection in _detections(rule):
        yield from (item for item in detection.detection_items if isinstance(item, SigmaDetectionItem))


def _list_base(name: str | None, columns: Mapping[str, Field]) -> Field | None:
    if name is None:
        return None
    base = columns.get(name)
    if base is not None:
        return base if base.kind in (Kind.TEXT_LIST, Kind.STRUCT_LIST) else None
    head, _, sub = name.partition(".")
    base = columns.get(head)
    if base is not None and base.kind is Kind.STRUCT_LIST and sub in base.subfields:
        return base
    return None


def fields_in(rule: SigmaRule) -> set[str]:
    """The field names the rule's detection items name (after any grouping)."""
    return {item.field for item in _items(rule) if item.field is not None}


def group_list_items(rule: SigmaRule, kind: str, prefix: str = "_match_") -> list[ListGroup]:
    """Replace, in every AND-linked selection, the items about one list field by one placeholder item.

    The placeholder is ``{prefix}N: true``; the returned groups say what each placeholder stands for. Items
    that test only whether the list exists (``|exists``, ``null``) stay as they are.
    """
    columns = field_map(kind)
    groups: list[ListGroup] = []
    for detection in _detections(rule):
        if detection.item_linking is not ConditionAND:
            single = [
                item
                for item in detection.detection_items
                if isinstance(item, SigmaDetectionItem) and _list_base(item.field, columns) is not None
            ]
            # an OR of plain items (rare): each item is its own group
            by_field = [[item] for item in single]
        else:
            found: dict[str, list[SigmaDetectionItem]] = {}
            for item in detection.detection_items:
                if isinstance(item, SigmaDetectionItem):
                    base = _list_base(item.field, columns)
                    if base is not None and not _is_presence_test(item):
                        found.setdefault(base.name, []).append(item)
            by_field = list(found.values())
        for members in by_field:
            base = _list_base(members[0].field, columns)
            assert base is not None
            name = f"{prefix}{len(groups) + 1}"
            placeholder = SigmaDetectionItem.from_mapping(name, True)
            placeholder.parent = detection
            position = detection.detection_items.index(members[0])
            detection.detection_items = [i for i in detection.detection_items if i not in members]
            detection.detection_items.insert(position, placeholder)
            groups.append(ListGroup(name, base, tuple(members)))
    return groups


def _is_presence_test(item: SigmaDetectionItem) -> bool:
    from sigma.types import SigmaExists, SigmaNull

    return all(isinstance(v, SigmaExists | SigmaNull) for v in item.value)


def element_rule(group: ListGroup, rule: SigmaRule) -> SigmaRule:
    """A one-selection rule holding a group's items, to convert as the predicate over one list element."""
    items = [copy.deepcopy(item) for item in group.items]
    detection = SigmaDetection(detection_items=list(items), item_linking=ConditionAND)
    for item in items:
        item.parent = detection
    from sigma.rule import SigmaDetections

    detections = SigmaDetections(detections={"element": detection}, condition=["element"])
    element = SigmaRule(title=f"{rule.title} (element)", logsource=rule.logsource, detection=detections)
    return element


# -- conditions the target cannot evaluate ---------------------------------------------------------------


def required_fields(rule: SigmaRule, candidates: Iterable[str]) -> set[str]:
    """Those ``candidates`` that a top-level conjunct of the condition consists of entirely.

    Without such a field the rule would match every event that satisfies the rest: the field carries what
    the rule is about.
    """
    wanted = set(candidates)
    found: set[str] = set()
    for condition in rule.detection.parsed_condition:
        for conjunct in _conjuncts(condition.parsed):
            names = _leaf_fields(conjunct)
            if names and names <= wanted:
                found |= names
    return found


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, ConditionAND):
        out = []
        for arg in node.args:
            out.extend(_conjuncts(arg))
        return out
    return [node]


def _leaf_fields(node: Any) -> set[str]:
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return {node.field}
    if isinstance(node, ConditionItem):
        out: set[str] = set()
        for arg in node.args:
            out |= _leaf_fields(arg)
        return out
    return set()


def conjuncts_without(
    tree: Any, fields: set[str]
) -> ConditionItem | ConditionFieldEqualsValueExpression | None:
    """The top-level conjuncts of ``tree`` that name none of ``fields``: a necessary condition for it."""
    keep = [c for c in _conjuncts(tree) if not (_leaf_fields(c) & fields) and _leaf_fields(c)]
    if not keep:
        return None
    if len(keep) == 1:
        node: ConditionItem | ConditionFieldEqualsValueExpression = keep[0]
        return node
    return ConditionAND(keep)


def describe_item(item: SigmaDetectionItem) -> str:
    """``field|modifier: value`` for a note."""
    modifiers = "".join(
        f"|{m.__name__.removeprefix('Sigma').removesuffix('Modifier').lower()}" for m in item.modifiers
    )
    values = item.original_value if item.original_value is not None else item.value
    shown = [_plain(v) for v in values]
    value = shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"
    return f"{item.field}{modifiers}: {value}"


def _plain(value: SigmaType) -> str:
    if isinstance(value, SigmaBool):
        return "true" if value.boolean else "false"
    plain = getattr(value, "to_plain", None)
    text = plain() if callable(plain) else value
    return str(text)


def items_on(rule: SigmaRule, fields: Iterable[str]) -> list[str]:
    wanted = set(fields)
    return sorted({describe_item(item) for item in _items(rule) if item.field in wanted})


# -- conversion through a pySigma backend ------------------------------------------------------------------


@dataclass
class Conversion:
    """A rule converted by a backend: one predicate per condition (usually one), and the tree it came from."""

    predicate: str
    trees: list[Any] = field(default_factory=list)


def mapping_pipeline(
    name: str, mapping: Mapping[str, str | list[str]], drop: Iterable[str] = ()
) -> ProcessingPipeline:
    """Drop the items on ``drop`` fields, then rename canonical fields to the target's."""
    items = []
    dropped = sorted(set(drop))
    if dropped:
        items.append(
            ProcessingItem(
                identifier=f"graphlattice-{name}-drop",
                transformation=DropDetectionItemTransformation(),
                field_name_conditions=[IncludeFieldCondition(dropped)],
            )
        )
    renames: dict[str | None, str | list[str]] = dict(mapping.items())
    items.append(
        ProcessingItem(
            identifier=f"graphlattice-{name}-fields",
            transformation=FieldMappingTransformation(renames),
        )
    )
    return ProcessingPipeline(name=f"GraphLattice canonical fields to {name}", items=items)


def convert_predicate(backend: TextQueryBackend, pipeline: ProcessingPipeline, rule: SigmaRule) -> Conversion:
    """Apply ``pipeline`` to ``rule`` (in place) and convert its condition(s) with ``backend``.

    Several conditions of one rule are alternatives and are OR-ed. An empty result (everything dropped) is
    an error the caller reports.
    """
    pipeline.apply(rule)
    parts = []
    trees = []
    for condition in rule.detection.parsed_condition:
        tree = condition.parsed
        trees.append(tree)
        state = ConversionState(processing_state=dict(pipeline.state))
        converted = backend.convert_condition(tree, state)
        if converted is None:
            continue
        if not isinstance(converted, str):
            raise NotExportable(
                "the backend produced a deferred expression, which this exporter cannot place"
            )
        parts.append(converted)
    if not parts:
        raise NotExportable("nothing of the rule's condition is left on this backend")
    predicate = parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)
    return Conversion(predicate, trees)


def convert_tree(backend: TextQueryBackend, tree: Any) -> str | None:
    """Convert one condition (sub)tree of a rule the pipeline was already applied to."""
    if tree is None:
        return None
    converted = backend.convert_condition(tree, ConversionState())
    if converted is not None and not isinstance(converted, str):
        raise NotExportable("the backend produced a deferred expression, which this exporter cannot place")
    return converted


def negated(node: Any) -> bool:
    while node is not None:
        if isinstance(node, ConditionNOT):
            return True
        node = getattr(node, "parent", None)
    return False


# -- text ------------------------------------------------------------------------------------------------


def comment_block(
    loaded: LoadedRule,
    prefix: str,
    target: str,
    kept: Sequence[str],
    lost: Sequence[str],
    extra: Sequence[str] = (),
) -> str:
    """The header every exported query starts with: what the rule is, what survived, what did not."""
    sigma = loaded.sigma
    lines = [
        one_line(loaded.title),
        f"GraphLattice rule {one_line(loaded.name)} (Sigma id {sigma.id}), level {loaded.level}",
    ]
    techniques = attack_techniques(loaded.tags)
    if techniques:
        lines.append("ATT&CK: " + ", ".join(techniques))
    lines.append(f"Target: {target}")
    if sigma.description:
        lines += ["", *textwrap.wrap(" ".join(str(sigma.description).split()), 100)]
    if kept:
        lines += ["", "Kept:"] + [line for k in kept for line in _bullet(k)]
    if lost:
        lines += ["", "Not kept (the query matches more, or differently, than the local engine):"]
        lines += [line for item in lost for line in _bullet(item)]
    if extra:
        lines += ["", *extra]
    falsepositives = [str(fp) for fp in (sigma.falsepositives or [])]
    if falsepositives:
        lines += ["", "False positives:"] + [line for fp in falsepositives for line in _bullet(fp)]
    return "\n".join(f"{prefix} {line}".rstrip() for line in lines)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) as one space: a comment line stays one."""
    return " ".join(str(text).split())


def control_character_value(rule: SigmaRule) -> str | None:
    """The first value of the rule that holds a line break or another control character, shown escaped;
    None when there is none."""
    for item in _items(rule):
        for value in item.value:
            text = str(getattr(value, "regexp", value))
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
                return text.encode("unicode_escape").decode("ascii")
    return None


def _bullet(text: str) -> list[str]:
    return textwrap.wrap(text, 100, initial_indent="  - ", subsequent_indent="    ") or ["  -"]
