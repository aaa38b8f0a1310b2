"""One bridged chat turn on the embedded Gemma-3-270m: transformers vs a llama.cpp server.

A turn is what ``chain.invoke`` does for a Swahili message under the table policy: render the
message into the bridge language (one generation), then answer (a second generation), at most
32 new tokens each. The same N SIB-200 Swahili test sentences go through both backends in this
one run, one thread each: transformers in float32 in this process, and llama.cpp's server
(``LlamaCppServer``, Q4_K_M GGUF) on 127.0.0.1. Prints p50/p95 wall time per turn and the
ratio. Needs ``llama-cpp-python[server]`` (``make install``).

Run: HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_backends.py [N]
"""

from __future__ import annotations

import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.models.llamacpp_server import LlamaCppServer

SIB200 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sib200"
MAX_TOKENS = 32


def sentences(n: int) -> list[str]:
    with (SIB200 / "swh_Latn" / "test.tsv").open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle, delimiter="\t")][:n]


def turns(chain: BridgeXChain, texts: Sequence[str]) -> tuple[list[float], str | None]:
    """Wall seconds of each turn (after one warm-up turn) and the bridge taken."""
    warm = chain.invoke({"query": texts[0], "lang": "sw"})
    seconds = []
    for text in texts:
        started = time.perf_counter()
        chain.invoke({"query": text, "lang": "sw"})
        seconds.append(time.perf_counter() - started)
    bridge: str | None = warm.response_metadata["bridgex"]["bridge"]
    return seconds, bridge


def p(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(n: int = 12) -> int:
    import torch

    torch.set_num_threads(1)
    texts = sentences(n)
    db = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bridges.db'}"
    common: dict[str, Any] = {"model": "gemma-3-270m", "database_url": db, "route_policy": "table"}
    results = {}
    local = BridgeXChain(max_new_tokens=MAX_TOKENS, **common)
    results["transformers (float32)"] = turns(local, texts)
    with LlamaCppServer(threads=1) as server:
        served = BridgeXChain(llm=server.llm(max_tokens=MAX_TOKENS), **common)
        results["llama.cpp server (Q4_K_M)"] = turns(served, texts)
    print(f"one bridged chat turn (render + answer, <= {MAX_TOKENS} tokens each), {n} Swahili")
    print("SIB-200 test sentences, one thread, same run:")
    for name, (seconds, bridge) in results.items():
        print(
            f"  {name:27s} p50 {statistics.median(seconds):6.2f} s   p95 {p(seconds, 95):6.2f} s"
            f"   (bridge {bridge})"
        )
    (slow, _), (fast, _) = results.values()
    print(f"  speed-up p50: {statistics.median(slow) / statistics.median(fast):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:2])))
