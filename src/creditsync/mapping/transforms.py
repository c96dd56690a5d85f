"""The closed set of named transforms, as pydantic models (one per transform) plus bare names.

In YAML a transform is either a bare name (``trim``) or a one-key object whose key is the transform's
name (``{join: ";"}``). Which model validates an item is decided by that name alone (a callable
discriminator), so a typo is reported as "unknown transform", not as a dozen union mismatches.
Every transform except ``default`` passes None through untouched: a missing value stays missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from creditsync.exceptions import ConfigurationError
from creditsync.mapping import custom
from creditsync.mapping._parsers import (
    fullwidth_to_halfwidth,
    offset_date,
    parse_date,
    scale,
    trim,
    yuan_to_wan,
)
from creditsync.mapping._values import TransformError, as_text, each, is_empty, show
from creditsync.mapping.codes import CodeLookup
from creditsync.mapping.paths import SourcePath, resolve

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class StepContext:
    """What a transform may know besides the value: the target field (for messages) and code tables."""

    field: str
    lookup: CodeLookup


class Strict(BaseModel):
    """Base of every model of the mapping language: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _stringify_keys(value: Any) -> Any:
    # YAML reads `1: 自然人` as an int key; source values are compared as text, so keys are text too.
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


class Step(Strict):
    TAG: ClassVar[str]
    HANDLES_NONE: ClassVar[bool] = False

    def apply(self, value: Any, ctx: StepContext) -> Any:
        raise NotImplementedError


class DateArgs(Strict):
    formats: list[str] = Field(default_factory=list, description="strptime formats tried before built-ins")


class DateStep(Step):
    """Parse a date (given formats, then YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, ISO) → ``YYYY-MM-DD``."""

    TAG = "date"
    date: DateArgs

    def apply(self, value: Any, ctx: StepContext) -> Any:
        return each(value, lambda v: parse_date(v, ctx.field, self.date.formats))


class OffsetArgs(Strict):
    years: int = Field(default=0, description="whole years, may be negative")
    months: int = Field(default=0, description="whole months, may be negative")
    days: int = Field(default=0, description="days, may be negative; applied after years and months")

    @model_validator(mode="after")
    def _moves(self) -> OffsetArgs:
        if not self.model_fields_set:
            raise ValueError("offset needs years, months or days, e.g. {offset: {years: 1}}")
        return self


class OffsetStep(Step):
    """Move a date by years, months and days → ``YYYY-MM-DD`` (a month's end day when the day is gone)."""

    TAG = "offset"
    offset: OffsetArgs

    def apply(self, value: Any, ctx: StepContext) -> Any:
        move = self.offset
        return each(
            value, lambda v: offset_date(v, ctx.field, years=move.years, months=move.months, days=move.days)
        )


class CodeArgs(Strict):
    table: str | None = Field(default=None, description="code table name, resolved by the injected lookup")
    map: dict[str, str] = Field(default_factory=dict, description="local codes checked before the table")

    _keys_as_text = field_validator("map", mode="before")(_stringify_keys)

    @model_validator(mode="after")
    def _needs_a_source(self) -> CodeArgs:
        if self.table is None and not self.map:
            raise ValueError("code needs a table, a map, or both")
        return self


class CodeStep(Step):
    """Translate a code to its canonical text through the inline map, then the named code table."""

    TAG = "code"
    code: CodeArgs

    def apply(self, value: Any, ctx: StepContext) -> Any:
        return each(value, lambda v: self._translate(as_text(v, ctx.field).strip(), ctx))

    def _translate(self, key: str, ctx: StepContext) -> str | None:
        if key in self.code.map:
            return self.code.map[key]
        if not key:
            return None  # blank counts as missing, unless the inline map names it
        table = self.code.table
        if table is not None:
            try:
                return ctx.lookup(table, key)
            except (LookupError, ValueError):  # LookupError: KeyError and the schema's UnknownCodeError
                pass
        where = table or "map"
        raise TransformError(
            f"代码 {show(key, ctx.field)} 不在代码表 {where} 中",
            f"{show(key, ctx.field)} is not in code table {where}",
        )


