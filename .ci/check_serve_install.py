"""Fail when the serving install (`make run`'s step) holds packages only tests or optional backends need."""
from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, distribution

# Test tools, the Milvus client and llama.cpp (whose install compiles it): `make test` adds them.
NOT_FOR_SERVING = ("pytest", "hypothesis", "playwright", "pymilvus", "milvus-lite", "milvus", "llama-cpp-python")


def installed(name: str) -> bool:
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


def main() -> int:
    found = [name for name in NOT_FOR_SERVING if installed(name)]
    if found:
        print(f"error: `make run` installed packages serving does not need: {', '.join(found)}", file=sys.stderr)
        return 1
    print(f"make run installed none of: {', '.join(NOT_FOR_SERVING)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
