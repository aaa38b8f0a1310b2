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
* calendar names equal to CLDR root's placeholders (``M01`` … ``M12``, ``Sun`` … ``Sat``) are
  dropped: a locale without its own calendar names inherits them from root;
* pairs whose target equals the source word are dropped, duplicates merged
  (:meth:`ProbeSet.from_pairs`).

Which locale a language reads (:func:`cldr_locale`): an explicit override (``tgl_Latn`` →
``fil``, ``azb_Arab`` → ``az_Arab``), else CLDR's own language aliases (``zsm`` → ``ms``,
``prs`` → ``fa_AF``, ``ajp`` → ``apc``), the ISO 639-1 code, the ISO 639-3 code, and last the
macrolanguage's locale (``pbt`` → ``ps``, ``quy`` → ``qu``) unless another FLORES-200 language
already reads a locale of that macrolanguage (Egyptian Arabic does not get Modern Standard
Arabic's ``ar``, Banjar not Malay's ``ms``). The locale must be written in the language's
FLORES script: if its default script differs, the script-specific locale is used when CLDR has
one (``zho_Hant`` → ``zh_Hant``, ``kas_Deva`` → ``ks_Deva``), else there is none
(``arb_Latn``, ``tzm_Tfng``: CLDR's ``tzm`` is written in Latin). How far each language's data
goes is measured by :mod:`bridgex_chain.probing.starter_quality`.

Babel caches resolved CLDR aliases in dictionaries shared between locales, so after some
locales were read the stand-alone weekday names of others come back wrong (e.g. Swahili names
for German). All names are therefore read from freshly loaded locale files, with babel's
inheritance rules (a ``lang_Script`` locale in a non-default script inherits from root).

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
from functools import cache, lru_cache
from importlib import resources
from importlib.metadata import version
from typing import Any, Final

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import STUDY_LANGUAGES, flores_codes, get_language, normalize
from bridgex_chain.probing.probe_set import Pair, ProbeSet

__all__ = [
    "MISSING_LOCALE_ADVICE",
    "STARTER_NAME",
    "aligned_entries",
    "cldr_locale",
    "cleaned_terms",
    "locale_or_reason",
    "starter_probe_set",
]

logger = logging.getLogger(__name__)

STARTER_NAME: Final = "cldr-starter-v1"
_ENGLISH: Final = "eng_Latn"
# azb: CLDR aliases no code to it, but its az_Arab locale (likely region IR) is South Azerbaijani.
_LOCALE_OVERRIDES: Final[dict[str, str]] = {
    "tgl_Latn": "fil",
    "zho_Hant": "zh_Hant",
    "azb_Arab": "az_Arab",
}
# A locale whose likely script is one of these is also written in the scripts they unite.
_UNION_SCRIPTS: Final[dict[str, frozenset[str]]] = {
    "Kore": frozenset({"Hang", "Hani"}),
    "Jpan": frozenset({"Hira", "Kana", "Hrkt", "Hani"}),
}
MISSING_LOCALE_ADVICE: Final = (
    "the starter probe set cannot cover it. Use a parallel corpus (--parallel DIR, FLORES / "
    "SIB-200 layout) or bring a MUSE-format lexicon (--lexicon DIR) for this language instead."
)
_NUMBERS: Final[tuple[int, ...]] = (*range(1, 31), 40, 50, 60, 70, 80, 90, 100)
_NAME_CATEGORIES: Final = ("language", "territory", "currency")
_ANNOTATION_CHARS: Final = frozenset("()[],;/")
# Not countries: unknown/pseudo regions, EU/eurozone/UN, outlying, and exceptional reservations.
_NOT_COUNTRIES: Final = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)
_STRIP_ACCENTS: Final = frozenset({"tgl_Latn"})
_RBNF_ALIASES: Final[dict[str, str]] = {"nb": "no"}  # unicode-rbnf's nb.xml has no rules


def _likely_script(locale: str) -> str | None:
    """The script a CLDR locale is written in: its script subtag, else its likely script."""
    from babel.core import get_global, parse_locale

    lang, _, script, *_ = parse_locale(locale)
    if script:
        return script
    likely = get_global("likely_subtags")
    for key in (locale, lang):
        if key in likely:
            return parse_locale(likely[key])[2]
    return None


def _writes(locale: str, script: str) -> bool:
    default = _likely_script(locale)
    return default == script or script in _UNION_SCRIPTS.get(default or "", frozenset())


def _candidates(flores: str) -> list[str]:
    from babel.core import get_global

    lang = get_language(flores)
    aliases = get_global("language_aliases")
    found = (
        _LOCALE_OVERRIDES.get(flores),
        aliases.get(lang.iso639_3),
        lang.iso639_1,
        lang.iso639_3,
    )
    return list(dict.fromkeys(c for c in found if c))


