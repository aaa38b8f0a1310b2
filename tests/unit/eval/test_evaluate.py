"""``run_evaluation``, ``EvalConfig`` and ``build_tasks`` (eval/evaluate.py)."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import BridgeXError, ProbeDataError
from bridgex_chain.eval.data import load_parallel
from bridgex_chain.eval.evaluate import PAPER_PAIRS, EvalConfig, build_tasks, run_evaluation
from bridgex_chain.eval.task_bli import BliTask
from bridgex_chain.eval.task_classify import ClassifyTask
from bridgex_chain.eval.task_mrc import MrcTask
from bridgex_chain.eval.task_translate import TranslateTask
from bridgex_chain.models import model_key

# --------------------------------------------------------------------------- end to end


def test_report_plots_and_progress(
    tmp_path: Path, fake_lm_class: Any, fake_table: Any, eval_config: Callable[..., Any]
) -> None:
    events: list[Any] = []
    cfg = eval_config(
        tmp_path,
        ["classify"],
        languages=["swh_Latn"],
        plots=True,
        conditions=["direct", "english", "table", "random", "all"],
    )
    results = run_evaluation(
        cfg, table=fake_table, lm_factory=fake_lm_class, on_progress=events.append
    )
    out = cfg.out_dir
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(results)
    )
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| swh_Latn | 4 | 50.0 [" in report
    assert "sole best bridge fra ×1" in report
    assert "**classify** (accuracy, 4 items over 1 entries): direct 50.0 [" in report
    for name in (
        "bars-classify-oracle.png",
        "scatter-classify-self.png",
        "heatmap-classify-swh_Latn.png",
    ):
        assert (out / "plots" / name).stat().st_size > 1000
        assert f"plots/{name}" in report
    assert events[-1].completed == events[-1].total == 4 * (1 + 2 * 3)


def test_pooled_conditions_add_up_items_of_every_entry(
    tmp_path: Path, fake_lm_class: Any, fake_table: Any, eval_config: Callable[..., Any]
) -> None:
    cfg = eval_config(
        tmp_path, ["classify"], languages=["swh_Latn", "deu_Latn"], renderings=["oracle"]
    )
    results = run_evaluation(cfg, table=fake_table, lm_factory=fake_lm_class)
    deu = results["entries"][1]
    assert deu["candidates"] == ["eng_Latn", "fra_Latn"]
    assert deu["direct"]["score"] == 50.0  # "Mannschaft sports" and a tie on "Ball"
    (pooled,) = results["pooled"]
    assert (pooled["n"], pooled["entries"]) == (8, 2)
    assert pooled["direct"]["score"] == 50.0 and pooled["direct"]["n"] == 8
    conds = pooled["renderings"]["oracle"]["conditions"]
    assert conds["english"]["score"] == 75.0  # 3 of 4 in both languages
    assert conds["oracle"]["score"] == 100.0  # French is both entries' best bridge
    assert conds["table"]["score"] == 100.0
    assert pooled["renderings"]["oracle"]["mean_table_rank"] == 1.0
    report = (cfg.out_dir / "report.md").read_text(encoding="utf-8")
    assert "| all 2 pooled | 8 | 50.0 [" in report


def test_pooled_condition_missing_for_some_entries_carries_its_own_baseline(
    tmp_path: Path, fake_lm_class: Any, eval_config: Callable[..., Any]
) -> None:
    pairs = [("swh_Latn", "eng_Latn"), ("swh_Latn", "deu_Latn")]
    cfg = eval_config(tmp_path, ["translate"], pairs=pairs, renderings=["oracle"])
    results = run_evaluation(cfg, table=None, lm_factory=fake_lm_class)
    to_eng, to_deu = results["entries"]
    (pooled,) = results["pooled"]
    english = pooled["renderings"]["oracle"]["conditions"]["english"]
    assert english["entries"] == 1  # English is the target of the first pair
    assert english["score"] == to_deu["renderings"]["oracle"]["conditions"]["english"]["score"]
    assert english["direct_same_entries"] == to_deu["direct"]["score"]
    assert "random" in pooled["renderings"]["oracle"]["conditions"]
    assert "direct_same_entries" not in pooled["renderings"]["oracle"]["conditions"]["random"]
    assert to_eng["unavailable"]["english"]


def test_results_record_the_model_config_and_command_and_pool_per_task(
    tmp_path: Path,
    fake_lm_class: Any,
    eval_config: Callable[..., Any],
) -> None:
    cfg = eval_config(
        tmp_path,
        ["classify", "translate"],
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "fra_Latn")],
        conditions=["direct"],
    )
    results = run_evaluation(cfg, table=None, lm_factory=fake_lm_class)
    assert results["format"] == 1
    assert results["model"] == model_key(None)
    assert results["config"] == cfg.to_json()
    assert results["command"] == cfg.command()
    assert [(e["task"], e["src"], e["trg"]) for e in results["entries"]] == [
        ("classify", "swh_Latn", "swh_Latn"),
        ("translate", "swh_Latn", "fra_Latn"),
    ]
    assert [p["task"] for p in results["pooled"]] == ["classify", "translate"]
    assert results["seconds"] >= 0 and results["cpu_seconds"] >= 0
    assert (cfg.out_dir / "report.md").is_file()
    assert not list(cfg.out_dir.glob("*.tmp"))  # results.json is written atomically


def test_ready_tasks_are_used_instead_of_the_data_options(
    tmp_path: Path, fake_lm_class: Any, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path / "sib")
    task = ClassifyTask(
        load_parallel(sib, "test"), load_parallel(sib, "train"), ["swh_Latn"], limit=2, seed=0
    )
    cfg = EvalConfig(
        tasks=["bli"],  # ignored: the ready tasks are evaluated, and --muse is not needed
        out_dir=tmp_path / "out",
        bridges=["fra_Latn"],
        conditions=["direct"],
        resamples=50,
        plots=False,
    )
    results = run_evaluation(cfg, table=None, lm_factory=fake_lm_class, tasks=[task])
    (e,) = results["entries"]
    assert (e["task"], e["n"]) == ("classify", 2)


# --------------------------------------------------------------------------- EvalConfig


def test_command_of_the_defaults_names_only_the_tasks_and_the_output() -> None:
    assert EvalConfig(tasks=["classify", "mrc"], out_dir=Path("out")).command() == (
        "bridgex-chain eval classify mrc --out out"
    )


def test_command_lists_every_option_that_differs_from_its_default() -> None:
    cfg = EvalConfig(
        tasks=["translate"],
        out_dir=Path("my results"),
        model="gemma",
        flores=Path("/data/flores"),
        languages=["swh_Latn", "yor_Latn"],
        pairs=[("swh_Latn", "eng_Latn"), ("zho_Hans", "jpn_Jpan")],
        bridges=["eng_Latn", "fra_Latn"],
        conditions=["direct", "table"],
        renderings=["oracle"],
        limit=10,
        seed=3,
        demos_per_label=2,
        shots=1,
        batch_size=4,
        threads=1,
        resamples=200,
        plots=False,
    )
    assert cfg.command() == (
        "bridgex-chain eval translate --out 'my results' --model gemma --flores /data/flores "
        "--languages swh_Latn,yor_Latn --pairs swh_Latn-eng_Latn,zho_Hans-jpn_Jpan "
        "--bridges eng_Latn,fra_Latn --conditions direct,table --renderings oracle --limit 10 "
        "--seed 3 --demos-per-label 2 --shots 1 --batch-size 4 --threads 1 --resamples 200 "
        "--no-plots"
    )


def test_command_leaves_out_options_equal_to_their_defaults() -> None:
    from bridgex_chain.languages import DEFAULT_BRIDGES

    cfg = EvalConfig(
        tasks=["classify"],
        out_dir=Path("o"),
        bridges=list(DEFAULT_BRIDGES),
        seed=0,
        batch_size=8,
        resamples=1000,
    )
    assert cfg.command() == "bridgex-chain eval classify --out o"


def test_to_json_turns_paths_into_strings() -> None:
    data = EvalConfig(tasks=["bli"], out_dir=Path("out"), muse=Path("/muse"), limit=5).to_json()
    assert data["out_dir"] == "out" and data["muse"] == "/muse"
    assert data["sib200"] is None and data["limit"] == 5 and data["tasks"] == ["bli"]
    assert json.loads(json.dumps(data)) == {
        k: list(v) if isinstance(v, tuple) else v for k, v in data.items()
    }


# --------------------------------------------------------------------------- build_tasks


@pytest.mark.parametrize(
    ("task", "option"),
    [
        ("classify", "--sib200"),
        ("translate", "--sib200 or --flores"),
        ("bli", "--muse"),
        ("mrc", "--belebele"),
    ],
)
def test_a_task_without_its_data_option_is_a_data_error(
    tmp_path: Path, task: str, option: str
) -> None:
    with pytest.raises(ProbeDataError, match=f"The {task} task needs its data: pass {option} DIR"):
        build_tasks(EvalConfig(tasks=[task], out_dir=tmp_path))


def test_mrc_without_languages_or_pairs_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(ProbeDataError, match="mrc task needs --languages or --pairs"):
        build_tasks(EvalConfig(tasks=["mrc"], out_dir=tmp_path, belebele=tmp_path))


def test_an_unknown_task_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(BridgeXError, match="Unknown eval task 'ner'; choose from classify, "):
        build_tasks(EvalConfig(tasks=["ner"], out_dir=tmp_path))


def test_default_languages_are_study_languages_present_that_are_no_bridge(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path / "sib")
    (task,) = build_tasks(
        EvalConfig(tasks=["classify"], out_dir=tmp_path, sib200=sib, bridges=["en", "fra_Latn"])
    )
    assert isinstance(task, ClassifyTask)
    # the data has swh, eng, fra, deu; English and French are bridges (codes normalised)
    assert task.entries() == [("swh_Latn", "swh_Latn"), ("deu_Latn", "deu_Latn")]


def test_classify_options_reach_the_task(tmp_path: Path, write_sib: Callable[[Path], Path]) -> None:
    sib = write_sib(tmp_path / "sib")
    cfg = EvalConfig(
        tasks=["classify"],
        out_dir=tmp_path,
        sib200=sib,
        languages=["sw"],
        limit=3,
        seed=9,
        demos_per_label=2,
        shots=1,
    )
    (task,) = build_tasks(cfg)
    assert isinstance(task, ClassifyTask)
    assert task.entries() == [("swh_Latn", "swh_Latn")]
    assert (task.limit, task.params()) == (3, {"seed": 9, "demos_per_label": 2, "shots": 1})
    assert len(task.items("swh_Latn", "swh_Latn")) == 3
    assert {i.id for i in task.demo_data.items("swh_Latn")} == {"10", "11"}  # the train split


def test_translate_defaults_to_the_paper_pairs_present_in_sib_data(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path / "sib")
    (task,) = build_tasks(EvalConfig(tasks=["translate"], out_dir=tmp_path, sib200=sib))
    assert isinstance(task, TranslateTask)
    assert task.entries() == [("eng_Latn", "swh_Latn")]  # the only paper pair in the data
    assert task.demo_data is None  # zero-shot: no demonstration split is read
    assert [i.id for i in task.items("eng_Latn", "swh_Latn")] == ["1", "2", "3", "4"]  # test


def test_translate_reads_flores_devtest_and_dev_for_demonstrations(tmp_path: Path) -> None:
    flores = tmp_path / "flores"
    for split, words in (("devtest", ("Habari", "Hello")), ("dev", ("Asante", "Thanks"))):
        (flores / split).mkdir(parents=True)
        (flores / split / f"swh_Latn.{split}").write_text(words[0] + "\n", encoding="utf-8")
        (flores / split / f"eng_Latn.{split}").write_text(words[1] + "\n", encoding="utf-8")
    cfg = EvalConfig(
        tasks=["translate"], out_dir=tmp_path, flores=flores, pairs=[("sw", "en")], shots=1
    )
    (task,) = build_tasks(cfg)
    assert isinstance(task, TranslateTask) and task.demo_data is not None
    assert task.entries() == [("swh_Latn", "eng_Latn")]
    assert [(i.text, i.gold) for i in task.items("swh_Latn", "eng_Latn")] == [("Habari", "Hello")]
    assert task.demo_data.text("eng_Latn", "0") == "Thanks"


def test_bli_defaults_to_every_paper_pair(tmp_path: Path) -> None:
    (task,) = build_tasks(EvalConfig(tasks=["bli"], out_dir=tmp_path, muse=tmp_path, limit=5))
    assert isinstance(task, BliTask)
    assert task.entries() == list(PAPER_PAIRS)
    assert (task.root, task.limit) == (tmp_path, 5)


def test_mrc_pairs_default_to_each_language_with_itself(tmp_path: Path) -> None:
    cfg = EvalConfig(
        tasks=["mrc"], out_dir=tmp_path, belebele=tmp_path, languages=["sw", "yo"], seed=2
    )
    (task,) = build_tasks(cfg)
    assert isinstance(task, MrcTask)
    assert task.entries() == [("swh_Latn", "swh_Latn"), ("yor_Latn", "yor_Latn")]
    assert task.seed == 2
    given = build_tasks(
        EvalConfig(tasks=["mrc"], out_dir=tmp_path, belebele=tmp_path, pairs=[("sw", "en")])
    )
    assert given[0].entries() == [("swh_Latn", "eng_Latn")]


def test_tasks_are_built_in_the_order_asked(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path / "sib")
    cfg = EvalConfig(
        tasks=["translate", "bli", "classify"],
        out_dir=tmp_path,
        sib200=sib,
        muse=tmp_path,
        pairs=[("sw", "en")],
    )
    assert [t.name for t in build_tasks(cfg)] == ["translate", "bli", "classify"]
