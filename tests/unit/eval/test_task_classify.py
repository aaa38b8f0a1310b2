"""SIB-200 classification (eval/task_classify.py): end to end through the chain, and the task."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.eval.data import Item, ParallelData, load_parallel
from bridgex_chain.eval.evaluate import run_evaluation
from bridgex_chain.eval.task_classify import ClassifyTask
from bridgex_chain.prompting.demos import Demo, DemoPool

SWH = "swh_Latn"
ORACLE = {"eng_Latn": 75.0, "fra_Latn": 100.0, "deu_Latn": 50.0}
SELF = {"eng_Latn": 50.0, "fra_Latn": 75.0, "deu_Latn": 50.0}


def test_classify_through_the_chain_generating_labels(
    tmp_path: Path,
    fake_llm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    cfg = eval_config(tmp_path, ["classify"], languages=[SWH])
    e = entry_of(run_evaluation(cfg, table=fake_table), "classify")
    assert e["n"] == 4 and e["candidates"] == ["eng_Latn", "fra_Latn", "deu_Latn"]
    assert e["direct"]["score"] == 50.0  # no Swahili text names a label: always "sports"
    oracle = e["renderings"]["oracle"]
    assert bridge_scores(e, "oracle") == ORACLE
    assert oracle["oracle_bridge"] == "fra_Latn" and oracle["table_rank"] == 1
    assert oracle["spearman"] == pytest.approx(1.0)
    assert oracle["conditions"]["table"]["bridge"] == "fra_Latn"
    assert oracle["conditions"]["english"]["score"] == 75.0
    random_bridge = oracle["conditions"]["random"]["bridge"]
    assert oracle["conditions"]["random"]["score"] == ORACLE[random_bridge]
    assert bridge_scores(e, "self") == SELF
    assert e["renderings"]["self"]["conditions"]["table"]["score"] == 75.0
    assert e["renderings"]["self"]["spearman"] == pytest.approx(3**0.5 / 2)
    assert e["table"]["layers"]["fra_Latn"] == {"0": 0.0, "1": 0.5, "2": 1.0}
    # the chain's demonstrations: from the train split, in the bridge language when bridged
    bridged = [p for p in fake_llm.prompts if p.endswith("Label:") and "\nFrench: " in p]
    assert bridged and all(
        "French: Le match de football était très bon.\nLabel: sports" in p for p in bridged
    )
    direct = [p for p in fake_llm.prompts if p.endswith("Label:") and "\nText: " in p]
    assert direct and all(
        "Text: Mchezo wa mpira wa miguu ulikuwa mzuri sana.\nLabel: sports" in p for p in direct
    )
    assert all(
        p.startswith("Classify each text into one of these labels: sports, travel.") for p in direct
    )


def test_classify_through_the_chain_scoring_labels_by_calibrated_likelihood(
    tmp_path: Path,
    use_llm: Callable[[Any], Any],
    scoring_llm_class: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    llm = use_llm(scoring_llm_class())
    cfg = eval_config(tmp_path, ["classify"], languages=[SWH], conditions=["direct", "all"])
    e = entry_of(run_evaluation(cfg, table=fake_table), "classify")
    # the model is biased against "travel"; calibration removes the bias, so the travel items
    # the bridge text names are right, exactly as when the model generates the label
    assert e["direct"]["score"] == 50.0
    assert bridge_scores(e, "oracle") == ORACLE
    assert bridge_scores(e, "self") == SELF
    # every label was picked by score, against the content-free prompt; none was generated
    assert len(llm.scored) == 4 * (1 + 2 * 3)
    assert all(choices == ("sports", "travel") for _, choices, _ in llm.scored)
    assert all(free is not None and free.endswith("N/A\nLabel:") for _, _, free in llm.scored)
    assert not [p for p in llm.prompts if p.endswith("Label:")]
    assert llm.prompts  # only the renderings of the self arms were generated
    assert all(p.endswith(("\nEnglish:", "\nFrench:", "\nGerman:")) for p in llm.prompts)


# --------------------------------------------------------------------------- the task itself


def _data(rows: dict[str, tuple[str, dict[str, str]]]) -> ParallelData:
    """Parallel data from ``{id: (label, {lang: text})}``."""
    return ParallelData(DemoPool([Demo(i, texts, label) for i, (label, texts) in rows.items()]))


@pytest.fixture
def sib_task(tmp_path: Path, write_sib: Callable[[Path], Path]) -> ClassifyTask:
    sib = write_sib(tmp_path / "sib")
    return ClassifyTask(load_parallel(sib, "test"), ["sw", "yor_Latn"], limit=None, seed=0)


def test_entries_are_the_normalised_languages_each_with_itself(sib_task: ClassifyTask) -> None:
    assert sib_task.entries() == [(SWH, SWH), ("yor_Latn", "yor_Latn")]


def test_labels_are_the_sorted_set_of_the_source_data(sib_task: ClassifyTask) -> None:
    assert sib_task.labels(SWH) == ["sports", "travel"]
    data = _data({"1": ("travel", {SWH: "a"}), "2": ("health", {SWH: "b"})})
    task = ClassifyTask(data, [SWH], limit=None, seed=0)
    assert task.labels(SWH) == ["health", "travel"]


def test_items_are_taken_label_by_label_up_to_the_limit(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    test = load_parallel(write_sib(tmp_path), "test")
    task = ClassifyTask(test, [SWH], limit=2, seed=0)
    # the file is sorted by category (1, 2 sports; 3, 4 travel): one of each label, not "1", "2"
    assert [(i.id, i.gold) for i in task.items(SWH, SWH)] == [("1", "sports"), ("3", "travel")]
    everything = ClassifyTask(test, [SWH], limit=None, seed=0)
    assert [i.id for i in everything.items(SWH, SWH)] == ["1", "2", "3", "4"]


def test_request_is_the_chain_input_with_the_label_set(
    sib_task: ClassifyTask, sib_rows: dict[str, tuple[str, dict[str, str]]]
) -> None:
    item = sib_task.items(SWH, SWH)[0]
    assert sib_task.request(item, SWH, SWH) == {
        "query": sib_rows["1"][1][SWH],
        "task": "classify",
        "labels": ["sports", "travel"],
    }
    assert sib_task.rendered(item) == item.text  # the chain renders the query itself


def test_params_are_the_seed(sib_task: ClassifyTask) -> None:
    assert sib_task.params() == {"seed": 0}


def test_oracle_is_the_same_row_in_the_bridge_language(
    sib_task: ClassifyTask, sib_rows: dict[str, tuple[str, dict[str, str]]]
) -> None:
    item = sib_task.items(SWH, SWH)[2]
    assert sib_task.oracle(item, SWH, SWH, "fra_Latn") == sib_rows["3"][1]["fra_Latn"]
    assert sib_task.oracle(item, SWH, SWH, "ita_Latn") is None  # no such data
    assert sib_task.oracle(Item("99", "x", "sports"), SWH, SWH, "fra_Latn") is None


def test_correct_is_the_chosen_label_against_the_gold(sib_task: ClassifyTask) -> None:
    item = Item("1", "mpira", "sports")
    assert sib_task.correct(item, {"choice": "sports", "choice_index": 0})
    assert not sib_task.correct(item, {"choice": "travel", "choice_index": 1})
    assert sib_task.item_stats({"correct": True}, item) == [1.0, 1.0]
    assert sib_task.item_stats({"correct": False}, item) == [0.0, 1.0]
