"""The answer pipeline end to end on the seed index: citations, abstention, follow-ups, faults."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag.answer import Answerer, Finished, SourcesFound, TextDelta
from rag.answer.backends.base import BackendError
from rag.eval.suites import DATA_DIR, is_relevant, load_suite
from rag.retrieval import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.slow

FLOOR_MARGIN = 0.03
BENCH_RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results.json"


def bench_figures() -> dict:
    """The figures `make bench` measured, which the README reports."""
    return json.loads(BENCH_RESULTS.read_text(encoding="utf-8"))


class ScriptedBackend:
    """A fake LLM that streams canned text (or fails), for pipeline logic: the same reply to every
    request, or one reply per request from a list (the last one again once they run out)."""

    name = "scripted"
    context_window = 8192

    def __init__(self, reply="", error=None):
        self.replies = [reply] if isinstance(reply, str) else list(reply)
        self.error, self.prompts = error, []

    @property
    def reply(self) -> str:
        return self.replies[min(len(self.prompts), len(self.replies)) - 1]

    def stream(self, prompt, max_tokens, timeout):
        self.prompts.append(prompt)
        for word in self.reply.split(" "):
            yield word + " "
        if self.error:
            raise self.error


@pytest.fixture(scope="module")
def answerer(seed_index, embedder):
    return Answerer(Settings.load(), Retriever(seed_index, embedder))


def test_extractive_answers_cite_exact_quotes_of_the_expected_chunk(answerer, seed_index):
    """Quality floor (item 12): the expected passage is cited at most 0.03 below the README's figure
    (bench/results.json), and no more answerable questions abstain than measured there."""
    suite = load_suite("seeds")
    expected_cited, abstained = 0, 0
    for query in suite.queries:
        answer = answerer.ask(query.text)
        if answer.abstained:
            abstained += 1
            continue
        assert answer.citations, query.id
        for citation in answer.citations:
            assert seed_index.documents[citation.doc_id].text[citation.start:citation.end] == citation.quote
        cited = {c.chunk_id for c in answer.citations}
        expected_cited += any(is_relevant(c, query) for c in seed_index.chunks if c.id in cited)
    answered = len(suite.queries) - abstained
    measured = bench_figures()["answers"]["extractive"]
    assert abstained <= measured["answerable_abstained"]
    assert expected_cited / answered >= measured["expected_chunk_cited"] - FLOOR_MARGIN, expected_cited / answered


def test_a_footnote_that_only_cites_a_publication_is_no_evidence(answerer):
    """"Helsedirektoratet, Førerkortveileder, ... (2020, oppdatert 2023), pkt." ranked first under the
    user organisations for their proposals, and was quoted as what they said."""
    from rag.ingest.footnotes import REFERENCE

    answer = answerer.ask("what measures do user organisations propose?")
    quotes = [citation.quote for citation in answer.citations]
    assert quotes and not any(REFERENCE.search(quote) for quote in quotes), quotes
    first = answer.citations[0].section_path  # their own proposals come first instead
    assert first[1].startswith("Brukerorganisasjoner") and first[-1].startswith("Tiltak"), first


def test_a_sentence_that_introduces_a_quote_brings_the_quote_with_it(answerer, seed_index):
    """"... bidrar til stigmatisering:" was quoted without the participant's words it introduces."""
    answer = answerer.ask("What do user organisations say about how the police treat people with addiction?")
    quotes = [citation.quote for citation in answer.citations]
    intro = next(i for i, quote in enumerate(quotes) if quote.startswith("En av deltakerne opplever at måten"))
    assert quotes[intro].endswith(":") and quotes[intro + 1].startswith("«Vi var i et møte med politiet"), quotes
    end = quotes.index("Går ikke ut og snakker med folk.»")  # the quote it opens, to its end
    text = seed_index.documents[answer.citations[intro].doc_id].text
    spans = [(c.start, c.end) for c in answer.citations[intro:end + 1]]
    assert all(not text[a_end:b_start].strip() for (_, a_end), (b_start, _) in zip(spans, spans[1:])), quotes


@pytest.mark.parametrize("question", ["Hva sier helsepersonell om stigma?",
                                      "What did the police say about lack of resources?"])
