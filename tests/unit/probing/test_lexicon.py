"""MUSE lexicon files: parsing, malformed lines, encodings, file names, directories."""

from __future__ import annotations

import logging

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing.lexicon import load_muse_dir, read_muse_file


def _write(path, lines, encoding="utf-8"):
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


def test_muse_file_parsing_with_malformed_lines(tmp_path, caplog):
    path = _write(
        tmp_path / "sw-en.txt",
        ["maji water", "moto\tfire", "", "broken", "too many fields", "  nyumba   house  "],
    )
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.probing.lexicon"):
        parsed = read_muse_file(path, min_pairs=3)
    assert (parsed.src, parsed.trg) == ("swh_Latn", "eng_Latn")
    assert parsed.pairs == (("maji", "water"), ("moto", "fire"), ("nyumba", "house"))
    assert parsed.malformed == 2
    assert "2 malformed" in caplog.text


def test_muse_too_few_pairs_and_bad_encoding(tmp_path):
    few = _write(tmp_path / "sw-en.txt", ["maji water", "moto fire"])
    with pytest.raises(ProbeDataError, match=r"2 usable word pairs.*min_pairs"):
        read_muse_file(few, min_pairs=3)
    latin = _write(tmp_path / "fr-en.txt", ["café coffee", "été summer"], encoding="latin-1")
    with pytest.raises(ProbeDataError, match=r"not UTF-8.*iconv"):
        read_muse_file(latin, min_pairs=1)
    bom = tmp_path / "de-en.txt"
    bom.write_bytes("\ufeffwasser water\n".encode())
    assert read_muse_file(bom, min_pairs=1).pairs == (("wasser", "water"),)


def test_muse_file_names(tmp_path):
    with pytest.raises(ProbeDataError, match="file name"):
        read_muse_file(_write(tmp_path / "swahili.txt", ["a b"]), min_pairs=1)
    with pytest.raises(ProbeDataError, match="Unknown language"):
        read_muse_file(_write(tmp_path / "qqq1-en.txt", ["a b"]), min_pairs=1)
    flores = read_muse_file(_write(tmp_path / "swh_Latn-fra_Latn.txt", ["maji eau"]), min_pairs=1)
    assert (flores.src, flores.trg) == ("swh_Latn", "fra_Latn")


def test_load_muse_dir_merges_and_filters(tmp_path):
    _write(tmp_path / "en-de.0-5000.txt", ["water wasser", "fire feuer"])
    _write(tmp_path / "en-de.5000-6500.txt", ["house haus", "water wasser"])
    _write(tmp_path / "sw-en.txt", ["maji water", "taxi taxi"])
    _write(tmp_path / "README.txt", ["not a lexicon"])
    (tmp_path / "notes.md").write_text("ignored")
    ps = load_muse_dir(tmp_path, min_pairs=2)
    assert ps.name == f"muse:{tmp_path.name}"
    assert ps.pair_counts() == {("eng_Latn", "deu_Latn"): 3, ("swh_Latn", "eng_Latn"): 1}
    assert "en-de.0-5000.txt" in ps.source
    only = load_muse_dir(tmp_path, min_pairs=2, languages=["en", "de"], name="mine")
    assert only.name == "mine" and only.directions() == [("eng_Latn", "deu_Latn")]
    with pytest.raises(ProbeDataError, match="No MUSE lexicon files"):
        load_muse_dir(tmp_path, languages=["fi", "hu"])
    with pytest.raises(ProbeDataError, match="does not exist"):
        load_muse_dir(tmp_path / "missing")
    single = load_muse_dir(tmp_path / "sw-en.txt", min_pairs=1)
    assert single.directions() == [("swh_Latn", "eng_Latn")]
