"""One language registry: normalise any language code to FLORES-200 style and describe it.

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

fastText answers ``yue``/``wuu`` for short Mandarin: :func:`bridging_code` looks Cantonese and
Wu up as ``zho_Hans`` while :func:`normalize` stays faithful, so detection keeps the original
among its candidates. :func:`close_languages` relates Malay ~ Indonesian and the like.

Example:
    >>> normalize("sw"), normalize("pt-BR"), normalize("__label__tl"), normalize("Chinese")
    ('swh_Latn', 'por_Latn', 'tgl_Latn', 'zho_Hans')
    >>> language_name("zho_Hant"), get_language("sw").native_name
    ('Chinese (Traditional)', 'Kiswahili')
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
from langcodes.data_dicts import (
    LANGUAGE_ALPHA3,
    LANGUAGE_REPLACEMENTS,
    LIKELY_SUBTAGS,
    MACROLANGUAGES,
)

from bridgex_chain.errors import UnknownLanguage

__all__ = [
    "BRIDGING_ALIASES",
    "DEFAULT_BRIDGES",
    "STUDY_LANGUAGES",
    "Language",
    "UnknownLanguage",
    "all_languages",
    "bridging_code",
    "close_languages",
    "get_language",
    "language_name",
    "normalize",
    "normalize_many",
]

STUDY_LANGUAGES: Final[tuple[str, ...]] = (
    "zho_Hans", "jpn_Jpan", "arb_Arab", "heb_Hebr", "ind_Latn", "tgl_Latn", "fin_Latn",
    "hun_Latn", "swh_Latn", "eng_Latn", "deu_Latn", "fra_Latn", "ita_Latn", "por_Latn",
    "spa_Latn",
)  # fmt: skip
"""The 15 languages of the BridgeX-ICL study (7 families), as FLORES-200 codes."""

DEFAULT_BRIDGES: Final[tuple[str, ...]] = (
    "eng_Latn", "deu_Latn", "fra_Latn", "ita_Latn", "por_Latn", "spa_Latn",
)  # fmt: skip
"""The reference implementation's candidate bridge languages."""

BRIDGING_ALIASES: Final[dict[str, str]] = {
    "yue_Hant": "zho_Hans",
    "wuu_Hans": "zho_Hans",
    **dict.fromkeys(
        ("acm_Arab", "acq_Arab", "aeb_Arab", "ajp_Arab", "apc_Arab", "ars_Arab", "ary_Arab"),
        "arb_Arab",
    ),
    "arz_Arab": "arb_Arab",
}
"""Languages looked up as another one in bridge tables: fastText's lid.176 labels short
Mandarin text as Cantonese (``yue``) or Wu (``wuu``), so both bridge as Chinese; the written
Arabic varieties of SIB-200 are often word-for-word Modern Standard Arabic (68 % of ``ars_Arab``
sentences equal their ``arb_Arab`` translation), so every one of them bridges as ``arb_Arab``.
Detection keeps the variety in its candidates."""

# lid.176 labels are Wikipedia language codes. These three mean something else in ISO 639:
# 'als' is Alemannic on Wikipedia (Tosk Albanian in ISO), 'eml' (Emiliano-Romagnolo) was retired
# from ISO 639-3 in favour of 'egl', and 'bh' (Bihari Wikipedia) is written in Bhojpuri.
_LID176_WIKIPEDIA_CODES: Final[dict[str, str]] = {"als": "gsw", "eml": "egl", "bh": "bho"}
_CLOSE_DISTANCE: Final = 15  # langcodes tag_distance at or below which languages count as close
_LABEL_PREFIX: Final = "__label__"
_FLORES_RE: Final = re.compile(r"^([A-Za-z]{2,3})_([A-Za-z]{4})$")
# ISO 639 special codes: undetermined, multiple, uncoded, no linguistic content, sign languages.
_NOT_LANGUAGES: Final = frozenset({"und", "mul", "mis", "zxx", "sgn"})
_SCRIPT_RE: Final = re.compile(r"^[A-Z][a-z]{3}$")
# Union scripts: a language whose likely script is Kore/Jpan is also "default" in Hang/Hira...
_UNION_SCRIPTS: Final[dict[str, frozenset[str]]] = {
    "Kore": frozenset({"Hang", "Hani"}),
    "Jpan": frozenset({"Hira", "Kana", "Hrkt", "Hani"}),
}
# ISO 639-3 → ISO 639-1, preferring current codes to withdrawn ones (he over iw, id over in).
_ALPHA3_TO_ALPHA2: Final[dict[str, str]] = {
    a3: a2
    for a2, a3 in sorted(
        LANGUAGE_ALPHA3.items(), key=lambda item: item[0] not in LANGUAGE_REPLACEMENTS
    )
    if len(a2) == 2
}