def test_a_quote_is_never_cut_in_the_middle_of_a_speakers_words(answerer, question):
    """The health personnel's answer began "Vi ser hvor komplisert ... behandlere.»" and the police's
    ended inside «Mange av disse menneskene ...»: a speaker's words cut in two. Each source's quotes
    now open and close their «quotes»."""
    answer = answerer.ask(question)
    for n in {citation.n for citation in answer.citations}:
        said = " ".join(citation.quote for citation in answer.citations if citation.n == n)
        assert said.count("«") == said.count("»"), said


@pytest.mark.parametrize("question", ["What did the police say about lack of resources?",
                                      "Hva sier helsepersonell om stigma?"])
def test_citations_are_numbered_in_reading_order(answerer, question):
    """The police answer cited [1], [3], then [2]: numbers followed retrieval rank."""
    answer = answerer.ask(question)
    first_seen = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", answer.text)))
    assert first_seen == list(range(1, len(first_seen) + 1)) and len(first_seen) > 1, answer.text
    assert [c.n for c in answer.citations] == sorted(c.n for c in answer.citations)


def test_no_answer_to_the_fresh_questions_cuts_a_quotation_in_two(answerer):
    """93 of these 112 answers cut a «quotation» in two before passages were made whole."""
    from rag.eval.fresh import load_fresh_questions

    cut = []
    for question in (q["q"] for q in load_fresh_questions() if q["answerable"]):
        citations = answerer.ask(question).citations
        for n in {citation.n for citation in citations}:
            said = " ".join(citation.quote for citation in citations if citation.n == n)
            if said.count("«") != said.count("»") or said.count('"') % 2:
                cut.append((question, said))
    assert not cut, cut[:3]


def test_markup_pasted_with_a_question_is_left_out_of_the_search(answerer):
    """Pasted with HTML and Markdown, the question abstained: its tags' capitals read as names the
    corpus lacks. It is shown as typed and searched without them."""
    plain = answerer.ask("What did the police say about communication problems?")
    pasted = "<script>alert('x')</script> **What** did the <b>police</b> say about `communication` problems?"
    marked = answerer.ask(pasted)
    assert not marked.abstained and marked.question == pasted
    assert marked.citations[0].section_path == plain.citations[0].section_path


@pytest.mark.parametrize("question", ["What did the Police say about Communication problems?",
                                      "How do Health Personnel view Drug-using Patients?",
                                      "What Did The Police Say About Lack Of Resources?",
                                      "WHAT DID THE POLICE SAY ABOUT LACK OF RESOURCES?"])
def test_ordinary_words_written_with_a_capital_are_no_unknown_names(answerer, question):
    """It abstained: "Police" and "Communication", absent from Norwegian text, read as names; a
    question in Title Case or capitals is searched in sentence case."""
    assert not answerer.ask(question).abstained
    assert not answerer.ask("What does the report say about Zurich's open drug scene?").citations


@pytest.mark.parametrize("question, language", [
    ("What did the police say about lack of resources? Svar på norsk.", "no"),
    ("Hva sa politiet om mangel på ressurser? Answer in English.", "en")])
def test_an_answer_is_in_the_language_the_question_asks_for(answerer, question, language):
    answer = answerer.ask(question)
    assert answer.language == language and answer.search_query == question.rsplit("?", 1)[0] + "?"
    assert answer.text.splitlines()[0].endswith("sier:" if language == "no" else "said:")


def test_a_number_the_documents_lack_counts_at_the_start_of_a_question_too(answerer):
    """"2024?" was answered with 15 quotes: a name is not looked for at a question's start (its first
    word has a capital anyway), and neither was a number; nor was the one word of "Portugal?"."""
    assert answerer.ask("2024?").abstained
    assert answerer.ask("Portugal?").abstained and not answerer.ask("Politi?").abstained


def test_what_someone_the_documents_never_name_said_is_not_answered(answerer):
    """Answered with the police focus group's words under "The police" lead, as if they were his."""
    assert answerer.ask("What did Jens Stoltenberg say about the police?").abstained
    assert answerer.ask("Hva sa Jonas Gahr Støre om politiet?").abstained
    assert not answerer.ask("What did Per Fugelli say about Guneriushjørnet?").abstained


