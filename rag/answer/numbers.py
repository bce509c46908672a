"""Numbers stated in English or Norwegian text, as values: "10 billion" = "10 milliarder" = 1e10.

Digits with thousands separators ("1 000", "1,000", "7 400"), decimals ("1,5", "1.5"), scale
words (thousand/tusen, million/millioner, billion/milliard(er)) and number words from two
to a hundred in both languages. "One" counts in a claim; in Norwegian "en"/"ei"/"ett"
are also the indefinite article, so they count only on the lenient side (the quotes), and
only the accented "én" is read as a number in a Norwegian claim. On the lenient side a
duration also counts in the other unit of its kind ("et halvt år" states six months). A decade
of the last century is its first year ("80-tallet" = "the 1980s" = 1980), and a Norwegian
compound that opens with a number word counts ("toåring": two). A quantity stated as an order
of magnitude is that magnitude: "hundreds" = "hundrevis" = 100, "tens of thousands" =
"titusenvis" = 10 000 (`magnitudes_in`): a claim's "thousands" is borne out by a stated value from
1 000 to 9 999 ("7 400", "tusenvis", "flere tusen"), and "hundreds of people" does not pass for
"tusenvis av mennesker".

A bound's direction is part of its figure: "just under 7,400" is not "Mer enn 7400" (`flipped_bound`).
"""
from __future__ import annotations

import re
from typing import Iterator

EN_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
            "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
            "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
            "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
            "dozen": 12, "half": 0.5}
NO_WORDS = {"én": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "sju": 7, "syv": 7, "åtte": 8, "ni": 9, "ti": 10,
            "elleve": 11, "tolv": 12, "tretten": 13, "fjorten": 14, "femten": 15, "seksten": 16, "sytten": 17,
            "atten": 18, "nitten": 19, "tjue": 20, "tretti": 30, "tredve": 30, "førti": 40, "femti": 50,
            "seksti": 60, "sytti": 70, "åtti": 80, "nitti": 90, "hundre": 100, "dusin": 12, "halvt": 0.5,
            "halv": 0.5}
NUMBER_WORDS = frozenset(EN_WORDS) | frozenset(NO_WORDS)
AMBIGUOUS_ONE = {"en": 1, "ei": 1, "et": 1, "ett": 1, "a": 1, "an": 1}
# Words that speak of a pair without a number: "the two sides" renders "hverandres", "begge veier".
PAIR_WORDS = {"both": 2, "begge": 2, "hverandre": 2, "hverandres": 2}
EACH_OTHER = re.compile(r"\beach\s+other", re.IGNORECASE)
# What may stand before a scale word as its count: "3 millions", "a million".
COUNT_WORDS = NUMBER_WORDS | frozenset(AMBIGUOUS_ONE)
SCALES = {"decade": 10, "decades": 10, "tiår": 10,
          "thousand": 1e3, "tusen": 1e3, "million": 1e6, "millions": 1e6, "millioner": 1e6, "mill": 1e6,
          "billion": 1e9, "billions": 1e9, "milliard": 1e9, "milliarder": 1e9, "mrd": 1e9}
# A quantity given only as an order of magnitude: "hundreds", "tens of thousands", "tusenvis", "titusener".
MAGNITUDE_BASES = {"dozens": 12, "hundreds": 100, "thousands": 1e3, "millions": 1e6, "billions": 1e9,
                   "dusin": 12, "hundre": 100, "tusen": 1e3, "titusen": 1e4, "hundretusen": 1e5, "million": 1e6,
                   "milliard": 1e9}
MAGNITUDE = re.compile(r"\b(?:(tens|hundreds)\s+of\s+)?(dozens|hundreds|thousands|millions|billions)\b"
                       r"|\b(dusin|hundre|tusen|titusen|hundretusen|million|milliard)(?:vis|er)\b", re.IGNORECASE)
BARE_SCALES = frozenset({"thousand", "tusen", "million", "millioner", "milliard", "milliarder"})
# Units a duration may be restated in, with their size in the smallest unit of their kind.
DURATIONS = {"år": ("months", 12), "året": ("months", 12), "years": ("months", 12), "year": ("months", 12),
             "måned": ("months", 1), "måneder": ("months", 1), "months": ("months", 1), "month": ("months", 1),
             "uke": ("hours", 168), "uker": ("hours", 168), "weeks": ("hours", 168), "week": ("hours", 168),
             "dag": ("hours", 24), "dager": ("hours", 24), "days": ("hours", 24), "day": ("hours", 24),
             "døgn": ("hours", 24), "time": ("hours", 1), "timer": ("hours", 1), "hours": ("hours", 1),
             "hour": ("hours", 1)}
