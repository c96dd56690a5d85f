"""Raw department row → validated canonical record: the mapping, then the municipal schema."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from creditsync.departments import RevokedRule
from creditsync.exceptions import ConfigurationError, FieldError
from creditsync.mapping import MappingSpec, load_mapping
from creditsync.pipeline.context import SyncContext
from creditsync.publication.protection import HoldBackRule, parse_hold_back_rules
from creditsync.schema import CanonicalRecord, RecordValidator, record_validator, shanghai_today
from creditsync.sources.registry import get_adapter_class


@dataclass
class Translation:
    record: CanonicalRecord | None
    errors: list[FieldError]
    stage: str  # mapping | validation
    mapped: dict[str, Any]


@dataclass
class Translator:
    category: str
    mapping: MappingSpec | None  # None: rows already carry the standard field codes
    adapter: str
    revoked_when: RevokedRule | None = None
    hold_back: tuple[HoldBackRule, ...] = ()  # the department's rules for this category (minors: always)
    severity_default: str | None = None  # of penalties whose mapping gives no severity
    keys_identify: bool = True  # the source's record keys name decisions, not places in a file

    def is_revoked(self, raw: dict[str, Any]) -> bool:
        return self.revoked_when is not None and self.revoked_when.matches(raw)

    @property
    def mapping_digest(self) -> str | None:
        return self.mapping.digest if self.mapping else None

    def translate(self, raw: dict[str, Any], *, today: date | None = None) -> Translation:
        mapping_errors: list[FieldError] = []
        data = raw
        if self.mapping is not None:
            data, mapping_errors = self.mapping.map_fields(raw)
        validation = self._validator.validate(data, today=today)
        if not mapping_errors:
            return Translation(validation.record, validation.errors, "validation", data)
        failed = {e.field for e in mapping_errors}
        # A field whose transform failed would also be reported as "missing": say it once.
        errors = mapping_errors + [e for e in validation.errors if e.field not in failed]
        return Translation(None, errors, "mapping", data)

    def translate_many(self, raws: Iterable[dict[str, Any]]) -> list[Translation]:
        """:meth:`translate` of a chunk, with one reference date for all of it."""
        today = shanghai_today()
        return [self.translate(raw, today=today) for raw in raws]

    @cached_property
    def _validator(self) -> RecordValidator:
        return record_validator(self.category)


def translator_for(ctx: SyncContext, category: str, *, canonical: bool = False) -> Translator:
    if canonical:  # a handed-over file: its rows are keyed <file name>#<row>
        return Translator(category, None, "template_file", keys_identify=False)
    stream = ctx.department.stream(category)
    path = ctx.department.mapping_path(ctx.settings.mappings_dir, stream)
    if not path.exists():
        raise ConfigurationError(f"mapping file {path} for {ctx.name}/{category} is missing")
    mapping = load_mapping(path)
    if mapping.category != category:
        raise ConfigurationError(f"{path} maps category {mapping.category!r}, stream is {category!r}")
    rules = ctx.department.publication
    return Translator(category, mapping, ctx.department.source.kind, stream.revoked_when,
                      parse_hold_back_rules(rules.hold_back).get(category, ()), rules.severity_default,
                      get_adapter_class(ctx.department.source.kind).keys_identify)
