"""The files 长清区卫生健康局 (department ``health``) hands over: licences and penalties as GBK CSV and
XLSX exports with the department's own Chinese column headers.

Columns: :data:`LICENSE_COLUMNS` and :data:`PENALTY_COLUMNS`. Department conventions (what the mapping
translates): 行政相对人类别 and 许可类别 as text (法人及非法人组织 / 个体工商户 / 自然人; 普通 / 认可);
证件类型 ``身份证``; 处罚类别 joined with the 全角 ``；``; money in 元 (CSV ``5000.00``, XLSX numbers);
dates ``2026/05/08`` in CSV and date cells in XLSX; 处罚有效期 empty or ``长期`` = 2099-12-31;
当前状态 正常/撤销 (penalties; 撤销 is never published) and 有效/注销 (licences, published as 无效).

The initial drop (:func:`initial_files`, ``YYYYMMDD`` = the day of the drop):

====================================  =========================================================
``license_YYYYMMDD_01.xlsx``          12 licences. Row 5: 有效期至 before 有效期自. Row 10: a 自然人's
                                      证件号码 typed as an Excel number (15 digits kept, the last
                                      three become 000: the checksum fails). Row 8: a 注销 licence.
``penalty_YYYYMMDD_02.csv`` (GBK)     10 penalties. Row 4: 统一社会信用代码 with a wrong check digit.
                                      Row 7: 罚款金额 ``伍仟元`` (大写, not a number). Row 9: an
                                      unquoted comma in 违法事实 (one value too many: the adapter
                                      flags the row). Row 11: 撤销 (legitimate, never published).
``penalty_YYYYMMDD_03.xlsx``          6 penalties plus an extra column 经办人 (kept, not mapped).
                                      Row 4: 处罚决定日期 ``YYYY-02-30`` (a date that does not exist).
``penalty_YYYYMMDD_04.csv`` (GBK)     3 penalties whose header says 文书号 instead of 决定文书号:
                                      the whole file fails (missing required column) → failed/.
``license_YYYYMMDD_05.csv`` (GBK)     4 licences, all valid.
====================================  =========================================================

Later drops (:func:`next_file`) are small (1-3 records) and valid, rotating penalty CSV (GBK),
licence XLSX, penalty XLSX and licence CSV (UTF-8 with BOM, as WPS saves it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from creditsync.simulators import synthetic as syn

AUTHORITY = "长清区卫生健康局"
AUTHORITY_USCC = "11370113004326032H"  # fictitious; = synthetic.fixed_uscc("1", "1", "370113", "00432603")
FOREVER = "长期"

SUBJECT_COLUMNS = ("行政相对人名称", "行政相对人类别", "统一社会信用代码", "工商注册号",
                   "法定代表人（负责人）", "证件类型", "证件号码")
LICENSE_COLUMNS = ("序号", *SUBJECT_COLUMNS, "许可文书名称", "决定文书号", "许可类别", "许可证书名称",
                   "许可编号", "许可内容", "许可决定日期", "有效期自", "有效期至", "当前状态", "备注")
PENALTY_COLUMNS = ("序号", *SUBJECT_COLUMNS, "决定文书号", "违法行为类型", "违法事实", "处罚依据",
                   "处罚类别", "处罚内容", "罚款金额（元）", "没收违法所得金额（元）", "处罚决定日期",
                   "处罚有效期", "当前状态", "备注")
PARTY_TEXT = {"01": "自然人", "02": "法人及非法人组织", "04": "个体工商户"}


class UnquotedCsvText(str):
    """A CSV value written without quoting, as a hand-edited export does (its comma splits the row)."""

    __slots__ = ()


@dataclass(frozen=True)
class PenaltyTemplate:
    prefix: str  # 决定文书号 prefix: 长卫医罚 (medical institutions) / 长卫公罚 (public places)
    illegal_type: str
    facts: str  # {when} {place} {item} {person} {count} {gain}
    basis: str
    types: tuple[str, ...]
    fine: tuple[int, int, int]  # min, max, step in 元; (0, 0, 1): no fine
    parties: tuple[str, ...]
    items: tuple[str, ...]


_MEDICAL = "《医疗机构管理条例》"
_PUBLIC = "《公共场所卫生管理条例实施细则》"
PENALTIES: tuple[PenaltyTemplate, ...] = (
    PenaltyTemplate("长卫医罚", "诊疗活动超出登记的诊疗科目范围",
                    "经查，当事人于{when}在其执业场所（{place}）开展{item}诊疗活动，该诊疗科目未经登记。上述行为违反了"
                    f"{_MEDICAL}第二十六条的规定。",
                    f"{_MEDICAL}第四十七条；《医疗机构管理条例实施细则》第八十条",
                    ("警告", "罚款"), (3000, 10000, 1000), ("02", "04"),
                    ("医疗美容", "口腔正畸", "超声检查")),
    PenaltyTemplate("长卫医罚", "使用非卫生技术人员从事医疗卫生技术工作",
                    "经查，当事人自{when}起安排未取得执业资格的{person}在{place}从事{item}工作。上述行为违反了"
                    f"{_MEDICAL}第二十八条的规定。", f"{_MEDICAL}第四十八条",
                    ("罚款",), (5000, 20000, 1000), ("02", "04"), ("护理", "静脉输液", "药剂调配")),
    PenaltyTemplate("长卫医罚", "未按规定对医疗废物进行分类收集",
                    "经查，当事人于{when}在{place}未将损伤性废物与感染性废物分类收集，医疗废物包装物无警示标识。上述行为"
                    "违反了《医疗废物管理条例》第十六条的规定。", "《医疗废物管理条例》第四十六条第（一）项",
                    ("警告", "罚款"), (2000, 5000, 500), ("02", "04"), ("医疗废物",)),
    PenaltyTemplate("长卫公罚", "安排未获得有效健康合格证明的从业人员直接为顾客服务",
                    "经查，当事人于{when}在{place}安排{count}名未取得有效健康合格证明的从业人员从事直接为顾客服务的工作。"
                    f"上述行为违反了{_PUBLIC}第十条第二款的规定。", f"{_PUBLIC}第三十八条",
                    ("警告", "罚款"), (500, 5000, 500), ("02", "04"), ("服务",)),
    PenaltyTemplate("长卫公罚", "未按照规定对顾客用品用具进行清洗、消毒、保洁",
                    "经查，当事人于{when}在{place}重复使用未经清洗消毒的{item}。上述行为违反了《公共场所卫生管理条例》"
                    "第三条的规定。", f"《公共场所卫生管理条例》第十四条；{_PUBLIC}第三十六条第（二）项",
                    ("警告",), (0, 0, 1), ("02", "04"), ("毛巾", "浴巾", "茶具", "拖鞋")),
    PenaltyTemplate("长卫公罚", "未依法取得公共场所卫生许可证擅自营业",
                    "经查，当事人自{when}起未取得公共场所卫生许可证，在{place}从事{item}经营活动。上述行为违反了"
                    "《公共场所卫生管理条例》第八条的规定。", f"{_PUBLIC}第三十五条第一款",
                    ("警告", "罚款"), (500, 5000, 500), ("02", "04"), ("住宿", "沐浴", "理发", "美容")),
    PenaltyTemplate("长卫医罚", "未取得医疗机构执业许可证擅自执业",
                    "经查，当事人未取得医师执业证书和医疗机构执业许可证，于{when}在{place}为患者提供{item}服务，违法所得"
                    "{gain}元。上述行为违反了《中华人民共和国基本医疗卫生与健康促进法》第三十八条第一款的规定。",
                    "《中华人民共和国基本医疗卫生与健康促进法》第九十九条第一款",
                    ("没收违法所得", "罚款"), (50000, 100000, 10000), ("01",), ("输液", "针灸", "拔牙")),
)


@dataclass(frozen=True)
class LicenseTemplate:
    prefix: str
    permit_name: str
    category: str  # 普通 / 认可 (text, as the department writes it)
    certificate: str
    contents: tuple[str, ...]
    years: int
    parties: tuple[str, ...]
    number: str  # 许可编号 style


LICENSES: tuple[LicenseTemplate, ...] = (
    LicenseTemplate("长卫医许", "医疗机构执业许可决定书", "普通", "医疗机构执业许可证", (
        "诊疗科目：内科；外科；妇产科；医学检验科；医学影像科", "诊疗科目：口腔科",
        "诊疗科目：中医科；针灸科；推拿科", "诊疗科目：全科医疗科；预防保健科"), 5, ("02", "04"), "PDY"),
    LicenseTemplate("长卫妇许", "母婴保健技术服务执业许可决定书", "普通", "母婴保健技术服务执业许可证", (
        "母婴保健技术服务项目：助产技术；结扎手术；终止妊娠手术", "母婴保健技术服务项目：婚前医学检查",
        "母婴保健技术服务项目：产前筛查"), 3, ("02",), "长卫母婴证字"),
    LicenseTemplate("长卫妇许", "母婴保健技术考核合格决定书", "认可", "母婴保健技术考核合格证书", (
        "考核项目：助产技术", "考核项目：结扎手术", "考核项目：终止妊娠手术"), 3, ("01",), "长卫母婴考字"),
    LicenseTemplate("长卫公许", "公共场所卫生许可决定书", "普通", "公共场所卫生许可证", (
        "许可项目：住宿业", "许可项目：沐浴场所", "许可项目：美容店；理发店", "许可项目：游泳场所"),
        4, ("02", "04"), "长卫公证字"),
)

_COMPANY_TRADES = {True: ("酒店管理有限公司", "游泳健身有限公司", "沐浴服务有限公司"),
                   False: ("医院有限公司", "口腔门诊部有限公司", "中医门诊部有限公司")}
_SHOP_TRADES = {True: ("宾馆", "浴池", "理发店", "美容美发店"), False: ("诊所", "中医诊所", "口腔诊所")}

# Forced party types and templates of the documented defects and edge cases, by record number.
_LICENSE_FORCED = {4: (0, "02"), 9: (2, "01")}
_PENALTY_FORCED = {3: (0, "02"), 6: (1, "04"), 13: (3, "04")}


@dataclass
class DropFile:
    """One file as the department exports it: rows of ``column → value`` and what is wrong in it."""

    kind: str  # license | penalty
    name: str
    encoding: str | None  # CSV: gbk / utf-8-sig; None: XLSX
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    broken: dict[int, str] = field(default_factory=dict)  # spreadsheet row number → defect
    failure: str | None = None  # the whole file is refused (why)

    @property
    def suffix(self) -> str:
        return ".xlsx" if self.encoding is None else ".csv"


@dataclass
class Exporter:
    """The department's export desk; numbering of decisions and files continues across drops."""

    rng: random.Random
    penalties: int = 0
    licenses: int = 0
    files: int = 0

    def file(self, kind: str, encoding: str | None, rows: list[dict[str, Any]], day: date) -> DropFile:
        self.files += 1
        suffix = ".xlsx" if encoding is None else ".csv"
        columns = LICENSE_COLUMNS if kind == "license" else PENALTY_COLUMNS
        for number, row in enumerate(rows, start=1):
            row["序号"] = number
        return DropFile(kind, f"{kind}_{day:%Y%m%d}_{self.files:02d}{suffix}", encoding, columns, rows)

    def penalty(self, decided: date, forced: tuple[int, str] | None = None) -> dict[str, Any]:
        self.penalties += 1
        template, party = _pick(self.rng, PENALTIES, forced)
        subject = _subject(self.rng, party, template.prefix)
        low, high, step = template.fine
        fine = self.rng.randrange(low, high + 1, step) if low else None
        gain = self.rng.randrange(800, 6000, 100) if "没收违法所得" in template.types else None
        when = decided - timedelta(days=self.rng.randint(10, 40))
        facts = template.facts.format(
            when=f"{when.year}年{when.month}月{when.day}日", place=subject.address,
            item=self.rng.choice(template.items), person=syn.make_person_name(self.rng),
            count=self.rng.randint(1, 4), gain=gain)
        return {**_subject_columns(subject),
                "决定文书号": f"{template.prefix}〔{decided.year}〕{100 + self.penalties}号",
                "违法行为类型": template.illegal_type, "违法事实": facts, "处罚依据": template.basis,
                "处罚类别": "；".join(template.types), "处罚内容": _content(template.types, fine, gain),
                "罚款金额（元）": fine, "没收违法所得金额（元）": gain, "处罚决定日期": decided,
                "处罚有效期": FOREVER if self.rng.random() < 0.3 else "", "当前状态": "正常", "备注": ""}

    def license(self, decided: date, forced: tuple[int, str] | None = None) -> dict[str, Any]:
        self.licenses += 1
        template, party = _pick(self.rng, LICENSES, forced)
        subject = _subject(self.rng, party, template.prefix)
        until = _add_years(decided, template.years) - timedelta(days=1)
        return {**_subject_columns(subject), "许可文书名称": template.permit_name,
                "决定文书号": f"{template.prefix}〔{decided.year}〕{100 + self.licenses}号",
                "许可类别": template.category, "许可证书名称": template.certificate,
                "许可编号": _permit_no(self.rng, template, decided, self.licenses),
                "许可内容": self.rng.choice(template.contents), "许可决定日期": decided,
                "有效期自": decided, "有效期至": until, "当前状态": "有效", "备注": ""}


