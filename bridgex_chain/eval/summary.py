"""Turning stored item records into condition scores, oracle bridges, ranks and correlations.

For each entry and rendering: the score of every arm with a bootstrap interval; the conditions
— ``english`` and ``random`` (their bridge's arm), ``table`` (the chain under the table policy;
under the oracle rendering, the table's bridge with gold renderings), ``detected`` (the table
policy with the chain's own language detection) — and over ``all`` candidates the oracle bridge
(best task score; ``oracle_bridges`` lists every bridge tied for it), the rank of the table's
bridge among the candidates by task score, and Spearman's correlation between the table's HSIC
scores and the task scores with its 95 % interval over item resamples.

:func:`summarise_pooled` pools the items of every entry of a task per condition (the oracle
condition takes each entry's oracle bridge), so per-language samples add up to one interval per
condition.

Every condition is also tested against direct prompting on the same items
(:func:`~bridgex_chain.eval.stats.paired_test`: exact McNemar for accuracy, paired bootstrap for
chrF), per entry and pooled; the result's ``vs_direct`` holds the difference, the p-value and
whether it is significant. Items whose record is missing (no parallel text) or failed (the
chain raised; ``errors`` counts them) are left out of every score and pair.

Example:
    >>> rank_of("b", {"a": 50.0, "b": 40.0, "c": 40.0})
    2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from bridgex_chain.eval.cache import UnitFile
from bridgex_chain.eval.runner import POLICY_ARMS, Arm, EntryPlan
from bridgex_chain.eval.stats import (
    Interval,
    PairedTest,
    bootstrap_interval,
    paired_test,
    spearman_interval,
)

__all__ = ["condition_arm", "rank_of", "summarise_entry", "summarise_pooled"]

POOLED_CONDITIONS = ("english", "table", "detected", "evidence", "random", "oracle")


def rank_of(bridge: str, scores: Mapping[str, float]) -> int | None:
    """Return 1 + the number of candidates scoring strictly higher than ``bridge``."""
    if bridge not in scores:
        return None
    return 1 + sum(1 for s in scores.values() if s > scores[bridge])


def condition_arm(plan: EntryPlan, rendering: str, name: str) -> str | None:
    """The arm that measures condition ``name`` under ``rendering`` for one entry, if any.

    Example:
        >>> from bridgex_chain.eval.runner import TableInfo
        >>> plan = EntryPlan(None, "swh_Latn", "swh_Latn", [], [], TableInfo("fra_Latn"),
        ...                  {"table": "fra_Latn"}, {}, [Arm("table"), Arm("oracle", "fra_Latn")])
        >>> condition_arm(plan, "self", "table"), condition_arm(plan, "oracle", "table")
        ('table', 'oracle-fra_Latn')
    """
    arms = {arm.name for arm in plan.arms}
    if rendering == "self" and name in POLICY_ARMS:
        return name if name in arms else None
    if name in POLICY_ARMS and name != "table":
        return None
    bridge = plan.condition_bridges.get(name)
    found = Arm(rendering, bridge).name if bridge else None
    return found if found in arms else None


def _usable(record: Mapping[str, Any] | None) -> bool:
    return record is not None and not record.get("missing") and "error" not in record


def _item_stats(plan: EntryPlan, unit: UnitFile) -> list[list[float]]:
    """The statistics of the entry's items with a usable record in ``unit``."""
    return [
        plan.task.item_stats(unit.records[i.id], i)
        for i in plan.items
        if _usable(unit.records.get(i.id))
    ]


def _paired_rows(
    plan: EntryPlan, unit: UnitFile, baseline: UnitFile
) -> tuple[list[list[float]], list[list[float]]]:
    """Statistics of the items usable in both units, row-aligned."""
    cond: list[list[float]] = []
    base: list[list[float]] = []
    for item in plan.items:
        a, b = unit.records.get(item.id), baseline.records.get(item.id)
        if _usable(a) and _usable(b):
            assert a is not None and b is not None
            cond.append(plan.task.item_stats(a, item))
            base.append(plan.task.item_stats(b, item))
    return cond, base