# "14.12.2023": a date is its day, month and year, not one decimal number.
DATE = re.compile(r"(?<![\w.,])(\d{1,2})\.(\d{1,2})\.(\d{4})(?![\d]|[.,]\d)")
DIGITS = re.compile(r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d])|(?<![\w.,])\d+(?:[.,]\d+)*")
WORD = re.compile(r"[^\W\d_]+")
# "80-tallet", "the '80s": a decade of the last century, as its first year ("the 1980s" = 1980).
DECADE = re.compile(r"(?<![\w'])'?(\d0)(?:-tallet\b|s\b)")
# "over et år", "a whole year": an article before a unit of time is one of it, also in a claim
# (not in "twice a year", "once a week", "per day", "half a year"; nor "time", English "at a time").
ONE_UNIT = re.compile(r"(?<!once )(?<!twice )(?<!times )(?<!per )(?<!half )\b(?:a|an|et|ett|ei)\s+"
                      r"(?:(?:whole|full|entire|hel|helt|hele)\s+)?(%s)\b"
                      % "|".join(sorted(set(DURATIONS) - {"time"})), re.IGNORECASE)
# "toåring" (a two-year-old), "femårig" (five years long): a number word that begins a compound.
AGED = re.compile(r"(%s)år(?:ing|ig)\w*" % "|".join(sorted((w for w in NO_WORDS if len(w) > 1), key=len, reverse=True)))

# Words that make a number a bound from above or below ("about", "rundt", "cirka" give no direction).
BOUND_WORDS = {
    "at least": r"more than|over|above|at least|exceeding|upwards of|in excess of|mer enn|flere enn|minst|"
                r"i overkant av|drøyt",
    "at most": r"less than|fewer than|under|below|up to|at most|almost|nearly|just under|mindre enn|færre enn|"
               r"opptil|inntil|høyst|nesten|knapt|i underkant av",
}
BOUND = re.compile(r"\b(%s)\s+(%s)" % ("|".join(BOUND_WORDS.values()), DIGITS.pattern), re.IGNORECASE)
BOUND_OF = {words: direction for direction, alternatives in BOUND_WORDS.items() for words in alternatives.split("|")}


def flipped_bound(claim: str, quotes: str) -> tuple[str, str] | None:
    """(the claim's words, the quotes' words) for a number both bound in opposite directions."""
    stated = _bounds(quotes)
    for value, (direction, words) in _bounds(claim).items():
        if value in stated and stated[value][0] != direction:
            return words, stated[value][1]
    return None


def _bounds(text: str) -> dict[float, tuple[str, str]]:
    """{value: (direction, words)} for each number bound by a word before it."""
    found = {}
    for match in BOUND.finditer(text):
        value = _digits(match.group(2))
        direction = BOUND_OF.get(" ".join(match.group(1).lower().split()))
        if value is not None and direction:
            found.setdefault(value, (direction, match.group(0)))
    return found


def numbers_in(text: str, language: str, lenient: bool = False) -> set[float]:
    """Every number stated in `text` (a Norwegian text reads Norwegian number words); `lenient`
    also reads words that are only sometimes numbers ("en deltaker": one participant)."""
    words = {**(NO_WORDS if language == "no" else EN_WORDS), **({**AMBIGUOUS_ONE, **PAIR_WORDS} if lenient else {})}
    found: set[float] = {2.0} if lenient and EACH_OTHER.search(text) else set()
    for match in DATE.finditer(text):
        found |= {float(part) for part in match.groups()}
    for match in DIGITS.finditer(DATE.sub(lambda date: " " * len(date.group(0)), text)):
        value = _digits(match.group(0))
        if value is not None:
            found.add(_scaled(value, text[match.end():]))
            found |= _restated(value, text[match.end():]) if lenient else set()
    found |= {1900.0 + int(match.group(1)) for match in DECADE.finditer(text)}
    if lenient:  # a claim's orders of magnitude are checked against ranges (magnitudes_in)
        found |= {value for value, _ in _magnitudes(text)} | _bare_scales(text)
    for match in ONE_UNIT.finditer(text):
        found |= {1.0} | (_restated(1.0, " " + match.group(1)) if lenient else set())
    for match in WORD.finditer(text):
        if _in_compound(text, match) or _article_of_a_number(text, match):
            continue
        aged = AGED.fullmatch(match.group(0).lower()) if language == "no" else None
        value = NO_WORDS[aged.group(1)] if aged else words.get(match.group(0).lower())
        if value is not None:
            found.add(_scaled(value, text[match.end():]))
            found |= _restated(value, text[match.end():]) if lenient else set()
    return found


