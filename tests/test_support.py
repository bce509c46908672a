"""The support check: numbers across languages, speakers, names, negation, similarity; and its floors."""
from __future__ import annotations

import pytest

from rag.answer.numbers import numbers_in
from rag.answer.support import Evidence, SupportChecker
from rag.eval.support import support_figures

QUOTE = "Flere av deltakerne mener politiet er underbemannet."
POLICE = Evidence(1, QUOTE, "4. Hva sier … › Politi: Ressursmangel › Manglende tid og ressurser", "Politi")
# Floors at the measured test-half figures minus a small margin (see README, "How answers are checked").
RECALL_FLOOR = 0.75
FALSE_FLAG_CEILING = 0.15


@pytest.mark.parametrize("text, language, value", [
    ("10 milliarder kroner", "no", 1e10), ("10 billion kroner", "en", 1e10), ("1 000 pasienter", "no", 1000),
    ("1,000 patients", "en", 1000), ("7 400 personer", "no", 7400), ("1,5 prosent", "no", 1.5),
    ("tre netter", "no", 3), ("twenty years", "en", 20), ("in 2024", "en", 2024)])
def test_numbers_are_read_as_values(text, language, value):
    assert value in numbers_in(text, language)


@pytest.fixture(scope="module")
def checker(seed_index, embedder):
    return SupportChecker(embedder.encode_queries, seed_index.perspectives)


@pytest.mark.slow
def test_a_faithful_translation_is_supported(checker):
    assert checker.check("Several participants believe the police are understaffed.", [POLICE]).supported


@pytest.mark.slow
@pytest.mark.parametrize("sentence, reason", [
    ("The government spent 10 billion kroner on this in 2024.", "numbers 10 billion, 2024 are not in"),
    ("Health personnel say the police are understaffed.", "comes from «Politi», not «Helsepersonell»"),
    ("The participants say the police are not understaffed.", "negates"),
    ("Participants in Oslo say the police are understaffed.", "«Oslo»"),
])
def test_unsupported_sentences_get_a_reason(checker, sentence, reason):
    verdict = checker.check(sentence, [POLICE])
    assert verdict.support == "unsupported" and reason in verdict.reason and "[1]" in verdict.reason


@pytest.mark.slow
def test_detection_on_the_labelled_cases_stays_above_its_floor(checker, seed_index):
    figures = support_figures(checker, seed_index)
    assert figures["all"]["cases"] >= 80 and figures["all"]["unsupported"] >= 30
    assert figures["test"]["recall"] >= RECALL_FLOOR, figures["test"]
    assert figures["test"]["false_flags"] <= FALSE_FLAG_CEILING, figures["test"]
