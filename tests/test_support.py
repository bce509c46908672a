"""The support check: numbers across languages, speakers, names, negation and polarity, new words,
similarity, added clauses; and its floors."""
from __future__ import annotations

import numpy as np
import pytest

from rag.answer.evidence import quote_context
from rag.answer.numbers import bears_out, magnitudes_in, numbers_in
from rag.answer.polarity import contradiction
from rag.answer.support import Evidence, SupportChecker
from rag.eval.support import support_figures

QUOTE = "Flere av deltakerne mener politiet er underbemannet."
POLICE = Evidence(1, QUOTE, "4. Hva sier … › Politi: Ressursmangel › Manglende tid og ressurser", "Politi")
# Floors at the measured figures minus a small margin (see README, "How answers are checked").
# The blind cases (the fifteenth set), measured once on 2026-12-05 before their failures were read:
# recall 0.825 (33 of 40), false flags 0.075 (3 of 40); 0.850 and 0.025 after the fixes that
# reading them showed (Norwegian "under-" is no negating "u-", the document's genre names it,
# holding a view reports it). One case is 0.025, so the margin is two cases: a CPU whose rounding
# flips a borderline case does not fail CI, a real regression does.
RECALL_FLOOR = 0.80
FALSE_FLAG_CEILING = 0.075
# All 1,271 labelled cases (measured 0.888 / 0.107); the floor is 0.85 / 0.15.
ALL_CASES_RECALL_FLOOR = 0.875
ALL_CASES_FALSE_FLAG_CEILING = 0.12
# The 164 sentences the local model wrote (measured 0.711 / 0.240), two cases of margin each way.
WRITTEN_RECALL_FLOOR = 0.69
WRITTEN_FALSE_FLAG_CEILING = 0.28
# The 528 sentences it wrote for the fresh questions (measured 0.631 / 0.153), two cases each way.
WRITTEN_FRESH_RECALL_FLOOR = 0.62
WRITTEN_FRESH_FALSE_FLAG_CEILING = 0.166
OPED = "Mer tilbud, ikke mindre politi › Thomas Clausen, Helge Waal"
AUTHORS = "Thomas Clausen, Helge Waal"


@pytest.mark.parametrize("text, language, value", [
    ("10 milliarder kroner", "no", 1e10), ("10 billion kroner", "en", 1e10), ("1 000 pasienter", "no", 1000),
    ("1,000 patients", "en", 1000), ("7 400 personer", "no", 7400), ("1,5 prosent", "no", 1.5),
    ("tre netter", "no", 3), ("twenty years", "en", 20), ("in 2024", "en", 2024)])
def test_numbers_are_read_as_values(text, language, value):
    assert value in numbers_in(text, language)


def test_a_duration_in_the_quotes_also_counts_in_the_other_unit():
    assert 6 in numbers_in("måtte vente i et halvt år", "no", lenient=True)
    assert 2 in numbers_in("i 14 dager", "no", lenient=True)
    assert 72 in numbers_in("i tre døgn", "no", lenient=True)
    assert 6 not in numbers_in("et halvt år", "no")  # a claim states what it states


@pytest.mark.parametrize("text, language, value", [
    ("tilbake til 80-tallet", "no", 1980), ("in the 1980s", "en", 1980), ("for two decades", "en", 20),
    ("en resept til en toåring", "no", 2)])
def test_decades_and_compounds_are_read(text, language, value):
    assert value in numbers_in(text, language, lenient=True)


def test_an_article_before_a_unit_of_time_is_one_of_it_but_not_the_article_of_a_number():
    assert numbers_in("had to wait a whole year", "en") == {1}
    assert numbers_in("måtte vente i over et år", "no") == {1}
    assert numbers_in("twice a year, half a year", "en") == {0.5}
    assert 1 not in numbers_in("måtte vente i et halvt år", "no", lenient=True)  # "et" belongs to "halvt"


def test_a_date_is_its_day_month_and_year():
    assert numbers_in("Se Store norske leksikon, Komorbiditet, 14.12.2023.", "no", lenient=True) == {14, 12, 2023}
    assert numbers_in("dated 14 December 2023", "en") == {14, 2023}


def test_a_number_word_inside_a_compound_is_no_figure():
    assert numbers_in("a one-sided debate", "en") == set()
    assert numbers_in("twenty-five", "en") == {20, 5}


