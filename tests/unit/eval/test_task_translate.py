"""Sentence translation (eval/task_translate.py): end to end, and the task's own logic."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sacrebleu.metrics.chrf import CHRF

from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.data import Item, ParallelData, load_parallel
from bridgex_chain.eval.evaluate import run_evaluation
from bridgex_chain.eval.task_translate import TranslateTask
from bridgex_chain.prompting.demos import Demo, DemoPool
from bridgex_chain.prompting.templates import Lang


def test_translate_chrf_and_renderings_shared_with_classify(
    tmp_path: Path,
    fake_lm: Any,
    sib_rows: dict[str, tuple[str, ...]],
    eval_config: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
    bridge_scores: Callable[..., dict[str, float]],
) -> None:
    lm = fake_lm
    cfg = eval_config(
        tmp_path,
        ["classify", "translate"],
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "eng_Latn")],
    )
    e = entry_of(run_evaluation(cfg, table=None, lm_factory=lambda: lm), "translate")
    refs = [sib_rows[i][2] for i in "1234"]
    chrf = CHRF()

    def corpus(hyps: list[str]) -> float:
        return float(chrf.corpus_score(hyps, [refs]).score)

    assert e["candidates"] == ["fra_Latn", "deu_Latn"]
    assert e["unavailable"]["english"].startswith("English is a language")
    assert e["unavailable"]["table"].startswith("pending")
    assert e["direct"]["score"] == pytest.approx(corpus(["xyz"] * 4))
    fra = ["ball sports", "xyz", "trip travel", "xyz"]
    assert bridge_scores(e, "oracle")["fra_Latn"] == pytest.approx(corpus(fra))
    assert bridge_scores(e, "self")["fra_Latn"] == pytest.approx(corpus(fra))
    assert bridge_scores(e, "oracle")["deu_Latn"] == pytest.approx(corpus(["xyz"] * 4))
    assert e["renderings"]["oracle"]["oracle_bridge"] == "fra_Latn"
    # the zero-shot renderings Swahili -> bridge are generated once for both tasks
    assert len(lm.generated) == len(set(lm.generated))
    # the cache keeps model outputs only: no reference ("plane"), no oracle text ("avion travel")
    cached = "".join(
        p.read_text(encoding="utf-8") for p in (cfg.out_dir / "cache").rglob("*.jsonl")
    )
    assert "plane" not in cached and "avion travel" not in cached and "ball sports" in cached


# --------------------------------------------------------------------------- the task itself


def _unlabelled(rows: dict[str, dict[str, str]]) -> ParallelData:
    """FLORES-like parallel data (no labels) from ``{id: {lang: text}}``."""
    return ParallelData(DemoPool([Demo(i, texts) for i, texts in rows.items()]))


def _flores(n: int) -> ParallelData:
    return _unlabelled(
        {
            str(i): {"swh_Latn": f"sw{i}", "eng_Latn": f"en{i}", "fra_Latn": f"fr{i}"}
            for i in range(n)
        }
    )


@pytest.fixture
def sib(tmp_path: Path, write_sib: Callable[[Path], Path]) -> ParallelData:
    return load_parallel(write_sib(tmp_path), "test")


def test_entries_are_the_normalised_pairs(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "en"), ("fra_Latn", "de")], limit=None, seed=0)
    assert task.entries() == [("swh_Latn", "eng_Latn"), ("fra_Latn", "deu_Latn")]


def test_items_of_labelled_data_are_balanced_and_carry_the_reference(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "fr")], limit=2, seed=0)
    items = task.items("swh_Latn", "fra_Latn")
    # label by label: the first sports row, then the first travel row
    assert items == [Item("1", "mpira", "ballon sports"), Item("3", "safari", "voyage travel")]


def test_items_of_unlabelled_data_are_a_seeded_sample_in_file_order() -> None:
    data = _flores(10)
    items = TranslateTask(data, [("sw", "en")], limit=4, seed=5).items("swh_Latn", "eng_Latn")
    assert len(items) == 4
    assert [int(i.id) for i in items] == sorted(int(i.id) for i in items)
    assert all(i.text == f"sw{i.id}" and i.gold == f"en{i.id}" for i in items)
    again = TranslateTask(data, [("sw", "en")], limit=4, seed=5).items("swh_Latn", "eng_Latn")
    assert again == items
    samples = {
        tuple(i.id for i in TranslateTask(data, [], limit=4, seed=s).items("swh_Latn", "eng_Latn"))
        for s in range(6)
    }
    assert len(samples) > 1


def test_items_without_a_reference_in_the_target_are_dropped() -> None:
    data = _unlabelled(
        {
            "0": {"swh_Latn": "a", "eng_Latn": "A"},
            "1": {"swh_Latn": "b"},
            "2": {"swh_Latn": "c", "eng_Latn": "C"},
        }
    )
    items = TranslateTask(data, [("sw", "en")], limit=None, seed=0).items("swh_Latn", "eng_Latn")
    assert items == [Item("0", "a", "A"), Item("2", "c", "C")]


def test_shots_without_demo_data_are_refused(sib: ParallelData) -> None:
    with pytest.raises(InvalidOption, match="shots=2 translate demonstrations need demo_data"):
        TranslateTask(sib, [("sw", "en")], limit=None, seed=0, shots=2)


def test_params_are_the_seed_and_the_shots(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "en")], limit=3, seed=4, demo_data=sib, shots=1)
    assert task.params() == {"seed": 4, "shots": 1}


def test_zero_shot_request_has_no_demonstrations(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "en")], limit=None, seed=0)
    req = task.request(Item("1", "mpira", "ball"), "swh_Latn", "eng_Latn", "fra_Latn")
    assert (req.task, req.style, req.query, req.demos) == ("translate", "completion", "mpira", None)
    assert req.fields == {"unit": "sentence"}
    assert (req.src, req.answer, req.bridge) == (
        Lang("swh_Latn", "Swahili"),
        Lang("eng_Latn", "English"),
        Lang("fra_Latn", "French"),
    )


def test_few_shot_demonstrations_are_the_same_rows_for_every_item() -> None:
    pool = _flores(10)
    task = TranslateTask(_flores(3), [("sw", "en")], limit=None, seed=0, demo_data=pool, shots=3)
    chosen = []
    for item in task.items("swh_Latn", "eng_Latn"):
        req = task.request(item, "swh_Latn", "eng_Latn", None)
        assert req.demos is not None
        demos = req.demos(item.text, ["swh_Latn", "eng_Latn"], False)
        assert all(d.texts["eng_Latn"] == f"en{d.id}" for d in demos)
        chosen.append([d.id for d in demos])
    assert len(chosen[0]) == 3 and len(set(chosen[0])) == 3
    assert chosen[1:] == [chosen[0]] * (len(chosen) - 1)


def test_few_shot_demonstrations_follow_the_seed() -> None:
    pool = _flores(12)

    def demo_ids(seed: int) -> tuple[str, ...]:
        task = TranslateTask(pool, [("sw", "en")], limit=None, seed=seed, demo_data=pool, shots=2)
        req = task.request(Item("0", "sw0", "en0"), "swh_Latn", "eng_Latn", None)
        assert req.demos is not None
        return tuple(d.id for d in req.demos("sw0", ["swh_Latn", "eng_Latn"], False))

    assert len({demo_ids(seed) for seed in range(8)}) > 1


def test_oracle_is_the_aligned_sentence_in_the_bridge(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "en")], limit=None, seed=0)
    item = task.items("swh_Latn", "eng_Latn")[1]
    assert task.oracle(item, "swh_Latn", "eng_Latn", "deu_Latn") == "Mannschaft sports"
    assert task.oracle(item, "swh_Latn", "eng_Latn", "ita_Latn") is None


def test_output_stats_are_chrf_statistics_of_the_output(sib: ParallelData) -> None:
    task = TranslateTask(sib, [("sw", "en")], limit=None, seed=0)
    item = Item("1", "mpira", "ball sports")
    exact = task.output_stats("ball sports", item)
    assert task.metric.score([exact]) == pytest.approx(100.0)
    near = task.output_stats("ball sport", item)
    expected = CHRF().corpus_score(["ball sport"], [["ball sports"]]).score
    assert task.metric.score([near]) == pytest.approx(expected)
    assert 0.0 < expected < 100.0
    assert task.item_stats({"output": "ball sport"}, item, {}) == near