def test_unanswerable_questions_abstain_on_the_test_half_as_measured(answerer):
    """Quality floor (item 12): on the half of the questions the thresholds were not calibrated
    on, abstention stays within 0.03 of the README's figure and answerable questions abstain no more."""
    from rag.eval.abstention import abstention_figures

    figures = abstention_figures(answerer)
    measured = bench_figures()["checks"]["abstention"]
    assert figures["settings"] == measured["settings"], "thresholds changed: run `make bench` and update the README"
    assert figures["test"]["unanswerable_share"] >= measured["test"]["unanswerable_share"] - FLOOR_MARGIN, figures
    assert int(figures["test"]["answerable_abstained"].split("/")[0]) <= int(
        measured["test"]["answerable_abstained"].split("/")[0]), figures
    lines = (DATA_DIR / "seeds_unanswerable.jsonl").read_text().splitlines()
    for answer in (a for a in (answerer.ask(json.loads(line)["q"]) for line in lines) if a.abstained):
        assert answer.closest and not answer.citations


def test_fresh_short_questions_keep_their_measured_abstention_and_retrieval(answerer, seed_index):
    """Quality floor: on the fresh questions nothing was tuned on (rag.eval.fresh), the answering
    passage stays among the first five hits within 0.03 of the README's figure, and abstention
    moves by at most one question of each kind."""
    from rag.eval.fresh import fresh_figures

    figures = fresh_figures(answerer, seed_index)
    measured = bench_figures()["checks"]["fresh"]
    assert figures.keys() == measured.keys()

    def count(share: str) -> int:
        return int(share.split("/")[0])
    for name, row in measured.items():
        assert figures[name]["hit_at_5"] >= row["hit_at_5"] - FLOOR_MARGIN, (name, figures[name])
        assert count(figures[name]["answerable_abstained"]) <= count(row["answerable_abstained"]) + 1, figures[name]
        assert count(figures[name]["unanswerable_abstained"]) >= count(row["unanswerable_abstained"]) - 1, figures[name]


@pytest.mark.parametrize("question", ["What did the police say about lack of resources?",
                                      "Hva sa politiet om mangel på ressurser?"])
def test_the_police_question_cites_the_police_first_and_its_lead_names_them(answerer, question):
    answer = answerer.ask(question)
    lead = answer.text.splitlines()[0]
    assert "«Politi»" in lead or lead.startswith("Politi ("), lead
    assert lead.endswith("sier:" if answer.language == "no" else "said:")
    if answer.language == "en":
        assert "police" in lead.lower() and "Here is what the sources say" not in answer.text
    first = answer.citations[0]
    assert first.section_path[1].startswith("Politi:") and first.section_path[-1] == "Manglende tid og ressurser"
    assert all(s.support == "supported" and s.citations for s in answer.sentences)


@pytest.mark.parametrize("question, groups", [
    ("What do the police and the health personnel say about stigma?", ["Politi", "Helsepersonell"]),
    ("Hva sier politiet og helsepersonell om ressurser?", ["Politi", "Helsepersonell"]),
    ("What do the police, health personnel and user organisations say about stigma?",
     ["Politi", "Helsepersonell", "Brukerorganisasjoner"])])
def test_groups_named_together_each_get_a_part_in_the_order_named(answerer, question, groups):
    """The second group named was lost: its passages were each a little less similar than the first's."""
    answer = answerer.ask(question)
    leads = [line for line in answer.text.splitlines() if line.endswith(("said:", "sier:"))]
    named = [next((g for g in groups if f"«{g}»" in lead or lead.startswith(f"{g} (")), lead) for lead in leads]
    assert named[:len(groups)] == groups, leads


@pytest.mark.parametrize("question, label", [
    ("Hvilket ansvar har kommunene ifølge kronikken?", "Thomas Clausen, Helge Waal"),
    ("What measures against stigma do the user organisations propose?", "Brukerorganisasjoner")])
def test_a_question_to_one_speaker_quotes_that_speaker_alone(answerer, question, label):
    """Other groups' passages, each labelled as theirs but not asked about, followed the named speaker's."""
    answer = answerer.ask(question)
    speaker = next(p for p in answerer.index.perspectives.perspectives if p.label == label)
    assert answer.citations and all(speaker.covers(c) for c in answer.citations), answer.text[:600]


@pytest.mark.parametrize("question", ["What do the user organisations say about the police?",
                                      "Hva sier brukerorganisasjonene om politiet?"])
def test_a_speaker_asked_about_a_group_gets_a_part_first(answerer, question):
    """Only the police were quoted: their passages were each closer to "the police" than anything
    the user organisations said, and the user organisations' best one was not retrieved."""
    answer = answerer.ask(question)
    lead = answer.text.splitlines()[0]
    assert lead.startswith(("The organisations («Brukerorganisasjoner»)", "Brukerorganisasjoner (")), lead
    assert answer.citations[0].section_path[1].startswith("Brukerorganisasjoner"), answer.text[:300]


