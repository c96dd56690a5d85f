"""`creditsync new-adapter` knows every schema category: valid samples each, the department as authority."""

from __future__ import annotations

from pathlib import Path

import pytest

import creditsync.scaffold.sample_records as samples
from creditsync.exceptions import ConfigurationError
from creditsync.mapping import load_mapping
from creditsync.scaffold import PLACEHOLDER_USCC, new_department
from creditsync.schema import CATEGORIES, validate_record

AUTHORITY_CODE = "11370113MB2856435E"


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_samples_are_valid_but_the_last(category: str) -> None:
    records = samples.sample_records(category, "长清区某局", AUTHORITY_CODE)
    canonical = [{k: v for k, v in r.items() if k not in ("id", "updated_at")} for r in records]
    verdicts = [validate_record(category, row).ok for row in canonical]
    assert verdicts == [True, True, True, False]
    assert records[-1]["id"] == samples.BROKEN_KEY
    document = CATEGORIES[category].keys.document_number
    assert len({row[document] for row in canonical}) == len(canonical)  # distinct business keys


def test_every_category_has_a_sample_maker() -> None:
    assert set(samples.MAKERS) == set(CATEGORIES)


def test_new_categories_get_the_department_as_authority(tmp_path: Path) -> None:
    new_department(tmp_path, "new_dept", "rest", "长清区新部门", ["enforcement", "inspection"])
    spec = load_mapping(tmp_path / "mappings" / "new_dept" / "inspection.yaml")
    assert spec.category == "inspection"
    constants = {code: field.const for code, field in spec.fields.items() if hasattr(field, "const")}
    assert constants == {"JC_SSJG": "长清区新部门", "JC_SSJGDM": PLACEHOLDER_USCC,
                         "JC_SJLY": "长清区新部门", "JC_SJLYDM": PLACEHOLDER_USCC}
    assert (tmp_path / "tests" / "fixtures" / "new_dept" / "enforcement.jsonl").exists()


def test_a_category_without_samples_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(samples.MAKERS, "reward")
    with pytest.raises(ConfigurationError, match=r"no sample records for categories \['reward'\]"):
        new_department(tmp_path, "new_dept", "rest", None, ["penalty", "reward"])
    assert not (tmp_path / "adapters").exists()
    with pytest.raises(ConfigurationError, match="add a maker"):
        samples.sample_records("reward", "长清区某局", AUTHORITY_CODE)


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_the_scaffolds_authority_uscc_placeholder_fails_validation_until_replaced(
    tmp_path: Path, category: str
) -> None:
    new_department(tmp_path, "new_dept", "rest", "长清区新部门", [category])
    mapping = tmp_path / "mappings" / "new_dept" / f"{category}.yaml"
    sample = samples.sample_records(category, "长清区新部门", AUTHORITY_CODE)[0]
    keys = CATEGORIES[category].keys
    placeholders = {keys.authority_code, keys.source_unit_code} - {None}

    mapped = load_mapping(mapping).apply(sample).data
    failed = {error.field for error in validate_record(category, mapped).errors}
    assert failed == placeholders

    mapping.write_text(mapping.read_text(encoding="utf-8").replace(PLACEHOLDER_USCC, AUTHORITY_CODE),
                       encoding="utf-8")
    assert validate_record(category, load_mapping(mapping).apply(sample).data).ok
