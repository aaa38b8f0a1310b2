"""Every eval task end to end on tiny data, with a fake model whose answers are known.

The fake scores a label 0 when the label word appears in the query (an option letter: when the
option's text appears in the passage) and -3 otherwise, plus a per-label bias; content-free
queries therefore measure exactly the bias, and calibrated predictions pick the mentioned label
(ties: the first label). It "translates" by dictionary lookup of the last text line.
"""

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sacrebleu.metrics.chrf import CHRF

from bridgex_chain.eval.evaluate import EvalConfig, run_evaluation
from bridgex_chain.store.records import Bridge, RankedBridge, ScoreRow

BIAS = {"sports": 0.0, "travel": -4.0, "A": 0.0, "B": -1.0, "C": -1.0, "D": -1.0}

TRANSLATIONS = {
    # classify self-renderings (Swahili -> French); English/German ones are unknown ("xyz")
    ("French", "mpira"): "ballon sports",
    ("French", "timu"): "équipe",
    ("French", "safari"): "voyage travel",
    ("French", "ndege"): "avion",
    # translate answers (bridge text -> English)
    ("English", "ballon sports"): "ball sports",
    ("English", "voyage travel"): "trip travel",
    # BLI
    ("English", "maji"): "wet",
    ("English", "moto"): "Fire",
    ("English", "eau"): "Water",
    ("English", "feu"): "flame",
    ("French", "maji"): "eau",
    ("French", "moto"): "fuego",
    # MRC passage rendering
    ("French", "Anga ni buluu."): "Le ciel est blue.",
}


class FakeLM:
    key = "fake"

    def __init__(self, fail_after: int | None = None) -> None:
        self.generated: list[str] = []
        self.scored: list[tuple[str, str]] = []
        self.fail_after = fail_after

    def _tick(self) -> None:
        if self.fail_after is not None:
            if self.fail_after <= 0:
                raise RuntimeError("killed")
            self.fail_after -= 1

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        self._tick()
        self.scored.append((prefix, query))
        out = []
        for c in continuations:
            name = c.strip()
            option = re.search(rf"^{re.escape(name)}\. (.*)$", query, re.M)
            mentioned = option.group(1) in prefix if option and len(name) == 1 else name in query
            out.append((0.0 if mentioned else -3.0) + BIAS.get(name, 0.0))
        return out

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str]
    ) -> list[str]:
        outs = []
        for prompt in prompts:
            self._tick()
            self.generated.append(prompt)
            outs.append(self._respond(prompt))
        return outs

    @staticmethod
    def _respond(prompt: str) -> str:
        if prompt.endswith(':"'):  # word prompts: S:"w"→B:"w_B"→T:"
            shown = re.findall(r'(\w+):"([^"]*)"', prompt)
            target = prompt.rsplit("→", 1)[1][:-2]
            return TRANSLATIONS.get((target, shown[-1][1]), "???") + '" and more'
        lines = prompt.split("\n")
        target, last = lines[-1].rstrip(":"), lines[-2].split(": ", 1)[1]
        return " " + TRANSLATIONS.get((target, last), "xyz") + "\nnext line"


class FakeTable:
    hsic: ClassVar[dict[str, float]] = {"eng_Latn": 0.3, "fra_Latn": 0.5, "deu_Latn": 0.1}

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        return Bridge(model, src, trg or src, "fra_Latn", 0.5, 0.2, run_id=1)

    def ranking(self, model: str, src: str, trg: str | None = None) -> list[RankedBridge]:
        ordered = sorted(self.hsic.items(), key=lambda kv: -kv[1])
        return [RankedBridge(b, s, i + 1, 3) for i, (b, s) in enumerate(ordered)]

    def scores(self, run_id: int) -> list[ScoreRow]:
        return [
            ScoreRow("swh_Latn", "swh_Latn", b, layer, s * layer)
            for b, s in self.hsic.items()
            for layer in range(3)
        ]


SIB = {
    # id: (category, swh, eng, fra, deu)
    "1": ("sports", "mpira", "ball sports", "ballon sports", "Ball"),
    "2": ("sports", "timu", "team", "équipe sports", "Mannschaft sports"),
    "3": ("travel", "safari", "trip travel", "voyage travel", "Reise"),
    "4": ("travel", "ndege", "plane", "avion travel", "Flugzeug"),
}
TRAIN = {
    "10": ("sports", "mchezo", "game", "jeu", "Spiel"),
    "11": ("travel", "hoteli", "hotel", "hôtel", "Hotel"),
}
LANGS = ("swh_Latn", "eng_Latn", "fra_Latn", "deu_Latn")


