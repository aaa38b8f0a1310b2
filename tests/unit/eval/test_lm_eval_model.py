"""The lm-evaluation-harness adapter: a local SIB-200 task run through ``simple_evaluate``.

Everything is offline: a tiny randomly initialised llama (``make_tiny_lm``), a task YAML written
to ``tmp_path`` over a few SIB-200 rows read from ``/work/shared/data/sib200`` at test time
(copied to a JSON-lines file in ``tmp_path``, read with the ``json`` builder of ``datasets``),
and dict-backed bridge tables.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lm_eval")

from lm_eval.api.instance import Instance

from bridgex_chain.chain.policies import FixedBridge, NoBridge, RandomBridge
from bridgex_chain.detect import Detection
from bridgex_chain.errors import BridgeXError, InvalidOption, NoBridgeFound
from bridgex_chain.eval.lm_eval_model import (
    MODEL_NAME,
    BridgeXLM,
    make_policy,
)
from bridgex_chain.models.hf import HFCore
from bridgex_chain.models.langchain import LocalHFLLM
from bridgex_chain.store.records import Bridge

SIB200 = Path(os.environ.get("BRIDGEX_SIB200_DIR", "/work/shared/data/sib200"))
LABELS = [
    "science/technology", "travel", "politics", "sports", "health", "entertainment", "geography"
]  # fmt: skip
ROWS = 6  # documents per task
MAX_CHARS = 90  # short rows: the tiny model reads 256 tokens, about one per character


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torch

    torch.set_num_threads(1)
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))


@pytest.fixture
def core(make_tiny_lm: Callable[..., tuple[Any, Any, str]]) -> HFCore:
    model, tokenizer, _ = make_tiny_lm("llama")
    return HFCore(model, tokenizer, "tiny/llama")


@pytest.fixture
def llm(core: HFCore) -> LocalHFLLM:
    return LocalHFLLM(core=core, max_new_tokens=8)


class DictTable:
    """A bridge table: French for Swahili, nothing else (records every lookup)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        self.calls.append((model, src, trg))
        if src != "swh_Latn":
            raise NoBridgeFound(f"no bridge for {src}")
        return Bridge(model, src, trg or src, "fra_Latn", 0.5, 0.1, run_id=1)

    def ranking(self, model: str, src: str, trg: str | None = None) -> list[Any]:
        return []


def swahili(text: str) -> Detection:
    return Detection("swh_Latn", 0.99)


def make_lm(llm: LocalHFLLM, policy: str = "direct", **kw: Any) -> BridgeXLM:
    kw.setdefault("detector", swahili)
    kw.setdefault("table", DictTable())
    return BridgeXLM(route_policy=policy, llm=llm, max_new_tokens=8, **kw)


def request(kind: str, *args: Any, doc_id: int | None = None, idx: int = 0) -> Instance:
    return Instance(kind, {}, tuple(args), idx, ("t", doc_id, 1))


# --------------------------------------------------------------------------- the local task


def sib_rows(lang: str = "swh_Latn", n: int = ROWS) -> list[dict[str, Any]]:
    path = SIB200 / lang / "test.tsv"
    if not path.is_file():
        pytest.skip(f"SIB-200 is not at {SIB200} (set BRIDGEX_SIB200_DIR to its directory)")
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            if len(row["text"]) <= MAX_CHARS:
                rows.append({"id": row["index_id"], "text": row["text"], "label": row["category"]})
    return rows[:n]


def write_task(root: Path, kind: str = "multiple_choice") -> tuple[str, list[dict[str, Any]]]:
    """A SIB-200 topic task over a local JSON-lines file; returns its name and rows."""
    rows = sib_rows()
    data = root / "sib_swh.jsonl"
    lines = [json.dumps({**r, "gold": LABELS.index(r["label"])}, ensure_ascii=False) for r in rows]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    name = f"sib_swh_{kind}"
    task = {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}, "cache_dir": str(root / "ds")},
        "test_split": "test",
        "output_type": kind,
        "doc_to_text": "Text: {{text}}\nTopic:",
    }
    if kind == "multiple_choice":
        task |= {
            "doc_to_choice": LABELS,
            "doc_to_target": "gold",
            "metric_list": [
                {"metric": m, "aggregation": "mean", "higher_is_better": True}
                for m in ("acc", "acc_norm")
            ],
        }
    else:
        task |= {
            "doc_to_target": " {{label}}",
            "generation_kwargs": {"until": ["\n"], "max_gen_toks": 4, "do_sample": False},
            "metric_list": [
                {"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}
            ],
        }
    tasks = root / "tasks"
    tasks.mkdir(exist_ok=True)
    # JSON is YAML
    (tasks / f"{name}.yaml").write_text(json.dumps(task, indent=1), encoding="utf-8")
    return name, rows


def evaluate(lm: Any, root: Path, name: str) -> dict[str, Any]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(root / "tasks"), include_defaults=False)
    results = simple_evaluate(
        model=lm, tasks=[name], task_manager=manager, bootstrap_iters=0, log_samples=True
    )
    assert results is not None
    return dict(results)


