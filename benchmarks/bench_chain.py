"""BridgeXChain overhead per invoke: detection + table lookup + prompt building, instant model.

The model is LangChain's ``FakeListLLM`` (answers instantly), so what is timed is the chain:
parsing the input, fastText detection, the bridge-table lookup (SQLite, in-process cache after the
first read), planning the bridged prompts, the two model calls' LangChain plumbing (callback
managers, child runs) and building the answer message. Queries are SIB-200 test sentences in 8
languages (bridged, no-row and abstaining paths all occur); the rendering cache is off so every
invoke does the full work. Each scenario runs N invokes after a warm-up and reports p50/p95 of wall
time and of the thread's CPU time (robust when other jobs share the machine). The fake model's
own cost (two calls per invoke, measured alone) is subtracted to give the bridging overhead.

Run: .venv/bin/python benchmarks/bench_chain.py [N]
"""

from __future__ import annotations

import csv
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import FakeListLLM

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.request import parse_input
from bridgex_chain.detect import FastTextDetector
from bridgex_chain.prompting.demos import DemoPool
from bridgex_chain.prompting.tasks import plan_prompts
from bridgex_chain.prompting.templates import Lang, PromptRequest, TemplateLibrary
from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

SIB200 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sib200"
LANGS = (
    "swh_Latn",
    "ind_Latn",
    "tgl_Latn",
    "fin_Latn",
    "hau_Latn",
    "yor_Latn",
    "zho_Hans",
    "arb_Arab",
)
KEY = "google/gemma-3-270m"
TARGET_P50_MS = 5.0


def queries(n: int) -> list[str]:
    texts: list[str] = []
    for lang in LANGS:
        path = SIB200 / lang / "test.tsv"
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as handle:
                texts += [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    if not texts:  # no shared data: short synthetic sentences in two languages
        texts = ["Ninataka kujua hali ya hewa ya kesho.", "Saya suka makan nasi goreng."] * 50
    return [texts[i % len(texts)] for i in range(n)]


def make_table(directory: str) -> BridgeTable:
    table = BridgeTable(f"sqlite:///{directory}/bench.db")
    bridges = ["eng_Latn", "fra_Latn"]
    profile = ModelProfile(KEY, "bench", "gemma3_text", 18, 2048)
    run = RunRecord(profile, "bench", "h", [*LANGS[:4], *bridges], bridges, {}, status="complete")
    rows = [
        ScoreRow(lang, lang, b, None, s)
        for lang in LANGS[:4]
        for b, s in (("fra_Latn", 0.041), ("eng_Latn", 0.037))
    ]
    table.upsert_run(run, rows)
    return table


def timed(fn: Callable[[Any], object], items: Sequence[Any]) -> tuple[list[float], list[float]]:
    """Wall and thread-CPU milliseconds per call."""
    for item in items[:50]:
        fn(item)  # warm-up: caches, lazy loading
    wall: list[float] = []
    cpu: list[float] = []
    for item in items:
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        fn(item)
        cpu.append((time.thread_time_ns() - c0) / 1e6)
        wall.append((time.perf_counter_ns() - w0) / 1e6)
    return wall, cpu


def pct(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def row(name: str, wall: Sequence[float], cpu: Sequence[float]) -> tuple[float, float]:
    cells = [pct(wall, 50), pct(wall, 95), pct(cpu, 50), pct(cpu, 95)]
    print(f"{name:<44} " + " ".join(f"{v:8.3f}" for v in cells))
    return pct(wall, 50), pct(cpu, 50)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    logging.getLogger("bridgex_chain").setLevel(logging.ERROR)  # fallbacks are expected here
    texts = queries(n)
    detector = FastTextDetector()
    with tempfile.TemporaryDirectory() as directory:
        table = make_table(directory)
        llm = FakeListLLM(responses=[" Comment vas-tu ?", " Nzuri sana."])
        chain = BridgeXChain(
            llm=llm, table=table, detector=detector, model=KEY, render_cache_size=0
        )
        print(f"{n} invokes per scenario; milliseconds per call")
        print(f"{'scenario':<44} {'p50 wall':>8} {'p95 wall':>8} {'p50 cpu':>8} {'p95 cpu':>8}")
        full_wall, full_cpu = row(
            "chain.invoke (fake model, no render cache)", *timed(chain.invoke, texts)
        )
        model_wall, model_cpu = row(
            "fake model alone, 2 calls", *timed(lambda t: (llm.invoke(t), llm.invoke(t)), texts)
        )
        routes = [chain.route(t) for t in texts]
        bridged = sum(r.bridged for r in routes)
        print(
            f"  paths: {bridged} bridged, {n - bridged} direct "
            f"({sorted({r.fallback for r in routes if r.fallback})})"
        )
        row("  parse_input", *timed(parse_input, texts))
        row("  detect (fastText lite)", *timed(detector.detect, texts))
        langs = [r.detection.lang for r in routes]
        row("  lookup (BridgeTable.best, cached)", *timed(lambda lang: _best(table, lang), langs))
        lib = TemplateLibrary.load()
        sw, fr = Lang("swh_Latn", "Swahili"), Lang("fra_Latn", "French")
        reqs = [PromptRequest("chat", "completion", t, src=sw, answer=sw, bridge=fr) for t in texts]
        row("  plan prompts (render + answer)", *timed(lambda r: _plan(r, lib), reqs))
        if (SIB200 / "swh_Latn" / "train.tsv").is_file():
            pool = DemoPool.from_dir(SIB200)
            demo_chain = BridgeXChain(
                llm=llm,
                table=table,
                detector=detector,
                model=KEY,
                render_cache_size=0,
                demos=pool,
                num_demos=3,
            )
            row("chain.invoke + 3 demos (TF-IDF over 701 rows)", *timed(demo_chain.invoke, texts))
        table.close()
    overhead_wall, overhead_cpu = full_wall - model_wall, full_cpu - model_cpu
    verdict = "meets" if overhead_wall <= TARGET_P50_MS else "MISSES"
    print(
        f"bridging overhead p50 (chain − fake model): {overhead_wall:.3f} ms wall, "
        f"{overhead_cpu:.3f} ms CPU; target ≤ {TARGET_P50_MS} ms: {verdict}"
    )
    print(f"chain p50 / fake-model p50 = {full_wall / model_wall:.1f}x")


def _best(table: BridgeTable, lang: str) -> object:
    try:
        return table.best(KEY, lang)
    except Exception as err:
        return err


def _plan(req: PromptRequest, lib: TemplateLibrary) -> object:
    planner = plan_prompts(req, lib)
    next(planner)
    try:
        planner.send(" Comment vas-tu ?")
    except StopIteration as done:
        return done.value
    return None


if __name__ == "__main__":
    main()
