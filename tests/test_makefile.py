"""The Makefile's install steps: `make run` installs only what serving the chat needs, and
`make test` after it adds only the rest (read from `make -n`, so nothing is installed here).

`.ci/run` checks the same on a fresh clone with the packages actually installed.
"""
from __future__ import annotations

import os
import re
import subprocess

from conftest import REPO

# An extra (`.[dev]`, `'.[llm]'`...) or the llama.cpp pins: neither belongs to the serving install.
EXTRA = re.compile(r"\.\[|requirements-llm\.lock|CMAKE_")


def planned(target: str, venv) -> list[str]:
    """The commands `make TARGET` would run with its virtualenv at `venv`."""
    # Run by `make test`, this make would inherit the outer one's flags and print directory lines.
    env = {name: value for name, value in os.environ.items() if name not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", "-n", "--no-print-directory", target, f"VENV={venv}"], cwd=REPO, env=env,
                            capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.splitlines()


def installs(commands: list[str]) -> list[str]:
    return [command for command in commands if "pip install" in command]


def test_run_installs_the_serving_dependencies_only(tmp_path):
    commands = planned("run", tmp_path / "venv")
    steps = installs(commands)
    assert any("torch==2.13.0" in step for step in steps), commands
    assert any("-c requirements.lock" in step and step.endswith(" -e .") for step in steps), commands
    assert not [step for step in steps if EXTRA.search(step)], steps
    assert not any("test-stamp" in command or "llm-stamp" in command for command in commands), commands
    assert commands[-1].endswith("rag serve")


def test_test_after_run_adds_only_what_is_missing(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".serve-stamp").touch()  # `make run` has installed its part (newer than pyproject.toml)
    steps = installs(planned("test", venv))
    assert not any("torch==" in step or step.endswith("-e .") for step in steps), steps
    assert any("'.[llm]'" in step for step in steps) and any("dev" in step and "milvus" in step for step in steps)
    assert planned("test", venv)[-1].endswith("-m pytest")


def test_a_fresh_test_installs_everything_in_order(tmp_path):
    steps = installs(planned("test", tmp_path / "venv"))
    assert "torch==2.13.0" in steps[0] and steps[1].endswith("-e .")
    assert "'.[llm]'" in steps[2] and "milvus" in steps[3]


def test_models_builds_llama_cpp_but_no_test_tools(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".serve-stamp").touch()
    commands = planned("models", venv)
    assert [step for step in installs(commands) if "'.[llm]'" in step] == installs(commands), commands
    assert "fetch_gguf.py" in commands[-1]
