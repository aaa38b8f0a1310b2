"""Turning stored item results into condition scores, oracle bridges, ranks and correlations.

For each entry and rendering: the score of every arm with a bootstrap interval; the conditions
(``direct``, ``english``, ``table``, ``random``) as arms; over ``all`` candidates the oracle
bridge (best task score; ``oracle_bridges`` lists every bridge tied for it), the rank of the
table's bridge among the candidates by task score, and the Spearman correlation between the
table's HSIC scores and the task scores. Scored tasks also carry their uncalibrated accuracy,
to show what calibration changes.

:func:`summarise_pooled` pools the items of every entry of a task per condition (the oracle
condition takes each entry's oracle bridge), so small per-language samples still add up to one
interval per condition.

Every condition is also tested against direct prompting on the same items
(:func:`~bridgex_chain.eval.stats.paired_test`: exact McNemar for accuracy, paired bootstrap for
chrF), per entry and pooled; the result's ``vs_direct`` holds the difference, the p-value and
whether it is significant.

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
from bridgex_chain.eval.stats import Interval, PairedTest, bootstrap_interval, paired_test, spearman

__all__ = ["rank_of", "summarise_entry", "summarise_pooled"]


def rank_of(bridge: str, scores: Mapping[str, float]) -> int | None:
    """Return 1 + the number of candidates scoring strictly higher than ``bridge``."""
    if bridge not in scores:
        return None
    return 1 + sum(1 for s in scores.values() if s > scores[bridge])


def _item_stats(
    plan: EntryPlan, unit: UnitFile, *, calibrate: bool
) -> tuple[list[list[float]], int]:
    """Return the statistics of the entry's items present in ``unit``, and how many lack a text."""
    done = [(unit.records[i.id], i) for i in plan.items if i.id in unit.records]
    present = [(r, i) for r, i in done if not r.get("missing")]
    stats = [plan.task.item_stats(r, i, unit.meta, calibrate=calibrate) for r, i in present]
    return stats, len(done) - len(present)


def _paired_rows(
    plan: EntryPlan, unit: UnitFile, baseline: UnitFile
) -> tuple[list[list[float]], list[list[float]]]:
    """Calibrated statistics of the items present (with a text) in both units, row-aligned."""
    cond: list[list[float]] = []
    base: list[list[float]] = []
    for item in plan.items:
        a, b = unit.records.get(item.id), baseline.records.get(item.id)
        if a is None or b is None or a.get("missing") or b.get("missing"):
            continue
        cond.append(plan.task.item_stats(a, item, unit.meta, calibrate=True))
        base.append(plan.task.item_stats(b, item, baseline.meta, calibrate=True))
    return cond, base


def _vs_direct(test: PairedTest | None) -> dict[str, Any] | None:
    if test is None:
        return None
    return {**asdict(test), "significant": test.significant}


def _interval(
    plan: EntryPlan, unit: UnitFile, *, calibrate: bool, resamples: int, seed: int
) -> tuple[Interval, int]:
    stats, missing = _item_stats(plan, unit, calibrate=calibrate)
    return bootstrap_interval(plan.task.metric, stats, resamples=resamples, seed=seed), missing


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
            for b in dict.fromkeys([*plan.candidates, *plan.condition_bridges.values()])
            if b is not None and Arm(rendering, b).name in arms
        }
        conditions = {
            name: {"bridge": bridge, **by_bridge[bridge]}
            for name, bridge in plan.condition_bridges.items()
            if bridge is not None and bridge in by_bridge
        }
        if "direct" in units:
            for name, bridge in plan.condition_bridges.items():
                if name in conditions:
                    unit = units[Arm(rendering, bridge).name]  # type: ignore[arg-type]
                    rows = _paired_rows(plan, unit, units["direct"])
                    test = paired_test(plan.task.metric, *rows, resamples=resamples, seed=seed)
                    conditions[name]["vs_direct"] = _vs_direct(test)
        scores = {b: by_bridge[b]["score"] for b in plan.candidates if b in by_bridge}
        result: dict[str, Any] = {"conditions": conditions, "bridges": by_bridge}
        if scores and len(scores) == len(plan.candidates):
            best = max(scores.values())
            tied = [b for b in plan.candidates if scores[b] == best]
            result["oracle_bridge"] = tied[0]  # ties: the first in candidate order
            result["oracle_bridges"] = tied
            result["oracle_score"] = best
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


