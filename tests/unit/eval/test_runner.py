"""The resumable runner (eval/runner.py): planning arms, table lookups, fingerprints, running."""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import NoBridgeFound
from bridgex_chain.eval.cache import UnitFile
from bridgex_chain.eval.data import Item, load_parallel
from bridgex_chain.eval.evaluate import run_evaluation
from bridgex_chain.eval.runner import (
    Arm,
    EntryPlan,
    Progress,
    TableInfo,
    candidates_for,
    fingerprint,
    plan_entry,
    plan_item,
    run_arms,
    table_info,
    unit_path,
)
from bridgex_chain.eval.task_classify import ClassifyTask
from bridgex_chain.eval.task_translate import TranslateTask
from bridgex_chain.store.records import Bridge, RankedBridge, ScoreRow

# --------------------------------------------------------------------------- end to end


def test_interrupted_run_resumes_and_a_finished_run_needs_no_model(
    tmp_path: Path, fake_lm_class: Any, fake_table: Any, eval_config: Callable[..., Any]
) -> None:
    FakeLM = fake_lm_class
    cfg = eval_config(
        tmp_path / "a",
        ["classify", "translate"],
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "eng_Latn")],
    )
    clean_lm = FakeLM()
    clean = run_evaluation(cfg, table=fake_table, lm_factory=lambda: clean_lm)
    calls = len(clean_lm.generated) + len(clean_lm.scored)

    cfg_b = eval_config(
        tmp_path / "b",
        ["classify", "translate"],
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "eng_Latn")],
    )
    with pytest.raises(RuntimeError, match="killed"):
        run_evaluation(cfg_b, table=fake_table, lm_factory=lambda: FakeLM(fail_after=calls // 2))
    second = FakeLM()
    resumed = run_evaluation(cfg_b, table=fake_table, lm_factory=lambda: second)
    assert 0 < len(second.generated) + len(second.scored) < calls
    assert resumed["entries"] == clean["entries"]

    def no_model() -> Any:
        raise AssertionError("a finished run must not load the model")

    assert (
        run_evaluation(cfg_b, table=fake_table, lm_factory=no_model)["entries"] == clean["entries"]
    )
    # other settings make the stored units stale: they are recomputed
    cfg_b.demos_per_label = 2
    third = FakeLM()
    run_evaluation(cfg_b, table=fake_table, lm_factory=lambda: third)
    assert third.scored and list((cfg_b.out_dir / "cache").rglob("*.stale"))


def test_conditions_subset_computes_only_what_they_need(
    tmp_path: Path,
    fake_lm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
) -> None:
    lm = fake_lm
    cfg = eval_config(
        tmp_path,
        ["classify"],
        languages=["swh_Latn"],
        conditions=["english", "table"],
        renderings=["oracle"],
    )
    e = entry_of(run_evaluation(cfg, table=fake_table, lm_factory=lambda: lm), "classify")
    assert e["direct"] is None
    assert set(e["renderings"]["oracle"]["bridges"]) == {"eng_Latn", "fra_Latn"}
    assert "oracle_bridge" not in e["renderings"]["oracle"]  # not every candidate was run
    assert not lm.generated  # the oracle rendering needs no generation


def test_a_bridge_chosen_by_several_conditions_is_evaluated_once(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path)
    task = ClassifyTask(
        load_parallel(sib, "test"), load_parallel(sib, "train"), ["swh_Latn"], limit=None, seed=0
    )
    plan = _plan(
        task,
        "swh_Latn",
        "swh_Latn",
        bridges=["eng_Latn"],
        conditions=["english", "table", "random"],
        renderings=["oracle"],
        table=TableInfo(best="eng_Latn"),
    )
    assert plan.condition_bridges == {
        "english": "eng_Latn",
        "table": "eng_Latn",
        "random": "eng_Latn",
    }
    assert [a.name for a in plan.arms] == ["oracle-eng_Latn"]


def test_table_info_reads_a_real_bridge_table() -> None:
    from bridgex_chain.store.records import ModelProfile, RunRecord
    from bridgex_chain.store.table import BridgeTable

    table = BridgeTable("sqlite://")
    run = RunRecord(
        ModelProfile("demo/model", "r1", "llama", 4, 16),
        "starter",
        "h1",
        ["swh_Latn", "eng_Latn", "fra_Latn"],
        ["eng_Latn", "fra_Latn"],
        {},
        status="complete",
    )
    rows = [ScoreRow("sw", "sw", "fr", None, 0.4), ScoreRow("sw", "sw", "en", None, 0.3)]
    rows += [ScoreRow("sw", "sw", b, layer, 0.1 * layer) for b in ("fr", "en") for layer in (1, 2)]
    table.upsert_run(run, rows)
    info = table_info(table, "demo/model", "swh_Latn", "swh_Latn")
    assert info.best == "fra_Latn" and info.pending is None
    assert info.hsic == pytest.approx({"fra_Latn": 0.4, "eng_Latn": 0.3})
    assert info.layers["eng_Latn"] == pytest.approx({1: 0.1, 2: 0.2})
    missing = table_info(table, "demo/model", "ind_Latn", "ind_Latn")
    assert missing.best is None and "No bridge" in str(missing.pending)
    assert (
        table_info(None, "demo/model", "swh_Latn", "swh_Latn").pending
        == "no bridge table was given"
    )


# --------------------------------------------------------------------------- planning


@pytest.fixture
def classify(tmp_path: Path, write_sib: Callable[[Path], Path]) -> ClassifyTask:
    sib = write_sib(tmp_path / "sib")
    return ClassifyTask(
        load_parallel(sib, "test"), load_parallel(sib, "train"), ["swh_Latn"], limit=None, seed=0
    )


@pytest.fixture
def translate(tmp_path: Path, write_sib: Callable[[Path], Path]) -> TranslateTask:
    sib = write_sib(tmp_path / "sib")
    return TranslateTask(load_parallel(sib, "test"), [("sw", "en")], limit=None, seed=0)


def _plan(task: Any, src: str, trg: str, **kw: Any) -> EntryPlan:
    """``plan_entry``, by default over the bridges eng_Latn and fra_Latn with no table answer."""
    kw.setdefault("bridges", ["eng_Latn", "fra_Latn"])
    kw.setdefault("table", TableInfo())
    return plan_entry(task, src, trg, **kw)


def test_candidates_are_the_bridges_minus_the_entry_languages_in_order() -> None:
    bridges = ("eng_Latn", "fra_Latn", "deu_Latn", "ita_Latn")
    assert candidates_for(bridges, "swh_Latn", "swh_Latn") == list(bridges)
    assert candidates_for(bridges, "fra_Latn", "fra_Latn") == ["eng_Latn", "deu_Latn", "ita_Latn"]
    assert candidates_for(bridges, "ita_Latn", "eng_Latn") == ["fra_Latn", "deu_Latn"]
    assert candidates_for([], "swh_Latn", "eng_Latn") == []


def test_arm_names_are_the_rendering_and_the_bridge() -> None:
    assert Arm("direct", None).name == "direct"
    assert Arm("oracle", "fra_Latn").name == "oracle-fra_Latn"
    assert Arm("self", "deu_Latn").name == "self-deu_Latn"


def test_every_condition_plans_direct_then_each_rendering_over_every_candidate(
    classify: ClassifyTask,
) -> None:
    plan = _plan(
        classify,
        "swh_Latn",
        "swh_Latn",
        bridges=["eng_Latn", "fra_Latn", "deu_Latn"],
        table=TableInfo(best="deu_Latn"),
    )
    assert plan.candidates == ["eng_Latn", "fra_Latn", "deu_Latn"]
    assert [a.name for a in plan.arms] == [
        "direct",
        "self-eng_Latn",
        "self-fra_Latn",
        "self-deu_Latn",
        "oracle-eng_Latn",
        "oracle-fra_Latn",
        "oracle-deu_Latn",
    ]
    assert plan.condition_bridges["english"] == "eng_Latn"
    assert plan.condition_bridges["table"] == "deu_Latn"
    assert plan.condition_bridges["random"] in plan.candidates
    assert plan.unavailable == {}
    assert [i.id for i in plan.items] == ["1", "2", "3", "4"]
    assert (plan.src, plan.trg, plan.task) == ("swh_Latn", "swh_Latn", classify)


def test_english_is_unavailable_when_it_is_a_language_of_the_entry(
    translate: TranslateTask,
) -> None:
    plan = _plan(translate, "swh_Latn", "eng_Latn", conditions=["english"], renderings=["oracle"])
    assert plan.unavailable == {"english": "English is a language of the entry itself"}
    assert plan.condition_bridges == {}
    assert plan.arms == []
    assert plan.candidates == ["fra_Latn"]


def test_a_pending_table_is_unavailable_with_its_reason(classify: ClassifyTask) -> None:
    plan = _plan(
        classify,
        "swh_Latn",
        "swh_Latn",
        conditions=["direct", "table"],
        table=TableInfo(pending="no run yet"),
    )
    assert plan.unavailable == {"table": "pending: no run yet"}
    assert "table" not in plan.condition_bridges
    assert plan.arms == [Arm("direct", None)]


def test_the_table_bridge_is_run_even_when_it_is_no_candidate(classify: ClassifyTask) -> None:
    plan = _plan(
        classify,
        "swh_Latn",
        "swh_Latn",
        bridges=["eng_Latn"],
        conditions=["all", "table"],
        renderings=["self"],
        table=TableInfo(best="ita_Latn"),
    )
    assert [a.name for a in plan.arms] == ["self-eng_Latn", "self-ita_Latn"]


def test_the_random_bridge_is_seeded_per_task_and_entry(classify: ClassifyTask) -> None:
    bridges = ["eng_Latn", "fra_Latn", "deu_Latn", "ita_Latn", "por_Latn", "spa_Latn"]

    def pick(seed: int) -> str | None:
        plan = _plan(
            classify,
            "swh_Latn",
            "swh_Latn",
            bridges=bridges,
            conditions=["random"],
            renderings=["oracle"],
            seed=seed,
        )
        assert [a.name for a in plan.arms] == [f"oracle-{plan.condition_bridges['random']}"]
        return plan.condition_bridges["random"]

    assert pick(0) == pick(0)
    picks = {pick(seed) for seed in range(12)}
    assert len(picks) > 1 and picks <= set(bridges)


def test_no_random_bridge_without_candidates(translate: TranslateTask) -> None:
    plan = _plan(
        translate,
        "swh_Latn",
        "eng_Latn",
        bridges=["eng_Latn", "swh_Latn"],
        conditions=["random", "all"],
    )
    assert plan.candidates == [] and plan.condition_bridges == {} and plan.arms == []


# --------------------------------------------------------------------------- table_info


class _Lookup:
    """A bridge table whose answers the test chooses (``missing``: NoBridgeFound)."""

    def __init__(self, rows: Sequence[ScoreRow], *, missing: bool = False) -> None:
        self.rows = list(rows)
        self.missing = missing
        self.asked: list[int] = []

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        if self.missing:
            raise NoBridgeFound(f"No bridge for {model} {src}->{trg}")
        return Bridge(model, src, trg or src, "fra_Latn", 0.5, 0.1, run_id=7)

    def ranking(self, model: str, src: str, trg: str | None = None) -> list[RankedBridge]:
        return [RankedBridge("fra_Latn", 0.5, 1, 2), RankedBridge("eng_Latn", 0.4, 2, 2)]

    def scores(self, run_id: int) -> list[ScoreRow]:
        self.asked.append(run_id)
        return self.rows


def test_table_info_keeps_the_layers_of_this_entry_only() -> None:
    lookup = _Lookup(
        [
            ScoreRow("swh_Latn", "eng_Latn", "fra_Latn", 0, 0.2),
            ScoreRow("swh_Latn", "eng_Latn", "fra_Latn", 1, 0.6),
            ScoreRow("swh_Latn", "eng_Latn", "fra_Latn", None, 0.5),  # the aggregate
            ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", 0, 0.9),  # another entry
            ScoreRow("yor_Latn", "eng_Latn", "fra_Latn", 0, 0.8),  # another entry
            ScoreRow("swh_Latn", "eng_Latn", "deu_Latn", 1, 0.3),
        ]
    )
    info = table_info(lookup, "m", "swh_Latn", "eng_Latn")
    assert info == TableInfo(
        best="fra_Latn",
        hsic={"fra_Latn": 0.5, "eng_Latn": 0.4},
        layers={"fra_Latn": {0: 0.2, 1: 0.6}, "deu_Latn": {1: 0.3}},
        run_id=7,
        pending=None,
    )
    assert lookup.asked == [7]  # the scores of the best bridge's run


def test_table_info_of_an_entry_without_a_bridge_is_pending_with_the_reason() -> None:
    lookup = _Lookup([], missing=True)
    info = table_info(lookup, "m", "swh_Latn", "eng_Latn")
    assert info == TableInfo(pending="No bridge for m swh_Latn->eng_Latn")
    assert lookup.asked == []


# --------------------------------------------------------------------------- fingerprints, paths


def test_fingerprint_names_what_the_results_depend_on(classify: ClassifyTask) -> None:
    plan = _plan(classify, "swh_Latn", "swh_Latn")
    fp = fingerprint(plan, Arm("self", "fra_Latn"), "demo/model")
    assert {k: v for k, v in fp.items() if k != "prompts"} == {
        "format": 1,
        "model": "demo/model",
        "task": "classify",
        "params": {"seed": 0, "demos_per_label": 1, "shots": 0},
        "entry": ["swh_Latn", "swh_Latn"],
        "arm": "self-fra_Latn",
    }
    assert fingerprint(plan, Arm("self", "fra_Latn"), "demo/model") == fp
    assert isinstance(fp["prompts"], str) and fp["prompts"]


def test_fingerprint_changes_with_the_model_the_bridge_and_the_prompts(
    tmp_path: Path, write_sib: Callable[[Path], Path], classify: ClassifyTask
) -> None:
    plan = _plan(classify, "swh_Latn", "swh_Latn")
    base = fingerprint(plan, Arm("self", "fra_Latn"), "m")
    assert fingerprint(plan, Arm("self", "fra_Latn"), "other") != base
    eng = fingerprint(plan, Arm("self", "eng_Latn"), "m")
    direct = fingerprint(plan, Arm("direct", None), "m")
    assert len({base["prompts"], eng["prompts"], direct["prompts"]}) == 3
    # another task parameter makes another fingerprint (stored units become stale)
    sib = write_sib(tmp_path / "other")
    two = ClassifyTask(
        load_parallel(sib, "test"),
        load_parallel(sib, "train"),
        ["swh_Latn"],
        limit=None,
        seed=0,
        demos_per_label=2,
    )
    other = fingerprint(_plan(two, "swh_Latn", "swh_Latn"), Arm("direct", None), "m")
    assert other != direct
    assert other["params"] == {"seed": 0, "demos_per_label": 2, "shots": 0}


def test_fingerprint_of_a_generation_task_uses_a_content_free_probe(
    translate: TranslateTask,
) -> None:
    plan = _plan(translate, "swh_Latn", "eng_Latn")
    fp = fingerprint(plan, Arm("oracle", "fra_Latn"), "m")
    assert (fp["task"], fp["entry"], fp["params"]) == (
        "translate",
        ["swh_Latn", "eng_Latn"],
        {"seed": 0, "shots": 0},
    )
    assert fp["prompts"] != fingerprint(plan, Arm("direct", None), "m")["prompts"]


def test_unit_path_is_task_entry_and_arm_under_units(classify: ClassifyTask) -> None:
    plan = _plan(classify, "swh_Latn", "swh_Latn")
    root = Path("/cache")
    assert unit_path(root, plan, Arm("oracle", "fra_Latn")) == Path(
        "/cache/units/classify/swh_Latn-swh_Latn/oracle-fra_Latn.jsonl"
    )
    assert unit_path(root, plan, Arm("direct", None)).name == "direct.jsonl"


def test_plan_item_renders_only_when_bridged(classify: ClassifyTask) -> None:
    item = Item("1", "mpira", "sports")
    render, final = plan_item(classify, item, "swh_Latn", "swh_Latn", None, None)
    assert render is None and final.rendering is None
    assert str(final.answer.prompt).endswith("Text: mpira\nLabel:")
    render, final = plan_item(classify, item, "swh_Latn", "swh_Latn", "fra_Latn", "ballon")
    assert render is not None and render.purpose == "render"
    assert str(render.prompt).endswith("Swahili: mpira\nFrench:")
    assert final.rendering == "ballon"
    assert str(final.answer.prompt).endswith("Swahili: mpira\nFrench: ballon\nLabel:")
    assert final.choices == ("sports", "travel")


# --------------------------------------------------------------------------- run_arms


class _BatchLM:
    """A model that records every call's batch and answers "ballon sports"."""

    key = "batch"

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.scored = 0

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        self.scored += 1
        return [0.0 if c.strip() in query else -3.0 for c in continuations]

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str]
    ) -> list[str]:
        self.batches.append(len(prompts))
        return [" ballon sports"] * len(prompts)


