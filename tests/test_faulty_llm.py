"""The whole answer path against a real local HTTP server that misbehaves in every way we know.

Each case asks the `Answerer` (openai backend) a question while `FaultServer` hangs, refuses,
errs, breaks its stream or answers badly. Every time the user must get a clean answer within
the configured timeout: the extractive fallback with a notice, or the LLM's answer cleaned up.
Malformed replies (mistyped chunks, broken gzip, bad JSON) are also fed to the llamacpp backend's
chunk parsing through a stand-in for llama.cpp.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from conftest import SEEDS
from fault_server import FaultServer, free_port

from rag.answer import Answerer
from rag.answer.backends import llamacpp
from rag.answer.backends.base import BackendContext
from rag.retrieval import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.slow

TIMEOUT = 3.0
# Thread start-up and the extractive fallback on a busy 2-core machine.
MARGIN = 1.5
QUESTION = "What did the police say about lack of resources?"
FOLLOW_UP = "And the health personnel?"
HISTORY = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "They lack time [1]."}]
CITING = ["The police say they lack resources and time [1]. ", "Officers feel the mandate is unclear [2]."]
BOGUS_CITATIONS = ["The police lack resources [1]. ", "Ministers promised more money [9]. ", "See also [42][1]."]
# An ordinary answer is about 100 characters; this one is 100 times that.
RAMBLING = ["The police say they lack resources and time, and keep repeating it at length [1]. "] * 120
FALLBACK = "The openai backend failed"
# These replies come at once; a budget this long keeps a slow retrieval on a busy machine from
# turning the notice into "no time was left" (the timeout cases above cover the deadline).
PROMPT_REPLY_TIMEOUT = 30.0
# Replies the server frames correctly but fills wrongly, and what the notice must say about each.
MALFORMED = [
    ("delta_string", "sent a malformed stream chunk ('delta' is str, not an object)"),
    ("content_int", "sent a malformed stream chunk ('content' is int, not text)"),
    ("deep_json", "sent malformed JSON"),
    ("huge_number", "sent malformed JSON"),
    ("choices_missing", "sent a malformed completion (no 'choices')"),
    ("message_string", "sent a malformed completion ('message' is str, not an object)"),
    ("bad_gzip", "sent a body that could not be decoded"),
    ("bad_gzip_error", "sent a body that could not be decoded"),
]
# The same faults in the chunks llama-cpp-python yields.
MALFORMED_LLAMA_CHUNKS = [
    ("delta_string", {"choices": [{"index": 0, "delta": "The police"}]}, "'delta' is str, not an object"),
    ("content_int", {"choices": [{"index": 0, "delta": {"content": 42}}]}, "'content' is int, not text"),
    ("choices_missing", {"id": "chatcmpl-1"}, "no 'choices'"),
]


@dataclass
class Case:
    """One way the server misbehaves and what the user must get instead."""

    name: str
    script: list[str]
    expect: str  # "fallback": the extractive answer with a notice; "cleaned": the LLM's, repaired
    deltas: list[str] = field(default_factory=lambda: CITING)
    history: list[dict] = field(default_factory=list)
    refused: bool = False


CASES = [
    Case("hangs before answering", ["hang"], "fallback"),
    Case("hangs while rewriting a follow-up", ["hang"], "fallback", history=HISTORY),
    Case("refuses connections", [], "fallback", refused=True),
    Case("HTTP 429 every time", ["429"], "fallback"),
    Case("HTTP 500", ["500"], "fallback"),
    Case("HTTP 503", ["503"], "fallback"),
    Case("HTTP 401", ["401"], "fallback"),
    Case("malformed JSON mid-stream", ["malformed"], "fallback"),
    Case("stream cut midway", ["cut"], "fallback"),
    Case("stream stalls midway", ["stall"], "fallback"),
    Case("stream ends without [DONE]", ["truncated"], "fallback"),
    Case("a web page instead of a stream", ["html"], "fallback"),
    Case("an empty answer", ["empty"], "fallback"),
    Case("an answer of whitespace", ["ok"], "fallback", deltas=["  ", "\n"]),
    Case("citations of sources that do not exist", ["ok"], "cleaned", deltas=BOGUS_CITATIONS),
    Case("an answer 100 times too long", ["ok"], "cleaned", deltas=RAMBLING),
    Case("HTTP 429 once, then an answer", ["429", "ok"], "cleaned"),
    Case("HTTP 503 once, then a non-streamed answer", ["503", "json"], "cleaned"),
]


@pytest.fixture(scope="module")
def answerer_for(seed_index, embedder):
    """An openai-backend Answerer over the seed index, pointed at a base URL."""
    def make(base_url: str, timeout: float = TIMEOUT, answer_mode: str = "free") -> Answerer:
        settings = Settings.load(corpus_dir=SEEDS, index_dir=seed_index.folder.parent, backend="openai",
                                 openai_base_url=base_url, llm_timeout=timeout, llm_max_retries=2,
                                 llm_max_answer_tokens=200, answer_mode=answer_mode)
        return Answerer(settings, Retriever(seed_index, embedder), backend="openai")
    return make


def llm_seconds(answer) -> float:
    """Time spent on the backend and any fallback (retrieval and citation matching are the CPU's)."""
    return (answer.timings_ms["generate"] + answer.timings_ms.get("rewrite", 0.0)) / 1000


def problems_with(case: Case, answer, documents: dict, limit_chars: int) -> list[str]:
    """What is wrong with the answer the user got in `case` (empty when it is clean)."""
    found = []
    if llm_seconds(answer) > TIMEOUT + MARGIN:
        found.append(f"the backend part took {llm_seconds(answer):.1f} s")
    if answer.abstained or not answer.citations or not answer.text.strip():
        found.append(f"no cited answer: {answer.text!r}")
    if any(documents[c.doc_id].text[c.start:c.end] != c.quote for c in answer.citations):
        found.append("a citation quote is not the document's text")
    if any(junk in answer.text for junk in ("data:", "[DONE]", "<html", '"choices"', "[9]", "[42]")):
        found.append(f"server junk in the text: {answer.text[:200]!r}")
    if case.expect == "fallback" and (answer.backend != "extractive" or not answer.notices[0].startswith(FALLBACK)):
        found.append(f"no fallback notice: backend {answer.backend}, notices {answer.notices}")
    if case.expect == "cleaned" and answer.backend != "openai":
        found.append(f"the LLM's answer was thrown away: {answer.notices}")
    if case.expect == "cleaned" and len(answer.text) > limit_chars:
        found.append(f"{len(answer.text)} characters: the answer limit was not applied")
    return found


def ask(answerer: Answerer, case: Case):
    return answerer.ask(FOLLOW_UP if case.history else QUESTION, case.history)


def test_every_fault_ends_in_a_clean_answer_within_the_timeout(answerer_for, seed_index):
    outcomes: dict[str, list[str]] = {}
    failures = []
    for case in CASES:
        if case.refused:
            answer = ask(answerer_for(f"http://127.0.0.1:{free_port()}/v1"), case)
        else:
            with FaultServer(case.script, deltas=case.deltas, hang_seconds=30) as server:
                answer = ask(answerer_for(server.base_url), case)
        wrong = problems_with(case, answer, seed_index.documents, limit_chars=200 * 6)
        failures += [f"{case.name}: {problem}" for problem in wrong]
        outcomes.setdefault(case.expect, []).append(f"{case.name} ({llm_seconds(answer):.1f} s)")
    print(f"\n{len(CASES)} faults injected: " + "; ".join(f"{k}: {len(v)}" for k, v in outcomes.items()))
    assert not failures, "\n".join(failures)
    assert len(CASES) == 18 and len(outcomes["fallback"]) == 14 and len(outcomes["cleaned"]) == 4


def test_bogus_citations_are_removed_and_reported(answerer_for):
    with FaultServer(["ok"], deltas=BOGUS_CITATIONS) as server:
        answer = answerer_for(server.base_url).ask(QUESTION)
    assert {c.n for c in answer.citations} == {1}
    assert any("[9]" in notice and "[42]" in notice for notice in answer.notices), answer.notices


def test_a_rambling_answer_is_cut_and_the_server_is_not_read_to_the_end(answerer_for):
    with FaultServer(["ok"], deltas=RAMBLING, delta_interval=0.05) as server:
        answer = answerer_for(server.base_url).ask(QUESTION)
    assert any("answer limit" in notice for notice in answer.notices), answer.notices
    assert len(answer.text) <= 200 * 6 and answer.citations
    # The cut comes after 15 deltas; the connection closes then, so the server stops soon after.
    assert 14 <= server.deltas_sent < 20


def test_a_hanging_follow_up_rewrite_leaves_the_answer_within_one_timeout(answerer_for):
    with FaultServer(["hang"], hang_seconds=60) as server:
        answer = answerer_for(server.base_url, timeout=8.0).ask(FOLLOW_UP, HISTORY)
    # Without a shared budget the rewrite and the answer would each wait a full timeout (16 s).
    assert llm_seconds(answer) < 8.0 + MARGIN and len(server.requests) >= 2
    assert answer.backend == "extractive" and answer.citations


def test_a_hosted_models_invented_figure_and_wrong_source_are_marked_everywhere(answerer_for):
    """Scripted free-form answer from a real HTTP server: both bad sentences come back unsupported
    with a reason, in the JSON, the chat's HTML and the Markdown export."""
    from ui.markdown_export import conversation_markdown
    from ui.render import answer_html

    reply = ("Deltakerne mener politiet er underbemannet [1]. "
             "The government spent 10 billion kroner on this in 2024 [1]. "
             "Heroin users in LAR have a much lower risk of overdose [1].")
    with FaultServer(["ok"], deltas=[reply]) as server:
        answer = answerer_for(server.base_url).ask(QUESTION)
    flagged = {s["text"]: s for s in answer.to_json()["sentences"] if s["support"] == "unsupported"}
    invented = flagged["The government spent 10 billion kroner on this in 2024."]
    wrong = flagged["Heroin users in LAR have a much lower risk of overdose."]
    assert "10 billion" in invented["reason"] and "[1]" in wrong["reason"]
    html = answer_html(answer, 0)
    assert html.count('class="rag-unsupported"') == 2 and "not supported: " in html
    export = conversation_markdown([answer], "today")
    assert export.count("> Not supported by its sources:") == 2 and invented["reason"] in export


@pytest.mark.parametrize("mode", ["free", "evidence"])
@pytest.mark.parametrize("behaviour, problem", MALFORMED, ids=[b for b, _ in MALFORMED])
def test_malformed_backend_replies_fall_back_with_a_notice(answerer_for, seed_index, behaviour, problem, mode):
    with FaultServer([behaviour], deltas=CITING) as server:
        answer = answerer_for(server.base_url, PROMPT_REPLY_TIMEOUT, answer_mode=mode).ask(QUESTION)
    assert_extractive_fallback(answer, seed_index.documents)
    assert any(notice.startswith(FALLBACK) and f"{server.base_url}/chat/completions {problem}" in notice
               for notice in answer.notices), answer.notices


def assert_extractive_fallback(answer, documents: dict) -> None:
    """A cited extractive answer with exact quotes, and none of the server's junk in it."""
    assert not answer.abstained and answer.citations and answer.backend == "extractive", answer.notices
    assert all(documents[c.doc_id].text[c.start:c.end] == c.quote for c in answer.citations)
    assert not any(junk in answer.text for junk in ("data:", "[[[", '"choices"'))


class MalformedLlama:
    """Stands in for `llama_cpp.Llama`: streams one good chunk, then the bad one."""

    def __init__(self, bad_chunk: dict):
        self.bad_chunk = bad_chunk

    def create_chat_completion(self, **options):
        yield {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
        yield {"choices": [{"index": 0, "delta": {"content": CITING[0]}}]}
        yield self.bad_chunk


@pytest.mark.parametrize("mode", ["free", "evidence"])
@pytest.mark.parametrize("chunk, problem", [case[1:] for case in MALFORMED_LLAMA_CHUNKS],
                         ids=[case[0] for case in MALFORMED_LLAMA_CHUNKS])
def test_malformed_llamacpp_chunks_fall_back_with_a_notice(seed_index, embedder, monkeypatch, chunk, problem, mode):
    loaded = llamacpp._LoadedModel(MalformedLlama(chunk), threading.Lock())
    monkeypatch.setattr(llamacpp, "load_model", lambda *args: loaded)
    settings = Settings.load(corpus_dir=SEEDS, index_dir=seed_index.folder.parent, backend="llamacpp",
                             llm_timeout=PROMPT_REPLY_TIMEOUT, llm_max_answer_tokens=200, answer_mode=mode)
    backend = llamacpp.create(BackendContext(settings))
    answer = Answerer(settings, Retriever(seed_index, embedder), backend=backend).ask(QUESTION)
    assert_extractive_fallback(answer, seed_index.documents)
    assert any(notice.startswith("The llamacpp backend failed") and "malformed stream chunk" in notice
               and problem in notice for notice in answer.notices), answer.notices
