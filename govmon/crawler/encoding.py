"""Decode a page's bytes to text the way a careful browser would, and say how.

Order: a byte-order mark; the charset in the HTTP ``Content-Type`` header; the page's own
``<meta charset>`` / ``http-equiv`` (or XML declaration); then detection. GBK and GB2312
declarations are read as GB18030, their superset. A declaration is trusted only when the
bytes decode under it: many county sites declare utf-8 and send GBK (or the reverse), so a
declaration that fails a strict decode — or a GB declaration on bytes that are valid UTF-8
— is recorded as wrong and the bytes are decoded with what fits. Bytes that fit nothing are
replaced (U+FFFD), never raised.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DecodedText", "decode_html", "declared_charset", "normalise_charset", "content_type"]

_GB_NAMES = {"gb2312", "gbk", "x-gbk", "gb_2312-80", "gb_2312", "cp936", "ms936", "windows-936", "euc-cn",
             "csgb2312", "chinese", "iso-ir-58", "gb18030", "x-euc-cn", "hz-gb-2312"}
_SINGLE_BYTE = {"latin-1", "iso8859-1", "cp1252", "ascii", "iso8859-15"}

_META_CHARSET = re.compile(rb"""<meta[^>]{0,400}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)


@dataclass(slots=True)
class DecodedText:
    text: str
    encoding: str                 # the codec actually used, e.g. "utf-8", "gb18030"
    declared: str | None          # the charset the page declared, as written (lower case)
    declared_from: str | None     # "header" | "meta" | None
    declaration_wrong: bool       # the bytes did not fit the declaration
    replaced: int = 0             # how many undecodable byte sequences were replaced
    warnings: list[str] = field(default_factory=list)


def normalise_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset; GBK/GB2312 → gb18030; unknown → None."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    if label in _GB_NAMES:
        return "gb18030"
    if label in ("utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8"):
        return "utf-8"
    if label in ("utf-16", "utf-16le", "utf-16be", "unicode"):
        # a <meta> cannot really declare UTF-16 (the meta itself would not be readable);
        # browsers read such pages as UTF-8
        return "utf-8"
    if label in ("big5", "big5-hkscs", "cn-big5", "x-x-big5"):
        return "big5hkscs"
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    if codec in ("gbk", "gb2312", "hz"):
        return "gb18030"
    return codec


