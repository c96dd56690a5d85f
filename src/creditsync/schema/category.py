"""Categories as data: ``categories/<name>.yaml`` gives the fields (standard order), keys and rules.

Adding a category means writing its YAML file (reusing the ``_subject.yaml`` block, one of the
``_subject_rules*.yaml`` blocks and the rule vocabulary of :mod:`rules`); a model class is generated
from it. The categories and their field codes are documented in ``docs/categories.md``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from creditsync.exceptions import ConfigurationError
from creditsync.privacy import is_id_field
from creditsync.schema import codetables
from creditsync.schema.rules import Check, Findings, RuleSpec, make_rule
from creditsync.schema.values import KINDS, FieldDefinition
from creditsync.yaml_text import load_safe

if TYPE_CHECKING:
    from creditsync.schema.record import CanonicalRecord

_PACKAGE = "creditsync.schema.categories"
_FIELD_CODE = re.compile(r"^[A-Z]+(_[A-Z0-9]+)*$")
SHARED_FIELDS = frozenset({"BZ"})  # 备注: the one field every category has under the same code


@dataclass(frozen=True)
class KeyFields:
    """Which fields make the business key and the summary accessors of a record, and which fields
    name the deciding authority and the data source unit (generators such as the scaffold fill them)."""

    authority_code: str
    document_number: str
    subject_name: str
    decision_date: str
    authority_name: str | None = None
    source_unit: str | None = None
    source_unit_code: str | None = None

    def codes(self) -> set[str]:
        return {code for code in vars(self).values() if code is not None}


@dataclass(frozen=True)
class CategorySpec:
    name: str
    prefix: str
    title_zh: str
    title_en: str
    fields: tuple[FieldDefinition, ...]
    keys: KeyFields
    rules: tuple[RuleSpec, ...]

    @cached_property
    def model(self) -> type[CanonicalRecord]:
        """Built on first use: a process needs one or two of the categories' models, not all of them."""
        from creditsync.schema.record import build_model  # the model needs the finished spec

        return build_model(self)

    @property
    def key_fields(self) -> tuple[str, str]:
        """(authority USCC field, document number field): the business key."""
        return self.keys.authority_code, self.keys.document_number

    @cached_property
    def id_codes(self) -> frozenset[str]:
        """Fields holding personal ID numbers: masked everywhere but the push payload."""
        return frozenset(f.code for f in self.fields if is_id_field(f.code))

    @cached_property
    def by_code(self) -> Mapping[str, FieldDefinition]:
        return {f.code: f for f in self.fields}

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.fields]

    @cached_property
    def checks(self) -> tuple[Check, ...]:
        """The rules compiled against this category's fields (built on first use, then for every record)."""
        return tuple(rule.compile(self.by_code) for rule in self.rules)

    def check(self, values: Mapping[str, Any], failed: Collection[str], today: date) -> Findings:
        """Run the cross-field rules on the fields that parsed (``values``: code → value, None = unset)."""
        present = {c: v for c, v in values.items() if v is not None}
        findings = Findings()
        for check in self.checks:
            check(present, failed, today, findings)
        return findings


def _read_yaml(filename: str) -> dict[str, Any]:
    path = resources.files(_PACKAGE) / filename
    try:
        raw = load_safe(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read schema file {filename}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"schema file {filename} must be a mapping")
    return raw


def _substitute(value: Any, prefix: str) -> Any:
    """Replace ``{P}`` by the category prefix everywhere in a block."""
    if isinstance(value, str):
        return value.replace("{P}", prefix)
    if isinstance(value, list):
        return [_substitute(v, prefix) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, prefix) for k, v in value.items()}
    return value


def _field(raw: Mapping[str, Any]) -> FieldDefinition:
    kind = raw.get("kind", "text")
    if kind not in KINDS:
        raise ConfigurationError(f"field {raw.get('code')}: unknown kind {kind!r}")
    spec = FieldDefinition(
        code=str(raw["code"]),
        title=str(raw["title"]),
        title_en=str(raw["title_en"]),
        kind=kind,
        requirement=raw.get("req", "optional"),
        max_length=raw.get("max"),
        min_length=raw.get("min"),
        table=raw.get("table"),
        allow_placeholder=bool(raw.get("placeholder", False)),
    )
    if spec.requirement not in ("required", "conditional", "optional"):
        raise ConfigurationError(f"field {spec.code}: unknown requirement {spec.requirement!r}")
    if kind in ("code", "codes"):
        codetables.table(str(spec.table))  # fail at load time on a missing table
    return spec


def _referenced_codes(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if _FIELD_CODE.match(value) and "_" in value else set()
    if isinstance(value, list):
        return set().union(*(_referenced_codes(v) for v in value))
    if isinstance(value, dict):
        return set().union(*(_referenced_codes(v) for v in value.values()))
    return set()


def load_category(filename: str) -> CategorySpec:
    raw = _read_yaml(filename)
    prefix = str(raw["prefix"])
    field_rows: list[Any] = []
    rule_rows: list[Any] = []
    for block in raw.get("blocks", []):
        block_raw = _substitute(_read_yaml(f"_{block}.yaml"), prefix)
        field_rows += block_raw.get("fields", [])
        rule_rows += block_raw.get("rules", [])
    try:
        fields = tuple(_field(r) for r in field_rows + raw["fields"])
        rules = tuple(make_rule(r) for r in rule_rows + raw.get("rules", []))
        keys = KeyFields(**raw["keys"])
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(f"schema file {filename} is malformed: {exc!r}") from exc
    _check_references(filename, fields, rules, keys)
    # The business key's 文书号 is always read in its canonical form: one decision, one record.
    fields = tuple(replace(f, kind="document_no") if f.code == keys.document_number else f for f in fields)
    _check_prefix(filename, prefix, fields)
    return CategorySpec(
        str(raw["name"]), prefix, str(raw["title_zh"]), str(raw["title_en"]), fields, keys, rules
    )


def _check_references(
    filename: str, fields: tuple[FieldDefinition, ...], rules: tuple[RuleSpec, ...], keys: KeyFields
) -> None:
    codes = [f.code for f in fields]
    duplicates = {c for c in codes if codes.count(c) > 1}
    referenced = _referenced_codes([dict(r.params) for r in rules]) | keys.codes()
    unknown = referenced - set(codes)
    if duplicates or unknown:
        raise ConfigurationError(
            f"schema file {filename}: duplicate fields {sorted(duplicates)}, unknown fields {sorted(unknown)}"
        )


def _check_prefix(filename: str, prefix: str, fields: tuple[FieldDefinition, ...]) -> None:
    """Field codes carry the category prefix (mappings rely on it to catch a field of the wrong category)."""
    wrong = [f.code for f in fields if not f.code.startswith(f"{prefix}_") and f.code not in SHARED_FIELDS]
    if wrong:
        raise ConfigurationError(f"schema file {filename}: fields {wrong} lack the prefix {prefix}_")


def load_categories() -> dict[str, CategorySpec]:
    """Every ``categories/*.yaml`` (files starting with ``_`` are blocks, not categories)."""
    names = sorted(f.name for f in resources.files(_PACKAGE).iterdir() if f.name.endswith(".yaml"))
    specs = [load_category(n) for n in names if not n.startswith("_")]
    for attribute in ("name", "prefix"):
        values = [getattr(spec, attribute) for spec in specs]
        if duplicates := sorted({v for v in values if values.count(v) > 1}):
            raise ConfigurationError(f"schema categories share a {attribute}: {duplicates}")
    return {spec.name: spec for spec in specs}
