"""Turning stored item results into condition scores, oracle bridges, ranks and correlations.

For each entry and rendering: the score of every arm with a bootstrap interval; the conditions
(``direct``, ``english``, ``table``, ``random``) as arms; over ``all`` candidates the oracle
bridge (best task score), the rank of the table's bridge among the candidates by task score,
and the Spearman correlation between the table's HSIC scores and the task scores. Scored tasks
also carry their uncalibrated accuracy, to show what calibration changes.

Example:
    >>> rank_of("b", {"a": 50.0, "b": 40.0, "c": 40.0})
    2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from bridgex_chain.eval.cache import UnitFile
from bridgex_chain.eval.runner import Arm, EntryPlan
from bridgex_chain.eval.stats import Interval, bootstrap_interval, spearman

__all__ = ["rank_of", "summarise_entry"]


def rank_of(bridge: str, scores: Mapping[str, float]) -> int | None:
    """Return 1 + the number of candidates scoring strictly higher than ``bridge``."""
    if bridge not in scores:
        return None
    return 1 + sum(1 for s in scores.values() if s > scores[bridge])


def _interval(
    plan: EntryPlan, unit: UnitFile, *, calibrate: bool, resamples: int, seed: int
) -> tuple[Interval, int]:
    task = plan.task
    ids = [item.id for item in plan.items]
    records = [unit.records[i] for i in ids if i in unit.records]
    present = [r for r in records if not r.get("missing")]
    stats = [task.item_stats(r, unit.meta, calibrate=calibrate) for r in present]
    iv = bootstrap_interval(task.metric, stats, resamples=resamples, seed=seed)
    return iv, len(records) - len(present)


def _arm_result(plan: EntryPlan, unit: UnitFile, *, resamples: int, seed: int) -> dict[str, Any]:
    iv, missing = _interval(plan, unit, calibrate=True, resamples=resamples, seed=seed)
    out: dict[str, Any] = {**asdict(iv), "missing": missing}
    if plan.task.scored:
        raw, _ = _interval(plan, unit, calibrate=False, resamples=resamples, seed=seed)
        out["uncalibrated"] = raw.score
    records = [unit.records[i.id] for i in plan.items if i.id in unit.records]
    out["empty_renderings"] = sum(1 for r in records if r.get("note") == "empty_rendering")
    return out


def summarise_entry(
    plan: EntryPlan,
    units: Mapping[str, UnitFile],
    renderings: Sequence[str],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Return the JSON-ready summary of one entry.

    Args:
        plan: The entry's plan.
        units: Its units by arm name.
        renderings: The renderings evaluated.
        resamples: Bootstrap resamples.
        seed: Bootstrap seed.
    """
    arms = {
        name: _arm_result(plan, unit, resamples=resamples, seed=seed)
        for name, unit in units.items()
    }
    table = plan.table
    out: dict[str, Any] = {
        "task": plan.task.name,
        "metric": plan.task.metric_name,
        "src": plan.src,
        "trg": plan.trg,
        "n": len(plan.items),
        "candidates": plan.candidates,
        "direct": arms.get("direct"),
        "table": {
            "best": table.best,
            "hsic": table.hsic,
            "layers": {
                b: {str(k): v for k, v in sorted(ls.items())} for b, ls in table.layers.items()
            },
            "run_id": table.run_id,
            "pending": table.pending,
        },
        "unavailable": plan.unavailable,
        "renderings": {},
    }
    for rendering in renderings:
        by_bridge = {
            b: arms[Arm(rendering, b).name]
            for b in {*plan.candidates, *(x for x in plan.condition_bridges.values() if x)}
            if Arm(rendering, b).name in arms
        }
        conditions = {
            name: {"bridge": bridge, **by_bridge[bridge]}
            for name, bridge in plan.condition_bridges.items()
            if bridge is not None and bridge in by_bridge
        }
        scores = {b: by_bridge[b]["score"] for b in plan.candidates if b in by_bridge}
        result: dict[str, Any] = {"conditions": conditions, "bridges": by_bridge}
        if scores and len(scores) == len(plan.candidates):
            oracle = max(plan.candidates, key=lambda b: (scores[b], -plan.candidates.index(b)))
            result["oracle_bridge"] = oracle
            result["oracle_score"] = scores[oracle]
            if table.best is not None:
                result["table_rank"] = rank_of(table.best, scores)
            common = [b for b in plan.candidates if b in table.hsic]
            result["spearman"] = (
                spearman([table.hsic[b] for b in common], [scores[b] for b in common])
                if table.hsic
                else None
            )
        out["renderings"][rendering] = result
    return out
