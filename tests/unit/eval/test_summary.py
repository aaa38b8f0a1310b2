"""Tests for bridgex_chain.eval.summary: condition scores, oracle bridges, ranks, pooling.

Entries are built by hand (EntryPlan, UnitFile) with tiny tasks whose item is right when the
stored output equals the gold (or the stored ``correct`` is true), so every score below is
worked out by hand.
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
from bridgex_chain.eval.summary import condition_arm, rank_of, summarise_entry, summarise_pooled
from bridgex_chain.eval.tasks import Task

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

    def request(self, item: Item, src: str, trg: str) -> dict[str, Any]:
        raise AssertionError("summaries never ask the chain")

    def output_stats(self, output: str, item: Item) -> list[float]:
        return self.metric.item_stats(output == item.gold)


class ChoiceTask(ExactTask):
    """A scored task: the stored record says whether the chain's choice was right."""

    name = "choice"
    scored = True


def items(n: int) -> list[Item]:
    return [Item(str(i), f"text {i}", "a") for i in range(1, n + 1)]


def arm_of(name: str) -> Arm:
    rendering, _, bridge = name.partition("-")
    return Arm(rendering, bridge or None)


def plan(
    task: Task,
    src: str,
    n: int,
    *,
    table: TableInfo,
    conditions: Mapping[str, str | None],
    arms: list[str],
    unavailable: Mapping[str, str] | None = None,
) -> EntryPlan:
    return EntryPlan(
        task, src, src, items(n), list(CANDIDATES), table, dict(conditions),
        dict(unavailable or {}), [arm_of(a) for a in arms],
    )  # fmt: skip


def unit(root: Path, name: str, rows: list[dict[str, Any]]) -> UnitFile:
    result = UnitFile(root / f"{name}.jsonl", {"arm": name})
    for row in rows:
        result.append(row)
    return result


def outputs(root: Path, name: str, answers: str, *, bridge: str | None = None) -> UnitFile:
    """Item ``i`` answered ``answers[i-1]``: ``-`` no text in the bridge, ``!`` the chain raised.

    Every answered item went through ``bridge`` (None: direct, ``fallback="no_bridge"``).
    """
    rows: list[dict[str, Any]] = []
    for i, answer in enumerate(answers, start=1):
        if answer == "-":
            rows.append({"id": str(i), "missing": True})
        elif answer == "!":
            rows.append({"id": str(i), "error": "RuntimeError: boom"})
        else:
            fallback = None if bridge else "no_bridge"
            rows.append({"id": str(i), "output": answer, "bridge": bridge, "fallback": fallback})
    return unit(root, name, rows)


ARMS_A = ["direct", "table", "detected", *(f"self-{b}" for b in CANDIDATES), "oracle-fra_Latn"]


@pytest.fixture
def entry_a(tmp_path: Path) -> tuple[EntryPlan, dict[str, UnitFile]]:
    """swh_Latn, 4 items, table fra. self: eng 50, fra 75, deu 2 of 3 (one missing).

    The table policy: 3 of 4; detected: 3 right, the fourth failed (the chain raised).
    """
    table = TableInfo(
        best="fra_Latn",
        hsic={"eng_Latn": 0.1, "fra_Latn": 0.3, "deu_Latn": 0.2},
        layers={"fra_Latn": {10: 0.5, 2: 0.4}},
        run_id=7,
    )
    conditions = {"english": "eng_Latn", "table": "fra_Latn", "random": "deu_Latn"}
    entry = plan(
        ExactTask(limit=None, seed=0),
        "swh_Latn",
        4,
        table=table,
        conditions=conditions,
        arms=ARMS_A,
    )
    root = tmp_path / "a"
    units = {
        "direct": outputs(root, "direct", "abbb"),
        "table": outputs(root, "table", "aaab", bridge="fra_Latn"),
        "detected": outputs(root, "detected", "aaa!", bridge="fra_Latn"),
        "self-eng_Latn": outputs(root, "self-eng", "aabb", bridge="eng_Latn"),
        "self-fra_Latn": outputs(root, "self-fra", "aaab", bridge="fra_Latn"),
        "self-deu_Latn": outputs(root, "self-deu", "aab-", bridge="deu_Latn"),
        "oracle-fra_Latn": outputs(root, "oracle-fra", "aaaa", bridge="fra_Latn"),
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
        arms=["direct", *(f"self-{b}" for b in CANDIDATES)],
        unavailable={"table": "no table entry (no run of this model): the chain goes direct"},
    )
    root = tmp_path / "b"
    units = {
        "direct": outputs(root, "direct", "aa"),
        "self-eng_Latn": outputs(root, "self-eng", "ab", bridge="eng_Latn"),
        "self-fra_Latn": outputs(root, "self-fra", "bb", bridge="fra_Latn"),
        "self-deu_Latn": outputs(root, "self-deu", "aa", bridge="deu_Latn"),
    }
    return entry, units


