"""A loaded mapping (its document, digest and compiled plan) and what applying it to one record produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from creditsync.exceptions import FieldError
from creditsync.mapping._values import TransformError, is_empty
from creditsync.mapping.codes import CodeLookup, default_code_lookup
from creditsync.mapping.document import FieldMapping, MappingDocument
from creditsync.mapping.paths import resolve
from creditsync.mapping.plan import FieldPlan, compile_fields
from creditsync.mapping.transforms import CodeStep

_PLANS_KEPT = 8  # tests pass their own lookups; a deployment uses one


@dataclass
class MappingResult:
    """``data``: standard field code → value (fields whose value is None are left out);
    ``errors``: one :class:`FieldError` per failed field, naming the target code;
    ``source_key``: the source record's own id, for quarantine and trace."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    source_key: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class MappingSpec:
    """A validated mapping with ``extends`` resolved. Build it with ``load_mapping``/``parse_mapping``."""

    document: MappingDocument
    digest: str  # sha256 of the canonical resolved content: what the audit trail records
    source_name: str
    presets: tuple[str, ...] = ()  # presets this mapping was built on, nearest first
    _plans: dict[CodeLookup, tuple[tuple[str, FieldPlan], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def version(self) -> int:
        return self.document.version

    @property
    def category(self) -> str:
        assert self.document.category is not None  # the loader refuses documents without one
        return self.document.category

    @property
    def source_key_path(self) -> str | None:
        return self.document.source_key

    @property
    def fields(self) -> Mapping[str, FieldMapping]:
        return self.document.fields

    @property
    def code_tables(self) -> frozenset[str]:
        """Code tables the mapping needs, so a deployment can check them all before the first record."""
        steps = [
            step
            for spec in self.document.fields.values()
            for step in (*spec.transforms, *(spec.default_from.transforms if spec.default_from else ()))
        ]
        return frozenset(step.code.table for step in steps if isinstance(step, CodeStep) and step.code.table)

    def apply(self, raw: Mapping[str, Any], *, code_lookup: CodeLookup | None = None) -> MappingResult:
        """Map one source record; each field fails on its own, so one report lists every problem."""
        data, errors = self.map_fields(raw, code_lookup=code_lookup)
        return MappingResult(data, errors, self._source_key(raw))

    def map_fields(
        self, raw: Mapping[str, Any], *, code_lookup: CodeLookup | None = None
    ) -> tuple[dict[str, Any], list[FieldError]]:
        """:meth:`apply` without the source key: (mapped fields, field errors)."""
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        for code, evaluate in self._plan(code_lookup or default_code_lookup):
            try:
                value = evaluate(raw, data)
            except TransformError as exc:
                errors.append(FieldError(code, exc.message_zh, exc.message_en))
                continue
            if value is not None:
                data[code] = value
        return data, errors

    def _plan(self, lookup: CodeLookup) -> tuple[tuple[str, FieldPlan], ...]:
        """The compiled fields for a code lookup (built on first use; a few lookups are kept)."""
        plan = self._plans.get(lookup)
        if plan is None:
            if len(self._plans) >= _PLANS_KEPT:
                self._plans.clear()
            plan = self._plans[lookup] = compile_fields(self.document.fields, lookup)
        return plan

    def _source_key(self, raw: Mapping[str, Any]) -> str | None:
        if self.document.source_key is None:
            return None
        value = resolve(raw, self.document.source_key)
        return None if is_empty(value) else str(value).strip()
