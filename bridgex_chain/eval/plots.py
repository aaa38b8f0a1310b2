"""PNG plots of an evaluation run (matplotlib with the Agg backend, imported lazily).

* ``heatmap-<task>-<entry>.png`` — the table's per-layer HSIC score of every candidate bridge;
* ``bars-<task>-<rendering>.png`` — task score per condition and entry, with 95% intervals;
* ``scatter-<task>-<rendering>.png`` — HSIC score vs task score of every (entry, candidate).

Example:
    >>> draw_plots({"entries": [], "config": {"renderings": []}}, Path("/tmp/none"))
    []
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bridgex_chain.eval.cells import CONDITION_ORDER, entry_name, short, task_rows

__all__ = ["draw_plots"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _heatmap(plt: Any, entry: Mapping[str, Any], path: Path) -> bool:
    layers = entry["table"]["layers"]
    if not layers:
        return False
    bridges = sorted(layers, key=lambda b: -entry["table"]["hsic"].get(b, 0.0))
    columns = sorted({int(k) for ls in layers.values() for k in ls})
    grid = [[layers[b].get(str(c), float("nan")) for c in columns] for b in bridges]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * len(columns) + 2), 0.45 * len(bridges) + 1.6))
    image = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(columns)), [str(c) for c in columns], fontsize=7)
    ax.set_yticks(range(len(bridges)), [short(b) for b in bridges])
    ax.set_xlabel("layer")
    ax.set_title(f"HSIC score per layer — {entry['task']} {entry_name(entry)}", fontsize=9)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _condition_result(entry: Mapping[str, Any], rendering: str, name: str) -> Any:
    if name == "direct":
        return entry.get("direct")
    rend = entry["renderings"].get(rendering, {})
    found = rend.get("conditions", {}).get(name)
    if found is None and name == "oracle" and rend.get("oracle_bridge"):
        found = rend["bridges"][rend["oracle_bridge"]]
    return found


def _bars(plt: Any, entries: Sequence[Mapping[str, Any]], rendering: str, path: Path) -> bool:
    width = 0.8 / len(CONDITION_ORDER)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(entries) + 2), 3.6))
    drawn = False
    for k, name in enumerate(CONDITION_ORDER):
        xs: list[float] = []
        ys: list[float] = []
        errs: list[list[float]] = [[], []]
        for i, entry in enumerate(entries):
            found = _condition_result(entry, rendering, name)
            if not found or found["score"] != found["score"]:
                continue
            xs.append(i + (k - (len(CONDITION_ORDER) - 1) / 2) * width)
            ys.append(found["score"])
            errs[0].append(found["score"] - found["low"])
            errs[1].append(found["high"] - found["score"])
        if xs:
            ax.bar(xs, ys, width, yerr=errs, capsize=2, label=name)
            drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xticks(range(len(entries)), [entry_name(e) for e in entries], fontsize=8, rotation=30)
    ax.set_ylabel(f"{entries[0]['metric']} (%)")
    ax.set_title(f"{entries[0]['task']} — {rendering} rendering", fontsize=10)
    ax.set_ylim(0, 118)
    ax.legend(fontsize=7, ncol=len(CONDITION_ORDER), loc="upper center", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _scatter(plt: Any, entries: Sequence[Mapping[str, Any]], rendering: str, path: Path) -> bool:
    fig, ax = plt.subplots(figsize=(5.0, 3.8))
    drawn = False
    for entry in entries:
        hsic = entry["table"]["hsic"]
        found = entry["renderings"].get(rendering, {}).get("bridges", {})
        common = [b for b in entry["candidates"] if b in hsic and b in found]
        if not common:
            continue
        ax.scatter(
            [hsic[b] for b in common],
            [found[b]["score"] for b in common],
            s=18,
            label=entry_name(entry),
        )
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xlabel("HSIC bridge score (table)")
    ax.set_ylabel(f"{entries[0]['metric']} (%)")
    ax.set_title(f"{entries[0]['task']} — {rendering}: HSIC vs task score", fontsize=10)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def draw_plots(results: Mapping[str, Any], plot_dir: Path) -> list[Path]:
    """Draw every plot the results allow into ``plot_dir``; return the written files.

    Plots of an earlier run that this one does not draw (``*.png`` in ``plot_dir``) are removed,
    so the directory shows only this run.
    """
    entries = results["entries"]
    if not entries:
        return []
    plt = _pyplot()
    plot_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for task in dict.fromkeys(e["task"] for e in entries):
        mine = [e for e in entries if e["task"] == task]
        for rendering in results["config"]["renderings"]:
            if _bars(
                plt, task_rows(results, task), rendering, plot_dir / f"bars-{task}-{rendering}.png"
            ):
                written.append(plot_dir / f"bars-{task}-{rendering}.png")
            if _scatter(plt, mine, rendering, plot_dir / f"scatter-{task}-{rendering}.png"):
                written.append(plot_dir / f"scatter-{task}-{rendering}.png")
        for entry in mine:
            slug = (
                entry["src"] if entry["src"] == entry["trg"] else f"{entry['src']}-{entry['trg']}"
            )
            path = plot_dir / f"heatmap-{task}-{slug}.png"
            if _heatmap(plt, entry, path):
                written.append(path)
    for stale in set(plot_dir.glob("*.png")) - set(written):
        stale.unlink()
    return written
