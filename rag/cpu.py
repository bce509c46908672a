"""What this machine's CPU can do, read from /proc/cpuinfo.

Two decisions depend on it: the embedder reads in bfloat16 where the CPU has AMX-BF16
matrix units (rag.embedding.precision), and llama.cpp's AMX weight buffer, which crashes,
is turned off where AMX is present (rag.answer.backends.llamacpp_cpu).
"""
from __future__ import annotations

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
