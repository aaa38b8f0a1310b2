"""Tests for bridgex_chain.detect with the real bundled lite fastText model (offline, fast)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.detect import (
    DEFAULT_MAX_INPUT_CHARS,
    DEFAULT_THRESHOLD,
    UNKNOWN,
    Detection,
    FastTextDetector,
    LanguageDetector,
    as_detector,
    bundled_model_path,
)
from bridgex_chain.detect import fasttext_detector as detect_module
from bridgex_chain.errors import DetectorError, UnknownLanguage

# Sentences written for these tests (not taken from any corpus).
CLEAR = {
    "eng_Latn": "The weather is lovely today, so we are going for a walk in the park.",
    "fra_Latn": "Nous allons au marché demain matin pour acheter des légumes frais.",
    "deu_Latn": "Wir fahren morgen mit dem Zug nach Berlin, um unsere Großeltern zu besuchen.",
    "spa_Latn": "Mañana por la mañana vamos a comprar pan y fruta en el mercado del barrio.",
    "ita_Latn": "Domani andiamo al mare con i nostri amici se il tempo è bello.",
    "por_Latn": "Amanhã vamos visitar os nossos avós que moram perto da praia.",
    "fin_Latn": "Huomenna menemme junalla Helsinkiin tapaamaan ystäviämme.",
    "hun_Latn": "Holnap vonattal megyünk Budapestre, hogy meglátogassuk a nagyszüleinket.",
    "jpn_Jpan": "明日は友達と一緒に京都へ旅行に行く予定です。",
    "zho_Hans": "我们明天早上要去市场买新鲜的蔬菜和水果。",
    "arb_Arab": "سنذهب غدا إلى السوق لشراء الخضار والفواكه الطازجة.",
    "heb_Hebr": "מחר בבוקר נלך לשוק לקנות ירקות ופירות טריים.",
    "rus_Cyrl": "Завтра утром мы поедем на поезде в Москву к бабушке.",
    "ind_Latn": "Besok pagi kami akan pergi ke pasar untuk membeli sayur dan buah segar.",
    "tgl_Latn": "Pupunta kami sa palengke bukas ng umaga para bumili ng gulay at prutas.",
}


@pytest.fixture(scope="module")
def detector() -> FastTextDetector:
    # Behaviour tests below were measured on lid.176 lite; the default model has its own tests.
    return FastTextDetector("lite")


class FakeModel:
    """Stands in for a fastText model whose labels we choose (ISO, FLORES or junk)."""

    def __init__(self, predictions: Sequence[tuple[str, float]]) -> None:
        self.predictions = list(predictions)
        self.texts: list[str] = []

    def predict(
        self, text: str, k: int = 1, threshold: float = 0.0
    ) -> tuple[tuple[str, ...], tuple[float, ...]]:
        assert "\n" not in text  # the real binding raises on newlines
        self.texts.append(text)
        chosen = [p for p in self.predictions if p[1] >= threshold]
        chosen = chosen if k < 0 else chosen[:k]
        return tuple(label for label, _ in chosen), tuple(prob for _, prob in chosen)


def with_fake_model(predictions: Sequence[tuple[str, float]], **kwargs: Any) -> FastTextDetector:
    fake = FastTextDetector(**kwargs)
    fake._model = FakeModel(predictions)
    return fake


@pytest.mark.parametrize("expected", sorted(CLEAR))
def test_clear_sentences(detector: FastTextDetector, expected: str) -> None:
    result = detector.detect(CLEAR[expected])
    assert result.lang == expected
    assert DEFAULT_THRESHOLD <= result.confidence <= 1.0
    assert result.source == "fasttext" and result.reason is None
    assert 1 <= len(result.candidates) <= 5
    assert [p for _, p in result.candidates] == sorted(
        (p for _, p in result.candidates), reverse=True
    )
    assert not result.is_unknown


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("😀🎉👍", "no-letters"),
        ("12345 678 !!", "no-letters"),
        ("ok", "too-short"),
        ("好", "too-short"),  # one Han character counts 3 letters: still below 4
    ],
)
def test_abstains_on_empty_and_short_text(
    detector: FastTextDetector, text: str, reason: str
) -> None:
    result = detector.detect(text)
    assert result.lang == UNKNOWN and result.is_unknown
    assert result.reason == reason
    assert result.confidence == 0.0 and result.candidates == ()


def test_lone_surrogates_and_control_characters_never_reach_fasttext_as_errors() -> None:
    detector = FastTextDetector()  # the bundled model (the fixture is lid.176 lite)
    assert detector.detect("Habari za asubuhi \udcff\udcfe").lang == "swh_Latn"
    assert detector.detect("\udcff\udcfe\ud800").reason == "no-letters"  # U+FFFD is no letter
    assert detector.detect("\ud83d\ude00 Habari za asubuhi").lang == "swh_Latn"  # a pair: emoji
    assert detector.detect("Habari \x00 za asubuhi\x1b[0m rafiki").lang == "swh_Latn"
    with pytest.raises(UnknownLanguage):
        detector.detect("Habari", lang="sw\x00")


def test_cjk_characters_count_more_than_latin_letters(detector: FastTextDetector) -> None:
    assert detector.detect("你好").lang == "zho_Hans"  # 2 Han characters = 6 effective letters
    assert FastTextDetector("lite", min_chars=0).detect("ok").reason != "too-short"


def test_abstains_below_threshold(detector: FastTextDetector) -> None:
    text = "Kesho asubuhi tutakwenda sokoni kununua mboga na matunda."  # lite model is unsure
    default = detector.detect(text)
    assert default.is_unknown and default.reason == "below-threshold"
    assert 0.0 < default.confidence < DEFAULT_THRESHOLD
    assert default.candidates  # what the model thought is kept
    assert not FastTextDetector("lite", threshold=0.0).detect(text).is_unknown
    strict = FastTextDetector("lite", threshold=1.0).detect(CLEAR["fra_Latn"])
    assert strict.reason == "below-threshold" and strict.candidates[0][0] == "fra_Latn"


def test_allowed_set_restricts_choice(detector: FastTextDetector) -> None:
    text = CLEAR["ind_Latn"]
    only_malay = FastTextDetector("lite", allowed=["Malay"]).detect(text)
    assert only_malay.lang == "zsm_Latn"
    assert {code for code, _ in only_malay.candidates} == {"zsm_Latn"}
    both = FastTextDetector("lite", allowed={"id", "zsm_Latn"}).detect(text)
    assert both.lang == "ind_Latn"
    assert {code for code, _ in both.candidates} <= {"ind_Latn", "zsm_Latn"}
    outside = FastTextDetector("lite", allowed={"en", "sw"}).detect(CLEAR["fra_Latn"])
    assert outside.is_unknown and outside.reason == "not-allowed"
    with pytest.raises(UnknownLanguage):
        FastTextDetector(allowed={"en", "xx"})


def test_allowed_set_finds_a_language_ranked_far_down() -> None:
    fake = with_fake_model(
        [("__label__en", 0.5), ("__label__de", 0.2), ("__label__fr", 0.1)]
        + [(f"__label__{c}", 0.02) for c in ("nl", "da", "sv", "no", "it", "es")]
        + [("__label__sw", 0.12)],
        allowed={"sw"},
    )
    result = fake.detect("some words here")
    assert result.lang == "swh_Latn" and result.confidence == pytest.approx(0.12)


def test_override_always_wins(detector: FastTextDetector) -> None:
    result = detector.detect(CLEAR["fra_Latn"], lang="Swahili")
    assert result == Detection("swh_Latn", 1.0, (("swh_Latn", 1.0),), "override", "explicit")
    assert detector.detect("", lang="pt-BR").lang == "por_Latn"
    with pytest.raises(UnknownLanguage):
        detector.detect("hello", lang="not-a-language")


def test_newlines_and_whitespace_are_collapsed(detector: FastTextDetector) -> None:
    text = "Wir fahren morgen\nmit dem Zug\r\nnach Berlin,\tum unsere\n\nGroßeltern zu besuchen."
    assert detector.detect(text) == detector.detect(CLEAR["deu_Latn"])
    fake = with_fake_model([("__label__de", 0.9)])
    fake.detect("eins\nzwei\n\ndrei")
    assert fake._model.texts == ["eins zwei drei"]  # type: ignore[union-attr]


def test_long_text_classifies_a_bounded_prefix(detector: FastTextDetector) -> None:
    long_text = " ".join([CLEAR["ita_Latn"]] * 2000)
    assert detector.detect(long_text).lang == "ita_Latn"
    fake = with_fake_model([("__label__it", 0.9)], max_input_chars=50)
    fake.detect(long_text)
    sent = fake._model.texts[0]  # type: ignore[union-attr]
    assert 25 < len(sent) <= 50 and long_text.startswith(sent)
    assert detect_module._prepare("a " * 10_000, DEFAULT_MAX_INPUT_CHARS).count("a") <= 100


def test_chinese_varieties_bridge_as_chinese_and_stay_in_candidates() -> None:
    fake = with_fake_model([("__label__yue", 0.4), ("__label__zh", 0.3), ("__label__wuu", 0.1)])
    result = fake.detect("我哋聽日去飲茶")
    assert result.lang == "zho_Hans"
    assert result.confidence == pytest.approx(0.8)
    assert result.candidates[0][0] == "yue_Hant"
    assert {code for code, _ in result.candidates} == {"yue_Hant", "zho_Hans", "wuu_Hans"}


def test_cantonese_text_with_the_real_model(detector: FastTextDetector) -> None:
    result = detector.detect("我哋聽日去飲茶")
    assert result.lang == "zho_Hans"
    assert result.candidates[0][0] == "yue_Hant"


def test_close_languages_share_the_threshold() -> None:
    malay_or_indonesian = with_fake_model(
        [("__label__id", 0.35), ("__label__ms", 0.30), ("__label__en", 0.10)]
    )
    result = malay_or_indonesian.detect("some text here")
    assert result.lang == "ind_Latn" and result.confidence == pytest.approx(0.35)
    unrelated = with_fake_model([("__label__id", 0.35), ("__label__en", 0.30)])
    assert unrelated.detect("some text here").reason == "below-threshold"


def test_flores_labels_and_unknown_labels(caplog: pytest.LogCaptureFixture) -> None:
    fake = with_fake_model(
        [("__label__swh_Latn", 0.6), ("__label__und_Zzzz", 0.2), ("__label__sw", 0.1)], k=5
    )
    with caplog.at_level(logging.DEBUG, logger="bridgex_chain.detect"):
        result = fake.detect("Habari yako rafiki")
    assert result.lang == "swh_Latn"
    assert [code for code, _ in result.candidates] == ["swh_Latn"]  # duplicates summed
    assert result.candidates[0][1] == pytest.approx(0.7)
    assert "und_Zzzz" in caplog.text


def test_k_limits_candidates(detector: FastTextDetector) -> None:
    assert len(FastTextDetector("lite", k=1).detect(CLEAR["eng_Latn"]).candidates) == 1
    assert len(FastTextDetector("lite", k=8).detect(CLEAR["eng_Latn"]).candidates) == 8


def test_custom_model_path(detector: FastTextDetector) -> None:
    path = bundled_model_path()
    assert path.name == "bridgex-lid-sib200.ftz" and path.is_file()
    from bridgex_chain.detect import lite_model_path

    lite = lite_model_path()
    assert lite.name == "lid.176.ftz" and lite.is_file()
    for given in (lite, str(lite)):
        custom = FastTextDetector(given)  # the lite model's file, given as a path
        assert custom.detect(CLEAR["spa_Latn"]) == detector.detect(CLEAR["spa_Latn"])
    assert len(detector.labels()) == 176
    assert {"swh_Latn", "zho_Hans", "yue_Hant"} <= detector.supported_languages()
    bundled = FastTextDetector(path)
    assert len(bundled.labels()) == 205
    assert {"hau_Latn", "yor_Latn", "zul_Latn"} <= bundled.supported_languages()


def test_missing_or_corrupt_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.bin"
    with pytest.raises(DetectorError, match="not found") as caught:
        FastTextDetector(missing)
    assert str(missing) in str(caught.value)
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(b"\x00not a fasttext model" * 100)
    lazy = FastTextDetector(corrupt)  # loading is lazy
    with pytest.raises(DetectorError, match="corrupt"):
        lazy.detect(CLEAR["eng_Latn"])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        FastTextDetector(threshold=1.5)
    with pytest.raises(ValueError):
        FastTextDetector(k=0)
    with pytest.raises(DetectorError):
        FastTextDetector().detect(b"bytes")  # type: ignore[arg-type]


def test_model_loads_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real_load = detect_module.load_fasttext

    def counting_load(path: Path) -> object:
        calls.append(path)
        return real_load(path)

    monkeypatch.setattr(detect_module, "load_fasttext", counting_load)
    shared = FastTextDetector()
    results: list[str] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        results.append(shared.detect(CLEAR["hun_Latn"]).lang)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["hun_Latn"] * 8
    assert len(calls) == 1


def test_detection_is_frozen() -> None:
    result = Detection("eng_Latn", 0.9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.lang = "fra_Latn"  # type: ignore[misc]
    assert Detection(UNKNOWN, 0.0, reason="empty").is_unknown


def test_protocol_and_callable_adapter(detector: FastTextDetector) -> None:
    assert isinstance(detector, LanguageDetector)
    assert as_detector(detector) is detector
    fixed = Detection("fin_Latn", 0.8, source="mine")
    adapted = as_detector(lambda text: fixed)
    assert isinstance(adapted, LanguageDetector)
    assert adapted.detect("anything") is fixed
    by_code = as_detector(lambda text: "sw")
    assert by_code.detect("Habari").lang == "swh_Latn"
    assert by_code.detect("Habari").source == "callable"
    with pytest.raises(DetectorError):
        as_detector(lambda text: 42).detect("x")  # type: ignore[arg-type, return-value]
    with pytest.raises(DetectorError):
        as_detector(42)  # type: ignore[arg-type]


def test_callable_detector_may_abstain() -> None:
    from bridgex_chain.detect import UNKNOWN, as_detector

    for answer in ("unknown", "und", ""):
        det = as_detector(lambda _text, a=answer: a).detect("whatever")
        assert det.lang == UNKNOWN
        assert det.is_unknown
        assert det.reason == "abstained"


def test_default_is_the_bundled_sib200_model_and_lite_is_selectable() -> None:
    from bridgex_chain.detect import lite_model_path

    assert FastTextDetector().model_path == bundled_model_path()
    assert FastTextDetector("lite").model_path == lite_model_path()
    # Languages lid.176 lite does not know (or rarely gets) are found by the bundled model.
    default = FastTextDetector()
    assert default.detect("Habari! Ninawezaje kupika wali mtamu nyumbani?").lang == "swh_Latn"
    assert default.detect("Ẹ káàárọ̀, mo fẹ́ mọ ojú ọjọ́ ọ̀la.").lang == "yor_Latn"


def test_arabic_varieties_bridge_as_standard_arabic() -> None:
    from bridgex_chain.languages import bridging_code

    for variety in ("arz_Arab", "ars_Arab", "apc_Arab", "ary_Arab"):
        assert bridging_code(variety) == "arb_Arab"
    assert bridging_code("arb_Arab") == "arb_Arab"