def write_sib(root: Path) -> Path:
    for split, rows in (("test", SIB), ("train", TRAIN)):
        for k, code in enumerate(LANGS):
            (root / code).mkdir(parents=True, exist_ok=True)
            lines = ["index_id\tcategory\ttext"]
            lines += [f"{i}\t{row[0]}\t{row[k + 1]}" for i, row in rows.items()]
            (root / code / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def config(tmp_path: Path, tasks: list[str], **kw: Any) -> EvalConfig:
    base: dict[str, Any] = {
        "tasks": tasks,
        "out_dir": tmp_path / "out",
        "sib200": write_sib(tmp_path / "sib"),
        "bridges": ["eng_Latn", "fra_Latn", "deu_Latn"],
        "resamples": 200,
        "plots": False,
    }
    return EvalConfig(**{**base, **kw})


def entry(results: dict[str, Any], task: str) -> dict[str, Any]:
    return next(e for e in results["entries"] if e["task"] == task)


def scores(e: dict[str, Any], rendering: str) -> dict[str, float]:
    return {b: r["score"] for b, r in e["renderings"][rendering]["bridges"].items()}


def test_classify_accuracy_calibration_conditions_and_correlation(tmp_path: Path) -> None:
    lm = FakeLM()
    cfg = config(tmp_path, ["classify"], languages=["swh_Latn"])
    e = entry(run_evaluation(cfg, table=FakeTable(), lm_factory=lambda: lm), "classify")
    assert e["n"] == 4 and e["candidates"] == ["eng_Latn", "fra_Latn", "deu_Latn"]
    assert (e["direct"]["score"], e["direct"]["uncalibrated"]) == (50.0, 50.0)
    oracle = e["renderings"]["oracle"]
    assert scores(e, "oracle") == {"eng_Latn": 75.0, "fra_Latn": 100.0, "deu_Latn": 50.0}
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
    assert oracle["conditions"]["random"]["score"] == scores(e, "oracle")[random_bridge]
    assert scores(e, "self") == {"eng_Latn": 50.0, "fra_Latn": 75.0, "deu_Latn": 50.0}
    assert e["renderings"]["self"]["spearman"] == pytest.approx(1.5 / 3**0.5)
    assert e["table"]["layers"]["fra_Latn"] == {"0": 0.0, "1": 0.5, "2": 1.0}
    # demonstrations: one per label, in the bridge language when bridged, fixed per arm
    prefixes = {p for p, q in lm.scored if "French: ballon sports" in q}
    assert len(prefixes) == 1
    (prefix,) = prefixes
    assert "French: jeu\nLabel: sports" in prefix and "French: hôtel\nLabel: travel" in prefix
    direct = {p for p, q in lm.scored if q.startswith("Text: ")}
    assert len(direct) == 1 and "Text: mchezo\nLabel: sports" in direct.pop()


def test_translate_chrf_and_renderings_shared_with_classify(tmp_path: Path) -> None:
    lm = FakeLM()
    cfg = config(
        tmp_path,
        ["classify", "translate"],
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "eng_Latn")],
    )
    e = entry(run_evaluation(cfg, table=None, lm_factory=lambda: lm), "translate")
    refs = [SIB[i][2] for i in "1234"]
    chrf = CHRF()

    def corpus(hyps: list[str]) -> float:
        return float(chrf.corpus_score(hyps, [refs]).score)

    assert e["candidates"] == ["fra_Latn", "deu_Latn"]
    assert e["unavailable"]["english"].startswith("English is a language")
    assert e["unavailable"]["table"].startswith("pending")
    assert e["direct"]["score"] == pytest.approx(corpus(["xyz"] * 4))
    fra = ["ball sports", "xyz", "trip travel", "xyz"]
    assert scores(e, "oracle")["fra_Latn"] == pytest.approx(corpus(fra))
    assert scores(e, "self")["fra_Latn"] == pytest.approx(corpus(fra))
    assert scores(e, "oracle")["deu_Latn"] == pytest.approx(corpus(["xyz"] * 4))
    assert e["renderings"]["oracle"]["oracle_bridge"] == "fra_Latn"
    # the zero-shot renderings Swahili -> bridge are generated once for both tasks
    assert len(lm.generated) == len(set(lm.generated))
    # the cache keeps model outputs only: no reference ("plane"), no oracle text ("avion travel")
    cached = "".join(
        p.read_text(encoding="utf-8") for p in (cfg.out_dir / "cache").rglob("*.jsonl")
    )
    assert "plane" not in cached and "avion travel" not in cached and "ball sports" in cached