@pytest.mark.parametrize("question, first", [
    ("Hva sier brukerorganisasjonene om politiet?", "Brukerorganisasjoner"),
    ("Both sources talk about cooperation between police and health services. What do they say?", "Politi")])
def test_groups_named_after_a_preposition_are_a_topic_not_speakers(seed_index, embedder, question, first):
    """"cooperation between police and health services" was answered as if both groups were asked to speak."""
    from rag.retrieval.perspective import named_speakers

    speakers = named_speakers(question, seed_index.perspectives, embedder.encode_queries)
    assert [m.perspective.label for m in speakers] == [first]


def test_a_misspelled_name_for_the_speaker_is_not_repeated_in_the_lead(answerer):
    """"waht do the polise think" was led by "The polise («Politi»)"."""
    lead = answerer.ask("waht do the polise think about resources?").text.splitlines()[0]
    assert lead.startswith("Politi (") and "polise" not in lead, lead


@pytest.mark.parametrize("question", ["Summarise the op-ed in three bullet points", "Oppsummer kronikken i tre punkter"])
def test_a_summary_of_the_op_ed_quotes_the_op_ed(answerer, question):
    """It abstained (the layout request lowered the similarity), and "summarise the op-ed" opened
    with the police focus group: "the op-ed" named no perspective."""
    from conftest import OPED

    answer = answerer.ask(question)
    assert not answer.abstained and answer.citations[0].doc_id == OPED, answer.text[:300]


@pytest.mark.parametrize("question", ["What is the op-ed about?", "What do the authors argue?",
                                      "What are the main points of the user organisations?", "Hva mener politiet?",
                                      "Summarise the VG article", "What does the VG article argue?"])
def test_a_question_about_a_named_perspective_as_a_whole_quotes_it_alone(answerer, question):
    """"What is the op-ed about?" abstained (its similarity to any passage is low: it has no topic),
    and "Summarise the op-ed" quoted the police focus group after the op-ed, as the op-ed's."""
    answer = answerer.ask(question)
    named = answerer.retriever.search(answer.search_query, 6).named.perspective
    assert not answer.abstained and answer.citations, question
    assert all(named.covers(citation) for citation in answer.citations), answer.text[:400]


def test_an_op_ed_named_by_its_newspaper_is_known_to_the_corpus(answerer):
    """"VG" and "kronikk" stand in no indexed text (the newspaper's credit lines are page furniture):
    "VG-kronikken" abstained as a name the corpus lacks."""
    from conftest import OPED

    answer = answerer.ask("Hva mener VG-kronikken om LAR?")
    assert not answer.abstained and answer.citations[0].doc_id == OPED, answer.text[:300]


@pytest.mark.parametrize("question", ["Summarise the VG article", "What will the weather be in Oslo tomorrow?"])
def test_the_byline_is_not_quoted_as_an_argument(answerer, question):
    """The lead names the authors; their byline was quoted as if it were a claim of the op-ed."""
    answer = answerer.ask(question)
    assert "SERAF, Universitetet i Oslo" not in answer.text, answer.text[:400]


@pytest.mark.parametrize("question", ["Who wrote the VG op-ed and what institution are they affiliated with?",
                                      "Hvem skrev kronikken?", "Who wrote the op-ed?",
                                      "Who wrote the article in VG and what is their background?",
                                      "Who are Clausen and Waal?"])
def test_who_wrote_the_op_ed_is_answered_with_its_byline_first(answerer, question):
    """The first and the fourth abstained; the others quoted arguments of the op-ed, not who wrote it
    (the byline ranked below them, or was quoted nowhere)."""
    answer = answerer.ask(question)
    assert not answer.abstained and answer.sentences, question
    first = answer.sentences[0]
    assert first.text.startswith("Thomas Clausen og Helge Waal, Senter for Rus- og Avhengighetsforskning - SERAF")
    assert first.support == "supported" and first.citations, first


def test_who_is_asked_of_no_author_abstains_as_before(answerer):
    assert answerer.ask("Who is the prime minister?").abstained


def test_an_unnamed_perspective_keeps_the_extractive_lead_of_its_document(answerer):
    answer = answerer.ask("Hvor mange personer er i LAR-behandling i dag?")
    assert answer.text.startswith("Thomas Clausen og Helge Waal skriver i kronikk «Mer tilbud, ikke mindre politi»")


