"""The exchange database's layout (前置库): which table holds which category, what the bookkeeping columns
are called, and the codes written into them. Declared in YAML, starting from a preset::

    preset: standard            # standard | oracle | dameng
    split_subjects: true        # one table for 法人及非法人组织/个体工商户, one for 自然人
    tables:                     # default: <table_prefix><CATEGORY PREFIX>[_FR|_ZRR]
      penalty: {legal: T_XZCF_FR, natural: T_XZCF_ZRR}
    columns: {key: SJBS, flag: CLBZ, result: CLJG}
    flag_codes: {new: "0", accepted: "1", rejected: "2"}
    delete_untaken: true        # a withdrawal of a row the platform has not taken deletes it

Data columns carry the standard field codes (CF_WSH, CF_XDR_MC, …) unless ``field_columns`` renames them;
every value is text, as the standard's exchange layouts have it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Column, Index, MetaData, String, Table, Text

from creditsync.exceptions import ConfigurationError

NATURAL_PERSON = "自然人"
LONG_TEXT = 2000  # wider standard fields become TEXT/CLOB


class Columns(BaseModel):
    """The bookkeeping columns beside the standard codes."""

    model_config = ConfigDict(extra="forbid")
    key: str = "SJBS"            # 数据标识: the idempotency key, unique
    business_key: str = "YWBS"   # 业务标识: the gateway's business key
    operation: str = "CZLX"      # 操作类型: new, correction, withdrawal
    platform_id: str = "PTBH"    # 平台记录编号: the row a correction or withdrawal names; written back
    loaded_at: str = "RKSJ"      # 入库时间
    flag: str = "CLBZ"           # 处理标志
    result: str = "CLJG"         # 处理结果 / 错误信息
    processed_at: str = "CLSJ"   # 处理时间
    revoked: str = "CXBZ"        # 撤销标志: "1" on a withdrawal's row


class FlagCodes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    new: str = "0"
    accepted: str = "1"
    rejected: str = "2"


class OperationCodes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    new: str = "I"
    correct: str = "U"
    withdraw: str = "D"


class Layout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preset: Literal["standard", "oracle", "dameng"] = "standard"
    schema_name: str | None = Field(default=None, alias="schema")
    table_prefix: str = "T_SGS_"
    split_subjects: bool = False
    tables: dict[str, str | dict[Literal["legal", "natural"], str]] = Field(default_factory=dict)
    columns: Columns = Field(default_factory=Columns)
    flag_codes: FlagCodes = Field(default_factory=FlagCodes)
    operation_codes: OperationCodes = Field(default_factory=OperationCodes)
    field_columns: dict[str, str] = Field(default_factory=dict)
    delete_untaken: bool = True
    answer_wait_s: float = Field(default=0.0, ge=0)  # how long a push waits for the pick-up job's flags
    poll_interval_s: float = Field(default=1.0, gt=0)

    def table_names(self, category: str) -> dict[str, str]:
        """``{"legal": name, "natural": name}`` when split, else ``{"all": name}``."""
        from creditsync.schema import get_category

        given = self.tables.get(category)
        base = f"{self.table_prefix}{get_category(category).prefix}"
        if isinstance(given, dict):
            return {str(kind): name for kind, name in given.items()}
        if self.split_subjects:
            return {"legal": f"{given or base}_FR", "natural": f"{given or base}_ZRR"}
        return {"all": given or base}

    def column_of(self, code: str) -> str:
        return self.field_columns.get(code, code)


PRESETS: dict[str, dict[str, Any]] = {
    "standard": {},
    # Oracle and 达梦 fold unquoted names to upper case: every name here already is.
    "oracle": {"table_prefix": "T_SGS_"},
    "dameng": {"table_prefix": "T_SGS_"},
}


def load_layout(source: Path | dict[str, Any] | None) -> Layout:
    raw: dict[str, Any] = {}
    if isinstance(source, Path):
        try:
            raw = yaml.safe_load(source.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"exchange database layout {source}: {exc}") from exc
    elif source:
        raw = dict(source)
    try:
        preset = PRESETS[str(raw.get("preset", "standard"))]
        return Layout.model_validate({**preset, **raw})
    except (KeyError, ValidationError) as exc:
        raise ConfigurationError(f"exchange database layout: {exc}") from exc


def build_tables(layout: Layout, categories: list[str], metadata: MetaData | None = None) -> dict[str, Table]:
    """Every table of these categories, by table name (the platform creates them; tests and the
    simulator do too)."""
    from creditsync.schema import get_category

    metadata = metadata if metadata is not None else MetaData(schema=layout.schema_name)
    tables: dict[str, Table] = {}
    c = layout.columns
    for category in categories:
        spec = get_category(category)
        for name in layout.table_names(category).values():
            if name in tables:
                continue
            data = [Column(layout.column_of(f.code), _type(f.max_length)) for f in spec.fields]
            tables[name] = Table(
                name, metadata,
                Column(c.key, String(64), nullable=False),
                Column(c.business_key, String(300), nullable=False),
                Column(c.operation, String(8), nullable=False),
                Column(c.platform_id, String(64)),
                *data,
                Column(c.loaded_at, String(19), nullable=False),
                Column(c.flag, String(8), nullable=False),
                Column(c.result, Text),
                Column(c.processed_at, String(19)),
                Column(c.revoked, String(1)),
                Index(f"UX_{name}_{c.key}"[:60], c.key, unique=True),
                Index(f"IX_{name}_{c.flag}"[:60], c.flag),
            )
    return tables


def _type(max_length: int | None) -> String:
    # Unbounded standard fields as TEXT/CLOB: MariaDB's row limit would refuse dozens of wide VARCHARs.
    return Text() if max_length is None or max_length > LONG_TEXT else String(max_length)
