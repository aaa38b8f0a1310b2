import json
from pathlib import Path

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.eval.data import (
    Item,
    balanced_sample,
    lexicon_renderings,
    load_belebele,
    load_lexicon_items,
    load_parallel,
    seeded_sample,
)


def write_sib(root: Path, lang: str, split: str, rows: list[tuple[str, str, str]]) -> None:
    (root / lang).mkdir(parents=True, exist_ok=True)
    lines = ["index_id\tcategory\ttext"] + ["\t".join(r) for r in rows]
    (root / lang / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_balanced_sample_takes_labels_in_turn_never_the_first_rows() -> None:
    # sorted by category, like SIB-200 test files
    rows = [Item(str(i), f"t{i}", label) for i, label in enumerate("aaaabbbcc")]
    assert [i.id for i in balanced_sample(rows, 6)] == ["0", "4", "7", "1", "5", "8"]
    assert [i.gold for i in balanced_sample(rows, 3)] == ["a", "b", "c"]
    assert balanced_sample(rows, None) == rows
    assert balanced_sample(rows, 100) == rows


def test_seeded_sample_is_reproducible_and_ordered() -> None:
    rows = [Item(str(i), "t", "x") for i in range(20)]
    a = seeded_sample(rows, 5, seed=1)
    assert a == seeded_sample(rows, 5, seed=1)
    assert [int(i.id) for i in a] == sorted(int(i.id) for i in a)
    assert len(a) == 5 and a != seeded_sample(rows, 5, seed=2)


def test_sib200_directories_are_joined_by_index_id(tmp_path: Path) -> None:
    write_sib(tmp_path, "swh_Latn", "test", [("7", "sports", "mpira"), ("9", "travel", "safari")])
    write_sib(tmp_path, "eng_Latn", "test", [("9", "travel", "trip"), ("7", "sports", "ball")])
    data = load_parallel(tmp_path, "test")
    assert data.languages == {"swh_Latn", "eng_Latn"}
    assert [(i.id, i.text, i.gold) for i in data.items("sw")] == [
        ("7", "mpira", "sports"),
        ("9", "safari", "travel"),
    ]
    assert [i.gold for i in data.items("swh_Latn", gold_lang="en")] == ["ball", "trip"]
    assert data.text("eng_Latn", "9") == "trip"
    assert data.text("fra_Latn", "9") is None
    demos = data.demos(["9"], ["eng_Latn", "swh_Latn"])
    assert demos[0].texts == {"eng_Latn": "trip", "swh_Latn": "safari"}
    assert demos[0].label == "travel"
    with pytest.raises(ProbeDataError, match="No fra_Latn data"):
        data.items("fra_Latn")
    with pytest.raises(ProbeDataError, match="lack a text"):
        data.demos(["8"], ["eng_Latn"])


def test_flores_files_are_aligned_by_line(tmp_path: Path) -> None:
    (tmp_path / "devtest").mkdir()
    (tmp_path / "devtest" / "swh_Latn.devtest").write_text("habari\nmaji\n", encoding="utf-8")
    (tmp_path / "devtest" / "eng_Latn.devtest").write_text("hello\nwater\n", encoding="utf-8")
    data = load_parallel(tmp_path, "devtest")
    assert [(i.id, i.text, i.gold) for i in data.items("swh_Latn", gold_lang="eng_Latn")] == [
        ("0", "habari", "hello"),
        ("1", "maji", "water"),
    ]
    assert data.items("swh_Latn") == []  # unlabelled
    with pytest.raises(ProbeDataError, match="No evaluation data"):
        load_parallel(tmp_path, "dev")


def test_muse_lexicon_items_gather_every_gold_target(tmp_path: Path) -> None:
    (tmp_path / "sw-en.txt").write_text("maji water\nmaji waters\nmoto fire\n", encoding="utf-8")
    (tmp_path / "sw-fr.txt").write_text("maji eau\nmoto feu\n", encoding="utf-8")
    items = load_lexicon_items(tmp_path, "swh_Latn", "eng_Latn", limit=None, seed=0)
    assert [(i.id, i.fields["targets"]) for i in items] == [
        ("maji", ["water", "waters"]),
        ("moto", ["fire"]),
    ]
    assert len(load_lexicon_items(tmp_path, "sw", "en", limit=1, seed=0)) == 1
    assert lexicon_renderings(tmp_path, "sw", "fr") == {"maji": "eau", "moto": "feu"}
    assert lexicon_renderings(tmp_path, "sw", "de") is None


def test_belebele_rows(tmp_path: Path) -> None:
    row = {
        "link": "https://x/1",
        "question_number": 2,
        "flores_passage": "Anga ni buluu.",
        "question": "Anga lina rangi gani?",
        "mc_answer1": "nyekundu",
        "mc_answer2": "buluu",
        "mc_answer3": "kijani",
        "mc_answer4": "nyeusi",
        "correct_answer_num": "2",
    }
    (tmp_path / "swh_Latn.jsonl").write_text(json.dumps(row) + "\n\n", encoding="utf-8")
    items = load_belebele(tmp_path, "sw")
    item = items["https://x/1#2"]
    assert (item.text, item.gold) == ("Anga lina rangi gani?", "1")
    assert item.fields["passage"] == "Anga ni buluu."
    assert item.fields["options"][1] == "buluu"
    with pytest.raises(ProbeDataError, match="No Belebele file"):
        load_belebele(tmp_path, "fr")
    (tmp_path / "fra_Latn.jsonl").write_text('{"link": 1}\n', encoding="utf-8")
    with pytest.raises(ProbeDataError, match="not a Belebele row"):
        load_belebele(tmp_path, "fr")


SIB200 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "sib200"


@pytest.mark.skipif(
    not (SIB200 / "ace_Latn" / "train.tsv").is_file(), reason=f"SIB-200 not found at {SIB200}"
)
def test_heldout_items_of_a_language_without_a_test_split_on_sib200() -> None:
    from bridgex_chain.eval.data import heldout_items
    from bridgex_chain.probing.parallel_probes import row_part

    assert not (SIB200 / "ace_Latn" / "test.tsv").exists()
    data = load_parallel(SIB200, "train")
    items = heldout_items(data, "ace_Latn")
    assert len(items) >= 102
    assert all(row_part(i.id) == "heldout" for i in items)
    ids = {i.id for i in items}
    others = {i for i in data.pool.column("ace_Latn") if i not in ids}
    assert {row_part(i) for i in others} == {"probe", "check"}  # every other row is not held out
    # label-balanced like the test-split reader: labels in turn, each in file order
    few = heldout_items(data, "ace", limit=21)
    counts = {label: sum(i.gold == label for i in few) for label in {i.gold for i in items}}
    assert len(few) == 21 and set(counts.values()) == {3}  # SIB-200's 7 topics, 3 each
    assert few == balanced_sample(items, 21)
    assert heldout_items(data, "ace_Latn") == items  # stable


def test_heldout_items_errors(tmp_path: Path) -> None:
    from bridgex_chain.eval.data import heldout_items

    write_sib(tmp_path, "fon_Latn", "train", [("0", "travel", "a"), ("6", "sports", "b")])
    data = load_parallel(tmp_path, "train")  # row 0 is a check row, row 6 a probe row
    with pytest.raises(ProbeDataError, match="held-out part"):
        heldout_items(data, "fon")
    with pytest.raises(ProbeDataError, match="No eng_Latn data"):
        heldout_items(data, "en")
