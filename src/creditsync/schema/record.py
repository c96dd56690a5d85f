"""The canonical record: a pydantic model per category, generated from its :class:`CategorySpec`.

Attributes are the lower-cased standard codes (``cf_wsh``); the codes themselves are the aliases and
the external names of every payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from creditsync.privacy import mask_payload
from creditsync.schema.values import FieldDefinition, FieldProblem, ParseContext, parse_value

if TYPE_CHECKING:
    from creditsync.schema.category import CategorySpec

WIRE_PAYLOAD = "_wire_payload"  # where a record keeps its push payload once built
CONTEXT_KEY = "creditsync"  # validation context entry holding the ParseContext
FIELD_ERROR = "creditsync_field"  # pydantic error types carrying our zh/en messages
RULES_ERROR = "creditsync_rules"


def parse_context(context: Any) -> ParseContext:
    found = context.get(CONTEXT_KEY) if isinstance(context, dict) else None
    return found if isinstance(found, ParseContext) else ParseContext()


class CanonicalRecord(BaseModel):
    """A valid record of one category, in canonical form (code-table TEXT values, dates, Decimals)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    category: ClassVar[str] = ""
    spec: ClassVar[CategorySpec]
    _attribute_of: ClassVar[dict[str, str]] = {}  # standard code → attribute name, in standard order
    _id_codes: ClassVar[frozenset[str]] = frozenset()  # fields holding personal ID numbers
    _key_attributes: ClassVar[tuple[str, str]] = ("", "")  # authority USCC, 文书号: the business key

    @model_validator(mode="after")
    def _cross_field_rules(self, info: ValidationInfo) -> Self:
        ctx = parse_context(info.context)
        findings = self.spec.check(self.values(), frozenset(), ctx.today)
        ctx.warnings.extend(findings.warnings)
        if findings.errors:
            details = {"count": len(findings.errors), "errors": findings.errors}
            raise PydanticCustomError(RULES_ERROR, "{count} cross-field rule(s) failed", details)
        return self

    @classmethod
    def from_checked(cls, attributes: dict[str, Any], fields_set: set[str]) -> Self:
        """A record from values that already went through the field parsers and the rules.

        ``attributes``: every field by attribute name (None when unset). Skips pydantic's second pass
        over values the parsers already produced; what ``model_construct`` does, minus its generality."""
        record = cls.__new__(cls)
        _set = object.__setattr__
        _set(record, "__dict__", attributes)
        _set(record, "__pydantic_fields_set__", fields_set)
        _set(record, "__pydantic_extra__", None)
        _set(record, "__pydantic_private__", None)
        return record

    def get(self, code: str) -> Any:
        """Value of a field by its standard code."""
        return self.__dict__[self._attribute_of[code]]

    def values(self) -> dict[str, Any]:
        """Every field by standard code, in standard order, None for unset fields."""
        attributes = self.__dict__
        return {code: attributes[name] for code, name in self._attribute_of.items()}

    def business_key(self) -> str:
        """``category:authority USCC:文书号`` — the record's identity at the platform."""
        authority, document_number = self._key_attributes
        return f"{self.category}:{self.__dict__[authority]}:{self.__dict__[document_number]}"

    def document_number(self) -> str:
        return str(self.get(self.spec.keys.document_number))

    def subject_name(self) -> str:
        return str(self.get(self.spec.keys.subject_name))

    def decision_date(self) -> date:
        value = self.get(self.spec.keys.decision_date)
        assert isinstance(value, date)  # a required date field
        return value

    def to_payload(self) -> dict[str, Any]:
        """The push payload: standard codes, ISO dates, plain decimal strings, unset fields omitted.

        Full ID numbers are kept: never log this, log :meth:`masked_payload`.
        """
        return self._wire_payload.copy()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update`` its payload is built anew from the changed values."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy.__dict__.pop(WIRE_PAYLOAD, None)
        return copy

    @cached_property
    def _wire_payload(self) -> dict[str, Any]:
        # Built once per record (the validator fills it in as it builds the record; a record made by
        # model_validate builds it here). Pydantic leaves such keys of __dict__ out of ==, dumps, copies.
        return {code: _wire(v) for code, v in self.values().items() if v is not None and v != ""}

    def masked_payload(self) -> dict[str, Any]:
        """:meth:`to_payload` with ID numbers masked, for logs, audit and display."""
        return mask_payload(self.to_payload(), self._id_codes)


def _wire(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_decimal(value)
    return value


def format_decimal(value: Decimal) -> str:
    """``Decimal("2E-1")`` → ``"0.2"``, ``Decimal("100.00")`` → ``"100"``: no exponent, no trailing zeros."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text



def _field_validator(spec: FieldDefinition) -> BeforeValidator:
    def validate(value: Any, info: ValidationInfo) -> Any:
        try:
            return parse_value(spec, value, parse_context(info.context))
        except FieldProblem as exc:
            messages = {"zh": exc.message_zh, "en": exc.message_en}
            raise PydanticCustomError(FIELD_ERROR, "{en}", messages) from exc

    return BeforeValidator(validate)


def _field_definition(spec: FieldDefinition) -> tuple[Any, Any]:
    # Built at run time from data, hence the ignore: mypy only knows static annotations.
    annotation = Annotated[spec.python_type | None, _field_validator(spec)]  # type: ignore[name-defined]
    default = ... if spec.requirement == "required" else None
    return annotation, Field(default, alias=spec.code, title=spec.title, description=spec.title_en)


def build_model(spec: CategorySpec) -> type[CanonicalRecord]:
    """A ``CanonicalRecord`` subclass with one field per standard field of the category."""
    fields: dict[str, Any] = {f.name: _field_definition(f) for f in spec.fields}
    model_name = "".join(part.title() for part in spec.name.split("_")) + "Record"
    model = create_model(model_name, __base__=CanonicalRecord, __module__=__name__, **fields)
    model.__doc__ = f"{spec.title_zh} ({spec.title_en}), fields {spec.prefix}_*."
    model.category = spec.name
    model.spec = spec
    model._attribute_of = {f.code: f.name for f in spec.fields}
    model._id_codes = spec.id_codes
    model._key_attributes = (spec.keys.authority_code.lower(), spec.keys.document_number.lower())
    return model
