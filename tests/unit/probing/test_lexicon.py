from __future__ import annotations

import logging

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import STUDY_LANGUAGES
from bridgex_chain.probing.lexicon import (
    ProbeSet,
    load_muse_dir,
    probe_prompt,
    read_muse_file,
)
from bridgex_chain.probing.starter import aligned_entries, cldr_locale, starter_probe_set

MIN_PAIRS_VS_ENGLISH = 100  # the thinnest language (Tagalog) has 143


def _write(path, lines, encoding="utf-8"):
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


# ---------------------------------------------------------------------------- prompts


def test_prompt_format_is_exact():
    assert probe_prompt("sw", "en", "maji") == 'Swahili:"maji"→English:'
    assert probe_prompt("zho_Hans", "jpn_Jpan", "水") == 'Chinese:"水"→Japanese:'
    assert probe_prompt("fil", "heb_Hebr", "tubig") == 'Tagalog:"tubig"→Hebrew:'


def test_prompts_group_targets_and_sample():
    ps = ProbeSet.from_pairs(
        "t",
        {("en", "de"): [("the", "der"), ("the", "die"), ("water", "wasser"), ("fire", "feuer")]},
    )
    prompts = ps.prompts("eng_Latn", "deu_Latn")
    assert [p.text for p in prompts] == [
        'English:"fire"→German:',
        'English:"the"→German:',
        'English:"water"→German:',
    ]
    assert prompts[1].targets == ("der", "die")
    assert (prompts[1].src, prompts[1].trg, prompts[1].word) == ("eng_Latn", "deu_Latn", "the")
    sub = ps.prompts("en", "de", max_prompts=2, seed=3)
    assert len(sub) == 2 and sub == ps.prompts("en", "de", max_prompts=2, seed=3)
    assert all(p in prompts for p in sub)
    with pytest.raises(ProbeDataError, match="no word pairs"):
        ps.prompts("de", "en")


def test_chat_entry_uses_every_prompt_involving_the_language():
    ps = ProbeSet.from_pairs(
        "t",
        {
            ("sw", "en"): [("maji", "water")],
            ("en", "sw"): [("fire", "moto")],
            ("fr", "sw"): [("eau", "maji")],
            ("fr", "en"): [("feu", "fire")],
        },
    )
    chat = ps.prompt_texts("swh_Latn", "swh_Latn")
    assert chat == [
        'English:"fire"→Swahili:',
        'French:"eau"→Swahili:',
        'Swahili:"maji"→English:',
    ]
    assert 'French:"feu"→English:' not in chat
    assert len(ps.prompts("en", "en")) == 3


def test_from_pairs_cleans_and_normalises():
    ps = ProbeSet.from_pairs(
        "t",
        {("sw", "en"): [(" maji ", "water"), ("maji", "water"), ("", "x"), ("taxi", "Taxi")]},
        terms={"fi": ["vesi"]},
    )
    assert ps.word_pairs("swh_Latn", "eng_Latn") == (("maji", "water"),)
    assert ps.terms == {"eng_Latn": ("water",), "fin_Latn": ("vesi",), "swh_Latn": ("maji",)}
    assert ps.languages == ("eng_Latn", "fin_Latn", "swh_Latn")
    kept = ProbeSet.from_pairs("t", {("sw", "en"): [("taxi", "taxi")]}, drop_identical=False)
    assert kept.pair_counts() == {("swh_Latn", "eng_Latn"): 1}
    with pytest.raises(ProbeDataError, match="Unknown language"):
        ProbeSet.from_pairs("t", {("xx-nonsense-zz", "en"): [("a", "b")]})


def test_corpus():
    ps = ProbeSet.from_pairs("t", {("zh", "en"): [(f"词{i}", f"w{i}") for i in range(5)]})
    assert ps.corpus("zh", terms_per_text=2) == ["词0、词1", "词2、词3", "词4"]
    assert ps.corpus("en", terms_per_text=5) == ["w0, w1, w2, w3, w4"]
    with pytest.raises(ProbeDataError, match="no terms"):
        ps.corpus("fr")


# ---------------------------------------------------------------------------- hashing


