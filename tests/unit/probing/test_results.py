"""What a build reports: progress events, entry rows, the build result, the stage clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridgex_chain.probing.bridges import rank_bridges
from bridgex_chain.probing.results import (
    STAGES,
    BuildResult,
    EntryResult,
    ProgressEvent,
    StageClock,
)
from bridgex_chain.store.records import ScoreRow

SW, EN, FR, DE = "swh_Latn", "eng_Latn", "fra_Latn", "deu_Latn"


def _entry(per_layer: dict[str, dict[int, float]], window: range = range(0, 3)) -> EntryResult:
    return EntryResult(SW, SW, 12, per_layer, rank_bridges(per_layer, window))


def test_progress_fraction_and_stage_order() -> None:
    assert ProgressEvent("probes", 3, 12).fraction == 0.25
    assert ProgressEvent("write", 0, 0).fraction == 1.0  # an empty stage is done
    assert STAGES == ("load", "neurons", "understood", "probes", "scores", "render", "write")


def test_entry_rows_are_per_layer_then_the_aggregate() -> None:
    entry = _entry({FR: {2: 0.5, 0: 0.25}, EN: {1: 0.2, 7: 0.9}, DE: {}})
    assert entry.rows() == [
        ScoreRow(SW, SW, FR, 0, 0.25),
        ScoreRow(SW, SW, FR, 2, 0.5),
        ScoreRow(SW, SW, FR, None, 0.25, 3),
        ScoreRow(SW, SW, EN, 1, 0.2),
        ScoreRow(SW, SW, EN, 7, 0.9),  # outside the window: stored, not aggregated
        ScoreRow(SW, SW, EN, None, pytest.approx(0.2 / 3), 3),
    ]  # DE has no score: no row at all. FR and EN share no window layer, so the default
    # rule (shared) falls back to zero: both are averaged over the 3 window layers
    assert entry.best is not None and entry.best.bridge == FR
    assert _entry({DE: {}}).best is None and _entry({DE: {}}).rows() == []


def test_build_result_rows_join_the_entries() -> None:
    a = _entry({FR: {0: 0.5}})
    b = EntryResult(SW, EN, 6, {FR: {1: 0.1}}, rank_bridges({FR: {1: 0.1}}, range(0, 3)))
    result = BuildResult(
        run_id=1, run_key="k", status="built", model="m", revision="r",
        database_url="sqlite://", cache_path=Path("c"), window=(0, 2), entries=(a, b),
        rows_written=4,
    )  # fmt: skip
    assert result.rows() == a.rows() + b.rows()
    assert result.timings == {} and result.export_path is None


def test_stage_clock_reports_and_adds_up_the_seconds() -> None:
    events: list[ProgressEvent] = []
    clock = StageClock(events.append)
    with clock.stage("probes"):
        clock.emit("probes", 1, 2, "sw")
    with pytest.raises(RuntimeError), clock.stage("probes"):
        raise RuntimeError("the time until the error still counts")
    clock.emit("write", 1, 1)
    assert events == [ProgressEvent("probes", 1, 2, "sw"), ProgressEvent("write", 1, 1, "")]
    total = clock.total()
    assert set(total) == {"probes", "total"}
    assert 0.0 <= total["probes"] <= total["total"]
    StageClock(None).emit("load", 0, 1)  # no callback: nothing to report to
