"""Rewrite a follow-up ("and the health personnel?") into a standalone search query.

The rule-based rewrite is used without an LLM: it recognises short follow-ups that
start with a connective or lean on a pronoun, and substitutes the new subject into
the previous question's "What did X say about Y" / "Hva sier X om Y" shape.
"""
from __future__ import annotations

import re

CONNECTIVE = re.compile(
    r"^(?:and|but|also|what about|how about|and what about|same for|og|men|også|hva med|og hva med|enn)\b[\s,]*",
    re.IGNORECASE,
)
PRONOUN = re.compile(r"\b(?:they|them|their|it|this|that|those|de|dem|deres|det|dette|disse|den)\b", re.IGNORECASE)
SAY_ABOUT = [
    re.compile(r"^(?P<head>(?:what|how)\s+(?:did|do|does|have|has)\s+)(?P<subject>.+?)"
               r"(?P<tail>\s+(?:say|said|think|propose|suggest|mean|write|describe|recommend)\b.*)$", re.IGNORECASE),
    re.compile(r"^(?P<head>(?:hva|hvordan)\s+(?:sier|sa|mener|foreslår|skriver|tenker|beskriver)\s+)(?P<subject>.+?)"
               r"(?P<tail>\s+(?:om|til|med)\b.*)$", re.IGNORECASE),
]
QUESTION_WORD = re.compile(r"^(?:what|which|who|why|how|when|where|hva|hvilke|hvem|hvorfor|hvordan|når|hvor)\b",
                           re.IGNORECASE)
MAX_FOLLOW_UP_WORDS = 8


def previous_question(history: list[dict]) -> str | None:
    """The last user turn's standalone query (or its text), from chat messages."""
    for message in reversed(history):
        if message.get("role") == "user":
            return message.get("search_query") or message.get("content")
    return None


def is_follow_up(question: str) -> bool:
    """Short questions that start with a connective or lean on a pronoun."""
    words = question.split()
    if len(words) > MAX_FOLLOW_UP_WORDS:
        return False
    return bool(CONNECTIVE.match(question.strip()) or PRONOUN.search(question) or len(words) <= 3)


def rewrite_follow_up(question: str, history: list[dict]) -> str:
    """A standalone version of `question` given the conversation so far."""
    previous = previous_question(history)
    if not previous or not is_follow_up(question):
        return question
    focus = CONNECTIVE.sub("", question.strip()).rstrip(" ?.!")
    shape = _say_about(previous)
    if QUESTION_WORD.match(focus) and PRONOUN.search(focus):
        # A full question leaning on a pronoun: "What did they propose?" -> the previous subject.
        subject = shape.group("subject") if shape else previous.rstrip(" ?.!")
        return PRONOUN.sub(subject, focus, count=1) + "?"
    if shape and focus and not QUESTION_WORD.match(focus):
        return f"{shape.group('head')}{focus}{shape.group('tail')}"
    return f"{focus} {previous}".strip()


def _say_about(question: str) -> re.Match | None:
    for pattern in SAY_ABOUT:
        match = pattern.match(question.strip())
        if match:
            return match
    return None
