"""Progress of a long encode: counts, share by characters, and an estimate of the time left."""
from __future__ import annotations

from rag.embedding.progress import EncodeProgress


def test_time_left_is_estimated_from_the_characters_done():
    now = [0.0]
    messages: list[str] = []
    meter = EncodeProgress("embedding chunks", [10, 10, 30, 50], messages.append, clock=lambda: now[0])
    now[0] = 10.0
    meter.advance([10, 10])  # 20 of 100 characters in 10 s: 40 s to go (by count it would say 10 s)
    now[0] = 40.0
    meter.advance([30])
    now[0] = 90.0
    meter.advance([50])
    assert messages == ["embedding chunks: 2/4 (20%), about 40 s left",
                        "embedding chunks: 3/4 (50%), about 40 s left",
                        "embedding chunks: 4/4 (100%)"]


def test_long_estimates_read_in_minutes_and_hours():
    now = [0.0]
    messages: list[str] = []
    meter = EncodeProgress("embedding", [1] * 1000, messages.append, clock=lambda: now[0])
    now[0] = 60.0
    meter.advance([1] * 100)  # 10% in a minute: 9 min left
    now[0] = 1500.0
    meter.advance([1] * 100)  # 20% in 25 minutes: 100 min left, over 90 min reads in hours
    assert messages[0].endswith("about 9 min left") and messages[1].endswith("about 1.7 h left"), messages


def test_the_corpus_tab_bar_moves_through_the_embedding_phase():
    from ui.corpus_tab import _PhaseProgress

    seen: list[float] = []
    bar = _PhaseProgress(lambda fraction, desc: seen.append(round(fraction, 2)))
    for message in ["checking 2 files", "embedding 3 chunks and 10 sentence windows",
                    "embedding chunks of 2 documents: 1/3 (40%), about 5 s left",
                    "embedding sentence windows: 5/10 (50%), about 2 s left",
                    "embedding sentences: 9/12 (75%), about 1 s left", "storing 3 chunk vectors"]:
        bar(message)
    assert seen == [0.05, 0.2, 0.32, 0.65, 0.73, 0.8]
