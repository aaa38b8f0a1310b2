"""The main job end to end on the embedded Gemma-3-270m (what `make demo` runs).

1. detect the language of sample messages (offline fastText),
2. load the embedded default model (cached after the first run),
3. read what the shipped bridge table measured for Swahili and Indonesian (built by probing the
   model's neurons with 256 prompts per direction, bootstrap intervals and render checks), and
   what the evidence route policy decides from it,
4. answer a Swahili and an Indonesian question under that policy, printing the route and why.

Run it with `make demo` (or `python examples/demo.py` inside the project's .venv).
"""

from __future__ import annotations

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


DEMO_LANGUAGES = ("swh_Latn", "ind_Latn")
MODEL = "google/gemma-3-270m"


def step_table(database_url: str) -> None:
    """Show the shipped table's figures for the demo languages and the evidence decision."""
    from bridgex_chain.chain.evidence import DEFAULT_THRESHOLDS, EvidencePolicy, decide
    from bridgex_chain.store.table import BridgeTable

    console.rule("3 · The shipped bridge table and the evidence route policy")
    with BridgeTable(database_url) as store:
        store.ensure_shipped()
        run = store.runs(MODEL)[-1]
        console.print(
            f"  run {run.run_id}: probe set {run.probe_set}, "
            f"{run.params.get('max_prompts_per_direction')} prompts per direction, "
            f"bootstrap {run.params.get('bootstrap')}, aggregation {run.params.get('aggregation')}"
        )
        policy = EvidencePolicy(store)
        for lang in DEMO_LANGUAGES:
            _, evidence = policy.evidence(MODEL, lang)
            gains = {r.bridge: r for r in evidence.renders}
            table = Table(title=f"{lang} ({language_name(lang)})")
            for col in ("bridge", "HSIC score [95 %]", "win rate", "render gain [95 %]"):
                table.add_column(col)
            for ranked in evidence.ranking:
                interval = (
                    f" [{format_score(ranked.low)}, {format_score(ranked.high)}]"
                    if ranked.low is not None and ranked.high is not None
                    else ""
                )
                win = "—" if ranked.win_rate is None else f"{ranked.win_rate:.2f}"
                check = gains.get(ranked.bridge)
                gain = (
                    "—"
                    if check is None
                    else f"{check.gain:+.2f} [{check.low:+.2f}, {check.high:+.2f}]"
                    if check.low is not None and check.high is not None
                    else f"{check.gain:+.2f}"
                )
                table.add_row(ranked.bridge, format_score(ranked.score) + interval, win, gain)
            console.print(table)
            decision = decide(evidence, DEFAULT_THRESHOLDS)
            competence = evidence.competence
            level = "—" if competence is None else f"{competence.logprob_per_token:.2f}"
            console.print(
                f"  competence {level} nats/token (bridge only at or below "
                f"{DEFAULT_THRESHOLDS.max_competence:.2f}) → [bold]{decision.rule}[/]: "
                f"{decision.bridge or 'direct'}"
            )


def route_text(meta: dict[str, object]) -> str:
    """Where a question went, with the HSIC score readable at any magnitude (they are ~1e-8)."""
    if meta.get("fallback"):
        return f"{meta['lang']} → direct ({meta['fallback']}: {meta.get('fallback_detail')})"
    evidence = meta.get("evidence")
    rule = f", evidence {evidence['rule']}" if isinstance(evidence, dict) else ""
    return (
        f"{meta['lang']} (p={meta['confidence']:.2f}) → bridge {meta['bridge']} "
        f"(HSIC {format_score(meta['score'])}, run {meta['run_id']}{rule})"
    )


def step_chain(database_url: str) -> None:
    """Answer a Swahili and an Indonesian question under the evidence route policy."""
    from bridgex_chain.chain import BridgeXChain

    console.rule("4 · BridgeXChain: each question where the evidence sends it")
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
    step_table(database_url)
    step_chain(database_url)


if __name__ == "__main__":
    main()