def test_an_order_of_magnitude_is_borne_out_by_a_stated_value_within_it():
    assert magnitudes_in("hundreds of people") == {100: "hundreds"}
    assert magnitudes_in("tens of thousands of patients") == {1e4: "tens of thousands"}
    assert magnitudes_in("hundretusenvis av pasienter") == {1e5: "hundretusenvis"}
    assert magnitudes_in("3 millions") == {} and numbers_in("hundreds of people", "en") == set()
    assert bears_out(1e3, numbers_in("7 400 personer", "no", lenient=True))
    assert bears_out(1e3, numbers_in("flere tusen personer", "no", lenient=True))
    assert bears_out(1e3, numbers_in("tusenvis av mennesker", "no", lenient=True))
    assert not bears_out(100, numbers_in("tusenvis av mennesker", "no", lenient=True))
    assert not bears_out(1e4, numbers_in("tusenvis av mennesker", "no", lenient=True))


@pytest.mark.parametrize("sentence, quote, opposite", [
    ("The participants reject the idea that some staff have poor attitudes.",
     "Deltakerne erkjenner at det finnes dårlige holdninger blant noen ansatte.", ("reject", "erkjenner")),
    ("The participants deny that some staff have poor attitudes.",
     "Deltakerne innrømmer at det finnes dårlige holdninger blant noen ansatte.", ("deny", "innrømmer")),
    ("Few participants have seen positive changes.",
     "Mange deltakere har sett positive endringer.", ("few", "mange")),
])
def test_admitting_and_denying_many_and_few_are_opposites(sentence, quote, opposite):
    assert contradiction(sentence, [quote]) == opposite
    agreeing = sentence.replace("reject the idea", "acknowledge").replace("deny", "admit").replace("Few", "Many")
    assert contradiction(agreeing, [quote]) is None


@pytest.mark.parametrize("sentence, quote", [
    ("Det er nå knapt noen ventetid på slik behandling.", "det er i dag liten eller ingen ventetid på behandling."),
    ("There is barely any waiting time for treatment.", "there is little or no waiting time for treatment."),
])
def test_hardly_any_says_little_or_no(sentence, quote):
    assert contradiction(sentence, [quote]) is None
    assert contradiction(sentence.replace("knapt", "mye").replace("barely any", "a lot of"), [quote])


@pytest.mark.parametrize("sentence, quote", [
    # Norwegian "under-" is not "u-" + "nder-" (no Norwegian word begins "nd", "ng" or "nn")
    ("stigma can stem from both under- and over-medicalisation",
     "stigma både kan komme av under- og oversykeliggjøring."),
    ("young people are drawn to the scene", "scenen tiltrekker seg ungdom"),
])
def test_a_u_that_begins_a_norwegian_word_does_not_negate_it(sentence, quote):
    assert contradiction(sentence, [quote]) is None


@pytest.fixture(scope="module")
def checker(seed_index, embedder):
    return SupportChecker(embedder.encode_queries, seed_index.perspectives)


@pytest.mark.slow
def test_a_faithful_translation_is_supported(checker):
    assert checker.check("Several participants believe the police are understaffed.", [POLICE]).supported


@pytest.mark.slow
@pytest.mark.parametrize("sentence, quote", [
    # "et halvt år" states six months
    ("The psychiatrist had to wait six months for the complaint to be resolved.",
     "I etterkant av hendelsen ble psykiateren klaget inn for helsemyndighetene for uforsvarlig "
     "medikamentforeskrivning, og måtte vente på avklaring i saken i et halvt år."),
    # "manglende" negates as "lack" does: neither side adds a negation
    ("Negative attitudes can come from a lack of knowledge about addiction.",
     "Negative holdninger kan komme fra manglende kunnskap om avhengighet."),
])
def test_faithful_restatements_are_supported(checker, sentence, quote):
    verdict = checker.check(sentence, [Evidence(1, quote)])
    assert verdict.supported, verdict.reason


USERS = "4. Hva sier … › Brukerorganisasjoner"
OPED_QUOTES = {
    "oped": "Utfordringen ligger i dag i første rekke hos kommunene som må tilby adekvat og tilstrekkelig med "
            "behandlings- og omsorgstilbud rettet mot rusmiddelavhengige personer.",
    "oped-lar": "Dette tilbudet er nå blitt langt mer tilgjengelig og det er i dag liten eller ingen ventetid på "
                "denne typen behandling.",
}


