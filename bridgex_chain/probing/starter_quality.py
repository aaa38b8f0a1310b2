r"""How good the CLDR starter probe set is for each language, and the floor a language must pass.

:mod:`~bridgex_chain.probing.starter` can read a CLDR locale for 162 of the 205 languages the
bundled detector labels, but many locales are thin: a handful of names, calendar names
inherited from CLDR root, or English names copied untranslated. :func:`starter_quality`
measures every language against English (the language the probe prompts pair with):

* ``terms``: the word pairs the language has with English after the starter's clean-up rules
  (distinct ``(term, English term)`` pairs, as in :meth:`ProbeSet.word_pairs`);
* ``identical_share``: of the terms the language and English share a CLDR key for, before the
  copies are dropped, the share equal to English's term (case-folded, all categories): a locale
  that copies English scores high;
* ``script_share``: the share of the letters of the kept terms written in the FLORES code's
  script (``\p{Script_Extensions=...}``; ``Hans``/``Hant`` read as Han, ``Jpan`` as
  Hiragana + Katakana + Han): a locale in another script, or holding Latin loans, scores low.

:class:`QualityFloor` holds the thresholds (defaults justified in ``docs/method.md``, "Probe sets
beyond the study languages"); :func:`starter_languages` keeps the languages that pass, and
``starter_probe_set(..., floor=QualityFloor())`` refuses the ones that do not.

Example:
    >>> quality = starter_quality(["swh_Latn", "ace_Latn"])
    >>> quality["swh_Latn"].passed, quality["ace_Latn"].reason
    (True, 'CLDR has no locale for ace_Latn')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

import regex

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import flores_codes, normalize
from bridgex_chain.probing.probe_set import ProbeSet
from bridgex_chain.probing.starter import (
    MISSING_LOCALE_ADVICE,
    cleaned_terms,
    locale_or_reason,
    starter_probe_set,
)

__all__ = [
    "QualityFloor",
    "StarterQuality",
    "detector_languages",
    "floored_probe_set",
    "starter_languages",
    "starter_quality",
]

_ENGLISH: Final = "eng_Latn"
# FLORES scripts that are no Unicode Script value: the scripts they are written in.
_SCRIPT_UNIONS: Final[dict[str, tuple[str, ...]]] = {
    "Hans": ("Hani",),
    "Hant": ("Hani",),
    "Jpan": ("Hira", "Kana", "Hani"),
    "Kore": ("Hang", "Hani"),
}
_LETTER: Final = regex.compile(r"\p{L}")
_NO_SCRIPT: Final = regex.compile(r"\p{sc=Zyyy}|\p{sc=Zinh}")  # Common / Inherited letters


@dataclass(frozen=True, slots=True)
class QualityFloor:
    """What a language's starter data must reach to be used.

    The defaults, read off the distribution over the 205 detector languages (``docs/method.md``,
    "Probe sets beyond the study languages"), keep 140 languages, all 15 study languages among
    them:

    Attributes:
        min_terms: fewest word pairs with English (100: the 22 thin locales below it have 0–97,
            the thinnest kept ones, Papiamento and Tagalog, 106 and 140).
        max_identical_share: largest share of shared terms equal to English's (0.85: between
            Tagalog's 78 %, whose remaining terms are Tagalog, and Cebuano's 91 %, whose remaining
            terms are English names without their accents).
        min_script_share: smallest share of letters in the language's FLORES script (0.9: every
            locale :func:`~bridgex_chain.probing.starter.cldr_locale` maps reaches 98.9 %; a guard
            against a locale written, or inheriting its names, in another script).

    Example:
        >>> QualityFloor()
        QualityFloor(min_terms=100, max_identical_share=0.85, min_script_share=0.9)
    """

    min_terms: int = 100
    max_identical_share: float = 0.85
    min_script_share: float = 0.9


@dataclass(frozen=True, slots=True)
class StarterQuality:
    """One language's starter data measured against English and a :class:`QualityFloor`.

    Attributes:
        code: FLORES-200 code.
        locale: the CLDR locale read (:func:`~bridgex_chain.probing.starter.cldr_locale`), or
            ``None`` when CLDR has none.
        terms: word pairs with English after the clean-up rules.
        identical_share: share of the terms shared with English (before copies are dropped)
            that equal English's term, 0–1.
        script_share: share of the kept terms' letters in the FLORES script, 0–1.
        passed: whether the language passes the floor.
        reason: what is wrong, in words (``None`` when it passed).

    Example:
        >>> q = starter_quality(["swh_Latn"])["swh_Latn"]
        >>> q.locale, q.terms > 300, q.script_share
        ('sw', True, 1.0)
    """

    code: str
    locale: str | None
    terms: int
    identical_share: float
    script_share: float
    passed: bool
    reason: str | None


@cache
def detector_languages() -> tuple[str, ...]:
    """The FLORES-200 codes the bundled detector labels (the 205 SIB-200 languages), sorted.

    Example:
        >>> len(detector_languages()), detector_languages()[0]
        (205, 'ace_Arab')
    """
    return tuple(sorted(flores_codes()))


@cache
def _script_pattern(script: str) -> regex.Pattern[str]:
    scripts = _SCRIPT_UNIONS.get(script, (script,))
    return regex.compile("|".join(rf"\p{{scx={s}}}" for s in scripts))


def _script_share(terms: Iterable[str], script: str) -> float:
    """Share of the letters in ``script``; letters of no script (``ʻ``, U+02BB) do not count."""
    pattern = _script_pattern(script)
    inside = outside = 0
    for letter in _LETTER.findall("".join(terms)):
        if pattern.match(letter):
            inside += 1
        elif not _NO_SCRIPT.match(letter):
            outside += 1
    return inside / (inside + outside) if inside + outside else 0.0


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def _failures(
    terms: int, identical: float, script_share: float, script: str, floor: QualityFloor
) -> list[str]:
    out = []
    if terms < floor.min_terms:
        out.append(f"only {terms} term{'' if terms == 1 else 's'} (floor {floor.min_terms})")
    if identical > floor.max_identical_share:
        out.append(
            f"{_percent(identical)} of terms are identical to English "
            f"(ceiling {_percent(floor.max_identical_share)})"
        )
    if terms and script_share < floor.min_script_share:  # no letters: nothing to judge
        out.append(
            f"{_percent(script_share)} of letters are in {script} "
            f"(floor {_percent(floor.min_script_share)})"
        )
    return out


@lru_cache(maxsize=4096)
def _measure(flores: str, floor: QualityFloor) -> StarterQuality:
    locale, missing = locale_or_reason(flores)
    if locale is None:
        return StarterQuality(flores, None, 0, 0.0, 0.0, False, missing)
    script = flores.split("_")[1]
    terms, copies = cleaned_terms(flores)
    english, _ = cleaned_terms(_ENGLISH)
    if flores == _ENGLISH:
        kept_terms = set(english.values())
        n_terms, identical = len(kept_terms), 0.0
    else:
        shared = [k for k in terms if k in english]
        same = {k for k in shared if terms[k].casefold() == english[k].casefold()}
        copied = [k for k in copies if k in english]
        pairs = {(terms[k], english[k]) for k in shared if k not in same}
        kept_terms = {term for term, _ in pairs}
        n_terms = len(pairs)
        compared = len(shared) + len(copied)
        identical = (len(same) + len(copied)) / compared if compared else 0.0
    script_share = _script_share(sorted(kept_terms), script)
    failures = _failures(n_terms, identical, script_share, script, floor)
    reason = "; ".join(failures) if failures else None
    return StarterQuality(flores, locale, n_terms, identical, script_share, not failures, reason)


def starter_quality(
    languages: Iterable[str] | None = None, floor: QualityFloor | None = None
) -> dict[str, StarterQuality]:
    """Measure the starter data of ``languages`` (default: :func:`detector_languages`).

    Reading all 205 languages takes about two seconds once; results are cached per process.

    Raises:
        UnknownLanguage: a code is no language.

    Example:
        >>> q = starter_quality(["tzm_Tfng", "hat_Latn"])
        >>> q["tzm_Tfng"].reason
        'CLDR has no Tfng-script locale for tzm_Tfng (its locale tzm is written in Latn)'
        >>> q["hat_Latn"].passed, q["hat_Latn"].reason
        (False, 'only 1 term (floor 100)')
    """
    floor = floor or QualityFloor()
    codes = detector_languages() if languages is None else languages
    flores = sorted(dict.fromkeys(normalize(code) for code in codes))
    return {code: _measure(code, floor) for code in flores}


def starter_languages(
    languages: Iterable[str] | None = None, floor: QualityFloor | None = None
) -> tuple[str, ...]:
    """Return the ``languages`` (default: :func:`detector_languages`) that pass ``floor``, sorted.

    Example:
        >>> starter_languages(["sw", "ht", "ace_Latn", "fr"])
        ('fra_Latn', 'swh_Latn')
    """
    quality = starter_quality(languages, floor)
    return tuple(code for code, q in quality.items() if q.passed)


def floored_probe_set(languages: Iterable[str], floor: QualityFloor | None = None) -> ProbeSet:
    """The CLDR starter probe set for ``languages``, refusing any that fails ``floor``.

    Raises:
        ProbeDataError: a language has no CLDR locale or its data fails the floor (each
            failing language is named with the rule it fails).

    Example:
        >>> floored_probe_set(["en", "ht"])
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.ProbeDataError: The CLDR starter data is too thin for hat_Latn: ...
    """
    codes = [normalize(code) for code in languages]
    failed = {code: q for code, q in starter_quality(codes, floor).items() if not q.passed}
    missing = [q.reason for q in failed.values() if q.locale is None]
    if missing:
        raise ProbeDataError(f"{missing[0]}; {MISSING_LOCALE_ADVICE}")
    if failed:
        detail = "; ".join(f"{code}: {q.reason}" for code, q in failed.items())
        raise ProbeDataError(
            f"The CLDR starter data is too thin for {detail}. Lower the floor, or use a "
            "parallel corpus (--parallel DIR) or a MUSE-format lexicon (--lexicon DIR) for "
            "these languages."
        )
    return starter_probe_set(codes)
