"""The human-readable report of an evaluation run: ``report.md`` with PNG plots.

The cells of its tables come from :mod:`bridgex_chain.eval.cells` (the CLI shows the same
cells); :func:`write_report` draws the plots with :func:`bridgex_chain.eval.plots.draw_plots`.

Example:
    >>> config = {"renderings": ["self"], "tasks": ["classify"], "limit": 4, "seed": 0,
    ...           "conditions": ["direct"], "bridges": ["fra_Latn"]}
    >>> markdown_report({"model": "demo/model", "config": config, "entries": []}).splitlines()[0]
    '# bridgex-chain eval — demo/model'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
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
from bridgex_chain.eval.plots import draw_plots
from bridgex_chain.eval.verdict import routing_checks

__all__ = ["markdown_report", "write_report"]


_HEADS = {"oracle": "oracle (best bridge)"}


def _task_section(
    task: str, rows: Sequence[Mapping[str, Any]], renderings: Sequence[str]
) -> list[str]:
    entries = [e for e in rows if e["src"] != "pooled"]
    metric = entries[0]["metric"]
    test = "exact McNemar" if metric != "chrf" else "paired bootstrap"
    lines = [
        f"## {task} ({metric}, %, 95% bootstrap interval)",
        "",
        f"Each condition's Δ and p are against direct prompting on the same items ({test}, "
        "two-sided); p ≥ 0.05 is marked not significant.",
        "",
    ]
    for rendering in renderings:
        lines += [
            f"### {rendering} rendering",
            "",
            "| entry | n | "
            + " | ".join(_HEADS.get(c, c) for c in CONDITION_ORDER)
            + " | table rank | Spearman(HSIC, score) [95%] |",
            "|---|---|" + "---|" * len(CONDITION_ORDER) + "---|---|",
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
    lines += _route_table(entries)
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


def _route_table(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the chain did under the table policy: items bridged, fallbacks, errors."""
    rows = []
    for e in entries:
        for name in ("table", "detected", "evidence"):
            found = e["renderings"].get("self", {}).get("conditions", {}).get(name)
            if found is None:
                continue
            falls = ", ".join(f"{k} ×{v}" for k, v in sorted(found.get("fallbacks", {}).items()))
            rules = ", ".join(
                f"{k} ×{v}" for k, v in sorted(found.get("evidence_rules", {}).items())
            )
            rows.append(
                f"| {entry_name(e)} | {name} | {short(found.get('bridge'))} | "
                f"{found.get('bridged', 0)}/{found.get('n', 0)} | {falls or '—'} | "
                f"{rules or '—'} | {found.get('errors', 0)} |"
            )
    if not rows:
        return []
    head = [
        "What the chain did under the table policy (`detected`: without `lang`, its own "
        "language detection) and the evidence policy (the rule that fired):",
        "",
        "| entry | policy | bridge | items bridged | fallbacks (direct) | evidence rule | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    return [*head, *rows, ""]


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


def _policy_checks(results: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The evidence policy's promise, checked per task (:func:`~.verdict.routing_checks`)."""
    lines = [
        "## Does the evidence policy keep its promise?",
        "",
        "Each check is paired tests on this run's items (see `bridgex_chain/eval/verdict.py`); "
        "*not measured* means the run lacks what the check needs (every single bridge, the "
        "English arm, or enough items).",
        "",
    ]
    for task in dict.fromkeys(e["task"] for e in entries):
        lines += [f"**{task}**", ""]
        lines += [
            f"- {c.claim}: **{c.mark}** — {c.detail}" for c in routing_checks(results, task=task)
        ]
        lines.append("")
    return lines


def markdown_report(results: Mapping[str, Any], plots: Sequence[str] = ()) -> str:
    """Return the markdown report of a results dictionary.

    Args:
        results: The evaluation results (as in ``results.json``).
        plots: Paths of plot images, relative to the report, to link at the end.

    Example:
        >>> config = {"renderings": [], "tasks": [], "limit": 1, "seed": 0, "conditions": [],
        ...           "bridges": []}
        >>> "![plots/a.png](plots/a.png)" in markdown_report(
        ...     {"model": "m", "config": config, "entries": []}, ["plots/a.png"])
        True
    """
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
        "Every condition is `BridgeXChain` itself, run with `chain.batch` under a route "
        "policy, the language given: **direct** (no bridge), **english** (English as the "
        "bridge), **table** (the bridge table's policy: its best bridge, with the chain's "
        "fallbacks), **detected** (the table's policy with the chain's own language "
        "detection instead of the given language), **evidence** (the chain's default policy: "
        "it bridges only where the table's competence and render checks say bridging helps, "
        "otherwise direct; the rule that fired is counted per item), **random** (a seeded "
        "random candidate), "
        "**oracle** (the "
        "candidate with the best task score, found by evaluating all; chosen on the same "
        "items, so an optimistic upper bound when items are few). Renderings: **self** — "
        "the model translates the query into the bridge itself (what the chain does); "
        "**oracle** — the bridge text comes from parallel data (isolates how well the model "
        "uses each bridge). Table rank: rank of the table's bridge among the candidates by "
        "task score (1 = best).",
        "",
    ]
    if "compute_seconds" in results:
        state = (
            "complete" if results.get("complete") else "IN PROGRESS (partial: some arms lack items)"
        )
        lines += [
            f"Run {state}; chain time {results['compute_seconds'] / 60:.0f} min summed over "
            "every invocation (wall time of the model calls on this machine).",
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
    if "evidence" in config["conditions"]:
        lines += _policy_checks(results, entries)
    for task in dict.fromkeys(e["task"] for e in entries):
        lines += _task_section(task, task_rows(results, task), renderings)
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(lines)


def write_report(results: Mapping[str, Any], out_dir: Path, *, plots: bool = True) -> Path:
    """Write ``report.md`` (and PNG plots under ``plots/`` when ``plots``); return its path.

    Example:
        >>> import tempfile
        >>> config = {"renderings": [], "tasks": [], "limit": 1, "seed": 0, "conditions": [],
        ...           "bridges": []}
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     write_report({"model": "m", "config": config, "entries": []}, Path(tmp)).name
        'report.md'
    """
    names: list[str] = []
    if plots:
        names = [str(p.relative_to(out_dir)) for p in draw_plots(results, out_dir / "plots")]
    path = out_dir / "report.md"
    path.write_text(markdown_report(results, names), encoding="utf-8")
    return path
