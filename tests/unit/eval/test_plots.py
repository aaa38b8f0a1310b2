"""PNG plots of an evaluation run (matplotlib, Agg backend): which files are drawn, and that
they are real images."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

from bridgex_chain.eval.plots import draw_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _names(paths: list[Path]) -> list[str]:
    return sorted(p.name for p in paths)


def test_every_plot_the_results_allow_is_written_as_a_png(
    tmp_path: Path, make_results: Callable[[], dict[str, Any]]
) -> None:
    written = draw_plots(make_results(), tmp_path / "plots")
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


def test_nothing_to_plot_writes_nothing(
    tmp_path: Path, make_results: Callable[[], dict[str, Any]]
) -> None:
    assert draw_plots({"entries": [], "config": {"renderings": ["self"]}}, tmp_path / "p") == []
    assert not (tmp_path / "p").exists()
    bare = make_results()
    for entry in bare["entries"]:
        entry["direct"] = None
        entry["table"].update(hsic={}, layers={})
        entry["renderings"] = {}
    bare["pooled"] = []
    assert draw_plots(bare, tmp_path / "q") == []


@pytest.mark.parametrize("nan_scores", [False, True])
def test_a_translation_pair_gets_a_pair_named_heatmap(
    tmp_path: Path, nan_scores: bool, make_results: Callable[[], dict[str, Any]]
) -> None:
    results = make_results()
    pair = copy.deepcopy(results["entries"][0])
    pair.update(task="translate", trg="eng_Latn", metric="chrf")
    if nan_scores:  # NaN scores (no items) are left out of the bars, not drawn as zero
        pair["direct"] = {"score": float("nan"), "low": float("nan"), "high": float("nan"), "n": 4}
    results["entries"] = [pair]
    results["pooled"] = []
    names = _names(draw_plots(results, tmp_path))
    assert "heatmap-translate-swh_Latn-eng_Latn.png" in names
    assert "bars-translate-self.png" in names


def test_plots_of_an_earlier_run_are_removed(
    tmp_path: Path, make_results: Callable[[], dict[str, Any]]
) -> None:
    plot_dir = tmp_path / "plots"
    plot_dir.mkdir()
    (plot_dir / "bars-translate-self.png").write_bytes(PNG_MAGIC)  # a task this run lacks
    (plot_dir / "notes.txt").write_text("kept", encoding="utf-8")  # not a plot
    written = draw_plots(make_results(), plot_dir)
    assert not (plot_dir / "bars-translate-self.png").exists()
    assert sorted(p.name for p in plot_dir.glob("*.png")) == _names(written)
    assert (plot_dir / "notes.txt").is_file()
