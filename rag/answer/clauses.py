"""The parts of an answer sentence: its frame (who it says is speaking) and its clauses.

`frame` finds the speaker and what is reported of them by the sentence's first reporting verb
("The psychiatrist in the health personnel group says that ...", "According to the police,
..."): the support check asks the speaker's perspective of the quotes and compares only what
is reported with them.

`added_clause`: does a sentence add a clause its quotes do not say? Leave each clause out and compare.

A claim invented on the right topic usually restates the quote and adds a clause ("..., and
the authors say supervised injection rooms are the fastest way to do it"). The whole
sentence stays similar to the quote, so the sentence-level threshold lets it through. But
leaving a faithful clause out makes the sentence less similar to its quotes (it carried
some of what they say), while leaving an added clause out makes it more similar: that gain
is the test. Frames are not judged: they gain when left out, and who said it is the speaker
test's business. So the first clause ("In the police focus group, ..."), a clause of fewer
than two content words ("The authors, ..."), and a short one that attributes (", according
to the police") are left in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.embedding.remembered import Encoder
from rag.index.lexical import STOPWORDS

# After a comma, semicolon, colon or dash, or before a conjunction that starts a clause.
BREAK = re.compile(r"(?<=[,;:–—])\s+|\s+(?=(?:and|but|because|which|while|whereas|so|og|men|fordi|derfor|mens|"
                   r"siden)\s)", re.IGNORECASE)
WORD = re.compile(r"[^\W\d_][\w-]*")
MIN_CONTENT_WORDS = 2
FRAME_WORDS = 3  # content words of a clause that can be a frame ("according to the user organisations")
ATTRIBUTION = frozenset("""according ifølge say says said sier sa write writes wrote skriver mener believe believes
    argue argues claim claims explain explains forteller tell tells note notes describe describes beskriver
    puts told""".split())
# Verbs that report what someone says or thinks: the words before the first of them name the speaker.
SPEECH = ATTRIBUTION | frozenset("""argued think thinks thought feel feels felt report reports reported point points
    experience experiences experienced warn warns warned emphasise emphasises stress stresses suggest suggests
    propose proposes insist insists insisted recall recalls admit admits mention mentions state states stated
    remark remarks remarked comment comments commented observe observes observed recount recounts
    explained described noted claimed believed mentioned suggested proposed stressed emphasised emphasized
    hevder påpeker peker opplever advarer tror synes forklarer understreker foreslår kritiserer uttaler nevner
    fremhever framhever mente fortalte skrev beskrev hevdet påpekte opplevde forklarte understreket nevnte
    admitted concede concedes conceded acknowledge acknowledges acknowledged urge urges urged
    medgir medga innrømmer innrømmet erkjenner erkjente etterlyser etterlyste""".split())
# Verbs that report only with their particle ("trekker frem": brings up; "trekker seg" withdraws;
# "called for" asks, "called the ambulance" does not).
PARTICLE_SPEECH = {"trekker": {"frem", "fram"}, "trakk": {"frem", "fram"}, "brings": {"up"}, "brought": {"up"},
                   "pointed": {"out"}, "call": {"for"}, "calls": {"for"}, "called": {"for"}, "ber": {"om"},
                   "ba": {"om"}}
# Holding a view reports it: "The health personnel share the general view that ...", "deler oppfatningen".
HOLDING = frozenset("share shares shared hold holds held deler delte".split())
VIEWS = frozenset("""view views opinion opinions concern concerns belief beliefs impression oppfatning oppfatningen
    oppfatninger synet syn bekymring bekymringen inntrykk inntrykket""".split())
VIEW_WORDS = 3  # "share a general view": the view follows within this many words
ACCORDING = frozenset({"according", "ifølge"})
ACCORDING_WORDS = 4  # "according to the user organisations"
FRAME_SEARCH = 10  # words at the start of a sentence searched for its reporting verb
DETERMINERS = frozenset("the a an this that these those its their his her our".split())
PASSIVE = frozenset("is are was were be been being".split())
THAT = re.compile(r"^(?:that|at|om)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Frame:
    """Who a sentence says is speaking, and what it reports them saying."""

    speaker: range    # positions of the words that name the speaker (empty: it names none)
    content: str      # the sentence without "X says that" / "According to X,"


@lru_cache(maxsize=1024)  # each test of the support check asks for the same sentence's frame
def frame(sentence: str) -> Frame:
    """The sentence's frame, found by its first reporting verb among its first words
    ("The psychiatrist in the health personnel group says ...", "According to the police,
    ...", "Resources are scarce, according to the police", "Two must go together, forteller en
    deltaker, og ...")."""
    words = list(WORD.finditer(sentence))
    for position, word in enumerate(words[:FRAME_SEARCH]):
        verb = word.group(0).lower()
        if position == 0 and verb not in ACCORDING:
            continue  # a first word names no speaker before it ("Experience of ... helps")
        if verb in ACCORDING:
            # The speaker follows, and ends at a comma if one comes soon.
            comma, after = _to_comma(sentence, word.end())
            named = len(after) if comma < len(sentence) else ACCORDING_WORDS + 1
            # (From "according" itself: "Ifølge kronikkforfatterne" is a span that names them.)
            if named > ACCORDING_WORDS or position > 0:
                # (At most to the sentence's end: "..., according to the authors.")
                return Frame(range(position, min(position + 1 + min(named, ACCORDING_WORDS), len(words))), sentence)
            return Frame(range(0, 1 + named), sentence[comma + 1:].strip())
        following = [w.group(0).lower() for w in words[position + 1:position + 1 + VIEW_WORDS]]
        if _reports(verb, following) and not _a_noun(sentence, word):
            said = _view(words, position) or word  # "share a general view | that ..."
            return _inserted(sentence, position, word) or Frame(
                range(position), THAT.sub("", sentence[said.end():].strip()) or sentence)
    return Frame(range(0), sentence)


def _reports(verb: str, following: list[str]) -> bool:
    """True for a reporting verb, one that reports with the particle that follows it, or one that
    holds the view it is followed by."""
    return (verb in SPEECH or (bool(following) and following[0] in PARTICLE_SPEECH.get(verb, ()))
            or (verb in HOLDING and not VIEWS.isdisjoint(following)))


def _view(words: list[re.Match], position: int) -> re.Match | None:
    """The view a holding verb at `position` is followed by ("share a general view"), if it is one."""
    if words[position].group(0).lower() not in HOLDING:
        return None
    return next((w for w in words[position + 1:position + 1 + VIEW_WORDS] if w.group(0).lower() in VIEWS), None)


def _inserted(sentence: str, position: int, verb: re.Match) -> Frame | None:
    """The frame of a speaker set off by a comma after what they say: "Two people must always go
    together, forteller en deltaker, and ..." (the speaker after the verb) or "..., one
    participant says, and ..." (before it). What is reported is the rest of the sentence."""
    comma = sentence.rfind(",", 0, verb.start())
    if comma < 0:
        return None
    before = WORD.findall(sentence[comma:verb.start()])
    if before:  # ", one participant says," (not "In the police group, one participant says that ...")
        if len(before) > ACCORDING_WORDS or not re.match(r"\s*(?:[,.!?]|$)", sentence[verb.end():]):
            return None
        return Frame(range(position - len(before), position), sentence[:comma] + sentence[verb.end():])
    end, after = _to_comma(sentence, verb.end())
    if not after or len(after) > ACCORDING_WORDS:
        return None
    return Frame(range(position + 1, position + 1 + len(after)), sentence[:comma] + sentence[end:])


def _to_comma(sentence: str, start: int) -> tuple[int, list[str]]:
    """Where the first comma from `start` stands (the sentence's length if none), and the words up to it."""
    comma = sentence.find(",", start)
    end = len(sentence) if comma < 0 else comma
    return end, WORD.findall(sentence[start:end])


def _a_noun(sentence: str, word: re.Match) -> bool:
    """A reporting verb used as a noun ("the state's housing", "a claim", "their reports") or in
    the passive ("A mismatch ... is described"): either way, the words before it name no speaker."""
    before = sentence[:word.start()].split()
    return bool(re.match(r"['’]s\b", sentence[word.end():])) or (
        bool(before) and before[-1].lower() in DETERMINERS | PASSIVE)


def clauses(sentence: str) -> list[str]:
    """The sentence cut before each clause break (keeping its punctuation with the part before)."""
    return [part for part in BREAK.split(sentence) if part.strip()]


def added_clause(sentence: str, texts: list[str], encode: Encoder, gain: float) -> tuple[str, float] | None:
    """(clause, gain) for the clause whose omission makes `sentence` most similar to its best
    matching text in `texts`, when that gain reaches `gain`; else None."""
    parts = clauses(sentence)
    judged = [i for i, part in enumerate(parts) if i > 0 and not _frame(part)]
    if len(parts) < 2 or not judged:
        return None
    without = [" ".join(parts[:i] + parts[i + 1:]) for i in judged]
    vectors = encode([sentence, *without, *texts])
    quotes = vectors[1 + len(without):]
    whole = float((quotes @ vectors[0]).max())
    gains = [float((quotes @ vectors[1 + k]).max()) - whole for k in range(len(without))]
    best = max(range(len(gains)), key=gains.__getitem__)
    return (parts[judged[best]].strip(" ,;:–—."), gains[best]) if gains[best] >= gain else None


def _frame(clause: str) -> bool:
    """Too short to claim anything, or a short attribution."""
    words = [word.lower() for word in WORD.findall(clause) if word.lower() not in STOPWORDS]
    return len(words) < MIN_CONTENT_WORDS or (len(words) <= FRAME_WORDS and bool(ATTRIBUTION & set(words)))
