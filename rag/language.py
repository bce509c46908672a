"""Which language a question is in: English or Norwegian (bokmål/nynorsk), by function words;
and whether it has words at all."""
from __future__ import annotations

import re

ENGLISH = frozenset("""the a an of to in on for with about what which who whom whose why how when where
do does did is are was were be been have has had say said says think and or not they their them this that
these those there it its from by as at can could should would will shall may might must than then""".split())
NORWEGIAN = frozenset("""og i på til for med om hva hvilke hvilken hvem hvorfor hvordan når hvor er var
har hadde sier sa mener det den de dette disse som ikke en et ei av fra kan skal vil bør må ved
at seg sin sine sitt også eller enn hos mot etter""".split())
WORD = re.compile(r"\w+", re.UNICODE)


def detect_language(text: str, default: str = "en") -> str:
    """"no" when Norwegian function words (or æ/ø/å) dominate, "en" when English ones do."""
    words = [w.lower() for w in WORD.findall(text)]
    english = sum(w in ENGLISH for w in words)
    norwegian = sum(w in NORWEGIAN for w in words) + sum(ch in "æøåÆØÅ" for ch in text) * 0.5
    if english == norwegian:
        return default
    return "en" if english > norwegian else "no"


def question_problem(question: str) -> str | None:
    """What keeps a typed question from being searched, said the same by every front end; None
    when nothing does. "???" was answered with whatever passages came closest to nothing."""
    text = (question or "").strip()
    if not text:
        return "the question is empty; type a question"
    if not any(ch.isalpha() or ch.isdecimal() for ch in text):  # "²" and "½" are no words either
        return f"the question {text[:40]!r} has no words in it; type a question in words"
    return None
