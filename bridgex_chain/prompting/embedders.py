"""Embedders that choose demonstrations by similarity: TF-IDF, sentence-transformers, LangChain.

An :class:`Embedder` indexes texts once (:meth:`Embedder.index`) and the resulting
:class:`SimilarityIndex` scores each query against all of them (cosine similarity).

* :class:`CharNgramTfidf` (default): character 2–4-gram TF-IDF in numpy, stored as posting lists so
  a query touches only its own n-grams. No model and no download; it finds near-duplicates and
  shared words within one language, not translations.
* :class:`SentenceEmbedder`: a (multilingual) sentence-transformers model from a local path, or a
  loaded model; sentence-transformers is imported on first use.
* :class:`LangChainEmbedder`: any LangChain ``Embeddings`` (``embed_documents``/``embed_query``).

Example:
    >>> index = make_embedder().index(["habari ya asubuhi", "the weather is nice"])
    >>> int(index.scores("habari yako").argmax())
    0
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bridgex_chain.errors import InvalidOption, MissingDependency

__all__ = [
    "CharNgramTfidf",
    "Embedder",
    "FloatArray",
    "LangChainEmbedder",
    "SentenceEmbedder",
    "SimilarityIndex",
    "make_embedder",
]

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class SimilarityIndex(Protocol):
    """Scores one query against the texts an index was built on."""

    def scores(self, query: str) -> FloatArray:
        """Return one cosine similarity per indexed text."""
        ...


class Embedder(Protocol):
    """Builds a :class:`SimilarityIndex` over texts."""

    def index(self, texts: Sequence[str]) -> SimilarityIndex:
        """Index ``texts``."""
        ...


def _char_ngrams(text: str, low: int, high: int) -> dict[str, int]:
    padded = f" {' '.join(text.lower().split())} "
    counts: dict[str, int] = {}
    for n in range(low, high + 1):
        for i in range(len(padded) - n + 1):
            gram = padded[i : i + n]
            counts[gram] = counts.get(gram, 0) + 1
    return counts


class _TfidfIndex:
    """Sparse TF-IDF document vectors stored column-wise (one posting list per n-gram)."""

    def __init__(self, texts: Sequence[str], low: int, high: int) -> None:
        self._low, self._high, self._n = low, high, len(texts)
        self._vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for row, text in enumerate(texts):
            for gram, count in _char_ngrams(text, low, high).items():
                cols.append(self._vocab.setdefault(gram, len(self._vocab)))
                rows.append(row)
                counts.append(count)
        col = np.asarray(cols, dtype=np.int64)
        row_a = np.asarray(rows, dtype=np.int64)
        df = np.bincount(col, minlength=len(self._vocab))
        self._idf = np.log((1.0 + self._n) / (1.0 + df)) + 1.0
        weight = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * self._idf[col]
        norms = np.sqrt(np.bincount(row_a, weights=weight**2, minlength=self._n))
        weight /= np.where(norms > 0, norms, 1.0)[row_a]
        order = np.argsort(col, kind="stable")
        self._rows, self._weights = row_a[order], weight[order]
        self._ptr = np.concatenate([[0], np.cumsum(df)])

    def scores(self, query: str) -> FloatArray:
        grams = [
            (self._vocab[g], c)
            for g, c in _char_ngrams(query, self._low, self._high).items()
            if g in self._vocab
        ]
        if not grams or self._n == 0:
            return np.zeros(self._n)
        cols = np.asarray([j for j, _ in grams], dtype=np.int64)
        qw = (1.0 + np.log(np.asarray([c for _, c in grams], dtype=np.float64))) * self._idf[cols]
        qw /= float(np.linalg.norm(qw))
        starts, lengths = self._ptr[cols], self._ptr[cols + 1] - self._ptr[cols]
        # Ragged gather of every posting list the query touches, in one vectorised step.
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = np.arange(int(lengths.sum())) + offsets
        weights = self._weights[positions] * np.repeat(qw, lengths)
        scores = np.bincount(self._rows[positions], weights=weights, minlength=self._n)
        return scores.astype(np.float64)


class CharNgramTfidf:
    """Built-in embedder: character n-gram TF-IDF cosine (numpy only).

    Example:
        >>> index = CharNgramTfidf().index(["habari ya asubuhi", "the weather is nice"])
        >>> int(index.scores("habari yako").argmax())
        0
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 4)) -> None:
        self.ngram_range = ngram_range

    def index(self, texts: Sequence[str]) -> SimilarityIndex:
        """Index ``texts``."""
        return _TfidfIndex(texts, *self.ngram_range)