def test_follow_up_retrieves_the_health_personnel_section(answerer):
    first = answerer.ask("What did the police say about lack of resources?")
    assert any("Politi" in c.section_path[1] for c in first.citations)
    history = [{"role": "user", "content": first.question, "search_query": first.search_query},
               {"role": "assistant", "content": first.text}]
    second = answerer.ask("And the health personnel?", history)
    assert "health personnel" in second.search_query
    assert any(c.section_path[-1] == "Tid og ressurser" and c.section_path[1].startswith("Helsepersonell")
               for c in second.citations)


def test_stream_yields_sources_then_deltas_then_the_answer(answerer):
    events = list(answerer.stream("Hva er LAR?"))
    assert isinstance(events[0], SourcesFound) and isinstance(events[-1], Finished)
    assert any(isinstance(e, TextDelta) for e in events)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == events[-1].answer.text


def test_llm_reply_is_cleaned_and_its_citations_resolved(seed_index, embedder):
    reply = ("Politiet mener de er underbemannet [1]. Dette er en påstand uten kilde. "
             "Noe helt annet [9].")
    backend = ScriptedBackend(reply)
    answer = Answerer(Settings.load(answer_mode="free"), Retriever(seed_index, embedder), backend).ask(
        "What did the police say about lack of resources?")
    prompt = backend.prompts[0]
    assert "<sources>" in prompt.messages[-1]["content"] and prompt.language == "en"
    assert "[9]" not in answer.text and any("[9]" in n for n in answer.notices)
    assert "Dette er en påstand uten kilde." in answer.uncited_sentences
    assert [c.n for c in answer.citations] == [1]
    citation = answer.citations[0]
    assert seed_index.documents[citation.doc_id].text[citation.start:citation.end] == citation.quote


def test_backend_failure_falls_back_to_extractive_with_a_notice(seed_index, embedder):
    backend = ScriptedBackend("Halfway", error=BackendError("connection reset"))
    answer = Answerer(Settings.load(), Retriever(seed_index, embedder), backend).ask("Hva er LAR?")
    assert answer.backend == "extractive" and answer.citations
    assert any("connection reset" in n for n in answer.notices)


def test_backend_saying_the_sources_do_not_answer_abstains(seed_index, embedder):
    backend = ScriptedBackend("The sources do not answer this question.")
    answer = Answerer(Settings.load(answer_mode="free"), Retriever(seed_index, embedder), backend).ask(
        "What did the police say about lack of resources?")
    assert answer.abstained and answer.closest


def test_empty_backend_answer_falls_back_to_extractive(seed_index, embedder):
    answer = Answerer(Settings.load(), Retriever(seed_index, embedder), ScriptedBackend("")).ask("Hva er LAR?")
    assert answer.backend == "extractive" and answer.citations
    assert any("empty answer" in n for n in answer.notices)


def test_an_llm_backend_rewrites_follow_ups_and_a_rambling_rewrite_falls_back(seed_index, embedder):
    from rag.answer.followup import rewrite_with_llm

    history = [{"role": "user", "content": "What did the police say about lack of resources?"}]
    llm = ScriptedBackend("What did health personnel say about time and resources?")
    assert rewrite_with_llm(llm, "And the health personnel?", history, 5) == \
        "What did health personnel say about time and resources?"
    failing = ScriptedBackend("", error=BackendError("down"))
    assert rewrite_with_llm(failing, "And the health personnel?", history, 5) == \
        "What did the health personnel say about lack of resources?"
    assert rewrite_with_llm(llm, "Who wrote the op-ed about drug scenes?", history, 5) == \
        "Who wrote the op-ed about drug scenes?"


def test_evidence_mode_attaches_citations_the_model_never_typed(seed_index, embedder):
    backend = ScriptedBackend("The police say their access to resources affects how they can meet the public.")
    answer = Answerer(Settings.load(), Retriever(seed_index, embedder), backend).ask(
        "What did the police say about lack of resources?")
    prompt = backend.prompts[-1]
    assert "<evidence>" in prompt.messages[-1]["content"] and "[1]" not in prompt.messages[-1]["content"]
    # Nor is it shown the question, which a small model turns into the answer whatever the quotes say.
    assert not any("lack of resources" in m["content"] for p in backend.prompts for m in p.messages)
    written = [s for s in answer.sentences if s.text.startswith("The police say")]
    assert written and all(s.support == "supported" and s.citations for s in written)
    assert all(f"[{n}]" in written[0].text for n in written[0].citations)
    assert answer.backend == "scripted" and answer.mode == "evidence"


