"""The human-readable report of an evaluation run: ``report.md`` with PNG plots.

Example:
    >>> fmt_score({"score": 61.9, "low": 47.6, "high": 76.2})
    '61.9 [47.6, 76.2]'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CONDITION_ORDER",
    "condition_cells",
    "entry_name",
    "fmt_score",
    "markdown_report",
    "rank_cells",
    "short",
    "task_rows",
    "write_report",
]

logger = logging.getLogger(__name__)

CONDITION_ORDER: tuple[str, ...] = ("direct", "english", "table", "random", "oracle")


def short(code: str | None) -> str:
    """Return the language part of a FLORES code (``fra_Latn`` → ``fra``)."""
    return "—" if not code else code.split("_", 1)[0]


def fmt_score(result: Mapping[str, Any] | None) -> str:
    """Format a score with its interval (``—`` when absent)."""
    if not result or result.get("score") is None or result["score"] != result["score"]:
        return "—"
    return f"{result['score']:.1f} [{result['low']:.1f}, {result['high']:.1f}]"


def condition_cells(entry: Mapping[str, Any], rendering: str) -> dict[str, str]:
    """Return the formatted cell of each condition of one entry (or pooled row) and rendering."""
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
            if "direct_same_entries" in conds[name]:
                found = conds[name]
                cells[name] += (
                    f" ({found['entries']} of {entry['entries']} entries; direct on them "
                    f"{found['direct_same_entries']:.1f})"
                )
        elif name in entry.get("unavailable", {}):
            reason = entry["unavailable"][name]
            cells[name] = "pending" if reason.startswith("pending") else "n/a"
        else:
            cells[name] = "—"
    return cells


def rank_cells(entry: Mapping[str, Any], rendering: str) -> tuple[str, str]:
    """Return the table-rank and Spearman cells of one entry (means for a pooled row)."""
    rend = entry["renderings"].get(rendering, {})
    if entry["src"] == "pooled":
        rank, rho = rend.get("mean_table_rank"), rend.get("mean_spearman")
        return ("—" if rank is None else f"{rank:.1f} (mean)"), (
            "—" if rho is None else f"{rho:+.2f} (mean)"
        )
    rank, rho = rend.get("table_rank"), rend.get("spearman")
    return ("—" if rank is None else f"{rank}/{len(entry['candidates'])}"), (
        "—" if rho is None else f"{rho:+.2f}"
    )


def task_rows(results: Mapping[str, Any], task: str) -> list[Mapping[str, Any]]:
    """Return a task's entries followed by its pooled row."""
    rows = [e for e in results["entries"] if e["task"] == task]
    return rows + [p for p in results.get("pooled", []) if p["task"] == task]


def entry_name(entry: Mapping[str, Any]) -> str:
    """Return how an entry is named in tables (``swh_Latn``, ``swh_Latn→eng_Latn``, pooled)."""
    src, trg = entry["src"], entry["trg"]
    if src == "pooled":
        return f"all {entry['entries']} pooled"
    return src if src == trg else f"{src}→{trg}"


