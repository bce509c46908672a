"""Backends by name, from the `rag.backends` entry-point group.

The built-in backends (extractive, llamacpp, openai) are registered in this project's
pyproject.toml exactly as a third-party package would register its own:

    [project.entry-points."rag.backends"]
    mybackend = "mypackage.module:factory"

A factory takes a `BackendContext` and returns a `Backend`.
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from typing import Callable

from rag.answer.backends.base import Backend, BackendContext
from rag.errors import SettingsError

ENTRY_POINT_GROUP = "rag.backends"
_extra: dict[str, Callable[[BackendContext], Backend]] = {}


@lru_cache(maxsize=1)
def _installed() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def backend_names() -> list[str]:
    """Names of all registered backends."""
    return sorted(set(_installed()) | set(_extra))


def register(name: str, factory: Callable[[BackendContext], Backend]) -> None:
    """Register a backend at run time (tests use this for scripted fakes)."""
    _extra[name] = factory


def unregister(name: str) -> None:
    """Remove a run-time registration."""
    _extra.pop(name, None)


def create_backend(name: str, context: BackendContext) -> Backend:
    """A backend instance by name; SettingsError (a ValueError) naming the known ones otherwise."""
    if name in _extra:
        return _extra[name](context)
    if name not in _installed():
        raise SettingsError(f"unknown backend {name!r}; registered: {', '.join(backend_names())}")
    return _installed()[name].load()(context)
