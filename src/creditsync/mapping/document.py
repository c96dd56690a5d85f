"""The mapping file, version 1, as pydantic models: what a department's ``<category>.yaml`` may say.

A field has exactly one *source* (``path``, ``const``, ``concat``, ``first_non_empty``, ``collect`` or
``custom``), an optional ``default`` used when the source is empty, and a list of ``transforms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from creditsync.exceptions import ConfigurationError
from creditsync.mapping import custom
from creditsync.mapping._values import TransformError, as_text, is_empty
from creditsync.mapping.categories import CATEGORY_NAME_PATTERN, SHARED_FIELDS, category_prefixes
from creditsync.mapping.paths import SourcePath, resolve
from creditsync.mapping.transforms import Condition, StepContext, Strict, Transform, call_custom

CURRENT_VERSION = 1
# Each category's standard codes share a prefix (categories.py); BZ (备注) is common to all. Checked so
# that a field copied from the wrong category's mapping fails at load time instead of at the platform.
Category = Annotated[str, StringConstraints(pattern=CATEGORY_NAME_PATTERN)]
FIELD_CODE_PATTERN = r"^[A-Z][A-Z0-9_]*$"
FieldCode = Annotated[str, StringConstraints(pattern=FIELD_CODE_PATTERN)]


class PathPart(Strict):
    path: SourcePath
    required: bool | None = Field(
        default=None, description="an empty part refuses the field; default: required without a separator")

    def read(self, record: Mapping[str, Any]) -> Any:
        return resolve(record, self.path)


class ConstPart(Strict):
    const: Any


def _part_tag(value: Any) -> str | None:
    if isinstance(value, PathPart | ConstPart):
        return "path" if isinstance(value, PathPart) else "const"
    names = [key for key in ("path", "const") if isinstance(value, dict) and key in value]
    return names[0] if len(names) == 1 else None


ConcatPart = Annotated[
    Annotated[PathPart, Tag("path")] | Annotated[ConstPart, Tag("const")],
    Discriminator(
        _part_tag, custom_error_type="bad_part", custom_error_message="a part is {path: …} or {const: …}"
    ),
]


class DefaultFrom(Strict):
    """Another mapped field's value as this field's default (``CF_YXQ`` = ``CF_JDRQ`` + 1 year)."""

    field: FieldCode = Field(description="a field of this mapping, already mapped (its transforms applied)")
    transforms: list[Transform] = Field(
        default_factory=list, description="applied to that value only, e.g. [{offset: {years: 1}}]"
    )


class FieldBase(Strict):
    SOURCE: ClassVar[str]
    default: Any = Field(
        default=None, description="used when the source is empty; then goes through transforms"
    )
    default_from: DefaultFrom | None = Field(
        default=None,
        description="used when the source is empty: another field's mapped value through its own transforms",
    )
    transforms: list[Transform] = Field(default_factory=list)
    when: Condition | None = Field(
        default=None, description="the source only when the condition holds on the record; else the default")

    @model_validator(mode="after")
    def _one_default(self) -> FieldBase:
        if self.default_from is not None and "default" in self.model_fields_set:
            raise ValueError("a field has default or default_from, not both")
        return self

    def read(self, record: Mapping[str, Any], ctx: StepContext) -> Any:
        """The source value; then ``default`` when it is empty, then the transforms (see plan.py)."""
        raise NotImplementedError


class PathField(FieldBase):
    SOURCE = "path"
    path: SourcePath

    def read(self, record: Mapping[str, Any], ctx: StepContext) -> Any:
        return resolve(record, self.path)


class ConstField(FieldBase):
    SOURCE = "const"
    const: Any

    def read(self, record: Mapping[str, Any], ctx: StepContext) -> Any:
        return self.const


class ConcatField(FieldBase):
    """Text parts glued together; with ``separator``, empty parts are skipped (no dangling "；").

    Without a separator every path part is required (``required: false`` to allow an empty one): an
    empty part would publish ``…第号``, so the field is refused with a reason instead. With a separator
    parts are optional unless ``required: true``. When every path part is empty the field has no value."""

    SOURCE = "concat"
    concat: list[ConcatPart] = Field(min_length=1)
    separator: str | None = None

    @model_validator(mode="after")
    def _reads_data(self) -> ConcatField:
        if not any(isinstance(part, PathPart) for part in self.concat):
            raise ValueError("concat needs at least one {path: …} part; use const for fixed text")
        return self

    def read(self, record: Mapping[str, Any], ctx: StepContext) -> Any:
        values = [part.read(record) if isinstance(part, PathPart) else part.const for part in self.concat]
        read = [v for v, part in zip(values, self.concat, strict=True) if isinstance(part, PathPart)]
        if all(is_empty(v) for v in read):
            return None  # only the constants would be left: the data itself is missing
        for part, value in zip(self.concat, values, strict=True):
            if not isinstance(part, PathPart):
                continue
            needed = part.required if part.required is not None else self.separator is None
            if needed and is_empty(value):
                raise TransformError(f"拼接所需的 {part.path} 为空，拼接结果将不完整",
                                     f"concat part {part.path!r} is empty: the text would be incomplete")
        if self.separator is not None:
            return self.separator.join(as_text(v, ctx.field) for v in values if not is_empty(v))
        return "".join(as_text(v, ctx.field) for v in values if v is not None)


class FirstNonEmptyField(FieldBase):
    SOURCE = "first_non_empty"
    first_non_empty: list[SourcePath] = Field(min_length=2)

    def read(self, record: Mapping[str, Any], ctx: StepContext) -> Any:
        return next((v for v in (resolve(record, p) for p in self.first_non_empty) if not is_empty(v)), None)


class CollectField(FieldBase):
    """The non-empty values of several paths, as a list (``CF_CFLB1`` + ``CF_CFLB2`` → one list)."""

    SOURCE = "collect"
    collect: list[SourcePath] = Field(min_length=1)

    def read(self, record: Mapping[str, Any], ctx: StepContext) -> Any:
        values = [v for v in (resolve(record, p) for p in self.collect) if not is_empty(v)]
        return values or None


class CustomField(FieldBase):
    """A registered Python source function computing the value from the whole record."""

    SOURCE = "custom"
    custom: str
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _registered(self) -> CustomField:
        try:
            custom.check_arguments("source", self.custom, self.args)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        return self

    def read(self, record: Mapping[str, Any], ctx: StepContext) -> Any:
        func = custom.get("source", self.custom)
        return call_custom(lambda: func(record, **self.args), self.custom, ctx.field)


_FIELD_KINDS: tuple[type[FieldBase], ...] = (
    PathField,
    ConstField,
    ConcatField,
    FirstNonEmptyField,
    CollectField,
    CustomField,
)
SOURCE_KEYS = tuple(kind.SOURCE for kind in _FIELD_KINDS)


def _field_tag(value: Any) -> str | None:
    if isinstance(value, FieldBase):
        return value.SOURCE
    names = [key for key in SOURCE_KEYS if isinstance(value, dict) and key in value]
    return names[0] if len(names) == 1 else None


FieldMapping = Annotated[
    Annotated[PathField, Tag("path")]
    | Annotated[ConstField, Tag("const")]
    | Annotated[ConcatField, Tag("concat")]
    | Annotated[FirstNonEmptyField, Tag("first_non_empty")]
    | Annotated[CollectField, Tag("collect")]
    | Annotated[CustomField, Tag("custom")],
    Discriminator(
        _field_tag,
        custom_error_type="bad_source",
        custom_error_message=f"a field needs exactly one source: {', '.join(SOURCE_KEYS)}",
    ),
]


class MappingDocument(Strict):
    """One mapping file (``version: 1``). ``extends``/``drop`` are resolved away by the loader."""

    version: Literal[1] = Field(description="mapping language version; only 1 exists")
    category: Category | None = Field(default=None, description="required unless inherited via extends")
    description: str | None = None
    extends: str | None = Field(
        default=None, description="preset this file starts from, e.g. legacy_2016_penalty"
    )
    drop: list[FieldCode] = Field(default_factory=list, description="inherited fields to remove")
    source_key: SourcePath | None = Field(default=None, description="path of the source record's own id")
    fields: dict[FieldCode, FieldMapping] = Field(default_factory=dict, description="standard code → field")

    @model_validator(mode="after")
    def _complete(self) -> MappingDocument:
        if self.extends is None:
            if self.category is None:
                raise ValueError("category is required (e.g. penalty) unless the file extends a preset")
            if not self.fields:
                raise ValueError("a mapping without extends needs at least one field")
            if self.drop:
                raise ValueError("drop only makes sense together with extends")
            self._defaults_from_mapped_fields()
        return self

    def _defaults_from_mapped_fields(self) -> None:
        """``default_from`` names another field of the mapping that itself takes no such default (so
        the order is simple: every other field first)."""
        for code, spec in self.fields.items():
            if spec.default_from is None:
                continue
            named = spec.default_from.field
            other = self.fields.get(named)
            if other is None or named == code:
                raise ValueError(f"{code}: default_from names {named}, not another field here")
            if other.default_from is not None:
                raise ValueError(f"{code}: default_from names {named}, itself a default_from")

    @field_validator("category")
    @classmethod
    def _known_category(cls, category: str | None) -> str | None:
        known = category_prefixes()
        if category is not None and known is not None and category not in known:
            raise ValueError(f"unknown category {category!r} (known: {', '.join(known)})")
        return category

    @field_validator("fields")
    @classmethod
    def _prefixes_match(cls, fields: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        category = info.data.get("category")
        prefix = (category_prefixes() or {}).get(category or "")
        wrong = [c for c in fields if prefix and not c.startswith(prefix) and c not in SHARED_FIELDS]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} do not belong to category {category} (codes {prefix}…)")
        return fields
