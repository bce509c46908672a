"""Answering: retrieved passages + question (+ history) -> a cited `Answer`.

    answerer.py       the pipeline: rewrite, retrieve, abstain or prompt, stream, cite
    prompt.py         the chat prompt with delimited, numbered sources
    extractive.py     the offline backend: quoted evidence sentences
    citations.py      [n] markers -> exact quotes with offsets
    followup.py       follow-up questions -> standalone queries
    answerability.py  when to abstain
    backends/         the backend protocol, registry (entry points), llama.cpp and OpenAI-compatible
"""
from rag.answer.answerer import Answerer
from rag.answer.events import Finished, SourcesFound, TextDelta
from rag.answer.prompt import NO_ANSWER_PATTERN

__all__ = ["Answerer", "Finished", "NO_ANSWER_PATTERN", "SourcesFound", "TextDelta"]
