"""Evidence-first answers: per perspective, a written sentence (or a lead) with citations the code attaches.

Offline (`extractive`) each group becomes a lead line that names the source and perspective,
followed by its quotes, each with its `[n]`. With a language model each group's quotes go
to the model alone, and it writes one or two sentences about them; the model never types
`[n]`: the group's citations are attached to what it wrote. Every written sentence is then
checked against the quotes (`rag.answer.support`); an unsupported one is replaced by the
quotes it was written from, and a notice says why. Each sentence streams as soon as the model
has finished it and the check has passed it; generation stops once a group has its sentences.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

from rag.answer.backends.base import Backend
from rag.answer.citations import MARKER, answer_sentences
from rag.answer.evidence import EvidenceGroup, lead, speaker_name
from rag.answer.prompt import evidence_prompt
from rag.answer.support import SupportChecker
from rag.errors import BackendError
from rag.types import AnswerSentence

# Tokens a group's one or two sentences may take (a sentence is ~25-40 tokens).
GROUP_ANSWER_TOKENS = 120
MAX_WRITTEN_SENTENCES = 2
REPLACED_NOTICE = "A written sentence was replaced by the quotes it was written from: {reason}."


@dataclass
class ComposedPart:
    """One group's part of the answer: its text (with markers) and its sentences."""

    text: str
    sentences: list[AnswerSentence] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    quoted: bool = False  # the group's quotes under their lead, not written sentences


def quoted_part(group: EvidenceGroup, language: str) -> ComposedPart:
    """The offline part: a lead that names the source, then the verbatim quotes."""
    sentences = [AnswerSentence(group.text_of(q), (q.n,)) for q in group.quotes]
    return ComposedPart(lead(group, language) + "\n" + group.quoted(), sentences, quoted=True)


class EvidenceWriter:
    """Writes each group's sentences with a language model, checked against the group's quotes."""

    def __init__(self, backend: Backend, checker: SupportChecker):
        self.backend = backend
        self.checker = checker

    def pieces(self, question: str, group: EvidenceGroup, language: str, deadline: float) -> Iterator[ComposedPart]:
        """The group's part in pieces, each as soon as it is ready: every written sentence once the
        model has finished it and the check passed it; at the first unsupported sentence, the
        group's quotes under their lead instead of it and anything after it (generation stops).

        BackendError when the model fails; the pieces already yielded stand."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BackendError("no time was left for an answer within llm_timeout")
        quotes = [group.text_of(q) for q in group.quotes]
        prompt = evidence_prompt(question, speaker_name(group), quotes, language)
        stream = iter(self.backend.stream(prompt, GROUP_ANSWER_TOKENS, remaining))
        evidence, written = group.evidence(), 0
        try:
            for text in _finished_sentences(stream):
                verdict = self.checker.check(text, evidence)
                if not verdict.supported:
                    replaced = quoted_part(group, language)
                    replaced.notices.append(REPLACED_NOTICE.format(reason=verdict.reason))
                    yield replaced
                    return
                yield _written_part(text, tuple(group.numbers))
                written += 1
                if written == MAX_WRITTEN_SENTENCES:
                    return
        finally:
            if hasattr(stream, "close"):
                stream.close()  # stops generation: the rest of the reply is not used
        if not written:
            raise BackendError("it returned an empty answer")


def _written_part(text: str, numbers: tuple[int, ...]) -> ComposedPart:
    sentence = AnswerSentence(f"{text} " + "".join(f"[{n}]" for n in numbers), numbers)
    return ComposedPart(sentence.text, [sentence])


def _finished_sentences(stream: Iterator[str]) -> Iterator[str]:
    """The reply's sentences (without any markers the model typed anyway), each as soon as the
    next one has begun or the reply has ended; fragments under three words are skipped."""
    reply, done = "", 0
    for delta in stream:
        reply += delta
        sentences = answer_sentences(reply.strip())
        yield from _usable(sentences[done:-1])  # the last one may still grow
        done = max(done, len(sentences) - 1)
    yield from _usable(answer_sentences(reply.strip())[done:])


def _usable(sentences: list[str]) -> Iterator[str]:
    for sentence in sentences:
        text = MARKER.sub("", sentence).strip()
        if len(text.split()) >= 3:
            yield text
