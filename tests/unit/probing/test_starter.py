"""The CLDR starter probe set: coverage of the study languages, clean-up rules, babel quirks."""

from __future__ import annotations

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import STUDY_LANGUAGES
from bridgex_chain.probing.starter import aligned_entries, cldr_locale, starter_probe_set

MIN_PAIRS_VS_ENGLISH = 100  # the thinnest language (Tagalog) has 143


def test_cldr_locales():
    assert cldr_locale("tgl_Latn") == "fil"
    assert [cldr_locale(c) for c in ("zh", "he", "id", "pt")] == ["zh", "he", "id", "pt"]


def test_starter_covers_all_study_languages():
    ps = starter_probe_set()
    assert ps.name == "cldr-starter-v1"
    assert set(ps.languages) == set(STUDY_LANGUAGES)
    counts = ps.pair_counts()
    assert len(ps.directions()) == 15 * 14
    for lang in STUDY_LANGUAGES:
        if lang != "eng_Latn":
            assert counts[(lang, "eng_Latn")] >= MIN_PAIRS_VS_ENGLISH, lang
            assert counts[("eng_Latn", lang)] >= MIN_PAIRS_VS_ENGLISH, lang
    assert min(counts.values()) >= MIN_PAIRS_VS_ENGLISH
    assert starter_probe_set(reversed(STUDY_LANGUAGES)) is ps  # cached per language set
    assert starter_probe_set().content_hash == ps.content_hash
    for lang in STUDY_LANGUAGES:
        assert len(ps.corpus(lang)) >= 8  # 16 terms a text


def test_starter_content_and_cleanup():
    ps = starter_probe_set()
    sw_en = dict(ps.word_pairs("sw", "en"))
    assert sw_en["jumatatu"] == "monday"  # stand-alone weekday, lowercased
    assert sw_en["ishirini na moja"] == "twenty-one"  # unicode-rbnf number words
    assert sw_en["januari"] == "january"
    assert dict(ps.word_pairs("fi", "en"))["tammikuu"] == "january"  # not "tammikuuta"
    assert dict(ps.word_pairs("de", "fr"))["montag"] == "lundi"
    assert dict(ps.word_pairs("zh", "ja"))["星期一"] == "月曜日"
    tl_en = ps.word_pairs("tl", "en")
    assert ("isa", "one") in tl_en  # Tagalog dictionary accents removed
    for pairs in ps.pairs.values():
        for src, trg in pairs:
            assert src.casefold() != trg.casefold()
            assert not set("()[],;/") & set(src + trg)
            assert src == src.lower() and trg == trg.lower()


def test_starter_drops_untranslated_english_names():
    entries = aligned_entries(["tl", "en", "de"])
    # CLDR 'fil' copies many English names; none of them may survive for Tagalog
    for key, terms in entries.items():
        if key.split(":")[0] in ("language", "territory", "currency") and "tgl_Latn" in terms:
            english = terms.get("eng_Latn", "").replace("&", "and")
            assert terms["tgl_Latn"] != english, key
    assert entries["territory:DE"]["deu_Latn"] == "deutschland"


def test_starter_immune_to_babel_alias_cache():
    from babel.dates import get_day_names

    # Reading Swahili stand-alone names first makes babel return them for other locales.
    get_day_names("wide", context="stand-alone", locale="sw")
    entries = aligned_entries(["de", "fr", "sw"])
    assert entries["day:0"] == {"deu_Latn": "montag", "fra_Latn": "lundi", "swh_Latn": "jumatatu"}


def test_starter_unknown_locale():
    with pytest.raises(ProbeDataError, match="MUSE"):
        starter_probe_set(["en", "ace_Latn"])  # Acehnese: in FLORES, not in CLDR


def test_starter_source_names_the_data_and_its_licences():
    ps = starter_probe_set(["sw", "en"])
    assert ps.languages == ("eng_Latn", "swh_Latn")
    assert "Unicode License v3" in ps.source and "unicode-rbnf" in ps.source and "MIT" in ps.source
    assert ps.directions() == [("eng_Latn", "swh_Latn"), ("swh_Latn", "eng_Latn")]
    # a sub-set is the same data: its pairs are the full set's pairs for those languages
    full = starter_probe_set()
    assert ps.word_pairs("sw", "en") == full.word_pairs("sw", "en")
