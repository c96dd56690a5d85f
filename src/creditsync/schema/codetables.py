"""Code tables (reference §5) loaded from the YAML files in ``codes/``.

Models store the canonical TEXT of a code (``法人及非法人组织``, ``罚款``); inputs may give the text, an
alias or a code. Whether the platform wants text or codes on the wire is still open, so
:func:`code_of` gives the first code of a text for a target that needs codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from importlib import resources
from typing import Any

import yaml

from creditsync.exceptions import ConfigurationError
from creditsync.yaml_text import load_safe

MULTI_SEPARATORS = (";", "；")  # never "、": the pre-2021 wording has it inside one value
JOINER = ";"


class UnknownCodeError(LookupError):
    """A value that is neither a code, a text nor an alias of the table."""

    def __init__(self, table: CodeTable, value: str) -> None:
        super().__init__(f"{value!r} is not a value of code table {table.name}")
        self.table = table
        self.value = value


@dataclass(frozen=True)
class CodeEntry:
    text: str
    codes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeTable:
    name: str
    title: str
    title_en: str
    entries: tuple[CodeEntry, ...]
    code_width: int | None = None

    @property
    def texts(self) -> list[str]:
        return [entry.text for entry in self.entries]

    def find(self, value: Any) -> CodeEntry:
        """The entry whose text, alias or code is ``value`` (codes may lose leading zeros in Excel)."""
        key = _as_key(value)
        for candidate in self._candidates(key):
            entry = self._index.get(candidate)
            if entry is not None:
                return entry
        raise UnknownCodeError(self, key)

    @cached_property
    def _index(self) -> dict[str, CodeEntry]:
        """Text, alias or code → entry; the first entry naming a key wins, as in a scan in table order."""
        index: dict[str, CodeEntry] = {}
        for entry in self.entries:
            for key in (entry.text, *entry.aliases, *entry.codes):
                index.setdefault(key, entry)
        return index

    def _candidates(self, key: str) -> list[str]:
        if self.code_width and key.isdigit() and len(key) < self.code_width:
            return [key, key.zfill(self.code_width)]
        return [key]


def _as_key(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return str(value)
    return str(value).strip()


def _entry(raw: Mapping[str, Any]) -> CodeEntry:
    known = {"text", "codes", "aliases", "tags"}
    return CodeEntry(
        text=str(raw["text"]),
        codes=tuple(str(c) for c in raw.get("codes", ())),
        aliases=tuple(str(a) for a in raw.get("aliases", ())),
        tags=frozenset(raw.get("tags", ())),
        attributes={k: v for k, v in raw.items() if k not in known},
    )


@cache
def table(name: str) -> CodeTable:
    """Load one table from ``codes/<name>.yaml``; unknown tables are a configuration error."""
    path = resources.files("creditsync.schema.codes") / f"{name}.yaml"
    if not path.is_file():
        raise ConfigurationError(f"unknown code table {name!r}")
    try:
        raw = load_safe(path.read_text(encoding="utf-8"))
        entries = tuple(_entry(e) for e in raw["entries"])
        return CodeTable(raw["name"], raw["title"], raw["title_en"], entries, raw.get("code_width"))
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"code table {name!r} is malformed: {exc}") from exc


def table_names() -> list[str]:
    files = resources.files("creditsync.schema.codes").iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def lookup(table_name: str, value: Any) -> str:
    """Canonical text for a code, text or alias: ``lookup("penalty_type", "1") == "罚款"``."""
    return table(table_name).find(value).text


def split_multi(value: str) -> list[str]:
    """Split a multi-value field on ``;``/``；`` only, dropping blanks."""
    for sep in MULTI_SEPARATORS[1:]:
        value = value.replace(sep, MULTI_SEPARATORS[0])
    return [part.strip() for part in value.split(MULTI_SEPARATORS[0]) if part.strip()]


def lookup_many(table_name: str, value: Any) -> list[str]:
    """Canonical texts of a ``;``-joined value (or a list of values), duplicates removed, order kept."""
    items = value if isinstance(value, list | tuple) else [value]
    parts = [p for item in items for p in (split_multi(item) if isinstance(item, str) else [item])]
    return list(dict.fromkeys(lookup(table_name, part) for part in parts))


def join(texts: Iterable[str]) -> str:
    return JOINER.join(texts)


def tags_of(table_name: str, texts: Iterable[str]) -> frozenset[str]:
    """Union of the tags of canonical texts (e.g. ``{"fine"}`` when 罚款 is among them)."""
    tbl = table(table_name)
    return frozenset().union(*(tbl.find(text).tags for text in texts))


@lru_cache(maxsize=1024)
def tags_of_joined(table_name: str, value: str) -> frozenset[str]:
    """:func:`tags_of` the texts of a ``;``-joined canonical value; a few distinct values recur in every
    record, so the answer is remembered."""
    return tags_of(table_name, split_multi(value))


def attribute(table_name: str, value: Any, key: str) -> Any:
    """An extra attribute of an entry (e.g. the ``check`` validator name of an ID type), or None."""
    return table(table_name).find(value).attributes.get(key)


def code_of(table_name: str, value: Any) -> str | None:
    """The first code of the entry, for targets that want codes instead of text."""
    codes = table(table_name).find(value).codes
    return codes[0] if codes else None
