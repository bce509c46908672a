"""llama.cpp's weight repacking: off on CPUs with AMX (where it segfaults), llama.cpp's default elsewhere."""
from __future__ import annotations

import logging

import pytest
from conftest import AMX_CPUINFO, PLAIN_CPUINFO

from rag.answer.backends import llamacpp, llamacpp_cpu
from rag.answer.backends.base import BackendContext, BackendError
from rag.answer.backends.llama_server import split_arguments
from rag.answer.backends.llamacpp_cpu import repacking_decision, weight_repacking
from rag.cpu import cpu_flags
from rag.errors import SettingsError
from rag.settings import Settings


def test_cpu_flags_are_read_from_the_flags_line():
    assert {"amx_tile", "amx_int8", "avx2"} <= cpu_flags(AMX_CPUINFO)
    assert "spectre_v1" not in cpu_flags(AMX_CPUINFO)
    assert cpu_flags("") == set() and cpu_flags("Features\t: fp asimd") == set()


def test_auto_turns_repacking_off_with_amx_only():
    enabled, reason = repacking_decision("auto", AMX_CPUINFO)
    assert not enabled and "amx_int8" in reason and "20824" in reason
    assert repacking_decision("auto", PLAIN_CPUINFO) == (True, "")
    assert repacking_decision("auto", "") == (True, "")  # no /proc/cpuinfo: llama.cpp's default


def test_on_and_off_are_obeyed_whatever_the_cpu():
    assert repacking_decision("on", AMX_CPUINFO) == (True, "")
    assert repacking_decision("off", PLAIN_CPUINFO)[0] is False


def test_an_unknown_mode_is_a_settings_error():
    with pytest.raises(SettingsError, match="llamacpp_weight_repacking"):
        repacking_decision("yes", PLAIN_CPUINFO)
    with pytest.raises(SettingsError, match="llamacpp_weight_repacking"):
        llamacpp.LlamaCppBackend(Settings(llamacpp_weight_repacking="maybe"))


def test_the_launcher_takes_its_option_and_passes_the_rest_to_the_server():
    assert split_arguments(["--weight-repacking", "off", "--model", "m.gguf", "--n_ctx", "512"]) == (
        "off", ["--model", "m.gguf", "--n_ctx", "512"])
    assert split_arguments(["--model", "m.gguf", "--help"]) == ("auto", ["--model", "m.gguf", "--help"])


@pytest.fixture
def bindings():
    # `make test` installs llama-cpp-python: a missing one is a failure, not a skip.
    import llama_cpp.llama_cpp

    return llama_cpp.llama_cpp


def test_with_amx_models_load_without_extra_buffers_and_the_default_comes_back(bindings, caplog, monkeypatch):
    monkeypatch.setattr(llamacpp_cpu, "_logged", False)
    original = bindings.llama_model_default_params
    assert original().use_extra_bufts  # llama.cpp's default, which the rule changes
    with caplog.at_level(logging.INFO, logger=llamacpp_cpu.__name__):
        with weight_repacking("auto", AMX_CPUINFO) as enabled:
            assert not enabled and not bindings.llama_model_default_params().use_extra_bufts
        with weight_repacking("auto", AMX_CPUINFO):
            pass
    assert bindings.llama_model_default_params is original
    notices = [record.getMessage() for record in caplog.records]
    assert len(notices) == 1 and "turned off" in notices[0] and "AMX" in notices[0]


def test_without_amx_the_default_params_are_left_alone(bindings):
    original = bindings.llama_model_default_params
    with weight_repacking("auto", PLAIN_CPUINFO) as enabled:
        assert enabled and bindings.llama_model_default_params is original


class FailingLlama:
    """Stands in for llama_cpp.Llama: records the model parameters it was given, then fails to load."""

    seen: list[bool] = []

    def __init__(self, **options):
        import llama_cpp.llama_cpp as bindings

        FailingLlama.seen.append(bindings.llama_model_default_params().use_extra_bufts)
        raise ValueError("Failed to load model from file")


def test_the_default_params_are_restored_when_loading_fails(bindings, monkeypatch, tmp_path):
    import llama_cpp

    monkeypatch.setattr(llama_cpp, "Llama", FailingLlama)
    monkeypatch.setattr(FailingLlama, "seen", [])
    original = bindings.llama_model_default_params
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    backend = llamacpp.create(BackendContext(Settings(llamacpp_model_path=gguf, llamacpp_weight_repacking="off")))
    with pytest.raises(BackendError, match="could not load"):
        next(backend.stream(None, max_tokens=1, timeout=5))
    assert FailingLlama.seen == [False]  # the load itself ran with repacking off
    assert bindings.llama_model_default_params is original
    assert not llamacpp._loaded or all(key[0] != str(gguf.resolve()) for key in llamacpp._loaded)
