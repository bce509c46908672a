"""Files the app writes for downloads (chat exports, briefings) do not outlive their use or the server."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, SEEDS
from ui.scratch import ScratchFolder

DAY = 24 * 3600


def test_a_new_download_folder_clears_the_ones_older_than_its_age_limit(tmp_path):
    scratch = ScratchFolder("rag-test-", max_age=DAY, parent=tmp_path)
    old, recent = scratch.new_folder(), scratch.new_folder()
    (old / "briefing.md").write_text("old", encoding="utf-8")
    two_days_ago = time.time() - 2 * DAY
    os.utime(old, (two_days_ago, two_days_ago))
    newest = scratch.new_folder()
    assert not old.exists() and recent.exists() and newest.exists()
    assert old.parent == recent.parent == newest.parent == scratch.path


def test_the_scratch_folder_is_removed_with_everything_in_it(tmp_path):
    scratch = ScratchFolder("rag-test-", parent=tmp_path)
    (scratch.new_folder() / "conversation.md").write_text("text", encoding="utf-8")
    scratch.remove()
    assert list(tmp_path.iterdir()) == []
    scratch.remove()  # twice is harmless


@pytest.mark.slow
def test_a_stopped_server_leaves_no_download_folders_behind(seed_index, tmp_path):
    """`rag serve` stopped the way a service manager stops it (SIGTERM) exits cleanly and takes its
    export and briefing folders with it: they hold document text and must not pile up in /tmp."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(tmp_path / "gradio"),
           "RAG_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "rag", "serve", "--port", "0", "--backend", "extractive",
               "--corpus", str(SEEDS), "--index", str(seed_index.folder.parent)]
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "running on" in server.stdout.readline(), server.stderr.read()
        assert sorted(p.name[:-8] for p in temp.iterdir()) == ["rag-briefing-", "rag-export-"]  # mkdtemp adds 8
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, server.stderr.read()
    finally:
        server.kill()
    assert [p.name for p in temp.iterdir()] == []