def summarise_pooled(
    entries: Sequence[tuple[EntryPlan, Mapping[str, UnitFile], Mapping[str, Any]]],
    renderings: Sequence[str],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Return one task's conditions with the items of all its entries pooled.

    Args:
        entries: ``(plan, units by arm name, entry summary)`` of every entry of one task.
        renderings: The renderings evaluated.
        resamples: Bootstrap resamples.
        seed: Bootstrap seed.
    """
    task = entries[0][0].task

    def pooled(arms: Sequence[tuple[EntryPlan, UnitFile]], **extra: Any) -> dict[str, Any]:
        stats: list[list[float]] = []
        raw: list[list[float]] = []
        for plan, unit in arms:
            stats += _item_stats(plan, unit, calibrate=True)[0]
            if task.scored:
                raw += _item_stats(plan, unit, calibrate=False)[0]
        iv = bootstrap_interval(task.metric, stats, resamples=resamples, seed=seed)
        out: dict[str, Any] = {**asdict(iv), "entries": len(arms), **extra}
        if task.scored:
            out["uncalibrated"] = task.metric.score(raw) if raw else float("nan")
        return out

    direct = [(plan, units["direct"]) for plan, units, _ in entries if "direct" in units]
    result: dict[str, Any] = {
        "task": task.name,
        "metric": task.metric_name,
        "src": "pooled",
        "trg": "pooled",
        "n": sum(len(plan.items) for plan, _, _ in entries),
        "entries": len(entries),
        "direct": pooled(direct) if direct else None,
        "renderings": {},
    }
    for rendering in renderings:
        conditions: dict[str, Any] = {}
        for name in ("english", "table", "random", "oracle"):
            arms = []
            for plan, units, summary in entries:
                rend = summary["renderings"].get(rendering, {})
                bridge = (
                    rend.get("oracle_bridge")
                    if name == "oracle"
                    else plan.condition_bridges.get(name)
                )
                arm = Arm(rendering, bridge).name if bridge else None
                if arm is not None and arm in units:
                    arms.append((plan, units[arm]))
            if arms:
                conditions[name] = pooled(arms, bridge=None)
                cond_rows: list[list[float]] = []
                base_rows: list[list[float]] = []
                for plan, unit in arms:
                    units_of = next(u for p, u, _ in entries if p is plan)
                    if "direct" in units_of:
                        a, b = _paired_rows(plan, unit, units_of["direct"])
                        cond_rows += a
                        base_rows += b
                test = paired_test(
                    task.metric, cond_rows, base_rows, resamples=resamples, seed=seed
                )
                conditions[name]["vs_direct"] = _vs_direct(test)
                same = [(p, units["direct"]) for p, units, _ in entries if "direct" in units]
                same = [(p, u) for p, u in same if any(p is q for q, _ in arms)]
                if len(arms) < len(entries) and same:
                    # a fair baseline: direct prompting on the same entries only
                    conditions[name]["direct_same_entries"] = pooled(same)["score"]
        ranks = [
            r["table_rank"]
            for _, _, summary in entries
            if (r := summary["renderings"].get(rendering, {})).get("table_rank") is not None
        ]
        rhos = [
            r["spearman"]
            for _, _, summary in entries
            if (r := summary["renderings"].get(rendering, {})).get("spearman") is not None
        ]
        result["renderings"][rendering] = {
            "conditions": conditions,
            "bridges": {},
            "mean_table_rank": sum(ranks) / len(ranks) if ranks else None,
            "mean_spearman": sum(rhos) / len(rhos) if rhos else None,
        }
    return result