def test_bli_p_at_1_two_hop_and_missing_oracle(tmp_path: Path) -> None:
    muse = tmp_path / "muse"
    muse.mkdir()
    (muse / "sw-en.txt").write_text("maji water\nmoto fire\nmoto flame\n", encoding="utf-8")
    (muse / "sw-fr.txt").write_text("maji eau\nmoto feu\n", encoding="utf-8")
    lm = FakeLM()
    cfg = config(tmp_path, ["bli"], muse=muse, pairs=[("swh_Latn", "eng_Latn")])
    e = entry(run_evaluation(cfg, table=None, lm_factory=lambda: lm), "bli")
    assert e["metric"] == "p@1" and e["n"] == 2
    assert e["direct"]["score"] == 50.0  # "wet" wrong, "Fire" right (case-folded)
    assert scores(e, "oracle")["fra_Latn"] == 100.0  # eau -> Water, feu -> flame
    assert scores(e, "self")["fra_Latn"] == 50.0  # moto -> fuego -> ???
    deu = e["renderings"]["oracle"]["bridges"]["deu_Latn"]
    assert deu["missing"] == 2 and deu["n"] == 0  # no sw-de lexicon
    assert scores(e, "self")["deu_Latn"] == 0.0
    assert 'Swahili:"maji"→French:"eau"→English:"' in lm.generated
    cached = "".join(
        p.read_text(encoding="utf-8") for p in (cfg.out_dir / "cache").rglob("*.jsonl")
    )
    assert '"fire"' not in cached and "feu" not in cached  # no MUSE gold words (CC-BY-NC)


