"""Tests for bridgex_chain.prompting.embedders: TF-IDF, sentence-transformers and LangChain.

No sentence-transformers model is loaded (none is available offline): SentenceEmbedder is
tested with a loaded-model object and with a missing sentence-transformers installation.
test_demos.py checks the embedders through DemoPool.select.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from bridgex_chain.errors import BridgeXError, InvalidOption, MissingDependency
from bridgex_chain.prompting.embedders import (
    CharNgramTfidf,
    LangChainEmbedder,
    SentenceEmbedder,
    make_embedder,
)

TEXTS = [
    "habari ya asubuhi",
    "the weather is nice today",
    "asubuhi njema rafiki",
    "le temps est beau aujourd'hui",
    "habari za jioni",
]


def dense_tfidf_scores(texts: Sequence[str], query: str, low: int, high: int) -> list[float]:
    """The documented scoring, computed naively with dense vectors (a reference for the index).

    Texts are lower-cased, whitespace-collapsed and padded with one space; term weight
    ``1 + log(count)``, smoothed idf ``log((1 + n) / (1 + df)) + 1``, L2-normalised, cosine.
    """

    def grams(text: str) -> Counter[str]:
        padded = f" {' '.join(text.lower().split())} "
        return Counter(
            padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)
        )

    docs = [grams(t) for t in texts]
    vocab = sorted({g for d in docs for g in d})
    df = {g: sum(g in d for d in docs) for g in vocab}
    idf = {g: math.log((1 + len(docs)) / (1 + df[g])) + 1 for g in vocab}

    def vector(counts: Counter[str]) -> np.ndarray:
        v = np.array([(1 + math.log(counts[g])) * idf[g] if counts[g] else 0.0 for g in vocab])
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    q = vector(grams(query))
    return [float(vector(d) @ q) for d in docs]


class FakeSentenceModel:
    """A loaded sentence-transformers-like model: bag of two keywords, deliberately unnormalised."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str], normalize_embeddings: bool) -> Any:
        self.calls.append(list(texts))
        return np.array([[3.0 * t.count("maji"), 4.0 * t.count("moto")] for t in texts])


# --------------------------------------------------------------------------- CharNgramTfidf


def test_tfidf_scores_match_a_dense_reference_computation() -> None:
    index = CharNgramTfidf().index(TEXTS)
    for query in ("habari yako", "the weather", "Asubuhi NJEMA", "beau temps", "xyz habari"):
        got = index.scores(query)
        assert got.dtype == np.float64 and got.shape == (len(TEXTS),)
        np.testing.assert_allclose(got, dense_tfidf_scores(TEXTS, query, 2, 4), atol=1e-12)


def test_tfidf_with_another_ngram_range_matches_the_reference() -> None:
    embedder = CharNgramTfidf(ngram_range=(1, 2))
    assert embedder.ngram_range == (1, 2)
    got = embedder.index(TEXTS).scores("jioni njema")
    np.testing.assert_allclose(got, dense_tfidf_scores(TEXTS, "jioni njema", 1, 2), atol=1e-12)


def test_tfidf_ignores_case_and_whitespace() -> None:
    index = CharNgramTfidf().index(TEXTS)
    scores = index.scores("  HABARI\tya   Asubuhi ")
    assert scores[0] == pytest.approx(1.0)
    assert int(np.argmax(scores)) == 0


def test_tfidf_scores_are_cosines_between_zero_and_one() -> None:
    index = CharNgramTfidf().index(TEXTS)
    for text in TEXTS:
        scores = index.scores(text)
        assert np.all(scores >= 0.0) and np.all(scores <= 1.0 + 1e-12)
        assert scores[TEXTS.index(text)] == pytest.approx(1.0)


def test_tfidf_duplicate_texts_score_alike() -> None:
    scores = CharNgramTfidf().index(["maji safi", "moto mkali", "maji safi"]).scores("maji")
    assert scores[0] == scores[2] > scores[1]


def test_tfidf_empty_index_and_empty_query() -> None:
    assert CharNgramTfidf().index([]).scores("habari").shape == (0,)
    # An empty query shares no n-gram with real text.
    scores = CharNgramTfidf().index(TEXTS).scores("")
    np.testing.assert_array_equal(scores, np.zeros(len(TEXTS)))


# --------------------------------------------------------------------------- SentenceEmbedder


