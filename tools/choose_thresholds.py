"""Choose the evidence policy's competence threshold from a dev run, and write it down.

Reads a bridge table (its competence and render checks) and the per-item units of a dev run of
``bridgex-chain eval classify --split dev`` (the ``direct`` arm and the ``self-<bridge>`` arm of
the bridge the evidence policy takes when competence is no bar), then applies
:func:`bridgex_chain.eval.thresholds.choose_max_competence` and writes the choice, every step it
considered and the per-language figures to ``--out`` (JSON). The chain's default
(``bridgex_chain.chain.evidence.DEFAULT_THRESHOLDS``) is this file's value; a test checks that.

Run:
    .venv/bin/python tools/choose_thresholds.py --table-json precomputed/gemma-3-270m.json \\
        --cache docs/results/dev/cache --out docs/results/dev/thresholds.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from bridgex_chain.chain.evidence import EvidencePolicy, EvidenceThresholds, decide
from bridgex_chain.eval.cache import read_jsonl
from bridgex_chain.eval.thresholds import DevLanguage, choose_max_competence
from bridgex_chain.store.table import BridgeTable

MODEL = "google/gemma-3-270m"


def _correct(path: Path) -> dict[str, bool]:
    rows = [r for r in read_jsonl(path) if "id" in r and "correct" in r]
    return {str(r["id"]): bool(r["correct"]) for r in rows}


def dev_languages(table: BridgeTable, cache: Path, model: str) -> tuple[list[DevLanguage], Any]:
    """The dev languages with a table entry and a direct arm in ``cache``."""
    policy = EvidencePolicy(table)
    open_bar = EvidenceThresholds(max_competence=math.inf)
    found: list[DevLanguage] = []
    rows: list[dict[str, Any]] = []
    for entry in sorted((cache / "units" / "classify").iterdir()):
        lang = entry.name.split("-")[0]
        direct = _correct(entry / "direct.jsonl")
        if not direct:
            continue
        _, evidence = policy.evidence(model, lang)
        if evidence.competence is None:
            continue
        decision = decide(evidence, open_bar)
        bridged = _correct(entry / f"self-{decision.bridge}.jsonl") if decision.bridge else {}
        ids = sorted(i for i in direct if not decision.bridge or i in bridged)
        if decision.bridge and len(ids) < len(direct):
            raise SystemExit(
                f"{lang}: the dev run has {len(bridged)} of {len(direct)} items through "
                f"{decision.bridge}; run its self-{decision.bridge} arm first."
            )
        found.append(
            DevLanguage(
                lang,
                evidence.competence.logprob_per_token,
                decision.bridge,
                [direct[i] for i in ids],
                [bridged[i] for i in ids] if decision.bridge else [],
            )
        )
        rows.append(
            {
                "lang": lang,
                "competence": evidence.competence.logprob_per_token,
                "open_bridge": decision.bridge,
                "open_rule": str(decision.rule),
                "render_gain": decision.render_gain,
                "items": len(ids),
                "direct": 100.0 * sum(direct[i] for i in ids) / len(ids),
                "bridged": 100.0 * sum(bridged[i] for i in ids) / len(ids) if bridged else None,
            }
        )
    return found, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--table-json", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="the dev run's --cache")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()
    with BridgeTable("sqlite://") as table:
        table.import_json(args.table_json)
        langs, rows = dev_languages(table, args.cache, args.model)
    choice = choose_max_competence(langs, alpha=args.alpha)
    print(f"{'language':10} {'competence':>10} {'bridge':>9} {'direct':>7} {'bridged':>8}")
    for row in sorted(rows, key=lambda r: r["competence"]):
        bridged = "—" if row["bridged"] is None else f"{row['bridged']:.1f}"
        print(
            f"{row['lang']:10} {row['competence']:10.3f} {row['open_bridge'] or '—':>9} "
            f"{row['direct']:7.1f} {bridged:>8}"
        )
    print("\nbridge the k weakest: items, wins/losses vs direct, Δ, exact McNemar p")
    for step in choice.steps:
        mark = "admissible" if step.admissible else "not significant or no gain"
        print(
            f"  k={step.k}: {step.items} items, {step.wins}/{step.losses}, Δ {step.diff:+.1f}, "
            f"p={step.p_value:.3g} ({mark})"
        )
    print(
        f"\nmax_competence = {choice.max_competence:.3f}; "
        f"bridged on dev: {', '.join(choice.bridged) or 'none'}"
    )
    out = {
        "model": args.model,
        "table": str(args.table_json),
        "split": "dev",
        **choice.to_json(),
        "languages": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