def magnitudes_in(text: str) -> dict[float, str]:
    """Orders of magnitude a claim states without a count, with their words: {100: "hundreds"}.
    Any stated value from the magnitude up to ten times it bears one out ("7 400": thousands)."""
    return {value: words for value, words in _magnitudes(text)}


def bears_out(magnitude: float, stated: set[float]) -> bool:
    """True when a stated value lies between the magnitude and ten times it."""
    return any(magnitude <= value < magnitude * 10 for value in stated)


def _magnitudes(text: str) -> Iterator[tuple[float, str]]:
    for match in MAGNITUDE.finditer(text):
        if _after_a_number(text, match.start()):
            continue  # "3 millions": a scale, read with its number
        tens, english, norwegian = match.groups()
        value = MAGNITUDE_BASES[(english or norwegian).lower()]
        yield value * {"tens": 10, "hundreds": 100}.get((tens or "").lower(), 1), match.group(0)


def _bare_scales(text: str) -> set[float]:
    """Scale words that follow no number ("flere tusen": thousands)."""
    return {SCALES[m.group(0).lower()] for m in WORD.finditer(text)
            if m.group(0).lower() in BARE_SCALES and not _after_a_number(text, m.start())}


def _after_a_number(text: str, position: int) -> bool:
    """True when the word before `position` is a number: digits, a number word, or an article ("a million")."""
    before = re.search(r"(\S+)\s*$", text[:position])
    return bool(before) and (bool(DIGITS.fullmatch(before.group(1).rstrip(",."))) or
                             before.group(1).lower() in COUNT_WORDS)


def _in_compound(text: str, match: re.Match) -> bool:
    """A number word joined by a hyphen to a word that is no number: "one-sided", "ett-tall"; but
    not to a unit of time: "a four-year-old", "a two-day course" state a figure."""
    before, after = text[:match.start()], text[match.end():]
    joined = re.match(r"-([^\W\d_]+)", after) or re.search(r"([^\W\d_]+)-$", before)
    return bool(joined) and joined.group(1).lower() not in NUMBER_WORDS and joined.group(1).lower() not in DURATIONS


def _article_of_a_number(text: str, match: re.Match) -> bool:
    """"et halvt år", "a hundred": the article belongs to the number word after it."""
    following = WORD.match(text[match.end():].lstrip())
    return match.group(0).lower() in AMBIGUOUS_ONE and bool(following) and following.group(0).lower() in NUMBER_WORDS


def describe(value: float) -> str:
    """A number as a reader would write it: 10000000000.0 -> "10 billion", 7400.0 -> "7400"."""
    for scale, name in ((1e9, "billion"), (1e6, "million")):
        if value >= scale and (value / scale) == round(value / scale, 2):
            return f"{value / scale:g} {name}"
    return f"{value:g}"


def _digits(raw: str) -> float | None:
    """'1 000' / '1,000' -> 1000; '1,5' / '1.5' -> 1.5; '2024' -> 2024."""
    compact = re.sub(r"[ \u00a0\u202f]", "", raw)
    groups = re.split(r"[.,]", compact)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))  # thousands separators
    if len(groups) == 2:
        return float(f"{groups[0]}.{groups[1]}")
    try:
        return float(compact)
    except ValueError:
        return None


def _scaled(value: float, after: str) -> float:
    """`value` times a scale word right after it ("10 milliarder")."""
    following = WORD.match(after.lstrip())
    if following and following.start() == 0 and len(after) - len(after.lstrip()) <= 2:
        return value * SCALES.get(following.group(0).lower(), 1)
    return value


def _restated(value: float, after: str) -> set[float]:
    """A duration right after `value` ("halvt år") in the other units of its kind (6 months)."""
    following = WORD.match(after.lstrip())
    if not following or len(after) - len(after.lstrip()) > 2 or following.group(0).lower() not in DURATIONS:
        return set()
    kind, size = DURATIONS[following.group(0).lower()]
    return {value * size / other for other_kind, other in DURATIONS.values() if other_kind == kind and other != size}