# --------------------------------------------------------------------------- rank_of, arms


def test_rank_of_counts_strictly_better_candidates() -> None:
    scores = {"a": 50.0, "b": 40.0, "c": 40.0, "d": 10.0}
    assert rank_of("a", scores) == 1
    assert rank_of("b", scores) == rank_of("c", scores) == 2  # ties share the better rank
    assert rank_of("d", scores) == 4
    assert rank_of("missing", scores) is None
    assert rank_of("a", {}) is None


def test_condition_arm_is_the_policy_arm_under_self_and_the_bridge_arm_under_oracle(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, _ = entry_a
    assert condition_arm(entry, "self", "table") == "table"
    assert condition_arm(entry, "self", "detected") == "detected"
    assert condition_arm(entry, "self", "english") == "self-eng_Latn"
    assert condition_arm(entry, "self", "random") == "self-deu_Latn"
    assert condition_arm(entry, "oracle", "table") == "oracle-fra_Latn"
    assert condition_arm(entry, "oracle", "english") is None  # no such arm was planned
    assert condition_arm(entry, "oracle", "detected") is None  # detection has no gold text
    assert condition_arm(entry, "self", "unknown") is None


# --------------------------------------------------------------------------- summarise_entry


def test_entry_summary_scores_every_arm(entry_a: tuple[EntryPlan, dict[str, UnitFile]]) -> None:
    entry, units = entry_a
    out = summarise_entry(entry, units, ["self", "oracle"], resamples=RESAMPLES)
    assert (out["task"], out["metric"], out["src"], out["trg"], out["n"]) == (
        "exact", "accuracy", "swh_Latn", "swh_Latn", 4,
    )  # fmt: skip
    assert out["candidates"] == CANDIDATES
    direct = out["direct"]
    assert (direct["score"], direct["n"], direct["missing"], direct["errors"]) == (25.0, 4, 0, 0)
    assert direct["low"] <= 25.0 <= direct["high"]
    assert (direct["bridged"], direct["fallbacks"]) == (0, {"no_bridge": 4})
    assert "uncalibrated" not in direct

    bridges = out["renderings"]["self"]["bridges"]
    assert list(bridges) == CANDIDATES
    assert (bridges["eng_Latn"]["score"], bridges["eng_Latn"]["n"]) == (50.0, 4)
    assert (bridges["fra_Latn"]["score"], bridges["fra_Latn"]["bridged"]) == (75.0, 4)
    deu = bridges["deu_Latn"]
    assert (deu["score"], deu["n"], deu["missing"], deu["bridged"]) == (
        pytest.approx(200 / 3), 3, 1, 3,
    )  # fmt: skip


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
        "detected": "fra_Latn",  # the table's bridge; detection may route elsewhere
        "random": "deu_Latn",
    }
    assert conditions["table"]["score"] == 75.0  # the table policy's own arm
    # detected: the failed item is an error, left out of the score
    detected = conditions["detected"]
    assert (detected["score"], detected["n"], detected["errors"]) == (100.0, 3, 1)
    assert rendering["oracle_bridge"] == "fra_Latn"
    assert rendering["oracle_bridges"] == ["fra_Latn"]
    assert rendering["oracle_score"] == 75.0
    assert rendering["table_rank"] == 1
    # on the items every candidate has (not 4: no German text): eng 2/3 = deu 2/3 < fra 3/3,
    # against HSIC eng < deu < fra
    assert rendering["spearman"] == pytest.approx(3**0.5 / 2)
    interval = rendering["spearman_interval"]
    assert (interval["rho"], interval["n"], interval["items"]) == (rendering["spearman"], 3, 3)
    assert interval["low"] <= interval["rho"] <= interval["high"]


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
    assert rendering["spearman_interval"] is None
    assert out["table"]["pending"] == "no run of this model"
    assert out["unavailable"] == {
        "table": "no table entry (no run of this model): the chain goes direct"
    }
    assert "table" not in rendering["conditions"]