def test_hash_stable_and_sensitive():
    pairs = {("sw", "en"): [("maji", "water"), ("moto", "fire")]}
    a = ProbeSet.from_pairs("a", pairs)
    b = ProbeSet.from_pairs(
        "renamed", {("swh_Latn", "eng_Latn"): [("moto", "fire"), ("maji", "water")]}
    )
    assert a.content_hash == b.content_hash  # order, code form and name do not matter
    # a pinned value guards the canonical serialisation against accidental changes
    assert a.content_hash == "82bd4b4326ba864754781baea1c3cafda50399487bdf8e35817e13dd9c9af735"
    assert a.content_hash == ProbeSet.from_dict(a.to_dict()).content_hash
    changed = ProbeSet.from_pairs("a", {("sw", "en"): [("maji", "water"), ("moto", "fires")]})
    assert changed.content_hash != a.content_hash
    flipped = ProbeSet.from_pairs("a", {("en", "sw"): [("water", "maji"), ("fire", "moto")]})
    assert flipped.content_hash != a.content_hash
    extra = ProbeSet.from_pairs("a", pairs, terms={"en": ["rain"]})
    assert extra.content_hash != a.content_hash


def test_from_dict_rejects_unknown_format():
    data = ProbeSet.from_pairs("a", {}).to_dict()
    data["format"] = 99
    with pytest.raises(ProbeDataError, match="format"):
        ProbeSet.from_dict(data)


# ---------------------------------------------------------------------------- MUSE


def test_muse_file_parsing_with_malformed_lines(tmp_path, caplog):
    path = _write(
        tmp_path / "sw-en.txt",
        ["maji water", "moto\tfire", "", "broken", "too many fields", "  nyumba   house  "],
    )
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.probing.lexicon"):
        parsed = read_muse_file(path, min_pairs=3)
    assert (parsed.src, parsed.trg) == ("swh_Latn", "eng_Latn")
    assert parsed.pairs == (("maji", "water"), ("moto", "fire"), ("nyumba", "house"))
    assert parsed.malformed == 2
    assert "2 malformed" in caplog.text


def test_muse_too_few_pairs_and_bad_encoding(tmp_path):
    few = _write(tmp_path / "sw-en.txt", ["maji water", "moto fire"])
    with pytest.raises(ProbeDataError, match=r"2 usable word pairs.*min_pairs"):
        read_muse_file(few, min_pairs=3)
    latin = _write(tmp_path / "fr-en.txt", ["café coffee", "été summer"], encoding="latin-1")
    with pytest.raises(ProbeDataError, match=r"not UTF-8.*iconv"):
        read_muse_file(latin, min_pairs=1)
    bom = tmp_path / "de-en.txt"
    bom.write_bytes("\ufeffwasser water\n".encode())
    assert read_muse_file(bom, min_pairs=1).pairs == (("wasser", "water"),)


def test_muse_file_names(tmp_path):
    with pytest.raises(ProbeDataError, match="file name"):
        read_muse_file(_write(tmp_path / "swahili.txt", ["a b"]), min_pairs=1)
    with pytest.raises(ProbeDataError, match="Unknown language"):
        read_muse_file(_write(tmp_path / "qqq1-en.txt", ["a b"]), min_pairs=1)
    flores = read_muse_file(_write(tmp_path / "swh_Latn-fra_Latn.txt", ["maji eau"]), min_pairs=1)
    assert (flores.src, flores.trg) == ("swh_Latn", "fra_Latn")


def test_load_muse_dir_merges_and_filters(tmp_path):
    _write(tmp_path / "en-de.0-5000.txt", ["water wasser", "fire feuer"])
    _write(tmp_path / "en-de.5000-6500.txt", ["house haus", "water wasser"])
    _write(tmp_path / "sw-en.txt", ["maji water", "taxi taxi"])
    _write(tmp_path / "README.txt", ["not a lexicon"])
    (tmp_path / "notes.md").write_text("ignored")
    ps = load_muse_dir(tmp_path, min_pairs=2)
    assert ps.name == f"muse:{tmp_path.name}"
    assert ps.pair_counts() == {("eng_Latn", "deu_Latn"): 3, ("swh_Latn", "eng_Latn"): 1}
    assert "en-de.0-5000.txt" in ps.source
    only = load_muse_dir(tmp_path, min_pairs=2, languages=["en", "de"], name="mine")
    assert only.name == "mine" and only.directions() == [("eng_Latn", "deu_Latn")]
    with pytest.raises(ProbeDataError, match="No MUSE lexicon files"):
        load_muse_dir(tmp_path, languages=["fi", "hu"])
    with pytest.raises(ProbeDataError, match="does not exist"):
        load_muse_dir(tmp_path / "missing")
    single = load_muse_dir(tmp_path / "sw-en.txt", min_pairs=1)
    assert single.directions() == [("swh_Latn", "eng_Latn")]


# ---------------------------------------------------------------------------- starter set


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