@pytest.mark.slow
@pytest.mark.parametrize("sentence, evidence", [
    # "One user representative": a "one" that picks out the speaker is no figure
    ("One user representative says opioid-dependent people got patient rights in 2004.",
     Evidence(1, "Vi fikk pasientrettigheter i 2004. Og da var det opioidavhengige.", USERS, "Brukerorganisasjoner")),
    # a decade, and "ikke lenger enn" is a bound, not a negation
    ("A participant recalls that back in the 1980s it was suggested they should be sent to Bjørnøya.",
     Evidence(1, "Vi skal ikke lenger enn tilbake til 80-tallet [det ble foreslått at vi] skulle sendes til "
                 "Bjørnøya eller hva det var.", USERS, "Brukerorganisasjoner")),
    # "two decades" = "20 år"; "not simply" = "ikke bare"
    ("The answer is not simply to give someone who has been heroin-dependent for two decades the benzos they want.",
     Evidence(1, "så er det jo ikke bare [å] gi dem som har vært heroinavhengig i 20 år den benzoen og morfinen "
                 "de vil", USERS, "Brukerorganisasjoner")),
    # "the wrong dose" says "ikke ... rett dose" without a negation word
    ("Some participants have seen patients with addiction take medicines at the wrong dose or frequency, combine "
     "them with other drugs, or miss appointments.",
     Evidence(1, "Noen av deltakerne har erfart at en del pasienter med rusavhengighet ikke tar medisiner i rett "
                 "dose eller hyppighet, kombinerer medisinene med andre rusmidler, eller ikke møter opp på timer.",
              "Helsepersonell", "Helsepersonell")),
    # "undiagnosed" negates what "udiagnostisert" negates
    ("A participant says this leaves thousands of people undiagnosed and untreated.",
     Evidence(1, "Det gjør at tusenvis av mennesker går udiagnostisert og uten en behandling og med store "
                 "rusutfordringer.", USERS, "Brukerorganisasjoner")),
    # a "one" that names the speaker, however many words the speaker takes
    ("According to one police officer, many of these people are very hard to reach afterwards: they have no "
     "fixed address, don't answer the police or won't come for questioning.",
     Evidence(1, "Mange av disse menneskene er fryktelig vanskelige å få tak i etterpå, fordi de er uten fast "
                 "bopel, de svarer ikke politiet eller vil ikke komme til avhør.", "Politi", "Politi")),
    # the byline's affiliation names the authors too
    ("Thomas Clausen and Helge Waal of SERAF argue that today the challenge lies mainly with the "
     "municipalities, which must offer adequate and sufficient treatment and care for people with drug "
     "addiction.", "oped"),
    # the sentence says the quote's "«jaget» ikke" as "drev ikke med jaging", so its "Byene" elsewhere does
    # not contradict "ikke byens"
    ("Byene tolererte ikke åpent salg eller sprøytebruk i ansamlinger, men så på opioidavhengighet som en "
     "sykdom med rett til behandling, og politiet drev ikke med jaging av de rusavhengige.",
     Evidence(1, "Det ble vist nulltoleranse for åpenlys omsetning av stoff eller injisering i ansamlinger (åpne "
                 "rus-scener), men opioid avhengighet ble sett på som en sykdom med rett til behandling. Politiet "
                 "«jaget» ikke byens rusmiddelavhengige personer rundt", OPED, AUTHORS)),
    # the document's genre names it: "kronikken" is the op-ed the quote stands in
    ("Ifølge kronikken er denne behandlingen blitt lettere å få, med kort eller ingen ventetid.", "oped-lar"),
    ("Kronikkforfatterne skriver at tilbudet nå er mye lettere å få, og at ventetiden i dag er kort eller ingen.",
     "oped-lar"),
    # the police are who the quote speaks of, not who speaks: no reporting verb names a speaker
    ("Police in one city do not want to get out of the car and look after the group.",
     Evidence(1, "som ikke ønsker å gå ut av bilen og ivareta gruppen på [et åpent rusmiljø]", USERS,
              "Brukerorganisasjoner")),
])
def test_rewordings_that_once_were_flagged_are_supported(checker, sentence, evidence, seed_index):
    if evidence in OPED_QUOTES:  # where the quote stands: the op-ed, under its byline
        document = next(d for d in seed_index.documents.values() if d.meta.get("affiliation"))
        evidence = Evidence(1, OPED_QUOTES[evidence], quote_context(document, (document.title,)), AUTHORS)
    verdict = checker.check(sentence, [evidence])
    assert verdict.supported, verdict.reason


