"""How many speak, and the counts in a sentence that state no figure.

`speaker_amount`: a sentence often says how many of a group speak ("One participant says",
"Several of the police officers believe", "Samtlige deltakere mener"), and so does a quote
("En av deltakerne mener", "Flere av deltakerne opplever"). "Several" for "En av deltakerne",
or "every participant" for "flere", is a wrong figure the numbers test cannot see: a "one"
that picks out a speaker states no figure there, and "several" is no number. So a speaker is
read as one of four amounts (one, some, most, all), and a sentence's amount must be one its
quotes give, when both give one. "The participants" or "she" give none.

`self_listed`: in "two reasons: capacity, and that these areas came up most", the count is that
of the sentence's own list, not a figure taken from the quotes; the listed items are what the
other tests check. A count whose list does not have as many items ("three ways: A and B") is
left to the numbers test.

`figures_of` leaves a sentence's figures only, for the numbers test: it blanks self-listed
counts, and a "one" that picks out a speaker or one of several things ("One participant
says", "one of the factors", "According to one police officer") or is a pronoun ("in one's
head").
"""
from __future__ import annotations

import re

from rag.answer.clauses import SPEECH, WORD, frame
from rag.answer.numbers import EN_WORDS, NO_WORDS
from rag.index.chunking import sentence_spans

AMOUNT_WORDS = {
    "some": "a few|a number of|a couple of|et par|several|some|many|multiple|various|others|flere|noen|enkelte|"
            "mange|andre",
    "most": "the majority of|the majority|majority|most|de fleste|fleste|flertallet|mesteparten",
    "all": "all|every|each|everyone|everybody|alle|samtlige|hver|hvert|enhver",
    "one": "only one|a single|one|another|a|an|én|en|ei|ett|annen",
}
# Longest first, so that "a few" is read before "a" and "the majority of" before "the majority".
_ALTERNATIVES = sorted(((words, amount) for amount, alternatives in AMOUNT_WORDS.items()
                        for words in alternatives.split("|")), key=lambda pair: -len(pair[0]))
AMOUNT = re.compile(r"\b(%s)\b" % "|".join(re.escape(words) for words, _ in _ALTERNATIVES), re.IGNORECASE)
AMOUNT_OF = {words: amount for words, amount in _ALTERNATIVES}
# A quote without a reporting verb may still count its speakers: "en opplevelse blant flere",
# "flere av deltakerne".
PEOPLE = r"(?:deltaker\w*|participants?|informant\w*|respondent\w*|fokusgruppedeltaker\w*)"
COUNTED_PEOPLE = re.compile(r"\bblant\s+(%s)\b|\b(%s)\s+(?:(?:av|of)\s+)?(?:(?:de|the)\s+)?%s"
                            % ("|".join(AMOUNT_WORDS["some"].split("|") + AMOUNT_WORDS["all"].split("|")),
                               "|".join(re.escape(words) for words, _ in _ALTERNATIVES), PEOPLE), re.IGNORECASE)
# Who may be counted as a speaker ("several police officers", "en av forfatterne").
SPEAKERS = re.compile(r"\b(?:%s|officers?|polit\w*|police|members?|medlem\w*|person\w*|people|folk|workers?|"
                      r"personnel|professionals?|doctors?|leger?|nurses?|users?|brukere?|organi[sz]ations?|"
                      r"organisasjon\w*|groups?|grupp\w*|representati\w*|ansatte|employees?|psychiatrists?|"
                      r"psykiater\w*|researchers?|forsker\w*|authors?|forfatter\w*|patients?|pasient\w*|"
                      r"them|dem|de|they)\b" % PEOPLE, re.IGNORECASE)
OF_THEM = re.compile(r"(?:of|av)\s+(?:them|dem)", re.IGNORECASE)
SMALL_COUNTS = {word: value for word, value in {**EN_WORDS, **NO_WORDS}.items() if 2 <= value <= 9}
NOUN_WORDS = 3  # words between a count and the comma that ends what it counts ("two different kinds,")
LIST_BREAK = re.compile(r"\s*[,;]\s*")
AND = re.compile(r"\s+(?:and|or|as well as|og|eller|samt)\s+", re.IGNORECASE)