class MapStep(Step):
    """Inline value map; unknown values are errors unless ``default`` is given next to ``map``."""

    TAG = "map"
    map: dict[str, Scalar] = Field(min_length=1)
    default: Scalar = Field(default=None, description="result for values not in the map")

    _keys_as_text = field_validator("map", mode="before")(_stringify_keys)

    def apply(self, value: Any, ctx: StepContext) -> Any:
        return each(value, lambda v: self._translate(as_text(v, ctx.field).strip(), ctx))

    def _translate(self, key: str, ctx: StepContext) -> Scalar:
        if key in self.map:
            return self.map[key]
        if not key:
            return None  # blank counts as missing, unless the map names it
        if "default" in self.model_fields_set:
            return self.default
        allowed = "、".join(list(self.map)[:10])
        raise TransformError(
            f"值 {show(key, ctx.field)} 不在映射表中（可选：{allowed}）",
            f"{show(key, ctx.field)} is not one of the mapped values ({allowed.replace('、', ', ')})",
        )


class JoinStep(Step):
    """List → text joined by the separator; empty items are skipped, text passes through."""

    TAG = "join"
    join: str

    def apply(self, value: Any, ctx: StepContext) -> Any:
        if not isinstance(value, list | tuple):
            return value
        return self.join.join(as_text(item, ctx.field) for item in value if not is_empty(item))


class SplitStep(Step):
    """Text → list on the separator; parts are trimmed and empty parts dropped."""

    TAG = "split"
    split: str = Field(min_length=1)

    def apply(self, value: Any, ctx: StepContext) -> Any:
        items = value if isinstance(value, list | tuple) else [value]
        texts = (as_text(item, ctx.field) for item in items if item is not None)
        return [part.strip() for text in texts for part in text.split(self.split) if part.strip()]


class DefaultStep(Step):
    """Replace an empty value (None, blank text, empty list) at this point of the chain."""

    TAG = "default"
    HANDLES_NONE = True
    default: Any

    def apply(self, value: Any, ctx: StepContext) -> Any:
        return self.default if is_empty(value) else value


class ReplaceStep(Step):
    """Literal (never regex) replacements, applied in the order written."""

    TAG = "replace"
    replace: dict[Annotated[str, Field(min_length=1)], str] = Field(min_length=1)

    def apply(self, value: Any, ctx: StepContext) -> Any:
        return each(value, lambda v: self._replace(as_text(v, ctx.field)))

    def _replace(self, text: str) -> str:
        for old, new in self.replace.items():
            text = text.replace(old, new)
        return text


def _exact_number(value: Any) -> Any:
    """A factor as written (YAML reads ``0.01`` as a float: its shortest spelling is what was meant)."""
    if isinstance(value, bool):
        raise ValueError("a factor is a number")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | str):
        try:
            return Decimal(str(value).strip())
        except ArithmeticError:
            raise ValueError(f"{value!r} is not a number") from None
    return value


def _usable_factor(value: Decimal) -> Decimal:
    if not value.is_finite() or value == 0:
        raise ValueError("a factor is a finite number other than 0")
    return value


class DivideStep(Step):
    """Divide an amount exactly: 分 → 元 ``{divide: 100}``, 分 → 万元 ``{divide: 1000000}``."""

    TAG = "divide"
    divide: Decimal

    _number = field_validator("divide", mode="before")(_exact_number)
    _factor = field_validator("divide")(_usable_factor)

    def apply(self, value: Any, ctx: StepContext) -> Any:
        return each(value, lambda v: scale(v, ctx.field, self.divide, True))


class MultiplyStep(Step):
    """Multiply an amount exactly: 万元 → 元 ``{multiply: 10000}``."""

    TAG = "multiply"
    multiply: Decimal

    _number = field_validator("multiply", mode="before")(_exact_number)
    _factor = field_validator("multiply")(_usable_factor)

    def apply(self, value: Any, ctx: StepContext) -> Any:
        return each(value, lambda v: scale(v, ctx.field, self.multiply, False))


