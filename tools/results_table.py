"""Print the README's "does the bridge help" table and findings from docs/results/results.json.

Every cell is a condition's score with its 95 % interval and, for a bridged condition, the
paired test against direct prompting on the same items (exact McNemar for accuracy); a cell the
run has not reached yet reads "not yet run". After the table come the findings: per condition
the pooled difference from direct with its p-value, every language where a condition differs
from direct significantly, and, when the run has the evidence policy, the checks of its promise
(bridgex_chain/eval/verdict.py). Run: .venv/bin/python tools/results_table.py [results.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bridgex_chain.eval.cells import entry_name, fmt_paired, fmt_score, short
from bridgex_chain.eval.verdict import routing_checks

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "results.json"
CONDITIONS = ("evidence", "table", "english", "detected")


def cell(condition: dict[str, Any] | None, row: dict[str, Any], name: str) -> str:
    """A condition's score, interval, bridge and paired test (or why there is none)."""
    if not condition or condition.get("n", 0) == 0:
        return "not yet run"
    bridge = f" ({short(condition['bridge'])})" if condition.get("bridge") else ""
    if name in ("table", "detected") and "table" in row.get("unavailable", {}):
        bridge = " (no table entry: direct)"
    test = fmt_paired(condition.get("vs_direct"))
    text = fmt_score(condition) + bridge + (f"; {test}" if test else "")
    if condition["n"] < row["n"] and "entries" not in row:
        text += f" — {condition['n']} of {row['n']} items so far"
    if "direct_same_entries" in condition:
        text += (
            f" — {condition['entries']} of {row['entries']} languages so far, direct on them "
            f"{condition['direct_same_entries']:.1f}"
        )
    return text


def main(path: Path = RESULTS, task: str = "classify") -> int:
    results = json.loads(path.read_text(encoding="utf-8"))
    rows = [e for e in results["entries"] if e["task"] == task]
    rows += [p for p in results["pooled"] if p["task"] == task]
    print(f"| {task} | n | direct | " + " | ".join(CONDITIONS) + " |")
    print("|---|---|---|" + "---|" * len(CONDITIONS))
    for row in rows:
        conditions = row["renderings"].get("self", {}).get("conditions", {})
        cells = [cell(conditions.get(name), row, name) for name in CONDITIONS]
        print(
            f"| {entry_name(row)} | {row['n']} | {fmt_score(row['direct'])} | "
            + " | ".join(cells)
            + " |"
        )
    print()
    for line in findings(results, task):
        print(line)
    return 0


NAMES = {
    "evidence": "the evidence policy",
    "table": "the table's policy",
    "english": "English",
    "detected": "detected language",
}


def findings(results: dict[str, Any], task: str = "classify") -> list[str]:
    """The run's findings as Markdown bullets: pooled differences, then significant languages."""
    lines: list[str] = []
    pooled = next((p for p in results["pooled"] if p["task"] == task), None)
    rows = [e for e in results["entries"] if e["task"] == task]
    for name in CONDITIONS:
        if pooled is None:
            break
        condition = pooled["renderings"].get("self", {}).get("conditions", {}).get(name)
        if not condition or not condition.get("vs_direct"):
            continue
        test = condition["vs_direct"]
        verdict = "significant" if test["significant"] else "not significant"
        lines.append(
            f"- Pooled over {condition['entries']} languages ({condition['n']} items), "
            f"{NAMES[name]}: {fmt_score(condition)} against direct "
            f"{condition.get('direct_same_entries', pooled['direct']['score']):.1f}; "
            f"Δ {test['diff']:+.1f}, p={test['p_value']:.2g}, {verdict}."
        )
    for name in CONDITIONS:
        hits = []
        for row in rows:
            condition = row["renderings"].get("self", {}).get("conditions", {}).get(name) or {}
            test = condition.get("vs_direct")
            if test and test["significant"]:
                bridge = f" via {short(condition['bridge'])}" if condition.get("bridge") else ""
                hits.append(
                    f"{entry_name(row)}{bridge} Δ {test['diff']:+.1f} (p={test['p_value']:.2g})"
                )
        if hits:
            lines.append(f"- Significant against direct, {NAMES[name]}: " + "; ".join(hits) + ".")
        elif any(
            (row["renderings"].get("self", {}).get("conditions", {}).get(name) or {}).get("n")
            for row in rows
        ):
            lines.append(
                f"- {NAMES[name].capitalize()}: no language differs from direct significantly."
            )
    if "evidence" in results.get("config", {}).get("conditions", []):
        lines += [
            f"- Check, {c.claim}: **{c.mark}** — {c.detail}."
            for c in routing_checks(results, task=task)
        ]
    seconds = results.get("compute_seconds")
    if seconds is not None:
        state = "complete" if results.get("complete") else "in progress"
        lines.append(f"- Run {state}; chain time {seconds / 60:.0f} min over every invocation.")
    return lines


if __name__ == "__main__":
    sys.exit(main(*(Path(a) for a in sys.argv[1:2])))
