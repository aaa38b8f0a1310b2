"""Tests for bridgex_chain.eval.summary: condition scores, oracle bridges, ranks, pooling.

Entries are built by hand (EntryPlan, UnitFile) with a tiny task whose items are right when the
stored output equals the gold, so every score below is worked out by hand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.eval.cache import UnitFile
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.runner import Arm, EntryPlan, TableInfo
from bridgex_chain.eval.summary import rank_of, summarise_entry, summarise_pooled
from bridgex_chain.eval.tasks import Task
from bridgex_chain.prompting.templates import PromptRequest

CANDIDATES = ["eng_Latn", "fra_Latn", "deu_Latn"]
RESAMPLES = 200


class ExactTask(Task):
    """A generation task: an item is right when the output equals its gold."""

    name = "exact"
    metric_name = "accuracy"
    scored = False

    def entries(self) -> list[tuple[str, str]]:
        return []

    def items(self, src: str, trg: str) -> list[Item]:
        return []

    def request(self, item: Item, src: str, trg: str, bridge: str | None) -> PromptRequest:
        raise AssertionError("summaries never plan prompts")

    def output_stats(self, output: str, item: Item) -> list[float]:
        return self.metric.item_stats(output == item.gold)


class ChoiceTask(ExactTask):
    """A scored task: the choice with the best (calibrated) log-likelihood is the answer."""

    name = "choice"
    scored = True


def items(n: int) -> list[Item]:
    return [Item(str(i), f"text {i}", "a") for i in range(1, n + 1)]


def plan(
    task: Task,
    src: str,
    n: int,
    *,
    table: TableInfo,
    conditions: Mapping[str, str | None],
    unavailable: Mapping[str, str] | None = None,
) -> EntryPlan:
    return EntryPlan(
        task, src, src, items(n), list(CANDIDATES), table, dict(conditions),
        dict(unavailable or {}), [],
    )  # fmt: skip


def unit(root: Path, name: str, rows: list[dict[str, Any]]) -> UnitFile:
    result = UnitFile(root / f"{name}.jsonl", {"arm": name})
    for row in rows:
        result.append(row)
    return result


def outputs(root: Path, name: str, answers: str, **notes: str) -> UnitFile:
    """One unit whose item ``i`` answered ``answers[i-1]`` (``-`` = no text in the bridge)."""
    rows: list[dict[str, Any]] = []
    for i, answer in enumerate(answers, start=1):
        if answer == "-":
            rows.append({"id": str(i), "missing": True})
        else:
            rows.append({"id": str(i), "output": answer, "note": notes.get(f"n{i}")})
    return unit(root, name, rows)


@pytest.fixture
def entry_a(tmp_path: Path) -> tuple[EntryPlan, dict[str, UnitFile]]:
    """swh_Latn, 4 items, table says fra_Latn. self: eng 50, fra 75, deu 2 of 3 (one missing)."""
    table = TableInfo(
        best="fra_Latn",
        hsic={"eng_Latn": 0.1, "fra_Latn": 0.3, "deu_Latn": 0.2},
        layers={"fra_Latn": {10: 0.5, 2: 0.4}},
        run_id=7,
    )
    conditions = {"english": "eng_Latn", "table": "fra_Latn", "random": "deu_Latn"}
    entry = plan(ExactTask(limit=None, seed=0), "swh_Latn", 4, table=table, conditions=conditions)
    root = tmp_path / "a"
    units = {
        "direct": outputs(root, "direct", "abbb"),
        Arm("self", "eng_Latn").name: outputs(root, "self-eng", "aabb"),
        Arm("self", "fra_Latn").name: outputs(root, "self-fra", "aaab", n4="empty_rendering"),
        Arm("self", "deu_Latn").name: outputs(root, "self-deu", "aab-"),
        Arm("oracle", "fra_Latn").name: outputs(root, "oracle-fra", "aaaa"),
    }
    return entry, units


@pytest.fixture
def entry_b(tmp_path: Path) -> tuple[EntryPlan, dict[str, UnitFile]]:
    """hau_Latn, 2 items, table pending. self: eng 50, fra 0, deu 100."""
    table = TableInfo(pending="no run of this model")
    conditions = {"english": "eng_Latn", "random": "fra_Latn"}
    entry = plan(
        ExactTask(limit=None, seed=0),
        "hau_Latn",
        2,
        table=table,
        conditions=conditions,
        unavailable={"table": "pending: no run of this model"},
    )
    root = tmp_path / "b"
    units = {
        "direct": outputs(root, "direct", "aa"),
        "self-eng_Latn": outputs(root, "self-eng", "ab"),
        "self-fra_Latn": outputs(root, "self-fra", "bb"),
        "self-deu_Latn": outputs(root, "self-deu", "aa"),
    }
    return entry, units


# --------------------------------------------------------------------------- rank_of


def test_rank_of_counts_strictly_better_candidates() -> None:
    scores = {"a": 50.0, "b": 40.0, "c": 40.0, "d": 10.0}
    assert rank_of("a", scores) == 1
    assert rank_of("b", scores) == rank_of("c", scores) == 2  # ties share the better rank
    assert rank_of("d", scores) == 4
    assert rank_of("missing", scores) is None
    assert rank_of("a", {}) is None


# --------------------------------------------------------------------------- summarise_entry


def test_entry_summary_scores_every_arm(entry_a: tuple[EntryPlan, dict[str, UnitFile]]) -> None:
    entry, units = entry_a
    out = summarise_entry(entry, units, ["self", "oracle"], resamples=RESAMPLES)
    assert (out["task"], out["metric"], out["src"], out["trg"], out["n"]) == (
        "exact", "accuracy", "swh_Latn", "swh_Latn", 4,
    )  # fmt: skip
    assert out["candidates"] == CANDIDATES
    direct = out["direct"]
    assert (direct["score"], direct["n"], direct["missing"]) == (25.0, 4, 0)
    assert direct["low"] <= 25.0 <= direct["high"]
    assert "uncalibrated" not in direct  # a generation task has nothing to calibrate

    bridges = out["renderings"]["self"]["bridges"]
    assert list(bridges) == CANDIDATES
    assert (bridges["eng_Latn"]["score"], bridges["eng_Latn"]["n"]) == (50.0, 4)
    assert (bridges["fra_Latn"]["score"], bridges["fra_Latn"]["empty_renderings"]) == (75.0, 1)
    deu = bridges["deu_Latn"]
    assert (deu["score"], deu["n"], deu["missing"]) == (pytest.approx(200 / 3), 3, 1)


def test_entry_summary_table_section(entry_a: tuple[EntryPlan, dict[str, UnitFile]]) -> None:
    entry, units = entry_a
    table = summarise_entry(entry, units, ["self"], resamples=RESAMPLES)["table"]
    assert table == {
        "best": "fra_Latn",
        "hsic": {"eng_Latn": 0.1, "fra_Latn": 0.3, "deu_Latn": 0.2},
        "layers": {"fra_Latn": {"2": 0.4, "10": 0.5}},  # JSON keys, in layer order
        "run_id": 7,
        "pending": None,
    }
    assert list(table["layers"]["fra_Latn"]) == ["2", "10"]


def test_entry_summary_conditions_oracle_rank_and_spearman(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_a
    rendering = summarise_entry(entry, units, ["self"], resamples=RESAMPLES)["renderings"]["self"]
    conditions = rendering["conditions"]
    assert {name: c["bridge"] for name, c in conditions.items()} == {
        "english": "eng_Latn",
        "table": "fra_Latn",
        "random": "deu_Latn",
    }
    assert conditions["table"]["score"] == 75.0
    assert rendering["oracle_bridge"] == "fra_Latn"
    assert rendering["oracle_bridges"] == ["fra_Latn"]
    assert rendering["oracle_score"] == 75.0
    assert rendering["table_rank"] == 1
    # HSIC order eng < deu < fra is exactly the task-score order 50 < 66.7 < 75.
    assert rendering["spearman"] == pytest.approx(1.0)


def test_an_incomplete_rendering_has_no_oracle(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_a
    oracle = summarise_entry(entry, units, ["oracle"], resamples=RESAMPLES)["renderings"]["oracle"]
    assert list(oracle["bridges"]) == ["fra_Latn"]  # only the arm that was computed
    assert list(oracle["conditions"]) == ["table"]
    assert oracle["conditions"]["table"]["score"] == 100.0
    for key in ("oracle_bridge", "oracle_bridges", "oracle_score", "table_rank", "spearman"):
        assert key not in oracle


def test_ties_go_to_the_first_candidate_and_a_pending_table_ranks_nothing(
    entry_b: tuple[EntryPlan, dict[str, UnitFile]], tmp_path: Path
) -> None:
    entry, units = entry_b
    units = {**units, "self-eng_Latn": outputs(tmp_path / "tie", "self-eng", "aa")}  # 100 too
    out = summarise_entry(entry, units, ["self"], resamples=RESAMPLES)
    rendering = out["renderings"]["self"]
    assert rendering["oracle_bridge"] == "eng_Latn"
    assert rendering["oracle_bridges"] == ["eng_Latn", "deu_Latn"]
    assert "table_rank" not in rendering  # the table has no best bridge
    assert rendering["spearman"] is None  # nor HSIC scores
    assert out["table"]["pending"] == "no run of this model"
    assert out["unavailable"] == {"table": "pending: no run of this model"}
    assert "table" not in rendering["conditions"]


def test_an_entry_without_a_direct_unit_has_no_direct_score(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_a
    without = {name: u for name, u in units.items() if name != "direct"}
    assert summarise_entry(entry, without, ["self"], resamples=RESAMPLES)["direct"] is None


def test_items_not_yet_computed_are_left_out(tmp_path: Path) -> None:
    entry = plan(ExactTask(limit=None, seed=0), "swh_Latn", 4, table=TableInfo(), conditions={})
    partial = outputs(tmp_path, "direct", "ab")  # items 3 and 4 have no result yet
    direct = summarise_entry(entry, {"direct": partial}, [], resamples=RESAMPLES)["direct"]
    assert (direct["score"], direct["n"], direct["missing"]) == (50.0, 2, 0)


def test_an_empty_unit_scores_nan(tmp_path: Path) -> None:
    entry = plan(ExactTask(limit=None, seed=0), "swh_Latn", 2, table=TableInfo(), conditions={})
    direct = summarise_entry(entry, {"direct": outputs(tmp_path, "d", "")}, [])["direct"]
    assert math.isnan(direct["score"]) and direct["n"] == 0


def test_the_bootstrap_is_seeded(entry_a: tuple[EntryPlan, dict[str, UnitFile]]) -> None:
    entry, units = entry_a
    first = summarise_entry(entry, units, ["self"], resamples=RESAMPLES, seed=3)
    again = summarise_entry(entry, units, ["self"], resamples=RESAMPLES, seed=3)
    assert first == again


def test_scored_tasks_report_calibrated_and_uncalibrated_accuracy(tmp_path: Path) -> None:
    entry = plan(ChoiceTask(limit=None, seed=0), "swh_Latn", 2, table=TableInfo(), conditions={})
    direct = unit(
        tmp_path,
        "direct",
        [
            # raw choice 0 (wrong); minus the calibration [2, 0] → choice 1 (right)
            {"id": "1", "scores": [1.0, 0.5], "gold": 1},
            # raw choice 0 (right); calibrated [1, 0] → still 0 (right)
            {"id": "2", "scores": [3.0, 0.0], "gold": 0},
        ],
    )
    direct.set_meta(calibration=[2.0, 0.0], choices=["x", "y"])
    result = summarise_entry(entry, {"direct": direct}, [], resamples=RESAMPLES)["direct"]
    assert (result["score"], result["uncalibrated"]) == (100.0, 50.0)


# --------------------------------------------------------------------------- summarise_pooled


def test_pooled_summary_pools_items_per_condition(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
    entry_b: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entries = [
        (entry, units, summarise_entry(entry, units, ["self"], resamples=RESAMPLES))
        for entry, units in (entry_a, entry_b)
    ]
    out = summarise_pooled(entries, ["self"], resamples=RESAMPLES)
    assert (out["task"], out["metric"], out["src"], out["trg"]) == (
        "exact", "accuracy", "pooled", "pooled",
    )  # fmt: skip
    assert (out["n"], out["entries"]) == (6, 2)
    assert (out["direct"]["score"], out["direct"]["n"], out["direct"]["entries"]) == (50.0, 6, 2)

    self_ = out["renderings"]["self"]
    conditions = self_["conditions"]
    assert list(conditions) == ["english", "table", "random", "oracle"]
    assert all(c["bridge"] is None for c in conditions.values())
    # english: A eng 2/4 + B eng 1/2
    assert (conditions["english"]["score"], conditions["english"]["n"]) == (50.0, 6)
    # random: A deu 2/3 (one missing) + B fra 0/2
    assert (conditions["random"]["score"], conditions["random"]["n"]) == (40.0, 5)
    # oracle: each entry's own oracle bridge, A fra 3/4 + B deu 2/2
    assert conditions["oracle"]["score"] == pytest.approx(500 / 6)
    assert conditions["oracle"]["entries"] == 2
    # table: only A has a table bridge; direct on that entry alone is the fair baseline
    assert (conditions["table"]["score"], conditions["table"]["entries"]) == (75.0, 1)
    assert conditions["table"]["direct_same_entries"] == 25.0
    assert "direct_same_entries" not in conditions["english"]  # it covers every entry
    assert self_["mean_table_rank"] == 1.0  # A's rank; B has none
    assert self_["mean_spearman"] == pytest.approx(1.0)
    assert self_["bridges"] == {}


def test_pooled_summary_without_ranks_or_direct_units(
    entry_b: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_b
    bridged = {name: u for name, u in units.items() if name != "direct"}
    summary = summarise_entry(entry, bridged, ["self"], resamples=RESAMPLES)
    out = summarise_pooled([(entry, bridged, summary)], ["self", "oracle"], resamples=RESAMPLES)
    assert out["direct"] is None
    assert "direct_same_entries" not in out["renderings"]["self"]["conditions"]["english"]
    assert out["renderings"]["self"]["mean_table_rank"] is None
    assert out["renderings"]["self"]["mean_spearman"] is None
    assert out["renderings"]["oracle"]["conditions"] == {}  # no oracle arm was computed


def test_pooled_scored_task_reports_uncalibrated_accuracy(tmp_path: Path) -> None:
    entries = []
    for src, rows in (
        ("swh_Latn", [{"id": "1", "scores": [1.0, 0.5], "gold": 1}]),
        ("hau_Latn", [{"id": "1", "scores": [3.0, 0.0], "gold": 0}]),
    ):
        entry = plan(ChoiceTask(limit=None, seed=0), src, 1, table=TableInfo(), conditions={})
        direct = unit(tmp_path / src, "direct", rows)
        direct.set_meta(calibration=[2.0, 0.0])
        units = {"direct": direct}
        entries.append((entry, units, summarise_entry(entry, units, [], resamples=RESAMPLES)))
    out = summarise_pooled(entries, [], resamples=RESAMPLES)
    assert (out["direct"]["score"], out["direct"]["uncalibrated"]) == (100.0, 50.0)
    assert out["renderings"] == {}


# --------------------------------------------------------------------------- paired tests


def test_every_condition_is_tested_against_direct_on_the_same_items(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_a
    conditions = summarise_entry(entry, units, ["self"], resamples=RESAMPLES)["renderings"]["self"][
        "conditions"
    ]
    table = conditions["table"]["vs_direct"]  # direct abbb vs fra aaab: items 2 and 3 won
    assert (table["test"], table["n"], table["wins"], table["losses"]) == ("mcnemar-exact", 4, 2, 0)
    assert table["diff"] == pytest.approx(50.0)
    assert table["p_value"] == pytest.approx(0.5) and table["significant"] is False
    random = conditions["random"]["vs_direct"]  # deu aab- : item 4 has no text, so 3 pairs
    assert (random["n"], random["wins"], random["losses"]) == (3, 1, 0)
    assert random["diff"] == pytest.approx(100 / 3)
    assert random["p_value"] == pytest.approx(1.0)


def test_pooled_conditions_pair_items_across_entries(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
    entry_b: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    summaries = [
        (plan, units, summarise_entry(plan, units, ["self"], resamples=RESAMPLES))
        for plan, units in (entry_a, entry_b)
    ]
    pooled = summarise_pooled(summaries, ["self"], resamples=RESAMPLES)
    english = pooled["renderings"]["self"]["conditions"]["english"]["vs_direct"]
    # a: aabb vs abbb wins item 2; b: ab vs aa loses item 2
    assert (english["n"], english["wins"], english["losses"]) == (6, 1, 1)
    assert english["diff"] == pytest.approx(0.0) and english["p_value"] == pytest.approx(1.0)
    table = pooled["renderings"]["self"]["conditions"]["table"]["vs_direct"]
    assert table["n"] == 4  # only entry a has a table bridge
