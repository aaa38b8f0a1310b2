"""Fixtures of the eval tests.

* ``make_results``: a small results dictionary as ``run_evaluation`` writes it.
* ``fake_lm_class`` / ``fake_lm``, ``fake_table``, ``write_sib``, ``sib_rows``, ``eval_config``,
  ``entry_of``, ``bridge_scores``: tiny SIB-200-style data, a fake model and a fake bridge table
  for running the evaluation end to end.
* ``evaluate_task``: one task evaluated end to end on ``fake_lm``, its entry and the config.

The fake model scores a label 0 when the label word appears in the query (an option letter:
when the option's text appears in the passage) and -3 otherwise, plus a per-label bias;
content-free queries therefore measure exactly the bias, and calibrated predictions pick the
mentioned label (ties: the first label). It "translates" by dictionary lookup of the last text
line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bridgex_chain.eval.evaluate import EvalConfig, run_evaluation
from bridgex_chain.store.records import Bridge, RankedBridge, ScoreRow


def _iv(score: float, **extra: Any) -> dict[str, Any]:
    return {"score": score, "low": score - 10.0, "high": score + 10.0, "n": 4, **extra}


def _entry(src: str, fra: float, eng: float, *, pending: bool = False) -> dict[str, Any]:
    bridges = {"eng_Latn": _iv(eng, uncalibrated=eng - 5), "fra_Latn": _iv(fra, uncalibrated=fra)}
    best = "fra_Latn" if fra >= eng else "eng_Latn"
    conditions = {"english": {"bridge": "eng_Latn", **bridges["eng_Latn"]}}
    if not pending:
        conditions["table"] = {"bridge": "fra_Latn", **bridges["fra_Latn"]}
    rendering = {
        "conditions": conditions,
        "bridges": bridges,
        "oracle_bridge": best,
        "oracle_bridges": [best],
        "table_rank": 1 if best == "fra_Latn" else 2,
        "spearman": None,
    }
    return {
        "task": "classify",
        "metric": "accuracy",
        "src": src,
        "trg": src,
        "n": 4,
        "candidates": ["eng_Latn", "fra_Latn"],
        "direct": _iv(50.0, uncalibrated=45.0),
        "table": {
            "best": None if pending else "fra_Latn",
            "hsic": {} if pending else {"eng_Latn": 0.2, "fra_Latn": 0.4},
            "layers": {} if pending else {
                "eng_Latn": {"0": 0.1, "1": 0.3},
                "fra_Latn": {"0": 0.2, "1": 0.6},
            },
            "run_id": None if pending else 1,
            "pending": "no bridge-table entry" if pending else None,
        },
        "unavailable": {"table": "pending: no bridge-table entry"} if pending else {},
        "renderings": {"self": rendering, "oracle": rendering},
    }  # fmt: skip


def _results() -> dict[str, Any]:
    entries = [_entry("swh_Latn", 75.0, 60.0), _entry("yor_Latn", 40.0, 55.0, pending=True)]
    pooled_rendering = {
        "conditions": {
            "english": _iv(57.5, entries=2, bridge=None),
            "oracle": _iv(65.0, entries=2, bridge=None),
        },
        "mean_table_rank": 1.5,
        "mean_spearman": None,
    }
    pooled = {
        "task": "classify",
        "metric": "accuracy",
        "src": "pooled",
        "trg": "pooled",
        "n": 8,
        "entries": 2,
        "direct": _iv(50.0, entries=2, uncalibrated=45.0),
        "renderings": {"self": pooled_rendering, "oracle": pooled_rendering},
    }
    return {
        "model": "demo/model",
        "command": "bridgex-chain eval classify --model demo/model",
        "config": {
            "tasks": ["classify"],
            "limit": 4,
            "seed": 0,
            "conditions": ["direct", "english", "table", "all"],
            "renderings": ["self", "oracle"],
            "bridges": ["eng_Latn", "fra_Latn"],
        },
        "entries": entries,
        "pooled": [pooled],
    }


@pytest.fixture
def make_results() -> Callable[[], dict[str, Any]]:
    """``make() -> results``: a fresh copy each call (two classify entries, one pending)."""
    return _results


# --------------------------------------------------------------------------- end-to-end fakes

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
    """A model whose scores and generations are known (see the module docstring)."""

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
    """A bridge table: French best (0.5), English (0.3), German (0.1); layer l scores s * l."""

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


def _write_sib(root: Path) -> Path:
    for split, rows in (("test", SIB), ("train", TRAIN)):
        for k, code in enumerate(LANGS):
            (root / code).mkdir(parents=True, exist_ok=True)
            lines = ["index_id\tcategory\ttext"]
            lines += [f"{i}\t{row[0]}\t{row[k + 1]}" for i, row in rows.items()]
            (root / code / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _config(root: Path, tasks: list[str], **kw: Any) -> EvalConfig:
    base: dict[str, Any] = {
        "tasks": tasks,
        "out_dir": root / "out",
        "sib200": _write_sib(root / "sib"),
        "bridges": ["eng_Latn", "fra_Latn", "deu_Latn"],
        "resamples": 200,
        "plots": False,
    }
    return EvalConfig(**{**base, **kw})


def _entry_of(results: dict[str, Any], task: str) -> dict[str, Any]:
    return next(e for e in results["entries"] if e["task"] == task)


def _bridge_scores(e: dict[str, Any], rendering: str) -> dict[str, float]:
    return {b: r["score"] for b, r in e["renderings"][rendering]["bridges"].items()}


@pytest.fixture
def fake_lm_class() -> type[FakeLM]:
    """The fake model class: ``FakeLM(fail_after=None)`` raises "killed" after that many calls.

    Instances record ``generated`` prompts and ``scored`` (prefix, query) pairs.
    """
    return FakeLM


@pytest.fixture
def fake_lm() -> FakeLM:
    """A fresh fake model."""
    return FakeLM()


@pytest.fixture
def fake_table() -> FakeTable:
    """A fake bridge table (French best; per-layer scores of the swh_Latn entry)."""
    return FakeTable()


@pytest.fixture
def sib_rows() -> dict[str, tuple[str, ...]]:
    """The test rows ``write_sib`` writes: id -> (category, swh, eng, fra, deu)."""
    return dict(SIB)


@pytest.fixture
def write_sib() -> Callable[[Path], Path]:
    """``write(root) -> root``: SIB-200 test (4 rows) and train (2 rows) files, 4 languages."""
    return _write_sib


@pytest.fixture
def eval_config() -> Callable[..., EvalConfig]:
    """``config(root, tasks, **overrides) -> EvalConfig`` over fresh SIB data under ``root``.

    Defaults: bridges English, French, German; 200 resamples; no plots; ``root/out``.
    """
    return _config


@pytest.fixture
def entry_of() -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """``entry_of(results, task)``: the first entry of ``task``."""
    return _entry_of


@pytest.fixture
def bridge_scores() -> Callable[[dict[str, Any], str], dict[str, float]]:
    """``bridge_scores(entry, rendering)``: {bridge: score} of one rendering."""
    return _bridge_scores


Evaluated = tuple[dict[str, Any], EvalConfig]  # an entry and the config it was run with


@pytest.fixture
def evaluate_task(tmp_path: Path, fake_lm: FakeLM) -> Callable[..., Evaluated]:
    """``evaluate(task, *, table=None, **overrides) -> (entry, config)``.

    Runs the evaluation of ``task`` (``eval_config(tmp_path, [task], **overrides)``) on the
    test's ``fake_lm`` and returns the first entry of ``task`` with the config it ran.
    """

    def evaluate(task: str, *, table: Any = None, **overrides: Any) -> Evaluated:
        cfg = _config(tmp_path, [task], **overrides)
        results = run_evaluation(cfg, table=table, lm_factory=lambda: fake_lm)
        return _entry_of(results, task), cfg

    return evaluate
