"""Probe sets: gold word pairs per ordered language pair (FLORES-200 codes), and their prompts.

A :class:`ProbeSet` renders METHOD.md's probe prompt ``{name(S)}:"{w}"→{name(T)}:`` per pair
and, for the single-language chat entry ``(L, L)``, every prompt that involves L. Sources:
:func:`load_muse_dir` (MUSE-format files the user brings — MUSE is CC-BY-NC and never bundled)
and the CLDR starter set (:func:`bridgex_chain.probing.starter.starter_probe_set`).

Example:
    >>> ps = ProbeSet.from_pairs("demo", {("sw", "en"): [("maji", "water"), ("moto", "fire")]})
    >>> ps.prompt_texts("sw", "en")
    ['Swahili:"maji"→English:', 'Swahili:"moto"→English:']
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from bridgex_chain.errors import ProbeDataError, UnknownLanguage
from bridgex_chain.languages import normalize
from bridgex_chain.probing.prompts import ProbePrompt, probe_prompt

__all__ = [
    "MuseFile",
    "ProbePrompt",
    "ProbeSet",
    "load_muse_dir",
    "probe_prompt",
    "read_muse_file",
]

logger = logging.getLogger(__name__)

Pair = tuple[str, str]
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
            src, trg = _norm_code(s_code), _norm_code(t_code)
            bucket = out.setdefault((src, trg), set())
            for w_s, w_t in items:
                a, b = _clean(w_s), _clean(w_t)
                if not a or not b or (drop_identical and a.casefold() == b.casefold()):
                    continue
                bucket.add((a, b))
                words.setdefault(src, set()).add(a)
                words.setdefault(trg, set()).add(b)
        for lang, extra in (terms or {}).items():
            code = _norm_code(lang)
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
        return self.pairs.get((_norm_code(src), _norm_code(trg)), ())

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
        s, t = _norm_code(src), _norm_code(trg)
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
        code = _norm_code(lang)
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


def _norm_code(code: str) -> str:
    try:
        return normalize(code)
    except UnknownLanguage as err:
        raise ProbeDataError(f"Unknown language code {code!r} in probe data. {err}") from err


# --------------------------------------------------------------------------- MUSE files


@dataclass(frozen=True)
class MuseFile:
    """One parsed MUSE file: languages from its name, pairs in file order, malformed lines."""

    path: Path
    src: str
    trg: str
    pairs: tuple[Pair, ...]
    malformed: int


def _codes_from_name(path: Path) -> Pair:
    stem = path.name.split(".", 1)[0]
    parts = stem.split("-")
    if len(parts) != 2 or not all(parts):
        raise ProbeDataError(
            f"Cannot read the language pair from the file name {path.name!r}: name MUSE files "
            "'<source>-<target>.txt' with ISO or FLORES-200 codes, e.g. 'sw-en.txt' or "
            "'swh_Latn-eng_Latn.txt'."
        )
    return _norm_code(parts[0]), _norm_code(parts[1])


def read_muse_file(path: str | Path, *, min_pairs: int = 100) -> MuseFile:
    """Parse one MUSE file ``S-T.txt``: one ``source target`` pair a line, UTF-8.

    Fields are separated by tabs or spaces; blank lines are ignored; other lines without
    exactly two fields are counted as malformed, skipped and reported in a logged warning.

    Args:
        path: the file; its name gives the language pair (``sw-en.txt``, ``en-de.0-5000.txt``).
        min_pairs: fewest well-formed pairs accepted.

    Raises:
        ProbeDataError: unreadable name or file, not UTF-8, or fewer than ``min_pairs`` pairs.

    Example:
        >>> read_muse_file("dicts/sw-en.txt").pairs[:1]  # doctest: +SKIP
        (('maji', 'water'),)
    """
    file = Path(path)
    src, trg = _codes_from_name(file)
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProbeDataError(
            f"{file} is not UTF-8 ({err.reason} at byte {err.start}). Re-encode it, e.g. "
            f"`iconv -f LATIN1 -t UTF-8 {file.name} > fixed.txt`."
        ) from err
    except OSError as err:
        raise ProbeDataError(f"Cannot read lexicon file {file}: {err}") from err
    pairs: list[Pair] = []
    malformed = 0
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            malformed += 1
            continue
        pairs.append((fields[0], fields[1]))
    if malformed:
        logger.warning("%s: skipped %d malformed line(s) (need 'source target')", file, malformed)
    if len(pairs) < min_pairs:
        raise ProbeDataError(
            f"{file} has {len(pairs)} usable word pairs, fewer than the {min_pairs} required "
            f"({malformed} malformed lines skipped). Use a larger lexicon or lower min_pairs."
        )
    return MuseFile(file, src, trg, tuple(pairs), malformed)


def load_muse_dir(
    path: str | Path,
    *,
    min_pairs: int = 100,
    name: str | None = None,
    languages: Sequence[str] | None = None,
    drop_identical: bool = True,
) -> ProbeSet:
    """Load every ``S-T*.txt`` MUSE file of a directory (or one file) into a :class:`ProbeSet`.

    Files for the same direction (e.g. MUSE's ``en-de.0-5000.txt`` and ``en-de.5000-6500.txt``)
    are merged. Files whose name is not ``<source>-<target>...txt`` are skipped with a warning.

    Args:
        path: a directory of MUSE files, or one file.
        min_pairs: fewest well-formed pairs per file.
        name: probe-set name (default ``"muse:<directory name>"``).
        languages: keep only files whose two languages are both in this list.
        drop_identical: drop pairs whose target equals the source word.

    Raises:
        ProbeDataError: no usable file, or a file fails :func:`read_muse_file`.

    Example:
        >>> load_muse_dir("~/muse", languages=["sw", "en"]).directions()  # doctest: +SKIP
        [('eng_Latn', 'swh_Latn'), ('swh_Latn', 'eng_Latn')]
    """
    root = Path(path).expanduser()
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix == ".txt")
    else:
        raise ProbeDataError(f"Lexicon path {root} does not exist.")
    wanted = {_norm_code(c) for c in languages} if languages is not None else None
    merged: dict[Pair, list[Pair]] = {}
    used: list[str] = []
    for file in files:
        if "-" not in file.name.split(".", 1)[0]:
            logger.warning("Skipping %s: not named '<source>-<target>.txt'", file)
            continue
        src, trg = _codes_from_name(file)
        if wanted is not None and not {src, trg} <= wanted:
            continue
        parsed = read_muse_file(file, min_pairs=min_pairs)
        merged.setdefault((src, trg), []).extend(parsed.pairs)
        used.append(file.name)
    if not merged:
        raise ProbeDataError(
            f"No MUSE lexicon files found in {root}"
            + (f" for languages {sorted(wanted)}" if wanted else "")
            + ". Expected files named like 'sw-en.txt' with one 'source target' pair a line."
        )
    return ProbeSet.from_pairs(
        name or f"muse:{root.name}",
        merged,
        source=f"MUSE-format files from {root}: {', '.join(used)}",
        drop_identical=drop_identical,
    )
