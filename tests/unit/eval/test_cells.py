"""How results are named and formatted in the report, the plots and the CLI tables."""

from __future__ import annotations

from typing import Any

from bridgex_chain.eval.cells import (
    CONDITION_ORDER,
    condition_cells,
    entry_name,
    fmt_score,
    rank_cells,
    short,
    task_rows,
)


def _iv(score: float, low: float, high: float, **extra: Any) -> dict[str, Any]:
    return {"score": score, "low": low, "high": high, **extra}


def test_condition_order_and_short_codes() -> None:
    assert CONDITION_ORDER == (
        "direct", "english", "table", "detected", "evidence", "random", "oracle",
    )  # fmt: skip
    assert (short("fra_Latn"), short("eng"), short(""), short(None)) == ("fra", "eng", "—", "—")


def test_fmt_score_rounds_and_blanks_missing_or_nan() -> None:
    assert fmt_score(_iv(61.94, 47.56, 76.25)) == "61.9 [47.6, 76.2]"
    assert fmt_score(None) == fmt_score({}) == fmt_score({"score": None}) == "—"
    assert fmt_score(_iv(float("nan"), 0.0, 0.0)) == "—"


def test_entry_names() -> None:
    assert entry_name({"src": "swh_Latn", "trg": "swh_Latn"}) == "swh_Latn"
    assert entry_name({"src": "swh_Latn", "trg": "eng_Latn"}) == "swh_Latn→eng_Latn"
    assert entry_name({"src": "pooled", "trg": "pooled", "entries": 2}) == "all 2 pooled"


def test_task_rows_put_the_pooled_row_last() -> None:
    results = {
        "entries": [
            {"task": "bli", "src": "a"},
            {"task": "mrc", "src": "b"},
            {"task": "bli", "src": "c"},
        ],
        "pooled": [{"task": "mrc", "src": "pooled"}, {"task": "bli", "src": "pooled"}],
    }
    assert [r["src"] for r in task_rows(results, "bli")] == ["a", "c", "pooled"]
    assert [r["src"] for r in task_rows({"entries": results["entries"]}, "mrc")] == ["b"]


def test_condition_cells_label_bridges_ties_and_missing_conditions() -> None:
    entry = {
        "direct": _iv(50.0, 25.0, 75.0),
        "unavailable": {"table": "pending: no entry", "random": "no candidates"},
        "renderings": {
            "self": {
                "conditions": {"english": {"bridge": "eng_Latn", **_iv(60.0, 40.0, 80.0)}},
                "bridges": {"fra_Latn": _iv(70.0, 50.0, 90.0), "deu_Latn": _iv(70.0, 50.0, 90.0)},
                "oracle_bridge": "fra_Latn",
                "oracle_bridges": ["fra_Latn", "deu_Latn"],
            }
        },
    }
    assert condition_cells(entry, "self") == {
        "direct": "50.0 [25.0, 75.0]",
        "english": "60.0 [40.0, 80.0] (eng)",
        "table": "pending",
        "detected": "—",
        "evidence": "—",
        "random": "n/a",
        "oracle": "70.0 [50.0, 90.0] (fra=deu)",
    }
    # a rendering that was not run: only the direct cell has a value
    assert condition_cells(entry, "oracle")["english"] == "—"


def test_pooled_condition_cells_say_which_entries_they_cover() -> None:
    pooled = {
        "src": "pooled",
        "entries": 3,
        "direct": None,
        "renderings": {
            "self": {
                "conditions": {
                    "table": {"bridge": None, "entries": 2, "direct_same_entries": 41.25,
                              **_iv(55.0, 45.0, 65.0)},
                }
            }
        },
    }  # fmt: skip
    cells = condition_cells(pooled, "self")
    assert cells["direct"] == "—"
    assert cells["table"] == "55.0 [45.0, 65.0] (2 of 3 entries; direct on them 41.2)"


def test_a_table_without_an_entry_and_the_detected_policy() -> None:
    entry = {
        "direct": _iv(50.0, 25.0, 75.0),
        "unavailable": {"table": "no table entry (no run of this model): the chain goes direct"},
        "renderings": {
            "self": {
                "conditions": {
                    # the table policy's arm ran and went direct; detection found a bridge
                    "table": {"bridge": None, **_iv(50.0, 25.0, 75.0)},
                    "detected": {"bridge": None, **_iv(55.0, 30.0, 80.0)},
                }
            },
            "oracle": {"conditions": {}},
        },
    }
    cells = condition_cells(entry, "self")
    assert (cells["table"], cells["detected"]) == ("50.0 [25.0, 75.0]", "55.0 [30.0, 80.0]")
    oracle = condition_cells(entry, "oracle")  # no table bridge to give gold renderings
    assert (oracle["table"], oracle["detected"]) == ("no entry", "—")


def test_rank_cells_of_entries_and_pooled_rows() -> None:
    entry: dict[str, Any] = {
        "src": "swh_Latn",
        "candidates": ["eng_Latn", "fra_Latn", "deu_Latn"],
        "renderings": {"self": {"table_rank": 2, "spearman": -0.5}, "oracle": {}},
    }
    assert rank_cells(entry, "self") == ("2/3", "-0.50")
    assert rank_cells(entry, "oracle") == ("—", "—")
    interval = {"rho": -0.5, "low": -1.0, "high": 0.5, "n": 3, "items": 40}
    entry["renderings"]["self"]["spearman_interval"] = interval
    assert rank_cells(entry, "self") == ("2/3", "-0.50 [-1.00, +0.50]")
    # too few resamples defined the correlation: rho without an interval
    entry["renderings"]["self"]["spearman_interval"] = {**interval, "low": None, "high": None}
    assert rank_cells(entry, "self") == ("2/3", "-0.50")
    pooled = {
        "src": "pooled",
        "renderings": {"self": {"mean_table_rank": 1.5, "mean_spearman": 0.25}},
    }
    assert rank_cells(pooled, "self") == ("1.5 (mean)", "+0.25 (mean)")


def test_condition_cells_show_the_paired_test_against_direct() -> None:
    from bridgex_chain.eval.cells import condition_cells, fmt_paired

    entry = {
        "direct": {"score": 40.0, "low": 30.0, "high": 50.0},
        "renderings": {
            "self": {
                "conditions": {
                    "english": {
                        "bridge": "eng_Latn",
                        "score": 45.0,
                        "low": 35.0,
                        "high": 55.0,
                        "vs_direct": {"diff": 5.0, "p_value": 0.31, "significant": False},
                    },
                    "table": {
                        "bridge": "fra_Latn",
                        "score": 60.0,
                        "low": 50.0,
                        "high": 70.0,
                        "vs_direct": {"diff": 20.0, "p_value": 0.0004, "significant": True},
                    },
                }
            }
        },
    }
    cells = condition_cells(entry, "self")
    assert cells["english"] == "45.0 [35.0, 55.0] (eng); Δ +5.0, p=0.31, not significant"
    assert cells["table"] == "60.0 [50.0, 70.0] (fra); Δ +20.0, p<0.001"
    assert fmt_paired({"diff": -3.0, "p_value": 0.049, "significant": True}) == "Δ -3.0, p=0.049"
