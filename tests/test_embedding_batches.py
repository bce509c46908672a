"""Encoder batches cut by tokens (rag.embedding.batching): larger batches of short texts, the same vectors."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from rag.embedding.batching import token_batches
from rag.embedding.embedder import Embedder
from rag.errors import SettingsError
from rag.settings import Settings


def test_batches_hold_every_text_once_longest_first_within_the_token_budget_none_under_half_the_longest():
    lengths = [50, 300, 12, 512, 60, 300, 8, 50, 49]
    batches = token_batches(lengths, max_tokens=600)
    assert sorted(n for batch in batches for n in batch) == list(range(len(lengths)))
    flat = [lengths[n] for batch in batches for n in batch]
    assert flat == sorted(lengths, reverse=True)
    assert all(len(batch) * lengths[batch[0]] <= 600 for batch in batches)
    assert all(2 * lengths[n] >= lengths[batch[0]] for batch in batches for n in batch)
    assert [len(batch) for batch in batches] == [1, 2, 4, 2]  # 512 | 300 300 | 60 50 50 49 | 12 8


def test_a_text_longer_than_the_budget_is_a_batch_of_its_own():
    assert token_batches([700, 10, 10], max_tokens=600) == [[0], [1, 2]]
    assert token_batches([], max_tokens=600) == []


def test_a_budget_below_one_token_names_the_setting(monkeypatch):
    monkeypatch.setenv("RAG_EMBEDDING_BATCH_TOKENS", "0")
    with pytest.raises(SettingsError, match="embedding_batch_tokens=0"):
        Embedder(Settings.load())


@pytest.mark.slow
def test_short_texts_go_in_larger_batches_and_keep_their_vectors_and_order(fp32_embedder, seed_chunks, monkeypatch):
    """Before: 16 texts a batch whatever their length. The vectors come back in the texts' order,
    equal to encoding each text alone."""
    windows = [sentence for chunk in seed_chunks[:12] for sentence in chunk.text.split(". ") if sentence][:60]
    chunks = [chunk.embedding_text() for chunk in seed_chunks[:6]]
    texts = [text for pair in zip(windows, chunks * 10) for text in pair]  # short and long interleaved
    embedder = copy.copy(fp32_embedder)  # shares the loaded model
    embedder.batch_tokens = 2048
    sizes = []
    encode = embedder.model.encode
    monkeypatch.setattr(embedder.model, "encode",
                        lambda batch, **kw: sizes.append(min(len(batch), kw["batch_size"])) or encode(batch, **kw))
    vectors = embedder.encode_passages(texts)
    monkeypatch.undo()
    alone = np.vstack([fp32_embedder.encode_passages([text]) for text in texts])
    assert np.sum(vectors * alone, axis=1).min() >= 0.9999
    assert max(sizes) > 16, f"short texts were batched {sizes}"
    lengths = embedder.input_lengths(texts)
    assert min(lengths) < 40 and max(lengths) > 150


@pytest.mark.slow
def test_counting_tokens_leaves_the_shared_tokenizer_as_encodes_set_it_and_counts_what_the_model_reads(
        embedder, seed_chunks):
    """Counting runs beside encodes in other threads (answers during an index update): a count
    that set its own truncation or padding on the model's tokenizer made their batches ragged."""
    long_text = "ord " * 700
    texts = [chunk.embedding_text() for chunk in seed_chunks[:20]] + [long_text, "kort"]
    embedder.encode_passages(texts[:3])  # leaves the encodes' truncation and padding on the tokenizer
    backend = embedder.model.tokenizer.backend_tokenizer
    state = (backend.truncation, backend.padding)
    reference = copy.deepcopy(embedder.model.tokenizer)
    expected = [len(ids) for ids in reference(["passage: " + text for text in texts], truncation=True,
                                              max_length=embedder.max_seq_length)["input_ids"]]
    assert embedder.input_lengths(texts) == expected
    assert embedder.count_tokens(long_text) == len(reference("passage: " + long_text)["input_ids"]) > 700
    assert (backend.truncation, backend.padding) == state
