"""Loading mapping files: YAML → version check/migration → ``extends`` → validated ``MappingSpec``.

Version handling: a file says ``version: N``. Files older than :data:`CURRENT_VERSION` are upgraded one
step at a time by the functions in ``_MIGRATIONS`` (raw dict → raw dict), so the models only ever see the
current version. When version 2 arrives: add its models, bump ``CURRENT_VERSION``, register a 1 → 2
migration; version-1 files keep loading unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from creditsync.exceptions import ConfigurationError
from creditsync.mapping._yaml import YamlDocument, read_yaml
from creditsync.mapping.compiled import MappingSpec
from creditsync.mapping.document import CURRENT_VERSION, FIELD_CODE_PATTERN, MappingDocument
from creditsync.mapping.paths import PATH_PATTERN
from creditsync.mapping.transforms import BARE_TRANSFORMS, TRANSFORM_NAMES

Raw = dict[str, Any]
# from-version → function returning the document at from-version + 1. Empty while only version 1 exists.
_MIGRATIONS: dict[int, Callable[[Raw], Raw]] = {}
PRESET_PACKAGE = "creditsync.mapping.presets"
_PRESET_NAME = re.compile(r"^[a-z0-9_]+$")
_MAX_EXTENDS_DEPTH = 4  # presets extending presets: deeper chains are a design smell, not a need


def load_mapping(path: str | PathLike[str]) -> MappingSpec:
    """Read and validate ``mappings/<department>/<category>.yaml``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{source}: cannot read mapping file (无法读取映射文件): {exc}") from exc
    return _build(_read(text, source), source)


def parse_mapping(data: Mapping[str, Any], source_name: str = "<mapping>") -> MappingSpec:
    """Validate an already-parsed mapping (tests, mappings kept in a database)."""
    return _build(YamlDocument(dict(data) if isinstance(data, Mapping) else data, None), source_name)


def load_preset(name: str) -> MappingSpec:
    """A mapping shipped in ``creditsync/mapping/presets/<name>.yaml``."""
    return _build(_read_preset(name), f"preset {name}")


def available_presets() -> list[str]:
    folder = resources.files(PRESET_PACKAGE)
    return sorted(item.name[: -len(".yaml")] for item in folder.iterdir() if item.name.endswith(".yaml"))


def _build(doc: YamlDocument, source: str) -> MappingSpec:
    resolved, document, presets = _resolve(doc, source, ())
    return MappingSpec(document, _digest(resolved), source, presets)


def _read(text: str, source: str) -> YamlDocument:
    try:
        return read_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{source}: not valid YAML (YAML 格式错误): {exc}") from None


def _read_preset(name: str) -> YamlDocument:
    resource = resources.files(PRESET_PACKAGE) / f"{name}.yaml"
    if not _PRESET_NAME.match(name) or not resource.is_file():
        known = ", ".join(available_presets())
        raise ConfigurationError(f"unknown preset {name!r} (未知的预置映射); available: {known}")
    return _read(resource.read_text(encoding="utf-8"), f"preset {name}")


def _resolve(
    doc: YamlDocument, source: str, chain: tuple[str, ...]
) -> tuple[Raw, MappingDocument, tuple[str, ...]]:
    """The document with its ``extends`` chain merged in, validated; plus the presets used."""
    raw = _migrate(_as_dict(doc.data, source), source)
    own = _validate(raw, source, doc if raw is doc.data else None)
    if own.extends is None:
        return raw, own, ()
    name = own.extends
    if name in chain or len(chain) >= _MAX_EXTENDS_DEPTH:
        raise ConfigurationError(f"{source}: extends chain {' → '.join((*chain, name))} loops or is too deep")
    base, _, presets = _resolve(_read_preset(name), f"preset {name}", (*chain, name))
    merged = _merge(base, raw, own, source)
    return merged, _validate(merged, f"{source} (merged with preset {name})", None), (name, *presets)


def _as_dict(data: Any, source: str) -> Raw:
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ConfigurationError(f"{source}: a mapping file must be a YAML mapping of keys, got {kind}")
    return data


