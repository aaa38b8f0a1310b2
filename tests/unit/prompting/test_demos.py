"""Demonstration pools (JSONL, TSV, parallel directories) and similarity selection."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.prompting import demos as demos_mod
from bridgex_chain.prompting import embedders as embedders_mod
from bridgex_chain.prompting.demos import Demo, DemoPool, load_demo_pool
from bridgex_chain.prompting.embedders import (
    CharNgramTfidf,
    LangChainEmbedder,
    SentenceEmbedder,
    make_embedder,
)

SIB200 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "sib200"

SPORTS = {"swh_Latn": "Timu ilishinda mechi ya mpira jana", "fra_Latn": "L'équipe a gagné"}
POLITICS = {"swh_Latn": "Bunge lilipitisha sheria mpya", "fra_Latn": "Le parlement a voté"}
HEALTH = {"swh_Latn": "Daktari alisema homa imepungua", "eng_Latn": "The doctor said"}


def small_pool(**kw: Any) -> DemoPool:
    return DemoPool(
        [Demo("s", SPORTS, "sports"), Demo("p", POLITICS, "politics"), Demo("h", HEALTH, None)],
        **kw,
    )


def test_tfidf_ranks_shared_words_first_and_handles_unknown_grams() -> None:
    index = CharNgramTfidf().index(["habari ya asubuhi", "the weather is nice", "asubuhi njema"])
    scores = index.scores("habari za asubuhi")
    assert scores.shape == (3,)
    assert int(np.argmax(scores)) == 0
    assert scores[1] < scores[2]  # "asubuhi" is shared with the third text only
    assert np.all(index.scores("ЖЖЖЖ") == 0)  # no n-gram in the vocabulary
    assert pytest.approx(float(index.scores("the weather is nice")[1]), abs=1e-9) == 1.0


def test_select_most_similar_last_filtered_by_languages_and_labels() -> None:
    pool = small_pool()
    chosen = pool.select("Timu yetu ilishinda mechi", 2, langs=["swh_Latn", "fra_Latn"])
    assert [d.id for d in chosen] == ["p", "s"]  # the closest demonstration sits last
    assert chosen[-1].texts == SPORTS and chosen[-1].label == "sports"
    assert [d.id for d in pool.select("homa", 3, langs=["eng_Latn"])] == ["h"]
    assert [d.id for d in pool.select("homa", 3, langs=["swh_Latn"], labelled=True)] == ["p", "s"]
    assert pool.select("x", 2, langs=["deu_Latn"]) == []  # a language the pool lacks
    assert pool.select("x", 0, langs=["swh_Latn"]) == []


def test_select_indexes_the_query_language_and_skips_the_query_itself() -> None:
    pool = small_pool()
    # Scored on the Swahili column, returned with the French texts only.
    chosen = pool.select(SPORTS["swh_Latn"], 1, langs=["fra_Latn"], query_lang="swh_Latn")
    assert [d.id for d in chosen] == ["p"]  # the identical sentence is not its own demo
    assert set(chosen[0].texts) == {"fra_Latn"}


def test_matching_keeps_pool_order_and_labels() -> None:
    pool = small_pool()
    assert [d.id for d in pool.matching(["swh_Latn"])] == ["s", "p", "h"]
    assert [d.id for d in pool.matching(["swh_Latn"], labelled=True)] == ["s", "p"]
    assert pool.labels() == ("politics", "sports")


def test_language_keys_are_normalised() -> None:
    pool = DemoPool([Demo("1", {"sw": "Habari", "fr": "Bonjour"})])
    assert pool.languages == frozenset({"swh_Latn", "fra_Latn"})


def test_from_jsonl_both_row_shapes_merge_by_id(tmp_path: Path) -> None:
    path = tmp_path / "pool.jsonl"
    rows = [
        {"id": 1, "label": "sports", "texts": {"sw": "Timu ilishinda", "en": "The team won"}},
        {"id": 2, "lang": "sw", "text": "Bunge lilipitisha sheria", "label": "politics"},
        {"id": 2, "lang": "fr", "text": "Le parlement a voté"},
        {"index_id": 3, "text": "Daktari", "category": "health"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    pool = DemoPool.from_jsonl(path, lang="sw")
    assert pool.languages == frozenset({"swh_Latn", "eng_Latn", "fra_Latn"})
    both = pool.matching(["swh_Latn", "fra_Latn"], labelled=True)
    assert [(d.id, d.label) for d in both] == [("2", "politics")]
    assert pool.column("swh_Latn")["3"] == "Daktari"
    assert pool.labels() == ("health", "politics", "sports")


def test_from_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "no language"}\n', encoding="utf-8")
    with pytest.raises(ProbeDataError, match=r"bad.jsonl:1 .*lang"):
        DemoPool.from_jsonl(bad)
    bad.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(ProbeDataError, match="not valid JSON"):
        DemoPool.from_jsonl(bad)
    with pytest.raises(ProbeDataError, match="Cannot read"):
        DemoPool.from_jsonl(tmp_path / "missing.jsonl")


def write_tsv(path: Path, rows: Sequence[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["index_id\tcategory\ttext", *("\t".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_from_tsv_and_from_dir_are_parallel_by_index_id(tmp_path: Path) -> None:
    write_tsv(
        tmp_path / "swh_Latn" / "train.tsv",
        [("7", "sports", "Timu ilishinda"), ("8", "politics", "Bunge")],
    )
    write_tsv(
        tmp_path / "fra_Latn" / "train.tsv",
        [("8", "politics", "Le parlement"), ("7", "sports", "L'équipe a gagné")],
    )
    single = DemoPool.from_tsv(tmp_path / "swh_Latn" / "train.tsv", "sw")
    assert single.languages == frozenset({"swh_Latn"})
    pool = DemoPool.from_dir(tmp_path)
    chosen = pool.select("Timu", 1, langs=["swh_Latn", "fra_Latn"], labelled=True)
    assert chosen == [
        Demo("7", {"swh_Latn": "Timu ilishinda", "fra_Latn": "L'équipe a gagné"}, "sports")
    ]
    with pytest.raises(ProbeDataError, match=r"dev\.tsv"):
        DemoPool.from_dir(tmp_path, split="dev")


def test_from_dir_reads_only_the_languages_asked_for(tmp_path: Path) -> None:
    for lang in ("swh_Latn", "fra_Latn", "deu_Latn"):
        write_tsv(tmp_path / lang / "train.tsv", [("1", "sports", f"text {lang}")])
    read: list[str] = []
    original = demos_mod._read_tsv

    def spy(path: Path, *args: str) -> Mapping[str, tuple[str | None, str]]:
        read.append(path.parent.name)
        return original(path, *args)

    pool = DemoPool.from_dir(tmp_path)
    demos_mod._read_tsv = spy  # type: ignore[assignment]
    try:
        assert pool.languages == frozenset({"swh_Latn", "fra_Latn", "deu_Latn"})
        assert read == []
        pool.select("text", 1, langs=["fra_Latn"], query_lang="swh_Latn")
        assert sorted(read) == ["fra_Latn", "swh_Latn"]
        pool.select("text", 1, langs=["fra_Latn"], query_lang="swh_Latn")
        assert len(read) == 2  # cached
    finally:
        demos_mod._read_tsv = original  # type: ignore[assignment]


def test_tsv_without_text_column(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_text("id\tlabel\n1\ta\n", encoding="utf-8")
    with pytest.raises(ProbeDataError, match="'text' column"):
        DemoPool.from_tsv(path, "sw")


class KeywordEmbeddings:
    """A LangChain-style Embeddings with one dimension per keyword (multilingual by design)."""

    KEYS = (("timu", "équipe", "team", "mpira"), ("bunge", "parlement", "sheria"))

    def _vec(self, text: str) -> list[float]:
        low = text.lower()
        return [float(sum(k in low for k in keys)) + 1e-3 for keys in self.KEYS]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def test_langchain_embeddings_select_across_languages() -> None:
    pool = small_pool(embedder=KeywordEmbeddings())
    assert isinstance(make_embedder(KeywordEmbeddings()), LangChainEmbedder)
    # An English query against the Swahili column: TF-IDF could not match it, embeddings can.
    chosen = pool.select("Which team won?", 1, langs=["fra_Latn"], query_lang="swh_Latn")
    assert [d.id for d in chosen] == ["s"]


def test_sentence_embedder_uses_a_given_model_object() -> None:
    class FakeST:
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def encode(self, texts: list[str], normalize_embeddings: bool) -> Any:
            assert normalize_embeddings
            self.calls.append(texts)
            return np.array(KeywordEmbeddings().embed_documents(texts))

    model = FakeST()
    pool = small_pool(embedder=SentenceEmbedder(model))
    chosen = pool.select("Bunge la Ufaransa", 1, langs=["swh_Latn"])
    assert [d.id for d in chosen] == ["p"]
    assert len(model.calls) == 2  # the column once, then the query


def test_model_path_without_sentence_transformers_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(embedders_mod.importlib.util, "find_spec", lambda name: None)
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.prompting.embedders"):
        embedder = make_embedder("/models/multilingual-e5-small")
    assert isinstance(embedder, CharNgramTfidf)
    assert "sentence-transformers is not installed" in caplog.text
    monkeypatch.undo()
    assert isinstance(make_embedder("/models/multilingual-e5-small"), SentenceEmbedder)
    assert isinstance(make_embedder(None), CharNgramTfidf)


def test_load_demo_pool_sources(tmp_path: Path) -> None:
    pool = small_pool()
    assert load_demo_pool(pool) is pool
    from_dicts = load_demo_pool([{"id": 1, "texts": {"sw": "Habari"}, "label": "x"}])
    assert from_dicts.matching(["swh_Latn"]) == [Demo("1", {"swh_Latn": "Habari"}, "x")]
    write_tsv(tmp_path / "sw" / "train.tsv", [("1", "sports", "Timu")])
    assert load_demo_pool(tmp_path / "sw" / "train.tsv").languages == frozenset({"swh_Latn"})
    assert load_demo_pool(tmp_path).languages == frozenset({"swh_Latn"})


@pytest.mark.skipif(not SIB200.is_dir(), reason="shared SIB-200 data not found at ../shared/data")
def test_sib200_selection_returns_labelled_french_demos_for_swahili() -> None:
    pool = DemoPool.from_dir(SIB200)
    assert len(pool.labels()) == 7
    query = "Timu ya taifa ilishinda mechi ya mpira wa miguu jana usiku."
    chosen = pool.select(query, 4, langs=["fra_Latn"], labelled=True, query_lang="swh_Latn")
    assert len(chosen) == 4
    assert all(d.label in pool.labels() and set(d.texts) == {"fra_Latn"} for d in chosen)
    swahili = pool.column("swh_Latn")
    scores = CharNgramTfidf().index([swahili[d.id] for d in chosen]).scores(query)
    assert scores[-1] == max(scores)  # the most similar demonstration comes last


def test_from_parallel_reads_sib200_and_flores_layouts(tmp_path: Path) -> None:
    sib = tmp_path / "sib"
    for lang, text in (("swh_Latn", "Habari"), ("eng_Latn", "Hello")):
        (sib / lang).mkdir(parents=True)
        (sib / lang / "train.tsv").write_text(
            f"index_id\tcategory\ttext\n7\ttravel\t{text}\n", encoding="utf-8"
        )
    pool = DemoPool.from_parallel(sib, "train")
    assert pool.column("eng_Latn") == {"7": "Hello"}
    flores = tmp_path / "flores"
    (flores / "dev").mkdir(parents=True)
    (flores / "dev" / "swh_Latn.dev").write_text("Habari\nMaji\n", encoding="utf-8")
    (flores / "dev" / "eng_Latn.dev").write_text("Hello\nWater\n", encoding="utf-8")
    aligned = DemoPool.from_parallel(flores, "dev")
    assert aligned.column("swh_Latn") == {"0": "Habari", "1": "Maji"}
    assert aligned.column("eng_Latn")["1"] == "Water"
    with pytest.raises(ProbeDataError, match="No parallel data for split 'test'"):
        DemoPool.from_parallel(flores, "test")
