"""Probe sets: gold word pairs per ordered language pair (FLORES-200 codes), and their prompts.

A :class:`ProbeSet` renders METHOD.md's probe prompt ``{name(S)}:"{w}"→{name(T)}:`` per pair
and, for the single-language chat entry ``(L, L)``, every prompt that involves L. Sources:
:func:`~bridgex_chain.probing.lexicon.load_muse_dir` (MUSE-format files the user brings — MUSE
is CC-BY-NC and never bundled) and the CLDR starter set
(:func:`bridgex_chain.probing.starter.starter_probe_set`).

Example:
    >>> ps = ProbeSet.from_pairs("demo", {("sw", "en"): [("maji", "water"), ("moto", "fire")]})
    >>> ps.prompt_texts("sw", "en")
    ['Swahili:"maji"→English:', 'Swahili:"moto"→English:']
"""

from __future__ import annotations

import hashlib
import json
import random
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bridgex_chain.errors import ProbeDataError, UnknownLanguage
from bridgex_chain.languages import normalize
from bridgex_chain.probing.prompts import ProbePrompt, probe_prompt

__all__ = ["Pair", "ProbeSet", "probe_data_code"]

Pair = tuple[str, str]
"""An ordered language pair ``(S, T)`` or a word pair ``(w_S, w_T)``."""
_FORMAT_VERSION = 1


def _clean(term: str) -> str:
    return unicodedata.normalize("NFC", term).strip()


