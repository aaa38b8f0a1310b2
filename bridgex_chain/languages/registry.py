"""One language registry: normalise any language code to FLORES-200 style and describe it.

Languages are FLORES-200 style codes ``<ISO 639-3>_<ISO 15924>`` (``swh_Latn``).
:func:`~bridgex_chain.languages.codes.normalize` (which documents the mapping) accepts ISO
639-1/2/3, BCP-47, FLORES, fastText labels and English or native names. This module describes
languages (:class:`Language`: names, ISO codes, family) and holds the study's language lists.

fastText answers ``yue``/``wuu`` for short Mandarin: :func:`bridging_code` looks Cantonese and
Wu up as ``zho_Hans`` while :func:`normalize` stays faithful, so detection keeps the original
among its candidates. :func:`close_languages` relates Malay ~ Indonesian and the like.

Example:
    >>> language_name("zho_Hant"), get_language("sw").native_name
    ('Chinese (Traditional)', 'Kiswahili')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Final

import langcodes
from langcodes.data_dicts import LANGUAGE_ALPHA3, LANGUAGE_REPLACEMENTS

from bridgex_chain.languages.codes import flores_codes, likely_script, normalize, registry_codes

__all__ = [
    "BRIDGING_ALIASES",
    "DEFAULT_BRIDGES",
    "STUDY_LANGUAGES",
    "Language",
    "all_languages",
    "borrowing_order",
    "bridging_code",
    "close_languages",
    "get_language",
    "language_name",
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

_CLOSE_DISTANCE: Final = 15  # langcodes tag_distance at or below which languages count as close
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


def bridging_code(code: str) -> str:
    """Return the language to look bridges up for: :data:`BRIDGING_ALIASES` applied.

    Example:
        >>> bridging_code("yue"), bridging_code("sw")
        ('zho_Hans', 'swh_Latn')
    """
    flores = normalize(code)
    return BRIDGING_ALIASES.get(flores, flores)


# --------------------------------------------------------------------------- bundled data


@cache
def _families() -> dict[str, str]:
    path = resources.files("bridgex_chain").joinpath("data/language_families.json")
    table: dict[str, str] = json.loads(path.read_text("utf-8"))["families"]
    return {iso3: family for family, codes in table.items() for iso3 in codes.split()}


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
    likely = likely_script(subtag, via_macro=False)
    if likely is None:  # no CLDR data: name the script only if FLORES has several for iso3
        return sum(code.startswith(iso3 + "_") for code in flores_codes()) <= 1
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
    return tuple(_build(code) for code in registry_codes())


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
    for other in registry_codes():
        if other == flores or not other.endswith("_" + script):
            continue
        theirs = _comparable_tag(other)
        distance = min(langcodes.tag_distance(mine, theirs), langcodes.tag_distance(theirs, mine))
        if distance <= _CLOSE_DISTANCE:
            close.add(other)
    return frozenset(close)


def borrowing_order(code: str) -> list[str]:
    """The languages whose entry may serve ``code``: its close languages, then theirs, sorted.

    The order the chain tries when ``code`` has no bridge-table entry of its own (Minangkabau:
    Malay, then Malay's close languages).

    Example:
        >>> borrowing_order("min_Latn")
        ['zsm_Latn', 'bjn_Latn', 'ind_Latn']
    """
    flores = normalize(code)
    near = sorted(close_languages(flores))
    further = sorted({c for n in near for c in close_languages(n)} - {flores, *near})
    return near + further