@pytest.mark.parametrize("sentence, speaker_words, content", [
    ("The police say they lack resources.", ["The", "police"], "they lack resources."),
    ("According to the police, resources are scarce.", ["According", "to", "the", "police"],
     "resources are scarce."),
    ("The police lack resources, according to health personnel.", ["according", "to", "health", "personnel"],
     "The police lack resources, according to health personnel."),
    ("Politiet mener at de mangler ressurser.", ["Politiet"], "de mangler ressurser."),
    ("The police lack resources.", [], "The police lack resources."),
    # A speaker set off by commas, after or before the verb: what is reported is the rest.
    ("To personer må alltid gå sammen, forteller en deltaker, og tøyvask er begrenset.", ["en", "deltaker"],
     "To personer må alltid gå sammen, og tøyvask er begrenset."),
    ("Experience from a hospice helps, one participant says, and should be required.", ["one", "participant"],
     "Experience from a hospice helps, and should be required."),
    # A comma after an opening phrase sets off no speaker; a first word is no reporting verb.
    ("Afterwards the psychiatrist told colleagues he would never do it again.", ["Afterwards", "the", "psychiatrist"],
     "colleagues he would never do it again."),
    ("In the police group, one participant says that they lack time.",
     ["In", "the", "police", "group", "one", "participant"], "they lack time."),
    # holding a view reports it; sharing an office does not
    ("The health personnel share a general view that the police come in with force.", ["The", "health", "personnel"],
     "the police come in with force."),
    ("Helsepersonellet deler oppfatningen at politiet kommer inn med makt.", ["Helsepersonellet"],
     "politiet kommer inn med makt."),
    ("The two services share an office in the city centre.", [], "The two services share an office in the city centre."),
])
def test_a_frame_names_the_speaker_and_what_is_reported(sentence, speaker_words, content):
    from rag.answer.clauses import WORD, frame

    found = frame(sentence)
    words = WORD.findall(sentence)
    assert [words[i] for i in found.speaker if i < len(words)] == speaker_words and found.content == content


@pytest.mark.slow
def test_a_speaker_named_anywhere_before_the_reporting_verb_is_checked(checker):
    nav = Evidence(1, "[Nav] er rigget for folk som er på innsiden, rigget for folk som får det til.", USERS,
                   "Brukerorganisasjoner")
    verdict = checker.check("The psychiatrist in the health personnel group says Nav is rigged for insiders.", [nav])
    assert verdict.support == "unsupported" and "not «Helsepersonell»" in verdict.reason, verdict.reason


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
@pytest.mark.parametrize("sentence, evidence, reason", [
    # negation scope: both texts negate, but the quote negates the drug users being chased
    ("Politiet jager rusavhengige og gir dem ikke noe tilbud.",
     Evidence(1, "Politiet jager ikke rusavhengige, men viser dem til behandlingstilbud.", OPED, "Politi"),
     "says «rusavhengige» where source [1] says «ikke rusavhengige»"),
    # antonyms across languages
    ("The participants find that gathering evidence in such cases is usually easy.",
     Evidence(1, "Deltakerne opplever at det ofte er vanskelig å innhente bevis i slike saker.", "Politi", "Politi"),
     "says «easy» where source [1] says «vanskelig»"),
    # a negating prefix
    ("Byene hadde fortsatt ukontrollerte åpne rus-scener.",
     Evidence(1, "Byene hadde fått kontroll med de åpne rus-scenene.", OPED, AUTHORS),
     "says «ukontrollerte» where source [1] says «kontroll»"),
    # the byline knows Helge Waal, but the quote says Per Fugelli did it
    ("In January, Helge Waal was outraged by the situation at Guneriushjørnet.",
     Evidence(1, "I januar forarget Per Fugelli seg over situasjonen på Guneriushjørnet.", OPED, AUTHORS),
     "names «Per Fugelli», not «Helge Waal»"),
    # same language, mostly words the quote lacks
    ("Deltakerne mener politiet er underbemannet fordi regjeringen har kuttet budsjettene og nedlagt "
     "lensmannskontorer.", POLICE, "does not mention «regjeringen», «kuttet»"),
    # a faithful sentence with an invented clause: it is more similar to the quote without it
    ("Several participants believe the police are understaffed, and they want the police academy to double "
     "its intake.", POLICE, "does not say «and they want the police academy to double its intake»"),
    ("Several participants believe the police are understaffed because of the police reform.", POLICE,
     "does not say «because of the police reform»"),
    # a year is not half a year
    ("The psychiatrist had to wait a whole year before the case was cleared up.",
     Evidence(1, "psykiateren [...] måtte vente på avklaring i saken i et halvt år.", "Helsepersonell",
              "Helsepersonell"), "number 1 is not in source [1]"),
])
def test_contradictions_and_additions_get_a_reason(checker, sentence, evidence, reason):
    verdict = checker.check(sentence, [evidence])
    assert verdict.support == "unsupported" and reason in verdict.reason, verdict.reason


