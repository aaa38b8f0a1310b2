"""Probe-data faults: malformed, mis-encoded or too small lexicons; corpus directories with gaps.

Malformed lexicon lines are a documented fallback (skipped, counted, logged); everything else is a
ProbeDataError that says how to fix the data, raised before the bridge table is touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing.corpus import Corpus, corpus_files
from bridgex_chain.probing.lexicon import load_muse_dir, read_muse_file
from bridgex_chain.store.table import BridgeTable

Snapshot = Callable[[str], dict[str, list[tuple[Any, ...]]]]


def _pairs(n: int, a: str = "neno", b: str = "word") -> list[str]:
    return [f"{a}{i} {b}{i}" for i in range(n)]


def test_malformed_lines_are_skipped_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sw-en.txt"
    bad = ["just-one-field", "three fields here", "\ttab-only-left", "a b c d"]
    lines = [*_pairs(60), *bad, "", "   ", *[f"x{i}\ty{i}" for i in range(60)]]  # tabs work too
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.probing.lexicon"):
        parsed = read_muse_file(path)
    assert (parsed.src, parsed.trg) == ("swh_Latn", "eng_Latn")
    assert len(parsed.pairs) == 120 and parsed.malformed == 4  # blank lines are not malformed
    assert "skipped 4 malformed line(s)" in caplog.text


def test_mostly_malformed_file_is_probe_data_error(tmp_path: Path) -> None:
    path = tmp_path / "sw-en.txt"
    path.write_text("\n".join([*_pairs(10), *["a b c"] * 200]) + "\n", encoding="utf-8")
    with pytest.raises(ProbeDataError, match=r"10 usable word pairs.*200 malformed lines skipped"):
        read_muse_file(path)


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "cp1252"])
def test_wrong_encoding_is_probe_data_error_with_a_fix(encoding: str, tmp_path: Path) -> None:
    path = tmp_path / "fr-en.txt"
    lines = [f"été{i} summer{i}" for i in range(150)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    with pytest.raises(ProbeDataError, match=r"is not UTF-8.*iconv"):
        read_muse_file(path)
    with pytest.raises(ProbeDataError, match=r"is not UTF-8"):
        load_muse_dir(tmp_path)


def test_utf8_with_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "sw-en.txt"
    path.write_bytes(("\n".join(_pairs(100)) + "\n").encode("utf-8-sig"))
    assert read_muse_file(path).pairs[0] == ("neno0", "word0")


@pytest.mark.parametrize("count", [0, 1, 99])
def test_too_few_pairs_is_probe_data_error(count: int, tmp_path: Path) -> None:
    path = tmp_path / "sw-en.txt"
    path.write_text("\n".join(_pairs(count)) + "\n", encoding="utf-8")
    with pytest.raises(ProbeDataError, match=f"{count} usable word pairs, fewer than the 100"):
        read_muse_file(path)
    assert len(read_muse_file(path, min_pairs=0).pairs) == count  # the limit is adjustable


@pytest.mark.parametrize(
    ("name", "match"),
    [("swahili_english.txt", "Cannot read the language pair"), ("xx-yy.txt", "Unknown language")],
)
def test_badly_named_lexicon_file_is_probe_data_error(
    name: str, match: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_text("\n".join(_pairs(100)) + "\n", encoding="utf-8")
    with pytest.raises(ProbeDataError, match=match):
        read_muse_file(path)


def test_lexicon_directory_without_usable_files_is_probe_data_error(tmp_path: Path) -> None:
    with pytest.raises(ProbeDataError, match=r"does not exist"):
        load_muse_dir(tmp_path / "missing")
    (tmp_path / "README.txt").write_text("not a lexicon", encoding="utf-8")
    with pytest.raises(ProbeDataError, match=r"No MUSE lexicon files found"):
        load_muse_dir(tmp_path)


def test_cli_reports_a_bad_lexicon_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bridgex_chain.cli.main import run

    (tmp_path / "sw-en.txt").write_bytes("été été\n".encode("latin-1") * 200)
    db = tmp_path / "bridges.db"
    monkeypatch.setattr(
        "sys.argv",
        ["bridgex-chain", "build-table", "--lexicon", str(tmp_path), "--database-url",
         f"sqlite:///{db}"],
    )  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is not UTF-8" in err and "iconv" in err and "Traceback" not in err
    assert not db.exists()  # refused before the database was opened


# ------------------------------------------------------------------------------ corpus
@pytest.fixture
def probe_set() -> Any:
    from bridgex_chain.probing.probe_set import ProbeSet

    return ProbeSet.from_pairs(
        "test", {("swh_Latn", "eng_Latn"): [(f"neno{i}", f"word{i}") for i in range(50)]}
    )


def test_corpus_missing_languages_is_probe_data_error(tmp_path: Path, probe_set: Any) -> None:
    (tmp_path / "sw.txt").write_text("habari ya asubuhi\n", encoding="utf-8")
    (tmp_path / "notes").mkdir()  # not a language: ignored
    with pytest.raises(ProbeDataError, match=r"has no text for eng_Latn, fra_Latn \(it has swh_La"):
        Corpus.from_directory(tmp_path, probe_set, ["swh_Latn", "eng_Latn", "fra_Latn"])
    with pytest.raises(ProbeDataError, match=r"does not exist"):
        corpus_files(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ProbeDataError, match=r"No corpus files"):
        corpus_files(empty)


def test_build_with_a_corpus_gap_refuses_before_touching_the_table(
    make_tiny_lm: Any, seeded_sqlite_url: str, snapshot: Snapshot, tmp_path: Path
) -> None:
    from bridgex_chain.probing.build import build_table, wrap_model

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sw.txt").write_text("habari ya asubuhi rafiki yangu\n", encoding="utf-8")
    model, tokenizer, _ = make_tiny_lm("llama")
    lm = wrap_model(model, tokenizer, key="tiny/llama")
    before = snapshot(seeded_sqlite_url)
    with BridgeTable(seeded_sqlite_url) as table, pytest.raises(ProbeDataError, match=r"eng_Latn"):
        build_table(
            lm, table=table, cache_dir=tmp_path / "cache", corpus_dir=corpus, languages=[],
            pairs="sw-en", bridges=["en", "fr"], max_prompts=4, top_rate=0.1,
        )  # fmt: skip
    assert snapshot(seeded_sqlite_url) == before


def test_corpus_file_in_the_wrong_encoding_is_probe_data_error(
    tmp_path: Path, probe_set: Any
) -> None:
    (tmp_path / "sw.txt").write_bytes("habari ya asubuhi été\n".encode("utf-16"))
    (tmp_path / "en.txt").write_text("good morning\n", encoding="utf-8")
    corpus = Corpus.from_directory(tmp_path, probe_set, ["swh_Latn", "eng_Latn"])
    with pytest.raises(ProbeDataError, match=r"not UTF-8"):
        list(corpus.texts("swh_Latn"))