def _migrate(raw: Raw, source: str) -> Raw:
    if "version" not in raw:
        raise ConfigurationError(
            f"{source}: missing 'version' (缺少 version), write `version: {CURRENT_VERSION}`"
        )
    version = raw["version"]
    known = [*sorted(_MIGRATIONS), CURRENT_VERSION]
    if type(version) is not int or version not in known:  # bool and 1.0 are not versions
        raise ConfigurationError(
            f"{source}: unsupported mapping version {version!r} (不支持的版本); supported: "
            f"{', '.join(map(str, known))}"
        )
    while raw["version"] != CURRENT_VERSION:
        raw = _MIGRATIONS[raw["version"]](raw)
    return raw


def _merge(base: Raw, raw: Raw, own: MappingDocument, source: str) -> Raw:
    """Own keys win; own fields replace inherited fields whole (no deep merge: what you see is it)."""
    if own.category is not None and own.category != base["category"]:
        raise ConfigurationError(
            f"{source}: category {own.category} differs from preset {own.extends} ({base['category']})"
        )
    unknown = [code for code in own.drop if code not in base["fields"]]
    if unknown:
        raise ConfigurationError(f"{source}: drop names {', '.join(unknown)}, not in preset {own.extends}")
    fields = {code: spec for code, spec in base["fields"].items() if code not in own.drop}
    fields.update(raw.get("fields") or {})
    kept = {key: value for key, value in raw.items() if key not in ("extends", "drop", "fields")}
    return {**base, **kept, "fields": fields}


def _validate(raw: Raw, source: str, doc: YamlDocument | None) -> MappingDocument:
    try:
        return MappingDocument.model_validate(raw)
    except ValidationError as exc:
        problems = "\n".join(_describe(error, raw, doc) for error in exc.errors())
        raise ConfigurationError(f"{source}: invalid mapping (映射文件有误):\n{problems}") from None


def _describe(error: Any, raw: Raw, doc: YamlDocument | None) -> str:
    """One line per problem: where (line, dotted path) and what, in words an IT clerk can act on."""
    loc = _located(raw, tuple(error["loc"]))
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    line = doc.line_of(loc) if doc is not None else None
    prefix = f"  line {line}: " if line else "  "
    return f"{prefix}{where or '(top level)'}: {_what(error)}"


def _what(error: Any) -> str:
    kind, last = error["type"], error["loc"][-1] if error["loc"] else ""
    if kind == "extra_forbidden":
        return f"unknown key {last!r} (未知的键)"
    if kind == "missing":
        return f"missing key {last!r} (缺少必填项)"
    if kind == "unknown_transform":
        bad = error["input"]
        hint = [k for k in bad if k in BARE_TRANSFORMS] if isinstance(bad, dict) else []
        tip = f"; write `{hint[0]}` bare, it takes no arguments" if hint else ""
        return f"unknown transform {bad!r} (未知的转换); known: {', '.join(TRANSFORM_NAMES)}{tip}"
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} is not a valid {_PATTERN_NAMES.get(error['ctx']['pattern'], 'value')}"
    if kind == "bad_source":
        return f"{error['msg']} (字段来源必须且只能有一个)"
    return str(error["msg"]).removeprefix("Value error, ")


_PATTERN_NAMES = {
    FIELD_CODE_PATTERN: "field code (upper-case standard code such as CF_XDR_MC; 字段代码)",
    PATH_PATTERN: "source path (keys joined by single dots, e.g. facts.summary; 源路径)",
}


def _located(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The parts of a pydantic location that exist in the data, dropping the union tags pydantic adds.

    Prefers the reading that matches the most parts, so a key named like a tag is still found.
    """
    if not loc:
        return ()
    best = _located(data, loc[1:])
    inner = _item(data, loc[0])
    if inner is not _ABSENT:
        deeper = (loc[0], *_located(inner, loc[1:]))
        best = deeper if len(deeper) > len(best) else best
    return best


_ABSENT = object()


def _item(data: Any, part: Any) -> Any:
    if isinstance(data, dict) and str(part) in data:
        return data[str(part)]
    if isinstance(data, list) and isinstance(part, int) and part < len(data):
        return data[part]
    return _ABSENT


def _digest(resolved: Raw) -> str:
    """sha256 of the resolved mapping as canonical JSON: comments and layout do not count, a changed
    preset does (the behaviour changed, so the audit trail must show a different mapping)."""
    text = json.dumps(_canonical(resolved), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, date | Decimal):
        return str(value)
    return value
