"""Who does what in a sentence: the actors of public policy, in English and Norwegian.

A small model that renders a quote keeps its topic and often swaps its actors: "how health
personnel approach their encounters" for "hvordan man som pasient går inn i møter", "the
state's temporary housing" for "kommunens midlertidige botilbud", "mange behandlere" for "mange
pasienter". The sentence stays close to its quote, so the similarity test lets it through. Read
as roles, the swap is plain: the sentence names a role its quotes do not, and the quotes name
one the sentence does not. Either alone is no swap (a sentence may name who "they" are, or
leave out who is spoken to), so `swapped_roles` asks for both.

The roles are the generic actors of public services (police, health services, the people they
serve, municipality, state, user organisations, welfare services, child welfare, politicians,
professionals, courts), not a corpus's own
headings: those are the speaker test's business (`rag.retrieval.perspective`).
"""
from __future__ import annotations

import re

ROLES = {
    # Before "clients": a user organisation is not a user.
    "user organisations": r"user[- ]organi[sz]ations?|brukerorganisasjon\w*|interest organi[sz]ations?|"
                          r"interesseorganisasjon\w*",
    # "politisk", "politiker", "politikk", "political" are politics, not the police.
    "police": r"politi(?!sk|ker|kk|c)\w*|police\w*|officers?|betjent\w*|lensmann\w*",
    "health services": r"helsepersonell\w*|health[- ]?(?:care )?(?:personnel|workers?|professionals?|services?|"
                       r"system|care|sector)|healthcare|clinicians?|doctors?|physicians?|nurses?|therapists?|"
                       r"psychiatrists?|leger?|legen|legene|fastleg\w*|sykepleier\w*|psykiater\w*|behandlere|"
                       r"behandlerne|behandleren|helsevesen\w*|helsetjenest\w*|helsearbeider\w*|hjelpeapparat\w*|"
                       r"behandlingsapparat\w*|tjenesteapparat\w*|support services|treatment system|"
                       r"hospitals?|sykehus\w*",
    "people served": r"pasient\w*|patients?|rusavhengig\w*|rusbruker\w*|brukere|brukerne|users?|drug users?|"
                     r"addicts?|klient\w*|clients?|people who use drugs|people with (?:an )?addiction",
    "municipality": r"kommune\w*|kommunal\w*|municipal\w*|local authorit\w*",
    "state": r"staten|statens|statlig\w*|the state|state['’]s|state-\w+|government\w*|regjering\w*|ministr\w*|"
             r"departement\w*|direktorat\w*|directorates?",
    "welfare services": r"nav|navs|welfare (?:services?|offices?|administration)|velferdsetat\w*|sosialtjenest\w*|"
                        r"sosialvesen\w*|sosialetat\w*|social services?|social security",
    "child welfare": r"barnevern\w*|child welfare|child protection",
    # Those who decide and those who know: "local politicians" is not "fagfolkene".
    "politicians": r"politiker\w*|lokalpolitiker\w*|politicians?",
    "professionals": r"fagfolk\w*|fagperson\w*|professionals?|experts?|eksperte?r?\w*",
    "courts": r"domstol\w*|courts?|påtalemyndighet\w*|prosecut\w*|judges?|dommer(?:e|en|ne)?",
}
ROLE_PATTERNS = {role: re.compile(r"\b(?:%s)\b" % pattern, re.IGNORECASE) for role, pattern in ROLES.items()}
# A quote that speaks as "we" speaks as its perspective: "Vi prøver å ta oss god tid" in the
# police focus group is the police taking their time. ("I" is one speaker, not the group.)
WE = re.compile(r"\b(?:vi|oss|vår|vårt|våre|we|us|our|ours)\b", re.IGNORECASE)


def roles_in(text: str) -> dict[str, str]:
    """{role: the first words that name it} for each role `text` names."""
    found = {}
    for role, pattern in ROLE_PATTERNS.items():
        match = pattern.search(text)
        if match:
            found[role] = match.group(0)
            text = pattern.sub(" ", text)  # "brukerorganisasjonene" names no users
    return found


def swapped_roles(content: str, quotes: str, sentence: str, perspective: str = "") -> tuple[str, str] | None:
    """(words of the sentence, words of the quotes) when what a sentence reports (`content`)
    names a role the quotes do not, and the quotes name one the whole sentence does not (its
    speaker included: "Police participants say they are understaffed" for "politiet er
    underbemannet"). `perspective` labels where the quotes stand: quotes that speak as "we"
    speak as it, so naming it is no swap."""
    said, quoted = roles_in(content), roles_in(quotes)
    speaking = roles_in(perspective) if WE.search(quotes) else {}
    added = [role for role in said if role not in quoted and role not in speaking]
    if not added:  # the common case: read the whole sentence only when it can matter
        return None
    named = roles_in(sentence)
    left_out = [role for role in quoted if role not in named]
    return (said[added[0]], quoted[left_out[0]]) if left_out else None