@pytest.mark.slow
def test_detection_on_the_labelled_cases_stays_above_its_floor(checker, seed_index):
    figures = support_figures(checker, seed_index)
    assert figures["all"]["cases"] >= 600 and figures["test"]["unsupported"] >= 40
    assert figures["test"]["recall"] >= RECALL_FLOOR, figures["test"]
    assert figures["test"]["false_flags"] <= FALSE_FLAG_CEILING, figures["test"]
    assert figures["all"]["recall"] >= ALL_CASES_RECALL_FLOOR, figures["all"]
    assert figures["all"]["false_flags"] <= ALL_CASES_FALSE_FLAG_CEILING, figures["all"]
    assert figures["written"]["unsupported"] >= 100, figures["written"]
    assert figures["written"]["recall"] >= WRITTEN_RECALL_FLOOR, figures["written"]
    assert figures["written"]["false_flags"] <= WRITTEN_FALSE_FLAG_CEILING, figures["written"]
    fresh = figures["written_fresh"]
    assert fresh["unsupported"] >= 300, fresh
    assert fresh["recall"] >= WRITTEN_FRESH_RECALL_FLOOR, fresh
    assert fresh["false_flags"] <= WRITTEN_FRESH_FALSE_FLAG_CEILING, fresh


def test_the_checker_encodes_each_text_once_and_forgets_the_oldest():
    from rag.embedding.remembered import RememberedEncoder

    calls = []

    def encode(texts):
        calls.append(list(texts))
        return np.array([[len(text), 1.0] for text in texts], dtype=np.float32)

    remembered = RememberedEncoder(encode, size=3)
    first = remembered(["a", "bb", "a"])
    assert calls == [["a", "bb"]] and first.tolist() == [[1, 1], [2, 1], [1, 1]]
    assert remembered(["bb", "ccc"]).tolist() == [[2, 1], [3, 1]] and calls[-1] == ["ccc"]
    remembered(["dddd"])
    assert "a" not in remembered.vectors and len(remembered.vectors) == 3
    assert remembered([]).shape[0] == 0


@pytest.mark.slow
def test_hundreds_is_not_what_thousands_states(checker):
    quote = Evidence(1, "Det gjør at tusenvis av mennesker går udiagnostisert og uten en behandling og med store "
                        "rusutfordringer.", "Helsepersonell", "Helsepersonell")
    wrong = checker.check("The psychiatrist says hundreds of people go undiagnosed and untreated.", [quote])
    assert wrong.support == "unsupported" and "number hundreds is not in source [1]" in wrong.reason, wrong.reason
    right = checker.check("The psychiatrist says thousands of people go undiagnosed and untreated.", [quote])
    assert right.supported, right.reason


@pytest.mark.parametrize("sentence, amount", [
    ("Only one of the health-personnel participants says ethical issues arise.", "one"),
    ("Several of the participants believe practice-based knowledge helps.", "some"),
    ("Flere av deltakerne i politiets fokusgruppe tror at dette er et problem.", "some"),
    ("Every participant in the police focus group feels that much has improved.", "all"),
    ("The majority of the participants say so.", "most"),
    ("En annen mener at det er krevende.", "one"),
    ("The participants say so.", None), ("She believes it is hard.", None),
    ("Flere steder sier de at vi ikke skal være der.", None),  # several places, not several people
])
def test_the_speaker_is_counted_as_one_some_most_or_all(sentence, amount):
    from rag.answer.counts import speaker_amount

    found = speaker_amount(sentence)
    assert (found[0] if found else None) == amount


def test_a_quote_without_a_reporting_verb_may_still_count_its_speakers():
    from rag.answer.counts import quoted_amounts

    counted = quoted_amounts("Det er en opplevelse blant flere om at mye har gått i rett retning.")
    assert counted == {"some": "blant flere"}
    assert set(quoted_amounts("Flere av deltakerne opplever at det er vanskelig. En mener at det er lett.")) == {
        "some", "one"}