def test_an_entry_without_a_direct_unit_has_no_direct_score_nor_paired_tests(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_a
    without = {name: u for name, u in units.items() if name != "direct"}
    out = summarise_entry(entry, without, ["self"], resamples=RESAMPLES)
    assert out["direct"] is None
    assert all("vs_direct" not in c for c in out["renderings"]["self"]["conditions"].values())


def test_items_not_yet_computed_are_left_out(tmp_path: Path) -> None:
    entry = plan(
        ExactTask(limit=None, seed=0), "swh_Latn", 4, table=TableInfo(), conditions={}, arms=[]
    )
    partial = outputs(tmp_path, "direct", "ab")  # items 3 and 4 have no result yet
    direct = summarise_entry(entry, {"direct": partial}, [], resamples=RESAMPLES)["direct"]
    assert (direct["score"], direct["n"], direct["missing"]) == (50.0, 2, 0)


def test_an_empty_unit_scores_nan(tmp_path: Path) -> None:
    entry = plan(
        ExactTask(limit=None, seed=0), "swh_Latn", 2, table=TableInfo(), conditions={}, arms=[]
    )
    direct = summarise_entry(entry, {"direct": outputs(tmp_path, "d", "")}, [])["direct"]
    assert math.isnan(direct["score"]) and direct["n"] == 0


def test_the_bootstrap_is_seeded(entry_a: tuple[EntryPlan, dict[str, UnitFile]]) -> None:
    entry, units = entry_a
    first = summarise_entry(entry, units, ["self"], resamples=RESAMPLES, seed=3)
    again = summarise_entry(entry, units, ["self"], resamples=RESAMPLES, seed=3)
    assert first == again


def test_scored_tasks_count_the_stored_correct_flags(tmp_path: Path) -> None:
    entry = plan(
        ChoiceTask(limit=None, seed=0), "swh_Latn", 3, table=TableInfo(), conditions={}, arms=[]
    )
    direct = unit(
        tmp_path,
        "direct",
        [
            {"id": "1", "choice": 1, "correct": True},
            {"id": "2", "choice": None, "correct": False},  # the answer matched no choice
            {"id": "3", "choice": 0, "correct": True},
        ],
    )
    result = summarise_entry(entry, {"direct": direct}, [], resamples=RESAMPLES)["direct"]
    assert (result["score"], result["n"]) == (pytest.approx(200 / 3), 3)


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
    assert list(conditions) == ["english", "table", "detected", "random", "oracle"]
    assert all(c["bridge"] is None for c in conditions.values())
    # english: A eng 2/4 + B eng 1/2
    assert (conditions["english"]["score"], conditions["english"]["n"]) == (50.0, 6)
    # random: A deu 2/3 (one missing) + B fra 0/2
    assert (conditions["random"]["score"], conditions["random"]["n"]) == (40.0, 5)
    # oracle: each entry's own oracle bridge, A fra 3/4 + B deu 2/2
    assert conditions["oracle"]["score"] == pytest.approx(500 / 6)
    assert conditions["oracle"]["entries"] == 2
    # table and detected: only A has the table policy; direct on A alone is the fair baseline
    assert (conditions["table"]["score"], conditions["table"]["entries"]) == (75.0, 1)
    assert conditions["table"]["direct_same_entries"] == 25.0
    assert (conditions["detected"]["score"], conditions["detected"]["n"]) == (100.0, 3)
    assert "direct_same_entries" not in conditions["english"]  # it covers every entry
    assert self_["mean_table_rank"] == 1.0  # A's rank; B has none
    assert self_["mean_spearman"] == pytest.approx(3**0.5 / 2)
    assert self_["bridges"] == {}


def test_pooled_summary_without_ranks_or_direct_units(
    entry_b: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_b
    bridged = {name: u for name, u in units.items() if name != "direct"}
    summary = summarise_entry(entry, bridged, ["self"], resamples=RESAMPLES)
    out = summarise_pooled([(entry, bridged, summary)], ["self", "oracle"], resamples=RESAMPLES)
    assert out["direct"] is None
    english = out["renderings"]["self"]["conditions"]["english"]
    assert "direct_same_entries" not in english and english["vs_direct"] is None
    assert out["renderings"]["self"]["mean_table_rank"] is None
    assert out["renderings"]["self"]["mean_spearman"] is None
    assert out["renderings"]["oracle"]["conditions"] == {}  # no oracle arm was computed


# --------------------------------------------------------------------------- paired tests


def test_every_condition_is_tested_against_direct_on_the_same_items(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_a
    conditions = summarise_entry(entry, units, ["self"], resamples=RESAMPLES)["renderings"]["self"][
        "conditions"
    ]
    table = conditions["table"]["vs_direct"]  # direct abbb vs table aaab: items 2 and 3 won
    assert (table["test"], table["n"], table["wins"], table["losses"]) == ("mcnemar-exact", 4, 2, 0)
    assert table["diff"] == pytest.approx(50.0)
    assert table["p_value"] == pytest.approx(0.5) and table["significant"] is False
    random = conditions["random"]["vs_direct"]  # deu aab- : item 4 has no text, so 3 pairs
    assert (random["n"], random["wins"], random["losses"]) == (3, 1, 0)
    assert random["diff"] == pytest.approx(100 / 3)
    assert random["p_value"] == pytest.approx(1.0)
    detected = conditions["detected"]["vs_direct"]  # aaa! : the failed item is not paired
    assert (detected["n"], detected["wins"], detected["losses"]) == (3, 2, 0)


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
    assert table["n"] == 4  # only entry a has a table policy arm


def test_a_candidate_without_items_yet_gives_no_oracle_bridge(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]], tmp_path: Path
) -> None:
    """A run in progress (--report-only): one candidate's arm is still empty."""
    entry, units = entry_a
    empty = entry.arms[3]  # a self-<bridge> arm
    partial = dict(units)
    partial[empty.name] = UnitFile(tmp_path / "empty.jsonl", {"arm": empty.name})
    rendering = summarise_entry(entry, partial, ["self"], resamples=RESAMPLES)["renderings"]["self"]
    assert "oracle_bridge" not in rendering and "table_rank" not in rendering
    assert rendering["bridges"][empty.bridge]["n"] == 0


def test_pooled_conditions_count_only_entries_with_items(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
    entry_b: tuple[EntryPlan, dict[str, UnitFile]],
    tmp_path: Path,
) -> None:
    """A run in progress: B's English arm has no items yet, so English pools A alone."""
    b_plan, b_units = entry_b
    b_units = {**b_units, "self-eng_Latn": UnitFile(tmp_path / "e.jsonl", {"arm": "e"})}
    entries = [
        (entry, units, summarise_entry(entry, units, ["self"], resamples=RESAMPLES))
        for entry, units in (entry_a, (b_plan, b_units))
    ]
    english = summarise_pooled(entries, ["self"], resamples=RESAMPLES)["renderings"]["self"][
        "conditions"
    ]["english"]
    assert (english["score"], english["n"], english["entries"]) == (50.0, 4, 1)
    assert english["direct_same_entries"] == 25.0  # direct on A only


# --------------------------------------------------------------------------- evidence policy


def with_evidence(
    entry: tuple[EntryPlan, dict[str, UnitFile]], root: Path, answers: str
) -> tuple[EntryPlan, dict[str, UnitFile]]:
    """The entry plus an ``evidence`` arm that answered ``answers`` directly."""
    found, units = entry
    extended = EntryPlan(
        found.task, found.src, found.trg, found.items, found.candidates, found.table,
        found.condition_bridges, found.unavailable, [*found.arms, Arm("evidence")],
    )  # fmt: skip
    return extended, {**units, "evidence": outputs(root, f"evidence-{found.src}", answers)}


def test_every_single_bridge_is_tested_against_direct(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
) -> None:
    entry, units = entry_a
    bridges = summarise_entry(entry, units, ["self"], resamples=RESAMPLES)["renderings"]["self"][
        "bridges"
    ]
    fra = bridges["fra_Latn"]["vs_direct"]  # aaab vs direct abbb
    assert (fra["n"], fra["wins"], fra["losses"]) == (4, 2, 0)
    deu = bridges["deu_Latn"]["vs_direct"]  # aab- : three pairs
    assert (deu["n"], deu["wins"], deu["losses"]) == (3, 1, 0)
    assert bridges["eng_Latn"]["vs_direct"]["diff"] == pytest.approx(25.0)


def test_the_evidence_policy_is_tested_against_every_single_bridge(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]], tmp_path: Path
) -> None:
    entry, units = with_evidence(entry_a, tmp_path, "abbb")  # as direct
    evidence = summarise_entry(entry, units, ["self"], resamples=RESAMPLES)["renderings"]["self"][
        "conditions"
    ]["evidence"]
    assert evidence["bridge"] is None and evidence["bridged"] == 0
    assert evidence["vs_direct"]["diff"] == pytest.approx(0.0)
    fra = evidence["vs_bridges"]["fra_Latn"]  # abbb vs aaab: two losses
    assert (fra["n"], fra["wins"], fra["losses"]) == (4, 0, 2)
    assert fra["diff"] == pytest.approx(-50.0)
    assert set(evidence["vs_bridges"]) == set(CANDIDATES)


def test_the_pooled_evidence_policy_is_tested_against_english(
    entry_a: tuple[EntryPlan, dict[str, UnitFile]],
    entry_b: tuple[EntryPlan, dict[str, UnitFile]],
    tmp_path: Path,
) -> None:
    a = with_evidence(entry_a, tmp_path, "aaaa")  # English aabb: wins items 3, 4
    b = with_evidence(entry_b, tmp_path, "bb")  # English ab: loses item 1
    b_plan, b_units = b
    b_plan.arms.remove(Arm("evidence"))  # no table policy for b: only a's evidence pools
    summaries = [
        (plan, units, summarise_entry(plan, units, ["self"], resamples=RESAMPLES))
        for plan, units in (a, (b_plan, b_units))
    ]
    evidence = summarise_pooled(summaries, ["self"], resamples=RESAMPLES)["renderings"]["self"][
        "conditions"
    ]["evidence"]
    english = evidence["vs_english"]
    assert (english["n"], english["wins"], english["losses"]) == (4, 2, 0)
    assert english["diff"] == pytest.approx(50.0)
