"""What this machine's CPU can do, read from /proc/cpuinfo, and how the process shares its cores.

Two decisions depend on the CPU: the embedder reads in bfloat16 where it has AMX-BF16
matrix units (rag.embedding.precision), and llama.cpp's AMX weight buffer, which crashes,
is turned off where AMX is present (rag.answer.backends.llamacpp_cpu).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags of the first CPU listed in /proc/cpuinfo text (x86: the `flags` line)."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return set(value.split())
    return set()


def read_cpuinfo(path: Path = CPUINFO) -> str:
    """/proc/cpuinfo, or "" where there is none (not Linux) or it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


@cache
def single_threaded_blas() -> None:
    """Run numpy's BLAS (OpenBLAS) on one thread in this process, from the first call on.

    Searching multiplies a query by a few thousand vectors at most: one thread does it in
    about a millisecond. With more, OpenBLAS's idle threads keep spinning after each product
    and take the cores from the next query's embedding: NorQuAD searches on 2 cores took
    92 ms p50 with them and 38 ms without. Torch and FAISS keep their own thread pools."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
