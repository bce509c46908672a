"""Bytes to text: UTF-8 (with or without BOM) first, a detected encoding as fallback.

UTF-8 with a few stray bytes stays UTF-8 (those bytes become U+FFFD): reading it as
Windows-1252 would garble every æ, ø and å to save a byte or two.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from charset_normalizer import from_bytes

from rag.errors import IngestError

BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Share of control characters above which a "text" file is treated as binary junk.
MAX_CONTROL_SHARE = 0.02
# With errors="surrogateescape" each byte that is not UTF-8 decodes to one of these.
ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")
# The warning names this many offsets at most.
SHOWN_OFFSETS = 10


def decode_text(path: Path, data: bytes) -> tuple[str, str | None]:
    """The decoded text and a warning when it was not (all) UTF-8."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return _checked(path, data.decode(codec).lstrip("\ufeff")), None
    try:
        return _checked(path, data.decode("utf-8")), None
    except UnicodeDecodeError:
        pass
    stray = _stray_bytes(data)
    if stray:
        return _checked(path, data.decode("utf-8", "replace")), _stray_warning(path, stray)
    codec, text = _detect(path, data)
    return _checked(path, text), f"{path}: not valid UTF-8; read as {codec} (detected). Save it as UTF-8 to be sure."


def _stray_bytes(data: bytes) -> list[int]:
    """Byte offsets of the runs of invalid bytes when the data is UTF-8 apart from them, else [].

    Read as UTF-8, each run is lost; read as Windows-1252, each valid multi-byte character
    is garbled. Whichever garbles fewer characters wins, so a real Windows-1252 file (invalid
    at nearly every non-ASCII byte) still goes to detection.
    """
    escaped = data.decode("utf-8", "surrogateescape")
    offsets, invalid, byte, cursor = [], 0, 0, 0
    for run in ESCAPED_BYTES.finditer(escaped):
        byte += len(escaped[cursor:run.start()].encode("utf-8"))
        offsets.append(byte)
        width = run.end() - run.start()  # one escaped character per invalid byte
        byte, invalid, cursor = byte + width, invalid + width, run.end()
    valid = len(escaped) - len(escaped.encode("ascii", "ignore")) - invalid
    return offsets if valid > len(offsets) else []


def _stray_warning(path: Path, offsets: list[int]) -> str:
    shown = ", ".join(str(offset) for offset in offsets[:SHOWN_OFFSETS])
    more = f" and {len(offsets) - SHOWN_OFFSETS} more" if len(offsets) > SHOWN_OFFSETS else ""
    if len(offsets) == 1:
        return f"{path}: not valid UTF-8 at byte {shown}; read as UTF-8 with that byte replaced (U+FFFD)"
    return f"{path}: not valid UTF-8 at bytes {shown}{more}; read as UTF-8 with those bytes replaced (U+FFFD)"


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