def initial_files(exporter: Exporter, today: date) -> list[DropFile]:
    """The five files of the first hand-over, with the defects documented in the module docstring."""
    rng = exporter.rng
    days = sorted(today - timedelta(days=rng.randint(1, 60)) for _ in range(38))
    licenses = [exporter.license(days.pop(0), _LICENSE_FORCED.get(n)) for n in range(1, 13)]
    penalties = [exporter.penalty(days.pop(0), _PENALTY_FORCED.get(n)) for n in range(1, 20)]
    files = [exporter.file("license", None, licenses, today),
             exporter.file("penalty", "gbk", penalties[:10], today),
             exporter.file("penalty", None, penalties[10:16], today),
             exporter.file("penalty", "gbk", penalties[16:], today),
             exporter.file("license", "gbk", [exporter.license(d) for d in days[:4]], today)]
    _break_licenses(files[0])
    _break_penalties(files[1], files[2], files[3])
    return files


def next_file(exporter: Exporter, today: date) -> DropFile:
    """A small, valid file of decisions taken in the last few days (rotating kind and format)."""
    rng, turn = exporter.rng, exporter.files % 4
    days = sorted(today - timedelta(days=rng.randint(0, 5)) for _ in range(rng.randint(1, 3)))
    if turn in (0, 2):
        rows = [exporter.penalty(day) for day in days]
        return exporter.file("penalty", "gbk" if turn == 0 else None, rows, today)
    rows = [exporter.license(day) for day in days]
    return exporter.file("license", None if turn == 1 else "utf-8-sig", rows, today)


