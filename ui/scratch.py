"""Private temporary folders for the files the app offers for download (chat exports, briefings).

The files hold document text, so they must not pile up in the system's temporary folder: each
download folder goes once it is older than a day (Gradio serves its own copy, kept as long:
`delete_cache` in `ui.app`), and the whole folder goes when the server stops.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
import weakref
from pathlib import Path

DAY = 24 * 3600


class ScratchFolder:
    """A folder under the temporary directory, removed at exit (or by `remove`)."""

    def __init__(self, prefix: str, max_age: float = DAY, parent: Path | None = None):
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        self.max_age = max_age
        # Runs at interpreter exit too (also after SIGTERM: `ui.serving` turns it into a clean stop).
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def new_folder(self) -> Path:
        """A fresh, private folder for one download; the ones older than `max_age` are cleared first."""
        self.clear_old()
        return Path(tempfile.mkdtemp(dir=self.path))

    def clear_old(self) -> None:
        """Remove the download folders last changed more than `max_age` seconds ago."""
        oldest = time.time() - self.max_age
        for folder in self.path.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < oldest:
                shutil.rmtree(folder, ignore_errors=True)

    def remove(self) -> None:
        """Remove the folder and everything in it (once; later calls do nothing)."""
        self._remove()


def file_slug(text: str, fallback: str) -> str:
    """`text` as part of a download's file name: lower case, words joined by hyphens, at most 60 characters."""
    return re.sub(r"[^\w]+", "-", text.lower()).strip("-")[:60].strip("-") or fallback
