"""Which text encoding a dropped CSV file uses: UTF-8 (with or without BOM) or GBK/GB18030, never a guess.

Chinese office software still saves CSV as GBK (Excel "CSV", WPS) or as UTF-8 with a BOM ("CSV UTF-8").
Reading one as the other gives mojibake that the mapping cannot detect, so detection is a *strict
decode cascade* over the whole file (streamed in chunks, constant memory):

1. a UTF-8 BOM → ``utf-8-sig``; a UTF-16 BOM → ``utf-16``;
2. the file is valid UTF-8 → ``utf-8``;
3. the file is valid GB18030 (a superset of GBK and GB2312, decoding them identically) *and* reads like
   Chinese text (most non-ASCII characters are among the 6,763 common GB2312 characters) → ``gb18030``.
   The second test matters: Latin-1 or cp1252 bytes are often valid GB18030 too, as rare characters;
4. anything else is refused, with charset-normalizer's guess in the message to help the sender.

A *declared* encoding (option ``encoding: utf-8``) is checked as strictly: a GBK file declared UTF-8 is
refused with the offset and line of the first bad byte, and a GB-family declaration is refused when the
file is in fact multi-byte UTF-8 (that would decode without error, as mojibake).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CHUNK = 64 * 1024
AUTO = "auto"
GB_FAMILY = frozenset({"gbk", "gb2312", "gb18030", "cp936"})
MIN_COMMON_SHARE = 0.8  # of non-ASCII characters; real Chinese text is well above 0.95


class EncodingProblem(Exception):
    """The file's bytes are not text in an encoding we accept; ``zh`` and ``en`` say why."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} ({en})")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class BadByte:
    """Where a strict decode first failed."""

    byte: str  # hex
    offset: int
    line: int

    def zh(self, codec: str) -> str:
        return f"第 {self.line} 行（字节偏移 {self.offset}）的字节 0x{self.byte} 不是有效的 {codec}"

    def en(self, codec: str) -> str:
        return f"byte 0x{self.byte} at offset {self.offset} (line {self.line}) is not valid {codec}"


@dataclass(frozen=True)
class DecodeReport:
    """The outcome of one strict pass: the first bad byte (None: the whole file decodes), statistics."""

    error: BadByte | None
    non_ascii: int = 0
    common: int = 0

    @property
    def reads_like_chinese(self) -> bool:
        return self.non_ascii == 0 or self.common >= MIN_COMMON_SHARE * self.non_ascii


def canonical_codec(name: str) -> str:
    """Python's own name for an encoding (``GBK`` → ``gbk``, ``UTF8`` → ``utf-8``); LookupError if unknown."""
    return codecs.lookup(name).name


def detect_encoding(path: Path, declared: str = AUTO) -> str:
    """The codec to read ``path`` with; raises :class:`EncodingProblem` when the bytes do not fit."""
    if declared.lower() != AUTO:
        return _check_declared(path, declared)
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return _require(path, "utf-8-sig")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _require(path, "utf-16")
    utf8 = strict_pass(path, "utf-8")
    if utf8.error is None:
        return "utf-8"
    gb = strict_pass(path, "gb18030", count_common=True)
    if gb.error is None and gb.reads_like_chinese:
        return "gb18030"
    raise EncodingProblem(
        f"无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV（可能是 {_guess(path)}）",
        f"the file is neither UTF-8 nor GBK/GB18030 text (it looks like {_guess(path)}); "
        "save it as CSV in UTF-8 or GBK",
    )


def _check_declared(path: Path, declared: str) -> str:
    codec = canonical_codec(declared)
    codec = "utf-8-sig" if codec == "utf-8" else codec  # a BOM is not part of the data
    if codec in GB_FAMILY:
        # Multi-byte UTF-8 is often valid GBK byte soup: it could decode without error, as mojibake.
        utf8 = strict_pass(path, "utf-8", count_common=True)
        if utf8.error is None and utf8.non_ascii:
            raise EncodingProblem(f"文件实际为 UTF-8 编码，与配置的 {declared} 不符",
                                  f"the file is UTF-8, not {declared} as configured "
                                  "(it would read as mojibake)")
    bad = strict_pass(path, codec).error
    if bad is not None:
        hint = _hint(path, codec)
        raise EncodingProblem(f"文件编码与配置的 {declared} 不符：{bad.zh(declared)}{hint[0]}",
                              f"the file is not {declared} as configured: {bad.en(declared)}{hint[1]}")
    return codec


def _require(path: Path, codec: str) -> str:
    bad = strict_pass(path, codec).error
    if bad is not None:
        raise EncodingProblem(f"文件以 {codec} 标记开头，但内容无效：{bad.zh(codec)}",
                              f"the file starts with a {codec} byte-order mark but {bad.en(codec)}")
    return codec


def _hint(path: Path, codec: str) -> tuple[str, str]:
    if codec not in GB_FAMILY:
        gb = strict_pass(path, "gb18030", count_common=True)
        if gb.error is None and gb.reads_like_chinese:
            return ("；文件看起来是 GBK/GB18030 编码（可改为 encoding: auto）",
                    "; the file looks like GBK/GB18030 (use encoding: auto or gb18030)")
    return "", ""


def strict_pass(path: Path, codec: str, *, count_common: bool = False) -> DecodeReport:
    """Decode the whole file strictly, chunk by chunk; report the first bad byte with offset and line."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    fed = lines = non_ascii = common = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            pending = decoder.getstate()[0]
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                offset = fed - len(pending) + exc.start
                line = lines + (pending + chunk)[: exc.start].count(b"\n") + 1 - pending.count(b"\n")
                byte = (pending + chunk)[exc.start: exc.start + 1].hex().upper()
                return DecodeReport(BadByte(byte, offset, line))
            if count_common:
                non_ascii, common = _tally(text, non_ascii, common)
            fed, lines = fed + len(chunk), lines + chunk.count(b"\n")
            if not chunk:
                return DecodeReport(None, non_ascii, common)


def _tally(text: str, non_ascii: int, common: int) -> tuple[int, int]:
    for char in text:
        if ord(char) > 127:
            non_ascii += 1
            common += _is_common(char)
    return non_ascii, common


@lru_cache(maxsize=8192)
def _is_common(char: str) -> bool:
    """A character of GB2312: the common hanzi, Chinese punctuation and full-width forms."""
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _guess(path: Path) -> str:
    from charset_normalizer import from_bytes

    with path.open("rb") as handle:
        best = from_bytes(handle.read(CHUNK)).best()
    return best.encoding if best is not None else "binary data"
