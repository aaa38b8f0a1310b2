"""The main job end to end on the embedded Gemma-3-270m (what `make demo` runs).

1. detect the language of sample messages (offline fastText),
2. load the embedded default model (cached after the first run),
3. build a bridge table for a few languages by probing the model's neurons,
4. answer a Swahili and an Indonesian question through their best bridge.

Run it with `make demo` (or `python examples/demo.py` inside the project's .venv).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bridgex_chain.detect import FastTextDetector
from bridgex_chain.languages import language_name
from bridgex_chain.store.records import format_score

console = Console()

# Sample messages written for this demo (not taken from any dataset).
SAMPLES = [
    "Habari za asubuhi, ningependa kujua hali ya hewa ya kesho.",
    "Selamat pagi, saya ingin tahu bagaimana cuaca besok di Jakarta.",
    "Magandang umaga, gusto kong malaman ang lagay ng panahon bukas.",
    "Hyvää huomenta, haluaisin tietää huomisen sään.",
    "Jó reggelt, szeretném tudni, milyen idő lesz holnap.",
    "早上好，我想知道明天的天气怎么样。",
    "おはようございます。明日の天気を知りたいです。",
    "صباح الخير، أريد أن أعرف حالة الطقس غداً.",
    "בוקר טוב, אני רוצה לדעת מה מזג האוויר מחר.",
    "Ina kwana, ina so in san yadda yanayin zai kasance gobe a Kano.",
    "Ẹ káàárọ̀, mo fẹ́ mọ ojú ọjọ́ ọ̀la.",
    "Guten Morgen, ich möchte wissen, wie das Wetter morgen wird.",
]


def step_detect() -> None:
    """Detect the language of every sample and print a table."""
    detector = FastTextDetector()
    table = Table(title="1 · Language detection (offline fastText)")
    for col in ("message", "language", "name", "confidence"):
        table.add_column(col)
    for text in SAMPLES:
        det = detector.detect(text)
        name = "—" if det.is_unknown else language_name(det.lang)
        table.add_row(text[:48], det.lang, name, f"{det.confidence:.2f}")
    console.print(table)


def step_load_model() -> None:
    """Load the embedded Gemma-3-270m and show how long it took."""
    from bridgex_chain.models import load_causal_lm

    console.rule("2 · Embedded default model")
    t0 = time.perf_counter()
    lm = load_causal_lm(on_progress=lambda msg: console.print(f"  [dim]{msg}[/]"))
    console.print(f"  {lm.describe()}")
    console.print(f"  load time: [bold]{time.perf_counter() - t0:.1f} s[/]")


def step_build_table(database_url: str) -> None:
    """Probe Gemma-3-270m for two chat entries and one language pair (a small, quick table)."""
    console.rule("3 · Build a bridge table by probing the model's neurons")
    cmd = [
        sys.executable, "-m", "bridgex_chain.cli",
        "build-table",
        "--languages", "sw,id",   # chat entries (sw, sw) and (id, id)
        "--pairs", "id-tl",       # plus Indonesian → Tagalog
        "--max-prompts", "8",     # a demo-sized probe sample; the shipped table uses more
        "--corpus-max-tokens", "400",
        "--batch-size", "8",
        "--window-only",
        "--threads", "1",         # one torch thread is much faster on a busy 2-core machine
        "--database-url", database_url,
    ]  # fmt: skip
    console.print(f"  [dim]$ bridgex-chain {' '.join(cmd[3:])}[/]")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    console.print(f"  built in [bold]{time.perf_counter() - t0:.0f} s[/]")


def route_text(meta: dict[str, object]) -> str:
    """Where a question went, with the HSIC score readable at any magnitude (they are ~1e-8)."""
    if meta.get("fallback"):
        return f"{meta['lang']} → direct ({meta['fallback']})"
    return (
        f"{meta['lang']} (p={meta['confidence']:.2f}) → bridge {meta['bridge']} "
        f"(HSIC {format_score(meta['score'])}, run {meta['run_id']})"
    )


def step_chain(database_url: str) -> None:
    """Answer a Swahili and an Indonesian question through their best bridge."""
    from bridgex_chain.chain import BridgeXChain

    console.rule("4 · BridgeXChain: a question through its bridge language")
    chain = BridgeXChain(database_url=database_url, max_new_tokens=40)
    questions = [
        "Habari! Ninawezaje kupika wali mtamu nyumbani?",
        "Apa saja tempat wisata yang menarik di Yogyakarta?",
    ]
    for question in questions:
        t0 = time.perf_counter()
        reply = chain.invoke(question)
        meta = reply.response_metadata["bridgex"]
        console.print(f"\n[bold]> {question}[/]")
        console.print(f"  route: {route_text(meta)}", markup=False)
        if not meta.get("fallback"):
            console.print(f"  bridge rendering: {meta.get('rendering')!r}", markup=False)
        console.print(f"  answer: {reply.content.strip()!r}", markup=False)
        console.print(f"  [dim]{time.perf_counter() - t0:.1f} s[/]")


def main() -> None:
    """Run every step of the demo."""
    from bridgex_chain.paths import data_dir

    database_url = f"sqlite:///{Path(data_dir()) / 'demo-bridges.db'}"
    step_detect()
    step_load_model()
    step_build_table(database_url)
    step_chain(database_url)


if __name__ == "__main__":
    main()
