"""The bundled starter probe set, built at run time from CLDR (babel) and unicode-rbnf data.

No lexicon file ships with bridgex-chain: :func:`starter_probe_set` assembles word pairs from
data two permissively licensed dependencies already carry, aligned across languages by their
stable CLDR keys:

* weekday names (``day:0`` = Monday … ``day:6``) and month names (``month:1`` … ``month:12``),
  wide, **stand-alone** context (Finnish needs it for plain forms: *tammikuu*, not *tammikuuta*);
* language names (``language:sw``; ISO 639-1 codes), territory names (``territory:KE``;
  ISO 3166 alpha-2 countries, pseudo/supranational codes left out) and currency names
  (``currency:KES``; currencies that are legal tender in one of those territories today);
* number words from unicode-rbnf (``number:1`` … ``number:30``, the tens to 90, and 100).

Clean-up rules (documented because they shape the probes):

* every term is NFC-normalised, stripped and **lowercased** (MUSE convention; a no-op for
  scripts without case, so zh/ja/ar/he are unchanged);
* terms carrying annotations — any of ``( ) [ ] , ; /`` — are dropped;
* for the *name* categories (language, territory, currency) a non-English term equal to the
  English one (case-folded, ``&`` read as ``and``) is dropped: thin CLDR locales such as
  Tagalog (``fil``) copy untranslated English names, and a same-as-English loan is a poor
  probe anyway;
* Tagalog number words lose CLDR's dictionary accents (``isá`` → ``isa``), as Tagalog is written;
* pairs whose target equals the source word are dropped, duplicates merged
  (:meth:`ProbeSet.from_pairs`).

Babel caches resolved CLDR aliases in dictionaries shared between locales, so after some
locales were read the stand-alone weekday names of others come back wrong (e.g. Swahili names
for German). Calendar names are therefore read from freshly loaded locale files.

Example:
    >>> ps = starter_probe_set()
    >>> ps.name, dict(ps.word_pairs("sw", "en"))["agosti"]
    ('cldr-starter-v1', 'august')
"""

from __future__ import annotations

import logging
import pickle
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.metadata import version
from typing import Any, Final

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import STUDY_LANGUAGES, get_language, normalize
from bridgex_chain.probing.probe_set import Pair, ProbeSet

__all__ = [
    "STARTER_NAME",
    "aligned_entries",
    "cldr_locale",
    "starter_probe_set",
]

logger = logging.getLogger(__name__)

STARTER_NAME: Final = "cldr-starter-v1"
_ENGLISH: Final = "eng_Latn"
_LOCALE_OVERRIDES: Final[dict[str, str]] = {"tgl_Latn": "fil", "zho_Hant": "zh_Hant"}
_NUMBERS: Final[tuple[int, ...]] = (*range(1, 31), 40, 50, 60, 70, 80, 90, 100)
_NAME_CATEGORIES: Final = ("language", "territory", "currency")
_ANNOTATION_CHARS: Final = frozenset("()[],;/")
# Not countries: unknown/pseudo regions, EU/eurozone/UN, outlying, and exceptional reservations.
_NOT_COUNTRIES: Final = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)
_STRIP_ACCENTS: Final = frozenset({"tgl_Latn"})


def cldr_locale(code: str) -> str:
    """Return the CLDR locale babel uses for a language (``tgl_Latn`` → ``fil``).

    Raises:
        ProbeDataError: babel has no locale for the language.

    Example:
        >>> cldr_locale("swh_Latn"), cldr_locale("tl"), cldr_locale("zho_Hans")
        ('sw', 'fil', 'zh')
    """
    from babel import localedata

    flores = normalize(code)
    lang = get_language(flores)
    locale = _LOCALE_OVERRIDES.get(flores) or lang.iso639_1 or lang.iso639_3
    if not localedata.exists(locale):
        raise ProbeDataError(
            f"CLDR (babel) has no locale for {flores}; the starter probe set cannot cover it. "
            "Bring a MUSE-format lexicon for this language instead."
        )
    return locale


def _fresh_locale_data(locale: str) -> Any:
    """Locale data merged from the pickled CLDR files, bypassing babel's shared cache."""
    from babel import localedata
    from babel.core import get_global

    chain = [locale]
    while chain[-1] != "root":
        name = chain[-1]
        parent = get_global("parent_exceptions").get(name)
        chain.append(parent or ("_".join(name.split("_")[:-1]) if "_" in name else "root"))
    data: dict[Any, Any] = {}
    for name in reversed(chain):
        with open(localedata.resolve_locale_filename(name), "rb") as handle:
            raw = pickle.load(handle)
        localedata.merge(data, raw)
    return localedata.LocaleDataDict(data)


def _comparable(term: str) -> str:
    """Form used to spot untranslated English names ("Bosnia and Herzegovina" ~ "& ")."""
    return " ".join(unicodedata.normalize("NFKC", term).replace("&", "and").casefold().split())