def test_evidence_mode_replaces_an_invented_figure_by_its_quotes(seed_index, embedder):
    backend = ScriptedBackend("The government spent 10 billion kroner on this in 2024.")
    answer = Answerer(Settings.load(), Retriever(seed_index, embedder), backend).ask(
        "What did the police say about lack of resources?")
    assert "10 billion" not in answer.text and "2024" not in answer.text
    assert any("numbers 10 billion, 2024 are not in source" in notice for notice in answer.notices)
    assert answer.sentences and all(s.support == "supported" for s in answer.sentences)


class RecordingBackend(ScriptedBackend):
    """A scripted backend that records how far each reply was read and whether it was closed."""

    def __init__(self, reply):
        super().__init__(reply)
        self.read, self.closed = [], []

    def stream(self, prompt, max_tokens, timeout):
        self.read.append(0)
        try:
            for piece in super().stream(prompt, max_tokens, timeout):
                self.read[-1] += 1
                yield piece
        finally:
            self.closed.append(self.read[-1] < len(self.reply.split(" ")))


POLICE_SAY = "The police say their access to resources affects how they can meet the public."
# What the second request's quotes (the police group's other passages) say.
POLICE_ALSO_SAY = ("The police say many of these people are hard to reach afterwards, which often leads to the case "
                   "being dropped.")


def test_evidence_mode_streams_a_sentence_as_soon_as_it_is_written(seed_index, embedder):
    backend = RecordingBackend(POLICE_SAY + " They describe too little time for investigation. " * 3)
    answerer = Answerer(Settings.load(), Retriever(seed_index, embedder), backend)
    for event in answerer.stream("What did the police say about lack of resources?"):
        if isinstance(event, TextDelta):
            break
    assert event.text.startswith(POLICE_SAY) and "They describe" not in event.text
    assert backend.read[0] < len(backend.reply.split(" ")), "the first sentence came before the reply ended"


def test_evidence_mode_stops_generating_at_the_end_of_each_sentence(seed_index, embedder):
    backend = RecordingBackend([" ".join([POLICE_SAY] * 6), " ".join([POLICE_ALSO_SAY] * 6)])
    answer = Answerer(Settings.load(), Retriever(seed_index, embedder), backend).ask(
        "What did the police say about lack of resources?")
    assert len(backend.closed) >= 2 and all(backend.closed), "generation stopped before each reply ended"
    assert answer.text.split("\n\n")[0].startswith(f"{POLICE_SAY} [1] {POLICE_ALSO_SAY} [")


def _evidence_of(prompt) -> str:
    request = prompt.messages[-1]["content"]
    return request[request.index("<evidence>"):request.index("</evidence>")]


def test_evidence_mode_writes_the_first_sentence_from_the_best_passage_alone(seed_index, embedder):
    """The first request carries only the quotes of the group's best passage (short: the first
    sentence comes sooner), the second the rest; each sentence cites what it was written from."""
    backend = ScriptedBackend([POLICE_SAY, POLICE_ALSO_SAY])
    answer = Answerer(Settings.load(), Retriever(seed_index, embedder), backend).ask(
        "What did the police say about lack of resources?")
    first, second = _evidence_of(backend.prompts[0]), _evidence_of(backend.prompts[1])
    police = [c for c in answer.citations if c.quote in first + second]  # the police group's quotes
    assert police and not any(c.quote in first and c.quote in second for c in police), "each quote goes once"
    assert 0 < sum(c.quote in first for c in police) < len(police)
    written = [s for s in answer.sentences if s.text.startswith("The police say")]
    assert [s.support for s in written] == ["supported", "supported"]
    for sentence, evidence in zip(written, (first, second)):
        cited = {c.n for c in police if c.quote in evidence}
        assert set(sentence.citations) == cited