def content_type(headers: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """(mime type, charset parameter) from a Content-Type header, both lower case."""
    if not headers:
        return None, None
    value = None
    for key, val in headers.items():
        if key.lower() == "content-type":
            value = val
            break
    if not value:
        return None, None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    mime = value.split(";", 1)[0].strip().lower() or None
    m = _HEADER_CHARSET.search(value)
    return mime, (m.group(1).lower() if m else None)


def _bom(body: bytes) -> str | None:
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if body.startswith(codecs.BOM_UTF16_LE) or body.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    return None


def declared_charset(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(charset label as declared, where: "header" | "meta") or (None, None)."""
    _, header_cs = content_type(headers)
    if header_cs and normalise_charset(header_cs):
        return header_cs, "header"
    head = body[:8192]
    m = _XML_DECL.search(head) or _META_CHARSET.search(head)
    if m:
        label = m.group(1).decode("ascii", "replace").lower()
        if normalise_charset(label):
            return label, "meta"
    return None, None


def _strict(body: bytes, encoding: str) -> str | None:
    """Decode strictly; a multibyte character cut off at the very end (a truncated body)
    is tolerated. None when the bytes do not fit."""
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as err:
        if err.start >= len(body) - 3:
            try:
                return body[: err.start].decode(encoding) + "\ufffd"
            except UnicodeDecodeError:
                return None
        return None
    except LookupError:
        return None


def _has_non_ascii(body: bytes) -> bool:
    return not body.isascii()


def _replace_decode(body: bytes, encoding: str) -> tuple[str, int]:
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    return text, text.count("\ufffd")


def _detect(body: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:200_000]).best()
    except Exception:  # detection is best effort
        return None
    if best is None:
        return None
    return normalise_charset(best.encoding)


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> DecodedText:
    """Decode ``body``; see the module docstring for the order of evidence."""
    declared, source = declared_charset(body, headers)
    wanted = normalise_charset(declared)

    bom = _bom(body)
    if bom is not None:
        # a byte-order mark outranks every declaration (as in browsers)
        if bom == "utf-16":
            text, bad = _replace_decode(body, "utf-16")
        else:
            text, bad = _replace_decode(body[len(codecs.BOM_UTF8):], "utf-8")
        wrong = wanted is not None and wanted != normalise_charset(bom)
        result = DecodedText(text, bom, declared, source, wrong, bad)
        if wrong:
            result.warnings.append(f"声明的编码 {declared} 与内容不符，按 {bom} 解码")
        if bad:
            result.warnings.append(f"页面有 {bad} 处字节无法按 {bom} 解码，已替换为 �")
        return result

    if not _has_non_ascii(body):
        return DecodedText(body.decode("ascii"), wanted or "utf-8", declared, source, False)

    # 1. trust the declaration when the bytes fit it
    if wanted is not None:
        text = _strict(body, wanted)
        if text is not None:
            if wanted == "utf-8":
                return DecodedText(text, "utf-8", declared, source, False)
            # valid UTF-8 with non-ASCII bytes is almost never accidental: a GB (or
            # Latin) declaration on such bytes is a wrong declaration
            utf8 = _strict(body, "utf-8")
            if utf8 is not None:
                return _mismatch(utf8, "utf-8", declared, source)
            if wanted in _SINGLE_BYTE:
                gb = _strict(body, "gb18030")
                if gb is not None and _looks_chinese(gb):
                    return _mismatch(gb, "gb18030", declared, source)
            return DecodedText(text, wanted, declared, source, False)

    # 2. the declaration is missing or wrong: what do the bytes fit?
    for candidate in ("utf-8", "gb18030"):
        if candidate == wanted:
            continue
        text = _strict(body, candidate)
        if text is not None:
            if wanted is None:
                return DecodedText(text, candidate, declared, source, False)
            return _mismatch(text, candidate, declared, source)

    # 3. nothing fits exactly: the encoding with the fewest undecodable bytes
    options = [e for e in dict.fromkeys([wanted, "utf-8", "gb18030"]) if e]
    scored = [(_replace_decode(body, e), e) for e in options]
    (text, bad), used = min(scored, key=lambda item: item[0][1])
    non_ascii = len(body[:200_000].translate(None, _ASCII_BYTES)) or 1
    if bad / non_ascii > 0.05:
        guessed = _detect(body)
        if guessed and guessed not in options:
            g_text, g_bad = _replace_decode(body, guessed)
            if g_bad < bad:
                text, bad, used = g_text, g_bad, guessed
    result = DecodedText(text, used, declared, source, bool(wanted and used != wanted), bad)
    if result.declaration_wrong:
        result.warnings.append(f"声明的编码 {declared} 与内容不符，按 {used} 解码")
    if bad:
        result.warnings.append(f"页面有 {bad} 处字节无法按 {used} 解码，已替换为 �")
    return result


def _mismatch(text: str, used: str, declared: str | None, source: str | None) -> DecodedText:
    result = DecodedText(text, used, declared, source, True)
    result.warnings.append(f"声明的编码 {declared} 与内容不符，按 {used} 解码")
    return result


_ASCII_BYTES = bytes(range(128))
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _looks_chinese(text: str) -> bool:
    """Mostly CJK ideographs among the non-ASCII characters (a GB decoding that makes sense)."""
    sample = text[:20_000]
    non_ascii = len(_NON_ASCII.findall(sample))
    return non_ascii > 0 and len(_CJK.findall(sample)) >= 0.6 * non_ascii
