"""Sentence translation (eval/task_translate.py): end to end through the chain, and the task."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sacrebleu.metrics.chrf import CHRF

from bridgex_chain.eval.data import Item, ParallelData, load_parallel
from bridgex_chain.eval.evaluate import run_evaluation
from bridgex_chain.eval.task_translate import TranslateTask
from bridgex_chain.prompting.demos import Demo, DemoPool

SWH, ENG = "swh_Latn", "eng_Latn"


def test_translate_chrf_through_the_chain_and_renderings_shared_with_classify(
    tmp_path: Path,
    fake_llm: Any,
    sib_rows: dict[str, tuple[str, dict[str, str]]],
    eval_config: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    cfg = eval_config(tmp_path, ["classify", "translate"], languages=[SWH], pairs=[(SWH, ENG)])
    e = entry_of(run_evaluation(cfg, table=None), "translate")
    refs = [sib_rows[i][1][ENG] for i in "1234"]

    def corpus(hyps: list[str]) -> float:
        return float(CHRF().corpus_score(hyps, [refs]).score)

    assert e["candidates"] == ["fra_Latn", "deu_Latn"]
    assert e["unavailable"]["english"].startswith("English is a language")
    assert e["unavailable"]["table"].startswith("no table entry")
    assert e["direct"]["score"] == pytest.approx(corpus(["xyz"] * 4))
    # the model's French renderings of rows 1 and 3 are known to it, as are the gold ones
    self_fra = ["The team won the sports match.", "xyz", "We took the plane, a travel.", "xyz"]
    gold_fra = [
        "The national team won the sports match yesterday.",
        "xyz",
        "We went to Zanzibar by plane, a travel.",
        "xyz",
    ]
    assert bridge_scores(e, "self")["fra_Latn"] == pytest.approx(corpus(self_fra))
    assert bridge_scores(e, "oracle")["fra_Latn"] == pytest.approx(corpus(gold_fra))
    assert bridge_scores(e, "oracle")["deu_Latn"] == pytest.approx(corpus(["xyz"] * 4))
    assert e["renderings"]["oracle"]["oracle_bridge"] == "fra_Latn"
    # one shared rendering cache: Swahili -> French is rendered once for both tasks
    renders = [p for p in fake_llm.prompts if p.endswith("\nFrench:")]
    assert len(renders) == len(set(renders)) == 4
    # the units keep the chain's output only: no reference, no gold parallel text
    rows = [
        json.loads(line)
        for path in (cfg.out_dir / "cache" / "units" / "translate").rglob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    stored = json.dumps(rows, ensure_ascii=False)
    assert "The team won the sports match." in stored
    for row in sib_rows.values():
        assert row[1][ENG] not in stored and row[1]["deu_Latn"] not in stored
    assert sib_rows["2"][1]["fra_Latn"] not in stored


# --------------------------------------------------------------------------- the task itself


def _unlabelled(rows: dict[str, dict[str, str]]) -> ParallelData:
    """FLORES-like parallel data (no labels) from ``{id: {lang: text}}``."""
    return ParallelData(DemoPool([Demo(i, texts) for i, texts in rows.items()]))


def _flores(n: int) -> ParallelData:
    return _unlabelled(
        {str(i): {SWH: f"sw{i}", ENG: f"en{i}", "fra_Latn": f"fr{i}"} for i in range(n)}
    )


@pytest.fixture
def sib(tmp_path: Path, write_sib: Callable[[Path], Path]) -> ParallelData:
    return load_parallel(write_sib(tmp_path), "test")


def test_entries_are_the_normalised_pairs(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "en"), ("fra_Latn", "de")], limit=None, seed=0)
    assert task.entries() == [(SWH, ENG), ("fra_Latn", "deu_Latn")]


def test_items_of_labelled_data_are_balanced_and_carry_the_reference(
    sib: ParallelData, sib_rows: dict[str, tuple[str, dict[str, str]]]
) -> None:
    task = TranslateTask(sib, [("sw", "fr")], limit=2, seed=0)
    items = task.items(SWH, "fra_Latn")
    # label by label: the first sports row, then the first travel row
    assert items == [Item(i, sib_rows[i][1][SWH], sib_rows[i][1]["fra_Latn"]) for i in ("1", "3")]


def test_items_of_unlabelled_data_are_a_seeded_sample_in_file_order() -> None:
    data = _flores(10)
    items = TranslateTask(data, [("sw", "en")], limit=4, seed=5).items(SWH, ENG)
    assert len(items) == 4
    assert [int(i.id) for i in items] == sorted(int(i.id) for i in items)
    assert all(i.text == f"sw{i.id}" and i.gold == f"en{i.id}" for i in items)
    assert TranslateTask(data, [("sw", "en")], limit=4, seed=5).items(SWH, ENG) == items
    samples = {
        tuple(i.id for i in TranslateTask(data, [], limit=4, seed=s).items(SWH, ENG))
        for s in range(6)
    }
    assert len(samples) > 1


def test_items_without_a_reference_in_the_target_are_dropped() -> None:
    data = _unlabelled({"0": {SWH: "a", ENG: "A"}, "1": {SWH: "b"}, "2": {SWH: "c", ENG: "C"}})
    items = TranslateTask(data, [("sw", "en")], limit=None, seed=0).items(SWH, ENG)
    assert items == [Item("0", "a", "A"), Item("2", "c", "C")]


def test_request_asks_the_chain_for_a_sentence_in_the_target(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "en")], limit=None, seed=0)
    assert task.request(Item("1", "Habari ya leo", "ref"), SWH, ENG) == {
        "query": "Habari ya leo",
        "task": "translate",
        "answer_language": ENG,
        "unit": "sentence",
    }
    assert task.params() == {"seed": 0}


def test_oracle_is_the_aligned_sentence_in_the_bridge(
    sib: ParallelData, sib_rows: dict[str, tuple[str, dict[str, str]]]
) -> None:
    task = TranslateTask(sib, [("sw", "en")], limit=None, seed=0)
    item = task.items(SWH, ENG)[1]
    assert task.oracle(item, SWH, ENG, "deu_Latn") == sib_rows["2"][1]["deu_Latn"]
    assert task.oracle(item, SWH, ENG, "ita_Latn") is None


def test_output_stats_are_chrf_statistics_of_the_output(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "en")], limit=None, seed=0)
    item = Item("1", "mpira", "ball sports")
    exact = task.output_stats("ball sports", item)
    assert task.metric.score([exact]) == pytest.approx(100.0)
    near = task.output_stats("ball sport", item)
    expected = CHRF().corpus_score(["ball sport"], [["ball sports"]]).score
    assert task.metric.score([near]) == pytest.approx(expected)
    assert 0.0 < expected < 100.0
    assert task.item_stats({"output": "ball sport"}, item) == near
