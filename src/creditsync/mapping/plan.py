"""A mapping compiled into a plan: one function per target field, built once per mapping.

Applying a mapping runs for every record, so everything that does not depend on the record is settled
when the plan is built: the source reader chosen (a one-key path is one ``dict.get``), each transform
bound to its field and code lookup, the ``default`` decided. Fields whose value is a pure function of
one source value (a path or a constant, built-in transforms only) with a lookup-like transform (date,
code, map, amount) remember their outcome per source value: such values recur in every batch (party
types, dates, fines, the authority's own constants), and a dict look-up is cheaper than parsing again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from creditsync.mapping._parsers import INVISIBLE as _INVISIBLE
from creditsync.mapping._values import TransformError, each, is_empty
from creditsync.mapping.codes import CodeLookup
from creditsync.mapping.document import ConstField, DefaultFrom, FieldBase, PathField
from creditsync.mapping.paths import resolve
from creditsync.mapping.transforms import (
    BARE_FUNCTIONS,
    CodeStep,
    Condition,
    CustomStep,
    DateStep,
    MapStep,
    OffsetStep,
    Step,
    StepContext,
    WhenStep,
)
from creditsync.strict_text import is_identifier_field

Reader = Callable[[Mapping[str, Any]], Any]
Transform = Callable[[Any], Any]
FieldPlan = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]
"""``evaluate(record, mapped) -> value or None``: ``mapped`` holds the fields evaluated before (what a
``default_from`` reads); raises :class:`TransformError` for this field only."""

# Transforms whose work is worth remembering per source value (the others are a strip or a case
# change, cheaper than the look-up that would replace them).
_LOOKUP_LIKE = frozenset({"date", "yuan_to_wan"})
_LOOKUP_STEPS = (DateStep, CodeStep, MapStep, OffsetStep)
# Results that may be handed to several records: immutable ones only (a list could be changed by one).
_SHAREABLE = (str, int, float, Decimal, date, type(None))
_REMEMBERED_LIMIT = 4096  # distinct source values per field; then it starts again (memory stays flat)


def compile_fields(fields: Mapping[str, FieldBase], lookup: CodeLookup) -> tuple[tuple[str, FieldPlan], ...]:
    """(target code, evaluate) per field, in the mapping's order, except that fields taking their
    default from another field come last (they read the others' mapped values)."""
    order = sorted(fields, key=lambda code: fields[code].default_from is not None)
    return tuple((code, compile_field(code, fields[code], lookup)) for code in order)


def compile_field(code: str, field: FieldBase, lookup: CodeLookup) -> FieldPlan:
    ctx = StepContext(code, lookup)
    read = _reader(field, ctx)
    if field.when is not None:
        read = _only_when(field.when, read)
    if _needs_record(field):
        return _record_aware(field, read, ctx)
    steps = [_transform(t, ctx) for t in field.transforms]
    chain = _chain(steps)
    if _rememberable(field):
        chain = _remembered(chain)
    elif field.transforms == ["trim"]:
        chain = _trimmed(chain)
    if field.default_from is not None:
        return _default_from(field.default_from, read, chain, ctx)
    if "default" in field.model_fields_set:
        default = field.default

        def evaluate_with_default(record: Mapping[str, Any], mapped: Mapping[str, Any]) -> Any:
            value = read(record)
            return chain(default if is_empty(value) else value)

        return evaluate_with_default
    if isinstance(field, PathField) and "." not in field.path and field.when is None:
        key = field.path  # the common case, a top-level key of a plain dict: no reader call

        def evaluate_key(record: Mapping[str, Any], mapped: Mapping[str, Any]) -> Any:
            return chain(record.get(key) if type(record) is dict else read(record))

        return evaluate_key

    def evaluate(record: Mapping[str, Any], mapped: Mapping[str, Any]) -> Any:
        return chain(read(record))

    return evaluate


def _only_when(condition: Condition, read: Reader) -> Reader:
    """The source only when the condition holds; otherwise empty (so ``default`` applies)."""
    return lambda record: read(record) if condition.holds(record) else None


def _needs_record(field: FieldBase) -> bool:
    steps = [*field.transforms, *(field.default_from.transforms if field.default_from else ())]
    return any(isinstance(step, WhenStep) for step in steps)


RecordTransform = Callable[[Any, Mapping[str, Any]], Any]


def _record_chain(transforms: Sequence[Any], ctx: StepContext) -> RecordTransform:
    """A chain whose ``when`` steps look at the record (their ``then`` transforms only if it matches)."""
    steps = [_conditional(t, ctx) if isinstance(t, WhenStep) else _plain_step(_transform(t, ctx))
             for t in transforms]

    def run(value: Any, record: Mapping[str, Any]) -> Any:
        for step in steps:
            value = step(value, record)
        return value

    return run


def _conditional(step: WhenStep, ctx: StepContext) -> RecordTransform:
    inner, condition = _record_chain(step.then, ctx), step.when

    def apply(value: Any, record: Mapping[str, Any]) -> Any:
        return inner(value, record) if condition.holds(record) else value

    return apply


def _plain_step(transform: Transform) -> RecordTransform:
    return lambda value, record: transform(value)


def _record_aware(field: FieldBase, read: Reader, ctx: StepContext) -> FieldPlan:
    """A field with ``when`` steps: evaluated like any other, the record passed along."""
    chain = _record_chain(field.transforms, ctx)
    default_from, default = field.default_from, field.default
    has_default = "default" in field.model_fields_set
    derive = _record_chain(default_from.transforms, ctx) if default_from else None

    def evaluate(record: Mapping[str, Any], mapped: Mapping[str, Any]) -> Any:
        value = read(record)
        if is_empty(value):
            if default_from is not None and derive is not None:
                return derive(mapped.get(default_from.field), record)
            if has_default:
                value = default
        return chain(value, record)

    return evaluate


def _default_from(default_from: DefaultFrom, read: Reader, chain: Transform, ctx: StepContext) -> FieldPlan:
    """An empty source takes another field's mapped value through ``default_from.transforms``."""
    other = default_from.field
    derive = _chain([_transform(t, ctx) for t in default_from.transforms])

    def evaluate_with_default_from(record: Mapping[str, Any], mapped: Mapping[str, Any]) -> Any:
        value = read(record)
        if is_empty(value):
            return derive(mapped.get(other))  # a failed or missing field stays missing (None)
        return chain(value)

    return evaluate_with_default_from


def _trimmed(chain: Transform) -> Transform:
    """A lone ``trim`` (the most common field): text is trimmed here, anything else by the chain."""

    def trim_text(value: Any) -> Any:
        if type(value) is str:
            return value.strip().strip(_INVISIBLE).strip()
        return chain(value)

    return trim_text


def _reader(field: FieldBase, ctx: StepContext) -> Reader:
    if isinstance(field, PathField):
        path = field.path
        if "." not in path:  # the common case: a top-level key of a plain dict
            return lambda record: record.get(path) if type(record) is dict else resolve(record, path)
        return lambda record: resolve(record, path)
    if isinstance(field, ConstField):
        const = field.const
        if is_identifier_field(ctx.field) and type(const) is int:
            # A code written unquoted in the mapping file (``{const: 113701…}``): YAML keeps integers
            # exact, so it is the text the author wrote. Numbers in the *data* are refused (as_text).
            const = str(const)
        return lambda record: const
    return lambda record: field.read(record, ctx)


def _transform(transform: str | Step, ctx: StepContext) -> Transform:
    if isinstance(transform, str):
        return _bare(transform, ctx.field)
    if transform.HANDLES_NONE:
        return lambda value: transform.apply(value, ctx)
    apply = transform.apply
    return lambda value: None if value is None else apply(value, ctx)


def _bare(name: str, field: str) -> Transform:
    func = BARE_FUNCTIONS[name]

    def apply(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return each(value, lambda v: func(v, field))
        return func(value, field)

    return apply


def _chain(steps: Sequence[Transform]) -> Transform:
    if not steps:
        return lambda value: value
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:
        first, second = steps
        return lambda value: second(first(value))

    def run(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return run


def _rememberable(field: FieldBase) -> bool:
    """A pure function of one source value, with work worth remembering."""
    if not isinstance(field, PathField | ConstField):
        return False
    if any(isinstance(t, CustomStep) for t in field.transforms):
        return False  # reviewed code, but nothing says it is a pure function
    return any(
        t in _LOOKUP_LIKE if isinstance(t, str) else isinstance(t, _LOOKUP_STEPS) for t in field.transforms
    )


def _remembered(chain: Transform) -> Transform:
    """``chain`` with its outcome (a shareable value, or the field error) remembered per input.

    Only exact ``str`` inputs and tuples of them are keys: 1, 1.0 and True are equal as keys but not as
    input. A list input is looked up as a tuple (the transforms treat both alike)."""
    outcomes: dict[Any, tuple[Any] | TransformError] = {}

    def run(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            key: Any = value
        elif kind is list and all(type(item) is str for item in value):
            key = tuple(value)
        else:
            return chain(value)
        outcome = outcomes.get(key)
        if outcome is None:
            try:
                result = chain(value)
            except TransformError as exc:
                outcome = TransformError(exc.message_zh, exc.message_en)  # without stack or cause
            else:
                if not isinstance(result, _SHAREABLE):
                    return result
                outcome = (result,)
            if len(outcomes) >= _REMEMBERED_LIMIT:
                outcomes.clear()
            outcomes[key] = outcome
        if isinstance(outcome, TransformError):
            raise TransformError(outcome.message_zh, outcome.message_en)  # a fresh one: no stack builds up
        return outcome[0]

    return run
