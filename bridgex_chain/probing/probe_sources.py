"""One probe set for many languages: each language's probes from the best source it has.

A build over every language the detector knows cannot take all its probes from CLDR: many
locales are thin or missing. :func:`coverage_probe_set` picks, per language L:

1. ``cldr`` — the CLDR starter's word pairs between L and each bridge, when L passes the
   starter's quality floor (:func:`~bridgex_chain.probing.starter.starter_quality`);
2. ``parallel`` — otherwise, sentence pairs between L and each bridge from the probe part of a
   parallel corpus the user points at (:func:`~bridgex_chain.probing.parallel_probes.
   parallel_probe_set`; FLORES / SIB-200 layout);
3. ``none`` — otherwise, with the reason in words (no CLDR data that passes the floor, and no
   parallel corpus or no text in L there).

Only the directions the chat entry ``(L, L)`` needs are built — L to and from each bridge —
plus the bridges among themselves (their own entries and neurons): with 200 languages, every
pair of languages would be 40 000 directions. The sources are recorded per language
(:meth:`CoverageProbeSet.sources_param`, stored in the run's parameters) so that
``bridgex-chain table show --coverage`` can say where each entry's probes came from.

Example:
    >>> rows = {code: {str(i): f"{code} sentence {i}" for i in range(60)}
    ...         for code in ("ace_Latn", "eng_Latn", "fra_Latn")}
    >>> built = coverage_probe_set(["sw", "ace_Latn", "ilo_Latn"], ["en", "fr"], parallel=rows)
    >>> {lang: src.kind for lang, src in built.sources.items()}
    {'swh_Latn': 'cldr', 'ace_Latn': 'parallel', 'ilo_Latn': 'none'}
    >>> built.probe_set.name
    'cldr-starter-v1+parallel'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import normalize
from bridgex_chain.probing.probe_set import Pair, ProbeSet

if TYPE_CHECKING:
    from bridgex_chain.probing.options import BuildOptions

__all__ = [
    "CoverageProbeSet",
    "LanguageSource",
    "coverage_probe_set",
    "resolve_probe_sources",
]

SourceKind = Literal["cldr", "parallel", "none"]
_PARALLEL_PAIRS: Final = 64


@dataclass(frozen=True)
class LanguageSource:
    """Where one language's probes come from.

    Attributes:
        language: FLORES-200 code.
        kind: ``cldr``, ``parallel`` or ``none``.
        detail: What was found (``"412 CLDR terms"``, ``"64 sentence pairs"``) or, for
            ``none``, why there is no probe, in words that say what would help.

    Example:
        >>> LanguageSource("ilo_Latn", "none", "no parallel corpus given").covered
        False
    """

    language: str
    kind: SourceKind
    detail: str

    @property
    def covered(self) -> bool:
        """Whether the language has probes (a chat entry can be built)."""
        return self.kind != "none"


@dataclass(frozen=True)
class CoverageProbeSet:
    """A probe set over many languages and, per language, the source of its probes.

    Attributes:
        probe_set: The merged probe set (CLDR word pairs and parallel sentence pairs).
        sources: ``{language: LanguageSource}`` in the order asked, bridges excluded.

    Example:
        >>> built = coverage_probe_set(["sw"], ["en"])
        >>> built.covered(), built.sources_param()["swh_Latn"]["kind"]
        (['swh_Latn'], 'cldr')
    """

    probe_set: ProbeSet
    sources: Mapping[str, LanguageSource]

    def covered(self) -> list[str]:
        """The languages that have probes, in the order asked."""
        return [lang for lang, src in self.sources.items() if src.covered]

    def uncovered(self) -> dict[str, str]:
        """``{language: why it has no probe}``."""
        return {lang: src.detail for lang, src in self.sources.items() if not src.covered}

    def sources_param(self) -> dict[str, dict[str, str]]:
        """The JSON form stored in a run's parameters (``probe_sources``)."""
        return {lang: {"kind": s.kind, "detail": s.detail} for lang, s in self.sources.items()}


