"""Perspective-aware retrieval: "what did the police say ...?" ranks the police's section first.

The question's short spans (one or two words) are embedded and compared with the forms
of the corpus's perspectives (`rag.index.perspectives`), across languages ("police" ->
"Politi", "helsepersonellet" -> "Helsepersonell"). A perspective is named when a span is
close to it (`threshold`) and clearly closer to it than to any other (`margin`), or, for a
compound the embedding blurs ("user organisations" -> "Brukerorganisasjoner", 0.90), when it
is fairly close (`cognate_threshold`) and shares a long run of letters with it. When
several are named, the one named first is the speaker ("Hva sier brukerorganisasjonene om
politiets ...?"). Hits under the named perspective then move to the front, as long as
they are about as relevant as the best hit (`promote_margin`): a question that mentions
the police as a topic ("how can the municipalities help the police?") keeps its better
passage from elsewhere. When nothing is named, the ranking is unchanged.
The thresholds are calibrated on the calibration half of the seeds questions (see README).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.embedding.remembered import Encoder
from rag.index.lexical import STOPWORDS
from rag.index.perspectives import WORD, Perspective, PerspectiveTable
from rag.types import Hit

# Two words name a group ("health personnel"); three cost a third more embedding for no gain on the seeds.
MAX_SPAN_WORDS = 2


@dataclass(frozen=True)
class PerspectiveConfig:
    """How sure a match must be, and how relevant a promoted hit must stay."""

    threshold: float = 0.90
    margin: float = 0.05
    cognate_threshold: float = 0.86
    promote_margin: float = 0.01
    enabled: bool = True


# Verbs and nouns that ask what someone says, thinks or proposes.
SPEECH_VERBS = frozenset("""say says said saying think thinks thought argue argues argued write writes wrote
mean means meant believe believes describe describes described tell tells told propose proposes proposed
suggest suggests suggested recommend recommends recommended view views position opinion
sier sa sagt mener mente skriver skrev tenker tror beskriver foreslår anbefaler syn standpunkt""".split())
# Words that ask for what a speaker said without naming a topic ("What do the authors argue?",
# "Summarise the op-ed", "Hva mener politiet?"): language, not any corpus's groups.
ASKING_WORDS = SPEECH_VERBS | frozenset("""what which who whom whose how why do does did about written
summarise summarize summary sum up main key points point stance opinions message arguments argument conclusions
overall generally general whole please give overview skrevet oppsummer oppsummering hovedpoeng hovedpoengene
poeng poengene budskap budskapet synet argumenter argumentene konklusjon konklusjonene handler helhet generelt
kort fortell gi oversikt hvem hvilke hvilket hvordan hvorfor author authors affiliated affiliation institution
forfatter forfatteren forfatterne tilknyttet""".split())
# Words that ask what someone says: the verbs, and "according to", "ifølge", "forteller".
SPEECH_WORDS = SPEECH_VERBS | frozenset("according ifølge forteller fortalte".split())

# What stands between groups named together as speakers: "and", "or", an article, "both", "as well as".
JOINING_WORDS = frozenset("and or the both as well og eller samt både de".split())
# Groups named after these are what the question is about, not who speaks ("between the police and ...").
TOPIC_WORDS = frozenset("""about between among with to for against of on from by at into than om mellom blant
med til for mot av på fra hos enn""".split())
ARTICLES = frozenset("the a an den det de".split())

# A cognate shares at least this many letters in a row, and this share of the span's word.
COGNATE_LETTERS = 5
COGNATE_SHARE = 0.6


def question_spans(question: str) -> list[tuple[int, int, str]]:
    """(start word, end word, text) of every 1-2 word span that neither starts nor ends with a stop word."""
    words = WORD.findall(question)
    spans = []
    for start in range(len(words)):
        for size in range(1, MAX_SPAN_WORDS + 1):
            part = words[start:start + size]
            if len(part) < size or part[0].lower() in STOPWORDS or part[-1].lower() in STOPWORDS:
                continue
            # "user-organisation" reads as "user organisation": the parts carry the meaning.
            spans.append((start, start + size, " ".join(part).replace("-", " ")))
    return spans


@dataclass(frozen=True)
class Mention:
    """A perspective named in a text: where (word position), which, and the words that named it."""

    start: int
    perspective: Perspective
    text: str  # the span that names it best ("the police")
    words: tuple[str, ...] = ()  # the words that name it ("user", "organisations"; not "makt" in "politiet makt")
    end: int = 0  # the word after the last one that named it


def named_perspective(question: str, table: PerspectiveTable, encode: Encoder,
                      config: PerspectiveConfig = PerspectiveConfig()) -> Mention | None:
    """The perspective the question names as its speaker (the one named first), or None."""
    named = named_perspectives(question, table, encode, config)
    return named[0] if named else None


def named_perspectives(text: str, table: PerspectiveTable, encode: Encoder,
                       config: PerspectiveConfig = PerspectiveConfig()) -> list[Mention]:
    """Every perspective `text` names, first named first (each once, by its best span there)."""
    spans = question_spans(text)
    if not config.enabled or not spans or not table.perspectives:
        return []
    scores = table.similarities(encode([span for _, _, span in spans]))
    # Only pairs close enough to pass either test are looked at: a corpus has hundreds of perspectives.
    close = zip(*np.nonzero(scores >= min(config.threshold, config.cognate_threshold)))
    found: dict[int, list[tuple[int, int, float, str]]] = {}
    for i, n in sorted(close):
        if _names(spans[i][2], table.perspectives[n], scores[i], n, config):
            found.setdefault(int(n), []).append((spans[i][0], spans[i][1], float(scores[i, n]), spans[i][2]))
    words = [word.lower() for word in WORD.findall(text)]
    return sorted((_mention(table.perspectives[n], sorted(naming), words) for n, naming in found.items()),
                  key=lambda m: m.start)


def _mention(perspective: Perspective, naming: list[tuple[int, int, float, str]], words: list[str]) -> Mention:
    """The Mention of `perspective` from the spans that name it ((start, end, score, text), in order)."""
    first, end = naming[0][0], naming[0][1]
    for start, stop, _, _ in naming:
        if start <= end:  # where it is first named, up to where those words stop
            end = max(end, stop)
    alone = {start for start, stop, _, _ in naming if stop - start == 1}
    # A word after one that names it alone only rides along ("makt" in "politiet makt"); a word
    # before it is part of the name ("user" in "user organisations").
    positions = {p for start, stop, _, _ in naming for p in range(start, stop) if p == start or start not in alone}
    best = max(naming, key=lambda span: span[2])[3]
    return Mention(first, perspective, best, tuple(words[p] for p in sorted(positions)), end)


def named_speakers(question: str, table: PerspectiveTable, encode: Encoder,
                   config: PerspectiveConfig = PerspectiveConfig()) -> list[Mention]:
    """The perspective named first and those named with it as speakers ("the police and the
    health personnel", "politiet, helsepersonell og brukerorganisasjonene"): only joining words
    stand between them. One named after a preposition is a topic, not a speaker ("Hva sier
    brukerorganisasjonene om politiet?")."""
    named = named_perspectives(question, table, encode, config)
    words = [w.lower() for w in WORD.findall(question)]
    speakers = named[:1]
    if speakers and _after_topic_word(words, speakers[0]):
        return speakers  # "cooperation between the police and health services" names a topic
    for mention in named[1:]:
        between = words[speakers[-1].end:mention.start]
        if not all(word in JOINING_WORDS for word in between):
            break
        speakers.append(mention)
    return speakers


def stand_as_speakers(question: str, speakers: list[Mention]) -> bool:
    """True when the question names its speakers before anything it asks about ("What do the user
    organisations say about the police?", "Hva mener politiet ...", "According to the op-ed, ..."),
    or names several together; not when the one it names is what it asks about ("How can the
    municipalities help the police?")."""
    if len(speakers) != 1:
        return bool(speakers)
    words = [w.lower() for w in WORD.findall(question)]
    before = words[:speakers[0].start]
    # ... and asks what they say: "Hvor mange personer er i LAR?" names no speaker ("personer" is a
    # cognate of "helsepersonell").
    return any(w in SPEECH_WORDS for w in words) and \
        all(w in ASKING_WORDS or w in STOPWORDS or w in SPEECH_WORDS for w in before)


def _after_topic_word(words: list[str], mention: Mention) -> bool:
    """True when a preposition stands before the mention (past an article) or in the words that
    named it ("between police" is a span that names the police)."""
    before = mention.start - 1
    while before >= 0 and words[before] in ARTICLES:
        before -= 1
    return any(word in TOPIC_WORDS for word in words[max(before, 0):mention.end])


def asks_about_all_of(question: str, mentions: list[Mention]) -> bool:
    """True when the question names perspectives and nothing else it is about: "Summarise the
    op-ed", "What did the police say?". Its answer is those perspectives' text, whatever its
    similarity to the question ("What is the op-ed about?" scored below the abstention threshold)."""
    named = {part for mention in mentions for word in mention.words for part in re.findall(r"\w+", word)}
    # Numbers are words too ("in 2024" is a topic); a possessive is the name's ("the police's view").
    words = [w.lower() for w in re.findall(r"\w+", re.sub(r"['’]s\b", "", question))]
    return all(w in named or w in STOPWORDS or w in ASKING_WORDS or w in JOINING_WORDS for w in words)


def _names(span: str, perspective: Perspective, scores: np.ndarray, n: int, config: PerspectiveConfig) -> bool:
    """Does `span` (with `scores` against every perspective) name perspective `n`?"""
    others = np.delete(scores, n)
    margin = scores[n] - (others.max() if len(others) else -1.0)
    if scores[n] >= config.threshold and margin >= config.margin:
        return True
    return bool(scores[n] >= config.cognate_threshold and margin > 0 and _is_cognate(span, perspective.forms))


def _is_cognate(span: str, forms: tuple[str, ...]) -> bool:
    """True when a word of `span` shares a long run of letters with a form ("organisations", "brukerorganisasjoner")."""
    for word in span.lower().split():
        for form in forms:
            run, end = common_run(_british(word), _british(form.lower()))
            # Of the shorter of the two: "politiansatte" shares all of "politi". And it reaches the
            # form's second half, where a compound's head stands: the verb "bruker" (uses) shares only
            # the first word of "brukerorganisasjoner".
            if run >= COGNATE_LETTERS and run >= COGNATE_SHARE * min(len(word), len(form)) and 2 * end > len(form):
                return True
    return False


def _british(word: str) -> str:
    """The -ise spelling of an -ize word: "organizations" shares "organisa" with "brukerorganisasjoner"
    (a Norwegian word has no z to lose)."""
    return word.replace("z", "s")


def longest_common_run(a: str, b: str) -> int:
    """Length of the longest run of letters `a` and `b` share."""
    return common_run(a, b)[0]


def common_run(a: str, b: str) -> tuple[int, int]:
    """Length of the longest run of letters `a` and `b` share, and where it ends in `b`."""
    best, end, previous = 0, 0, [0] * (len(b) + 1)
    for char in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, start=1):
            if char == other:
                current[j] = previous[j - 1] + 1
                if current[j] > best:
                    best, end = current[j], j
        previous = current
    return best, end


def promote(hits: list[Hit], group_hits: list[Hit], perspective: Perspective, promote_margin: float) -> list[Hit]:
    """The perspective's own hits (`group_hits`, from a search within it) that are within
    `promote_margin` of the best hit's similarity, then `hits` in their order without them."""
    if not hits and not group_hits:
        return []
    best = max(hit.similarity for hit in [*hits, *group_hits])
    first = [hit for hit in group_hits if perspective.covers(hit.chunk) and hit.similarity >= best - promote_margin]
    rows = {hit.row for hit in first}
    return first + [hit for hit in hits if hit.row not in rows]