# "one of", "one participant", "one police officer says": a "one" that picks someone out.
NOT_A_FIGURE_ONE = re.compile(r"\b(?:one|én)\b(?=\s+(?:of|av)\b|(?:\s+[\w-]+){0,3}\s+(?:%s)\b)"
                              % "|".join(sorted(SPEECH) + [PEOPLE]), re.IGNORECASE)
ONE = frozenset({"one", "én"})
# The pronoun: "in one's head", "even if one was ill", "when one has to wait".
# (The conjunction is kept: `figures_of` puts group 1 back.)
GENERIC_ONE = re.compile(r"\bone['’]s\b|\b(if|when|unless|whether)\s+one\b"
                         r"(?=\s+(?:is|was|were|has|had|can|could|must|may|might|should|would|will|needs?|gets?|"
                         r"does|did|feels?|felt|becomes?|became|wants?|lives?|uses?)\b)", re.IGNORECASE)


def speaker_amount(sentence: str) -> tuple[str, str] | None:
    """(amount, the words that say it) for the speaker a sentence names, or None."""
    words = [m.group(0) for m in WORD.finditer(sentence)]
    speaker = " ".join(words[i] for i in frame(sentence).speaker)
    found = AMOUNT.search(speaker)
    if not found or not _counts_people(speaker[found.end():]):
        return None
    return AMOUNT_OF[found.group(1).lower()], found.group(1)


def _counts_people(rest: str) -> bool:
    """The amount counts people: "Flere mener", "one of them", "several police officers", not
    "Flere steder" (in several places). "En annen" is one."""
    rest = rest.strip()
    return not rest or AMOUNT.fullmatch(rest) is not None or OF_THEM.fullmatch(rest) is not None or \
        SPEAKERS.search(rest) is not None


def quoted_amounts(quote: str) -> dict[str, str]:
    """{amount: words} for the speakers a quote's sentences count ("En av deltakerne mener")."""
    amounts: dict[str, str] = {}
    for start, end in sentence_spans(quote) or [(0, len(quote))]:
        sentence = quote[start:end]
        said = speaker_amount(sentence) or _counted_people(sentence)
        if said:
            amounts.setdefault(*said)
    return amounts


def _counted_people(sentence: str) -> tuple[str, str] | None:
    found = COUNTED_PEOPLE.search(sentence)
    if not found:
        return None
    words = found.group(1) or found.group(2)
    return AMOUNT_OF[words.lower()], found.group(0)


def self_listed(sentence: str) -> str:
    """The sentence with each small count that its own list spells out blanked."""
    for match in reversed(list(WORD.finditer(sentence))):
        count = SMALL_COUNTS.get(match.group(0).lower())
        if count and count in _list_lengths(sentence[match.end():]):
            sentence = sentence[:match.start()] + " " * len(match.group(0)) + sentence[match.end():]
    return sentence


def _list_lengths(after: str) -> set[int]:
    """How many items the list after a count may have: the parts after a colon, or after a comma
    that closes the counted noun ("two authors, Clausen and Waal"), or the coordinated parts of
    the first of them ("two dimensions, a subjective and an objective one")."""
    colon = after.find(":")
    comma = re.match(r"(?:\s*[^\W\d_][\w-]*){1,%d}\s*," % NOUN_WORDS, after)
    start = colon + 1 if colon >= 0 else comma.end() if comma else -1
    if start < 0:
        return set()
    parts = [part for part in LIST_BREAK.split(after[start:].strip().rstrip(".!?")) if part.strip()]
    # "a dirty hand, a street full of rubbish and a syringe": the last part may hold two.
    return {len(parts), len(parts) - 1 + len(AND.split(parts[-1])), len(AND.split(parts[0]))} if parts else set()


def figures_of(sentence: str) -> str:
    """The sentence with every count that states no figure taken out (see the module's doc)."""
    return GENERIC_ONE.sub(r"\1", NOT_A_FIGURE_ONE.sub("", self_listed(_without_speaking_one(sentence))))


def _without_speaking_one(sentence: str) -> str:
    """The sentence without a "one" among the words that name its speaker."""
    speaker = frame(sentence).speaker
    ones = [m for position, m in enumerate(WORD.finditer(sentence))
            if position in speaker and m.group(0).lower() in ONE]
    for m in reversed(ones):
        sentence = sentence[:m.start()] + sentence[m.end():]
    return sentence