def _paired(
    plan: EntryPlan,
    units: Mapping[str, UnitFile],
    arm: str,
    baseline: str,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any] | None:
    """The paired test of arm ``arm`` against arm ``baseline`` on the items both have."""
    rows = _paired_rows(plan, units[arm], units[baseline])
    return _vs_direct(paired_test(plan.task.metric, *rows, resamples=resamples, seed=seed))


def _vs_direct(test: PairedTest | None) -> dict[str, Any] | None:
    if test is None:
        return None
    return {**asdict(test), "significant": test.significant}


def _interval(plan: EntryPlan, unit: UnitFile, *, resamples: int, seed: int) -> Interval:
    stats = _item_stats(plan, unit)
    return bootstrap_interval(plan.task.metric, stats, resamples=resamples, seed=seed)


def _arm_result(plan: EntryPlan, unit: UnitFile, *, resamples: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = asdict(_interval(plan, unit, resamples=resamples, seed=seed))
    records = [unit.records[i.id] for i in plan.items if i.id in unit.records]
    out["missing"] = sum(1 for r in records if r.get("missing"))
    out["errors"] = sum(1 for r in records if "error" in r)
    out["bridged"] = sum(1 for r in records if _usable(r) and r.get("bridge"))
    fallbacks: dict[str, int] = {}
    for r in records:
        if _usable(r) and r.get("fallback"):
            fallbacks[r["fallback"]] = fallbacks.get(r["fallback"], 0) + 1
    out["fallbacks"] = fallbacks
    rules: dict[str, int] = {}
    for r in records:
        if _usable(r) and r.get("evidence_rule"):
            rules[r["evidence_rule"]] = rules.get(r["evidence_rule"], 0) + 1
    if rules:
        out["evidence_rules"] = rules  # the evidence policy's rule that fired, per item
        used: dict[str, int] = {}
        for r in records:
            if _usable(r) and r.get("bridge"):
                used[r["bridge"]] = used.get(r["bridge"], 0) + 1
        out["bridges_used"] = used
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
        conditions: dict[str, Any] = {}
        for name in ("english", "table", "detected", "evidence", "random"):
            arm = condition_arm(plan, rendering, name)
            if arm is None:
                continue
            bridge = plan.condition_bridges.get("table" if name == "detected" else name)
            if name == "evidence":  # the bridge the policy took most often (None: direct)
                used = arms[arm].get("bridges_used") or {}
                bridge = max(used, key=lambda b: used[b]) if used else None
            conditions[name] = {"bridge": bridge, **arms[arm]}
            if "direct" in units:
                rows = _paired_rows(plan, units[arm], units["direct"])
                test = paired_test(plan.task.metric, *rows, resamples=resamples, seed=seed)
                conditions[name]["vs_direct"] = _vs_direct(test)
        if "direct" in units:  # every single bridge against direct: does any of them help?
            by_bridge = {
                b: {
                    **found,
                    "vs_direct": _paired(
                        plan, units, Arm(rendering, b).name, "direct", resamples, seed
                    ),
                }
                for b, found in by_bridge.items()
            }
        evidence_arm = condition_arm(plan, rendering, "evidence")
        if evidence_arm is not None and evidence_arm in units:  # the policy against each bridge
            conditions["evidence"]["vs_bridges"] = {
                b: _paired(plan, units, evidence_arm, Arm(rendering, b).name, resamples, seed)
                for b in by_bridge
            }
        scores = {b: by_bridge[b]["score"] for b in plan.candidates if b in by_bridge}
        result: dict[str, Any] = {"conditions": conditions, "bridges": by_bridge}
        complete = all(s == s for s in scores.values())  # NaN: a candidate without items yet
        if scores and len(scores) == len(plan.candidates) and complete:
            best = max(scores.values())
            tied = [b for b in plan.candidates if scores[b] == best]
            result["oracle_bridge"] = tied[0]  # ties: the first in candidate order
            result["oracle_bridges"] = tied
            result["oracle_score"] = best
            if table.best is not None:
                result["table_rank"] = rank_of(table.best, scores)
            result.update(_correlation(plan, units, rendering, resamples=resamples, seed=seed))
        out["renderings"][rendering] = result
    return out


def _correlation(
    plan: EntryPlan, units: Mapping[str, UnitFile], rendering: str, *, resamples: int, seed: int
) -> dict[str, Any]:
    """Spearman(HSIC, task score) over the candidates, on the items every candidate has."""
    common = [b for b in plan.candidates if b in plan.table.hsic]
    if not common:
        return {"spearman": None, "spearman_interval": None}
    bridge_units = [units[Arm(rendering, b).name] for b in common]
    items = [i for i in plan.items if all(_usable(u.records.get(i.id)) for u in bridge_units)]
    rows = [[plan.task.item_stats(u.records[i.id], i) for i in items] for u in bridge_units]
    hsic = [plan.table.hsic[b] for b in common]
    found = spearman_interval(plan.task.metric, hsic, rows, resamples=resamples, seed=seed)
    if found is None:
        return {"spearman": None, "spearman_interval": None}
    return {"spearman": found.rho, "spearman_interval": asdict(found)}


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
        for plan, unit in arms:
            stats += _item_stats(plan, unit)
        iv = bootstrap_interval(task.metric, stats, resamples=resamples, seed=seed)
        return {**asdict(iv), "entries": len(arms), **extra}

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
        for name in POOLED_CONDITIONS:
            arms: list[tuple[EntryPlan, UnitFile, Mapping[str, UnitFile]]] = []
            for plan, units, summary in entries:
                if name == "oracle":
                    bridge = summary["renderings"].get(rendering, {}).get("oracle_bridge")
                    arm = Arm(rendering, bridge).name if bridge else None
                else:
                    arm = condition_arm(plan, rendering, name)
                if arm is not None and arm in units and _item_stats(plan, units[arm]):
                    arms.append((plan, units[arm], units))  # entries with items (a partial run)
            if not arms:
                continue
            conditions[name] = pooled([(p, u) for p, u, _ in arms], bridge=None)
            cond_rows: list[list[float]] = []
            base_rows: list[list[float]] = []
            for plan, unit, units_of in arms:
                if "direct" in units_of:
                    a, b = _paired_rows(plan, unit, units_of["direct"])
                    cond_rows += a
                    base_rows += b
            test = paired_test(task.metric, cond_rows, base_rows, resamples=resamples, seed=seed)
            conditions[name]["vs_direct"] = _vs_direct(test)
            if name == "evidence":
                conditions[name]["vs_english"] = _pooled_vs_english(
                    arms, rendering, resamples=resamples, seed=seed
                )
            if len(arms) < len(entries):
                same = [
                    (p, all_units["direct"]) for p, _, all_units in arms if "direct" in all_units
                ]
                score = pooled(same)["score"] if same else float("nan")
                if score == score:  # a fair baseline: direct prompting on the same entries only
                    conditions[name]["direct_same_entries"] = score
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


def _pooled_vs_english(
    arms: Sequence[tuple[EntryPlan, UnitFile, Mapping[str, UnitFile]]],
    rendering: str,
    *,
    resamples: int,
    seed: int,
) -> dict[str, Any] | None:
    """A policy's pooled items against the English bridge's, on the entries that have both."""
    rows: tuple[list[list[float]], list[list[float]]] = ([], [])
    metric = None
    for plan, unit, units in arms:
        english = condition_arm(plan, rendering, "english")
        if english is None or english not in units:
            continue
        a, b = _paired_rows(plan, unit, units[english])
        rows[0].extend(a)
        rows[1].extend(b)
        metric = plan.task.metric
    if metric is None:
        return None
    return _vs_direct(paired_test(metric, *rows, resamples=resamples, seed=seed))
