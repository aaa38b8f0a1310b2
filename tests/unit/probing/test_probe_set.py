"""ProbeSet: building, prompts (pairs and chat entries), terms, corpus, content hash."""

from __future__ import annotations

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing.probe_set import ProbeSet, probe_data_code


def test_prompt_texts_render_the_exact_probe_format():
    ps = ProbeSet.from_pairs(
        "t",
        {
            ("sw", "en"): [("maji", "water")],
            ("zho_Hans", "jpn_Jpan"): [("水", "水です")],
            ("fil", "heb_Hebr"): [("tubig", "מים")],
        },
    )
    assert ps.prompt_texts("sw", "en") == ['Swahili:"maji"→English:']
    assert ps.prompt_texts("zh", "ja") == ['Chinese:"水"→Japanese:']
    assert ps.prompt_texts("tgl_Latn", "he") == ['Tagalog:"tubig"→Hebrew:']


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


def test_prompts_of_a_missing_direction_name_what_the_set_covers():
    ps = ProbeSet.from_pairs("mine", {("sw", "en"): [("maji", "water")]})
    with pytest.raises(ProbeDataError, match=r"'mine' has no word pairs for eng_Latn→fra_Latn"):
        ps.prompts("en", "fr")
    assert ps.word_pairs("en", "fr") == ()
    assert ps.directions() == [("swh_Latn", "eng_Latn")]


def test_probe_data_code_normalises_or_raises_probe_data_error():
    assert probe_data_code("sw") == "swh_Latn" and probe_data_code("pt-BR") == "por_Latn"
    with pytest.raises(ProbeDataError, match="in probe data"):
        probe_data_code("not-a-language")