def test_mrc_passage_through_the_bridge(tmp_path: Path) -> None:
    bele = tmp_path / "belebele"
    bele.mkdir()

    def row(lang: str, qn: int, passage: str, question: str, options: list[str], gold: int) -> str:
        fields = {f"mc_answer{k + 1}": o for k, o in enumerate(options)}
        return json.dumps(
            {
                "link": "x",
                "question_number": qn,
                "flores_passage": passage,
                "question": question,
                "correct_answer_num": str(gold),
                **fields,
            }
        )

    colours = ["red", "blue", "green", "black"]
    files = {
        "swh_Latn": [
            row("sw", 1, "Anga ni buluu.", "?", colours, 2),
            row("sw", 2, "Nyasi", "?", colours, 3),
        ],
        "eng_Latn": [
            row("en", 1, "The sky is blue.", "Colour?", colours, 2),
            row("en", 2, "Grass", "Colour?", colours, 3),
        ],
        "fra_Latn": [
            row("fr", 1, "Le ciel est blue.", "?", colours, 2),
            row("fr", 2, "L'herbe", "?", colours, 3),
        ],
    }
    for code, rows in files.items():
        (bele / f"{code}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    lm = FakeLM()
    cfg = config(tmp_path, ["mrc"], belebele=bele, pairs=[("swh_Latn", "eng_Latn")])
    e = entry(run_evaluation(cfg, table=None, lm_factory=lambda: lm), "mrc")
    assert e["n"] == 2 and e["direct"]["score"] == 0.0  # no option in the Swahili passage
    assert scores(e, "oracle")["fra_Latn"] == 50.0  # "blue" in the French passage
    assert scores(e, "self")["fra_Latn"] == 50.0
    assert e["renderings"]["oracle"]["bridges"]["deu_Latn"]["missing"] == 2
    assert any(q.startswith("Question: Colour?\nA. red") for _, q in lm.scored)


def test_interrupted_run_resumes_and_a_finished_run_needs_no_model(tmp_path: Path) -> None:
    cfg = config(
        tmp_path / "a",
        ["classify", "translate"],
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "eng_Latn")],
    )
    clean_lm = FakeLM()
    clean = run_evaluation(cfg, table=FakeTable(), lm_factory=lambda: clean_lm)
    calls = len(clean_lm.generated) + len(clean_lm.scored)

    cfg_b = config(
        tmp_path / "b",
        ["classify", "translate"],
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "eng_Latn")],
    )
    with pytest.raises(RuntimeError, match="killed"):
        run_evaluation(cfg_b, table=FakeTable(), lm_factory=lambda: FakeLM(fail_after=calls // 2))
    second = FakeLM()
    resumed = run_evaluation(cfg_b, table=FakeTable(), lm_factory=lambda: second)
    assert 0 < len(second.generated) + len(second.scored) < calls
    assert resumed["entries"] == clean["entries"]

    def no_model() -> FakeLM:
        raise AssertionError("a finished run must not load the model")

    assert (
        run_evaluation(cfg_b, table=FakeTable(), lm_factory=no_model)["entries"] == clean["entries"]
    )
    # other settings make the stored units stale: they are recomputed
    cfg_b.demos_per_label = 2
    third = FakeLM()
    run_evaluation(cfg_b, table=FakeTable(), lm_factory=lambda: third)
    assert third.scored and list((cfg_b.out_dir / "cache").rglob("*.stale"))


def test_report_plots_and_progress(tmp_path: Path) -> None:
    events: list[Any] = []
    cfg = config(
        tmp_path,
        ["classify"],
        languages=["swh_Latn"],
        plots=True,
        conditions=["direct", "english", "table", "random", "all"],
    )
    results = run_evaluation(cfg, table=FakeTable(), lm_factory=FakeLM, on_progress=events.append)
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


def test_conditions_subset_computes_only_what_they_need(tmp_path: Path) -> None:
    lm = FakeLM()
    cfg = config(
        tmp_path,
        ["classify"],
        languages=["swh_Latn"],
        conditions=["english", "table"],
        renderings=["oracle"],
    )
    e = entry(run_evaluation(cfg, table=FakeTable(), lm_factory=lambda: lm), "classify")
    assert e["direct"] is None
    assert set(e["renderings"]["oracle"]["bridges"]) == {"eng_Latn", "fra_Latn"}
    assert "oracle_bridge" not in e["renderings"]["oracle"]  # not every candidate was run
    assert not lm.generated  # the oracle rendering needs no generation


def test_pooled_conditions_add_up_items_of_every_entry(tmp_path: Path) -> None:
    cfg = config(tmp_path, ["classify"], languages=["swh_Latn", "deu_Latn"], renderings=["oracle"])
    results = run_evaluation(cfg, table=FakeTable(), lm_factory=FakeLM)
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


def test_a_bridge_chosen_by_several_conditions_is_evaluated_once(tmp_path: Path) -> None:
    from bridgex_chain.eval.data import load_parallel
    from bridgex_chain.eval.runner import TableInfo, plan_entry
    from bridgex_chain.eval.task_classify import ClassifyTask

    sib = write_sib(tmp_path)
    task = ClassifyTask(
        load_parallel(sib, "test"), load_parallel(sib, "train"), ["swh_Latn"], limit=None, seed=0
    )
    plan = plan_entry(
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
    from bridgex_chain.eval.runner import table_info
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


def test_pooled_condition_missing_for_some_entries_carries_its_own_baseline(
    tmp_path: Path,
) -> None:
    pairs = [("swh_Latn", "eng_Latn"), ("swh_Latn", "deu_Latn")]
    cfg = config(tmp_path, ["translate"], pairs=pairs, renderings=["oracle"])
    results = run_evaluation(cfg, table=None, lm_factory=FakeLM)
    to_eng, to_deu = results["entries"]
    (pooled,) = results["pooled"]
    english = pooled["renderings"]["oracle"]["conditions"]["english"]
    assert english["entries"] == 1  # English is the target of the first pair
    assert english["score"] == to_deu["renderings"]["oracle"]["conditions"]["english"]["score"]
    assert english["direct_same_entries"] == to_deu["direct"]["score"]
    assert "random" in pooled["renderings"]["oracle"]["conditions"]
    assert "direct_same_entries" not in pooled["renderings"]["oracle"]["conditions"]["random"]
    assert to_eng["unavailable"]["english"]
