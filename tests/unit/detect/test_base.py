"""Tests for bridgex_chain.detect.base: Detection, the LanguageDetector seam, as_detector.

test_fasttext_detector.py checks these against the real FastTextDetector; here every detector
is a plain callable or a small class, so nothing loads a fastText model.
"""

from __future__ import annotations

import pytest

from bridgex_chain.detect.base import (
    UNKNOWN,
    Detection,
    LanguageDetector,
    as_detector,
    utf8_safe,
)
from bridgex_chain.errors import DetectorError, UnknownLanguage


class EchoDetector:
    """A detector of our own: names the text itself as the language."""

    def detect(self, text: str) -> Detection:
        return Detection(text, 0.5, source="echo")


class CallableDetector(EchoDetector):
    """Both a detector and a callable: its detect() must win."""

    def __call__(self, text: str) -> str:
        raise AssertionError("as_detector must use detect(), not call the object")


# --------------------------------------------------------------------------- Detection


def test_detection_defaults() -> None:
    result = Detection("swh_Latn", 0.97)
    assert result.candidates == ()
    assert result.source == "fasttext"
    assert result.reason is None
    assert not result.is_unknown


def test_only_the_unknown_constant_is_unknown() -> None:
    assert UNKNOWN == "unknown"
    assert Detection(UNKNOWN, 0.2, reason="below-threshold").is_unknown
    # is_unknown compares with the constant exactly; other spellings are (odd) language codes.
    assert not Detection("und", 0.0).is_unknown
    assert not Detection("Unknown", 0.0).is_unknown


def test_detections_compare_and_hash_by_value() -> None:
    first = Detection("fin_Latn", 0.8, (("fin_Latn", 0.8), ("est_Latn", 0.1)), "mine")
    same = Detection("fin_Latn", 0.8, (("fin_Latn", 0.8), ("est_Latn", 0.1)), "mine")
    assert first == same
    assert len({first, same}) == 1
    assert first != Detection("fin_Latn", 0.8, (("fin_Latn", 0.8),), "mine")


# --------------------------------------------------------------------------- the protocol


def test_any_object_with_detect_is_a_language_detector_and_is_returned_as_is() -> None:
    detector = EchoDetector()
    assert isinstance(detector, LanguageDetector)
    assert as_detector(detector) is detector


def test_a_callable_detector_object_is_used_through_detect() -> None:
    detector = CallableDetector()
    adapted = as_detector(detector)
    assert adapted is detector
    assert adapted.detect("abc").lang == "abc"  # __call__ would raise


def test_a_plain_function_is_not_a_detector_until_adapted() -> None:
    def fn(text: str) -> str:
        return "sw"

    assert not isinstance(fn, LanguageDetector)
    adapted = as_detector(fn)
    assert adapted is not fn
    assert isinstance(adapted, LanguageDetector)
    assert repr(adapted) == f"as_detector({fn!r})"


# --------------------------------------------------------------------------- callables


def test_the_callable_receives_the_text() -> None:
    seen: list[str] = []

    def fn(text: str) -> str:
        seen.append(text)
        return "sw"

    as_detector(fn).detect("Habari ya asubuhi")
    assert seen == ["Habari ya asubuhi"]


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("sw", "swh_Latn"),
        ("Swahili", "swh_Latn"),
        ("__label__sw", "swh_Latn"),
        (" pt-BR ", "por_Latn"),
        ("zh-TW", "zho_Hant"),
        ("yue_Hant", "yue_Hant"),
    ],
)
def test_a_returned_code_is_normalised_and_certain(answer: str, code: str) -> None:
    result = as_detector(lambda _text: answer).detect("whatever")
    assert result == Detection(code, 1.0, ((code, 1.0),), source="callable", reason=None)
    assert not result.is_unknown


@pytest.mark.parametrize("answer", [" UNKNOWN ", "Unknown", "UND", "  ", "\t"])
def test_abstaining_answers_ignore_case_and_whitespace(answer: str) -> None:
    result = as_detector(lambda _text: answer).detect("whatever")
    assert result == Detection(UNKNOWN, 0.0, (), source="callable", reason="abstained")
    assert result.is_unknown


def test_a_returned_detection_is_passed_through_unchanged() -> None:
    # Even an abstention or an odd source: the adapter does not rewrite Detections.
    given = Detection(UNKNOWN, 0.31, (("swh_Latn", 0.31),), "my-lid", "below-threshold")
    assert as_detector(lambda _text: given).detect("x") is given


def test_an_unknown_code_from_the_callable_raises_unknown_language() -> None:
    with pytest.raises(UnknownLanguage) as caught:
        as_detector(lambda _text: "xx").detect("whatever")
    assert caught.value.code == "xx"


@pytest.mark.parametrize("answer", [None, 0.9, ("swh_Latn", 0.9), b"sw"])
def test_a_wrong_return_type_raises_detector_error_naming_it(answer: object) -> None:
    def fn(text: str) -> object:
        return answer

    with pytest.raises(DetectorError) as caught:
        as_detector(fn).detect("x")  # type: ignore[arg-type]
    message = str(caught.value)
    assert type(answer).__name__ in message
    assert repr(fn) in message
    assert "must return a Detection or a language code string" in message


def test_exceptions_of_the_callable_propagate() -> None:
    def broken(text: str) -> str:
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        as_detector(broken).detect("x")


@pytest.mark.parametrize("obj", [42, "sw", None, ["sw"]])
def test_objects_that_are_neither_detectors_nor_callables_are_refused(obj: object) -> None:
    with pytest.raises(DetectorError) as caught:
        as_detector(obj)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(f"{obj!r} is not a language detector")
    assert "detect(text) -> Detection" in message


# --------------------------------------------------------------------------- text and codes


def test_utf8_safe_replaces_lone_surrogates_and_joins_pairs() -> None:
    text = "Habari"
    assert utf8_safe(text) is text
    assert utf8_safe("a\udcffb\ud800") == "a\ufffdb\ufffd"
    assert utf8_safe("\ud83d\ude00\ud83d") == "\U0001f600\ufffd"
    assert utf8_safe("\udfff\ud800").encode("utf-8") == "\ufffd\ufffd".encode()  # low, high


def test_a_callable_answering_an_impossible_code_is_unknown_language() -> None:
    with pytest.raises(UnknownLanguage):
        as_detector(lambda text: "sw\x00").detect("Habari")
