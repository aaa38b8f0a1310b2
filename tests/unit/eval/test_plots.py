"""PNG plots of an evaluation run (matplotlib, Agg backend): which files are drawn, and that
they are real images."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

from bridgex_chain.eval.plots import draw_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


def _names(paths: list[Path]) -> list[str]:
    return sorted(p.name for p in paths)


def test_every_plot_the_results_allow_is_written_as_a_png(tmp_path: Path) -> None:
    written = draw_plots(_results(), tmp_path / "plots")
    assert _names(written) == [
        "bars-classify-oracle.png",
        "bars-classify-self.png",
        "heatmap-classify-swh_Latn.png",  # yor_Latn has no table entry: no heatmap
        "scatter-classify-oracle.png",
        "scatter-classify-self.png",
    ]
    for path in written:
        assert path.parent == tmp_path / "plots"
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == _names(written)


def test_nothing_to_plot_writes_nothing(tmp_path: Path) -> None:
    assert draw_plots({"entries": [], "config": {"renderings": ["self"]}}, tmp_path / "p") == []
    assert not (tmp_path / "p").exists()
    bare = _results()
    for entry in bare["entries"]:
        entry["direct"] = None
        entry["table"].update(hsic={}, layers={})
        entry["renderings"] = {}
    bare["pooled"] = []
    assert draw_plots(bare, tmp_path / "q") == []


@pytest.mark.parametrize("nan_scores", [False, True])
def test_a_translation_pair_gets_a_pair_named_heatmap(tmp_path: Path, nan_scores: bool) -> None:
    results = _results()
    pair = copy.deepcopy(results["entries"][0])
    pair.update(task="translate", trg="eng_Latn", metric="chrf")
    if nan_scores:  # NaN scores (no items) are left out of the bars, not drawn as zero
        pair["direct"] = _iv(float("nan"))
    results["entries"] = [pair]
    results["pooled"] = []
    names = _names(draw_plots(results, tmp_path))
    assert "heatmap-translate-swh_Latn-eng_Latn.png" in names
    assert "bars-translate-self.png" in names