@dataclass(frozen=True, slots=True)
class Language:
    """One language as bridgex-chain sees it.

    Attributes:
        code: FLORES-200 style code, e.g. ``"swh_Latn"``.
        iso639_3: ISO 639-3 code (the code's language part), e.g. ``"swh"``.
        iso639_1: two-letter ISO 639-1 code, or the macrolanguage's one when this language is
            its dominant member (``swh`` → ``"sw"``), else ``None``.
        script: ISO 15924 script, e.g. ``"Latn"``.
        name: English name for prompts; the script is named only when it is not the
            language's usual one (``"Chinese"``, ``"Chinese (Traditional)"``).
        native_name: the language's name for itself (CLDR autonym), English if unknown.
        family: top-level language family (``"Niger-Congo"``), ``None`` if not in our table.

    Example:
        >>> get_language("swh_Latn").iso639_1
        'sw'
    """

    code: str
    iso639_3: str
    iso639_1: str | None
    script: str
    name: str
    native_name: str
    family: str | None


# --------------------------------------------------------------------------- bundled data


@cache
def _data() -> dict[str, Any]:
    text = resources.files("bridgex_chain").joinpath("data/flores200.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _families() -> dict[str, str]:
    path = resources.files("bridgex_chain").joinpath("data/language_families.json")
    table: dict[str, str] = json.loads(path.read_text("utf-8"))["families"]
    return {iso3: family for family, codes in table.items() for iso3 in codes.split()}


@cache
def _flores() -> frozenset[str]:
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
    for code in sorted(_flores()):
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
def _likely_script(language: str, *, via_macro: bool = True) -> str | None:
    """The usual script of a language subtag (CLDR, then Wiktionary, then its macrolanguage)."""
    if language in LIKELY_SUBTAGS:
        return langcodes.Language.get(LIKELY_SUBTAGS[language]).script
    script = _wiktionary_scripts().get(language)
    if script is None and via_macro and language in MACROLANGUAGES:
        return _likely_script(MACROLANGUAGES[language], via_macro=False)
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
    script = script or _likely_script(lang)
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
    """Normalise any language code or name to a FLORES-200 style code.

    Args:
        code: ISO 639-1/2/3, BCP-47, FLORES-200, a fastText label or an English/native name.

    Returns:
        The FLORES-200 code (``"swh_Latn"``); languages outside FLORES-200 get a code of the
        same shape (``"bre_Latn"``).

    Raises:
        UnknownLanguage: the input names no language langcodes knows.

    Example:
        >>> normalize("swa"), normalize("zh-TW"), normalize("__label__swh_Latn")
        ('swh_Latn', 'zho_Hant', 'swh_Latn')
    """
    if not isinstance(code, str):
        raise UnknownLanguage(repr(code), hint="Language codes are strings such as 'sw'.")
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
        if flores in _flores():
            return flores
        text = flores.replace("_", "-")
    elif from_label:
        text = _LID176_WIKIPEDIA_CODES.get(text.lower(), text)
    return _to_flores(_parse(text, code), code)


def bridging_code(code: str) -> str:
    """Return the language to look bridges up for: :data:`BRIDGING_ALIASES` applied.

    Example:
        >>> bridging_code("yue"), bridging_code("sw")
        ('zho_Hans', 'swh_Latn')
    """
    flores = normalize(code)
    return BRIDGING_ALIASES.get(flores, flores)


# --------------------------------------------------------------------------- descriptions


def _english_name(subtag: str) -> str | None:
    from language_data.names import code_to_names

    name = code_to_names(subtag).get("en")
    return str(name) if name else None


def _name_subtag(iso3: str) -> str:
    """The subtag whose CLDR names suit prompts: tl (Tagalog), sw (not 'swh (individual)')."""
    normalised = langcodes.Language.get(iso3)
    macro = normalised.prefer_macrolanguage()
    candidates = [
        _ALPHA3_TO_ALPHA2.get(iso3),
        macro.language if macro.language != normalised.language else None,
        iso3,
        normalised.language,
    ]
    for subtag in candidates:
        if subtag and _english_name(subtag):
            return subtag
    return normalised.language or iso3


def _script_is_usual(subtag: str, script: str, iso3: str) -> bool:
    likely = _likely_script(subtag, via_macro=False)
    if likely is None:  # no CLDR data: name the script only if FLORES has several for iso3
        return sum(code.startswith(iso3 + "_") for code in _flores()) <= 1
    return script == likely or script in _UNION_SCRIPTS.get(likely, frozenset())


@lru_cache(maxsize=2048)
def _build(flores: str) -> Language:
    iso3, script = flores.split("_")
    subtag = _name_subtag(iso3)
    tag = langcodes.Language.make(
        language=subtag, script=None if _script_is_usual(subtag, script, iso3) else script
    )
    iso1 = _ALPHA3_TO_ALPHA2.get(iso3)
    if iso1 is None:
        macro = langcodes.Language.get(iso3).prefer_macrolanguage().language
        iso1 = macro if macro and len(macro) == 2 else None
    return Language(
        code=flores,
        iso639_3=iso3,
        iso639_1=iso1,
        script=script,
        name=tag.display_name(),
        native_name=tag.autonym(),
        family=_families().get(iso3),
    )


@lru_cache(maxsize=4096)
def get_language(code: str) -> Language:
    """Return the :class:`Language` for any code form (cached: cheap per request).

    Raises:
        UnknownLanguage: as :func:`normalize`.

    Example:
        >>> get_language("fil").name, get_language("Arabic").family
        ('Tagalog', 'Afro-Asiatic')
    """
    return _build(normalize(code))


def language_name(code: str) -> str:
    """Return the English name to use in prompts (``'Swahili'``, ``'Chinese'``).

    Example:
        >>> language_name("zho_Hans"), language_name("ms")
        ('Chinese', 'Malay')
    """
    return get_language(code).name


@cache
def all_languages() -> tuple[Language, ...]:
    """Every language the registry ships: FLORES-200 plus every fastText lid.176 label.

    Example:
        >>> len(all_languages()) > 200
        True
    """
    return tuple(_build(code) for code in _registry_codes())


def _comparable_tag(code: str) -> str:
    iso3, script = code.split("_")
    return f"{langcodes.Language.get(iso3).language}-{script}"


@lru_cache(maxsize=1024)
def close_languages(code: str) -> frozenset[str]:
    """Languages of the registry that CLDR rates close to ``code`` (same script).

    Two languages are close when langcodes' ``tag_distance`` (CLDR language matching: a
    speaker of one accepts the other) is at most 15 in either direction, e.g. Malay ~
    Indonesian, Croatian ~ Bosnian, Danish ~ Norwegian Bokmål, Chinese ~ Wu. Detection uses it
    to avoid abstaining between near-identical languages.

    Example:
        >>> "ind_Latn" in close_languages("ms")
        True
    """
    flores = normalize(code)
    script = flores.split("_")[1]
    mine = _comparable_tag(flores)
    close = set()
    for other in _registry_codes():
        if other == flores or not other.endswith("_" + script):
            continue
        theirs = _comparable_tag(other)
        distance = min(langcodes.tag_distance(mine, theirs), langcodes.tag_distance(theirs, mine))
        if distance <= _CLOSE_DISTANCE:
            close.add(other)
    return frozenset(close)


@cache
def _registry_codes() -> tuple[str, ...]:
    codes = set(_flores())
    codes.update(normalize(_LABEL_PREFIX + label) for label in _data()["lid176_labels"])
    return tuple(sorted(codes))


def normalize_many(codes: Iterable[str]) -> frozenset[str]:
    """Normalise several codes at once (a set of FLORES codes).

    Example:
        >>> sorted(normalize_many(["sw", "en"]))
        ['eng_Latn', 'swh_Latn']
    """
    return frozenset(normalize(code) for code in codes)
