"""SIB-200 classification (eval/task_classify.py): end to end, and the task's own logic."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.eval.data import Item, ParallelData, load_parallel
from bridgex_chain.eval.evaluate import run_evaluation
from bridgex_chain.eval.task_classify import ClassifyTask
from bridgex_chain.eval.tasks import CONTENT_FREE
from bridgex_chain.prompting.demos import Demo, DemoPool
from bridgex_chain.prompting.templates import Lang


def test_classify_accuracy_calibration_conditions_and_correlation(
    tmp_path: Path,
    fake_lm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    lm = fake_lm
    cfg = eval_config(tmp_path, ["classify"], languages=["swh_Latn"])
    e = entry_of(run_evaluation(cfg, table=fake_table, lm_factory=lambda: lm), "classify")
    assert e["n"] == 4 and e["candidates"] == ["eng_Latn", "fra_Latn", "deu_Latn"]
    assert (e["direct"]["score"], e["direct"]["uncalibrated"]) == (50.0, 50.0)
    oracle = e["renderings"]["oracle"]
    assert bridge_scores(e, "oracle") == {"eng_Latn": 75.0, "fra_Latn": 100.0, "deu_Latn": 50.0}
    # uncalibrated, the travel bias (-4) beats a mention (+3): always "sports"
    assert {b: r["uncalibrated"] for b, r in oracle["bridges"].items()} == {
        "eng_Latn": 50.0,
        "fra_Latn": 50.0,
        "deu_Latn": 50.0,
    }
    assert oracle["oracle_bridge"] == "fra_Latn" and oracle["table_rank"] == 1
    assert oracle["spearman"] == pytest.approx(1.0)
    assert oracle["conditions"]["table"]["bridge"] == "fra_Latn"
    assert oracle["conditions"]["english"]["score"] == 75.0
    random_bridge = oracle["conditions"]["random"]["bridge"]
    assert oracle["conditions"]["random"]["score"] == bridge_scores(e, "oracle")[random_bridge]
    assert bridge_scores(e, "self") == {"eng_Latn": 50.0, "fra_Latn": 75.0, "deu_Latn": 50.0}
    assert e["renderings"]["self"]["spearman"] == pytest.approx(1.5 / 3**0.5)
    assert e["table"]["layers"]["fra_Latn"] == {"0": 0.0, "1": 0.5, "2": 1.0}
    # demonstrations: one per label, in the bridge language when bridged, fixed per arm
    prefixes = {p for p, q in lm.scored if "French: ballon sports" in q}
    assert len(prefixes) == 1
    (prefix,) = prefixes
    assert "French: jeu\nLabel: sports" in prefix and "French: hôtel\nLabel: travel" in prefix
    direct = {p for p, q in lm.scored if q.startswith("Text: ")}
    assert len(direct) == 1 and "Text: mchezo\nLabel: sports" in direct.pop()


# --------------------------------------------------------------------------- the task itself


def _data(rows: dict[str, tuple[str, dict[str, str]]]) -> ParallelData:
    """Parallel data from ``{id: (label, {lang: text})}``."""
    return ParallelData(DemoPool([Demo(i, texts, label) for i, (label, texts) in rows.items()]))


def _demo_pool(per_label: int) -> ParallelData:
    rows = {
        f"{label[0]}{k}": (label, {"swh_Latn": f"sw {label} {k}", "fra_Latn": f"fr {label} {k}"})
        for label in ("travel", "sports", "health")
        for k in range(per_label)
    }
    return _data(rows)


@pytest.fixture
def sib_task(tmp_path: Path, write_sib: Callable[[Path], Path]) -> ClassifyTask:
    sib = write_sib(tmp_path / "sib")
    return ClassifyTask(
        load_parallel(sib, "test"),
        load_parallel(sib, "train"),
        ["sw", "deu_Latn"],
        limit=None,
        seed=0,
    )


def test_entries_are_the_normalised_languages_each_with_itself(sib_task: ClassifyTask) -> None:
    assert sib_task.entries() == [("swh_Latn", "swh_Latn"), ("deu_Latn", "deu_Latn")]


def test_labels_are_the_sorted_set_of_the_source_data(sib_task: ClassifyTask) -> None:
    assert sib_task.labels("swh_Latn") == ["sports", "travel"]
    data = _data({"1": ("travel", {"swh_Latn": "a"}), "2": ("health", {"swh_Latn": "b"})})
    task = ClassifyTask(data, data, ["swh_Latn"], limit=None, seed=0)
    assert task.labels("swh_Latn") == ["health", "travel"]


def test_items_are_taken_label_by_label_up_to_the_limit(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path)
    test, train = load_parallel(sib, "test"), load_parallel(sib, "train")
    task = ClassifyTask(test, train, ["swh_Latn"], limit=2, seed=0)
    # the file is sorted by category (1, 2 sports; 3, 4 travel): one of each label, not "1", "2"
    assert [(i.id, i.gold) for i in task.items("swh_Latn", "swh_Latn")] == [
        ("1", "sports"),
        ("3", "travel"),
    ]
    everything = ClassifyTask(test, train, ["swh_Latn"], limit=None, seed=0)
    assert [i.id for i in everything.items("swh_Latn", "swh_Latn")] == ["1", "2", "3", "4"]


def test_demo_ids_take_demos_per_label_of_every_label_seeded() -> None:
    pool = _demo_pool(per_label=4)
    task = ClassifyTask(pool, pool, ["swh_Latn"], limit=None, seed=3, demos_per_label=2)
    ids = task.demo_ids("swh_Latn")
    assert len(ids) == len(set(ids)) == 6
    assert sorted(i[0] for i in ids) == ["h", "h", "s", "s", "t", "t"]
    again = ClassifyTask(pool, pool, ["swh_Latn"], limit=None, seed=3, demos_per_label=2)
    assert again.demo_ids("swh_Latn") == ids
    # the same rows in every language of the data
    assert task.demo_ids("fra_Latn") == ids
    # other seeds choose (or order) other rows
    others = {
        tuple(
            ClassifyTask(pool, pool, [], limit=None, seed=s, demos_per_label=2).demo_ids("swh_Latn")
        )
        for s in range(8)
    }
    assert len(others) > 1


def test_demo_ids_are_capped_by_the_rows_a_label_has() -> None:
    pool = _data(
        {
            "a": ("sports", {"swh_Latn": "x"}),
            "b": ("sports", {"swh_Latn": "y"}),
            "c": ("travel", {"swh_Latn": "z"}),
        }
    )
    task = ClassifyTask(pool, pool, ["swh_Latn"], limit=None, seed=0, demos_per_label=5)
    assert sorted(task.demo_ids("swh_Latn")) == ["a", "b", "c"]


def test_params_hold_everything_the_prompts_depend_on() -> None:
    pool = _demo_pool(1)
    task = ClassifyTask(pool, pool, ["sw"], limit=3, seed=7, demos_per_label=2, shots=1)
    assert task.params() == {"seed": 7, "demos_per_label": 2, "shots": 1}


def test_request_lists_the_labels_and_gives_labelled_and_parallel_demos() -> None:
    pool = _demo_pool(per_label=2)
    task = ClassifyTask(pool, pool, ["swh_Latn"], limit=None, seed=0, shots=1)
    item = Item("q", "swali", "sports")
    req = task.request(item, "swh_Latn", "swh_Latn", "fra_Latn")
    assert (req.task, req.style, req.query) == ("classify", "completion", "swali")
    assert req.src == req.answer == Lang("swh_Latn", "Swahili")
    assert req.bridge == Lang("fra_Latn", "French")
    assert req.fields == {"labels": ["health", "sports", "travel"]}
    assert req.demos is not None
    ids = task.demo_ids("swh_Latn")
    labelled = req.demos("swali", ["fra_Latn"], True)
    assert [d.id for d in labelled] == ids
    assert all(d.label is not None and d.label[0] == d.id[0] for d in labelled)
    assert all(d.texts["fra_Latn"] == f"fr {d.label} {d.id[1]}" for d in labelled)
    # the rendering prompt's parallel examples: the first ``shots`` demonstration rows
    parallel = req.demos("swali", ["swh_Latn", "fra_Latn"], False)
    assert [d.id for d in parallel] == ids[:1]
    assert task.request(item, "swh_Latn", "swh_Latn", None).bridge is None


def test_oracle_is_the_same_row_in_the_bridge_language(sib_task: ClassifyTask) -> None:
    item = sib_task.items("swh_Latn", "swh_Latn")[2]
    assert sib_task.oracle(item, "swh_Latn", "swh_Latn", "fra_Latn") == "voyage travel"
    assert sib_task.oracle(item, "swh_Latn", "swh_Latn", "ita_Latn") is None  # no such data
    assert sib_task.oracle(Item("99", "x", "sports"), "swh_Latn", "swh_Latn", "fra_Latn") is None


def test_content_free_item_is_n_a_with_the_first_label(sib_task: ClassifyTask) -> None:
    assert sib_task.content_free("swh_Latn", "swh_Latn") == Item(
        "content-free", CONTENT_FREE, "sports"
    )


def test_item_stats_pick_the_calibrated_best_label(sib_task: ClassifyTask) -> None:
    item = Item("1", "mpira", "sports")
    record = {"scores": [-1.0, -2.0], "gold": 1}
    meta = {"calibration": [0.0, -4.0]}
    # calibrated: [-1, 2] -> "travel" (index 1, the gold); uncalibrated: "sports"
    assert sib_task.item_stats(record, item, meta) == [1.0, 1.0]
    assert sib_task.item_stats(record, item, meta, calibrate=False) == [0.0, 1.0]
    assert sib_task.item_stats(record, item, {}) == [0.0, 1.0]
