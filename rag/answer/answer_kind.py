"""A question that asks for an amount of money or a share is answered only by a passage that has one.

"Hva koster en LAR-plass per år?" and "How much money did the government allocate to LAR?"
reach the similarity of answerable questions (the passages are about LAR), and were answered
with "Mer enn 7400 personer er i LAR-behandling": a number, but not a cost. Neither seed
document names a sum of money or a percentage, so nothing in them answers such a question.
The rule is the question's kind against the retrieved passages' words, not a threshold: it
needs no calibration, and it abstains only when no retrieved passage has anything of the kind
(a currency, "millioner", "%", "prosent", "halvparten" ...), so a passage that states the
answer in any of those forms keeps the question answerable.
"""
from __future__ import annotations

import re

from rag.types import Hit

# The question asks how much something costs, or for a sum of money.
ASKS_FOR_MONEY = re.compile(
    r"\bhow much (?:money|funding|did|does|do|will|would|has|have|is|was)\b[^?]*\b(?:cost|costs|spend|spent|allocate|"
    r"allocated|budget\w*|fund\w*|pay|paid|receive|received|get|got|kroner|money)\b"
    r"|\bhow much money\b|\bwhat (?:does|did|do|will|would) [^?]*?(?<!the )(?<!a )\bcost\b(?!\s+of\b)"
    r"|\bat what cost\b|\bhow expensive\b"
    r"|\bhva (?:koster|kostet|kostar)\b|\bhvor mye (?:penger|koster|kostet|kostar|bevilg\w*|brukte?|bruker|får|fikk)\b"
    r"|\bhvor mange (?:millioner |milliarder |tusen )?kroner\b|\bhvor dyr\w*\b",
    re.IGNORECASE)
# A passage with a sum of money in any of its usual forms.
# Currency codes in capitals only: "nok" is Norwegian for "enough".
MONEY = re.compile(
    r"(?i:\b(?:kr|kroner|kronor|euro|euros|dollars?|pounds?|millioner|milliarder|mill|mrd|million|millions|billion|"
    r"billions)\b)|\b(?:NOK|SEK|DKK|USD|EUR|GBP|bn)\b|[$€£]")
# The question asks for a share: a percentage, proportion or rate.
ASKS_FOR_SHARE = re.compile(
    r"\bwhat (?:percentage|proportion|share|fraction)\b|\bhow (?:large|big|high|small) (?:a )?(?:share|proportion|"
    r"percentage|fraction)\b|\bwhat(?:'s| is| was| are| were)\b[^?]*\brates?\b|\bhow many per ?cent\b"
    r"|\bhvor (?:stor|høy|liten) (?:andel|del|prosent\w*)\b|\bhvilken andel\b|\bhvor mange prosent\b",
    re.IGNORECASE)
SHARE = re.compile(
    r"\d\s*%|\b(?:prosent|percent|per ?cent|andel\w*|rate|rates|halvparten|tredjedel\w*|fjerdedel\w*|flertall\w*|"
    r"half|third|thirds|quarter|majority|minority)\b|\b\d+\s+(?:av|of|out of)\s+\d+\b|\bper \d",
    re.IGNORECASE)
KINDS = {"a sum of money": (ASKS_FOR_MONEY, MONEY), "a share": (ASKS_FOR_SHARE, SHARE)}


def missing_kind(question: str, hits: list[Hit]) -> str:
    """What the question asks for that no hit has ("a sum of money", "a share"), or ""."""
    for kind, (asks, answer) in KINDS.items():
        if asks.search(question) and not any(answer.search(hit.chunk.text) for hit in hits):
            return kind
    return ""
