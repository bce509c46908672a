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
# Markup pasted with a question (from an e-mail, a web page or a Markdown note): what a script or
# style element holds goes, a link keeps its text, tags and emphasis marks go.
HIDDEN_ELEMENT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
TAG = re.compile(r"</?[A-Za-z][^<>]*>")
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w)|`+|~~")
QUESTION_WORD = re.compile(r"^(?:what|which|who|why|how|when|where|hva|hvilke|hvem|hvorfor|hvordan|når|hvor)\b",
                           re.IGNORECASE)
MAX_FOLLOW_UP_WORDS = 8


def without_markup(question: str) -> str:
    """The question's words without HTML or Markdown markup: "<b>What</b> did the **police** say?"
    searches as "What did the police say?" (a tag's capitals read as names the corpus lacks, and
    the question abstained)."""
    text = HIDDEN_ELEMENT.sub(" ", question)
    text = TAG.sub(" ", MARKDOWN_LINK.sub(r"\1", text))
    return " ".join(EMPHASIS.sub("", text).split())


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


REWRITE_INSTRUCTION = ("Rewrite the user's last question as one standalone search query that can be understood "
                       "without the conversation. Keep its language. Reply with the query only.")
MAX_REWRITE_TOKENS = 60


def rewrite_with_llm(backend, question: str, history: list[dict], timeout: float) -> str:
    """The backend's standalone rewrite of a follow-up; the rule-based one if it fails or rambles."""
    from rag.answer.backends.base import BackendError, Prompt

    fallback = rewrite_follow_up(question, history)
    if not previous_question(history) or not is_follow_up(question):
        return question
    # A user turn shows its standalone query: in a chain of follow-ups ("and the police?",
    # "and the courts?") the topic is only in the first question, beyond the last few turns.
    turns = [f"{m['role']}: {str(m.get('search_query') or m.get('content', ''))[:300]}" for m in history[-4:]]
    messages = [{"role": "system", "content": REWRITE_INSTRUCTION},
                {"role": "user", "content": "\n".join(turns + [f"user: {question}"])}]
    try:
        reply = "".join(backend.stream(Prompt(messages, question, "en"), MAX_REWRITE_TOKENS, timeout)).strip()
    except BackendError:
        return fallback
    reply = reply.splitlines()[0].strip().strip('"') if reply else ""
    return reply if 3 <= len(reply.split()) <= 30 else fallback