def _cldr_pairs(
    entries: Mapping[str, Mapping[str, str]], langs: Sequence[str], bridges: Sequence[str]
) -> dict[Pair, list[Pair]]:
    """CLDR word pairs L↔B for each L and bridge B, and between the bridges."""
    wanted: set[Pair] = {(b, c) for b in bridges for c in bridges if b != c}
    wanted |= {d for lang in langs for b in bridges if b != lang for d in ((lang, b), (b, lang))}
    pairs: dict[Pair, list[Pair]] = {d: [] for d in sorted(wanted)}
    for terms in entries.values():
        for src, trg in pairs:
            if src in terms and trg in terms:
                pairs[(src, trg)].append((terms[src], terms[trg]))
    return pairs


def _parallel_reason(lang: str, parallel: Mapping[str, Mapping[str, str]] | None) -> str | None:
    if parallel is None:
        return "no parallel corpus given (--parallel DIR, FLORES / SIB-200 layout)"
    if not parallel.get(lang):
        return "the parallel corpus has no text in this language"
    return None


def coverage_probe_set(
    languages: Iterable[str],
    bridges: Iterable[str],
    *,
    parallel: Mapping[str, Mapping[str, str]] | None = None,
    max_pairs: int = _PARALLEL_PAIRS,
    seed: int = 0,
    parallel_name: str = "parallel",
) -> CoverageProbeSet:
    """Probes for ``languages`` against ``bridges``, each language from its best source.

    Args:
        languages: Languages whose chat entry is to be built (bridges among them are skipped:
            their probes are always CLDR's).
        bridges: Candidate bridge languages; they must pass the CLDR starter's floor.
        parallel: ``{language: {row id: text}}`` of a parallel corpus's train split (every
            row, the probe part is chosen inside); ``None``: CLDR only.
        max_pairs: Sentence pairs per direction from the parallel corpus.
        seed: Seed of the sentence sample.
        parallel_name: The corpus's name, for the probe set's provenance.

    Raises:
        ProbeDataError: a bridge has no usable CLDR data, or the parallel corpus lacks a bridge
            that a language needs it for.

    Example:
        >>> built = coverage_probe_set(["sw", "ilo_Latn"], ["en"])
        >>> built.uncovered()["ilo_Latn"].startswith("CLDR")
        True
    """
    from bridgex_chain.probing.starter import STARTER_NAME, aligned_entries
    from bridgex_chain.probing.starter_quality import starter_quality

    bridge_codes = list(dict.fromkeys(normalize(b) for b in bridges))
    langs = [c for c in dict.fromkeys(normalize(lang) for lang in languages)]
    langs = [c for c in langs if c not in bridge_codes]
    quality = starter_quality([*bridge_codes, *langs])
    weak = [b for b in bridge_codes if not quality[b].passed]
    if weak:
        raise ProbeDataError(
            "A bridge needs CLDR probes that pass the starter's quality floor: "
            + "; ".join(f"{b}: {quality[b].reason}" for b in weak)
            + ". Choose other --bridges."
        )
    sources: dict[str, LanguageSource] = {}
    via_parallel: list[str] = []
    for lang in langs:
        q = quality[lang]
        if q.passed:
            sources[lang] = LanguageSource(lang, "cldr", f"{q.terms} CLDR terms")
            continue
        missing = _parallel_reason(lang, parallel)
        if missing is None:
            via_parallel.append(lang)
            continue
        sources[lang] = LanguageSource(lang, "none", f"CLDR: {q.reason}; {missing}")
    cldr_langs = [lang for lang, s in sources.items() if s.kind == "cldr"]
    entries = aligned_entries([*bridge_codes, *cldr_langs])
    pairs: dict[Pair, list[Pair]] = _cldr_pairs(entries, cldr_langs, bridge_codes)
    name, source = STARTER_NAME, "CLDR starter word pairs"
    if via_parallel and parallel is not None:
        from bridgex_chain.probing.parallel_probes import parallel_probe_set

        absent = [b for b in bridge_codes if not parallel.get(b)]
        if absent:
            raise ProbeDataError(
                f"The parallel corpus has no text in the bridge(s) {', '.join(absent)}: point "
                "--parallel at a corpus with every bridge (FLORES / SIB-200 layout)."
            )
        sentences = parallel_probe_set(
            parallel,
            via_parallel,
            bridge_codes,
            max_pairs=max_pairs,
            seed=seed,
            between_bridges=False,  # the bridges' own pairs stay CLDR's
        )
        for lang in via_parallel:
            count = len(sentences.word_pairs(lang, bridge_codes[0]))
            sources[lang] = LanguageSource(lang, "parallel", f"{count} sentence pairs per bridge")
        for direction, items in sentences.pairs.items():
            pairs.setdefault(direction, []).extend(items)
        name = f"{STARTER_NAME}+{parallel_name}"
        source = f"{source}; sentence pairs from {parallel_name} ({sentences.source})"
    ordered = {lang: sources[lang] for lang in langs}
    return CoverageProbeSet(ProbeSet.from_pairs(name, pairs, source=source), ordered)