def test_evidence_mode_keeps_a_supported_sentence_and_quotes_in_place_of_an_invented_one(seed_index, embedder):
    backend = ScriptedBackend([POLICE_SAY, "The government spent 10 billion kroner on this in 2024."])
    answer = Answerer(Settings.load(), Retriever(seed_index, embedder), backend).ask(
        "What did the police say about lack of resources?")
    written, _, quoted = answer.text.split("\n\n")[0].partition("\n")
    assert written.startswith(POLICE_SAY) and "10 billion" not in answer.text
    quotes_read = _evidence_of(backend.prompts[1]).splitlines()[1:]
    assert quoted.count("[") == len(quotes_read), "the quotes it was written from, under their lead, follow"
    assert any("10 billion" in notice for notice in answer.notices)
    assert [s.support for s in answer.sentences if s.text.startswith(POLICE_SAY)] == ["supported"]


def test_evidence_mode_quotes_in_place_of_a_sentence_cut_off_at_the_token_limit(seed_index, embedder):
    backend = ScriptedBackend("The police say their access to resources affects how they can meet the public and")
    answer = Answerer(Settings.load(), Retriever(seed_index, embedder), backend).ask(
        "What did the police say about lack of resources?")
    assert "meet the public and" not in answer.text and answer.citations
    assert any("cut off" in notice for notice in answer.notices)


def test_free_mode_marks_an_invented_figure_and_a_wrong_source_unsupported(seed_index, embedder):
    reply = ("The government spent 10 billion kroner on this in 2024 [1]. "
             "Heroin users in LAR have a much lower risk of overdose [1].")
    answer = Answerer(Settings.load(answer_mode="free"), Retriever(seed_index, embedder), ScriptedBackend(reply)).ask(
        "What did the police say about lack of resources?")
    verdicts = {s.text: s for s in answer.sentences}
    invented = verdicts["The government spent 10 billion kroner on this in 2024."]
    wrong = verdicts["Heroin users in LAR have a much lower risk of overdose."]
    assert invented.support == "unsupported" and "10 billion" in invented.reason
    assert wrong.support == "unsupported" and "[1]" in wrong.reason
    assert answer.to_json()["sentences"][0]["support"] == "unsupported"


def test_the_first_request_carries_no_more_than_a_short_read_of_the_best_passage(seed_index):
    """Reading the request is most of the first sentence's wait (about 50 tokens/s on 2 cores): the
    first part holds the best passage's quotes up to FIRST_REQUEST_CHARS (at least one), the rest
    go to the next part, and no quote is lost or repeated."""
    from rag.answer.compose import FIRST_REQUEST_CHARS, writing_parts
    from rag.answer.evidence import EvidenceGroup, Quote
    from rag.index.chunking import sentence_spans

    document = max(seed_index.documents.values(), key=lambda d: len(d.text))
    spans = [span for span in sentence_spans(document.text) if 120 < span[1] - span[0] < 250][:4]
    quotes = [Quote(1, start, end, pick=0) for start, end in spans] + [Quote(2, *spans[-1], pick=1)]
    group = EvidenceGroup(document, None, (document.title,), quotes)
    first, rest = writing_parts(group)
    assert 0 < sum(len(first.text_of(q)) for q in first.quotes) <= FIRST_REQUEST_CHARS
    assert sorted(first.quotes + rest.quotes, key=lambda q: (q.n, q.start)) == sorted(
        quotes, key=lambda q: (q.n, q.start))
    long_one = Quote(1, 0, FIRST_REQUEST_CHARS + 50, pick=0)
    assert writing_parts(group.with_quotes([long_one]))[0].quotes == [long_one]


def test_a_lead_names_a_documents_title_once(seed_index):
    """Text under no speaker was led by «4. Hva sier tjenestene …» (4. Hva sier tjenestene …) says:."""
    from rag.answer.evidence import EvidenceGroup, lead

    document = next(d for d in seed_index.documents.values() if not d.meta.get("authors"))
    group = EvidenceGroup(document, None, (document.title,), [])
    assert lead(group, "en").count("4. Hva sier") == 1 and lead(group, "en").endswith("says:")
    below = EvidenceGroup(document, None, (document.title, "Innledning"), [])
    title = "4. Hva sier tjenestene og brukerorganisasjonene om stigma o…"
    assert lead(below, "no") == f"«{title}» ({title} › Innledning) sier:"


@pytest.mark.parametrize("question", ["Hvor mye koster LAR-behandling per pasient per år?",
                                      "What is the unemployment rate among people in opioid substitution treatment?"])
def test_a_question_for_a_cost_or_a_rate_abstains_when_no_passage_has_one(answerer, question):
    """Answered with "Mer enn 7400 personer er i LAR-behandling": a number, not a cost."""
    assert answerer.ask(question).abstained
