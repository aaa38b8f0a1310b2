"""Normalising any language code or name to a FLORES-200 style code.

Languages are FLORES-200 style codes ``<ISO 639-3>_<ISO 15924>`` (``swh_Latn``).
:func:`normalize` accepts ISO 639-1/2/3 (``sw``, ``swh``, ``swa``, ``ger``), BCP-47 (``pt-BR``,
``zh-Hant``, ``sr-Latn``), FLORES (``swh_Latn``), fastText labels (``__label__sw``,
``__label__swh_Latn``) and English or native names (``Swahili``, ``Kiswahili``). langcodes +
language-data (CLDR, IANA) parse and name; this module maps their answer onto the FLORES-200
list in ``data/flores200.json``:

1. a FLORES-200 code is kept (``yue_Hant`` stays Cantonese);
2. a language with a FLORES-200 entry maps to it, script from the tag or CLDR's likely script
   (``zh`` → ``zho_Hans``, ``zh-TW`` → ``zho_Hant``, ``tl``/``fil`` → ``tgl_Latn``);
3. a macrolanguage maps to the member CLDR calls dominant (``sw``/``swa`` → ``swh_Latn``,
   ``ar`` → ``arb_Arab``, ``ms`` → ``zsm_Latn``, ``fa`` → ``pes_Arab``, ``lv`` → ``lvs_Latn``,
   ``uz`` → ``uzn_Latn``, ``ne`` → ``npi_Deva``, ``mn`` → ``khk_Cyrl``), else to its most
   spoken FLORES member (``ps`` → ``pbt_Arab``, ``no`` → ``nob_Latn``);
4. any other valid language gets a code of the same shape (``br`` → ``bre_Latn``). lid.176
   labels that are Wikipedia codes are translated first (``__label__als`` is Alemannic →
   ``gsw_Latn``; a bare ``als`` is Tosk Albanian, as in FLORES).

The package :mod:`bridgex_chain.languages` exports these names with the registry's.

Example:
    >>> normalize("sw"), normalize("pt-BR"), normalize("__label__tl"), normalize("Chinese")
    ('swh_Latn', 'por_Latn', 'tgl_Latn', 'zho_Hans')
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Final

import langcodes
from langcodes.data_dicts import LIKELY_SUBTAGS, MACROLANGUAGES

from bridgex_chain.errors import UnknownLanguage

__all__ = [
    "flores_codes",
    "likely_script",
    "normalize",
    "normalize_many",
    "registry_codes",
]

# lid.176 labels are Wikipedia language codes. These three mean something else in ISO 639:
# 'als' is Alemannic on Wikipedia (Tosk Albanian in ISO), 'eml' (Emiliano-Romagnolo) was retired
# from ISO 639-3 in favour of 'egl', and 'bh' (Bihari Wikipedia) is written in Bhojpuri.
_LID176_WIKIPEDIA_CODES: Final[dict[str, str]] = {"als": "gsw", "eml": "egl", "bh": "bho"}
_LABEL_PREFIX: Final = "__label__"
_FLORES_RE: Final = re.compile(r"^([A-Za-z]{2,3})_([A-Za-z]{4})$")
# ISO 639 special codes: undetermined, multiple, uncoded, no linguistic content, sign languages.
_NOT_LANGUAGES: Final = frozenset({"und", "mul", "mis", "zxx", "sgn"})
_SCRIPT_RE: Final = re.compile(r"^[A-Z][a-z]{3}$")
# Control characters and lone surrogates: no language name holds one (langcodes' name lookup
# crashes on them with UnicodeError/SystemError).
_NOT_IN_A_CODE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


# --------------------------------------------------------------------------- bundled data


@cache
def _data() -> dict[str, Any]:
    text = resources.files("bridgex_chain").joinpath("data/flores200.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def flores_codes() -> frozenset[str]:
    """Return the FLORES-200 codes (``data/flores200.json``).

    Example:
        >>> "swh_Latn" in flores_codes()
        True
    """
    return frozenset(_data()["flores200"])


@dataclass(frozen=True, slots=True)
class _Index:
    by_tag: dict[tuple[str, str | None], list[str]]  # (normalised language, region) → codes
    by_dominant_macro: dict[str, list[str]]  # 'sw' → ['swh_Latn']
    by_member_macro: dict[str, list[str]]  # 'ps' → ['pbt_Arab'], 'no' → ['nob_Latn', 'nno_Latn']


@cache
def _index() -> _Index:
    by_tag: dict[tuple[str, str | None], list[str]] = {}
    dominant: dict[str, list[str]] = {}
    member: dict[str, list[str]] = {}
    for code in sorted(flores_codes()):
        iso3 = code.split("_")[0]
        tag = langcodes.Language.get(iso3)
        lang = tag.language or iso3
        by_tag.setdefault((lang, tag.territory), []).append(code)
        if tag.territory is None:
            macro = tag.prefer_macrolanguage().language
            if macro and macro != lang:
                dominant.setdefault(macro, []).append(code)
        if lang in MACROLANGUAGES:
            member.setdefault(MACROLANGUAGES[lang], []).append(code)
    for codes in member.values():
        codes.sort(key=lambda c: -langcodes.Language.get(c.split("_")[0]).speaking_population())
    return _Index(by_tag, dominant, member)


# --------------------------------------------------------------------------- normalisation


def _parse(text: str, original: str) -> langcodes.Language:
    """Parse a BCP-47 tag or a language name into a normalised langcodes Language."""
    try:
        tag = langcodes.Language.get(text.replace("_", "-"))
        if tag.language and tag.is_valid():
            return tag
    except ValueError:
        pass
    try:
        found = langcodes.find(text)
    except LookupError:
        raise UnknownLanguage(original) from None
    if not found.language:  # pragma: no cover - langcodes always finds a language
        raise UnknownLanguage(original)
    return found


@cache
def _wiktionary_scripts() -> dict[str, str]:
    """First script language-data's Wiktionary table lists per code (for CLDR's blind spots)."""
    from language_data.util import data_filename

    scripts: dict[str, str] = {}
    try:
        with open(data_filename("wiktionary/codes-en.csv"), encoding="utf-8") as table:
            for line in table:
                fields = line.split("\t")
                script = fields[3].split(",")[0].strip() if len(fields) > 3 else ""
                if _SCRIPT_RE.match(script):
                    scripts[fields[0]] = script
    except OSError:  # pragma: no cover - a language-data build without its source tables
        pass
    return scripts


@lru_cache(maxsize=1024)
def likely_script(language: str, *, via_macro: bool = True) -> str | None:
    """The usual script of a language subtag (CLDR, then Wiktionary, then its macrolanguage).

    Example:
        >>> likely_script("sw"), likely_script("zh")
        ('Latn', 'Hans')
    """
    if language in LIKELY_SUBTAGS:
        return langcodes.Language.get(LIKELY_SUBTAGS[language]).script
    script = _wiktionary_scripts().get(language)
    if script is None and via_macro and language in MACROLANGUAGES:
        return likely_script(MACROLANGUAGES[language], via_macro=False)
    return script


def _pick(codes: list[str], script: str | None, explicit: bool) -> str | None:
    if script is not None:
        for code in codes:
            if code.endswith("_" + script):
                return code
        if explicit:
            return None
    return codes[0] if codes else None


def _to_flores(tag: langcodes.Language, original: str) -> str:
    lang = tag.language
    assert lang is not None
    explicit = tag.script is not None
    script = tag.script
    if script is None and lang in LIKELY_SUBTAGS:
        script = tag.maximize().script  # uses the region too: zh-TW → Hant
    script = script or likely_script(lang)
    index = _index()
    macro = tag.prefer_macrolanguage().language or lang
    lookups = [
        index.by_tag.get((lang, tag.territory)) if tag.territory else None,
        index.by_tag.get((lang, None)),
        index.by_tag.get((macro, None)),
        index.by_dominant_macro.get(lang),
        index.by_member_macro.get(lang),
    ]
    for codes in lookups:
        if codes:
            picked = _pick(codes, script, explicit)
            if picked is not None:
                return picked
            break  # the language is in FLORES but not in this script: construct below
    if script is None or lang in _NOT_LANGUAGES:
        raise UnknownLanguage(
            original,
            hint="It names no single language with a known script; give a FLORES-200 code "
            "with its script, e.g. 'swh_Latn'.",
        )
    iso3 = langcodes.Language.make(language=lang).to_alpha3()
    return f"{iso3}_{script}"


def normalize(code: str) -> str:
    r"""Normalise any language code or name to a FLORES-200 style code.

    Args:
        code: ISO 639-1/2/3, BCP-47, FLORES-200, a fastText label or an English/native name.

    Returns:
        The FLORES-200 code (``"swh_Latn"``); languages outside FLORES-200 get a code of the
        same shape (``"bre_Latn"``).

    Raises:
        UnknownLanguage: the input names no language langcodes knows (a code holding a control
            character or a lone surrogate names none: it is refused before the name lookup,
            which cannot take them).

    Example:
        >>> normalize("swa"), normalize("zh-TW"), normalize("__label__swh_Latn")
        ('swh_Latn', 'zho_Hant', 'swh_Latn')
        >>> normalize("sw\x00")
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.UnknownLanguage: Unknown language 'sw\x00'. Use an ISO 639-1/3 ...
    """
    if not isinstance(code, str):
        raise UnknownLanguage(repr(code), hint="Language codes are strings such as 'sw'.")
    if _NOT_IN_A_CODE.search(code.strip()):
        raise UnknownLanguage(code)
    return _normalize(code)


@lru_cache(maxsize=4096)
def _normalize(code: str) -> str:
    text = code.strip()
    from_label = text.startswith(_LABEL_PREFIX)
    if from_label:
        text = text[len(_LABEL_PREFIX) :]
    if not text:
        raise UnknownLanguage(code)
    match = _FLORES_RE.match(text)
    if match:
        flores = f"{match.group(1).lower()}_{match.group(2).title()}"
        if flores in flores_codes():
            return flores
        text = flores.replace("_", "-")
    elif from_label:
        text = _LID176_WIKIPEDIA_CODES.get(text.lower(), text)
    return _to_flores(_parse(text, code), code)


@cache
def registry_codes() -> tuple[str, ...]:
    """Return every code the registry ships, sorted: FLORES-200 plus every lid.176 label.

    Example:
        >>> "bre_Latn" in registry_codes()
        True
    """
    codes = set(flores_codes())
    codes.update(normalize(_LABEL_PREFIX + label) for label in _data()["lid176_labels"])
    return tuple(sorted(codes))


def normalize_many(codes: Iterable[str]) -> frozenset[str]:
    """Normalise several codes at once (a set of FLORES codes).

    Example:
        >>> sorted(normalize_many(["sw", "en"]))
        ['eng_Latn', 'swh_Latn']
    """
    return frozenset(normalize(code) for code in codes)
