"""The resumable runner (eval/runner.py): arms, table lookups, fingerprints, running the chains.

End-to-end tests run the real ``BridgeXChain`` (``default_chain_maker``) on the fake model of
conftest.py; the ``recording_chains`` tests replace the chain by a fake that records what eval
asked of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import NoBridgeFound
from bridgex_chain.eval.cache import UnitFile
from bridgex_chain.eval.data import load_parallel
from bridgex_chain.eval.evaluate import run_evaluation
from bridgex_chain.eval.runner import (
    Arm,
    EntryPlan,
    Progress,
    TableInfo,
    candidates_for,
    fingerprint,
    plan_entry,
    run_arms,
    table_info,
    unit_path,
)
from bridgex_chain.eval.task_classify import ClassifyTask
from bridgex_chain.eval.task_translate import TranslateTask
from bridgex_chain.store.records import Bridge, RankedBridge, ScoreRow

SWH = "swh_Latn"


def _records(unit: UnitFile) -> list[dict[str, Any]]:
    return list(unit.records.values())


# --------------------------------------------------------------------------- end to end


def test_interrupted_run_resumes_and_a_finished_run_builds_no_chain(
    tmp_path: Path,
    use_llm: Callable[[Any], Any],
    fake_llm_class: Any,
    killed: type[BaseException],
    fake_table: Any,
    eval_config: Callable[..., Any],
) -> None:
    def config(root: Path) -> Any:
        return eval_config(
            root, ["classify", "translate"], languages=[SWH], pairs=[(SWH, "eng_Latn")]
        )

    clean_llm = use_llm(fake_llm_class())
    clean = run_evaluation(config(tmp_path / "a"), table=fake_table)
    calls = len(clean_llm.prompts)
    assert calls > 20

    cfg = config(tmp_path / "b")
    use_llm(fake_llm_class(fail_after=calls // 2))
    with pytest.raises(killed):
        run_evaluation(cfg, table=fake_table)
    kept = [  # the records the killed run wrote before it died
        line
        for path in (cfg.out_dir / "cache" / "units").rglob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
        if '"id"' in line
    ]
    assert kept
    second = use_llm(fake_llm_class())
    resumed = run_evaluation(cfg, table=fake_table)
    assert 0 < len(second.prompts) < calls  # only what was missing
    assert resumed["entries"] == clean["entries"] and resumed["pooled"] == clean["pooled"]
    assert resumed["complete"] is True

    use_llm(None)  # a finished run must not load the model nor build a chain
    again = run_evaluation(cfg, table=fake_table)
    assert again["entries"] == clean["entries"]

    # other chain settings make the stored units stale: they are set aside and recomputed
    cfg.num_demos = 1
    third = use_llm(fake_llm_class())
    stale = run_evaluation(cfg, table=fake_table)
    assert len(third.prompts) >= calls // 2
    assert list((cfg.out_dir / "cache").rglob("*.stale"))
    assert stale["entries"][0]["n"] == clean["entries"][0]["n"]


def test_conditions_subset_computes_only_what_they_need(
    tmp_path: Path,
    fake_llm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
) -> None:
    cfg = eval_config(
        tmp_path,
        ["classify"],
        languages=[SWH],
        conditions=["english", "table"],
        renderings=["oracle"],
    )
    e = entry_of(run_evaluation(cfg, table=fake_table), "classify")
    assert e["direct"] is None
    oracle = e["renderings"]["oracle"]
    assert set(oracle["bridges"]) == {"eng_Latn", "fra_Latn"}
    assert set(oracle["conditions"]) == {"english", "table"}
    assert "oracle_bridge" not in oracle  # not every candidate was run
    units = sorted(p.name for p in (cfg.out_dir / "cache" / "units").rglob("*.jsonl"))
    assert units == ["oracle-eng_Latn.jsonl", "oracle-fra_Latn.jsonl"]
    # gold renderings: the model only answered (8 classify prompts), it rendered nothing
    assert len(fake_llm.prompts) == 8
    assert all(p.endswith("Label:") for p in fake_llm.prompts)


def test_a_bridge_chosen_by_several_conditions_is_evaluated_once(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    task = ClassifyTask(load_parallel(write_sib(tmp_path), "test"), [SWH], limit=None, seed=0)
    plan = _plan(
        task,
        SWH,
        SWH,
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


def test_the_chain_batches_the_model_calls_and_records_what_it_did(
    tmp_path: Path,
    fake_llm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
) -> None:
    cfg = eval_config(
        tmp_path,
        ["classify"],
        languages=[SWH],
        bridges=["fra_Latn"],
        conditions=["direct", "table", "all"],
        batch_size=3,
    )
    run_evaluation(cfg, table=fake_table)
    # one model batch per rendering round and per answer round, at most batch_size prompts
    assert max(fake_llm.batches) == 3 and sum(fake_llm.batches) == len(fake_llm.prompts)
    units = cfg.out_dir / "cache" / "units" / "classify" / f"{SWH}-{SWH}"

    def rows(arm: str) -> list[dict[str, Any]]:
        lines = (units / f"{arm}.jsonl").read_text(encoding="utf-8").splitlines()
        return [r for r in map(json.loads, lines) if "id" in r]

    direct = rows("direct")
    assert [r["id"] for r in direct] == ["1", "2", "3", "4"]
    assert {(r["lang"], r["bridge"], r["fallback"]) for r in direct} == {(SWH, None, "no_bridge")}
    assert [(r["choice"], r["correct"]) for r in direct] == [
        (0, True),
        (0, True),
        (0, False),
        (0, False),
    ]  # nothing names a label: the first label, "sports"
    table = rows("table")
    assert {(r["bridge"], r["fallback"]) for r in table} == {("fra_Latn", None)}
    assert table[0]["rendering"] == "L'équipe a gagné le match de sports."
    assert [r["correct"] for r in table] == [True, True, True, False]
    assert [r["correct"] for r in rows("self-fra_Latn")] == [True, True, True, False]
    oracle = rows("oracle-fra_Latn")
    assert [r["correct"] for r in oracle] == [True] * 4
    # the gold rendering was given to the chain, and it is dataset text: never stored
    assert all(r["given"] == 1 and "rendering" not in r for r in oracle)
    # the table arm and the fixed French arm share one rendering cache: rendered once each
    renders = [p for p in fake_llm.prompts if p.endswith("\nFrench:")]
    assert len(renders) == len(set(renders)) == 4


def test_run_arms_drives_the_default_chains(
    tmp_path: Path,
    fake_llm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
    make_chain: Callable[..., Any],
) -> None:
    cfg = eval_config(tmp_path, ["classify"])
    task = ClassifyTask(load_parallel(cfg.sib200, "test"), [SWH], limit=2, seed=0)
    plan = plan_entry(
        task,
        SWH,
        SWH,
        bridges=["fra_Latn"],
        conditions=["table", "all"],
        renderings=["self", "oracle"],
        table=table_info(fake_table, "m", SWH, SWH),
    )
    units = run_arms(
        [plan], cache_dir=tmp_path / "cache", model="m", make_chain=make_chain(cfg, fake_table)
    )
    records = {arm: _records(u) for (_, _, _, arm), u in units.items()}
    assert set(records) == {"table", "self-fra_Latn", "oracle-fra_Latn"}
    assert [r["correct"] for r in records["table"]] == [True, True]  # items 1 and 3
    assert records["table"] == records["self-fra_Latn"]  # the same chain, the same bridge
    assert all(r["given"] == 1 for r in records["oracle-fra_Latn"])
    # 2 renderings (once, for both self arms) and 3 arms x 2 answers
    assert len(fake_llm.prompts) == 2 + 3 * 2


def test_table_info_reads_a_real_bridge_table() -> None:
    from bridgex_chain.store.records import ModelProfile, RunRecord
    from bridgex_chain.store.table import BridgeTable

    table = BridgeTable("sqlite://")
    run = RunRecord(
        ModelProfile("demo/model", "r1", "llama", 4, 16),
        "starter",
        "h1",
        [SWH, "eng_Latn", "fra_Latn"],
        ["eng_Latn", "fra_Latn"],
        {},
        status="complete",
    )
    rows = [ScoreRow("sw", "sw", "fr", None, 0.4), ScoreRow("sw", "sw", "en", None, 0.3)]
    rows += [ScoreRow("sw", "sw", b, layer, 0.1 * layer) for b in ("fr", "en") for layer in (1, 2)]
    table.upsert_run(run, rows)
    info = table_info(table, "demo/model", SWH, SWH)
    assert info.best == "fra_Latn" and info.pending is None
    assert info.hsic == pytest.approx({"fra_Latn": 0.4, "eng_Latn": 0.3})
    assert info.layers["eng_Latn"] == pytest.approx({1: 0.1, 2: 0.2})
    missing = table_info(table, "demo/model", "ind_Latn", "ind_Latn")
    assert missing.best is None and "No bridge" in str(missing.pending)
    assert table_info(None, "demo/model", SWH, SWH).pending == "no bridge table was given"


# --------------------------------------------------------------------------- through chain.batch


def test_eval_calls_the_chain_of_every_arm_with_each_items_request(
    tmp_path: Path,
    fake_table: Any,
    eval_config: Callable[..., Any],
    recording_chains: Callable[..., Any],
    sib_rows: dict[str, tuple[str, dict[str, str]]],
) -> None:
    from bridgex_chain.eval.evaluate import build_tasks

    maker = recording_chains()
    cfg = eval_config(tmp_path, ["classify", "translate"], languages=[SWH], batch_size=2)
    cfg.pairs = [(SWH, "eng_Latn")]
    tasks = build_tasks(cfg)
    run_evaluation(cfg, table=fake_table, make_chain=maker, tasks=tasks)
    assert maker.made == 1  # the model is loaded once per run

    classify, translate = tasks
    arms = {
        (c.arm.name, "classify" if "labels" in c.inputs()[0] else "translate") for c in maker.chains
    }
    expected_classify = {
        "direct", "table", "detected", "evidence",
        *(f"{r}-{b}" for r in ("self", "oracle") for b in ("eng_Latn", "fra_Latn", "deu_Latn")),
    }  # fmt: skip
    expected_translate = expected_classify - {"self-eng_Latn", "oracle-eng_Latn"}
    assert arms == {(a, "classify") for a in expected_classify} | {
        (a, "translate") for a in expected_translate
    }
    assert len(maker.chains) == len(arms)  # one chain per arm, whatever its number of chunks
    for chain in maker.chains:
        task = classify if "labels" in chain.inputs()[0] else translate
        src, trg = task.entries()[0]
        items = task.items(src, trg)
        requests = [task.request(item, src, trg) for item in items]
        if chain.arm.rendering != "detected":
            requests = [{**r, "lang": SWH} for r in requests]
        assert chain.inputs() == requests, chain.arm  # every item, through chain.batch
        assert all("lang" not in x for x in chain.inputs()) == (chain.arm.name == "detected")
        for _, config, return_exceptions in chain.calls:
            assert config == {"max_concurrency": 2} and return_exceptions is True
        if chain.arm.rendering == "oracle":
            bridge = chain.arm.bridge
            assert chain.renderings == {
                (item.text, bridge): sib_rows[item.id][1][bridge] for item in items
            }
        else:
            assert chain.renderings is None
    direct = next(c for c in maker.chains if c.arm.name == "direct")
    assert direct.inputs()[0] == {
        "query": sib_rows["1"][1][SWH],
        "task": "classify",
        "labels": ["sports", "travel"],
        "lang": SWH,
    }


def test_an_item_whose_chain_call_raises_is_an_error_left_out_of_the_scores(
    tmp_path: Path,
    fake_table: Any,
    eval_config: Callable[..., Any],
    recording_chains: Callable[..., Any],
    entry_of: Callable[..., dict[str, Any]],
    sib_rows: dict[str, tuple[str, dict[str, str]]],
) -> None:
    failing = sib_rows["2"][1][SWH]
    maker = recording_chains(fail_on=failing)
    cfg = eval_config(tmp_path, ["classify"], languages=[SWH], conditions=["direct", "english"])
    e = entry_of(run_evaluation(cfg, table=fake_table, make_chain=maker), "classify")
    direct = next(c for c in maker.chains if c.arm.name == "direct")
    unit = cfg.out_dir / "cache" / "units" / "classify" / f"{SWH}-{SWH}" / "direct.jsonl"
    rows = [json.loads(line) for line in unit.read_text(encoding="utf-8").splitlines()]
    assert {"id": "2", "error": f"RuntimeError: cannot answer {failing!r}"} in rows
    # the score is that of the three other items; the failed one counts as an error only
    golds = {sib_rows[i][1][SWH]: sib_rows[i][0] for i in sib_rows}
    hits = [
        r.content == golds[x["query"]]
        for x, r in zip(direct.inputs(), direct.replies, strict=True)
        if not isinstance(r, Exception)
    ]
    assert len(hits) == 3
    assert (e["direct"]["n"], e["direct"]["errors"]) == (3, 1)
    assert e["direct"]["score"] == 100.0 * sum(hits) / 3
    english = e["renderings"]["self"]["conditions"]["english"]
    assert english["vs_direct"]["n"] == 3  # paired on the items both arms answered


def test_run_arms_chunks_the_items_and_reports_progress(
    tmp_path: Path, classify: ClassifyTask, recording_chains: Callable[..., Any]
) -> None:
    plan = _plan(
        classify, SWH, SWH, bridges=["fra_Latn"], conditions=["direct", "all"], renderings=["self"]
    )
    events: list[Progress] = []
    maker = recording_chains()
    units = run_arms(
        [plan],
        cache_dir=tmp_path / "cache",
        model="m",
        make_chain=maker,
        chain_settings={"num_demos": 3},
        batch_size=2,
        chunk=3,
        on_progress=events.append,
    )
    assert set(units) == {
        (classify.name, SWH, SWH, "direct"),
        (classify.name, SWH, SWH, "self-fra_Latn"),
    }
    for chain in maker.chains:  # items go 3 per chain.batch call, each written when it returns
        assert [len(inputs) for inputs, _, _ in chain.calls] == [3, 1]
        assert all(config == {"max_concurrency": 2} for _, config, _ in chain.calls)
    direct = units[(classify.name, SWH, SWH, "direct")]
    assert list(direct.records) == ["1", "2", "3", "4"]
    assert all(
        r["fallback"] == "no_bridge" and isinstance(r["correct"], bool) for r in _records(direct)
    )
    assert direct.meta["seconds"] >= 0.0
    assert events[0] == Progress("loading the model", 0, 8)
    assert events[-1].completed == events[-1].total == 8
    assert [e.completed for e in events] == sorted(e.completed for e in events)
    assert any(e.description == f"classify {SWH}→{SWH} self-fra_Latn" for e in events)
    # the stored units are what the files hold
    path = unit_path(tmp_path / "cache", plan, Arm("direct"))
    assert UnitFile(path, direct.fingerprint).records == direct.records


def test_run_arms_with_nothing_missing_reports_so_and_builds_no_chain(
    tmp_path: Path, classify: ClassifyTask, recording_chains: Callable[..., Any]
) -> None:
    plan = plan_entry(classify, SWH, SWH, conditions=["direct"], table=TableInfo())
    run_arms([plan], cache_dir=tmp_path, model="m", make_chain=recording_chains())
    events: list[Progress] = []

    def no_chain() -> Any:
        raise AssertionError("nothing is missing: the model must not be loaded")

    units = run_arms(
        [plan], cache_dir=tmp_path, model="m", make_chain=no_chain, on_progress=events.append
    )
    assert events == [Progress("nothing to compute", 0, 0)]
    assert len(units[(classify.name, SWH, SWH, "direct")].records) == 4


def test_run_arms_without_compute_only_reads_what_is_stored(
    tmp_path: Path, classify: ClassifyTask, recording_chains: Callable[..., Any]
) -> None:
    plan = plan_entry(classify, SWH, SWH, conditions=["direct"], table=TableInfo())

    def no_chain() -> Any:
        raise AssertionError("compute=False computes nothing")

    units = run_arms([plan], cache_dir=tmp_path, model="m", make_chain=no_chain, compute=False)
    assert units[(classify.name, SWH, SWH, "direct")].records == {}


def test_the_oracle_arm_records_items_without_parallel_text_as_missing(
    tmp_path: Path, translate: TranslateTask, recording_chains: Callable[..., Any]
) -> None:
    plan = _plan(
        translate,
        SWH,
        "eng_Latn",
        bridges=["ita_Latn"],  # no Italian in the data
        conditions=["all"],
        renderings=["oracle"],
    )
    maker = recording_chains()
    units = run_arms([plan], cache_dir=tmp_path, model="m", make_chain=maker)
    unit = units[("translate", SWH, "eng_Latn", "oracle-ita_Latn")]
    assert _records(unit) == [{"id": i, "missing": True} for i in "1234"]
    assert maker.chains == []  # no chain asked anything


def test_a_generation_task_stores_the_chains_text(
    tmp_path: Path, translate: TranslateTask, recording_chains: Callable[..., Any]
) -> None:
    plan = plan_entry(translate, SWH, "eng_Latn", conditions=["direct"], table=TableInfo())
    units = run_arms([plan], cache_dir=tmp_path, model="m", make_chain=recording_chains())
    unit = units[("translate", SWH, "eng_Latn", "direct")]
    texts = [item.text for item in translate.items(SWH, "eng_Latn")]
    assert [r["output"] for r in _records(unit)] == [f"direct {t}" for t in texts]
    assert all("correct" not in r and "choice" not in r for r in _records(unit))


# --------------------------------------------------------------------------- planning


@pytest.fixture
def classify(tmp_path: Path, write_sib: Callable[[Path], Path]) -> ClassifyTask:
    sib = write_sib(tmp_path / "sib")
    return ClassifyTask(load_parallel(sib, "test"), [SWH], limit=None, seed=0)


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
    assert candidates_for(bridges, SWH, SWH) == list(bridges)
    assert candidates_for(bridges, "fra_Latn", "fra_Latn") == ["eng_Latn", "deu_Latn", "ita_Latn"]
    assert candidates_for(bridges, "ita_Latn", "eng_Latn") == ["fra_Latn", "deu_Latn"]
    assert candidates_for([], SWH, "eng_Latn") == []


def test_arm_names_and_which_arm_detects() -> None:
    assert Arm("direct").name == "direct"
    assert Arm("oracle", "fra_Latn").name == "oracle-fra_Latn"
    assert Arm("self", "deu_Latn").name == "self-deu_Latn"
    assert [Arm(k).detects for k in ("direct", "table", "detected")] == [False, False, True]
    assert not Arm("self", "fra_Latn").detects


def test_every_condition_plans_direct_the_table_policies_then_each_rendering(
    classify: ClassifyTask,
) -> None:
    plan = _plan(
        classify,
        SWH,
        SWH,
        bridges=["eng_Latn", "fra_Latn", "deu_Latn"],
        table=TableInfo(best="deu_Latn"),
    )
    assert plan.candidates == ["eng_Latn", "fra_Latn", "deu_Latn"]
    assert [a.name for a in plan.arms] == [
        "direct",
        "table",
        "detected",
        "evidence",
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
    assert (plan.src, plan.trg, plan.task) == (SWH, SWH, classify)


def test_without_a_table_there_is_no_table_policy_to_run(classify: ClassifyTask) -> None:
    plan = _plan(classify, SWH, SWH, conditions=["direct", "table", "detected"], has_table=False)
    assert [a.name for a in plan.arms] == ["direct"]
    assert plan.unavailable["table"].startswith("no table entry")


def test_a_pending_table_still_runs_the_table_policy_and_says_why(classify: ClassifyTask) -> None:
    plan = _plan(
        classify,
        SWH,
        SWH,
        conditions=["direct", "table"],
        table=TableInfo(pending="no run yet"),
    )
    assert plan.unavailable == {"table": "no table entry (no run yet): the chain goes direct"}
    assert plan.condition_bridges == {"table": None}
    # the chain under the table policy goes direct; no fixed bridge stands for the table
    assert [a.name for a in plan.arms] == ["direct", "table"]


def test_the_table_policy_is_a_self_rendering_arm(classify: ClassifyTask) -> None:
    only_oracle = _plan(
        classify,
        SWH,
        SWH,
        conditions=["table", "detected"],
        renderings=["oracle"],
        table=TableInfo(best="fra_Latn"),
    )
    # under gold renderings the table condition is its bridge's oracle arm; detected has none
    assert [a.name for a in only_oracle.arms] == ["oracle-fra_Latn"]
    only_self = _plan(
        classify,
        SWH,
        SWH,
        conditions=["table", "detected"],
        renderings=["self"],
        table=TableInfo(best="fra_Latn"),
    )
    assert [a.name for a in only_self.arms] == ["table", "detected"]


def test_english_is_unavailable_when_it_is_a_language_of_the_entry(
    translate: TranslateTask,
) -> None:
    plan = _plan(translate, SWH, "eng_Latn", conditions=["english"], renderings=["oracle"])
    assert plan.unavailable == {"english": "English is a language of the entry itself"}
    assert plan.condition_bridges == {}
    assert plan.arms == []
    assert plan.candidates == ["fra_Latn"]


def test_the_table_bridge_is_run_even_when_it_is_no_candidate(classify: ClassifyTask) -> None:
    plan = _plan(
        classify,
        SWH,
        SWH,
        bridges=["eng_Latn"],
        conditions=["all", "table"],
        renderings=["oracle"],
        table=TableInfo(best="ita_Latn"),
    )
    assert [a.name for a in plan.arms] == ["oracle-eng_Latn", "oracle-ita_Latn"]


def test_the_random_bridge_is_seeded_per_task_and_entry(classify: ClassifyTask) -> None:
    bridges = ["eng_Latn", "fra_Latn", "deu_Latn", "ita_Latn", "por_Latn", "spa_Latn"]

    def pick(seed: int) -> str | None:
        plan = _plan(
            classify,
            SWH,
            SWH,
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
        translate, SWH, "eng_Latn", bridges=["eng_Latn", SWH], conditions=["random", "all"]
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
            ScoreRow(SWH, "eng_Latn", "fra_Latn", 0, 0.2),
            ScoreRow(SWH, "eng_Latn", "fra_Latn", 1, 0.6),
            ScoreRow(SWH, "eng_Latn", "fra_Latn", None, 0.5),  # the aggregate
            ScoreRow(SWH, SWH, "fra_Latn", 0, 0.9),  # another entry
            ScoreRow("yor_Latn", "eng_Latn", "fra_Latn", 0, 0.8),  # another entry
            ScoreRow(SWH, "eng_Latn", "deu_Latn", 1, 0.3),
        ]
    )
    info = table_info(lookup, "m", SWH, "eng_Latn")
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
    info = table_info(lookup, "m", SWH, "eng_Latn")
    assert info == TableInfo(pending="No bridge for m swh_Latn->eng_Latn")
    assert lookup.asked == []


# --------------------------------------------------------------------------- fingerprints, paths


def test_fingerprint_names_what_the_results_depend_on(classify: ClassifyTask) -> None:
    plan = _plan(classify, SWH, SWH, table=TableInfo(best="fra_Latn", run_id=7))
    settings = {"num_demos": 3, "templates": "abc"}
    assert fingerprint(plan, Arm("self", "fra_Latn"), "demo/model", settings) == {
        "format": 2,
        "model": "demo/model",
        "task": "classify",
        "params": {"seed": 0},
        "entry": [SWH, SWH],
        "arm": "self-fra_Latn",
        "chain": settings,
        "table_run": None,  # a fixed bridge does not depend on the table's run
    }
    assert fingerprint(plan, Arm("table"), "demo/model", settings)["table_run"] == 7
    assert fingerprint(plan, Arm("detected"), "demo/model", settings)["table_run"] == 7


def test_fingerprint_changes_with_the_model_the_arm_the_chain_and_the_task(
    tmp_path: Path, write_sib: Callable[[Path], Path], classify: ClassifyTask
) -> None:
    plan = _plan(classify, SWH, SWH)
    base = fingerprint(plan, Arm("self", "fra_Latn"), "m", {"num_demos": 3})
    assert fingerprint(plan, Arm("self", "fra_Latn"), "m", {"num_demos": 3}) == base
    assert fingerprint(plan, Arm("self", "fra_Latn"), "other", {"num_demos": 3}) != base
    assert fingerprint(plan, Arm("self", "eng_Latn"), "m", {"num_demos": 3}) != base
    assert fingerprint(plan, Arm("oracle", "fra_Latn"), "m", {"num_demos": 3}) != base
    assert fingerprint(plan, Arm("self", "fra_Latn"), "m", {"num_demos": 1}) != base
    seeded = ClassifyTask(
        load_parallel(write_sib(tmp_path / "o"), "test"), [SWH], limit=None, seed=4
    )
    other = fingerprint(_plan(seeded, SWH, SWH), Arm("self", "fra_Latn"), "m", {"num_demos": 3})
    assert other != base and other["params"] == {"seed": 4}


def test_unit_path_is_task_entry_and_arm_under_units(classify: ClassifyTask) -> None:
    plan = _plan(classify, SWH, SWH)
    root = Path("/cache")
    assert unit_path(root, plan, Arm("oracle", "fra_Latn")) == Path(
        "/cache/units/classify/swh_Latn-swh_Latn/oracle-fra_Latn.jsonl"
    )
    assert unit_path(root, plan, Arm("direct")).name == "direct.jsonl"