def test_run_arms_records_scores_calibration_and_progress(
    tmp_path: Path, classify: ClassifyTask
) -> None:
    plan = _plan(
        classify,
        "swh_Latn",
        "swh_Latn",
        bridges=["fra_Latn"],
        conditions=["direct", "all"],
        renderings=["self"],
    )
    events: list[Progress] = []
    lm = _BatchLM()
    units = run_arms(
        [plan],
        cache_dir=tmp_path / "cache",
        model="m",
        lm_factory=lambda: lm,
        batch_size=3,
        on_progress=events.append,
    )
    assert set(units) == {
        ("classify", "swh_Latn", "swh_Latn", "direct"),
        ("classify", "swh_Latn", "swh_Latn", "self-fra_Latn"),
    }
    direct = units[("classify", "swh_Latn", "swh_Latn", "direct")]
    assert list(direct.records) == ["1", "2", "3", "4"]
    assert [r["gold"] for r in direct.records.values()] == [0, 0, 1, 1]
    assert all(len(r["scores"]) == 2 and r["rendering"] is None for r in direct.records.values())
    assert direct.meta["choices"] == ["sports", "travel"]
    assert len(direct.meta["calibration"]) == 2
    bridged = units[("classify", "swh_Latn", "swh_Latn", "self-fra_Latn")]
    assert {r["rendering"] for r in bridged.records.values()} == {"ballon sports"}
    # renderings are generated at most batch_size at a time
    assert lm.batches and max(lm.batches) <= 3 and sum(lm.batches) == 4
    # 2 calibrations + 8 items scored
    assert lm.scored == 10
    assert events[0] == Progress("loading the model", 0, 8)
    assert events[-1].completed == events[-1].total == 8
    assert [e.completed for e in events] == sorted(e.completed for e in events)
    assert any(e.description == "classify swh_Latn→swh_Latn self-fra_Latn" for e in events)
    # the stored units are what the files hold
    path = unit_path(tmp_path / "cache", plan, Arm("direct", None))
    assert UnitFile(path, direct.fingerprint).records == direct.records