@pytest.mark.parametrize("sentence, blanked", [
    ("The op-ed has two authors, Thomas Clausen and Helge Waal, both at SERAF.", True),
    ("Rapporten oppgir to grunner: kapasitetshensyn, og at disse områdene kom mest opp.", True),
    ("The user representative says the media show three things: a dirty hand, a street full of rubbish and a "
     "syringe.", True),
    ("The report gives three reasons: capacity and time.", False),  # lists two: a wrong count
    ("Research that won two Nobel prizes shows that the earlier you intervene, the cheaper the effort.", False),
])
def test_a_count_of_the_sentences_own_list_is_not_a_figure_to_find_in_the_quotes(sentence, blanked):
    from rag.answer.counts import self_listed

    assert (self_listed(sentence) != sentence) == blanked


def test_roles_swapped_between_sentence_and_quote_are_found():
    from rag.answer.roles import swapped_roles

    quote = "Deltakeren opplever også kommunens midlertidige botilbud for rusavhengige som stigmatiserende:"
    claim = "The participant finds the state's temporary housing for drug users stigmatising."
    assert swapped_roles(claim, quote, claim) == ("the state", "kommunens")
    faithful = claim.replace("the state's", "the municipality's")
    assert swapped_roles(faithful, quote, faithful) is None
    # The sentence's speaker names the police the quote speaks of: no swap.
    assert swapped_roles("they are understaffed, which users may find hard", "politiet er underbemannet",
                         "Police participants say they are understaffed, which users may find hard") is None
    # "brukerorganisasjonene" names no users; "politisk" is no police.
    assert swapped_roles("the user organisations and political parties", "brukerorganisasjonene og politiske partier",
                         "x") is None


def test_a_reporting_verb_after_an_article_is_a_noun():
    from rag.answer.clauses import frame

    sentence = "The participant also finds the state’s temporary housing stigmatising."
    assert frame(sentence).speaker == range(0) and frame(sentence).content == sentence


@pytest.mark.parametrize("sentence, quote, opposite", [
    ("Flere mener negative holdninger sjelden skyldes manglende kunnskap.",
     "Flere mener at negative holdninger ofte kan komme fra manglende kunnskap.", ("sjelden", "ofte")),
    ("One health professional finds it fairly easy to balance the risk.",
     "Hvordan skal man balansere risikoen? Kjempevanskelig.", ("easy", "kjempevanskelig")),
])
def test_rarely_meets_often_and_an_intensified_antonym_is_read(sentence, quote, opposite):
    assert contradiction(sentence, [quote]) == opposite


@pytest.mark.slow
@pytest.mark.parametrize("sentence, quote, perspective, reason", [
    ("Only one of the health-personnel participants says ethical issues arise in particular with medication.",
     "Flere av deltakerne opplever at det særlig dukker opp etiske problemstillinger i behandlingen når det gjelder "
     "medisinering av pasienter med rusavhengighet.", "Helsepersonell",
     "says «Only one» where source [1] says «Flere»"),
    ("Another participant says this raises questions of how much risk patients themselves should accept.",
     "En annen mener at det i slike sammenhenger dukker opp krevende problemstillinger knyttet til hvor stor grad av "
     "risiko man skal akseptere som helsepersonell:", "Helsepersonell",
     "speaks of «patients» where source [1] speaks of «helsepersonell»"),
])
def test_a_miscounted_speaker_and_a_swapped_actor_are_unsupported(checker, sentence, quote, perspective, reason):
    verdict = checker.check(sentence, [Evidence(1, quote, perspective, perspective)])
    assert verdict.support == "unsupported" and reason in verdict.reason, verdict.reason
    assert checker.check(sentence.replace("Only one of", "Several of").replace("patients themselves",
                                                                              "health personnel"),
                         [Evidence(1, quote, perspective, perspective)]).supported


@pytest.mark.slow
def test_a_count_its_sentence_lists_and_a_participant_counted_as_one_are_supported(checker):
    quote = Evidence(1, "Tjenesteområdene ble valgt av kapasitetshensyn, og fordi det var disse områdene som kom mest "
                        "opp i intervjuene.", "", "")
    verdict = checker.check("Tjenesteområdene ble valgt av to grunner: kapasitetshensyn, og at det var disse områdene "
                            "som kom mest opp i intervjuene.", [quote])
    assert verdict.supported, verdict.reason
    verdict = checker.check("Én deltaker i helsepersonellgruppen kjenner seg igjen i informantenes historier.",
                            [Evidence(1, "En av deltakerne kjenner seg godt igjen i informantenes historier.", "", "")])
    assert "number" not in verdict.reason