def _clean(term: str | None, flores: str) -> str | None:
    if not term:
        return None
    text = unicodedata.normalize("NFC", term).strip()
    if flores in _STRIP_ACCENTS:
        decomposed = unicodedata.normalize("NFD", text.replace("’", "'"))
        text = unicodedata.normalize(
            "NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
        )
    if not text or _ANNOTATION_CHARS & set(text):
        return None
    return text.lower()


def _calendar_terms(locale: str) -> dict[str, str]:
    data = _fresh_locale_data(locale)
    out: dict[str, str] = {}
    for day, name in data["days"]["stand-alone"]["wide"].items():
        out[f"day:{int(day)}"] = str(name)
    for month, name in data["months"]["stand-alone"]["wide"].items():
        out[f"month:{int(month)}"] = str(name)
    return out


def _number_terms(locale: str) -> dict[str, str]:
    from unicode_rbnf import RbnfEngine

    try:
        engine = RbnfEngine.for_language(locale.split("_")[0])
    except Exception as err:  # unicode-rbnf raises plain errors for unknown languages
        logger.warning("No unicode-rbnf number words for %s (%s); skipping numbers", locale, err)
        return {}
    return {f"number:{n}": str(engine.format_number(n).text) for n in _NUMBERS}


@lru_cache(maxsize=1)
def _country_and_currency_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from babel import Locale
    from babel.numbers import get_territory_currencies

    countries = tuple(sorted(
        str(code) for code in Locale("en").territories
        if len(str(code)) == 2 and str(code).isalpha() and code not in _NOT_COUNTRIES
    ))  # fmt: skip
    currencies = sorted({c for t in countries for c in get_territory_currencies(t, tender=True)})
    return countries, tuple(currencies)


def _name_terms(locale: str) -> dict[str, str]:
    from babel import Locale

    loc = Locale.parse(locale)
    countries, currencies = _country_and_currency_keys()
    out: dict[str, str] = {}
    for code, name in loc.languages.items():
        if len(code) == 2 and code.isalpha():
            out[f"language:{code}"] = name
    for code in countries:
        if code in loc.territories:
            out[f"territory:{code}"] = loc.territories[code]
    for code in currencies:
        if code in loc.currencies:
            out[f"currency:{code}"] = loc.currencies[code]
    return out


def _raw_terms(flores: str) -> dict[str, str]:
    locale = cldr_locale(flores)
    return {**_calendar_terms(locale), **_number_terms(locale), **_name_terms(locale)}


def aligned_entries(languages: Iterable[str] = STUDY_LANGUAGES) -> dict[str, dict[str, str]]:
    """Return ``{cldr key: {language: term}}`` after the module's clean-up rules.

    Example:
        >>> aligned_entries(["sw", "fi"])["month:1"]
        {'swh_Latn': 'januari', 'fin_Latn': 'tammikuu'}
    """
    codes = list(dict.fromkeys(normalize(code) for code in languages))
    english = _raw_terms(_ENGLISH)
    entries: dict[str, dict[str, str]] = {}
    for flores in codes:
        raw = english if flores == _ENGLISH else _raw_terms(flores)
        for key, term in raw.items():
            if (
                flores != _ENGLISH
                and key.split(":", 1)[0] in _NAME_CATEGORIES
                and _comparable(term) == _comparable(english.get(key, ""))
            ):
                continue
            cleaned = _clean(term, flores)
            if cleaned:
                entries.setdefault(key, {})[flores] = cleaned
    return entries


def _pairs(entries: Mapping[str, Mapping[str, str]], codes: list[str]) -> dict[Pair, list[Pair]]:
    pairs: dict[Pair, list[Pair]] = {(s, t): [] for s in codes for t in codes if s != t}
    for terms in entries.values():
        present = [c for c in codes if c in terms]
        for s in present:
            for t in present:
                if s != t:
                    pairs[(s, t)].append((terms[s], terms[t]))
    return pairs


@lru_cache(maxsize=8)
def _build(codes: tuple[str, ...]) -> ProbeSet:
    entries = aligned_entries(codes)
    source = (
        f"Unicode CLDR via babel {version('babel')} (Unicode License v3): stand-alone weekday "
        f"and month names, language/territory/currency names; number words from unicode-rbnf "
        f"{version('unicode-rbnf')} (MIT; CLDR RBNF rules). Aligned by CLDR key."
    )
    return ProbeSet.from_pairs(STARTER_NAME, _pairs(entries, list(codes)), source=source)


def starter_probe_set(languages: Iterable[str] = STUDY_LANGUAGES) -> ProbeSet:
    """Build (once per process) the CLDR starter probe set for ``languages``.

    Every ordered pair of distinct languages gets the word pairs of the CLDR keys both
    languages have. The default covers the 15 BridgeX-ICL study languages.

    Raises:
        ProbeDataError: a language has no CLDR locale.

    Example:
        >>> len(starter_probe_set().word_pairs("swh_Latn", "eng_Latn")) > 200
        True
    """
    codes = tuple(sorted(dict.fromkeys(normalize(code) for code in languages)))
    return _build(codes)