def _in_script(bases: Iterable[str], flores: str) -> tuple[str | None, str]:
    """The first of ``bases`` babel has, in the FLORES code's script; else why there is none."""
    from babel import localedata

    script = flores.split("_")[1]
    reason = f"CLDR has no locale for {flores}"
    for base in bases:
        if not localedata.exists(base):
            continue
        if _writes(base, script):
            return base, ""
        variant = f"{base.split('_')[0]}_{script}"
        if localedata.exists(variant):
            return variant, ""
        reason = (
            f"CLDR has no {script}-script locale for {flores} "
            f"(its locale {base} is written in {_likely_script(base)})"
        )
    return None, reason


@cache
def _primary_locales() -> dict[str, str]:
    """``{CLDR language: FLORES code}`` of the FLORES-200 codes found without macrolanguages."""
    owners: dict[str, str] = {}
    for flores in sorted(flores_codes()):
        locale, _ = _in_script(_candidates(flores), flores)
        if locale:
            owners.setdefault(locale.split("_")[0], flores)
    return owners


@cache
def locale_or_reason(code: str) -> tuple[str | None, str | None]:
    """Return ``(CLDR locale, None)`` for a language, or ``(None, why CLDR has none)``.

    The rules are the module's (see its docstring); :func:`cldr_locale` raises instead.

    Raises:
        UnknownLanguage: the code is no language.

    Example:
        >>> locale_or_reason("pbt_Arab"), locale_or_reason("ace_Latn")
        (('ps', None), (None, 'CLDR has no locale for ace_Latn'))
        >>> locale_or_reason("arz_Arab")[1]
        'CLDR has no locale for arz_Arab (ar, its macrolanguage, is the locale of arb_Arab)'
    """
    from langcodes.data_dicts import MACROLANGUAGES

    flores = normalize(code)
    locale, reason = _in_script(_candidates(flores), flores)
    if locale:
        return locale, None
    macro = MACROLANGUAGES.get(flores.split("_")[0])
    if macro and reason == f"CLDR has no locale for {flores}":
        from babel.core import get_global

        owner = _primary_locales().get(macro)
        if owner and owner != flores:
            return None, f"{reason} ({macro}, its macrolanguage, is the locale of {owner})"
        bases = dict.fromkeys(b for b in (get_global("language_aliases").get(macro), macro) if b)
        locale, reason = _in_script(bases, flores)
        if locale:
            return locale, None
    return None, reason


def cldr_locale(code: str) -> str:
    """Return the CLDR locale babel uses for a language (``tgl_Latn`` → ``fil``).

    Macrolanguage members read their macrolanguage's locale (``zsm_Latn`` → ``ms``); a FLORES
    script that is not the locale's default needs a script-specific locale (``zho_Hant`` →
    ``zh_Hant``). The module docstring gives the rules.

    Raises:
        ProbeDataError: babel has no locale for the language (in its script).

    Example:
        >>> cldr_locale("swh_Latn"), cldr_locale("tl"), cldr_locale("zho_Hans")
        ('sw', 'fil', 'zh')
        >>> cldr_locale("npi_Deva"), cldr_locale("prs_Arab"), cldr_locale("kas_Deva")
        ('ne', 'fa_AF', 'ks_Deva')
    """
    locale, reason = locale_or_reason(code)
    if locale is None:
        raise ProbeDataError(f"{reason}; {MISSING_LOCALE_ADVICE}")
    return locale


def _parent(name: str) -> str:
    """Babel's parent locale: the exceptions, root for a non-default script, else one subtag up."""
    from babel.core import get_global, parse_locale

    parent = get_global("parent_exceptions").get(name)
    if parent:
        return str(parent)
    lang, territory, script, *rest = parse_locale(name)
    if script and not territory and not any(rest) and _likely_script(lang) != script:
        return "root"
    return "_".join(name.split("_")[:-1]) if "_" in name else "root"


def _fresh_locale_data(locale: str) -> Any:
    """Locale data merged from the pickled CLDR files, bypassing babel's shared cache."""
    from babel import localedata

    chain = [locale]
    while chain[-1] != "root":
        chain.append(_parent(chain[-1]))
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


