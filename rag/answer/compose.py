"""Evidence-first answers: per perspective, a written sentence (or a lead) with citations the code attaches.

Offline (`extractive`) each group becomes a lead line that names the source and perspective,
followed by its quotes, each with its `[n]`. With a language model each group's quotes go
to the model alone, and it writes one or two sentences about them; the model never types
`[n]`: the group's citations are attached to what it wrote. Every written sentence is then
checked against the quotes (`rag.answer.support`); an unsupported one is replaced by the
quotes it was written from, and a notice says why. Parts stream as each group is done.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

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


def quoted_part(group: EvidenceGroup, language: str) -> ComposedPart:
    """The offline part: a lead that names the source, then the verbatim quotes."""
    sentences = [AnswerSentence(group.text_of(q), (q.n,)) for q in group.quotes]
    return ComposedPart(lead(group, language) + "\n" + group.quoted(), sentences)


class EvidenceWriter:
    """Writes each group's sentences with a language model, checked against the group's quotes."""

    def __init__(self, backend: Backend, checker: SupportChecker):
        self.backend = backend
        self.checker = checker

    def part(self, question: str, group: EvidenceGroup, language: str, deadline: float) -> ComposedPart:
        """The group's written part; BackendError when the model fails (the caller falls back)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BackendError("no time was left for an answer within llm_timeout")
        quotes = [group.text_of(q) for q in group.quotes]
        prompt = evidence_prompt(question, speaker_name(group), quotes, language)
        reply = "".join(self.backend.stream(prompt, GROUP_ANSWER_TOKENS, remaining))
        written = _written_sentences(reply)
        if not written:
            raise BackendError("it returned an empty answer")
        return self._checked(written, group, language)

    def _checked(self, written: list[str], group: EvidenceGroup, language: str) -> ComposedPart:
        evidence, numbers = group.evidence(), tuple(group.numbers)
        markers = "".join(f"[{n}]" for n in numbers)
        sentences = []
        for text in written:
            verdict = self.checker.check(text, evidence)
            if not verdict.supported:
                replaced = quoted_part(group, language)
                replaced.notices.append(REPLACED_NOTICE.format(reason=verdict.reason))
                return replaced
            sentences.append(AnswerSentence(f"{text} {markers}", numbers))
        return ComposedPart(" ".join(s.text for s in sentences), sentences)


def _written_sentences(reply: str) -> list[str]:
    """The model's first sentences, without any markers it typed anyway."""
    sentences = [MARKER.sub("", s).strip() for s in answer_sentences(reply.strip())]
    return [s for s in sentences if len(s.split()) >= 3][:MAX_WRITTEN_SENTENCES]
