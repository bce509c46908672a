"""Evidence-first answers: per perspective, written sentences (or a lead) with citations the code attaches.

Offline (`extractive`) each group becomes a lead line that names the source and perspective,
followed by its quotes, each with its `[n]`. With a language model each group is written as
one sentence per part (`writing_parts`): first the quotes of its best passage (as many as fit a
short read), then the rest.
The model sees only that part's quotes and never types `[n]`: the part's citations are
attached to what it wrote. Short requests put the first sentence on screen sooner (the model
reads 50-70 tokens/s on 2 cores, and a group's quotes run to 300 tokens), and each sentence
cites exactly the quotes it was written from. Every written sentence is checked against those
quotes (`rag.answer.support`); an unsupported one is replaced by them, under the group's lead,
and a notice says why. Generation stops at the end of the first sentence.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

from rag.answer.backends.base import Backend
from rag.answer.citations import MARKER, answer_sentences
from rag.answer.evidence import EvidenceGroup, lead, speaker_name
from rag.answer.prompt import evidence_prompt
from rag.answer.support import QUOTE_MARKS, UNSUPPORTED, SupportChecker, Verdict
from rag.errors import BackendError
from rag.types import AnswerSentence

# Tokens one written sentence may take (a sentence is ~25-40 tokens; Norwegian takes more).
SENTENCE_TOKENS = 80
# Characters of quotes in a group's first request: about 90 Norwegian tokens, under 2 s of reading.
# Measured on 41 questions (AMD EPYC, 2 cores): first sentence 4.0 s against 5.0 s without it.
FIRST_REQUEST_CHARS = 280
REPLACED_NOTICE = "A written sentence was replaced by the quotes it was written from: {reason}."


@dataclass
class ComposedPart:
    """One group's part of the answer: its text (with markers) and its sentences."""

    text: str
    sentences: list[AnswerSentence] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    quoted: bool = False  # ends with quotes under their lead, not with a written sentence


def quoted_part(group: EvidenceGroup, language: str) -> ComposedPart:
    """The offline part: a lead that names the source, then the verbatim quotes."""
    sentences = [AnswerSentence(group.text_of(q), (q.n,)) for q in group.quotes]
    return ComposedPart(lead(group, language) + "\n" + group.quoted(), sentences, quoted=True)


def writing_parts(group: EvidenceGroup) -> list[EvidenceGroup]:
    """What a model writes a group from, one sentence each: the quotes of the group's best passage
    that fit FIRST_REQUEST_CHARS (a short request: the first sentence comes soon), then the group's
    other quotes (if any).

    Not always the best single quote: given one quote, the model translates all of it, and the
    longer sentence cost more than the shorter request saved (first sentence 6.3 s against 5.0 s,
    on a CPU that wrote at 110 ms a token); the budget keeps two short quotes together."""
    best = min(q.pick for q in group.quotes)
    first = _within(group, [q for q in group.quotes if q.pick == best], FIRST_REQUEST_CHARS)
    rest = [q for q in group.quotes if q not in first]
    return [group.with_quotes(first), group.with_quotes(rest)] if rest else [group.with_quotes(first)]


def _within(group: EvidenceGroup, quotes: list, budget: int) -> list:
    """The first quotes whose text fits `budget` characters (at least one)."""
    kept, used = [], 0
    for quote in quotes:
        used += len(group.text_of(quote))
        if kept and used > budget:
            break
        kept.append(quote)
    return kept


class EvidenceWriter:
    """Writes sentences with a language model, each checked against the quotes it was written from."""

    def __init__(self, backend: Backend, checker: SupportChecker):
        self.backend = backend
        self.checker = checker

    def write(self, question: str, part: EvidenceGroup, language: str, deadline: float) -> ComposedPart:
        """One sentence about the part's quotes, citing them; the quotes under their lead in its place
        (with a notice) when the check rejects it. BackendError when the model fails or writes nothing."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BackendError("no time was left for an answer within llm_timeout")
        quotes = [part.text_of(q) for q in part.quotes]
        prompt = evidence_prompt(question, speaker_name(part), quotes, language)
        stream = iter(self.backend.stream(prompt, SENTENCE_TOKENS, remaining))
        try:
            text = next(_finished_sentences(stream), None)
        finally:
            if hasattr(stream, "close"):
                stream.close()  # stops generation: the rest of the reply is not used
        if text is None:
            raise BackendError("it returned an empty answer")
        verdict = self.checker.check(text, part.evidence()) if _ends(text) else \
            Verdict(UNSUPPORTED, f"the sentence was cut off at {SENTENCE_TOKENS} tokens")
        if not verdict.supported:
            replaced = quoted_part(part, language)
            replaced.notices.append(REPLACED_NOTICE.format(reason=verdict.reason))
            return replaced
        return _written_part(text, tuple(part.numbers))


def _ends(sentence: str) -> bool:
    """True when the sentence has its closing punctuation (a reply cut off at the token limit has not)."""
    return sentence.rstrip(QUOTE_MARKS + ")").endswith((".", "!", "?", "…"))


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
