"""Parallel probes: the row partition, the probe set's directions and rows, the cap, errors.

The SIB-200 tests read the corpus from ``../shared/data/sib200`` (CC-BY-SA; never copied into
the project) and are skipped when it is not there.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bridgex_chain.errors import InvalidOption, ProbeDataError
from bridgex_chain.probing.parallel_probes import (
    PARTITION,
    ROW_PARTS,
    cut_at_word,
    load_parallel_rows,
    parallel_probe_set,
    probe_text,
    row_part,
    rows_in_part,
)
from bridgex_chain.probing.probe_set import ProbeSet

SIB200 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "sib200"
needs_sib200 = pytest.mark.skipif(
    not (SIB200 / "ace_Latn" / "train.tsv").is_file(), reason=f"SIB-200 not found at {SIB200}"
)


def synthetic(langs: tuple[str, ...], ids: range = range(60)) -> dict[str, dict[str, str]]:
    """Short texts that name their language and row: ``"<lang> row <id>"``."""
    return {lang: {str(i): f"{lang} row {i}" for i in ids} for lang in langs}


def row_of(text: str) -> str:
    return text.rsplit(" ", 1)[1]


# -- the partition ---------------------------------------------------------------------------
def test_the_partition_is_pinned_and_ignores_surrounding_space() -> None:
    # pinned: a change of the rule must come with a new PARTITION name
    assert PARTITION == "sha256-thirds-v1"
    assert [row_part(str(i)) for i in range(10)] == [
        "check", "check", "check", "heldout", "check",
        "check", "probe", "check", "probe", "heldout",
    ]  # fmt: skip
    assert row_part(" 431\t") == row_part("431") == "heldout"


def test_the_parts_are_thirds_of_many_ids() -> None:
    counts = Counter(row_part(str(i)) for i in range(30_000))
    assert set(counts) == set(ROW_PARTS)
    assert all(abs(n / 30_000 - 1 / 3) < 0.01 for n in counts.values())


def test_rows_in_part_split_rows_into_disjoint_parts_in_order() -> None:
    rows = {str(i): f"t{i}" for i in range(50)}
    parts = {p: rows_in_part(rows, p) for p in ROW_PARTS}
    assert sum(len(p) for p in parts.values()) == len(rows)
    assert (
        not set(parts["probe"]) & set(parts["check"])
        | set(parts["probe"]) & set(parts["heldout"])
        | set(parts["check"]) & set(parts["heldout"])
    )
    assert list(parts["probe"]) == [i for i in rows if i in parts["probe"]]
    with pytest.raises(ProbeDataError, match="Unknown row part 'test'"):
        rows_in_part(rows, "test")  # type: ignore[arg-type]


@needs_sib200
def test_on_sib200_every_language_splits_the_same_ids_into_thirds() -> None:
    rows = load_parallel_rows(SIB200, "train", ["ace_Latn", "eng_Latn", "fon_Latn"])
    ids = set(rows["ace_Latn"])
    assert len(ids) == 701 and all(set(col) == ids for col in rows.values())
    counts = Counter(row_part(i) for i in ids)
    assert all(0.25 < n / len(ids) < 0.42 for n in counts.values()), counts
    assert counts["probe"] >= 128  # the default max_pairs fits


# -- the probe set ---------------------------------------------------------------------------
def test_directions_cover_languages_to_bridges_both_ways_and_bridges_among_them() -> None:
    rows = synthetic(("ace_Latn", "fon_Latn", "eng_Latn", "fra_Latn", "ind_Latn", "tgl_Latn"))
    ps = parallel_probe_set(
        rows, ["ace", "fon", "en"], ["en", "fr"], pairs=[("id", "tl"), ("en", "en")]
    )
    langs, bridges = ("ace_Latn", "fon_Latn"), ("eng_Latn", "fra_Latn")
    expected = {(lang, b) for lang in langs for b in bridges}
    expected |= {(b, lang) for lang, b in expected}
    expected |= {("eng_Latn", "fra_Latn"), ("fra_Latn", "eng_Latn"), ("ind_Latn", "tgl_Latn")}
    assert set(ps.directions()) == expected
    # the chat entry (L, L) gets every direction involving L, a bridge's own entry likewise
    assert {(p.src, p.trg) for p in ps.prompts("ace", "ace")} == {
        d for d in expected if "ace_Latn" in d
    }
    assert {(p.src, p.trg) for p in ps.prompts("en", "en")} == {
        d for d in expected if "eng_Latn" in d
    }
    assert ps.name == "parallel-v1" and PARTITION in ps.source
    alone = parallel_probe_set(rows, ["ace", "fon"], ["en", "fr"], between_bridges=False)
    assert set(alone.directions()) == expected - {
        ("eng_Latn", "fra_Latn"),
        ("fra_Latn", "eng_Latn"),
        ("ind_Latn", "tgl_Latn"),
    }


def test_pairs_are_the_same_probe_row_on_both_sides_and_the_same_rows_everywhere() -> None:
    rows = synthetic(("ace_Latn", "eng_Latn", "fra_Latn"), range(300))
    ps = parallel_probe_set(rows, ["ace"], ["en", "fr"], max_pairs=20, target_chars=None)
    by_direction: dict[tuple[str, str], set[str]] = {}
    for (src, trg), word_pairs in ps.pairs.items():
        assert len(word_pairs) == 20
        for w_s, w_t in word_pairs:
            assert w_s.startswith(src) and w_t.startswith(trg)
            assert row_of(w_s) == row_of(w_t) and row_part(row_of(w_s)) == "probe"
        by_direction[(src, trg)] = {row_of(w) for w, _ in word_pairs}
    assert len({frozenset(r) for r in by_direction.values()}) == 1  # one row sample for all


def test_only_probe_rows_appear_and_rows_with_an_empty_side_are_skipped() -> None:
    rows = synthetic(("ace_Latn", "eng_Latn"), range(40))
    probe_ids = [str(i) for i in range(40) if row_part(str(i)) == "probe"]
    rows["eng_Latn"][probe_ids[0]] = "  "
    ps = parallel_probe_set(rows, ["ace"], ["en"], target_chars=None)
    used = {row_of(w) for w, _ in ps.word_pairs("ace", "en")}
    assert used == set(probe_ids[1:])
    assert ps.terms["ace_Latn"] == tuple(sorted(f"ace_Latn row {i}" for i in probe_ids[1:]))


def test_the_sample_is_seeded_and_deterministic() -> None:
    rows = synthetic(("ace_Latn", "eng_Latn"), range(300))
    a = parallel_probe_set(rows, ["ace"], ["en"], max_pairs=10, seed=1)
    assert (
        a.content_hash
        == parallel_probe_set(rows, ["ace"], ["en"], max_pairs=10, seed=1).content_hash
    )
    assert (
        a.content_hash
        != parallel_probe_set(rows, ["ace"], ["en"], max_pairs=10, seed=2).content_hash
    )
    # the rows do not depend on the other languages asked for, nor on the code form
    more = synthetic(("ace_Latn", "eng_Latn", "fon_Latn"), range(300))
    b = parallel_probe_set(more, ["fon", "ace_Latn"], ["eng_Latn"], max_pairs=10, seed=1)
    assert b.word_pairs("ace", "en") == a.word_pairs("ace", "en")
    # the cache reads probe sets back from their dict: the round trip keeps the hash
    assert ProbeSet.from_dict(a.to_dict()).content_hash == a.content_hash


def test_sources_are_cut_at_a_word_boundary_and_targets_shorter() -> None:
    long = "Turkey is surrounded by sea on three sides: the Aegean Sea to the west"
    ids = [str(i) for i in range(20) if row_part(str(i)) == "probe"][:1]
    rows = {
        "eng_Latn": {i: long for i in ids},
        "fra_Latn": {i: "La Turquie est entourée" for i in ids},
    }
    ((w_s, w_t),) = parallel_probe_set(rows, ["en"], ["fr"]).word_pairs("en", "fr")
    assert (w_s, w_t) == (
        "Turkey is surrounded by sea on three sides: the Aegean Sea to",
        "La Turquie",
    )
    assert len(w_s) <= 64 and long.startswith(w_s)
    ((w_s, w_t),) = parallel_probe_set(rows, ["en"], ["fr"], max_chars=24).word_pairs("en", "fr")
    assert w_s == "Turkey is surrounded by"
    whole = parallel_probe_set(rows, ["en"], ["fr"], max_chars=None, target_chars=None)
    assert whole.word_pairs("en", "fr") == ((long, "La Turquie est entourée"),)


def test_cut_at_word_rules() -> None:
    assert cut_at_word("one, two three", 7) == "one"  # separator before the space dropped
    assert cut_at_word("  one   two  ", None) == "one two"
    assert cut_at_word("short", 64) == "short"
    assert cut_at_word("unbreakableword more", 8) == "unbreaka"  # no space within: cut there
    assert cut_at_word("土耳其三面环海", 6) == "土耳其"  # wide characters count two
    assert cut_at_word("ab cdefghijklmnop", 12) == "ab cdefghijk"  # a space too early is ignored
    assert probe_text('"A ""quoted"" word"', None) == "A quoted word"


@needs_sib200
def test_on_sib200_acehnese_probes_come_from_probe_rows_only() -> None:
    rows = load_parallel_rows(SIB200, "train", ["ace_Latn", "eng_Latn", "fra_Latn"])
    ps = parallel_probe_set(rows, ["ace_Latn"], ["eng_Latn", "fra_Latn"])
    assert ps.pair_counts() == {d: 128 for d in ps.directions()} and len(ps.directions()) == 6
    probe = {probe_text(t, None): i for i, t in rows_in_part(rows["ace_Latn"], "probe").items()}
    for w_s, w_t in ps.word_pairs("ace", "en"):
        (row,) = [i for t, i in probe.items() if t.startswith(w_s)][:1]
        assert probe_text(rows["eng_Latn"][row], None).startswith(w_t)
        assert w_s and len(w_s) <= 64 and len(w_t) <= 12
    prompt = ps.prompts("ace", "en")[0].text
    assert prompt.startswith('Acehnese:"') and prompt.endswith('"→English:')
    assert prompt.count('"') == 2  # the corpus's CSV quotes never reach the prompt


# -- errors ----------------------------------------------------------------------------------
def test_a_language_missing_from_the_corpus_is_named() -> None:
    rows = synthetic(("ace_Latn", "eng_Latn"))
    with pytest.raises(ProbeDataError, match=r"no text in fon_Latn, fra_Latn .*--parallel"):
        parallel_probe_set(rows, ["ace", "fon"], ["en", "fr"])
    rows["fra_Latn"] = {"1": " "}
    with pytest.raises(ProbeDataError, match="no text in fra_Latn"):
        parallel_probe_set(rows, ["ace"], ["en", "fr"])


def test_languages_sharing_no_probe_row_are_an_error() -> None:
    rows = {"ace_Latn": {"6": "a b"}, "eng_Latn": {"8": "c d"}}
    with pytest.raises(ProbeDataError, match="share no row id"):
        parallel_probe_set(rows, ["ace"], ["en"])
    only_check = {"ace_Latn": {"0": "a b"}, "eng_Latn": {"0": "c d"}}  # row 0 is a check row
    with pytest.raises(ProbeDataError, match="probe part"):
        parallel_probe_set(only_check, ["ace"], ["en"])


def test_bad_arguments_and_codes() -> None:
    rows = synthetic(("ace_Latn", "eng_Latn"))
    with pytest.raises(InvalidOption, match="max_pairs"):
        parallel_probe_set(rows, ["ace"], ["en"], max_pairs=0)
    with pytest.raises(InvalidOption, match="max_chars"):
        parallel_probe_set(rows, ["ace"], ["en"], max_chars=0)
    with pytest.raises(ProbeDataError, match="Unknown language code 'xx-nowhere'"):
        parallel_probe_set(rows, ["xx-nowhere"], ["en"])


# -- the loader ------------------------------------------------------------------------------
def test_the_loader_reads_both_layouts_and_names_missing_languages(tmp_path: Path) -> None:
    sib = tmp_path / "sib"
    (sib / "fon_Latn").mkdir(parents=True)
    (sib / "fon_Latn" / "train.tsv").write_text(
        "index_id\tcategory\ttext\n8\ttravel\tUn ɖò xwé\n", encoding="utf-8"
    )
    assert load_parallel_rows(sib) == {"fon_Latn": {"8": "Un ɖò xwé"}}
    with pytest.raises(ProbeDataError, match="no train rows in eng_Latn"):
        load_parallel_rows(sib, "train", ["fon", "en"])
    with pytest.raises(ProbeDataError, match="No parallel data for split 'dev'"):
        load_parallel_rows(sib, "dev")
    flores = tmp_path / "flores"
    (flores / "dev").mkdir(parents=True)
    (flores / "dev" / "fon_Latn.dev").write_text("a\nb\n", encoding="utf-8")
    assert load_parallel_rows(flores, "dev", ["fon_Latn"]) == {"fon_Latn": {"0": "a", "1": "b"}}
