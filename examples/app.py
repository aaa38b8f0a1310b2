"""An application script: answer questions written in several languages through their bridge.

Runs offline on the embedded Gemma-3-270m (loaded on the first question) with the default bridge
table (the tables shipped with the package plus anything `bridgex-chain build-table` stored)
under the default evidence route policy: a question is bridged only where the table's checks
say bridging helps; otherwise, or without a table row, it is answered by direct prompting, and
the route line says why.

    python examples/app.py
    python examples/app.py --database-url sqlite:///bridges.db --max-new-tokens 48
"""

from __future__ import annotations

import argparse
from typing import Any

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.store.records import format_score

QUESTIONS = [  # written for this example
    "Ninataka kujua hali ya hewa ya kesho katika mji wa Mombasa.",
    "Apa saja tempat wisata yang menarik di Yogyakarta?",
    # Indonesian → Tagalog ("air" is "water"): a pair the shipped table has. Swahili → English
    # is not in it yet: it would be answered directly, with a warning naming the build-table
    # command that adds it.
    {"query": "air", "lang": "id", "answer_language": "tl", "task": "translate"},
    {
        "query": "Timu ya taifa ilishinda mechi ya mpira wa miguu jana usiku.",
        "task": "classify",
        "labels": ["sports", "politics", "health", "travel"],
    },
]


def route(meta: dict[str, Any]) -> str:
    """A short description of where a question went (and, under the evidence policy, why)."""
    where = f"{meta['lang']} → "
    evidence = meta.get("evidence") or {}
    if meta["fallback"]:
        why = f": {evidence['rule']}" if evidence.get("rule") else ""
        return where + f"direct ({meta['fallback']}{why})"
    score = format_score(meta["score"])  # HSIC scores are ~1e-8: never "0.000"
    why = f", evidence {evidence['rule']}" if evidence.get("rule") else ""
    return where + f"bridge {meta['bridge']} (score {score}, run {meta['run_id']}{why})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="bridge table URL (default: the user data dir)")
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument(
        "--route-policy",
        default="evidence",
        choices=["evidence", "table", "english", "direct"],
        help="evidence (default: bridge only where the table's checks say it helps), table…",
    )
    args = parser.parse_args()

    chain = BridgeXChain(
        database_url=args.database_url,
        max_new_tokens=args.max_new_tokens,
        route_policy=args.route_policy,
    )
    for question in QUESTIONS[:2]:  # streamed: tokens print as the model writes them
        print(f"\n> {question}")
        for chunk in chain.stream(question):
            if "bridgex" in chunk.response_metadata and not chunk.content:
                print(f"  [{route(chunk.response_metadata['bridgex'])}]")
            print(chunk.content, end="", flush=True)
        print()
    for question, reply in zip(QUESTIONS[2:], chain.batch(QUESTIONS[2:]), strict=True):
        meta = reply.response_metadata["bridgex"]
        print(f"\n> {question['query']} ({question['task']})\n  [{route(meta)}]\n{reply.content}")


if __name__ == "__main__":
    main()
