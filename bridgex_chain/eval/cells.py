"""Names and formatted cells of evaluation results, shared by the report, plots and the CLI.

A results dictionary (``results.json``) is read the same way wherever it is shown: conditions
in :data:`CONDITION_ORDER`, entries named by :func:`entry_name`, scores with their interval by
:func:`fmt_score`.

Example:
    >>> fmt_score({"score": 61.9, "low": 47.6, "high": 76.2})
    '61.9 [47.6, 76.2]'
    >>> entry_name({"src": "swh_Latn", "trg": "eng_Latn"}), short("fra_Latn")
    ('swh_Latn→eng_Latn', 'fra')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridgex_chain.eval.runner import CONDITIONS

__all__ = [
    "CONDITION_ORDER",
    "condition_cells",
    "entry_name",
    "fmt_paired",
    "fmt_score",
    "rank_cells",
    "short",
    "task_rows",
]

#: The conditions, in the order every table and plot shows them.
CONDITION_ORDER: tuple[str, ...] = (*(c for c in CONDITIONS if c != "all"), "oracle")


def short(code: str | None) -> str:
    """Return the language part of a FLORES code (``fra_Latn`` → ``fra``; ``—`` for none).

    Example:
        >>> short("fra_Latn"), short(None)
        ('fra', '—')
    """
    return "—" if not code else code.split("_", 1)[0]


def fmt_score(result: Mapping[str, Any] | None) -> str:
    """Format a score with its interval (``—`` when absent or NaN).

    Example:
        >>> fmt_score(None), fmt_score({"score": float("nan"), "low": 0.0, "high": 0.0})
        ('—', '—')
    """
    if not result or result.get("score") is None or result["score"] != result["score"]:
        return "—"
    return f"{result['score']:.1f} [{result['low']:.1f}, {result['high']:.1f}]"


def fmt_paired(test: Mapping[str, Any] | None) -> str:
    """Format a paired test against direct prompting (empty when there is none).

    Example:
        >>> fmt_paired({"diff": 10.0, "p_value": 0.2134, "significant": False})
        'Δ +10.0, p=0.21, not significant'
        >>> fmt_paired({"diff": -8.5, "p_value": 0.0031, "significant": True})
        'Δ -8.5, p=0.003'
        >>> fmt_paired(None)
        ''
    """
    if not test:
        return ""
    p, diff = test["p_value"], f"Δ {test['diff']:+.1f}"
    shown = "p<0.001" if p < 0.001 else f"p={p:.3f}" if p < 0.1 else f"p={p:.2f}"
    text = f"{diff}, {shown}"
    return text if test["significant"] else text + ", not significant"


def condition_cells(entry: Mapping[str, Any], rendering: str) -> dict[str, str]:
    """Return the formatted cell of each condition of one entry (or pooled row) and rendering.

    A condition the run could not evaluate reads ``pending`` (the table has no entry yet) or
    ``n/a``; one it did not run reads ``—``.

    Example:
        >>> entry = {"direct": {"score": 50.0, "low": 25.0, "high": 75.0},
        ...          "unavailable": {"table": "pending: no bridge-table entry"},
        ...          "renderings": {"self": {"conditions": {"english": {
        ...              "bridge": "eng_Latn", "score": 60.0, "low": 40.0, "high": 80.0}}}}}
        >>> cells = condition_cells(entry, "self")
        >>> cells["direct"], cells["english"], cells["table"], cells["oracle"]
        ('50.0 [25.0, 75.0]', '60.0 [40.0, 80.0] (eng)', 'pending', '—')
    """
    rend = entry["renderings"].get(rendering, {})
    conds = dict(rend.get("conditions", {}))
    oracle = rend.get("oracle_bridge")
    if oracle is not None and "oracle" not in conds:
        tied = "=".join(short(b) for b in rend.get("oracle_bridges", [oracle]))
        conds["oracle"] = {**rend["bridges"][oracle], "bridge": tied}
    cells = {"direct": fmt_score(entry.get("direct"))}
    for name in CONDITION_ORDER[1:]:
        if name in conds:
            bridge = conds[name].get("bridge")
            label = bridge if name == "oracle" else short(bridge)
            cells[name] = fmt_score(conds[name]) + (f" ({label})" if bridge else "")
            if conds[name].get("vs_direct"):
                cells[name] += f"; {fmt_paired(conds[name]['vs_direct'])}"
            if "direct_same_entries" in conds[name]:
                found = conds[name]
                cells[name] += (
                    f" ({found['entries']} of {entry['entries']} entries; direct on them "
                    f"{found['direct_same_entries']:.1f})"
                )
        elif name in entry.get("unavailable", {}):
            reason = entry["unavailable"][name]
            cells[name] = "pending" if reason.startswith("pending") else "n/a"
            if name == "table" and reason.startswith("no table entry"):
                cells[name] = "no entry"
        else:
            cells[name] = "—"
    return cells


def rank_cells(entry: Mapping[str, Any], rendering: str) -> tuple[str, str]:
    """Return the table-rank and Spearman cells of one entry (means for a pooled row).

    Example:
        >>> entry = {"src": "swh_Latn", "candidates": ["eng_Latn", "fra_Latn"],
        ...          "renderings": {"self": {"table_rank": 1, "spearman": 0.5}}}
        >>> rank_cells(entry, "self")
        ('1/2', '+0.50')
        >>> entry["renderings"]["self"]["spearman_interval"] = {"low": -0.4, "high": 0.9}
        >>> rank_cells(entry, "self")[1]
        '+0.50 [-0.40, +0.90]'

    """
    rend = entry["renderings"].get(rendering, {})
    if entry["src"] == "pooled":
        rank, rho = rend.get("mean_table_rank"), rend.get("mean_spearman")
        return ("—" if rank is None else f"{rank:.1f} (mean)"), (
            "—" if rho is None else f"{rho:+.2f} (mean)"
        )
    rank, rho = rend.get("table_rank"), rend.get("spearman")
    rho_cell = "—" if rho is None else f"{rho:+.2f}"
    interval = rend.get("spearman_interval") or {}
    if rho is not None and interval.get("low") is not None:
        rho_cell += f" [{interval['low']:+.2f}, {interval['high']:+.2f}]"
    return ("—" if rank is None else f"{rank}/{len(entry['candidates'])}"), rho_cell


def task_rows(results: Mapping[str, Any], task: str) -> list[Mapping[str, Any]]:
    """Return a task's entries followed by its pooled row.

    Example:
        >>> results = {"entries": [{"task": "bli", "src": "a"}, {"task": "mrc", "src": "b"}],
        ...            "pooled": [{"task": "bli", "src": "pooled"}]}
        >>> [row["src"] for row in task_rows(results, "bli")]
        ['a', 'pooled']
    """
    rows = [e for e in results["entries"] if e["task"] == task]
    return rows + [p for p in results.get("pooled", []) if p["task"] == task]


def entry_name(entry: Mapping[str, Any]) -> str:
    """Return how an entry is named in tables (``swh_Latn``, ``swh_Latn→eng_Latn``, pooled).

    Example:
        >>> entry_name({"src": "pooled", "trg": "pooled", "entries": 3})
        'all 3 pooled'
    """
    src, trg = entry["src"], entry["trg"]
    if src == "pooled":
        return f"all {entry['entries']} pooled"
    return src if src == trg else f"{src}→{trg}"