def test_a_number_joined_to_a_unit_of_time_is_a_figure():
    assert numbers_in("antibiotics for a four-year-old", "en") == {4}
    assert numbers_in("a two-day course", "en") == {2}
    assert numbers_in("a one-sided picture", "en") == set()


def test_a_capital_that_opens_quoted_speech_is_no_name():
    from rag.answer.support import NAME

    assert NAME.findall("A police participant states: 'We have a mandate from Oslo.'") == ["Oslo"]
    assert NAME.findall("«Vi har et samfunnsoppdrag», sier Politiet") == ["Politiet"]


def test_a_capital_after_any_opening_quote_mark_is_no_name():
    from rag.answer.support import NAME

    assert NAME.findall("Respect means seeing 'Have we understood each other?' in Oslo") == ["Oslo"]


def test_one_as_a_pronoun_states_no_figure():
    from rag.answer.counts import figures_of

    assert "one" not in figures_of("There was no acceptance of crime, even if one was ill.")
    assert "one" in figures_of("After one year, if one participant leaves, one is left.")


@pytest.mark.parametrize("sentence, quote", [
    ("People who use drugs are seen as dangerous and incapable.", "De anses som farlige og mangler evner."),
    ("The authors reject chasing as a means.", "«Jaging» er selvsagt ikke noe akseptabelt virkemiddel."),
])
def test_a_negation_in_other_words_is_a_negation(sentence, quote):
    from rag.answer.polarity import negates

    assert negates(sentence) and negates(quote)


def test_the_same_meets_different():
    assert contradiction("Helsepersonell og pasienter deler samme virkelighetsforståelse.",
                         ["Helsepersonell og pasienter kan ha helt ulike virkelighetsforståelser."]) == ("samme", "ulike")


@pytest.mark.parametrize("claim, quote, swapped", [
    # the welfare administration
    ("he has seen documents from police specialists with objectionable language",
     "Jeg har sett dokumenter fra spesialister i Nav hvor det er brukt kritikkverdig språk.", ("police", "Nav")),
    # those who decide and those who know
    ("there had been many and partly different approaches, the researchers learned from local politicians",
     "Vi lærte fra fagfolkene i disse byene at det hadde vært mange og til dels ulike tilnærminger",
     ("politicians", "fagfolkene")),
])
def test_an_actor_swapped_for_another_is_found(claim, quote, swapped):
    from rag.answer.roles import swapped_roles

    assert swapped_roles(claim, quote, claim) == swapped


def test_a_speaker_named_by_according_at_the_end_of_a_short_sentence_stays_within_it():
    from rag.answer.clauses import WORD, frame
    from rag.answer.counts import speaker_amount

    sentence = "Just under 7,400 people are in LAR treatment at present, according to the authors."
    words = WORD.findall(sentence)
    assert [words[i] for i in frame(sentence).speaker] == ["according", "to", "the", "authors"]
    assert speaker_amount(sentence) is None  # read without an IndexError


def test_a_bound_turned_the_other_way_is_found():
    from rag.answer.numbers import flipped_bound

    assert flipped_bound("Just under 7,400 people are in LAR", "Mer enn 7400 personer er i LAR-behandling") == (
        "Just under 7,400", "Mer enn 7400")
    assert flipped_bound("More than 7,400 people", "Mer enn 7400 personer") is None
    assert flipped_bound("About 7,400 people", "Mer enn 7400 personer") is None


def test_a_word_that_begins_like_a_negating_prefix_is_read_whole():
    from rag.answer.polarity import negates

    quote = "Hjelpetiltak ble utvidet, men tiltakene var ikke konsentrert på den åpne rus-scenen."
    assert not negates("De utvidede tiltakene ble lagt til den åpne rus-scenen.", against=quote)


@pytest.mark.slow
def test_a_nationality_is_found_in_a_norwegian_compound(checker):
    quote = "Slike åpne rus-scener er uønsket av mange grunner. De er heller ikke noe særnorsk fenomen."
    verdict = checker.check("Such open drug scenes are undesirable for many reasons. Nor are they a specifically "
                            "Norwegian phenomenon.", [Evidence(1, quote, OPED, AUTHORS)])
    assert "Norwegian" not in verdict.reason


