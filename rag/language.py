"""Which language a question is in: English or Norwegian (bokmål/nynorsk), by function words; which
one it asks its answer in; and whether it has words at all."""
from __future__ import annotations

import re

ENGLISH = frozenset("""the a an of to in on for with about what which who whom whose why how when where
do does did is are was were be been have has had say said says think and or not they their them this that
these those there it its from by as at can could should would will shall may might must than then""".split())
NORWEGIAN = frozenset("""og i på til for med om hva hvilke hvilken hvem hvorfor hvordan når hvor er var
har hadde sier sa mener det den de dette disse som ikke en et ei av fra kan skal vil bør må ved
at seg sin sine sitt også eller enn hos mot etter""".split())
WORD = re.compile(r"\w+", re.UNICODE)
LANGUAGE_NAMES = {"english": "en", "engelsk": "en", "norwegian": "no", "norsk": "no", "bokmål": "no"}
# "in Norwegian" closing a clause (before "please" and punctuation, or the end): a request for the
# answer's language wherever it stands, as opposed to "in Norwegian law".
IN_LANGUAGE_AT_CLAUSE_END = (r"(?:in|på)\s+(" + "|".join(LANGUAGE_NAMES) + r")"
                             r"(?=\s*(?:please|takk)?\s*(?:[.?!,;:]|$))")
# "Summarise the op-ed in Norwegian", "Hva sa politiet? Svar på engelsk.": a language named after an
# answering verb, or closing a clause. "What does Norwegian law say ...?" names none.
ASKED_LANGUAGE = re.compile(
    r"\b(?:(?:answer|reply|respond|write|explain|summari[sz]e|svar|skriv|forklar|oppsummer)\b[^.?!]{0,40}?\s+"
    r"(?:in|på)\s+(" + "|".join(LANGUAGE_NAMES) + r")(?![\w-])|" + IN_LANGUAGE_AT_CLAUSE_END + ")", re.IGNORECASE)


def detect_language(text: str, default: str = "en") -> str:
    """"no" when Norwegian function words (or æ/ø/å) dominate, "en" when English ones do."""
    words = [w.lower() for w in WORD.findall(text)]
    english = sum(w in ENGLISH for w in words)
    norwegian = sum(w in NORWEGIAN for w in words) + sum(ch in "æøåÆØÅ" for ch in text) * 0.5
    if english == norwegian:
        return default
    return "en" if english > norwegian else "no"


def asked_language(question: str) -> str | None:
    """The answer language the question asks for in words ("... in Norwegian"), if any: it wins
    over the language the question is written in."""
    asked = ASKED_LANGUAGE.search(question)
    return LANGUAGE_NAMES[(asked.group(1) or asked.group(2)).lower()] if asked else None


def question_problem(question: str) -> str | None:
    """What keeps a typed question from being searched, said the same by every front end; None
    when nothing does. "???" was answered with whatever passages came closest to nothing."""
    text = (question or "").strip()
    if not text:
        return "the question is empty; type a question"
    if not any(ch.isalpha() or ch.isdecimal() for ch in text):  # "²" and "½" are no words either
        return f"the question {text[:40]!r} has no words in it; type a question in words"
    return None
