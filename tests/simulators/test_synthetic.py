"""Synthetic identifiers pass their national checksums (own algorithm and python-stdnum), by seed."""

from __future__ import annotations

import random
from datetime import date

import pytest
from stdnum.cn import ric, uscc
from stdnum.iso7064 import mod_11_10

from creditsync.simulators import synthetic as syn

# Public test vectors from the credit-data standard (§7).
USCC_VECTORS = [
    ("914403001922038216", True),
    ("91330100716105852F", True),
    ("91100000100003962T", True),
    ("91370102798677204A", True),
    ("914403001922038217", False),  # check should be 6
    ("91100000100003962A", False),  # check should be T
    ("91110108551385O82Q", False),  # forbidden O
    ("9137011300000000", False),  # too short
]
ID_VECTORS = [("11010519491231002X", True), ("110105194912310021", False)]


@pytest.mark.parametrize(("code", "valid"), USCC_VECTORS)
def test_own_uscc_check_agrees_with_public_vectors(code: str, valid: bool) -> None:
    assert syn.is_valid_uscc(code) is valid
    assert uscc.is_valid(code) is valid


@pytest.mark.parametrize(("number", "valid"), ID_VECTORS)
def test_own_id_check_agrees_with_public_vectors(number: str, valid: bool) -> None:
    assert (syn.id_check_digit(number) == number[-1]) is valid


@pytest.mark.parametrize(("dept", "kind"), [("9", "1"), ("9", "2"), ("1", "1"), ("5", "1")])
def test_generated_usccs_pass_stdnum_and_own_algorithm(dept: str, kind: str) -> None:
    rng = random.Random(1)
    for _ in range(500):
        code = syn.make_uscc(rng, dept, kind)
        assert code.startswith(f"{dept}{kind}370113")
        assert uscc.is_valid(code) and syn.is_valid_uscc(code)
        assert uscc.calc_check_digit(code[:17]) == code[-1]
        organisation = code[8:17]
        assert syn.org_code_check_digit(organisation[:8]) == organisation[8]


def test_letter_prefixed_codes_use_the_own_algorithm() -> None:
    """stdnum's validate rejects codes whose first 8 characters are not digits; ours accepts them."""
    code = syn.fixed_uscc("N", "2", "370113", "MA3C4R5T")
    assert syn.is_valid_uscc(code) and not uscc.is_valid(code)


def test_corrupted_check_digit_fails() -> None:
    code = syn.make_uscc(random.Random(2))
    assert not syn.is_valid_uscc(syn.corrupt_check_digit(code))
    assert not uscc.is_valid(syn.corrupt_check_digit(code))


def test_generated_id_numbers_pass_ric_with_birth_date_and_birthplace() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        number = syn.make_id_number(rng)
        assert ric.is_valid(number), number  # checksum, date and an area code valid in the birth year
        assert syn.id_check_digit(number) == number[-1]
        assert number.startswith("3701")
        assert date(1960, 1, 1) <= ric.get_birth_date(number) <= date(2004, 12, 31)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (1975, {"370123", "370121"}),  # 长清县, 历城县: before the districts existed
        (2003, {"370113", "370102", "370103", "370104", "370105", "370112", "370124"}),
    ],
)
def test_area_codes_exist_in_the_birth_year(year: int, expected: set[str]) -> None:
    rng = random.Random(4)
    assert {syn.area_for_year(rng, year) for _ in range(300)} == expected


def test_id_number_sex_digit() -> None:
    rng = random.Random(5)
    assert int(syn.make_id_number(rng, male=True)[16]) % 2 == 1
    assert int(syn.make_id_number(rng, male=False)[16]) % 2 == 0


def test_registration_numbers_pass_mod_11_10() -> None:
    rng = random.Random(6)
    for _ in range(200):
        number = syn.make_reg_no(rng)
        assert len(number) == 15 and mod_11_10.is_valid(number)


@pytest.mark.parametrize(
    ("party_type", "has_uscc", "has_id"),
    [("02", True, False), ("04", True, False), ("01", False, True)],
)
def test_subjects_are_consistent_with_their_type(party_type: str, has_uscc: bool, has_id: bool) -> None:
    rng = random.Random(7)
    for _ in range(100):
        subject = syn.make_subject(rng, party_type)
        assert subject.party_type == party_type and subject.name
        assert bool(subject.credit_code) is has_uscc
        assert bool(subject.id_no) is has_id
        if subject.credit_code == syn.USCC_PLACEHOLDER:
            assert party_type == "04" and subject.reg_no  # placeholder only for 个体, with 注册号
        elif subject.credit_code:
            assert uscc.is_valid(subject.credit_code)
            assert subject.credit_code[:2] == ("92" if party_type == "04" else "91")
        if subject.id_no:
            assert ric.is_valid(subject.id_no)


def test_unknown_party_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="01 自然人"):
        syn.make_subject(random.Random(), "03")


def test_same_seed_same_data_different_seed_different_data() -> None:
    def sample(seed: int) -> list[object]:
        rng = random.Random(seed)
        return [syn.make_subject(rng, t) for t in ("01", "02", "04")] + [syn.make_address(rng)]

    assert sample(42) == sample(42)
    assert sample(42) != sample(43)


@pytest.mark.parametrize(
    ("kind", "year", "seq", "expected"),
    [("penalty", 2026, 118, "长市监处罚〔2026〕118号"), ("license", 2026, 118, "长市监许〔2026〕118号")],
)
def test_decision_numbers(kind: str, year: int, seq: int, expected: str) -> None:
    assert syn.decision_no(kind, year, seq) == expected


@pytest.mark.parametrize(("amount", "text"), [(2000, "2000.00"), ("350.5", "350.50"), (0, "0.00")])
def test_money_in_yuan(amount: int | str, text: str) -> None:
    assert syn.yuan(amount) == text


def test_names_and_addresses_look_local() -> None:
    rng = random.Random(8)
    company = syn.make_company_name(rng)
    assert company.startswith("济南长清") and company.endswith("有限公司")
    assert syn.make_address(rng).startswith("山东省济南市长清区")
    assert 2 <= len(syn.make_person_name(rng)) <= 3
    assert syn.make_shop_name(rng, "王伟").startswith("济南市长清区")