class Condition(Strict):
    """``{path: status, in: [注销, 撤销]}``, ``{path: unit, equals: 分}`` or ``{path: kind, not_in: [...]}``:
    the value at ``path`` of the source record, compared as trimmed text (a list matches when any of
    its items does; ``not_in`` when none does)."""

    path: SourcePath
    equals: Scalar = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [name for name in ("equals", "in_", "not_in") if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("a condition says exactly one of equals, in or not_in")
        return self

    def holds(self, record: Mapping[str, Any]) -> bool:
        value = resolve(record, self.path)
        items = value if isinstance(value, list | tuple) else [value]
        texts = {str(item).strip() for item in items if item is not None}
        if "equals" in self.model_fields_set:
            return str(self.equals).strip() in texts
        if self.in_ is not None:
            return bool(texts & {str(v).strip() for v in self.in_})
        return not texts & {str(v).strip() for v in self.not_in or []}


class WhenStep(Step):
    """``{when: {path: unit, equals: 分}, then: [{divide: 100}]}``: the ``then`` transforms only when the
    condition holds on the source record (the plan gives the record; see plan.py)."""

    TAG = "when"
    when: Condition
    then: list[Transform] = Field(min_length=1)

    def apply(self, value: Any, ctx: StepContext) -> Any:
        raise NotImplementedError("a when step needs the record: the plan applies it")


class CustomStep(Step):
    """A registered Python transform (see :mod:`creditsync.mapping.custom`)."""

    TAG = "custom"
    custom: str
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for the function")

    @model_validator(mode="after")
    def _registered(self) -> CustomStep:
        try:
            custom.check_arguments("transform", self.custom, self.args)
        except ConfigurationError as exc:  # pydantic only collects ValueErrors, with their location
            raise ValueError(str(exc)) from None
        return self

    def apply(self, value: Any, ctx: StepContext) -> Any:
        func = custom.get("transform", self.custom)
        return call_custom(lambda: func(value, **self.args), self.custom, ctx.field)


def call_custom(call: Callable[[], Any], name: str, field: str) -> Any:
    """Run escape-hatch code; its data errors become field errors, anything else is a bug and raises."""
    try:
        return call()
    except TransformError:
        raise
    except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
        raise TransformError(
            f"自定义函数 {name} 失败：{exc}", f"custom function {name} failed: {exc}"
        ) from exc


BARE_FUNCTIONS: dict[str, Callable[[Any, str], Any]] = {
    "trim": trim,
    "fullwidth_to_halfwidth": fullwidth_to_halfwidth,
    "upper": lambda v, field: as_text(v, field).upper(),
    "lower": lambda v, field: as_text(v, field).lower(),
    "date": lambda v, field: parse_date(v, field),
    "yuan_to_wan": yuan_to_wan,
}
BareTransform = Literal["trim", "fullwidth_to_halfwidth", "upper", "lower", "date", "yuan_to_wan"]
_STEPS: tuple[type[Step], ...] = (
    DivideStep,
    MultiplyStep,
    WhenStep,
    DateStep,
    OffsetStep,
    CodeStep,
    MapStep,
    JoinStep,
    SplitStep,
    DefaultStep,
    ReplaceStep,
    CustomStep,
)
_TAGS = {step.TAG: step for step in _STEPS}
BARE_TRANSFORMS = tuple(BARE_FUNCTIONS)
TRANSFORM_NAMES = tuple(sorted(set(BARE_FUNCTIONS) | set(_TAGS)))


def _transform_tag(value: Any) -> str | None:
    """Which transform an item names; None makes pydantic report ``unknown_transform``."""
    if isinstance(value, Step):
        return value.TAG
    if isinstance(value, str):
        return "bare" if value in BARE_FUNCTIONS else None
    if not isinstance(value, dict):
        return None
    names = [key for key in value if key in _TAGS]
    # `map` and `custom` carry a second key (`default`, `args`) that is itself no transform name.
    for primary in ("map", "custom"):
        if primary in names:
            return primary
    return names[0] if len(names) == 1 else None


Transform = Annotated[
    Annotated[BareTransform, Tag("bare")]
    | Annotated[DivideStep, Tag("divide")]
    | Annotated[MultiplyStep, Tag("multiply")]
    | Annotated[WhenStep, Tag("when")]
    | Annotated[DateStep, Tag("date")]
    | Annotated[OffsetStep, Tag("offset")]
    | Annotated[CodeStep, Tag("code")]
    | Annotated[MapStep, Tag("map")]
    | Annotated[JoinStep, Tag("join")]
    | Annotated[SplitStep, Tag("split")]
    | Annotated[DefaultStep, Tag("default")]
    | Annotated[ReplaceStep, Tag("replace")]
    | Annotated[CustomStep, Tag("custom")],
    Discriminator(
        _transform_tag,
        custom_error_type="unknown_transform",
        custom_error_message="unknown transform",
    ),
]

WhenStep.model_rebuild()
