"""Writing a new department's files, refusing to overwrite anything that exists."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from creditsync.exceptions import ConfigurationError
from creditsync.scaffold.sample_records import BROKEN_KEY, MAKERS, sample_records
from creditsync.scaffold.templates import (
    AUTH,
    CURSOR_FORMATS,
    PAGINATORS,
    adapter_yaml,
    mapping_yaml,
    test_module,
)
from creditsync.schema import CATEGORIES
from creditsync.simulators.synthetic import fixed_uscc
from creditsync.sources.cursor import Cursor
from creditsync.sources.cursor_formats import CursorFormat

KINDS = ("rest", "xml", "sql", "file")
# Written where the department's own USCC belongs (deciding authority, data source unit). Not a code
# at all, so every record fails validation on that field until a person puts the real one in.
PLACEHOLDER_USCC = "待替换为本部门统一社会信用代码"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


@dataclass
class Scaffold:
    root: Path
    name: str
    kind: str
    title: str
    categories: list[str]
    cursor_format: str = "iso8601"
    written: list[Path] = field(default_factory=list)

    @property
    def sample_authority_code(self) -> str:
        """A valid made-up USCC (government bodies start 11) for the sample fixtures only; the
        mappings carry :data:`PLACEHOLDER_USCC` instead, so nothing goes live with a made-up code."""
        digits = "".join(str(ord(c) % 10) for c in self.name)[:8].ljust(8, "0")
        return fixed_uscc("1", "1", "370113", digits)

    def constants(self, category: str) -> dict[str, str]:
        """The deciding authority and the data source unit are the department itself."""
        keys = CATEGORIES[category].keys
        pairs = ((keys.authority_name, self.title), (keys.authority_code, PLACEHOLDER_USCC),
                 (keys.source_unit, self.title), (keys.source_unit_code, PLACEHOLDER_USCC))
        return {field: value for field, value in pairs if field is not None}


def new_department(root: Path, name: str, kind: str, title: str | None = None,
                   categories: list[str] | None = None, *, auth: str | None = None, paging: str | None = None,
                   cursor_format: str | None = None) -> Scaffold:
    """``auth``, ``paging`` and ``cursor_format`` shape a REST department (the sample API speaks them)."""
    _check(root, name, kind, categories or ["penalty"])
    rest = _rest_choices(kind, auth, paging, cursor_format)
    scaffold = Scaffold(root, name, kind, title or name, categories or ["penalty"], rest["cursor_format"])
    _write(scaffold, root / "adapters" / f"{name}.yaml",
           adapter_yaml(name, scaffold.title, kind, scaffold.categories, **rest))
    for category in scaffold.categories:
        _write(scaffold, root / "mappings" / name / f"{category}.yaml",
               mapping_yaml(name, category, kind, scaffold.constants(category)))
        _write_fixture(scaffold, category)
    broken = [_broken_key(scaffold, c) for c in scaffold.categories]
    _write(scaffold, root / "tests" / "departments" / f"test_department_{name}.py",
           test_module(name, scaffold.title, broken))
    return scaffold


def _rest_choices(kind: str, auth: str | None, paging: str | None,
                  cursor_format: str | None) -> dict[str, str]:
    if kind != "rest" and (auth or paging or cursor_format):
        raise ConfigurationError("--auth, --paging and --cursor-format shape a REST API: "
                                 "use them with --source rest")
    chosen = {"auth": auth or "bearer", "paging": paging or "page_number",
              "cursor_format": cursor_format or "iso8601"}
    for option, value, known in (("auth", chosen["auth"], AUTH), ("paging", chosen["paging"], PAGINATORS),
                                 ("cursor format", chosen["cursor_format"], CURSOR_FORMATS)):
        if value not in known:
            raise ConfigurationError(f"unknown {option} {value!r}; choose one of {', '.join(known)}")
    return chosen


def _check(root: Path, name: str, kind: str, categories: list[str]) -> None:
    if not _NAME.match(name):
        raise ConfigurationError(f"{name!r}: use lower_snake_case ascii (it becomes the DAG id sync__{name})")
    if kind not in KINDS:
        raise ConfigurationError(f"unknown source kind {kind!r}; choose one of {', '.join(KINDS)}")
    if unknown := [c for c in categories if c not in CATEGORIES]:
        raise ConfigurationError(f"unknown categories {unknown}; known: {', '.join(sorted(CATEGORIES))}")
    if no_samples := [c for c in categories if c not in MAKERS]:
        raise ConfigurationError(f"no sample records for categories {no_samples} yet; "
                                 f"categories with samples: {', '.join(sorted(MAKERS))}")
    if (root / "adapters" / f"{name}.yaml").exists():
        raise ConfigurationError(f"department {name!r} exists already: {root / 'adapters' / f'{name}.yaml'}")


def _write(scaffold: Scaffold, path: Path, text: str) -> None:
    if path.exists():
        raise ConfigurationError(f"{path} exists already; nothing was overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    scaffold.written.append(path)


def _broken_key(scaffold: Scaffold, category: str) -> str:
    # A dropped file's records are keyed <file name>#<row>; the broken record is the last data row.
    return f"{category}_sample.csv#5" if scaffold.kind == "file" else BROKEN_KEY


def _write_fixture(scaffold: Scaffold, category: str) -> None:
    records = sample_records(category, scaffold.title, scaffold.sample_authority_code)
    if scaffold.cursor_format != "iso8601":  # as the department's API would write its cursor
        records = [dict(r, updated_at=_written(r["updated_at"], scaffold.cursor_format, n))
                   for n, r in enumerate(records, start=1)]
    folder = scaffold.root / "tests" / "fixtures" / scaffold.name
    if scaffold.kind in ("rest", "sql"):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        _write(scaffold, folder / f"{category}.jsonl", text)
    elif scaffold.kind == "xml":
        _write(scaffold, folder / f"{category}.xml", _xml(records))
    else:
        _write(scaffold, folder / f"{category}_sample.csv", _csv(records))


def _written(iso: str, cursor_format: str, number: int) -> str | int:
    if cursor_format == "row_version":
        return number
    text = CursorFormat(type=cursor_format).render(Cursor.parse(iso))
    return int(text) if text.isdigit() else text


def _xml(records: list[dict[str, Any]]) -> str:
    rows = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<records>"]
    for record in records:
        fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in record.items())
        rows.append(f"  <record>{fields}</record>")
    return "\n".join([*rows, "</records>"]) + "\n"


def _csv(records: list[dict[str, Any]]) -> str:
    columns = [c for c in records[0] if c not in ("id", "updated_at")]
    lines: list[list[str]] = [columns] + [[str(r.get(c, "")) for c in columns] for r in records]
    buffer = StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return buffer.getvalue()
