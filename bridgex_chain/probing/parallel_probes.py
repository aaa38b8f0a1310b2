r"""Probe sets from a parallel corpus, and the row partition that keeps its uses apart.

Languages without CLDR locale data (Acehnese, Banjar, Fon, Quechua, …) have no starter probe
set (:mod:`bridgex_chain.probing.starter`). A parallel corpus the user points at (``--parallel
DIR``: FLORES / SIB-200 layout) gives them probes instead: the rows are translations of each
other, so row *r*'s text in S and its text in T are a gold pair, as a lexicon's word pair is.

* :func:`row_part` — a fixed partition of the corpus's rows by row id into ``"probe"``,
  ``"check"`` and ``"heldout"`` (about one third each, from SHA-256 of the id, so every
  language splits the same ids the same way and the parts stay aligned). Probes read only
  ``"probe"`` rows, render checks (:func:`~bridgex_chain.probing.render_check.check_language`)
  only ``"check"`` rows and an evaluation on train rows
  (:func:`bridgex_chain.eval.data.heldout_items`) only ``"heldout"`` rows: no two of them ever
  share a row.
* :func:`parallel_probe_set` — a :class:`~bridgex_chain.probing.probe_set.ProbeSet` whose word
  pairs are (the source sentence cut to :data:`PROBE_CHARS` at a word boundary, the start of the
  same row's target sentence) for every language ↔ bridge direction.
* :func:`load_parallel_rows` — ``{language: {row id: text}}`` of one split (the reader of
  :meth:`~bridgex_chain.prompting.demos.DemoPool.from_parallel`, which the render checks and
  eval read too).

``docs/probes_parallel.md`` explains why a sentence probe keeps the method's meaning.

Example:
    >>> rows = {"ace_Latn": {"8": "Lôn meu'en bhan"}, "eng_Latn": {"8": "I play football"}}
    >>> [row_part(i) for i in ("8", "7", "9")]
    ['probe', 'check', 'heldout']
    >>> ps = parallel_probe_set(rows, ["ace"], ["en"])
    >>> ps.prompt_texts("ace", "ace")
    ['Acehnese:"Lôn meu\'en bhan"→English:', 'English:"I play football"→Acehnese:']
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from bridgex_chain.errors import InvalidOption, ProbeDataError
from bridgex_chain.probing.probe_set import Pair, ProbeSet, probe_data_code

__all__ = [
    "PARALLEL_NAME",
    "PARTITION",
    "PROBE_CHARS",
    "ROW_PARTS",
    "TARGET_CHARS",
    "RowPart",
    "cut_at_word",
    "load_parallel_rows",
    "parallel_probe_set",
    "probe_text",
    "row_part",
    "rows_in_part",
]

RowPart = Literal["probe", "check", "heldout"]
"""The use a row of a parallel corpus is reserved for (:func:`row_part`)."""

#: The parts, in the order of ``sha256(salt + id) mod 3``.
ROW_PARTS: tuple[RowPart, ...] = ("probe", "check", "heldout")
#: The partition's name and version (recorded with what is built from it; a change of the
#: rule must change this name).
PARTITION = "sha256-thirds-v1"
_SALT = f"bridgex-chain/{PARTITION}/"

#: Default label of a parallel probe set.
PARALLEL_NAME = "parallel-v1"
#: Default cap of a probe's source text, in display columns (a CJK character counts two).
PROBE_CHARS = 64
#: Default cap of a probe's gold target (what ``--filter-understood`` compares the answer to).
TARGET_CHARS = 12


def row_part(index_id: str) -> RowPart:
    """Return the part a corpus row belongs to, from SHA-256 of its id (stable everywhere).

    The id is the corpus's row id (SIB-200 ``index_id``, a FLORES line number) as a string,
    surrounding whitespace ignored. The hash is salted with :data:`PARTITION`, read as a
    big-endian integer and taken modulo 3, so each part holds about a third of the ids, and
    every language, process and machine puts the same id in the same part.

    Example:
        >>> row_part("431"), row_part(" 431 ")
        ('heldout', 'heldout')
    """
    digest = hashlib.sha256((_SALT + str(index_id).strip()).encode("utf-8")).digest()
    return ROW_PARTS[int.from_bytes(digest[:8], "big") % len(ROW_PARTS)]


def rows_in_part(rows: Mapping[str, str], part: RowPart) -> dict[str, str]:
    """Keep the rows ``{row id: text}`` of one part (:func:`row_part`), in their order.

    Raises:
        ProbeDataError: ``part`` is not a part.

    Example:
        >>> rows_in_part({"6": "a", "7": "b", "8": "c"}, "probe")
        {'6': 'a', '8': 'c'}
    """
    if part not in ROW_PARTS:
        raise ProbeDataError(f"Unknown row part {part!r}: choose from {', '.join(ROW_PARTS)}.")
    return {i: text for i, text in rows.items() if row_part(i) == part}


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _trim(text: str) -> str:
    return text.rstrip().rstrip(",;:、，-–—(«“‘ ")


def cut_at_word(text: str, limit: int | None) -> str:
    """Cut ``text`` to at most ``limit`` display columns, at the last word boundary.

    Runs of whitespace become one space. A CJK (wide) character counts two columns. The cut
    falls on the last space within the limit and drops the separator and punctuation before
    it (``"one, two"`` → ``"one"``); when that space would keep less than half the limit (text
    without spaces between words: Chinese, Japanese) the text is cut at the limit instead.
    ``None`` keeps the text whole.

    Example:
        >>> cut_at_word("Turkey is surrounded by sea on three sides", 24)
        'Turkey is surrounded by'
        >>> cut_at_word("1895 年，在甲午战争之后", 14)
        '1895 年，在甲'
    """
    text = " ".join(text.split())
    if limit is None or sum(map(_width, text)) <= limit:
        return text
    used, end, at_space = 0, 0, 0
    for end, ch in enumerate(text):  # noqa: B007 - end is read after the loop
        if ch == " ":
            at_space = used
        used += _width(ch)
        if used > limit:
            break
    if text[end] == " ":
        at_space = used - 1
    # a space that keeps at least half the limit is a word boundary; else cut at the limit
    word_cut = 2 * at_space >= limit
    head = _trim(text[: text.rfind(" ", 0, end + 1)]) if word_cut else text[:end]
    return head or text[:end]


def probe_text(text: str, limit: int | None) -> str:
    r"""The text of one side of a parallel probe: ASCII ``"`` dropped, then :func:`cut_at_word`.

    The prompt quotes its source (``Acehnese:"…"→English:``), so a double quote inside it would
    end the quotation; SIB-200's TSV files also keep their CSV quoting (a field ``"a ""b"" c"``
    for ``a "b" c``), which the corpus reader passes through as it is.

    Example:
        >>> probe_text('"Run, ""now"", he said to them."', 24)
        'Run, now, he said to'
    """
    return cut_at_word(text.replace('"', ""), limit)


def parallel_probe_set(
    rows: Mapping[str, Mapping[str, str]],
    languages: Iterable[str],
    bridges: Iterable[str],
    *,
    max_pairs: int = 128,
    seed: int = 0,
    max_chars: int | None = PROBE_CHARS,
    target_chars: int | None = TARGET_CHARS,
    pairs: Iterable[Pair] = (),
    between_bridges: bool = True,
    name: str = PARALLEL_NAME,
    source: str = "",
) -> ProbeSet:
    """Build a probe set from the ``"probe"`` rows of a parallel corpus.

    Directions: for every language L and bridge B (L ≠ B) both L→B and B→L (the chat entry
    ``(L, L)`` uses every direction involving L); with ``between_bridges``, between every two
    bridges both ways (so a bridge's own entry ``(B, B)`` has them too, as with the CLDR starter
    set); and every ordered pair in ``pairs`` (cross entries such as
    ``("ind_Latn", "tgl_Latn")``). The word pairs of S→T are ``(row's S text, row's T text)``
    over the rows of the ``"probe"`` part (:func:`row_part`) with text in both, the source cut
    to ``max_chars`` and the target to ``target_chars`` at a word boundary (:func:`probe_text`).

    At most ``max_pairs`` rows per direction: those with the smallest ``sha256(seed, id)``, so
    every direction that can uses the same rows (L→B and B→L always do), the prompts of all
    directions are translations of each other, and adding a language changes no other
    direction's rows.

    Args:
        rows: ``{language: {row id: text}}`` (:func:`load_parallel_rows`); any code form.
        languages: The chat languages L.
        bridges: The candidate bridges B.
        max_pairs: Rows (word pairs) per direction, at most.
        seed: Seed of the row sample.
        max_chars: Cap of the prompt's source text (``None``: whole sentences).
        target_chars: Cap of the gold target, the start ``--filter-understood`` looks for in
            the model's greedy answer (``None``: whole sentences; the target is never in the
            prompt).
        pairs: Extra ordered directions ``(S, T)``.
        between_bridges: Add the directions between bridges (leave them out when the set is
            merged with one that has them, such as the CLDR starter set).
        name: The probe set's label.
        source: Provenance (where the corpus came from, its licence).

    Returns:
        The :class:`~bridgex_chain.probing.probe_set.ProbeSet`.

    Raises:
        InvalidOption: ``max_pairs``, ``max_chars`` or ``target_chars`` is below 1.
        ProbeDataError: A language or bridge has no text in ``rows``, or a direction has no
            ``"probe"`` row with text on both sides.

    Example:
        >>> rows = {"fon_Latn": {"8": "Un ɖò xwé", "7": "Ðò"},
        ...         "fra_Latn": {"8": "Je suis à la maison", "7": "Dors"},
        ...         "eng_Latn": {"8": "I am home", "7": "Sleep"}}
        >>> ps = parallel_probe_set(rows, ["fon"], ["fr", "en"], target_chars=8)
        >>> len(ps.directions())  # fon↔fra, fon↔eng, fra↔eng
        6
        >>> ps.word_pairs("fon", "fr")  # row 7 is a check row
        (('Un ɖò xwé', 'Je suis'),)
    """
    if max_pairs < 1:
        raise InvalidOption(f"max_pairs must be >= 1, got {max_pairs}: pass a positive count.")
    for what, cap in (("max_chars", max_chars), ("target_chars", target_chars)):
        if cap is not None and cap < 1:
            raise InvalidOption(f"{what} must be >= 1 or None (whole sentences), got {cap}.")
    texts: dict[str, Mapping[str, str]] = {}
    for code, column in rows.items():
        texts.setdefault(probe_data_code(code), column)
    langs = list(dict.fromkeys(probe_data_code(c) for c in languages))
    bridge_codes = list(dict.fromkeys(probe_data_code(c) for c in bridges))
    directions: dict[Pair, None] = {}
    for lang in langs:
        for bridge in bridge_codes:
            if lang != bridge:
                directions.update({(lang, bridge): None, (bridge, lang): None})
    for a in bridge_codes if between_bridges else ():
        for b in bridge_codes:
            if a != b:
                directions[(a, b)] = None
    for s, t in pairs:
        src, trg = probe_data_code(s), probe_data_code(t)
        if src != trg:
            directions[(src, trg)] = None
    needed = sorted({c for d in directions for c in d} | set(langs) | set(bridge_codes))
    missing = [c for c in needed if not any(t.strip() for t in texts.get(c, {}).values())]
    if missing:
        have = ", ".join(sorted(texts)[:12]) or "none"
        raise ProbeDataError(
            f"The parallel corpus has no text in {', '.join(missing)} (it has {have}"
            f"{', …' if len(texts) > 12 else ''}): point --parallel at a corpus with every "
            "language and bridge (FLORES / SIB-200 layout), or leave the language out."
        )
    chosen: dict[frozenset[str], list[str]] = {}
    out: dict[Pair, list[Pair]] = {}
    for src, trg in directions:
        key = frozenset((src, trg))
        if key not in chosen:
            chosen[key] = _sample_rows(texts[src], texts[trg], max_pairs, seed)
            if not chosen[key]:
                raise ProbeDataError(
                    f"No row of the parallel corpus's probe part ({PARTITION}) has text in "
                    f"both {src} and {trg}: the two languages share no row id. Point "
                    "--parallel at a corpus whose rows are aligned by id (FLORES / SIB-200)."
                )
        out[(src, trg)] = [
            (probe_text(texts[src][i], max_chars), probe_text(texts[trg][i], target_chars))
            for i in chosen[key]
        ]
    return ProbeSet.from_pairs(
        name,
        out,
        source=source or f"parallel corpus rows, probe part of {PARTITION}, ≤ {max_pairs} a pair",
    )


def _sample_rows(a: Mapping[str, str], b: Mapping[str, str], limit: int, seed: int) -> list[str]:
    ids = [i for i in a if i in b and a[i].strip() and b[i].strip() and row_part(i) == "probe"]

    def rank(i: str) -> bytes:
        return hashlib.sha256(f"{seed}/{i}".encode()).digest()

    return sorted(ids, key=rank)[:limit]


def load_parallel_rows(
    root: str | Path, split: str = "train", languages: Sequence[str] | None = None
) -> dict[str, dict[str, str]]:
    r"""Read ``{language: {row id: text}}`` of one split of a parallel corpus.

    The reader is :meth:`~bridgex_chain.prompting.demos.DemoPool.from_parallel` (SIB-200
    ``<root>/<lang>/<split>.tsv`` with ``index_id``, ``category``, ``text``; FLORES
    ``<root>/[<split>/]<lang>.<split>``, ids = line numbers). All rows of the split are
    returned; :func:`rows_in_part` keeps one part.

    Args:
        root: The corpus root.
        split: ``train``, ``dev`` or ``test`` (SIB-200); ``dev`` or ``devtest`` (FLORES).
        languages: Languages to read (any code form; default: every language of the split).

    Raises:
        ProbeDataError: Nothing for this split under ``root``, or a language is missing.

    Example:
        >>> import pathlib, tempfile
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (root / "fon_Latn").mkdir()
        >>> _ = (root / "fon_Latn" / "train.tsv").write_text(
        ...     "index_id\tcategory\ttext\n7\ttravel\tUn ɖò xwé\n", encoding="utf-8")
        >>> load_parallel_rows(root, "train", ["fon"])
        {'fon_Latn': {'7': 'Un ɖò xwé'}}
    """
    from bridgex_chain.prompting.demos import DemoPool

    pool = DemoPool.from_parallel(root, split)
    codes = sorted(pool.languages) if languages is None else [probe_data_code(c) for c in languages]
    missing = [c for c in codes if c not in pool.languages]
    if missing:
        raise ProbeDataError(
            f"The parallel corpus {root} has no {split} rows in {', '.join(missing)}: point "
            "--parallel at a corpus with these languages (FLORES / SIB-200 layout)."
        )
    return {c: dict(pool.column(c)) for c in dict.fromkeys(codes)}