def test_run_arms_with_nothing_missing_reports_so_and_loads_no_model(
    tmp_path: Path, classify: ClassifyTask
) -> None:
    plan = plan_entry(
        classify,
        "swh_Latn",
        "swh_Latn",
        conditions=["direct"],
        table=TableInfo(),
    )
    run_arms([plan], cache_dir=tmp_path, model="m", lm_factory=_BatchLM)
    events: list[Progress] = []

    def no_model() -> Any:
        raise AssertionError("nothing is missing: the model must not be loaded")

    units = run_arms(
        [plan], cache_dir=tmp_path, model="m", lm_factory=no_model, on_progress=events.append
    )
    assert events == [Progress("nothing to compute", 0, 0)]
    assert len(units[("classify", "swh_Latn", "swh_Latn", "direct")].records) == 4


def test_run_arms_marks_items_without_oracle_text_missing(
    tmp_path: Path, translate: TranslateTask
) -> None:
    plan = _plan(
        translate,
        "swh_Latn",
        "eng_Latn",
        bridges=["ita_Latn"],  # no Italian in the data
        conditions=["all"],
        renderings=["oracle"],
    )
    lm = _BatchLM()
    units = run_arms([plan], cache_dir=tmp_path, model="m", lm_factory=lambda: lm)
    unit = units[("translate", "swh_Latn", "eng_Latn", "oracle-ita_Latn")]
    assert list(unit.records.values()) == [{"id": i, "missing": True} for i in "1234"]
    assert not lm.batches and lm.scored == 0  # nothing asked of the model


def test_run_arms_of_a_generation_task_stores_the_cleaned_output(
    tmp_path: Path, translate: TranslateTask
) -> None:
    plan = plan_entry(
        translate,
        "swh_Latn",
        "eng_Latn",
        conditions=["direct"],
        table=TableInfo(),
    )
    lm = _BatchLM()
    units = run_arms([plan], cache_dir=tmp_path, model="m", lm_factory=lambda: lm)
    unit = units[("translate", "swh_Latn", "eng_Latn", "direct")]
    assert [r["output"] for r in unit.records.values()] == ["ballon sports"] * 4
    assert all("gold" not in r and "scores" not in r for r in unit.records.values())
    assert unit.meta == {} and lm.scored == 0
    assert (tmp_path / "generations.jsonl").is_file()
