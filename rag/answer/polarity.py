"""Does a sentence state the opposite of its quotes? Negation scope, negating prefixes, antonyms.

Whether a text contains a negation at all says little when both the sentence and its quotes
have one ("et særnorsk fenomen som man ikke finner andre steder" for "De er heller ikke noe
særnorsk fenomen"), and nothing when the opposite is said with an antonym ("the treatment
failed" for "behandlingen fungerte"). So every content word is read with a polarity, and a
word of the sentence whose meaning the quotes state only with the opposite polarity is a
contradiction a reader can verify:

- the first two content words after a negation cue, in its clause, are negated ("ikke noe
  særnorsk fenomen"); later words of the clause read both ways, since a cue rarely reaches
  that far ("tar ikke tid å skrive ut en resept antibiotika" does not deny the antibiotics);
- a word with a negating prefix is its base, negated ("ukontrollerte" = not "kontrollert");
- antonyms are one concept with two poles ("easy" / "vanskelig", "fungerte" / "failed").

Words are the same when they share a stem or a long run of letters ("kontroll" ~
"kontrollerte" ~ "controlled"), so negation scope and prefixes work mostly within one
language; the antonyms are listed in both. The last content word before a cue reads both
ways (in Norwegian the verb comes before "ikke": "bruker aldri" = "never uses"), and so do
all the words of a clause that ends in its cue ("ventetiden er i dag liten eller ingen").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rag.index.lexical import STOPWORDS, analyse
from rag.language import detect_language
from rag.retrieval.perspective import longest_common_run

CUES = frozenset("""not no never none nothing nobody neither nor without cannot can't don't doesn't didn't isn't
    aren't wasn't weren't won't hardly barely scarcely rarely seldom lack lacks lacking lacked
    ikke ingen intet ingenting aldri verken uten neppe knapt sjelden mangler manglet manglende mangel""".split())
# "not only", "ikke minst" (= above all) and "no doubt" do not negate what follows.
NOT_A_CUE_BEFORE = frozenset("only just merely simply least doubt bare minst alene tvil".split())
INFINITIVE = "å"
THAN = frozenset({"than", "enn"})
PREPOSITIONS = frozenset("of for by from with av fra med gjennom".split())
# "less clear" says "ikke så klar" in other words, and an understatement says it too: "lite
# konstruktivt", "of little use" for "neppe konstruktivt".
LESS = frozenset({"less", "fewer", "mindre", "færre", "little", "lite"})
CLAUSE_END = frozenset("but because while whereas although though men fordi mens".split())
TOKEN = re.compile(r"[^\W\d_][\w'-]*|[.,;:!?()–—]")
# Antonyms in both languages, as patterns for whole words: concept -> (positive pole, negative pole).
ANTONYMS = {
    "ease": (r"eas(y|ier|iest|ily)|simple|simpler|straightforward|lett|lettere|enkel|enkelt|enkle|enklere",
             r"difficult|difficulty|difficulties|hard|harder|complicated|vanskelig\w*|krevende|komplisert\w*"),
    "success": (r"succeed\w*|success\w*|funger\w*|lykkes|lyktes|vellykket",
                r"fail\w*|unsuccessful|mislykk\w*|mislyktes|feilet|feiler"),
    "amount": (r"increas\w*|ris(e|es|ing)|rose|grow(s|ing|n)?|growth|more|higher|greater|larger|"
               r"øk(e|er|es|te|t|ning|ningen)|økte|stiger|steg|vekst|mer|høyere|større",
               r"decreas\w*|declin\w*|reduc\w*|drop(s|ped|ping)?|less|lower|fewer|smaller|shrink\w*|"
               r"redus\w*|reduksjon\w*|nedgang\w*|synk\w*|sank|mindre|færre|lavere"),
    "quality": (r"better|improv\w*|good|bedre|forbedr\w*|god|godt|gode",
                r"worse|worsen\w*|deteriorat\w*|bad|poor|poorer|verre|forverr\w*|dårlig\w*"),
    "sign": (r"positive\w*|positiv\w*", r"negative\w*|negativ\w*"),
    # Acknowledging a fact is accepting it: "they reject the idea" for "en erkjennelse av at".
    "acceptance": (r"accept\w*|godta\w*|aksept\w*|agree\w*|enig\w*|allow\w*|permit\w*|tillat\w*|legal|lovlig\w*|"
                   r"acknowledg\w*|admit\w*|admission|concede\w*|erkjenn\w*|innrøm\w*",
                   r"reject\w*|refus\w*|avvis\w*|disagree\w*|uenig\w*|forbid\w*|prohibit\w*|forbud\w*|forbudt|"
                   r"illegal|ulovlig\w*|den(y|ies|ied|ying|ial)|benekt\w*|bestrid\w*|disput(e|es|ed)"),
    # Norwegian "få" is also the verb "get" ("å få hjelp"): only the unambiguous words.
    "quantity": (r"many|numerous|majority|mange|flertall\w*|fleste", r"few|minority|mindretall\w*|fåtall\w*"),
    "strength": (r"strengthen\w*|styrk\w*", r"weaken\w*|svekk\w*"),
    # "rarely" and "sjelden" are also negation cues; read as a pole too, they meet "often" / "ofte".
    "frequency": (r"common|commonly|widespread|frequent|frequently|usual|usually|often|vanlig|vanlige|vanligvis|"
                  r"utbredt\w*|hyppig\w*|ofte", r"rare|rarely|seldom|uncommon|infrequent\w*|unusual|uvanlig\w*|"
                  r"sjelden|sjeldne|sjeldent|sjeldenhet\w*"),
    # "rett" is also an entitlement ("rett til behandling"), which a claim renders as "right" too.
    "correctness": (r"right|correct|correctly|riktig\w*|rett|korrekt\w*",
                    r"wrong|wrongly|incorrect\w*|feil|feilaktig\w*|galt"),
    # "incapable" for "mangler evner", "umulig" for "ikke mulig".
    "ability": (r"able|capable|capability|capabilities|ability|abilities|evne|evner|evnen|evnene",
                r"unable|incapable|incapacity|inability|udyktig\w*"),
    "possibility": (r"possible|mulig|mulige", r"impossible|umulig\w*"),
    # "share the same understanding" for "helt ulike virkelighetsforståelser".
    "sameness": (r"same|similar|identical|samme|tilsvarende|felles",
                 r"different|differ|differs|differed|distinct|ulik|ulike|ulikt|forskjellig\w*|annerledes"),
}
# Concepts whose negative pole is a negation in other words: "the wrong dose" = "ikke rett dose",
# "they reject chasing" = "jaging er ikke akseptabelt", "incapable" = "mangler evner".
NEGATING_POLES = frozenset({"correctness", "success", "acceptance", "ability", "possibility"})
# Prefixes that negate in any text ("non-users" = "de som ikke bruker"); "u-" and "un-" also begin
# too many other words to be read as a negation on their own.
SURE_PREFIXES = ("non-", "ikke-")
# Any of these negates a word the other text has ("undiagnosed" / "udiagnostisert").
ANY_NEGATING_PREFIX = ("non", "un", "in", "im", "ir", "dis", "u")
POLES = [(concept, positive, re.compile(pattern)) for concept, pair in ANTONYMS.items()
         for positive, pattern in zip((True, False), pair)]
# Norwegian "ut-" is "out" (utskriving, utdanning), not a negation; and no Norwegian word begins
# "nd", "ng" or "nn", so "under-", "ungdom" and "unntak" are no "u-" either.
PREFIXES = {"no": ("ikke-", "u"), "en": ("non-", "non", "un")}
NOT_A_PREFIX = {"u": ("ut", "und", "ung", "unn")}
INTENSIFIERS = ("kjempe", "super", "ekstra", "drit", "mega")  # Norwegian compounds: "kjempevanskelig"
NEGATED_WORDS = 2     # content words after a cue that it surely negates
MIN_BASE = 5          # letters a word (after its prefix) needs to count
COGNATE_SHARE = 0.7   # of the shorter word, in one run of letters, for two forms of a word


@dataclass(frozen=True)
class Reading:
    """A content word as read: what it means (`base`), whether it is affirmed, and how it was written."""

    base: str
    affirmed: frozenset[bool]   # {True}, {False}, or both when the reading is unsure
    shown: str                  # the words a reason quotes ("ikke noe særnorsk")
    antonym: bool = False
    cue: int | None = None      # position of the cue that negates it, if one does


def contradiction(sentence: str, quotes: list[str]) -> tuple[str, str] | None:
    """(what the sentence says, what the quotes say instead) for the first word the quotes state
    only with the opposite polarity, or None."""
    each = [readings(quote) for quote in quotes]
    stated = [r for quote in each for r in quote]
    claimed = readings(sentence)
    for claim in claimed:
        same = [r for r in stated if _same(claim, r)]
        if (same and not any(claim.affirmed & r.affirmed for r in same) and not _also_agrees(claim, same, claimed)
                and not _carries_the_negation(claim, same, claimed, each)):
            return claim.shown, same[0].shown
    return None


def _also_agrees(claim: Reading, same: list[Reading], claimed: list[Reading]) -> bool:
    """The sentence also says it the quotes' way ("you are a criminal" beside "not criminalised",
    which is what the quote says): the words match as forms of one stem, not as one statement."""
    return any(other is not claim and _same(claim, other) and any(other.affirmed & r.affirmed for r in same)
               for other in claimed)


def _carries_the_negation(claim: Reading, same: list[Reading], claimed: list[Reading],
                          each: list[list[Reading]]) -> bool:
    """The sentence negates another word the quote's cue negates ("politiet drev ikke med jaging
    av de rusavhengige" for "Politiet jaget ikke byens rusmiddelavhengige"): it states that
    negation, and its other use of the word ("Byene tolererte ikke ...") says something else."""
    negated_by_cue = [(quote, r.cue) for r in same if r.cue is not None and False in r.affirmed
                      for quote in each if r in quote]
    return any(other is not claim and _maybe_negated(other) and not _same(other, claim)
               and any(r.cue == cue and r.affirmed == frozenset({False}) and _same(other, r) for r in quote)
               for quote, cue in negated_by_cue for other in claimed)


def _maybe_negated(reading: Reading) -> bool:
    """Negated, or within reach of a cue that may negate it ("drev ikke med jaging av de rusavhengige")."""
    return reading.affirmed == frozenset({False}) or (reading.cue is not None and False in reading.affirmed)


def readings(text: str) -> list[Reading]:
    """Every content word of `text` with its polarity."""
    tokens = _tokens(text)
    prefixes = PREFIXES["no" if detect_language(text) == "no" else "en"]
    found = []
    for i, (token, (cue, distance)) in enumerate(zip(tokens, _scope(tokens))):
        concept = _concept(token)
        if not token[0].isalpha() or (token in CUES and not concept) or (token in STOPWORDS and not concept):
            continue
        unsure = _before_cue_in_clause(tokens, i) or distance > NEGATED_WORDS
        affirmed = {True, False} if unsure else {cue is None}
        shown = _shown(tokens, cue, i)
        if concept:
            name, positive = concept
            found.append(Reading(name, frozenset(a == positive for a in affirmed), shown, antonym=True, cue=cue))
            continue
        base, negated = _unprefixed(token, prefixes)
        if len(base) >= MIN_BASE:
            found.append(Reading(base, frozenset(a != negated for a in affirmed), shown, cue=cue))
    return found


def _scope(tokens: list[str]) -> list[tuple[int | None, int]]:
    """For each token, the position of the negation cue in its clause before it (None: none),
    and how many content words after the cue it comes (itself included)."""
    scope, cue, distance = [], None, 0
    for i, token in enumerate(tokens):
        if not token[0].isalpha() or token in CLAUSE_END:
            cue = None
        elif cue is not None and (token == INFINITIVE or token in PREPOSITIONS) and distance:
            # "tar ikke tid å skrive ut": the cue denies the time, not the writing; "ikke ønskelig av
            # mange grunner": the wish, not the reasons.
            distance = NEGATED_WORDS + 1
        elif cue is not None and token not in STOPWORDS:
            distance += 1
        scope.append((cue, distance if cue is not None else 0))
        if _is_cue(tokens, i):
            cue, distance = i, 0
    return scope


def _negates_one_of(token: str, words: list[str]) -> bool:
    """`token` is a word of `words` behind a negating prefix of either language (and not a form
    of one of them whole: "utvidede" is "utvidet", not "u" + "tvidet")."""
    for prefix in ANY_NEGATING_PREFIX:
        base = token[len(prefix):]
        if token.startswith(prefix) and len(base) >= MIN_BASE and any(same_word(base, word) for word in words):
            return not any(same_word(token, word) for word in words)
    return False


def _tokens(text: str) -> list[str]:
    return [t.lower().replace("’", "'") for t in TOKEN.findall(text)]


def _is_cue(tokens: list[str], i: int) -> bool:
    # "ikke lenger enn til 80-tallet", "no more than ten": a bound, not a negation.
    bound = i + 2 < len(tokens) and tokens[i + 2] in THAN
    return tokens[i] in CUES and not bound and (i + 1 == len(tokens) or tokens[i + 1] not in NOT_A_CUE_BEFORE)


def _shown(tokens: list[str], cue: int | None, i: int) -> str:
    """The word, after its cue when negated: "ikke noe særnorsk", "lack … respect"."""
    if cue is None:
        return tokens[i]
    return " ".join(tokens[cue:i + 1]) if i - cue <= 3 else f"{tokens[cue]} … {tokens[i]}"


def _before_cue_in_clause(tokens: list[str], i: int) -> bool:
    """The word may be what a cue after it negates, so it reads both ways: it is the last
    content word before the cue (Norwegian puts "ikke" after the verb: "bruker aldri"; English
    after the auxiliary: "antibiotics are not needed"), or the cue ends its clause and so
    negates backwards ("ventetiden ... er liten eller ingen")."""
    rest = _clause_rest(tokens, i + 1)
    cues = [k for k, token in enumerate(rest) if token in CUES]
    if not cues:
        return False
    if all(token in STOPWORDS for token in rest[:cues[0]]):
        return True
    return not any(token not in STOPWORDS for token in rest[cues[-1] + 1:])


def _clause_rest(tokens: list[str], start: int) -> list[str]:
    """The words from `start` to the end of their clause."""
    rest = []
    for token in tokens[start:]:
        if not token[0].isalpha() or token in CLAUSE_END:
            break
        rest.append(token)
    return rest


def has_cue(text: str) -> bool:
    """Does `text` negate with a cue word ("not", "ikke", "lack", ...)?"""
    tokens = _tokens(text)
    return any(_is_cue(tokens, i) for i in range(len(tokens)))


def negates(text: str, against: str = "") -> bool:
    """Does `text` state a negation: a cue, "less", a sure negating prefix, the negative pole
    of a concept that is a negation in other words ("wrong", "failed"), or a prefix that negates
    a word of `against` ("undiagnosed" against "udiagnostisert" or "diagnosed")?"""
    tokens = _tokens(text)
    compared = [token for token in _tokens(against) if token[0].isalpha() and token not in STOPWORDS]
    for i, token in enumerate(tokens):
        if _is_cue(tokens, i) or token in LESS or token.startswith(SURE_PREFIXES) or _negates_one_of(token, compared):
            return True
        concept = _concept(token)
        if concept and concept[0] in NEGATING_POLES and not concept[1]:
            return True
    return False


def _concept(token: str) -> tuple[str, bool] | None:
    # "kjempevanskelig" (very difficult) is "vanskelig", intensified.
    base = token
    for prefix in INTENSIFIERS:
        if token.startswith(prefix) and len(token) > len(prefix) + 2:
            base = token[len(prefix):]
            break
    for concept, positive, pattern in POLES:
        if any(pattern.fullmatch(form) for form in dict.fromkeys((token, base))):
            return concept, positive
    return None


def _unprefixed(token: str, prefixes: tuple[str, ...]) -> tuple[str, bool]:
    """("kontrollerte", True) for "ukontrollerte": the base and whether a prefix negated it."""
    for prefix in prefixes:
        if (token.startswith(prefix) and not token.startswith(NOT_A_PREFIX.get(prefix, ()))
                and len(token) - len(prefix) >= MIN_BASE):
            return token[len(prefix):], True
    return token, False


def _same(a: Reading, b: Reading) -> bool:
    """Same concept, or the same word."""
    if a.antonym or b.antonym:
        return a.antonym and b.antonym and a.base == b.base
    return same_word(a.base, b.base)


def same_word(a: str, b: str) -> bool:
    """Same stem, or a long shared run of letters ("kontroll" ~ "controlled", "overdoser" ~ "overdoserisiko")."""
    if a == b or _stems(a) & _stems(b):
        return True
    return longest_common_run(a, b) >= max(MIN_BASE, COGNATE_SHARE * min(len(a), len(b)))


def _stems(word: str) -> set[str]:
    return set(analyse(word)) | set(analyse(word, "english"))
