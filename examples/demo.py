"""The main job end to end on the embedded Gemma-3-270m (what `make demo` runs).

1. detect the language of sample messages (offline fastText),
2. load the embedded default model (cached after the first run),
3. build a bridge table for a few languages by probing the model's neurons,
4. answer a Swahili and an Indonesian question through their best bridge.

Run it with `make demo` (or `python examples/demo.py` inside the project's .venv).
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from bridgex_chain.detect import FastTextDetector
from bridgex_chain.languages import language_name

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
    "Ina kwana, ina so in san yanayin gobe a Kano.",
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


def main() -> None:
    """Run every step of the demo."""
    step_detect()
    step_load_model()


if __name__ == "__main__":
    main()
