"""llama.cpp's CPU weight repacking, turned off on CPUs where it crashes.

llama.cpp copies a model's weights at load time into "extra buffer types" laid out for the
CPU's matrix instructions (AVX-512/AVX2 interleaving, or Intel AMX tiles). On a CPU with AMX
(Sapphire Rapids and later), the AMX buffer ("AMX model buffer" in llama.cpp's log) crashes
the process with a segmentation fault at the first completion: ggml-org/llama.cpp issue
20824, seen with llama-cpp-python 0.3.36 built with -march=native. The model's
`use_extra_bufts = False` avoids it, at the cost of slower prompt reading, so it is turned
off only where AMX is present; elsewhere repacking stays on, as llama.cpp defaults.

llama-cpp-python's `Llama` does not expose that parameter: it fills its model parameters
from `llama_cpp.llama_cpp.llama_model_default_params()`. `weight_repacking` swaps that
function for the length of a load. Remove this module once the llama-cpp-python in
requirements-llm.lock carries a llama.cpp with the issue fixed (check, on an AMX host:
`RAG_LLAMACPP_WEIGHT_REPACKING=on rag ask --backend llamacpp "..."` answers instead of
dying with exit code 139).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from rag.cpu import cpu_flags, read_cpuinfo
from rag.errors import SettingsError

log = logging.getLogger(__name__)

MODES = ("auto", "on", "off")
# Any of these in /proc/cpuinfo means llama.cpp (built for the host) uses its AMX buffer.
AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16"})
ISSUE = "https://github.com/ggml-org/llama.cpp/issues/20824"

_logged = False  # the "turned off" notice is logged once per process


def check_mode(mode: str) -> str:
    """`mode` if it is one of MODES; SettingsError naming the setting otherwise."""
    if mode not in MODES:
        raise SettingsError(f"setting llamacpp_weight_repacking={mode!r} must be one of {', '.join(MODES)}")
    return mode


def repacking_decision(mode: str, cpuinfo: str | None = None) -> tuple[bool, str]:
    """Whether llama.cpp may repack weights (use its extra buffer types), and why not if it may not.

    "on" and "off" are obeyed; "auto" turns repacking off only when the CPU has AMX."""
    check_mode(mode)
    if mode == "on":
        return True, ""
    if mode == "off":
        return False, "llamacpp_weight_repacking is off"
    amx = sorted(cpu_flags(read_cpuinfo() if cpuinfo is None else cpuinfo) & AMX_FLAGS)
    if amx:
        return False, f"this CPU has AMX ({', '.join(amx)}), whose weight buffer crashes llama.cpp ({ISSUE})"
    return True, ""


@contextmanager
def weight_repacking(mode: str, cpuinfo: str | None = None) -> Iterator[bool]:
    """Within the block, models loaded by `llama_cpp.Llama` follow `mode`; yields whether repacking is on.

    Repacking off: `llama_model_default_params` is replaced by a wrapper that clears
    `use_extra_bufts`, and put back when the block ends, however it ends. Not thread-safe
    against other loads: hold the caller's loading lock around the block."""
    enabled, reason = repacking_decision(mode, cpuinfo)
    if enabled:
        yield True
        return
    import llama_cpp.llama_cpp as bindings

    _log_once(reason)
    original = bindings.llama_model_default_params
    bindings.llama_model_default_params = _without_extra_buffers(original)
    try:
        yield False
    finally:
        bindings.llama_model_default_params = original


def _without_extra_buffers(default_params):
    def params():
        values = default_params()
        values.use_extra_bufts = False
        return values

    return params


def _log_once(reason: str) -> None:
    global _logged
    if not _logged:
        _logged = True
        log.info("llama.cpp weight repacking (extra buffer types) turned off: %s", reason)