@dataclass(frozen=True)
class ProbeSet:
    """Gold word pairs per ordered language pair, and monolingual terms per language.

    Build it with :meth:`from_pairs` (codes normalised, terms cleaned, pairs deduplicated)
    rather than the constructor, which stores its arguments as given.

    Attributes:
        name: a label such as ``"cldr-starter-v1"`` (not part of :attr:`content_hash`).
        pairs: ``{(S, T): ((w_S, w_T), ...)}`` sorted and unique, FLORES-200 codes.
        terms: ``{language: (term, ...)}`` sorted and unique; by default every word of the
            language that occurs in ``pairs``.
        source: free-text provenance (where the data came from, licence).

    Example:
        >>> ps = ProbeSet.from_pairs("x", {("en", "de"): [("water", "wasser")]})
        >>> ps.directions(), ps.terms["deu_Latn"]
        ([('eng_Latn', 'deu_Latn')], ('wasser',))
    """

    name: str
    pairs: Mapping[Pair, tuple[Pair, ...]]
    terms: Mapping[str, tuple[str, ...]]
    source: str = ""

    @classmethod
    def from_pairs(
        cls,
        name: str,
        pairs: Mapping[Pair, Iterable[Pair]],
        *,
        terms: Mapping[str, Iterable[str]] | None = None,
        source: str = "",
        drop_identical: bool = True,
    ) -> ProbeSet:
        """Build a probe set: normalise codes, NFC-clean words, drop empty and duplicate pairs.

        Args:
            name: the probe set's label.
            pairs: ``{(S, T): [(w_S, w_T), ...]}``; any code form :func:`normalize` accepts.
            terms: extra monolingual terms per language (added to the words of ``pairs``).
            source: provenance text.
            drop_identical: drop pairs whose target equals the source word (case-folded).

        Raises:
            ProbeDataError: a language code is unknown.

        Example:
            >>> ProbeSet.from_pairs("x", {("sw", "en"): [("taxi", "taxi")]}).pair_counts()
            {('swh_Latn', 'eng_Latn'): 0}
        """
        out: dict[Pair, set[Pair]] = {}
        words: dict[str, set[str]] = {}
        for (s_code, t_code), items in pairs.items():
            src, trg = probe_data_code(s_code), probe_data_code(t_code)
            bucket = out.setdefault((src, trg), set())
            for w_s, w_t in items:
                a, b = _clean(w_s), _clean(w_t)
                if not a or not b or (drop_identical and a.casefold() == b.casefold()):
                    continue
                bucket.add((a, b))
                words.setdefault(src, set()).add(a)
                words.setdefault(trg, set()).add(b)
        for lang, extra in (terms or {}).items():
            code = probe_data_code(lang)
            words.setdefault(code, set()).update(t for t in map(_clean, extra) if t)
        return cls(
            name=name,
            pairs={k: tuple(sorted(v)) for k, v in sorted(out.items())},
            terms={k: tuple(sorted(v)) for k, v in sorted(words.items())},
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the canonical form :attr:`content_hash` is computed on).

        Example:
            >>> ProbeSet.from_pairs("x", {}).to_dict()["pairs"]
            {}
        """
        return {
            "format": _FORMAT_VERSION,
            "name": self.name,
            "source": self.source,
            "pairs": {
                f"{s}|{t}": [list(p) for p in sorted(v)] for (s, t), v in sorted(self.pairs.items())
            },
            "terms": {lang: sorted(v) for lang, v in sorted(self.terms.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbeSet:
        """Rebuild a probe set from :meth:`to_dict` output.

        Example:
            >>> ps = ProbeSet.from_pairs("x", {("sw", "en"): [("maji", "water")]})
            >>> ProbeSet.from_dict(ps.to_dict()).content_hash == ps.content_hash
            True
        """
        if data.get("format") != _FORMAT_VERSION:
            raise ProbeDataError(
                f"Unsupported probe-set format {data.get('format')!r}; expected "
                f"{_FORMAT_VERSION}. Re-create the probe set with this version of bridgex-chain."
            )
        pairs: dict[Pair, list[Pair]] = {}
        for key, items in data["pairs"].items():
            src, _, trg = key.partition("|")
            pairs[(src, trg)] = [(str(a), str(b)) for a, b in items]
        return cls.from_pairs(
            str(data["name"]),
            pairs,
            terms=data.get("terms", {}),
            source=str(data.get("source", "")),
            drop_identical=False,
        )

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of pairs and terms (name and source excluded).

        Example:
            >>> a = ProbeSet.from_pairs("a", {("sw", "en"): [("maji", "water")]})
            >>> b = ProbeSet.from_pairs("b", {("swh_Latn", "eng_Latn"): [("maji", "water")]})
            >>> a.content_hash == b.content_hash
            True
        """
        canonical = self.to_dict()
        del canonical["name"], canonical["source"]
        blob = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language with pairs or terms, sorted."""
        langs = {lang for pair in self.pairs for lang in pair} | set(self.terms)
        return tuple(sorted(langs))

    def directions(self) -> list[Pair]:
        """Ordered language pairs that have at least one word pair, sorted."""
        return sorted(k for k, v in self.pairs.items() if v)

    def pair_counts(self) -> dict[Pair, int]:
        """``{(S, T): number of word pairs}``."""
        return {k: len(v) for k, v in sorted(self.pairs.items())}

    def word_pairs(self, src: str, trg: str) -> tuple[Pair, ...]:
        """The ``(w_S, w_T)`` pairs of one direction (empty if none)."""
        return self.pairs.get((probe_data_code(src), probe_data_code(trg)), ())

    def prompts(
        self, src: str, trg: str, *, max_prompts: int | None = None, seed: int = 0
    ) -> list[ProbePrompt]:
        """Probe prompts for ``(S, T)``; for ``S == T`` (chat entry) every prompt involving S.

        One prompt per distinct source word (its gold targets gathered). The chat entry
        ``(L, L)`` takes the prompts of every ``(L, X)`` and ``(X, L)`` in the set, ordered by
        direction. ``max_prompts`` keeps a seeded random subset in the same order.

        Raises:
            ProbeDataError: the set has no pair for the request.

        Example:
            >>> ps = ProbeSet.from_pairs("x", {("sw", "en"): [("maji", "water")],
            ...                                ("en", "sw"): [("fire", "moto")]})
            >>> [p.text for p in ps.prompts("sw", "sw")]
            ['English:"fire"→Swahili:', 'Swahili:"maji"→English:']
        """
        s, t = probe_data_code(src), probe_data_code(trg)
        if s == t:
            wanted = [d for d in self.directions() if s in d]
        else:
            wanted = [(s, t)] if self.pairs.get((s, t)) else []
        if not wanted:
            raise ProbeDataError(
                f"Probe set {self.name!r} has no word pairs for {s}→{t}. It covers "
                f"{len(self.directions())} directions over "
                f"{', '.join(self.languages) or 'no languages'}; bring a lexicon for this "
                "pair (MUSE format, see load_muse_dir)."
            )
        out: list[ProbePrompt] = []
        for a, b in wanted:
            grouped: dict[str, set[str]] = {}
            for w_s, w_t in self.pairs[(a, b)]:
                grouped.setdefault(w_s, set()).add(w_t)
            out.extend(
                ProbePrompt(probe_prompt(a, b, w), a, b, w, tuple(sorted(ts)))
                for w, ts in sorted(grouped.items())
            )
        if max_prompts is not None and len(out) > max_prompts:
            keep = sorted(random.Random(seed).sample(range(len(out)), max_prompts))
            out = [out[i] for i in keep]
        return out

    def prompt_texts(self, src: str, trg: str, **kwargs: Any) -> list[str]:
        """Just the texts of :meth:`prompts`."""
        return [p.text for p in self.prompts(src, trg, **kwargs)]

    def corpus(self, lang: str, *, terms_per_text: int = 16) -> list[str]:
        """Default monolingual corpus for language neurons (METHOD step 1): the set's own terms.

        Terms are joined ``terms_per_text`` at a time with the language's comma (``、`` for
        Chinese/Japanese, ``،`` for Arabic script, ``,`` otherwise), in sorted order.

        Raises:
            ProbeDataError: the set has no terms for ``lang``.

        Example:
            >>> ProbeSet.from_pairs("x", {("sw", "en"): [("maji", "water")]}).corpus("en")
            ['water']
        """
        code = probe_data_code(lang)
        terms = self.terms.get(code, ())
        if not terms:
            raise ProbeDataError(
                f"Probe set {self.name!r} has no terms in {code}; pass a monolingual corpus "
                "for this language (e.g. FLORES or SIB-200 sentences)."
            )
        sep = _SEPARATORS.get(code.split("_")[-1], ", ")
        return [
            sep.join(terms[i : i + terms_per_text]) for i in range(0, len(terms), terms_per_text)
        ]


_SEPARATORS = {"Hans": "、", "Hant": "、", "Jpan": "、", "Arab": "، "}


def probe_data_code(code: str) -> str:
    """Normalise a language code found in probe data (:func:`normalize`).

    Raises:
        ProbeDataError: the code names no language.

    Example:
        >>> probe_data_code("sw")
        'swh_Latn'
    """
    try:
        return normalize(code)
    except UnknownLanguage as err:
        raise ProbeDataError(f"Unknown language code {code!r} in probe data. {err}") from err
