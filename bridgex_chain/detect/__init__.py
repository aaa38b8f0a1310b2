"""Step 1 of the pipeline: which language is the query in? Always offline.

- :mod:`~bridgex_chain.detect.base`: :class:`Detection`, the :class:`LanguageDetector` seam and
  :func:`as_detector` for plain callables.
- :mod:`~bridgex_chain.detect.fasttext_detector`: :class:`FastTextDetector`, the default
  detector, and its rules (abstention, allowed sets, close languages).
- :mod:`~bridgex_chain.detect.model_files`: where the bundled SIB-200 model and lid.176 lite
  live.

Example:
    >>> from bridgex_chain.detect import FastTextDetector
    >>> FastTextDetector().detect("Habari! Ninawezaje kupika wali mtamu nyumbani?").lang
    'swh_Latn'
"""

from __future__ import annotations

from bridgex_chain.detect.base import (
    UNKNOWN,
    Detection,
    DetectionSource,
    LanguageDetector,
    as_detector,
    utf8_safe,
)
from bridgex_chain.detect.fasttext_detector import (
    DEFAULT_ALLOWED_FLOOR,
    DEFAULT_MAX_INPUT_CHARS,
    DEFAULT_MIN_CHARS,
    DEFAULT_THRESHOLD,
    FastTextDetector,
)
from bridgex_chain.detect.model_files import bundled_model_path, lite_model_path

__all__ = [
    "DEFAULT_ALLOWED_FLOOR",
    "DEFAULT_MAX_INPUT_CHARS",
    "DEFAULT_MIN_CHARS",
    "DEFAULT_THRESHOLD",
    "UNKNOWN",
    "Detection",
    "DetectionSource",
    "FastTextDetector",
    "LanguageDetector",
    "as_detector",
    "bundled_model_path",
    "lite_model_path",
    "utf8_safe",
]