def _needs_sources(opts: BuildOptions) -> bool:
    """Whether a named language lacks CLDR probes that pass the floor (the default set's)."""
    from bridgex_chain.probing.starter_quality import starter_quality

    named = [lang for lang, trg in opts.entries() if lang == trg]
    return not all(q.passed for q in starter_quality(named).values())


def resolve_probe_sources(opts: BuildOptions) -> BuildOptions:
    """``opts`` with its probes chosen per language, when the CLDR starter cannot serve them all.

    Options with a probe set of their own, and options whose named languages all pass the
    starter's floor, are returned as they are (the default probe set: every pair of the study
    languages and the named ones). Otherwise — ``languages="all"``
    (:attr:`~bridgex_chain.probing.options.BuildOptions.every_language`), or a named language
    CLDR cannot serve — :func:`coverage_probe_set` over the options' languages and bridges
    (with the ``parallel`` corpus's rows when given), and the options narrowed to the covered
    languages, carrying the probe set and every language's source. Resolving twice is
    harmless.

    Raises:
        ProbeDataError: No language has probes, a language named (not ``all``) has none, or a
            bridge lacks CLDR data.

    Example:
        >>> from bridgex_chain.probing.options import BuildOptions
        >>> opts = BuildOptions.create(languages=["sw"])
        >>> resolve_probe_sources(opts) is opts
        True
    """
    if opts.probe_set is not None:
        return opts
    if not opts.every_language and not _needs_sources(opts):
        return opts
    rows = None
    if opts.parallel is not None:
        from bridgex_chain.probing.parallel_probes import load_parallel_rows

        rows = load_parallel_rows(opts.parallel, opts.parallel_split)
    built = coverage_probe_set(
        opts.languages or (),
        opts.bridges,
        parallel=rows,
        seed=opts.seed,
        parallel_name=opts.parallel.name if opts.parallel is not None else "parallel",
    )
    covered = built.covered()
    if not opts.every_language and built.uncovered():  # asked for by name: each must be built
        raise ProbeDataError(
            "No probes for "
            + "; ".join(f"{k}: {v}" for k, v in built.uncovered().items())
            + ". Point --parallel at a corpus with these languages, or bring a MUSE lexicon."
        )
    if not covered:
        reasons = "; ".join(f"{k}: {v}" for k, v in list(built.uncovered().items())[:3])
        raise ProbeDataError(
            f"No language has probes ({reasons} …). Point --parallel at a parallel corpus "
            "(FLORES / SIB-200 layout) for the languages CLDR does not cover."
        )
    sources = tuple((lang, s.kind, s.detail) for lang, s in built.sources.items())
    return replace(opts, languages=tuple(covered), probe_set=built.probe_set, probe_sources=sources)
