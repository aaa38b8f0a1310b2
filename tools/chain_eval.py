"""SIB-200 topic classification through BridgeXChain under route policies (resumable).

The chain users run — detection skipped with the language given, bridged X-ICL demonstrations
from the SIB-200 train split (3 per prompt, chosen by TF-IDF similarity), calibrated label
scoring of the local model — is called through ``chain.batch`` under each policy
(:mod:`bridgex_chain.eval.through_chain`): ``direct`` (no bridge), ``english`` (always English),
``table`` (the shipped table's HSIC-best bridge). Items are a label-balanced sample of the test
split. Every item result is appended to ``<out>/items.jsonl`` as soon as its chunk is done, so the
run can be killed and restarted; ``<out>/summary.json`` and ``<out>/report.md`` are rewritten
after every chunk with accuracy, 95 % bootstrap intervals and the exact McNemar test of each
policy against direct on the same items.

Run: .venv/bin/python tools/chain_eval.py --langs swh_Latn,ind_Latn --limit 102 \
         --out docs/results/chain --threads 1
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

SIB200 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sib200"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--langs", default="swh_Latn,ind_Latn")
    parser.add_argument("--policies", default="direct,english,table")
    parser.add_argument("--limit", type=int, default=102)
    parser.add_argument("--chunk", type=int, default=6)
    parser.add_argument("--sib200", type=Path, default=SIB200)
    parser.add_argument("--out", type=Path, default=Path("docs/results/chain"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from bridgex_chain.chain import BridgeXChain
    from bridgex_chain.chain.policies import FixedBridge, NoBridge
    from bridgex_chain.eval.data import Item, balanced_sample
    from bridgex_chain.eval.through_chain import ItemResult, evaluate_policies, summarise_policies
    from bridgex_chain.models.langchain import local_model
    from bridgex_chain.prompting.demos import DemoPool
    from bridgex_chain.store.table import BridgeTable

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    store = BridgeTable(f"sqlite:///{tempfile.mkdtemp(prefix='bridgex-eval-')}/shipped.db")
    store.ensure_shipped()
    llm = local_model(None, max_new_tokens=64)
    demos = DemoPool.from_dir(args.sib200, split="train")
    policies: dict[str, Any] = {
        "direct": NoBridge(),
        "english": FixedBridge("eng_Latn", table=store),
        "table": store,
    }
    chosen = {name: policies[name] for name in args.policies.split(",")}

    def make_chain(policy: Any) -> Any:
        return BridgeXChain(
            llm=llm, table=policy, model="gemma-3-270m", task="classify", demos=demos
        )

    path = args.out / "items.jsonl"
    done: dict[tuple[str, str, str], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn last line from a killed run
            done[(row["language"], row["policy"], row["result"]["id"])] = row
    started = time.perf_counter()
    for lang in args.langs.split(","):
        with (args.sib200 / lang / "test.tsv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        items = balanced_sample(
            [Item(r["index_id"], r["text"], r["category"]) for r in rows], args.limit
        )
        labels = sorted({r["category"] for r in rows})
        for start in range(0, len(items), args.chunk):
            chunk = items[start : start + args.chunk]
            todo = {
                name: policy
                for name, policy in chosen.items()
                if any((lang, name, i.id) not in done for i in chunk)
            }
            if not todo:
                continue
            results = evaluate_policies(make_chain, todo, chunk, lang=lang, labels=labels)
            with path.open("a", encoding="utf-8") as out:
                for name, found in results.items():
                    for result in found:
                        row = {"language": lang, "policy": name, "result": asdict(result)}
                        done[(lang, name, result.id)] = row
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
            elapsed = time.perf_counter() - started
            print(f"{lang} {start + len(chunk)}/{len(items)} items, {elapsed:.0f} s", flush=True)
            write_summary(args, done, ItemResult, summarise_policies, elapsed)
    write_summary(args, done, ItemResult, summarise_policies, time.perf_counter() - started)
    return 0


def write_summary(
    args: argparse.Namespace,
    done: dict[Any, dict[str, Any]],
    item: Any,
    summarise: Any,
    secs: float,
) -> None:
    """Rewrite summary.json and report.md from every item result so far."""
    by_lang: dict[str, dict[str, list[Any]]] = {}
    for (lang, policy, _), row in sorted(done.items()):
        by_lang.setdefault(lang, {}).setdefault(policy, []).append(item(**row["result"]))
    pooled: dict[str, list[Any]] = {}
    for lang, results in by_lang.items():
        for policy, rows in results.items():
            pooled.setdefault(policy, []).extend(
                item(**{**asdict(r), "id": f"{lang}:{r.id}"}) for r in rows
            )
    summary = {lang: summarise(results) for lang, results in by_lang.items()}
    if len(by_lang) > 1:
        summary["pooled"] = summarise(pooled)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# SIB-200 classification through BridgeXChain (embedded Gemma-3-270m)",
        "",
        f"Command: `.venv/bin/python tools/chain_eval.py --langs {args.langs} --policies "
        f"{args.policies} --limit {args.limit} --threads {args.threads}`; wall time so far "
        f"{secs / 60:.0f} min (this session's clock). Accuracy in %, 95 % bootstrap interval; "
        "Δ and p: exact McNemar test against direct on the same items.",
        "",
        "| language | policy | n | accuracy | bridged | Δ vs direct | p | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lang, policies in summary.items():
        for policy, s in policies.items():
            test = s.get("vs_direct")
            verdict = (
                ""
                if test is None
                else ("significant" if test["significant"] else "not significant")
            )
            lines.append(
                f"| {lang} | {policy} | {s['n']} | {s['score']:.1f} [{s['low']:.1f}, "
                f"{s['high']:.1f}] | {s['bridged']} | "
                + (
                    f"{test['diff']:+.1f} | {test['p_value']:.3f} | {verdict} |"
                    if test
                    else "— | — | |"
                )
            )
    (args.out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