def test_sentence_embedder_with_a_loaded_model_scores_cosines() -> None:
    model = FakeSentenceModel()
    embedder = SentenceEmbedder(model)
    assert embedder.model_name == "FakeSentenceModel"
    index = embedder.index(["maji maji", "moto", "maji moto"])
    assert model.calls == [["maji maji", "moto", "maji moto"]]  # the texts, embedded once
    scores = index.scores("maji")
    assert model.calls[-1] == ["maji"]
    # The model's vectors are not unit length; the index normalises them to cosines.
    np.testing.assert_allclose(scores, [1.0, 0.0, 0.6], atol=1e-12)
    index.scores("moto")
    assert len(model.calls) == 3  # one call per query, none for the texts again


def test_sentence_embedder_names_a_path_model_by_its_path() -> None:
    embedder = SentenceEmbedder(Path("/models/multilingual-e5-small"))
    assert embedder.model_name == "/models/multilingual-e5-small"


def test_sentence_embedder_needs_sentence_transformers_to_load_a_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    embedder = SentenceEmbedder("/models/multilingual-e5-small")  # constructing is fine
    with pytest.raises(MissingDependency) as info:
        embedder.index(["habari"])
    assert isinstance(info.value, BridgeXError) and isinstance(info.value, ImportError)
    assert info.value.package == "sentence-transformers" and info.value.extra == "demos"
    assert "Embedding-based demonstration selection" in str(info.value)
    assert "pip install 'bridgex-chain[demos]'" in str(info.value)


# --------------------------------------------------------------------------- LangChainEmbedder


def test_langchain_embedder_scores_cosines_of_the_embeddings() -> None:
    embeddings = DeterministicFakeEmbedding(size=16)
    texts = ["habari", "jambo", "asante"]
    index = LangChainEmbedder(embeddings).index(texts)
    scores = index.scores("jambo")
    assert scores.shape == (3,)
    assert int(np.argmax(scores)) == 1 and scores[1] == pytest.approx(1.0)
    docs = np.array(embeddings.embed_documents(texts))
    query = np.array(embeddings.embed_query("jambo"))
    expected = (docs @ query) / (np.linalg.norm(docs, axis=1) * np.linalg.norm(query))
    np.testing.assert_allclose(scores, expected, atol=1e-12)


def test_zero_vectors_score_zero_instead_of_dividing_by_zero() -> None:
    class Zeros:
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[0.0, 0.0] for _ in texts]

        def embed_query(self, text: str) -> list[float]:
            return [1.0, 0.0]

    scores = LangChainEmbedder(Zeros()).index(["a", "b"]).scores("q")
    np.testing.assert_array_equal(scores, [0.0, 0.0])


# --------------------------------------------------------------------------- make_embedder


@pytest.mark.parametrize("spec", [None, "tfidf"])
def test_make_embedder_defaults_to_tfidf(spec: str | None) -> None:
    embedder = make_embedder(spec)
    assert isinstance(embedder, CharNgramTfidf)
    assert embedder.ngram_range == (2, 4)


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence-transformers is not installed",
)
@pytest.mark.parametrize("spec", ["/models/e5", Path("/models/e5")])
def test_make_embedder_takes_a_model_path(spec: str | Path) -> None:
    embedder = make_embedder(spec)
    assert isinstance(embedder, SentenceEmbedder)
    assert embedder.model_name == "/models/e5"


def test_a_model_path_falls_back_to_tfidf_without_sentence_transformers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # find_spec → None
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.prompting.embedders"):
        embedder = make_embedder(Path("/models/e5"))
    assert isinstance(embedder, CharNgramTfidf)
    assert "/models/e5" in caplog.text
    assert "pip install 'bridgex-chain[demos]'" in caplog.text


def test_make_embedder_wraps_langchain_embeddings() -> None:
    embeddings = DeterministicFakeEmbedding(size=4)
    embedder = make_embedder(embeddings)
    assert isinstance(embedder, LangChainEmbedder)
    assert embedder.embeddings is embeddings


def test_make_embedder_returns_an_embedder_unchanged() -> None:
    custom = CharNgramTfidf(ngram_range=(3, 3))
    assert make_embedder(custom) is custom


def test_an_object_with_encode_is_a_model_even_with_an_index_method() -> None:
    class ModelWithIndex(FakeSentenceModel):
        def index(self, texts: Sequence[str]) -> None:
            raise AssertionError("a model's index() is not an embedder's")

    model = ModelWithIndex()
    embedder = make_embedder(model)
    assert isinstance(embedder, SentenceEmbedder)
    np.testing.assert_allclose(embedder.index(["maji"]).scores("maji"), [1.0])
    assert model.calls == [["maji"], ["maji"]]


def test_make_embedder_refuses_what_is_no_embedder_model_or_path() -> None:
    with pytest.raises(InvalidOption, match="embedder=42 is no embedder"):
        make_embedder(42)