def _break_licenses(drop: DropFile) -> None:
    drop.rows[3]["有效期至"] = drop.rows[3]["有效期自"] - timedelta(days=30)
    drop.broken[5] = "有效期至早于有效期自 (valid_to before valid_from)"
    person = drop.rows[8]
    while syn.id_check_digit(person["证件号码"][:15] + "00") == "0":  # keep the defect a real defect
        person["证件号码"] = syn.make_id_number(random.Random(person["证件号码"]))
    person["证件号码"] = float(person["证件号码"][:15] + "000")
    drop.broken[10] = "证件号码 typed as an Excel number: the last three digits became 000 (checksum fails)"
    drop.rows[6]["当前状态"] = "注销"  # legitimate: published with XK_ZT 无效


def _break_penalties(csv_file: DropFile, xlsx_file: DropFile, headless: DropFile) -> None:
    row = csv_file.rows[2]
    row["统一社会信用代码"] = syn.corrupt_check_digit(row["统一社会信用代码"])
    csv_file.broken[4] = "统一社会信用代码校验位错误 (wrong USCC check digit)"
    csv_file.rows[5]["罚款金额（元）"] = "伍仟元"
    csv_file.broken[7] = "罚款金额为大写“伍仟元” (fine is not a number)"
    facts = csv_file.rows[7]["违法事实"]
    csv_file.rows[7]["违法事实"] = UnquotedCsvText(facts.replace("。上述行为", ",上述行为", 1))
    csv_file.broken[9] = "违法事实 has an unquoted comma: one value too many (row flagged by the adapter)"
    csv_file.rows[9]["当前状态"] = "撤销"  # legitimate: revoked, never published
    clerks = random.Random(xlsx_file.name)  # stable names, whatever the exporter's RNG has drawn
    for row in xlsx_file.rows:
        row["经办人"] = syn.make_person_name(clerks)
    xlsx_file.columns = (*xlsx_file.columns, "经办人")
    xlsx_file.rows[2]["处罚决定日期"] = f"{xlsx_file.rows[2]['处罚决定日期'].year}-02-30"
    xlsx_file.broken[4] = "处罚决定日期 2月30日 does not exist"
    headless.columns = tuple("文书号" if c == "决定文书号" else c for c in headless.columns)
    for row in headless.rows:
        row["文书号"] = row.pop("决定文书号")
    headless.failure = "missing required column 决定文书号 (the header says 文书号)"


