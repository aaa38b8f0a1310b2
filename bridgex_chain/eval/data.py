"""Reading the evaluation data the user supplies, in each benchmark's public format.

Nothing is downloaded or bundled. Every reader returns plain :class:`Item` records:

* SIB-200 directories ``<root>/<lang>/{train,dev,test}.tsv`` (header ``index_id``, ``category``,
  ``text``; rows of different languages are translations sharing ``index_id``), read through
  :class:`~bridgex_chain.prompting.demos.DemoPool` — the same reader the chain uses for its
  demonstration pools.
* FLORES-style parallel files: ``<root>/<split>/<lang>.<split>`` or ``<root>/<lang>.<split>``
  (one sentence a line, line *n* of every language is a translation; the id is the line number).
* MUSE-format lexicons ``S-T.txt`` (read by :func:`bridgex_chain.probing.lexicon.load_muse_dir`).
* Belebele JSONL files ``<root>/<lang>.jsonl`` (``link``, ``question_number``,
  ``flores_passage``, ``question``, ``mc_answer1..4``, ``correct_answer_num``).

SIB-200 test files are sorted by category, so :func:`balanced_sample` takes the first rows of
every label in turn (never the first N rows of the file).

SIB-200 has dev and test files for only 19 languages. For the others :func:`heldout_items`
takes the ``"heldout"`` part of the train rows
(:func:`~bridgex_chain.probing.parallel_probes.row_part`), which parallel probes (``"probe"``)
and render checks (``"check"``) never read.

Example:
    >>> rows = [Item("1", "a", "x"), Item("2", "b", "x"), Item("3", "c", "y")]
    >>> [i.id for i in balanced_sample(rows, 2)]
    ['1', '3']
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import normalize
from bridgex_chain.probing.parallel_probes import PARTITION, row_part
from bridgex_chain.prompting.demos import Demo, DemoPool

__all__ = [
    "HELDOUT",
    "Item",
    "ParallelData",
    "balanced_sample",
    "heldout_items",
    "load_belebele",
    "load_lexicon_items",
    "load_parallel",
    "seeded_sample",
]

#: The ``split`` value of an evaluation on the held-out train rows (:func:`heldout_items`).
HELDOUT = "heldout"


@dataclass(frozen=True)
class Item:
    """One evaluation example.

    Attributes:
        id: Stable id (SIB-200 ``index_id``, FLORES line number, Belebele link + question, word).
        text: The query text in the source language.
        gold: The label, reference translation, or correct option index (as a string).
        fields: Task extras (Belebele passage and options, BLI gold targets).
    """

    id: str
    text: str
    gold: str
    fields: Mapping[str, Any] = field(default_factory=dict)


def balanced_sample(items: Sequence[Item], limit: int | None) -> list[Item]:
    """Take items label by label in turn (each label's rows in file order), up to ``limit``.

    Example:
        >>> rows = [Item(str(i), "t", lab) for i, lab in enumerate("aaabbc")]
        >>> [i.id for i in balanced_sample(rows, 5)]
        ['0', '3', '5', '1', '4']
    """
    if limit is None or limit >= len(items):
        return list(items)
    by_label: dict[str, list[Item]] = {}
    for item in items:
        by_label.setdefault(item.gold, []).append(item)
    queues = list(by_label.values())
    out: list[Item] = []
    depth = 0
    while len(out) < limit:
        for queue in queues:
            if depth < len(queue) and len(out) < limit:
                out.append(queue[depth])
        depth += 1
    return out


def seeded_sample(items: Sequence[Item], limit: int | None, seed: int) -> list[Item]:
    """Keep a seeded random subset of ``limit`` items, in their original order."""
    if limit is None or limit >= len(items):
        return list(items)
    keep = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in keep]


class ParallelData:
    """Sentences aligned across languages by id, with optional labels (SIB-200 or FLORES).

    Args:
        pool: The underlying demonstration pool (one per split).
        source: Where the data came from (for messages).

    Example:
        >>> data = ParallelData(DemoPool([Demo("1", {"swh_Latn": "Habari", "eng_Latn": "Hi"})]))
        >>> data.text("eng_Latn", "1")
        'Hi'
    """

    def __init__(self, pool: DemoPool, source: str = "") -> None:
        self.pool = pool
        self.source = source

    @property
    def languages(self) -> frozenset[str]:
        """Every language the data has."""
        return self.pool.languages

    def items(self, lang: str, *, gold_lang: str | None = None) -> list[Item]:
        """Return every row of ``lang`` as items, in file order.

        Args:
            lang: The query language.
            gold_lang: When given, the gold is the aligned text in this language (translation);
                otherwise the row's label (classification). Rows missing there are dropped.
        """
        code = normalize(lang)
        if code not in self.languages:
            raise ProbeDataError(
                f"No {code} data in {self.source or 'the parallel data'}; it has "
                f"{', '.join(sorted(self.languages)) or 'no language'}."
            )
        if gold_lang is None:
            demos = self.pool.matching([code], labelled=True)
            return [Item(d.id, d.texts[code], str(d.label)) for d in demos]
        refs = self.pool.column(normalize(gold_lang))
        return [Item(i, t, refs[i]) for i, t in self.pool.column(code).items() if i in refs]

    def text(self, lang: str, item_id: str) -> str | None:
        """Return the text of ``item_id`` in ``lang`` (None when absent)."""
        code = normalize(lang)
        if code not in self.languages:
            return None
        return self.pool.column(code).get(item_id)

    def demos(self, ids: Sequence[str], langs: Sequence[str]) -> list[Demo]:
        """Return the rows ``ids`` as demonstrations with texts in ``langs`` (and labels)."""
        labelled = {d.id: d for d in self.pool.matching(list(langs))}
        missing = [i for i in ids if i not in labelled]
        if missing:
            raise ProbeDataError(
                f"Demonstration rows {missing[:5]} lack a text in one of {list(langs)} in "
                f"{self.source}."
            )
        return [labelled[i] for i in ids]


def load_parallel(root: str | Path, split: str) -> ParallelData:
    """Open SIB-200 directories or FLORES-style files under ``root`` for one split.

    Args:
        root: A SIB-200 root (``<lang>/<split>.tsv``) or a FLORES root (``<split>/<lang>.<split>``
            or ``<lang>.<split>`` files).
        split: ``train``, ``dev`` or ``test`` (SIB-200); ``dev`` or ``devtest`` (FLORES).

    Raises:
        ProbeDataError: Nothing for this split under ``root``.
    """
    base = Path(root).expanduser()
    try:
        pool = DemoPool.from_parallel(base, split)
    except ProbeDataError as err:
        raise ProbeDataError(f"No evaluation data: {err}") from err
    return ParallelData(pool, f"{base} ({split})")


def heldout_items(data: ParallelData, lang: str, *, limit: int | None = None) -> list[Item]:
    """Return ``lang``'s labelled rows of the ``"heldout"`` part, label-balanced.

    For languages without a SIB-200 dev/test split: open the train split
    (``load_parallel(root, "train")``) and evaluate on the rows
    :func:`~bridgex_chain.probing.parallel_probes.row_part` puts in ``"heldout"``, never
    shared with parallel probes or render checks built from the same train rows. The items are
    taken label by label in turn (:func:`balanced_sample`, the rule of the test-split reader),
    each label's rows in file order, up to ``limit``.

    Args:
        data: The train split of a SIB-200 corpus (any split works; the part is by row id).
        lang: The language.
        limit: Items at most (``None``: every held-out row).

    Raises:
        ProbeDataError: ``data`` has no ``lang``, or none of its labelled rows is held out.

    Example:
        >>> rows = [Demo(str(i), {"fon_Latn": f"t{i}"}, "ab"[i % 2]) for i in range(12)]
        >>> [(i.id, i.gold) for i in heldout_items(ParallelData(DemoPool(rows)), "fon")]
        [('3', 'b'), ('9', 'b'), ('10', 'a')]
        >>> [(i.id, i.gold) for i in heldout_items(ParallelData(DemoPool(rows)), "fon", limit=2)]
        [('3', 'b'), ('10', 'a')]
    """
    code = normalize(lang)
    kept = [item for item in data.items(code) if row_part(item.id) == "heldout"]
    if not kept:
        raise ProbeDataError(
            f"No labelled {code} row of {data.source or 'the parallel data'} is in the held-out "
            f"part ({PARTITION}): a corpus this small has nothing to evaluate on."
        )
    return balanced_sample(kept, limit)


def load_lexicon_items(
    root: str | Path, src: str, trg: str, *, limit: int | None, seed: int
) -> list[Item]:
    """Read BLI items for ``src``→``trg`` from a directory of MUSE files (``S-T.txt``).

    One item per distinct source word; ``fields["targets"]`` holds every gold target. With
    ``limit`` a seeded random subset of words is kept (file order preserved).

    Raises:
        ProbeDataError: No lexicon for the pair.
    """
    from bridgex_chain.probing.lexicon import load_muse_dir

    s, t = normalize(src), normalize(trg)
    lexicon = load_muse_dir(root, min_pairs=1, languages=[s, t], drop_identical=False)
    prompts = lexicon.prompts(s, t, max_prompts=limit, seed=seed)
    return [Item(p.word, p.word, p.targets[0], {"targets": list(p.targets)}) for p in prompts]


def lexicon_renderings(root: str | Path, src: str, bridge: str) -> dict[str, str] | None:
    """Return ``{source word: first gold bridge word}`` from ``S-B.txt``, or None without one."""
    from bridgex_chain.probing.lexicon import load_muse_dir

    s, b = normalize(src), normalize(bridge)
    try:
        lexicon = load_muse_dir(root, min_pairs=1, languages=[s, b], drop_identical=False)
    except ProbeDataError:
        return None
    pairs = lexicon.word_pairs(s, b)
    if not pairs:
        return None
    out: dict[str, str] = {}
    for word, target in pairs:
        out.setdefault(word, target)
    return out


def load_belebele(root: str | Path, lang: str) -> dict[str, Item]:
    """Read ``<root>/<lang>.jsonl`` (Belebele) into items keyed by ``link#question_number``.

    ``Item.text`` is the question, ``Item.gold`` the 0-based index of the correct option, and
    ``fields`` hold ``passage`` and ``options``.

    Raises:
        ProbeDataError: The file is missing or a row lacks a Belebele field.
    """
    code = normalize(lang)
    base = Path(root).expanduser()
    path = next((p for p in sorted(base.glob("*.jsonl")) if _stem_code(p) == code), None)
    if path is None:
        raise ProbeDataError(f"No Belebele file for {code} under {base} (expected {code}.jsonl).")
    items: dict[str, Item] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = f"{row['link']}#{row['question_number']}"
            options = [str(row[f"mc_answer{k}"]) for k in range(1, 5)]
            gold = str(int(row["correct_answer_num"]) - 1)
            fields = {"passage": str(row["flores_passage"]), "options": options}
            items[key] = Item(key, str(row["question"]), gold, fields)
        except (ValueError, KeyError, TypeError) as err:
            raise ProbeDataError(f"{path}:{number} is not a Belebele row: {err!r}") from err
    return items


def _stem_code(path: Path) -> str | None:
    try:
        return normalize(path.stem)
    except ValueError:  # UnknownLanguage: not a language-named file
        return None