class _DenseIndex:
    def __init__(self, matrix: FloatArray, embed_query: Callable[[str], FloatArray]) -> None:
        self._matrix, self._embed_query = matrix, embed_query

    def scores(self, query: str) -> FloatArray:
        return np.asarray(self._matrix @ self._embed_query(query), dtype=np.float64)


def _unit_rows(matrix: Any) -> FloatArray:
    array = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.asarray(array / np.where(norms > 0, norms, 1.0))


class SentenceEmbedder:
    """A sentence-transformers model (a local path or a loaded model), loaded on first use.

    Example:
        >>> embedder = SentenceEmbedder("/models/multilingual-e5-small")  # nothing loaded yet
        >>> embedder.model_name
        '/models/multilingual-e5-small'
    """

    def __init__(self, model: str | Path | Any) -> None:
        self._model: Any = None if isinstance(model, str | Path) else model
        self.model_name = str(model) if isinstance(model, str | Path) else type(model).__name__
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as err:
                    raise MissingDependency(
                        "sentence-transformers", "demos", "Embedding-based demonstration selection"
                    ) from err
                self._model = SentenceTransformer(self.model_name)
            return self._model

    def _encode(self, texts: Sequence[str]) -> FloatArray:
        vectors = self._loaded().encode(list(texts), normalize_embeddings=True)
        return _unit_rows(vectors)

    def index(self, texts: Sequence[str]) -> SimilarityIndex:
        """Embed ``texts`` once; queries are embedded as they come."""
        return _DenseIndex(self._encode(texts), lambda q: self._encode([q])[0])


class LangChainEmbedder:
    """Any LangChain ``Embeddings`` (``embed_documents`` / ``embed_query``) as an embedder."""

    def __init__(self, embeddings: Any) -> None:
        self.embeddings = embeddings

    def index(self, texts: Sequence[str]) -> SimilarityIndex:
        """Embed ``texts`` once; queries are embedded as they come."""
        matrix = _unit_rows(self.embeddings.embed_documents(list(texts)))
        return _DenseIndex(matrix, lambda q: _unit_rows(self.embeddings.embed_query(q))[0])


def make_embedder(spec: Any = None) -> Embedder:
    """Build an embedder from ``None`` (built-in TF-IDF), a model path, a model, or an embedder.

    A model path given while sentence-transformers is not installed falls back to the built-in
    TF-IDF with a logged warning.

    Example:
        >>> type(make_embedder()).__name__
        'CharNgramTfidf'
    """
    if spec is None or spec == "tfidf":
        return CharNgramTfidf()
    if isinstance(spec, str | Path):
        if importlib.util.find_spec("sentence_transformers") is None:
            logger.warning(
                "sentence-transformers is not installed: selecting demonstrations with the "
                "built-in character n-gram TF-IDF instead of %s "
                "(pip install 'bridgex-chain[demos]').",
                spec,
            )
            return CharNgramTfidf()
        return SentenceEmbedder(spec)
    if hasattr(spec, "embed_documents") and hasattr(spec, "embed_query"):
        return LangChainEmbedder(spec)
    if callable(getattr(spec, "index", None)) and not hasattr(spec, "encode"):
        return spec  # type: ignore[no-any-return]
    if not callable(getattr(spec, "encode", None)):
        raise InvalidOption(
            f"embedder={spec!r} is no embedder: pass None or 'tfidf' (the built-in TF-IDF), a "
            "sentence-transformers model name or path, a SentenceTransformer, LangChain "
            "Embeddings, or an object with index(texts)."
        )
    return SentenceEmbedder(spec)
