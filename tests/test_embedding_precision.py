"""The embedder's number format (rag.embedding.precision): bfloat16 on AMX-BF16 CPUs, fp32 elsewhere."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import AMX_CPUINFO, PLAIN_CPUINFO, encoding_in

from rag.embedding.embedder import Embedder
from rag.embedding.precision import resolve_precision
from rag.errors import SettingsError
from rag.settings import Settings


def test_auto_chooses_bf16_only_where_the_cpu_has_amx_bf16():
    assert resolve_precision("auto", AMX_CPUINFO) == "bf16"
    assert resolve_precision("auto", PLAIN_CPUINFO) == "fp32"
    assert resolve_precision("auto", "") == "fp32"  # no /proc/cpuinfo: the safe choice
    assert resolve_precision("bf16", PLAIN_CPUINFO) == "bf16"
    assert resolve_precision("fp32", AMX_CPUINFO) == "fp32"


def test_an_unknown_precision_names_the_setting_before_any_model_loads(monkeypatch):
    monkeypatch.setenv("RAG_EMBEDDING_PRECISION", "fp16")
    with pytest.raises(SettingsError, match="embedding_precision='fp16'.*auto, fp32, bf16"):
        Embedder(Settings.load())


@pytest.mark.slow
def test_bf16_vectors_are_the_fp32_vectors(fp32_embedder, seed_chunks):
    texts = [chunk.embedding_text() for chunk in seed_chunks[:48]]
    fp32 = fp32_embedder.encode_passages(texts)
    bf16 = encoding_in(fp32_embedder, "bf16").encode_passages(texts)
    assert np.abs(fp32 - bf16).max() > 1e-6, "bf16 really computed in bfloat16"
    assert np.sum(fp32 * bf16, axis=1).min() >= 0.999


@pytest.mark.slow
def test_queries_and_the_support_check_compute_in_fp32_whatever_the_setting(fp32_embedder):
    """Answer-time scores stay exactly what their thresholds were calibrated on."""
    queries = ["what did the police say about lack of resources?", "Hva sa politiet om mangel på ressurser?"]
    assert np.array_equal(encoding_in(fp32_embedder, "bf16").encode_queries(queries), fp32_embedder.encode_queries(queries))


@pytest.mark.slow
def test_bf16_token_sums_point_where_fp32_vectors_point(fp32_embedder):
    texts = ["Politiet mangler tid.", "Health personnel describe long waiting times for treatment."]
    sums = encoding_in(fp32_embedder, "bf16").encode_passage_sums(texts)
    sums /= np.linalg.norm(sums, axis=1, keepdims=True)
    assert np.sum(sums * fp32_embedder.encode_passages(texts), axis=1).min() >= 0.999

