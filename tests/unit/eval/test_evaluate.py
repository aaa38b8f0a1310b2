"""``run_evaluation``, ``EvalConfig``, ``build_tasks`` and the chains of eval/evaluate.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sacrebleu.metrics.chrf import CHRF
from scipy.stats import spearmanr

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.policies import FixedBridge, NoBridge
from bridgex_chain.errors import BridgeXError, ProbeDataError
from bridgex_chain.eval import evaluate
from bridgex_chain.eval.data import load_parallel
from bridgex_chain.eval.evaluate import (
    PAPER_PAIRS,
    EvalConfig,
    build_tasks,
    chain_settings,
    default_chain_maker,
    run_evaluation,
)
from bridgex_chain.eval.runner import Arm
from bridgex_chain.eval.task_bli import BliTask
from bridgex_chain.eval.task_classify import ClassifyTask
from bridgex_chain.eval.task_mrc import MrcTask
from bridgex_chain.eval.task_translate import TranslateTask
from bridgex_chain.models import model_key
from bridgex_chain.prompting.demos import DemoPool

SWH, YOR, ENG = "swh_Latn", "yor_Latn", "eng_Latn"
CANDIDATES = ["eng_Latn", "fra_Latn", "deu_Latn"]

# --------------------------------------------------------------------------- what eval reports


def test_condition_scores_are_what_chain_batch_returned(
    tmp_path: Path,
    fake_table: Any,
    eval_config: Callable[..., Any],
    recording_chains: Callable[..., Any],
    sib_rows: dict[str, tuple[str, dict[str, str]]],
) -> None:
    maker = recording_chains()
    cfg = eval_config(tmp_path, ["classify", "translate"], languages=[SWH, YOR])
    cfg.pairs = [(SWH, ENG)]
    results = run_evaluation(cfg, table=fake_table, make_chain=maker)
    on_disk = json.loads((cfg.out_dir / "results.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(results))

    # accuracy of each classify arm of each language, from the replies its chain gave
    gold = {texts[lang]: (lang, label) for label, texts in sib_rows.values() for lang in (SWH, YOR)}
    accuracy: dict[tuple[str, str], float] = {}
    hits_of: dict[tuple[str, str], list[bool]] = {}
    chrf: dict[str, float] = {}
    for chain in maker.chains:
        queries = [x["query"] for x in chain.inputs()]
        if "labels" not in chain.inputs()[0]:  # translate swh→eng: chrF of the replies
            refs = [gold_row[1][ENG] for gold_row in sib_rows.values()]
            hyps = [reply.content for reply in chain.replies]
            assert queries == [row[1][SWH] for row in sib_rows.values()]
            chrf[chain.arm.name] = CHRF().corpus_score(hyps, [refs]).score
            continue
        lang = gold[queries[0]][0]
        hits = [r.content == gold[q][1] for q, r in zip(queries, chain.replies, strict=True)]
        hits_of[(lang, chain.arm.name)] = hits
        accuracy[(lang, chain.arm.name)] = 100.0 * sum(hits) / len(hits)
    assert len(accuracy) == 2 * 10 and len(set(accuracy.values())) >= 3  # arms differ

    for lang in (SWH, YOR):
        e = next(x for x in on_disk["entries"] if x["task"] == "classify" and x["src"] == lang)
        assert e["direct"]["score"] == accuracy[(lang, "direct")]
        for rendering in ("self", "oracle"):
            rend = e["renderings"][rendering]
            conds = rend["conditions"]
            arm = {
                "english": f"{rendering}-eng_Latn",
                "random": f"{rendering}-{conds['random']['bridge']}",
                "table": "table" if rendering == "self" else f"{rendering}-fra_Latn",
            }
            if rendering == "self":
                arm["detected"] = "detected"
                arm["evidence"] = "evidence"
            assert set(conds) == set(arm)
            for name, arm_name in arm.items():
                assert conds[name]["score"] == accuracy[(lang, arm_name)], (lang, name)
            scores = {b: accuracy[(lang, f"{rendering}-{b}")] for b in CANDIDATES}
            assert {b: r["score"] for b, r in rend["bridges"].items()} == scores
            best = max(scores.values())
            assert rend["oracle_bridge"] == next(b for b in CANDIDATES if scores[b] == best)
            assert rend["oracle_score"] == best

    (pooled_classify, pooled_translate) = on_disk["pooled"]

    def pooled(arms: dict[str, str]) -> float:
        hits = [h for lang, arm in arms.items() for h in hits_of[(lang, arm)]]
        return 100.0 * sum(hits) / len(hits)

    assert pooled_classify["direct"]["score"] == pooled({SWH: "direct", YOR: "direct"})
    for rendering in ("self", "oracle"):
        conds = pooled_classify["renderings"][rendering]["conditions"]
        entries = {
            lang: next(x for x in on_disk["entries"] if x["src"] == lang)["renderings"][rendering]
            for lang in (SWH, YOR)
        }
        expect = {
            "english": {lang: f"{rendering}-eng_Latn" for lang in entries},
            "random": {
                lang: f"{rendering}-{r['conditions']['random']['bridge']}"
                for lang, r in entries.items()
            },
            "oracle": {lang: f"{rendering}-{r['oracle_bridge']}" for lang, r in entries.items()},
            "table": {
                lang: "table" if rendering == "self" else f"{rendering}-fra_Latn"
                for lang in entries
            },
        }
        if rendering == "self":
            expect["detected"] = {lang: "detected" for lang in entries}
            expect["evidence"] = {lang: "evidence" for lang in entries}
        assert set(conds) == set(expect)
        for name, arms in expect.items():
            assert conds[name]["score"] == pooled(arms), (rendering, name)
            assert conds[name]["n"] == 8 and conds[name]["entries"] == 2

    translate = next(x for x in on_disk["entries"] if x["task"] == "translate")
    assert translate["direct"]["score"] == pytest.approx(chrf["direct"], abs=1e-9)
    for b in ("fra_Latn", "deu_Latn"):
        for rendering in ("self", "oracle"):
            found = translate["renderings"][rendering]["bridges"][b]["score"]
            assert found == pytest.approx(chrf[f"{rendering}-{b}"], abs=1e-9)
    table = translate["renderings"]["self"]["conditions"]["table"]["score"]
    assert table == pytest.approx(chrf["table"], abs=1e-9)
    assert pooled_translate["direct"]["score"] == pytest.approx(chrf["direct"], abs=1e-9)


def test_spearman_per_entry_has_its_interval_in_results_and_report(
    tmp_path: Path,
    fake_llm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
) -> None:
    cfg = eval_config(tmp_path, ["classify"], languages=[SWH], conditions=["direct", "all"])
    run_evaluation(cfg, table=fake_table)
    results = json.loads((cfg.out_dir / "results.json").read_text(encoding="utf-8"))
    (e,) = results["entries"]
    report = (cfg.out_dir / "report.md").read_text(encoding="utf-8")
    assert "| table rank | Spearman(HSIC, score) [95%] |" in report
    hsic = [fake_table.hsic[b] for b in CANDIDATES]
    for rendering, expected in (("oracle", 1.0), ("self", 3**0.5 / 2)):
        rend = e["renderings"][rendering]
        scores = [rend["bridges"][b]["score"] for b in CANDIDATES]
        assert rend["spearman"] == pytest.approx(expected)
        assert rend["spearman"] == pytest.approx(spearmanr(hsic, scores).statistic)
        interval = rend["spearman_interval"]
        assert set(interval) == {"rho", "low", "high", "n", "items"}
        assert (interval["rho"], interval["n"], interval["items"]) == (rend["spearman"], 3, 4)
        assert -1.0 <= interval["low"] <= interval["rho"] <= interval["high"] <= 1.0
        cell = f"{interval['rho']:+.2f} [{interval['low']:+.2f}, {interval['high']:+.2f}]"
        row = next(
            line
            for line in report.split(f"### {rendering} rendering")[1].splitlines()
            if line.startswith(f"| {SWH} |")
        )
        assert row.endswith(f"| 1/3 | {cell} |")
    assert results["pooled"][0]["renderings"]["oracle"]["mean_spearman"] == pytest.approx(1.0)


def test_every_condition_is_tested_against_direct_and_the_report_says_so(
    tmp_path: Path,
    fake_llm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
) -> None:
    cfg = eval_config(tmp_path, ["classify"], languages=[SWH, YOR], renderings=["self"])
    results = run_evaluation(cfg, table=fake_table)
    swh = results["entries"][0]["renderings"]["self"]["conditions"]
    for name in ("english", "table", "detected", "random"):
        test = swh[name]["vs_direct"]
        assert test["test"] == "mcnemar-exact" and test["n"] == 4
        assert 0.0 <= test["p_value"] <= 1.0
        assert test["significant"] is (test["p_value"] < 0.05)
    # direct is right on items 1 and 2, the table's French on 1, 2 and 3
    table = swh["table"]["vs_direct"]
    assert (table["diff"], table["wins"], table["losses"], table["p_value"]) == (25.0, 1, 0, 1.0)
    pooled = results["pooled"][0]["renderings"]["self"]["conditions"]["table"]["vs_direct"]
    assert (pooled["n"], pooled["wins"], pooled["losses"]) == (8, 3, 0)  # yor: 3 and 4 won
    assert pooled["p_value"] == pytest.approx(0.25)
    report = (cfg.out_dir / "report.md").read_text(encoding="utf-8")
    assert "75.0 [" in report and "(fra); Δ +25.0, p=1.00, not significant" in report
    assert "Δ +37.5, p=0.25, not significant" in report  # the pooled row
    assert "p ≥ 0.05 is marked not significant" in report


def test_report_plots_and_progress(
    tmp_path: Path,
    fake_llm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
) -> None:
    events: list[Any] = []
    cfg = eval_config(tmp_path, ["classify"], languages=[SWH], plots=True)
    results = run_evaluation(cfg, table=fake_table, on_progress=events.append)
    out = cfg.out_dir
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(results)
    )
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| swh_Latn | 4 | 50.0 [" in report
    assert "sole best bridge fra ×1" in report
    assert "**classify** (accuracy, 4 items over 1 entries): direct 50.0 [" in report
    assert "Run complete;" in report
    # what the chain did under the table policy, with and without the language given
    assert "| swh_Latn | table | fra | 4/4 | — | — | 0 |" in report
    assert "| swh_Latn | detected | " in report
    for name in (
        "bars-classify-oracle.png",
        "scatter-classify-self.png",
        "heatmap-classify-swh_Latn.png",
    ):
        assert (out / "plots" / name).stat().st_size > 1000
        assert f"plots/{name}" in report
    # direct, table, detected and 3 candidates under 2 renderings, 4 items each
    assert events[-1].completed == events[-1].total == 4 * (4 + 2 * 3)


def test_the_detected_policy_routes_by_the_chains_own_detection(
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
        conditions=["table", "detected"],
        renderings=["self"],
    )
    e = entry_of(run_evaluation(cfg, table=fake_table), "classify")
    conds = e["renderings"]["self"]["conditions"]
    # fastText finds Swahili in every sentence: the same route, the same answers
    assert conds["detected"]["score"] == conds["table"]["score"] == 75.0
    assert conds["detected"]["bridged"] == 4 and conds["detected"]["fallbacks"] == {}
    units = cfg.out_dir / "cache" / "units" / "classify" / f"{SWH}-{SWH}"
    rows = [json.loads(x) for x in (units / "detected.jsonl").read_text("utf-8").splitlines()]
    assert {r["lang"] for r in rows if "id" in r} == {SWH}
    # the detected arm's renderings were the table arm's: no prompt was rendered twice
    renders = [p for p in fake_llm.prompts if p.endswith("\nFrench:")]
    assert len(renders) == len(set(renders)) == 4


def test_pooled_conditions_add_up_items_of_every_entry(
    tmp_path: Path,
    fake_llm: Any,
    fake_table: Any,
    eval_config: Callable[..., Any],
) -> None:
    cfg = eval_config(tmp_path, ["classify"], languages=[SWH, YOR], renderings=["oracle"])
    results = run_evaluation(cfg, table=fake_table)
    yor = results["entries"][1]
    assert (yor["src"], yor["candidates"]) == (YOR, CANDIDATES)
    assert yor["direct"]["score"] == 50.0  # nothing names a label: always "sports"
    (pooled,) = results["pooled"]
    assert (pooled["n"], pooled["entries"]) == (8, 2)
    assert pooled["direct"]["score"] == 50.0 and pooled["direct"]["n"] == 8
    conds = pooled["renderings"]["oracle"]["conditions"]
    assert conds["english"]["score"] == 75.0  # the same English rows in both entries: 3 of 4
    assert conds["oracle"]["score"] == 100.0  # French is both entries' best bridge
    assert conds["table"]["score"] == 100.0
    assert "detected" not in conds  # the chain's own detection has no gold rendering
    assert pooled["renderings"]["oracle"]["mean_table_rank"] == 1.0
    report = (cfg.out_dir / "report.md").read_text(encoding="utf-8")
    assert "| all 2 pooled | 8 | 50.0 [" in report


def test_pooled_condition_missing_for_some_entries_carries_its_own_baseline(
    tmp_path: Path, fake_llm: Any, eval_config: Callable[..., Any]
) -> None:
    pairs = [(SWH, ENG), (SWH, "deu_Latn")]
    cfg = eval_config(tmp_path, ["translate"], pairs=pairs, renderings=["oracle"])
    results = run_evaluation(cfg, table=None)
    to_eng, to_deu = results["entries"]
    (pooled,) = results["pooled"]
    english = pooled["renderings"]["oracle"]["conditions"]["english"]
    assert english["entries"] == 1  # English is the target of the first pair
    assert english["score"] == to_deu["renderings"]["oracle"]["conditions"]["english"]["score"]
    assert english["direct_same_entries"] == to_deu["direct"]["score"]
    assert "random" in pooled["renderings"]["oracle"]["conditions"]
    assert "direct_same_entries" not in pooled["renderings"]["oracle"]["conditions"]["random"]
    assert to_eng["unavailable"]["english"]
    assert to_eng["unavailable"]["table"].startswith("no table entry (no bridge table was given)")


def test_results_record_the_model_config_and_command_and_pool_per_task(
    tmp_path: Path, fake_llm: Any, eval_config: Callable[..., Any]
) -> None:
    cfg = eval_config(
        tmp_path,
        ["classify", "translate"],
        languages=[SWH],
        pairs=[(SWH, "fra_Latn")],
        conditions=["direct"],
    )
    results = run_evaluation(cfg, table=None)
    assert results["format"] == 2
    assert results["model"] == model_key(None)
    assert results["config"] == cfg.to_json()
    assert results["command"] == cfg.command()
    assert [(e["task"], e["src"], e["trg"]) for e in results["entries"]] == [
        ("classify", SWH, SWH),
        ("translate", SWH, "fra_Latn"),
    ]
    assert [p["task"] for p in results["pooled"]] == ["classify", "translate"]
    assert results["complete"] is True
    assert isinstance(results["compute_seconds"], int) and results["compute_seconds"] >= 0
    assert results["seconds"] >= 0 and results["cpu_seconds"] >= 0
    assert (cfg.out_dir / "report.md").is_file()
    assert not list(cfg.out_dir.glob("*.tmp"))  # results.json is written atomically


def test_runs_over_disjoint_languages_share_one_cache_and_one_report(
    tmp_path: Path, fake_llm: Any, eval_config: Callable[..., Any]
) -> None:
    whole = eval_config(tmp_path, ["classify"], languages=[SWH, YOR], conditions=["direct"])
    whole.cache_dir = tmp_path / "shared-cache"
    for lang in (SWH, YOR):  # two jobs (as tools/run_eval.sh runs them), each with its --out
        job = replace(whole, out_dir=tmp_path / lang, languages=[lang])
        run_evaluation(job, table=None)
        assert not (job.out_dir / "cache").exists()
    units = sorted(p.parent.name for p in whole.cache_dir.glob("units/classify/*/direct.jsonl"))
    assert units == [f"{SWH}-{SWH}", f"{YOR}-{YOR}"]
    results = run_evaluation(whole, table=None, compute=False)
    assert results["complete"] is True
    assert [e["src"] for e in results["entries"]] == [SWH, YOR]
    assert all(e["direct"]["n"] == e["n"] > 0 for e in results["entries"])


def test_a_run_without_compute_reports_what_the_cache_holds(
    tmp_path: Path,
    use_llm: Callable[[Any], Any],
    fake_llm_class: Any,
    eval_config: Callable[..., Any],
) -> None:
    use_llm(fake_llm_class())
    cfg = eval_config(tmp_path, ["classify"], languages=[SWH], conditions=["direct"])
    run_evaluation(cfg, table=None)
    cfg.conditions = ["direct", "english"]
    use_llm(None)  # nothing is computed: no model
    results = run_evaluation(cfg, table=None, compute=False)
    assert results["complete"] is False
    (e,) = results["entries"]
    assert e["direct"]["n"] == 4
    assert e["renderings"]["self"]["conditions"]["english"]["n"] == 0
    report = (cfg.out_dir / "report.md").read_text(encoding="utf-8")
    assert "Run IN PROGRESS (partial: some arms lack items)" in report


def test_ready_tasks_are_used_instead_of_the_data_options(
    tmp_path: Path, fake_llm: Any, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path / "sib")
    task = ClassifyTask(load_parallel(sib, "test"), [SWH], limit=2, seed=0)
    cfg = EvalConfig(
        tasks=["bli"],  # ignored: the ready tasks are evaluated, and --muse is not needed
        out_dir=tmp_path / "out",
        bridges=["fra_Latn"],
        conditions=["direct"],
        resamples=50,
        plots=False,
    )
    results = run_evaluation(cfg, table=None, tasks=[task])
    (e,) = results["entries"]
    assert (e["task"], e["n"]) == ("classify", 2)
    assert len(fake_llm.prompts) == 2  # zero-shot (no pool without --sib200): one call each


# --------------------------------------------------------------------------- the chains


def test_default_chain_maker_builds_one_chain_per_policy_sharing_model_pool_and_cache(
    tmp_path: Path, fake_llm: Any, fake_table: Any, eval_config: Callable[..., Any]
) -> None:
    cfg = eval_config(tmp_path, ["classify"], num_demos=2, max_new_tokens=40)
    maker = default_chain_maker(cfg, fake_table, "demo/model")()
    direct = maker(Arm("direct"), None)
    table = maker(Arm("table"), None)
    detected = maker(Arm("detected"), None)
    fixed = maker(Arm("self", "fra_Latn"), None)
    gold = {("Habari", "fra_Latn"): "Bonjour"}
    oracle = maker(Arm("oracle", "fra_Latn"), gold)
    chains = [direct, table, detected, fixed, oracle]
    assert all(isinstance(c, BridgeXChain) for c in chains)
    assert isinstance(direct.table, NoBridge)
    assert table.table is fake_table and detected.table is fake_table
    assert isinstance(fixed.table, FixedBridge) and fixed.table.bridge == "fra_Latn"
    assert fixed.table.table is fake_table  # its score comes from the table's ranking
    assert isinstance(oracle.table, FixedBridge) and oracle.renderings == gold
    assert all(c.renderings is None for c in chains[:4])
    for chain in chains:
        assert chain.llm is fake_llm and chain.model == "demo/model"
        assert (chain.num_demos, chain.max_new_tokens) == (2, 40)
        assert chain.render_cache is direct.render_cache is not None
        assert isinstance(chain.demos, DemoPool) and chain.demos is direct.demos
    assert direct.demos.labels() == ("sports", "travel")  # the SIB-200 train split


def test_the_model_is_local_or_an_openai_compatible_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bridgex_chain.models.langchain as local
    import bridgex_chain.models.openai_server as server

    asked: list[tuple[Any, ...]] = []

    def local_model(name: str | None, **kw: Any) -> str:
        asked.append(("local", name, kw))
        return "L"

    def openai_compatible(url: str, model: str, **kw: Any) -> str:
        asked.append(("server", url, model, kw))
        return "S"

    monkeypatch.setattr(local, "local_model", local_model)
    monkeypatch.setattr(server, "openai_compatible", openai_compatible)
    cfg = EvalConfig(tasks=["classify"], out_dir=tmp_path, model="gemma", max_new_tokens=9)
    assert evaluate._llm(cfg, "google/gemma-3-270m") == "L"
    cfg.server_url, cfg.server_chat = "http://127.0.0.1:8080/v1", True
    assert evaluate._llm(cfg, "google/gemma-3-270m") == "S"
    cfg.server_model = "served-name"
    evaluate._llm(cfg, "google/gemma-3-270m")
    assert asked == [
        ("local", "gemma", {"max_new_tokens": 9}),
        ("server", "http://127.0.0.1:8080/v1", "gemma", {"chat": True, "max_tokens": 9}),
        ("server", "http://127.0.0.1:8080/v1", "served-name", {"chat": True, "max_tokens": 9}),
    ]


def test_chain_settings_hold_what_the_chains_answers_depend_on(tmp_path: Path) -> None:
    cfg = EvalConfig(tasks=["classify"], out_dir=tmp_path, sib200=Path("/sib"), num_demos=2)
    settings = chain_settings(cfg)
    assert settings["num_demos"] == 2 and settings["max_new_tokens"] == 128
    assert settings["demos"] == "/sib" and settings["server"] is None
    assert isinstance(settings["templates"], str) and settings["templates"]
    assert "server_model" not in settings  # a local model: its key is in every fingerprint
    cfg.server_url = "http://h/v1"
    served = chain_settings(cfg)
    assert (served["server"], served["server_model"], served["server_chat"]) == (
        "http://h/v1",
        None,
        False,
    )
    cfg.server_chat, cfg.server_model = True, "m"
    assert chain_settings(cfg) != served  # chat prompts or another served model: recomputed
    cfg.threads, cfg.batch_size, cfg.resamples = 1, 2, 10
    assert chain_settings(cfg) == {**served, "server_chat": True, "server_model": "m"}


# --------------------------------------------------------------------------- EvalConfig


def test_command_of_the_defaults_names_only_the_tasks_and_the_output() -> None:
    assert EvalConfig(tasks=["classify", "mrc"], out_dir=Path("out")).command() == (
        "bridgex-chain eval classify mrc --out out"
    )


def test_command_lists_every_option_that_differs_from_its_default() -> None:
    cfg = EvalConfig(
        tasks=["translate"],
        out_dir=Path("my results"),
        cache_dir=Path("shared"),
        model="gemma",
        flores=Path("/data/flores"),
        languages=["swh_Latn", "yor_Latn"],
        pairs=[("swh_Latn", "eng_Latn"), ("zho_Hans", "jpn_Jpan")],
        bridges=["eng_Latn", "fra_Latn"],
        conditions=["direct", "table"],
        renderings=["oracle"],
        limit=10,
        seed=3,
        num_demos=2,
        max_new_tokens=64,
        batch_size=4,
        server_url="http://127.0.0.1:8080/v1",
        server_model="qwen",
        server_chat=True,
        threads=1,
        resamples=200,
        plots=False,
    )
    assert cfg.command() == (
        "bridgex-chain eval translate --out 'my results' --cache shared --model gemma "
        "--flores /data/flores --languages swh_Latn,yor_Latn "
        "--pairs swh_Latn-eng_Latn,zho_Hans-jpn_Jpan "
        "--bridges eng_Latn,fra_Latn --conditions direct,table --renderings oracle --limit 10 "
        "--seed 3 --num-demos 2 --max-new-tokens 64 --batch-size 4 "
        "--server-url http://127.0.0.1:8080/v1 --server-model qwen --threads 1 "
        "--resamples 200 --server-chat --no-plots"
    )


def test_command_leaves_out_options_equal_to_their_defaults() -> None:
    from bridgex_chain.languages import DEFAULT_BRIDGES

    cfg = EvalConfig(
        tasks=["classify"],
        out_dir=Path("o"),
        bridges=list(DEFAULT_BRIDGES),
        seed=0,
        num_demos=3,
        max_new_tokens=128,
        batch_size=16,
        resamples=1000,
    )
    assert cfg.command() == "bridgex-chain eval classify --out o"


def test_to_json_turns_paths_into_strings() -> None:
    data = EvalConfig(tasks=["bli"], out_dir=Path("out"), muse=Path("/muse"), limit=5).to_json()
    assert data["out_dir"] == "out" and data["muse"] == "/muse"
    assert data["sib200"] is None and data["limit"] == 5 and data["tasks"] == ["bli"]
    assert (data["num_demos"], data["max_new_tokens"], data["server_url"]) == (3, 128, None)
    assert "demos_per_label" not in data and "shots" not in data
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


def test_default_languages_are_languages_present_that_are_no_bridge(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path / "sib")
    (task,) = build_tasks(
        EvalConfig(tasks=["classify"], out_dir=tmp_path, sib200=sib, bridges=["en", "fra_Latn"])
    )
    assert isinstance(task, ClassifyTask)
    # the data has swh, yor, eng, fra, deu; English and French are bridges (codes normalised)
    assert task.entries() == [("deu_Latn", "deu_Latn"), (SWH, SWH), (YOR, YOR)]


def test_classify_options_reach_the_task(tmp_path: Path, write_sib: Callable[[Path], Path]) -> None:
    sib = write_sib(tmp_path / "sib")
    cfg = EvalConfig(
        tasks=["classify"], out_dir=tmp_path, sib200=sib, languages=["sw"], limit=3, seed=9
    )
    (task,) = build_tasks(cfg)
    assert isinstance(task, ClassifyTask)
    assert task.entries() == [(SWH, SWH)]
    assert (task.limit, task.params()) == (3, {"seed": 9})
    assert len(task.items(SWH, SWH)) == 3
    assert {i.id for i in task.items(SWH, SWH)} <= {"1", "2", "3", "4"}  # the test split


def test_translate_defaults_to_the_paper_pairs_present_in_sib_data(
    tmp_path: Path, write_sib: Callable[[Path], Path]
) -> None:
    sib = write_sib(tmp_path / "sib")
    (task,) = build_tasks(EvalConfig(tasks=["translate"], out_dir=tmp_path, sib200=sib))
    assert isinstance(task, TranslateTask)
    assert task.entries() == [(ENG, SWH)]  # the only paper pair in the data
    assert [i.id for i in task.items(ENG, SWH)] == ["1", "2", "3", "4"]  # the test split


def test_translate_reads_flores_devtest(tmp_path: Path) -> None:
    flores = tmp_path / "flores"
    for split, words in (("devtest", ("Habari", "Hello")), ("dev", ("Asante", "Thanks"))):
        (flores / split).mkdir(parents=True)
        (flores / split / f"swh_Latn.{split}").write_text(words[0] + "\n", encoding="utf-8")
        (flores / split / f"eng_Latn.{split}").write_text(words[1] + "\n", encoding="utf-8")
    cfg = EvalConfig(tasks=["translate"], out_dir=tmp_path, flores=flores, pairs=[("sw", "en")])
    (task,) = build_tasks(cfg)
    assert isinstance(task, TranslateTask)
    assert task.entries() == [(SWH, ENG)]
    assert [(i.text, i.gold) for i in task.items(SWH, ENG)] == [("Habari", "Hello")]


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
    assert task.entries() == [(SWH, SWH), (YOR, YOR)]
    assert task.seed == 2
    given = build_tasks(
        EvalConfig(tasks=["mrc"], out_dir=tmp_path, belebele=tmp_path, pairs=[("sw", "en")])
    )
    assert given[0].entries() == [(SWH, ENG)]


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


def test_the_heldout_split_evaluates_held_out_train_rows_never_shown_as_demos(
    tmp_path: Path, fake_llm: Any, fake_table: Any, eval_config: Callable[..., Any]
) -> None:
    """Train row 10 is in the held-out part, row 11 is not (row_part)."""
    cfg = replace(eval_config(tmp_path, ["classify"], languages=[SWH]), split="heldout")
    (task,) = build_tasks(cfg)
    assert isinstance(task, ClassifyTask)
    assert [(i.id, i.gold) for i in task.items(SWH, SWH)] == [("10", "sports")]
    assert task.params()["split"] == "heldout"  # records of another split never mix in
    chain = default_chain_maker(cfg, fake_table, "demo/model")()(Arm("direct"), None)
    assert set(chain.demos.column(SWH)) == {"11"}
    # the other splits keep every train row as a demonstration
    plain = default_chain_maker(eval_config(tmp_path / "b", ["classify"]), fake_table, "m")()
    assert set(plain(Arm("direct"), None).demos.column(SWH)) == {"10", "11"}
