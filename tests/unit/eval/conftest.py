"""Fixtures of the eval tests: a small results dictionary as ``run_evaluation`` writes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


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
