"""Demonstration pools and similarity-based selection of demonstrations.

A pool holds demonstrations (:class:`Demo`): an id, the same text in one or more languages
(FLORES-200 codes) and optionally a label. Pools come from user files:

* JSONL (:meth:`DemoPool.from_jsonl`): one object a line, either ``{"id", "label", "texts":
  {"sw": "...", "fr": "..."}}`` or ``{"id", "label", "lang", "text"}`` (rows sharing an id merge).
* TSV (:meth:`DemoPool.from_tsv`): SIB-200 style ``index_id<TAB>category<TAB>text`` in one language.
* A directory of parallel TSV files (:meth:`DemoPool.from_dir`): ``<root>/<lang>/<split>.tsv``
  aligned by ``index_id`` (SIB-200's layout). Languages are read lazily, when first needed.

:meth:`DemoPool.select` returns the ``k`` demonstrations most similar to a text that have a text
in every language asked for. Similarity is the cosine between embeddings of the text and of each
demonstration's text in the query language (or the first language asked for when the pool lacks
it). Embeddings (:mod:`bridgex_chain.prompting.embedders`) come from a multilingual
sentence-transformers model when one is given (any local model path; imported lazily), any
LangChain ``Embeddings``, or, by default, the built-in character n-gram TF-IDF (numpy only).

Example:
    >>> pool = DemoPool([
    ...     Demo("1", {"eng_Latn": "The team won the match", "fra_Latn": "L'équipe a gagné"}),
    ...     Demo("2", {"eng_Latn": "Parliament passed the law", "fra_Latn": "Le parlement"}),
    ... ])
    >>> best = pool.select("who won the match?", 1, langs=["fra_Latn"], query_lang="eng_Latn")
    >>> [d.id for d in best]
    ['1']
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.prompting.embedders import SimilarityIndex, make_embedder

__all__ = ["Demo", "DemoPool", "load_demo_pool"]


@dataclass(frozen=True, slots=True)
class Demo:
    """One demonstration: the same text in several languages, and optionally its label.

    Example:
        >>> Demo("7", {"swh_Latn": "Timu ilishinda"}, "sports").label
        'sports'
    """

    id: str
    texts: Mapping[str, str]
    label: str | None = None


# --------------------------------------------------------------------------- pools


class DemoPool:
    """Demonstrations, parallel across languages, with similarity-based selection.

    Args:
        demos: Demonstrations held in memory (language keys are normalised, so ``"sw"`` works).
        embedder: See :func:`~bridgex_chain.prompting.embedders.make_embedder`.
        loader: ``lang -> {id: (label, text)}`` for languages read lazily (directory pools).
        lazy_languages: The languages ``loader`` can read.
    """

    def __init__(
        self,
        demos: Iterable[Demo] = (),
        *,
        embedder: Any = None,
        loader: Callable[[str], Mapping[str, tuple[str | None, str]]] | None = None,
        lazy_languages: Iterable[str] = (),
    ) -> None:
        from bridgex_chain.languages import normalize

        self._columns: dict[str, dict[str, str]] = {}
        self._labels: dict[str, str] = {}
        codes: dict[str, str] = {}
        for demo in demos:
            for lang, text in demo.texts.items():
                code = codes.setdefault(lang, normalize(lang))
                self._columns.setdefault(code, {})[demo.id] = text
            if demo.label is not None:
                self._labels[demo.id] = demo.label
        self._loader = loader
        self._lazy = frozenset(lazy_languages) - set(self._columns)
        self._embedder = make_embedder(embedder)
        self._indexes: dict[str, tuple[list[str], SimilarityIndex]] = {}
        self._eligible_ids: dict[tuple[tuple[str, ...], bool], list[str]] = {}
        self._masks: dict[tuple[str, tuple[str, ...], bool], Any] = {}
        self._lock = threading.RLock()

    @property
    def languages(self) -> frozenset[str]:
        """Every language the pool has (loaded or loadable)."""
        return frozenset(self._columns) | self._lazy

    def column(self, lang: str) -> Mapping[str, str]:
        """Return ``{id: text}`` in ``lang`` (read from disk on first use); empty if absent."""
        with self._lock:
            if lang not in self._columns and lang in self._lazy and self._loader is not None:
                rows = self._loader(lang)
                self._columns[lang] = {i: text for i, (_, text) in rows.items()}
                for i, (label, _) in rows.items():
                    if label is not None:
                        self._labels.setdefault(i, label)
            return self._columns.get(lang, {})

    def labels(self) -> tuple[str, ...]:
        """Return the sorted label set (loads one language of a lazy pool if none is loaded)."""
        if not self._labels and self._lazy:
            self.column(sorted(self._lazy)[0])
        return tuple(sorted(set(self._labels.values())))

    def _index(self, lang: str) -> tuple[list[str], SimilarityIndex]:
        with self._lock:
            if lang not in self._indexes:
                column = self.column(lang)
                ids = list(column)
                self._indexes[lang] = (ids, self._embedder.index([column[i] for i in ids]))
            return self._indexes[lang]

    def select(
        self,
        text: str,
        k: int,
        *,
        langs: Sequence[str],
        labelled: bool = False,
        query_lang: str | None = None,
    ) -> list[Demo]:
        """Return up to ``k`` demonstrations most similar to ``text``, the most similar last.

        Only demonstrations with a text in every language of ``langs`` (and a label when
        ``labelled``) qualify; one whose text equals ``text`` is skipped (no answer leaks from
        the pool into its own query). Returns ``[]`` when the pool lacks a language.
        """
        if k <= 0 or not langs or any(lang not in self.languages for lang in langs):
            return []
        index_lang = query_lang if query_lang in self.languages else langs[0]
        ids, index = self._index(index_lang)
        usable = self._usable(index_lang, tuple(langs), labelled)
        scores = np.where(usable, index.scores(text), -np.inf)
        column = self.column(index_lang)
        wanted = text.strip()
        chosen: list[int] = []
        for pos in np.argsort(-scores, kind="stable"):
            if len(chosen) == k or not usable[pos]:
                break  # unusable rows score -inf and sort last
            if column[ids[pos]].strip() != wanted:
                chosen.append(int(pos))
        return [self._demo(ids[p], langs) for p in reversed(chosen)]

    def matching(self, langs: Sequence[str], *, labelled: bool = False) -> list[Demo]:
        """Every demonstration with a text in each of ``langs`` (and a label), in pool order.

        Example:
            >>> pool = DemoPool([Demo("1", {"swh_Latn": "Habari"}), Demo("2", {"fra_Latn": "Oui"})])
            >>> [d.id for d in pool.matching(["fra_Latn"])]
            ['2']
        """
        if not langs or any(lang not in self.languages for lang in langs):
            return []
        return [self._demo(i, langs) for i in self._eligible(tuple(langs), labelled)]

    def _eligible(self, langs: tuple[str, ...], labelled: bool) -> list[str]:
        """Ids with a text in every language of ``langs`` (and a label), in pool order; cached."""
        key = (langs, labelled)
        with self._lock:
            if key not in self._eligible_ids:
                columns = [self.column(lang) for lang in langs]
                self._eligible_ids[key] = [
                    i
                    for i in columns[0]
                    if all(i in c for c in columns[1:]) and (not labelled or i in self._labels)
                ]
            return self._eligible_ids[key]

    def _usable(self, index_lang: str, langs: tuple[str, ...], labelled: bool) -> Any:
        """Boolean mask over ``index_lang``'s index: which rows may be chosen; cached."""
        key = (index_lang, langs, labelled)
        with self._lock:
            if key not in self._masks:
                ids, _ = self._index(index_lang)
                eligible = set(self._eligible(langs, labelled))
                self._masks[key] = np.fromiter((i in eligible for i in ids), bool, len(ids))
            return self._masks[key]

    def _demo(self, i: str, langs: Sequence[str]) -> Demo:
        return Demo(i, {lang: self.column(lang)[i] for lang in langs}, self._labels.get(i))

    # ------------------------------------------------------------------ loaders

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        *,
        lang: str | None = None,
        id_field: str = "id",
        text_field: str = "text",
        label_field: str = "label",
        lang_field: str = "lang",
        texts_field: str = "texts",
        embedder: Any = None,
    ) -> DemoPool:
        """Read a JSONL pool (see the module docstring); ``lang`` is the default row language.

        Raises:
            ProbeDataError: The file is missing or a row lacks a text or a language.
        """
        from bridgex_chain.languages import normalize

        merged: dict[str, tuple[dict[str, str], str | None]] = {}
        for number, line in enumerate(_read_lines(path), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as err:
                raise ProbeDataError(f"{path}:{number} is not valid JSON: {err}") from err
            key = str(row.get(id_field, row.get("index_id", number)))
            texts, label = merged.setdefault(key, ({}, None))
            if isinstance(row.get(texts_field), Mapping):
                texts.update({normalize(k): str(v) for k, v in row[texts_field].items()})
            elif text_field in row and (row.get(lang_field) or lang):
                texts[normalize(str(row.get(lang_field) or lang))] = str(row[text_field])
            else:
                raise ProbeDataError(
                    f"{path}:{number} needs '{texts_field}' (a language → text object) or "
                    f"'{text_field}' with '{lang_field}' (or pass lang=)."
                )
            found = row.get(label_field, row.get("category"))
            merged[key] = (texts, str(found) if found is not None else label)
        demos = [Demo(i, texts, label) for i, (texts, label) in merged.items()]
        return cls(demos, embedder=embedder)

    @classmethod
    def from_tsv(
        cls,
        path: str | Path,
        lang: str,
        *,
        id_field: str = "index_id",
        label_field: str = "category",
        text_field: str = "text",
        embedder: Any = None,
    ) -> DemoPool:
        """Read one language's TSV with a header (SIB-200: ``index_id``, ``category``, ``text``)."""
        from bridgex_chain.languages import normalize

        code = normalize(lang)
        rows = _read_tsv(Path(path), id_field, label_field, text_field)
        return cls(
            [Demo(i, {code: text}, label) for i, (label, text) in rows.items()], embedder=embedder
        )

    @classmethod
    def from_dir(
        cls,
        root: str | Path,
        *,
        split: str = "train",
        embedder: Any = None,
        keep: Callable[[str], bool] | None = None,
        **fields: str,
    ) -> DemoPool:
        """Use ``<root>/<lang>/<split>.tsv`` files aligned by id (SIB-200); read lazily.

        Args:
            root: The SIB-200 root.
            split: The split whose rows are demonstrations.
            embedder: See :func:`~bridgex_chain.prompting.embedders.make_embedder`.
            keep: When given, only rows whose id it accepts are demonstrations (e.g. all but
                the rows an evaluation holds out of the same split).
            **fields: ``id_field``, ``label_field``, ``text_field`` column names.

        Raises:
            ProbeDataError: No ``<lang>/<split>.tsv`` file exists under ``root``.
        """
        from bridgex_chain.languages import normalize

        base = Path(root)
        dirs = {normalize(p.parent.name): p for p in sorted(base.glob(f"*/{split}.tsv"))}
        if not dirs:
            raise ProbeDataError(f"No <lang>/{split}.tsv files under {base}.")
        names = {"id_field": "index_id", "label_field": "category", "text_field": "text", **fields}

        def load(lang: str) -> Mapping[str, tuple[str | None, str]]:
            rows = _read_tsv(
                dirs[lang], names["id_field"], names["label_field"], names["text_field"]
            )
            return rows if keep is None else {i: row for i, row in rows.items() if keep(i)}

        return cls(embedder=embedder, loader=load, lazy_languages=dirs)

    @classmethod
    def from_parallel(cls, root: str | Path, split: str, *, embedder: Any = None) -> DemoPool:
        r"""Open a parallel corpus for one split: SIB-200 or FLORES layout.

        SIB-200: ``<root>/<lang>/<split>.tsv`` (see :meth:`from_dir`). FLORES: one sentence a
        line in ``<root>/<split>/<lang>.<split>`` or ``<root>/<lang>.<split>``, aligned by line
        number (the ids are the line numbers).

        Args:
            root: The corpus root.
            split: ``train``, ``dev`` or ``test`` (SIB-200); ``dev`` or ``devtest`` (FLORES).
            embedder: See :func:`~bridgex_chain.prompting.embedders.make_embedder`.

        Raises:
            ProbeDataError: Nothing for this split under ``root``.

        Example:
            >>> import pathlib, tempfile
            >>> root = pathlib.Path(tempfile.mkdtemp())
            >>> _ = (root / "swh_Latn.dev").write_text("Habari\nMaji\n", encoding="utf-8")
            >>> DemoPool.from_parallel(root, "dev").column("swh_Latn")
            {'0': 'Habari', '1': 'Maji'}
        """
        from bridgex_chain.languages import normalize

        base = Path(root).expanduser()
        if any(base.glob(f"*/{split}.tsv")):
            return cls.from_dir(base, split=split, embedder=embedder)
        files = sorted((base / split).glob(f"*.{split}")) or sorted(base.glob(f"*.{split}"))
        if not files:
            raise ProbeDataError(
                f"No parallel data for split {split!r} under {base}: expected SIB-200 "
                f"'<lang>/{split}.tsv' files or FLORES '<lang>.{split}' files."
            )
        texts: dict[str, dict[str, str]] = {}
        for path in files:
            code = normalize(path.name[: -len(split) - 1])
            for number, line in enumerate(_read_lines(path)):
                texts.setdefault(str(number), {})[code] = line.strip()
        return cls([Demo(i, t) for i, t in texts.items()], embedder=embedder)


def _read_lines(path: str | Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ProbeDataError(f"Cannot read demonstration file {path}: {err}") from err


def _read_tsv(
    path: Path, id_field: str, label_field: str, text_field: str
) -> dict[str, tuple[str | None, str]]:
    reader = csv.DictReader(_read_lines(path), delimiter="\t", quoting=csv.QUOTE_NONE)
    if reader.fieldnames is None or text_field not in reader.fieldnames:
        raise ProbeDataError(f"{path} needs a header with a '{text_field}' column.")
    return {
        str(row.get(id_field) or n): (row.get(label_field) or None, row[text_field])
        for n, row in enumerate(reader)
    }


def load_demo_pool(source: Any, *, embedder: Any = None, lang: str | None = None) -> DemoPool:
    """Build a :class:`DemoPool` from a pool, a directory, a ``.jsonl``/``.tsv`` file or demos.

    Args:
        source: A :class:`DemoPool` (returned as is), a directory (``<lang>/train.tsv``), a JSONL
            or TSV path (TSV needs ``lang``, or a parent directory named after the language), or
            a sequence of :class:`Demo` / dicts with ``id``, ``texts`` and ``label``.
        embedder: See :func:`~bridgex_chain.prompting.embedders.make_embedder`.
        lang: Language of a single-language TSV or JSONL file.

    Example:
        >>> load_demo_pool([{"id": "1", "texts": {"swh_Latn": "Habari"}}]).languages
        frozenset({'swh_Latn'})
    """
    if isinstance(source, DemoPool):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            return DemoPool.from_dir(path, embedder=embedder)
        if path.suffix == ".tsv":
            return DemoPool.from_tsv(path, lang or path.parent.name, embedder=embedder)
        return DemoPool.from_jsonl(path, lang=lang, embedder=embedder)
    demos = [
        d if isinstance(d, Demo) else Demo(str(d["id"]), dict(d["texts"]), d.get("label"))
        for d in source
    ]
    return DemoPool(demos, embedder=embedder)
