"""Word translation (eval/task_bli.py): end to end through the chain, P@1 rules, the task."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.task_bli import BliTask, bli_hit, extract_word

SWH, ENG = "swh_Latn", "eng_Latn"


def test_bli_p_at_1_through_the_chain_two_hop_and_missing_oracle(
    tmp_path: Path,
    fake_llm: Any,
    evaluate_task: Callable[..., tuple[dict[str, Any], Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    muse = tmp_path / "muse"
    muse.mkdir()
    (muse / "sw-en.txt").write_text("maji water\nmoto fire\nmoto flame\n", encoding="utf-8")
    (muse / "sw-fr.txt").write_text("maji eau\nmoto feu\n", encoding="utf-8")
    e, cfg = evaluate_task("bli", muse=muse, pairs=[(SWH, ENG)])
    assert e["metric"] == "p@1" and e["n"] == 2
    assert e["direct"]["score"] == 50.0  # "wet" wrong, "Fire" right (case-folded)
    assert bridge_scores(e, "oracle")["fra_Latn"] == 100.0  # eau -> Water, feu -> flame
    assert bridge_scores(e, "self")["fra_Latn"] == 50.0  # moto -> fuego -> ???
    deu = e["renderings"]["oracle"]["bridges"]["deu_Latn"]
    assert deu["missing"] == 2 and deu["n"] == 0  # no sw-de lexicon
    assert bridge_scores(e, "self")["deu_Latn"] == 0.0
    # the chain's two-hop word prompts: the model's hop 1, or the gold bridge word given
    assert 'Swahili:"maji"→French:"' in fake_llm.prompts
    assert 'Swahili:"moto"→French:"feu"→English:"' in fake_llm.prompts
    assert 'Swahili:"maji"→English:"' in fake_llm.prompts  # direct
    rows = [
        json.loads(line)
        for path in (cfg.out_dir / "cache" / "units").rglob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    stored = json.dumps(rows, ensure_ascii=False)
    assert '"fire"' not in stored and "feu" not in stored  # no MUSE gold words (CC-BY-NC)
    oracle = [r for r in rows if r.get("given")]
    assert len(oracle) == 2 and all("rendering" not in r for r in oracle)


# --------------------------------------------------------------------------- P@1 rules


@pytest.mark.parametrize(
    ("generated", "word"),
    [
        (' "Wasser", "water"', "Wasser"),
        ("Fire.", "Fire"),
        ("first\nsecond", "first"),
        ("eau? or feu", "eau"),
        ("«mot» more words", "mot"),
        (" 「水」 (water)", "水"),
        ("U.S.A", "USA"),
        ("", ""),
        ("\n", ""),
        (" (water)", ""),
        ('""', ""),
    ],
)
def test_extract_word_takes_the_first_unquoted_word_of_the_first_line(
    generated: str, word: str
) -> None:
    assert extract_word(generated) == word


def test_bli_hit_folds_case_and_hebrew_points_and_never_matches_nothing() -> None:
    assert bli_hit("ÉCOLE", ["maison", "école"])
    assert bli_hit("שָׁלוֹם", ["שלום"])  # points removed
    assert bli_hit("e\u0301cole", ["école"])  # NFC-normalised before comparing
    assert not bli_hit("ecole", ["école"])
    assert not bli_hit("", [""])
    assert not bli_hit("water", [])


# --------------------------------------------------------------------------- the task itself


@pytest.fixture
def muse(tmp_path: Path) -> Path:
    root = tmp_path / "muse"
    root.mkdir()
    (root / "sw-en.txt").write_text(
        "maji water\nmoto fire\nmoto flame\nnyumba house\n", encoding="utf-8"
    )
    (root / "sw-fr.txt").write_text("maji eau\nmaji flotte\nmoto feu\n", encoding="utf-8")
    return root


def test_items_are_source_words_with_every_gold_target(muse: Path) -> None:
    task = BliTask(muse, [("sw", "en")], limit=None, seed=0)
    assert task.entries() == [(SWH, ENG)]
    items = {i.id: i for i in task.items(SWH, ENG)}
    assert set(items) == {"maji", "moto", "nyumba"}
    moto = items["moto"]
    assert (moto.text, moto.gold, sorted(moto.fields["targets"])) == (
        "moto",
        moto.fields["targets"][0],
        ["fire", "flame"],
    )
    limited = BliTask(muse, [("sw", "en")], limit=2, seed=0).items(SWH, ENG)
    assert len(limited) == 2 and {i.id for i in limited} <= set(items)


def test_items_of_a_pair_without_a_lexicon_are_a_data_error(muse: Path) -> None:
    with pytest.raises(ProbeDataError):
        BliTask(muse, [("sw", "de")], limit=None, seed=0).items(SWH, "deu_Latn")


def test_request_asks_the_chain_for_one_word(muse: Path) -> None:
    task = BliTask(muse, [("sw", "en")], limit=None, seed=0)
    assert task.request(Item("maji", "maji", "water"), SWH, ENG) == {
        "query": "maji",
        "task": "translate",
        "answer_language": ENG,
        "unit": "word",
    }
    assert task.rendered(Item("maji", "maji", "water")) == "maji"


def test_oracle_is_the_first_gold_bridge_word_or_none(muse: Path) -> None:
    task = BliTask(muse, [("sw", "en")], limit=None, seed=0)
    word = {i.id: i for i in task.items(SWH, ENG)}
    assert task.oracle(word["maji"], SWH, ENG, "fra_Latn") == "eau"
    assert task.oracle(word["moto"], SWH, ENG, "fra_Latn") == "feu"
    assert task.oracle(word["nyumba"], SWH, ENG, "fra_Latn") is None
    assert task.oracle(word["maji"], SWH, ENG, "deu_Latn") is None  # no sw-de


def test_output_stats_score_the_extracted_word_against_every_target(muse: Path) -> None:
    task = BliTask(muse, [("sw", "en")], limit=None, seed=0)
    moto = Item("moto", "moto", "fire", {"targets": ["fire", "flame"]})
    assert task.output_stats(' "Flame", or "fire"', moto) == [1.0, 1.0]
    assert task.output_stats("burning flame", moto) == [0.0, 1.0]
    assert task.item_stats({"output": "fire."}, moto) == [1.0, 1.0]
