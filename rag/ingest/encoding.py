"""Bytes to text: UTF-8 (with or without BOM) first, a detected encoding as fallback."""
from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from rag.errors import IngestError

BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Share of control characters above which a "text" file is treated as binary junk.
MAX_CONTROL_SHARE = 0.02


def decode_text(path: Path, data: bytes) -> tuple[str, str | None]:
    """The decoded text and a warning when it was not UTF-8."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return _checked(path, data.decode(codec).lstrip("\ufeff")), None
    try:
        return _checked(path, data.decode("utf-8")), None
    except UnicodeDecodeError:
        pass
    codec, text = _detect(path, data)
    return _checked(path, text), f"{path}: not valid UTF-8; read as {codec} (detected). Save it as UTF-8 to be sure."


def _detect(path: Path, data: bytes) -> tuple[str, str]:
    """Windows-1252 first: it is what non-UTF-8 Norwegian and English files almost always are,
    and statistical detection misreads short texts in it."""
    try:
        return "cp1252", data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{path}: not text in any known encoding; save it as UTF-8 text")
    return best.encoding, str(best)


def _checked(path: Path, text: str) -> str:
    if not text.strip():
        raise IngestError(f"{path}: the file is empty; add text or remove it from the corpus")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if "\x00" in text or controls > MAX_CONTROL_SHARE * len(text):
        raise IngestError(f"{path}: looks like binary data, not text; check the file type")
    return text
