"""Corpus: the probe set's terms by default, or a directory of .txt/.tsv files per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing.corpus import Corpus, corpus_files
from bridgex_chain.probing.probe_set import ProbeSet


@pytest.fixture
def small_set() -> ProbeSet:
    return ProbeSet.from_pairs("t", {("sw", "en"): [(f"neno{i}", f"word{i}") for i in range(20)]})


def test_corpus_directory(tmp_path: Path, probe_set: ProbeSet) -> None:
    root = tmp_path / "corpus"
    (root / "eng_Latn").mkdir(parents=True)
    (root / "sw.txt").write_text("habari ya asubuhi\n\nmaji ni uhai\n", encoding="utf-8")
    (root / "eng_Latn" / "dev.tsv").write_text(
        "index_id\tcategory\ttext\n1\tx\tgood morning\n2\ty\twater is life\n", encoding="utf-8"
    )
    (root / "notes").mkdir()
    files = corpus_files(root)
    assert set(files) == {"swh_Latn", "eng_Latn"}
    corpus = Corpus.from_directory(root, probe_set, ["swh_Latn", "eng_Latn"])
    assert list(corpus.texts("eng_Latn")) == ["good morning", "water is life"]
    assert list(corpus.texts("swh_Latn")) == ["habari ya asubuhi", "maji ni uhai"]
    assert corpus.identity()["source"] == "directory" and len(corpus.identity()["sha256"]) == 64
    with pytest.raises(ProbeDataError, match="no text for fra_Latn"):
        Corpus.from_directory(root, probe_set, ["swh_Latn", "fra_Latn"])


def test_default_corpus_is_the_probe_set_terms_16_a_text(small_set: ProbeSet) -> None:
    corpus = Corpus.from_probe_set(small_set)
    texts = list(corpus.texts("swh_Latn"))
    assert texts == small_set.corpus("swh_Latn", terms_per_text=16)
    assert len(texts) == 2 and texts[0].count(", ") == 15
    assert corpus.identity() == {"source": "probe-set terms", "terms_per_text": 16}
    with pytest.raises(ProbeDataError, match="no terms"):
        list(corpus.texts("fra_Latn"))


def test_folder_of_text_files_and_tsv_without_a_text_column(tmp_path: Path) -> None:
    (tmp_path / "fi").mkdir()
    (tmp_path / "fi" / "a.txt").write_text("hyvää huomenta\n", encoding="utf-8")
    (tmp_path / "fi" / "b.tsv").write_text("id\tsentence\n1\tmitä kuuluu\n2\t \n", encoding="utf-8")
    (tmp_path / "fi" / "skip.md").write_text("not read", encoding="utf-8")
    (tmp_path / "nonsense-code.txt").write_text("skipped", encoding="utf-8")
    files = corpus_files(tmp_path)
    assert {lang: [p.name for p in paths] for lang, paths in files.items()} == {
        "fin_Latn": ["a.txt", "b.tsv"]
    }
    corpus = Corpus.from_directory(tmp_path, ProbeSet.from_pairs("t", {}), ["fin_Latn"])
    assert list(corpus.texts("fin_Latn")) == ["hyvää huomenta", "mitä kuuluu"]
    with pytest.raises(ProbeDataError, match="no text for swh_Latn"):
        list(corpus.texts("swh_Latn"))


def test_identity_changes_with_the_texts(tmp_path: Path) -> None:
    (tmp_path / "sw.txt").write_text("habari\n", encoding="utf-8")
    empty = ProbeSet.from_pairs("t", {})
    before = Corpus.from_directory(tmp_path, empty, ["swh_Latn"]).identity()
    assert before == Corpus.from_directory(tmp_path, empty, ["swh_Latn"]).identity()
    (tmp_path / "sw.txt").write_text("habari ya asubuhi\n", encoding="utf-8")
    after = Corpus.from_directory(tmp_path, empty, ["swh_Latn"]).identity()
    assert after["sha256"] != before["sha256"] and after["name"] == tmp_path.name


def test_missing_empty_and_non_utf8_directories(tmp_path: Path) -> None:
    with pytest.raises(ProbeDataError, match="does not exist"):
        corpus_files(tmp_path / "missing")
    (tmp_path / "README").write_text("no language here", encoding="utf-8")
    with pytest.raises(ProbeDataError, match=r"No corpus files.*sw\.txt"):
        corpus_files(tmp_path)
    (tmp_path / "fr.txt").write_bytes("été chaud\n".encode("latin-1"))
    corpus = Corpus.from_directory(tmp_path, ProbeSet.from_pairs("t", {}), ["fra_Latn"])
    with pytest.raises(ProbeDataError, match=r"not UTF-8.*iconv"):
        list(corpus.texts("fra_Latn"))