def plain_loglikelihood(core: HFCore, context: str, continuation: str) -> float:
    """log P(continuation | context) with plain torch: [bos] + ids(context) + ids(continuation)."""
    import torch

    tok = core.tokenizer
    ctx = tok(context)["input_ids"]  # the tokenizer prepends <bos>
    cont = tok(continuation, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = core.model(input_ids=torch.tensor([ctx + cont])).logits[0]
    lps = torch.log_softmax(logits.float(), dim=-1)
    return float(sum(lps[len(ctx) - 1 + j, t] for j, t in enumerate(cont)))


# --------------------------------------------------------------------------- end to end


def test_direct_policy_reproduces_plain_scores_and_hflm(
    tmp_path: Path, llm: LocalHFLLM, core: HFCore
) -> None:
    from lm_eval.models.huggingface import HFLM

    name, rows = write_task(tmp_path)
    lm = make_lm(llm, "direct")
    results = evaluate(lm, tmp_path, name)
    metrics = results["results"][name]
    assert 0.0 <= metrics["acc,none"] <= 1.0 and 0.0 <= metrics["acc_norm,none"] <= 1.0
    samples = results["samples"][name]
    assert len(samples) == len(rows)
    for sample in samples:
        context = f"Text: {sample['doc']['text']}\nTopic:"
        scores = [resp[0][0] for resp in sample["resps"]]
        plain = [plain_loglikelihood(core, context, f" {label}") for label in LABELS]
        assert scores == pytest.approx(plain, abs=1e-4)
        best = max(range(len(plain)), key=plain.__getitem__)
        assert sample["acc"] == float(best == sample["target"])
    # lm-eval's own Hugging Face model on the same weights gives the same numbers
    hflm = HFLM(pretrained=core.model, tokenizer=core.tokenizer, batch_size=1)
    hf = evaluate(hflm, tmp_path, name)
    assert hf["results"][name]["acc,none"] == metrics["acc,none"]
    assert hf["results"][name]["acc_norm,none"] == metrics["acc_norm,none"]
    hf_scores = [r[0][0] for s in hf["samples"][name] for r in s["resps"]]
    ours = [r[0][0] for s in samples for r in s["resps"]]
    assert ours == pytest.approx(hf_scores, abs=1e-4)
    # the routes are counted: every context went direct (no bridge under this policy)
    info = results["config"]["bridgex"]
    assert info["contexts"] == len(rows) and info["bridged"] == 0
    assert info["fallbacks"] == {"no_bridge": len(rows)}
    assert info["languages"] == {"swh_Latn": len(rows)}


def test_bridged_policy_scores_after_the_rendered_context(
    tmp_path: Path, llm: LocalHFLLM, core: HFCore
) -> None:
    name, rows = write_task(tmp_path)
    table = DictTable()
    lm = make_lm(llm, "table", table=table)
    results = evaluate(lm, tmp_path, name)
    assert 0.0 <= results["results"][name]["acc,none"] <= 1.0
    info = results["config"]["bridgex"]
    assert info["route_policy"] == "table" and info["contexts"] == len(rows)
    assert info["bridged"] + sum(info["fallbacks"].values()) == len(rows)
    assert info["bridged"] >= 1 and set(info["bridges"]) == {"fra_Latn"}
    assert ("tiny/llama", "swh_Latn", "swh_Latn") in table.calls
    for sample in results["samples"][name]:
        context = f"Text: {sample['doc']['text']}\nTopic:"
        read = lm.bridge_context(context)
        if read.bridge is None:
            continue
        assert read.text != context and read.lines == 2 and 1 <= read.rendered <= 2
        expected = core.logprobs(read.text, "", [f" {label}" for label in LABELS])
        assert [r[0][0] for r in sample["resps"]] == pytest.approx(expected, abs=1e-4)


def test_generate_until_task_runs_through_the_adapter(tmp_path: Path, llm: LocalHFLLM) -> None:
    name, rows = write_task(tmp_path, "generate_until")
    results = evaluate(make_lm(llm, "english"), tmp_path, name)
    assert 0.0 <= results["results"][name]["exact_match,none"] <= 1.0
    for sample in results["samples"][name]:
        assert "\n" not in sample["resps"][0][0]
    info = results["config"]["bridgex"]
    assert info["bridges"] == {"eng_Latn": info["bridged"]} and info["contexts"] == len(rows)


def test_command_line_wrapper_runs_a_task(
    tmp_path: Path,
    save_tiny_lm: Callable[[str, Path], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import lm_eval.tasks

    from bridgex_chain.eval import lm_eval_model

    class LocalTasksOnly(lm_eval.tasks.TaskManager):  # type: ignore[misc]
        """Skip indexing lm-eval's thousands of built-in task files (most of a CLI run)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "include_defaults": False})

    monkeypatch.setattr(lm_eval.tasks, "TaskManager", LocalTasksOnly)
    monkeypatch.setattr(sys, "argv", ["lm_eval_model"])
    for attr in ("handlers", "propagate", "level"):  # main() hands our logger lm-eval's handler
        monkeypatch.setattr(lm_eval_model.logger, attr, getattr(lm_eval_model.logger, attr))
    monkeypatch.setattr(lm_eval_model.logger, "handlers", [])
    name, rows = write_task(tmp_path)
    model_dir = save_tiny_lm("llama", tmp_path / "tiny-llama")
    out = tmp_path / "out"
    lm_eval_model.main([
        "--model", MODEL_NAME,
        "--model_args", f"model={model_dir},route_policy=direct,lang=sw,threads=1,batch_size=4",
        "--tasks", name, "--include_path", str(tmp_path / "tasks"), "--output_path", str(out),
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert f"|{name}" in printed.replace(" ", "") and "acc" in printed
    saved = json.loads(next(out.rglob("results_*.json")).read_text(encoding="utf-8"))
    assert saved["config"]["bridgex"]["contexts"] == len(rows)
    assert saved["config"]["bridgex"]["languages"] == {"swh_Latn": len(rows)}
    assert 0.0 <= saved["results"][name]["acc,none"] <= 1.0


def test_python_dash_m_runs_lm_evals_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bridgex_chain.eval.lm_eval_model", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Language Model Evaluation Harness" in done.stdout


# --------------------------------------------------------------------------- requests


def test_loglikelihood_moves_trailing_space_and_shares_contexts(
    llm: LocalHFLLM, core: HFCore
) -> None:
    lm = make_lm(llm, "direct")
    reqs = [
        request("loglikelihood", "Habari ya ", "asubuhi", doc_id=0, idx=0),
        request("loglikelihood", "Habari ya ", "jioni", doc_id=0, idx=1),
    ]
    scores = lm.loglikelihood(reqs)
    assert [s for s, _ in scores] == pytest.approx(
        [plain_loglikelihood(core, "Habari ya", " asubuhi"),
         plain_loglikelihood(core, "Habari ya", " jioni")], abs=1e-4
    )  # fmt: skip
    assert [g for _, g in scores] == [False, False]  # multiple choice: not computed
    assert lm.route_summary()["contexts"] == 1


def test_is_greedy_is_the_greedy_continuation(llm: LocalHFLLM, core: HFCore) -> None:
    lm = make_lm(llm, "direct")
    greedy = core.generate(["habari ya"], max_new_tokens=3)[0]
    reqs = [
        request("loglikelihood", "habari ya", greedy, doc_id=0),
        request("loglikelihood", "habari ya", greedy + "zz", doc_id=1),
    ]
    assert [g for _, g in lm.loglikelihood(reqs)] == [True, False]
    never = make_lm(llm, "direct", greedy="never")
    assert [g for _, g in never.loglikelihood(reqs)] == [False, False]


def test_generate_until_stops_at_until_and_budget(llm: LocalHFLLM, core: HFCore) -> None:
    lm = make_lm(llm, "direct")
    free = core.generate(["habari ya asubuhi"], max_new_tokens=12)[0]
    assert len(free) > 2
    stop = free[2]  # a character the model writes
    reqs = [
        request("generate_until", "habari ya asubuhi", {"until": [stop], "max_gen_toks": 12}),
        request("generate_until", "habari ya asubuhi", {"until": stop, "max_gen_toks": 12}),
        request("generate_until", "habari ya asubuhi", {"max_gen_toks": 3, "top_p": 0.5}),
    ]
    outs = lm.generate_until(reqs)
    assert outs[0] == outs[1] == free[: free.index(stop)]
    assert outs[2] == core.generate(["habari ya asubuhi"], max_new_tokens=3)[0]
    with pytest.raises(InvalidOption, match="max_gen_toks"):
        lm.generate_until([request("generate_until", "habari", {"max_gen_toks": 0})])


def test_rolling_loglikelihood_says_it_is_not_supported(llm: LocalHFLLM) -> None:
    with pytest.raises(BridgeXError, match=r"loglikelihood_rolling.*--model hf"):
        make_lm(llm).loglikelihood_rolling([request("loglikelihood_rolling", "maji")])


# --------------------------------------------------------------------------- routing


@pytest.fixture
def known() -> Iterator[dict[tuple[str, str], str]]:
    yield {
        ("Text: Timu ilishinda.", "fra_Latn"): "Texte : L'équipe a gagné.",
        ("Topic:", "fra_Latn"): "Sujet :",
        ("Text: Timu ilishinda.", "eng_Latn"): "Text: The team won.",
    }


def test_lines_are_rendered_and_breaks_kept(
    llm: LocalHFLLM, known: dict[tuple[str, str], str]
) -> None:
    lm = make_lm(llm, "table", renderings=known)
    context = "Text: Timu ilishinda.\n\n  \nTopic:\n  Text: Timu ilishinda.\t\nTopic: "
    read = lm.bridge_context(context)
    rendered = "Texte : L'équipe a gagné.\n\n  \nSujet :\n  Texte : L'équipe a gagné.\t\nSujet : "
    assert read.text == rendered
    assert (read.bridge, read.fallback, read.lines, read.rendered) == ("fra_Latn", None, 4, 4)
    assert lm.bridge_context(context) is read  # routed once
    assert lm.route_summary() == {
        "route_policy": "table", "contexts": 1, "bridged": 1, "bridges": {"fra_Latn": 1},
        "fallbacks": {}, "languages": {"swh_Latn": 1}, "lines": 4, "rendered": 4,
    }  # fmt: skip


def test_policies_route_the_context(llm: LocalHFLLM, known: dict[tuple[str, str], str]) -> None:
    context = "Text: Timu ilishinda."
    direct = make_lm(llm, "direct", renderings=known).bridge_context(context)
    assert (direct.text, direct.bridge, direct.fallback) == (context, None, "no_bridge")
    english = make_lm(llm, "english", renderings=known).bridge_context(context)
    assert (english.text, english.bridge) == ("Text: The team won.", "eng_Latn")
    french = make_lm(llm, "fr", renderings=known).bridge_context(context)
    assert (french.text, french.bridge) == ("Texte : L'équipe a gagné.", "fra_Latn")
    other = make_lm(llm, "table", detector=lambda t: Detection("yor_Latn", 0.9))
    assert other.bridge_context(context).fallback == "no_bridge"  # the table has no Yoruba row
    english_text = make_lm(llm, "table", detector=lambda t: Detection("eng_Latn", 0.9))
    assert english_text.bridge_context("Text: The team won.").fallback == (
        "query_is_a_bridge_language"
    )
    explicit = make_lm(llm, "english", detector=lambda t: Detection("unknown", 0.0), lang="sw")
    assert explicit.bridge_context("Text: x").lang == "swh_Latn"
    empty = make_lm(llm, "table").bridge_context("  \n")
    assert (empty.text, empty.fallback) == ("  \n", "empty_input")


def test_make_policy_maps_names_to_lookups() -> None:
    table = DictTable()
    assert isinstance(make_policy("direct"), NoBridge)
    assert make_policy("table", lambda: table) is table
    english = make_policy("english", lambda: table)
    assert isinstance(english, FixedBridge) and english.bridge == "eng_Latn"
    assert isinstance(make_policy("random", lambda: table, seed=3), RandomBridge)
    assert make_policy("spa_Latn").best("m", "swh_Latn").bridge == "spa_Latn"
    with pytest.raises(InvalidOption, match="route_policy"):
        make_policy("nowhere")


def test_shipped_table_is_opened_on_a_temporary_database(llm: LocalHFLLM) -> None:
    lm = BridgeXLM(route_policy="table", llm=llm, detector=swahili, max_new_tokens=8)
    table = lm.chain.table
    assert table is not None and "bridgex-lm-eval-" in str(getattr(table, "url", ""))
    assert table.best("google/gemma-3-270m", "swh_Latn").bridge  # the shipped rows are there


def test_registry_name_and_arguments(llm: LocalHFLLM) -> None:
    from lm_eval.api.registry import get_model

    assert get_model(MODEL_NAME) is BridgeXLM
    assert get_model("hf").__name__ == "HFLM"  # lm-eval's own models stay registered
    # lm-eval's --batch_size default does not clash with (nor override) the model's own
    lm = BridgeXLM.create_from_arg_obj(
        {"route_policy": "direct", "llm": llm, "batch_size": 4, "detector": swahili},
        {"batch_size": 1, "device": "cpu", "max_batch_size": None},
    )
    assert lm.batch_size == 4
    assert lm.max_new_tokens == 128
    with pytest.raises(InvalidOption, match=r"no argument 'route_polcy'.*route_policy"):
        BridgeXLM.create_from_arg_string("route_polcy=direct")
    with pytest.raises(InvalidOption, match="greedy"):
        make_lm(llm, greedy="sometimes")
    with pytest.raises(InvalidOption, match="HFCore"):
        BridgeXLM(route_policy="direct", llm=object())


def test_the_console_script_is_lm_evals_cli_with_the_model() -> None:
    from importlib.metadata import entry_points

    found = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert found["bridgex-lm-eval"] == "bridgex_chain.eval.lm_eval_model:main"
