"""The starter probe set's per-language quality report and floor, over every detector language."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterable

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import STUDY_LANGUAGES, flores_codes
from bridgex_chain.probing import starter
from bridgex_chain.probing import starter_quality as sq
from bridgex_chain.probing.probe_set import ProbeSet
from bridgex_chain.probing.starter_quality import (
    QualityFloor,
    StarterQuality,
    detector_languages,
    starter_languages,
    starter_quality,
)

LENIENT = QualityFloor(min_terms=0, max_identical_share=1.0, min_script_share=0.0)


def test_every_detector_language_gets_a_report():
    start = time.perf_counter()
    quality = starter_quality()
    assert time.perf_counter() - start < 30  # ~2 s alone, ~4 s on a busy 2-core machine
    assert set(quality) == set(detector_languages()) == flores_codes()
    assert len(quality) == 205
    for code, q in quality.items():
        assert isinstance(q, StarterQuality) and q.code == code
        assert q.passed == (q.reason is None)
        assert 0.0 <= q.identical_share <= 1.0 and 0.0 <= q.script_share <= 1.0
        if q.locale is None:
            assert q.terms == 0 and q.reason and q.reason.startswith("CLDR has no")


def test_detector_languages_are_the_bundled_detectors_labels():
    from bridgex_chain.detect.fasttext_detector import FastTextDetector

    assert FastTextDetector().supported_languages() == frozenset(detector_languages())


def test_default_floor_keeps_the_study_languages_and_real_data():
    quality = starter_quality()
    assert all(quality[code].passed for code in STUDY_LANGUAGES)
    passed = [q for q in quality.values() if q.passed]
    thin = [q for q in quality.values() if q.locale and not q.passed]
    missing = [q for q in quality.values() if q.locale is None]
    # babel 2.19: 140 / 22 / 43 (docs/method.md); newer CLDR data may move a few languages
    assert 130 <= len(passed) <= 170 and len(missing) <= 45
    assert len(passed) + len(thin) + len(missing) == 205
    assert {"hat_Latn", "ceb_Latn", "tso_Latn"} <= {q.code for q in thin}


def test_floor_rule_terms():
    q = starter_quality(["hat_Latn"])["hat_Latn"]  # CLDR ht: little more than its own name
    assert q.locale == "ht" and not q.passed
    assert q.reason and re.fullmatch(r"only \d+ terms? \(floor 100\)", q.reason)
    assert starter_quality(["hat_Latn"], dataclasses.replace(LENIENT, min_terms=1))[
        "hat_Latn"
    ].passed


def test_floor_rule_identical_share():
    tl = starter_quality(["tgl_Latn"])["tgl_Latn"]  # CLDR fil copies most English names
    assert tl.passed and 0.6 < tl.identical_share < 0.85
    strict = starter_quality(["tgl_Latn"], dataclasses.replace(LENIENT, max_identical_share=0.5))
    reason = strict["tgl_Latn"].reason
    assert reason and re.fullmatch(
        r"\d+ % of terms are identical to English \(ceiling 50 %\)", reason
    )
    ceb = starter_quality(["ceb_Latn"], dataclasses.replace(QualityFloor(), min_terms=0))
    assert not ceb["ceb_Latn"].passed and "identical to English" in str(ceb["ceb_Latn"].reason)


def test_floor_rule_script_share():
    ks = starter_quality(["kas_Deva"], LENIENT)["kas_Deva"]  # a Latin letter or two
    assert 0.95 < ks.script_share < 1.0
    strict = starter_quality(["kas_Deva"], dataclasses.replace(LENIENT, min_script_share=1.0))
    assert strict["kas_Deva"].reason == (
        f"{100 * ks.script_share:.0f} % of letters are in Deva (floor 100 %)"
    )


def test_script_share_counts_letters_of_the_script():
    assert sq._script_share(["ሰላም", "abc"], "Ethi") == pytest.approx(3 / 6)
    assert sq._script_share(["星期一", "月曜日"], "Hans") == 1.0
    assert sq._script_share(["げつようび", "ー"], "Jpan") == 1.0
    assert sq._script_share(["paʻanga", "12"], "Latn") == 1.0  # ʻ and digits: no script
    assert sq._script_share([], "Latn") == 0.0


def test_floor_rule_no_locale():
    q = starter_quality(["ace_Latn"])["ace_Latn"]
    assert q == StarterQuality(
        "ace_Latn", None, 0, 0.0, 0.0, False, "CLDR has no locale for ace_Latn"
    )


def test_several_failures_are_all_named():
    floor = QualityFloor(min_terms=10_000, max_identical_share=0.0, min_script_share=1.0)
    reason = str(starter_quality(["ind_Latn"], floor)["ind_Latn"].reason)
    assert reason.startswith("only ") and reason.count("; ") == 1  # id: all letters Latin
    assert "identical to English (ceiling 0 %)" in reason


def test_english_is_the_reference():
    en = starter_quality(["en"])["eng_Latn"]
    assert en.passed and en.identical_share == 0.0 and en.terms > 500


def test_starter_languages():
    assert starter_languages(["sw", "ht", "ace_Latn", "fr"]) == ("fra_Latn", "swh_Latn")
    assert set(STUDY_LANGUAGES) <= set(starter_languages())
    assert starter_languages(["ht"], LENIENT) == ("hat_Latn",)


def test_starter_probe_set_enforces_a_floor():
    study = starter_probe_set_with_floor(STUDY_LANGUAGES)
    assert study.content_hash == starter.starter_probe_set().content_hash
    with pytest.raises(ProbeDataError, match=r"too thin for hat_Latn: only \d+ term"):
        starter_probe_set_with_floor(["en", "ht"])
    with pytest.raises(ProbeDataError, match="--parallel DIR"):
        starter_probe_set_with_floor(["en", "ace_Latn"])
    assert starter.starter_probe_set(["en", "ht"]).languages == ("eng_Latn", "hat_Latn")


def starter_probe_set_with_floor(languages: Iterable[str]) -> ProbeSet:
    return sq.floored_probe_set(languages, QualityFloor())


def test_deterministic_and_cached():
    codes = ["sw", "tgl_Latn", "ht", "ace_Latn", "zho_Hant"]
    first = starter_quality(codes)
    assert list(first) == sorted(first)  # sorted FLORES codes, whatever the input order
    assert starter_quality(reversed(codes)) == first
    assert starter_quality(codes)["swh_Latn"] is first["swh_Latn"]  # cached per process
    sq._measure.cache_clear()
    starter._raw_terms.cache_clear()
    assert starter_quality(codes) == first  # fresh reads give the same figures
