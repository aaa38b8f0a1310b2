"""Ground layer: every language code normalised to FLORES-200 style, and what we know of each.

- :mod:`~bridgex_chain.languages.codes`: :func:`normalize` (ISO 639, BCP-47, FLORES, fastText
  labels, English or native names → ``swh_Latn``).
- :mod:`~bridgex_chain.languages.registry`: :class:`Language` (names, ISO codes, family),
  :func:`bridging_code`, :func:`close_languages` and the study's language lists.

Example:
    >>> from bridgex_chain.languages import language_name, normalize
    >>> normalize("sw"), language_name("sw")
    ('swh_Latn', 'Swahili')
"""

from __future__ import annotations

from bridgex_chain.languages.codes import (
    flores_codes,
    likely_script,
    normalize,
    normalize_many,
    registry_codes,
)
from bridgex_chain.languages.registry import (
    BRIDGING_ALIASES,
    DEFAULT_BRIDGES,
    STUDY_LANGUAGES,
    Language,
    all_languages,
    borrowing_order,
    bridging_code,
    close_languages,
    get_language,
    language_name,
)

__all__ = [
    "BRIDGING_ALIASES",
    "DEFAULT_BRIDGES",
    "STUDY_LANGUAGES",
    "Language",
    "all_languages",
    "borrowing_order",
    "bridging_code",
    "close_languages",
    "flores_codes",
    "get_language",
    "language_name",
    "likely_script",
    "normalize",
    "normalize_many",
    "registry_codes",
]
