"""Tests for bridgex_chain.languages.codes: normalising codes and names to FLORES-200 codes."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from bridgex_chain.errors import BridgeXError, UnknownLanguage
from bridgex_chain.languages.codes import (
    flores_codes,
    likely_script,
    normalize,
    normalize_many,
    registry_codes,
)

SIB200 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "sib200"
FLORES_SHAPE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


# --------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # ISO 639-3 macrolanguages → the FLORES member SIB-200 uses
        ("swa", "swh_Latn"), ("ara", "arb_Arab"), ("msa", "zsm_Latn"), ("fas", "pes_Arab"),
        ("zho", "zho_Hans"), ("cmn", "zho_Hans"), ("est", "est_Latn"), ("ekk", "est_Latn"),
        # ISO 639-1 whose FLORES entry is an individual language
        ("ms", "zsm_Latn"), ("fa", "pes_Arab"), ("et", "est_Latn"), ("lv", "lvs_Latn"),
        ("uz", "uzn_Latn"), ("ne", "npi_Deva"), ("mn", "khk_Cyrl"), ("az", "azj_Latn"),
        ("sq", "als_Latn"), ("ku", "kmr_Latn"), ("om", "gaz_Latn"), ("mg", "plt_Latn"),
        ("yi", "ydd_Hebr"), ("ps", "pbt_Arab"), ("no", "nob_Latn"), ("qu", "quy_Latn"),
        # BCP-47 with regions, scripts and variants
        ("pt-BR", "por_Latn"), ("en-US", "eng_Latn"), ("fr-CA", "fra_Latn"),
        ("de-CH", "deu_Latn"), ("zh-Hant", "zho_Hant"), ("zh-TW", "zho_Hant"),
        ("zh-HK", "zho_Hant"), ("zh-CN", "zho_Hans"), ("zh-Hans-SG", "zho_Hans"),
        ("sr-Latn", "srp_Latn"), ("sr", "srp_Cyrl"), ("ar-EG", "arb_Arab"),
        ("ar-Latn", "arb_Latn"), ("fa-AF", "prs_Arab"), ("ca-valencia", "cat_Latn"),
        ("zh-yue", "yue_Hant"),
        # withdrawn and bibliographic codes
        ("iw", "heb_Hebr"), ("in", "ind_Latn"), ("ger", "deu_Latn"), ("fre", "fra_Latn"),
        ("chi", "zho_Hans"),
        # FLORES spellings
        ("SWH_LATN", "swh_Latn"), ("zho_hant", "zho_Hant"), ("  eng_Latn ", "eng_Latn"),
        # fastText labels, ISO (lid.176) and FLORES (GlotLID/OpenLID) style
        ("__label__sw", "swh_Latn"), ("__label__zh", "zho_Hans"), ("__label__swh_Latn", "swh_Latn"),
        ("__label__ar", "arb_Arab"), ("__label__als", "gsw_Latn"), ("__label__sh", "srp_Latn"),
        ("__label__bh", "bho_Deva"), ("__label__eml", "egl_Latn"),
        # names, English and native
        ("Swahili", "swh_Latn"), ("Kiswahili", "swh_Latn"), ("english", "eng_Latn"),
        ("Chinese", "zho_Hans"), ("Français", "fra_Latn"), ("Filipino", "tgl_Latn"),
        # languages outside FLORES-200 get a code of the same shape
        ("br", "bre_Latn"), ("Klingon", "tlh_Latn"), ("qqq_Latn", "qqq_Latn"),
    ],
)  # fmt: skip
def test_normalize(given: str, expected: str) -> None:
    assert normalize(given) == expected


def test_flores_codes_are_kept_and_als_is_albanian_outside_fasttext_labels() -> None:
    # FLORES 'als_Latn' is Tosk Albanian; only lid.176's Wikipedia label 'als' is Alemannic.
    assert normalize("als") == "als_Latn" == normalize("als_Latn")
    assert normalize("__label__als") == "gsw_Latn"


def test_chinese_varieties_stay_faithful() -> None:
    assert normalize("yue") == "yue_Hant" == normalize("__label__yue")
    assert normalize("wuu") == "wuu_Hans" == normalize("__label__wuu")


def test_tagalog_and_filipino_are_one_language() -> None:
    for code in ("fil", "tl", "tgl", "tgl_Latn", "__label__tl", "Tagalog", "Filipino"):
        assert normalize(code) == "tgl_Latn"


def test_an_explicit_script_outside_flores_builds_a_code_in_that_script() -> None:
    # The language is in FLORES-200, but not in the script the tag names.
    assert normalize("yue-Hans") == "yue_Hans"
    assert normalize("en-Cyrl") == "eng_Cyrl"


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "xx", "not a language", "zz_Zzzz", "und", "mul", "zxx", "__label__", "__label__xx"],
)
def test_unknown_input_raises_a_helpful_error(bad: str) -> None:
    with pytest.raises(UnknownLanguage) as caught:
        normalize(bad)
    assert isinstance(caught.value, BridgeXError) and isinstance(caught.value, ValueError)
    assert caught.value.code == bad
    assert repr(bad) in str(caught.value)
    assert "swh_Latn" in str(caught.value)  # the message shows a valid form


@pytest.mark.parametrize("special", ["mul", "zxx"])
def test_special_iso_codes_say_they_name_no_single_language(special: str) -> None:
    with pytest.raises(UnknownLanguage, match="names no single language with a known script"):
        normalize(special)


def test_non_string_input_raises_unknown_language() -> None:
    with pytest.raises(UnknownLanguage):
        normalize(None)  # type: ignore[arg-type]
    with pytest.raises(UnknownLanguage):
        normalize(["sw"])  # type: ignore[arg-type]
    with pytest.raises(UnknownLanguage, match="Language codes are strings such as 'sw'") as caught:
        normalize(42)  # type: ignore[arg-type]
    assert caught.value.code == "42"


@pytest.mark.skipif(not SIB200.is_dir(), reason=f"SIB-200 data not found at {SIB200}")
def test_every_sib200_directory_is_a_registry_code() -> None:
    for directory in SIB200.iterdir():
        assert normalize(directory.name) == directory.name


# --------------------------------------------------------------------------- normalize_many


def test_normalize_many() -> None:
    assert normalize_many(["sw", "swh_Latn", "Swahili", "en"]) == {"swh_Latn", "eng_Latn"}


def test_normalize_many_takes_any_iterable_and_returns_a_frozenset() -> None:
    result = normalize_many(code for code in ("fr", "__label__de"))
    assert isinstance(result, frozenset)
    assert result == {"fra_Latn", "deu_Latn"}
    assert normalize_many([]) == frozenset()


def test_normalize_many_rejects_the_whole_set_on_one_bad_code() -> None:
    with pytest.raises(UnknownLanguage) as caught:
        normalize_many(["sw", "xx", "en"])
    assert caught.value.code == "xx"


# --------------------------------------------------------------------------- flores_codes


def test_flores_codes_are_the_205_bundled_codes() -> None:
    codes = flores_codes()
    assert isinstance(codes, frozenset)
    assert len(codes) == 205
    assert all(FLORES_SHAPE.match(code) for code in codes), sorted(
        code for code in codes if not FLORES_SHAPE.match(code)
    )
    assert {"swh_Latn", "zho_Hans", "zho_Hant", "yue_Hant", "als_Latn", "eng_Latn"} <= codes
    assert "gsw_Latn" not in codes and "bre_Latn" not in codes


def test_every_flores_code_normalises_to_itself() -> None:
    for code in flores_codes():
        assert normalize(code) == code
        assert normalize(code.upper()) == code


def test_bundled_label_list_matches_the_model(lite_model_labels: tuple[str, ...]) -> None:
    data = json.loads(
        resources.files("bridgex_chain").joinpath("data/flores200.json").read_text("utf-8")
    )
    assert sorted(data["lid176_labels"]) == sorted(
        label.removeprefix("__label__") for label in lite_model_labels
    )
    assert len(data["flores200"]) == len(set(data["flores200"])) == 205
    assert "_source" in data


# --------------------------------------------------------------------------- likely_script


@pytest.mark.parametrize(
    ("language", "script"),
    [
        ("sw", "Latn"), ("zh", "Hans"), ("ja", "Jpan"), ("ar", "Arab"), ("sr", "Cyrl"),
        ("he", "Hebr"), ("hi", "Deva"),
    ],
)  # fmt: skip
def test_likely_script_from_cldr(language: str, script: str) -> None:
    assert likely_script(language) == script


def test_likely_script_falls_back_to_wiktionary() -> None:
    # CLDR has no likely subtags for Ojibwe or Interlingue; Wiktionary lists their scripts.
    assert likely_script("oj") == "Cans"
    assert likely_script("ie") == "Latn"


def test_likely_script_falls_back_to_the_macrolanguage_only_when_asked() -> None:
    # Tajiki Arabic (abh) is known to neither CLDR nor Wiktionary; its macrolanguage is Arabic.
    assert likely_script("abh") == "Arab"
    assert likely_script("abh", via_macro=False) is None


def test_likely_script_of_an_unknown_subtag_is_none() -> None:
    assert likely_script("qqq") is None


# --------------------------------------------------------------------------- registry_codes


def test_registry_codes_are_flores_plus_every_lite_model_label(
    lite_model_labels: tuple[str, ...],
) -> None:
    codes = registry_codes()
    assert isinstance(codes, tuple)
    assert list(codes) == sorted(set(codes)), "sorted, without duplicates"
    assert set(codes) == flores_codes() | {normalize(label) for label in lite_model_labels}
    assert len(codes) > len(flores_codes())
    assert {"bre_Latn", "gsw_Latn", "egl_Latn"} <= set(codes)  # lid.176 labels outside FLORES
    assert all(FLORES_SHAPE.match(code) for code in codes)


@pytest.mark.parametrize("bad", ["\x00", "sw\x00", "\udcff", "\x000000", "s\x1bw", "\x85"])
def test_control_characters_and_surrogates_are_unknown_languages(bad: str) -> None:
    with pytest.raises(UnknownLanguage):
        normalize(bad)


def test_surrounding_whitespace_is_still_stripped() -> None:
    assert normalize(" sw\n") == normalize("\tSwahili ") == "swh_Latn"
