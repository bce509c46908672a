"""The number format the local embedding model computes in: fp32, or bfloat16 on CPUs built for it.

CPUs with AMX-BF16 tiles (Intel Sapphire Rapids and later) multiply bfloat16 matrices
several times faster than fp32. Under torch's CPU autocast the model's matrix products run
in bfloat16 while its layer norms, softmax and pooling stay fp32, so its vectors match
fp32 ones to cosine 0.9999 (tests/test_embedding_precision.py) and an index built one way
is queried correctly the other. Measured on NorQuAD passages with the bundled model on
2 cores of such a CPU: encoding 2.2x faster. Elsewhere bfloat16 runs emulated, slower
than fp32, so "auto" chooses it only where the CPU has AMX-BF16.

It applies to passages, which an index build encodes by the thousand. Queries, and the
sentences and quotes the support check compares, are encoded in fp32 whatever the setting
(rag.embedding.embedder): bf16's rounding depends on which texts share a batch, and a
check calibrated on fp32 scores could flip on a borderline sentence.
"""
from __future__ import annotations

from contextlib import nullcontext

from rag.cpu import cpu_flags, read_cpuinfo
from rag.errors import SettingsError

PRECISIONS = ("auto", "fp32", "bf16")
BF16_FLAG = "amx_bf16"


def resolve_precision(setting: str, cpuinfo: str | None = None) -> str:
    """"fp32" or "bf16" for the setting `embedding_precision`; "auto" picks bf16 on AMX-BF16 CPUs."""
    if setting not in PRECISIONS:
        raise SettingsError(f"setting embedding_precision={setting!r} must be one of {', '.join(PRECISIONS)}")
    if setting != "auto":
        return setting
    flags = cpu_flags(read_cpuinfo() if cpuinfo is None else cpuinfo)
    return "bf16" if BF16_FLAG in flags else "fp32"


def computing_in(precision: str):
    """A context in which the model's forward passes run in `precision` ("fp32" or "bf16")."""
    if precision == "fp32":
        return nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)
