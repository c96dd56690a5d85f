"""Realistic synthetic data for demos and tests: identifiers that pass their checksums, names, places.

Everything is drawn from a ``random.Random`` the caller seeds, so the same seed gives the same data.
Identifiers are *computed*, never copied (public "example" codes often fail their checksum):

* 统一社会信用代码 (GB 32100-2015): 登记管理部门码 + 机构类别码 + 行政区划码 + GB 11714 主体标识码 + check;
* 组织机构代码 (GB 11714): 8 characters + check (weights 3 7 9 10 5 8 4 2, MOD 11);
* 居民身份证号码 (GB 11643): 地址码 + 出生日期 + 顺序码 + ISO 7064 MOD 11-2 check, with an area code that
  existed in the birth year (``stdnum.cn.ric`` checks that too: 长清 was 370123 长清县 until 2001,
  370113 长清区 since);
* 工商注册号: 14 digits + ISO 7064 MOD 11,10 check.

All people, companies and codes are fictitious.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from stdnum.iso7064 import mod_11_10

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
USCC_PLACEHOLDER = "00000000000000000X"  # 个体工商户 without a USCC (then 工商注册号 is required)
CHANGQING = "370113"

# 地址码 of 济南, with the years each existed (``stdnum`` rejects a code used outside its years).
JINAN_AREAS: tuple[tuple[str, str, int, int], ...] = (
    ("370113", "长清区", 2001, 9999),
    ("370123", "长清县", 0, 2000),
    ("370102", "历下区", 1983, 9999),
    ("370103", "市中区", 1983, 9999),
    ("370104", "槐荫区", 1983, 9999),
    ("370105", "天桥区", 1983, 9999),
    ("370112", "历城区", 1987, 9999),
    ("370124", "平阴县", 1985, 9999),
    ("370121", "历城县", 0, 1986),
)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂文华建国志海燕玉梅红立新金凤庆振东晓"
SHOP_MARKS = ("鑫源", "福瑞", "泰和", "恒信", "聚丰", "万家", "润通", "宏达", "惠民", "金泉", "康源", "鲁众",
              "清泉", "大学城", "崮山", "德润", "众诚", "瑞祥", "佳禾", "永盛")
COMPANY_TRADES = ("商贸", "餐饮管理", "食品", "超市", "农副产品", "医药连锁", "百货", "建材", "电梯工程",
                  "物业管理", "酒店管理", "粮油")
SHOP_TRADES = ("便利店", "快餐店", "小吃部", "烧烤店", "水果店", "副食店", "蔬菜店", "熟食店", "面馆",
               "烟酒店")
STREETS = ("文昌街道", "平安街道", "崮云湖街道", "五峰山街道", "归德街道", "张夏街道", "万德街道", "孝里街道",
           "马山镇", "双泉镇")
ROADS = ("龙泉路", "清河街", "经十西路", "峰山路", "紫薇路", "海棠路", "长清大学城大学路", "芙蓉路", "丹凤路",
         "玉符街")


@dataclass(frozen=True)
class Subject:
    """A 行政相对人 as a department system stores it (internal party-type codes, §5.1)."""

    party_type: str  # 01 自然人, 02 法人, 04 个体工商户
    name: str
    credit_code: str | None = None
    reg_no: str | None = None
    legal_rep: str | None = None
    legal_rep_id_no: str | None = None
    id_type: str | None = None  # 01 身份证 (natural persons only)
    id_no: str | None = None
    address: str = ""


# -- check digits ----------------------------------------------------------------------------------


def uscc_check_digit(prefix: str) -> str:
    """GB 32100 check character of the first 17 characters (any of the 31-character alphabet)."""
    pairs = zip(prefix[:17], USCC_WEIGHTS, strict=True)  # a short prefix is a bug: fail loudly
    total = sum(USCC_ALPHABET.index(char) * weight for char, weight in pairs)
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """Own GB 32100 check: also accepts codes whose first 8 characters are letters (``N…``, ``Y…``)."""
    code = code.strip().upper()
    ok = len(code) == 18 and all(char in USCC_ALPHABET for char in code)
    return ok and code[17] == uscc_check_digit(code[:17])


def org_code_check_digit(body: str) -> str:
    """GB 11714 check of 8 characters (digits, or letters valued A=10 … Z=35)."""
    total = sum(int(char, 36) * weight for char, weight in zip(body[:8], ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def id_check_digit(body: str) -> str:
    """ISO 7064 MOD 11-2 check of the first 17 digits of a resident ID number."""
    value = (12 - sum(int(d) * w for d, w in zip(body[:17], ID_WEIGHTS, strict=True)) % 11) % 11
    return "X" if value == 10 else str(value)


# -- identifiers -----------------------------------------------------------------------------------


def make_org_code(rng: random.Random) -> str:
    """A 9-character 主体标识码 in the post-2015 ``MA…`` style, with its GB 11714 check."""
    body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    return body + org_code_check_digit(body)


def make_uscc(rng: random.Random, dept_code: str = "9", kind: str = "1", area: str = CHANGQING) -> str:
    """``9``+``1`` 企业, ``9``+``2`` 个体工商户, ``1``+``1`` 机关 …; the check digit is computed."""
    prefix = f"{dept_code}{kind}{area}{make_org_code(rng)}"
    return prefix + uscc_check_digit(prefix)


def corrupt_check_digit(code: str) -> str:
    """The same code with a wrong last character (for deliberately broken records)."""
    right = code[-1]
    return code[:-1] + USCC_ALPHABET[(USCC_ALPHABET.index(right) + 7) % 31]


def make_reg_no(rng: random.Random, area: str = CHANGQING) -> str:
    """A 15-digit 工商注册号 (area + 600 for 个体 + sequence + MOD 11,10 check)."""
    body = area + "600" + "".join(rng.choice("0123456789") for _ in range(5))
    return body + mod_11_10.calc_check_digit(body)


def make_birth_date(rng: random.Random, first_year: int = 1960, last_year: int = 2004) -> date:
    start = date(first_year, 1, 1)
    return start + timedelta(days=rng.randrange((date(last_year, 12, 31) - start).days + 1))


def area_for_year(rng: random.Random, year: int, changqing_share: float = 0.6) -> str:
    """An area code valid in ``year``, mostly 长清 (the district these departments serve)."""
    valid = [code for code, _, start, end in JINAN_AREAS if start <= year <= end]
    local = [code for code in valid if code in (CHANGQING, "370123")]
    return rng.choice(local) if local and rng.random() < changqing_share else rng.choice(valid)


def make_id_number(
    rng: random.Random, birth: date | None = None, area: str | None = None, male: bool | None = None
) -> str:
    """An 18-digit resident ID number that passes GB 11643 and ``stdnum.cn.ric``."""
    birth = birth or make_birth_date(rng)
    area = area or area_for_year(rng, birth.year)
    male = rng.random() < 0.5 if male is None else male
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)  # odd for men, even for women
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return body + id_check_digit(body)


# -- names, places, numbers ------------------------------------------------------------------------


def make_person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def make_company_name(rng: random.Random, place: str = "济南长清") -> str:
    return f"{place}{rng.choice(SHOP_MARKS)}{rng.choice(COMPANY_TRADES)}有限公司"


def make_shop_name(rng: random.Random, owner: str) -> str:
    """A 个体工商户 trade name: ``济南市长清区惠民便利店`` or ``济南市长清区王记快餐店``."""
    mark = rng.choice(SHOP_MARKS) if rng.random() < 0.6 else owner[0] + "记"
    return f"济南市长清区{mark}{rng.choice(SHOP_TRADES)}"


def make_address(rng: random.Random) -> str:
    return f"山东省济南市长清区{rng.choice(STREETS)}{rng.choice(ROADS)}{rng.randint(1, 999)}号"


def decision_no(kind: str, year: int, sequence: int) -> str:
    """``长市监处罚〔2026〕118号`` (penalty) or ``长市监许〔2026〕118号`` (licence)."""
    word = {"penalty": "处罚", "license": "许"}[kind]
    return f"长市监{word}〔{year}〕{sequence}号"


def yuan(amount: Decimal | int | str) -> str:
    """Money as department systems export it: 元 with two decimals (``2000.00``)."""
    return f"{Decimal(amount):.2f}"


# -- subjects --------------------------------------------------------------------------------------


def make_subject(rng: random.Random, party_type: str) -> Subject:
    """A 法人 (02), 个体工商户 (04) or 自然人 (01) with consistent identifiers."""
    person, address = make_person_name(rng), make_address(rng)
    if party_type == "01":
        return Subject("01", person, id_type="01", id_no=make_id_number(rng), address=address)
    rep_id = make_id_number(rng)
    if party_type == "04":
        if rng.random() < 0.1:  # old registrations: placeholder USCC plus 工商注册号 (allowed for 个体)
            return Subject("04", make_shop_name(rng, person), USCC_PLACEHOLDER, make_reg_no(rng),
                           person, rep_id, address=address)
        return Subject("04", make_shop_name(rng, person), make_uscc(rng, "9", "2"), None, person, rep_id,
                       address=address)
    if party_type == "02":
        return Subject("02", make_company_name(rng), make_uscc(rng, "9", "1"), None, person, rep_id,
                       address=address)
    raise ValueError(f"unknown party type {party_type!r} (01 自然人, 02 法人, 04 个体工商户)")


def fixed_uscc(dept_code: str, kind: str, area: str, org_body: str) -> str:
    """A stable USCC from a fixed 8-character organisation-code body (for authorities)."""
    prefix = f"{dept_code}{kind}{area}{org_body}{org_code_check_digit(org_body)}"
    return prefix + uscc_check_digit(prefix)