@pytest.mark.parametrize("sentence, speaker_words", [
    # A past tense reports too; a Norwegian verb may report only with its particle.
    ("A police participant explained that officers stay in their cars.", ["A", "police", "participant"]),
    ("Helsepersonellet trekker frem at man ofte mister førerkortet.", ["Helsepersonellet"]),
    ("Politiet trekker seg tilbake fra rus-scenen.", []),
    # In the passive, a reporting verb names no speaker before it.
    ("A mismatch in understanding each other's reality is described, and it runs both ways.", []),
    # Admitting and calling for report too ("called for" only with its particle).
    ("Brukerorganisasjonene medgir at det stemmer av og til.", ["Brukerorganisasjonene"]),
    ("The police participants admitted that they often sit in their cars.", ["The", "police", "participants"]),
    ("The user organisations called for continued work against prejudice.", ["The", "user", "organisations"]),
    ("Politiet ber om flere ressurser til forebygging.", ["Politiet"]),
    ("The police called the ambulance at once.", []),
])
def test_past_tenses_particles_and_the_passive_are_read_as_reporting_or_not(sentence, speaker_words):
    from rag.answer.clauses import WORD, frame

    words = WORD.findall(sentence)
    assert [words[i] for i in frame(sentence).speaker] == speaker_words


def test_a_negation_does_not_reach_past_a_preposition_after_what_it_negates():
    quote = "Slike åpne rus-scener er ikke ønskelig av mange grunner."
    assert contradiction("They are undesirable for many reasons.", [quote]) is None
    assert contradiction("Slike scener er ønskelig av flere grunner.", [quote]) == ("ønskelig", "ikke ønskelig")


def test_a_quote_that_speaks_as_we_names_its_own_perspective():
    from rag.answer.roles import swapped_roles

    # "Vi" in the police focus group is the police: naming them is no swap.
    police = "The police try to take their time because they depend on good dialogue in the open drug scenes."
    quote = ("Vi prøver å ta oss god tid, fordi vi er avhengige av å ha god dialog med mange av brukerne i de åpne "
             "rusmiljøene.")
    assert swapped_roles(police, quote, police, perspective="Politi") is None
    assert swapped_roles(police, quote, police) == ("police", "brukerne")
    # A speaker who says "I" of what others do does not make them the speaker's own group.
    claim = "he has seen documents from hospital specialists using reprehensible language"
    quote = "Jeg har for eksempel sett dokumenter fra spesialister i Nav hvor det er brukt språk som er kritikkverdig."
    assert swapped_roles(claim, quote, claim, perspective="Helsepersonell") == ("hospital", "Nav")


def test_both_and_each_other_bear_out_two_when_the_quotes_are_read():
    quote = "Det er en mismatch i forståelse av hverandres virkelighet. Og det går jo begge veier."
    assert 2 in numbers_in("Det er en mismatch i forståelse av hverandres virkelighet.", "no", lenient=True)
    assert 2 in numbers_in("It runs both ways.", "en", lenient=True)
    assert 2 not in numbers_in(quote, "no")


def test_an_understatement_renders_a_negation():
    from rag.answer.polarity import negates

    assert negates("Det er lite konstruktivt å se politiet som en overgriper.")
    assert negates("It is of little use to cast the police as an abuser.")


@pytest.mark.slow
def test_a_quoted_title_is_the_sources_words_not_the_sentences_negation(checker):
    byline = Evidence(1, "Thomas Clausen og Helge Waal, Senter for Rus- og Avhengighetsforskning - SERAF, "
                         "Universitetet i Oslo", OPED, AUTHORS)
    verdict = checker.check('Thomas Clausen and Helge Waal wrote the op-ed "Mer tilbud, ikke mindre politi".', [byline])
    assert "negat" not in verdict.reason, verdict.reason
    # Nor is its "ikke mindre politi" the opposite of a quote's "politiet".
    lead = Evidence(2, "For å bistå politiet i å håndtere dem, må kommunene stille med gode behandlings- og "
                       "omsorgstilbud.", OPED, AUTHORS)
    verdict = checker.check('Thomas Clausen and Helge Waal wrote the op-ed "Mer tilbud, ikke mindre politi".',
                            [lead, byline])
    assert "ikke mindre" not in verdict.reason, verdict.reason
    # A negation of the sentence's own outside the quotation marks still counts.
    verdict = checker.check('Thomas Clausen and Helge Waal did not write "Mer tilbud, ikke mindre politi".', [byline])
    assert "negates" in verdict.reason, verdict.reason