def _pick(rng: random.Random, templates: tuple[Any, ...], forced: tuple[int, str] | None) -> tuple[Any, str]:
    if forced is not None:
        return templates[forced[0]], forced[1]
    template = rng.choice(templates)
    return template, rng.choice(template.parties)


def _subject(rng: random.Random, party: str, prefix: str) -> syn.Subject:
    subject = syn.make_subject(rng, party)
    if party == "01":
        return subject
    mark, owner = rng.choice(syn.SHOP_MARKS), subject.legal_rep or ""
    public = prefix.startswith("长卫公")  # 公共场所 (hotels, baths, barbers) rather than 医疗机构
    if party == "02":
        trade = _COMPANY_TRADES[public]
        return replace(subject, name=f"济南长清{mark}{rng.choice(trade)}")
    # A 个体 clinic carries its doctor's name; a 个体 shop its trade mark.
    return replace(subject, name=f"济南市长清区{mark if public else owner}{rng.choice(_SHOP_TRADES[public])}")


def _subject_columns(subject: syn.Subject) -> dict[str, Any]:
    return {"行政相对人名称": subject.name, "行政相对人类别": PARTY_TEXT[subject.party_type],
            "统一社会信用代码": subject.credit_code or "", "工商注册号": subject.reg_no or "",
            "法定代表人（负责人）": subject.legal_rep or "", "证件类型": "身份证" if subject.id_no else "",
            "证件号码": subject.id_no or ""}


def _content(types: tuple[str, ...], fine: int | None, gain: int | None) -> str:
    parts = {"警告": "给予警告", "罚款": f"罚款{fine}元", "没收违法所得": f"没收违法所得{gain}元"}
    return "，".join(parts[kind] for kind in types) + "。"


def _permit_no(rng: random.Random, template: LicenseTemplate, decided: date, number: int) -> str:
    if template.number == "PDY":  # 医疗机构登记号: organisation code + area + kind
        serial = rng.randrange(1000, 9999)
        return f"PDY{rng.randrange(10**7, 10**8)}{syn.CHANGQING}17{rng.choice('ABD')}{serial}"
    return f"{template.number}〔{decided.year}〕第{number:04d}号"


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