def _task_section(
    task: str, rows: Sequence[Mapping[str, Any]], renderings: Sequence[str]
) -> list[str]:
    entries = [e for e in rows if e["src"] != "pooled"]
    metric = entries[0]["metric"]
    lines = [f"## {task} ({metric}, %, 95% bootstrap interval)", ""]
    for rendering in renderings:
        lines += [
            f"### {rendering} rendering",
            "",
            "| entry | n | direct | english | table | random | oracle (best bridge) | table rank "
            "| Spearman(HSIC, score) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for e in rows:
            cells = condition_cells(e, rendering)
            rank, rho = rank_cells(e, rendering)
            lines.append(
                f"| {entry_name(e)} | {e['n']} | "
                + " | ".join(cells[c] for c in CONDITION_ORDER)
                + f" | {rank} | {rho} |"
            )
        lines.append("")
    lines += _bridge_table(entries, renderings)
    if entries[0]["direct"] and "uncalibrated" in entries[0]["direct"]:
        lines += _calibration_table(entries, renderings)
    return lines


def _bridge_table(entries: Sequence[Mapping[str, Any]], renderings: Sequence[str]) -> list[str]:
    bridges: list[str] = []
    for e in entries:
        bridges += [b for b in e["candidates"] if b not in bridges]
    if not bridges:
        return []
    lines = [
        "Every candidate bridge (score; its HSIC rank among the candidates in parentheses):",
        "",
        "| entry | rendering | " + " | ".join(short(b) for b in bridges) + " |",
        "|---|---|" + "---|" * len(bridges),
    ]
    for e in entries:
        hsic = e["table"]["hsic"]
        order = sorted((b for b in e["candidates"] if b in hsic), key=lambda b: -hsic[b])
        for rendering in renderings:
            found = e["renderings"].get(rendering, {}).get("bridges", {})
            cells = []
            for b in bridges:
                score = found.get(b, {}).get("score")
                cell = "—" if score is None or score != score else f"{score:.1f}"
                if b in order and cell != "—":
                    cell += f" ({order.index(b) + 1})"
                cells.append(cell)
            lines.append(f"| {entry_name(e)} | {rendering} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _calibration_table(
    entries: Sequence[Mapping[str, Any]], renderings: Sequence[str]
) -> list[str]:
    lines = [
        "Contextual calibration (accuracy calibrated / uncalibrated):",
        "",
        "| entry | direct | " + " | ".join(f"{r} (mean over bridges)" for r in renderings) + " |",
        "|---|---|" + "---|" * len(renderings),
    ]
    for e in entries:
        d = e["direct"]
        cells = [f"{d['score']:.1f} / {d['uncalibrated']:.1f}" if d else "—"]
        for rendering in renderings:
            found = list(e["renderings"].get(rendering, {}).get("bridges", {}).values())
            if found:
                cal = sum(f["score"] for f in found) / len(found)
                raw = sum(f["uncalibrated"] for f in found) / len(found)
                cells.append(f"{cal:.1f} / {raw:.1f}")
            else:
                cells.append("—")
        lines.append(f"| {entry_name(e)} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _oracle_counts(entries: Sequence[Mapping[str, Any]], rendering: str) -> str:
    counts: dict[str, int] = {}
    ties = 0
    rows = [e for e in entries if e["renderings"].get(rendering, {}).get("oracle_bridge")]
    for e in rows:
        tied = e["renderings"][rendering].get("oracle_bridges") or [
            e["renderings"][rendering]["oracle_bridge"]
        ]
        if len(tied) > 1:
            ties += 1
        else:
            counts[tied[0]] = counts.get(tied[0], 0) + 1
    best = ", ".join(f"{short(b)} ×{n}" for b, n in sorted(counts.items(), key=lambda x: -x[1]))
    return f"sole best bridge {best or '—'}" + (f", {ties} ties" if ties else "")


def _summary_lines(results: Mapping[str, Any], renderings: Sequence[str]) -> list[str]:
    lines = ["## Summary", ""]
    for pooled in results.get("pooled", []):
        task = pooled["task"]
        entries = [e for e in results["entries"] if e["task"] == task]
        direct = pooled["direct"]
        head = (
            f"**{task}** ({pooled['metric']}, {pooled['n']} items over {pooled['entries']} entries)"
        )
        lines.append(f"- {head}: direct {fmt_score(direct)}.")
        for rendering in renderings:
            rend = pooled["renderings"].get(rendering, {})
            conds = rend.get("conditions", {})
            cells = condition_cells(pooled, rendering)
            parts = [f"{name} {cells[name]}" for name in CONDITION_ORDER[1:] if name in conds]
            rho = rend.get("mean_spearman")
            extra = f"; mean Spearman(HSIC, score) {rho:+.2f}" if rho is not None else ""
            lines.append(
                f"  - {rendering}: "
                + ", ".join(parts or ["—"])
                + f"; {_oracle_counts(entries, rendering)}{extra}."
            )
    pending = [entry_name(e) for e in results["entries"] if e["table"]["pending"]]
    if pending:
        lines.append(
            f"- No `table` condition for {', '.join(pending)}: the bridge table has no entry "
            "for them (`table.pending` in results.json says why)."
        )
    return [*lines, ""]


def markdown_report(results: Mapping[str, Any], plots: Sequence[str] = ()) -> str:
    """Return the markdown report of a results dictionary."""
    config = results["config"]
    renderings = list(config["renderings"])
    entries = results["entries"]
    lines = [
        f"# bridgex-chain eval — {results['model']}",
        "",
        f"Tasks {', '.join(config['tasks'])}; limit {config['limit']} per entry; seed "
        f"{config['seed']}; conditions {', '.join(config['conditions'])}; renderings "
        f"{', '.join(renderings)}; candidate bridges "
        f"{', '.join(short(b) for b in config['bridges'])}.",
        "",
        "Conditions: **direct** (no bridge), **english** (English as the bridge), **table** (the "
        "bridge table's best bridge), **random** (a seeded random candidate), **oracle** (the "
        "candidate with the best task score, found by evaluating all; chosen on the same "
        "items, so an optimistic upper bound when items are few). Renderings: **self** — "
        "the model translates the query into the bridge itself (what the chain does); "
        "**oracle** — the bridge text comes from parallel data (isolates how well the model "
        "uses each bridge). Table rank: rank of the table's bridge among the candidates by "
        "task score (1 = best).",
        "",
    ]
    if results.get("command"):
        lines += [
            "Reproduce with (add `--database-url`/`--table-json` if the table came from "
            "elsewhere than the shipped tables):",
            "",
            "```",
            results["command"],
            "```",
            "",
        ]
    lines += _summary_lines(results, renderings)
    for task in dict.fromkeys(e["task"] for e in entries):
        lines += _task_section(task, task_rows(results, task), renderings)
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(lines)


def write_report(results: Mapping[str, Any], out_dir: Path, *, plots: bool = True) -> Path:
    """Write ``report.md`` (and PNG plots under ``plots/`` when ``plots``); return its path."""
    names: list[str] = []
    if plots:
        from bridgex_chain.eval.plots import draw_plots

        names = [str(p.relative_to(out_dir)) for p in draw_plots(results, out_dir / "plots")]
    path = out_dir / "report.md"
    path.write_text(markdown_report(results, names), encoding="utf-8")
    return path
