"""What a language detector returns and promises: :class:`Detection`, :class:`LanguageDetector`.

Anything with ``detect(text) -> Detection`` is a detector; :func:`as_detector` also adapts a plain
callable that returns a :class:`Detection` or a language code (``"unknown"`` to abstain).
:func:`utf8_safe` makes any ``str`` encodable
(lone surrogates, as ``surrogateescape`` decoding of bad bytes leaves them, become U+FFFD): the
chain applies it to every query before detection, and
:class:`~bridgex_chain.detect.FastTextDetector` to what it classifies.

Example:
    >>> as_detector(lambda text: "sw").detect("Habari").lang
    'swh_Latn'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol, runtime_checkable

from bridgex_chain.errors import DetectorError
from bridgex_chain.languages import normalize

__all__ = [
    "UNKNOWN",
    "Detection",
    "DetectionSource",
    "LanguageDetector",
    "as_detector",
    "utf8_safe",
]

UNKNOWN: Final = "unknown"
"""``Detection.lang`` when the detector abstains."""

_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def utf8_safe(text: str) -> str:
    r"""``text`` with every code point UTF-8 cannot encode replaced by U+FFFD.

    Only surrogates (U+D800..U+DFFF) cannot be encoded. A lone one — ``"\udcff"`` is what
    ``bytes.decode(errors="surrogateescape")`` makes of a bad byte — becomes U+FFFD
    (``"\ufffd"``, the replacement character, which is not a letter); a high and a low
    surrogate in a row (UTF-16 written as code points) become the character they encode. Text
    without surrogates is returned as is (the same object).

    Example:
        >>> utf8_safe("Habari \udcff\udcfe") == "Habari \ufffd\ufffd"
        True
        >>> utf8_safe("\ud83d\ude00") == "\U0001f600"
        True
    """
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class DetectionSource(StrEnum):
    """Who decided a :class:`Detection`'s language (a detector of your own may name itself).

    Example:
        >>> DetectionSource.OVERRIDE == "override"
        True
    """

    FASTTEXT = "fasttext"
    """The fastText model (:class:`~bridgex_chain.detect.FastTextDetector`)."""
    OVERRIDE = "override"
    """The caller named the language (``lang=``): no detection ran."""
    CALLABLE = "callable"
    """A plain callable adapted by :func:`as_detector`."""
    NONE = "none"
    """No detection ran: the chain answered an empty query without calling the detector."""


@dataclass(frozen=True, slots=True)
class Detection:
    """The outcome of language detection.

    Attributes:
        lang: FLORES-200 code, or :data:`UNKNOWN` when the detector abstained.
        confidence: probability (0..1) of ``lang``; when abstaining, of the best guess.
        candidates: ``(FLORES code, probability)`` pairs, best first, faithful to the model
            (``yue_Hant`` stays Cantonese here even when ``lang`` is ``zho_Hans``).
        source: who decided: a :class:`DetectionSource`, or a custom detector's own name.
        reason: ``None``, or why the detector abstained or was overridden (``"empty"``,
            ``"no-letters"``, ``"too-short"``, ``"below-threshold"``, ``"not-allowed"``,
            ``"explicit"``).

    Example:
        >>> Detection("swh_Latn", 0.97).is_unknown
        False
    """

    lang: str
    confidence: float
    candidates: tuple[tuple[str, float], ...] = ()
    source: DetectionSource | str = DetectionSource.FASTTEXT
    reason: str | None = None

    @property
    def is_unknown(self) -> bool:
        """Whether the detector abstained."""
        return self.lang == UNKNOWN


@runtime_checkable
class LanguageDetector(Protocol):
    """Anything with ``detect(text) -> Detection``: the seam the chain depends on.

    Example:
        >>> isinstance(as_detector(lambda text: "sw"), LanguageDetector)
        True
    """

    def detect(self, text: str) -> Detection:
        """Return the language of ``text``."""
        ...


class _CallableDetector:
    """Adapts a plain ``str -> Detection`` (or ``str -> language code``) callable."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[str], Detection | str]) -> None:
        self._fn = fn

    def detect(self, text: str) -> Detection:
        result = self._fn(text)
        if isinstance(result, Detection):
            return result
        if isinstance(result, str):
            if result.strip().lower() in (UNKNOWN, "und", ""):
                return Detection(
                    UNKNOWN, 0.0, (), source=DetectionSource.CALLABLE, reason="abstained"
                )
            code = normalize(result)
            return Detection(code, 1.0, ((code, 1.0),), source=DetectionSource.CALLABLE)
        raise DetectorError(
            f"The detector callable {self._fn!r} returned {type(result).__name__}; "
            "it must return a Detection or a language code string."
        )

    def __repr__(self) -> str:
        return f"as_detector({self._fn!r})"


def as_detector(obj: LanguageDetector | Callable[[str], Detection | str]) -> LanguageDetector:
    """Return ``obj`` as a :class:`LanguageDetector`, wrapping a plain callable if needed.

    The callable may return a :class:`Detection` or a language code in any form;
    ``"unknown"`` (or ``"und"`` or an empty string) means it abstained.

    Raises:
        DetectorError: ``obj`` has no ``detect`` method and is not callable.

    Example:
        >>> as_detector(lambda text: "sw").detect("Habari").lang
        'swh_Latn'
    """
    if isinstance(obj, LanguageDetector):
        return obj
    if callable(obj):
        return _CallableDetector(obj)
    raise DetectorError(
        f"{obj!r} is not a language detector: pass an object with detect(text) -> Detection "
        "or a callable text -> Detection."
    )