def _calendar_names(data: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for day, name in data["days"]["stand-alone"]["wide"].items():
        out[f"day:{int(day)}"] = str(name)
    for month, name in data["months"]["stand-alone"]["wide"].items():
        out[f"month:{int(month)}"] = str(name)
    return out


@cache
def _root_calendar() -> dict[str, str]:
    return _calendar_names(_fresh_locale_data("root"))


def _calendar_terms(data: Any) -> dict[str, str]:
    root = _root_calendar()
    return {key: name for key, name in _calendar_names(data).items() if root.get(key) != name}


@cache
def _rbnf_languages() -> frozenset[str]:
    folder = resources.files("unicode_rbnf").joinpath("rbnf")
    return frozenset(
        f.name.removesuffix(".xml") for f in folder.iterdir() if f.name.endswith(".xml")
    )


def _rbnf_candidates(locale: str) -> list[str]:
    """The unicode-rbnf rules for a locale: its own, else its language's (same script only)."""
    from babel.core import parse_locale

    lang, _, script, *_ = parse_locale(locale)
    found = (locale, None if script else lang, None if script else _RBNF_ALIASES.get(lang))
    return [c for c in dict.fromkeys(found) if c and c in _rbnf_languages()]


def _number_terms(locale: str) -> dict[str, str]:
    from unicode_rbnf import RbnfEngine

    for language in _rbnf_candidates(locale):
        try:
            engine = RbnfEngine.for_language(language)
            return {f"number:{n}": str(engine.format_number(n).text) for n in _NUMBERS}
        except Exception as err:  # unicode-rbnf raises plain errors ("No rulesets" for nb)
            logger.debug("unicode-rbnf cannot spell numbers for %s: %s", language, err)
    logger.debug("No unicode-rbnf number words for %s; skipping numbers", locale)
    return {}


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


def _name_terms(data: Any) -> dict[str, str]:
    countries, currencies = _country_and_currency_keys()
    languages, territories = data.get("languages", {}), data.get("territories", {})
    currency_names = data.get("currency_names", {})
    out: dict[str, str] = {}
    for code, name in languages.items():
        if len(code) == 2 and code.isalpha():
            out[f"language:{code}"] = name
    for code in countries:
        if code in territories:
            out[f"territory:{code}"] = territories[code]
    for code in currencies:
        if code in currency_names:
            out[f"currency:{code}"] = currency_names[code]
    return out


@lru_cache(maxsize=256)
def _raw_terms(flores: str) -> dict[str, str]:
    """``{CLDR key: term}`` as CLDR and unicode-rbnf give them (read-only: shared cache)."""
    locale = cldr_locale(flores)
    data = _fresh_locale_data(locale)
    return {**_calendar_terms(data), **_number_terms(locale), **_name_terms(data)}


def _is_english_copy(key: str, term: str, english: Mapping[str, str]) -> bool:
    """A name-category term equal to English's (the copies thin CLDR locales carry)."""
    return key.split(":", 1)[0] in _NAME_CATEGORIES and _comparable(term) == _comparable(
        english.get(key, "")
    )


def cleaned_terms(code: str) -> tuple[dict[str, str], frozenset[str]]:
    """Return a language's ``{CLDR key: term}`` after the clean-up rules, and the copied keys.

    The second item holds the name keys dropped because the term equals English's (before
    clean-up); English itself has none. :func:`aligned_entries` is built from these.

    Raises:
        ProbeDataError: the language has no CLDR locale.

    Example:
        >>> terms, copies = cleaned_terms("swh_Latn")
        >>> terms["day:0"], terms["territory:DE"], "territory:KE" in copies  # Kenya = Kenya
        ('jumatatu', 'ujerumani', True)
    """
    flores = normalize(code)
    raw = _raw_terms(flores)
    english = raw if flores == _ENGLISH else _raw_terms(_ENGLISH)
    out: dict[str, str] = {}
    copies: set[str] = set()
    for key, term in raw.items():
        if flores != _ENGLISH and _is_english_copy(key, term, english):
            copies.add(key)
            continue
        cleaned = _clean(term, flores)
        if cleaned:
            out[key] = cleaned
    return out, frozenset(copies)


def aligned_entries(languages: Iterable[str] = STUDY_LANGUAGES) -> dict[str, dict[str, str]]:
    """Return ``{cldr key: {language: term}}`` after the module's clean-up rules.

    Example:
        >>> aligned_entries(["sw", "fi"])["month:1"]
        {'swh_Latn': 'januari', 'fin_Latn': 'tammikuu'}
    """
    codes = list(dict.fromkeys(normalize(code) for code in languages))
    entries: dict[str, dict[str, str]] = {}
    for flores in codes:
        for key, term in cleaned_terms(flores)[0].items():
            entries.setdefault(key, {})[flores] = term
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
    languages have. The default covers the 15 BridgeX-ICL study languages. Every language CLDR
    has a locale for is taken, however thin; :func:`~bridgex_chain.probing.starter_quality.
    floored_probe_set` refuses the languages under a quality floor.

    Args:
        languages: the languages, any code form :func:`normalize` accepts.

    Raises:
        ProbeDataError: a language has no CLDR locale.

    Example:
        >>> len(starter_probe_set().word_pairs("swh_Latn", "eng_Latn")) > 200
        True
    """
    codes = tuple(sorted(dict.fromkeys(normalize(code) for code in languages)))
    return _build(codes)
