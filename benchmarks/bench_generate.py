"""Rendered sentences per second on the embedded Gemma-3-270m: batched core vs one at a time.

What eval and the chain's batch path spend their time on is *rendering*: the model translating a
query into the bridge language. This benchmark renders SIB-200 test sentences (Swahili,
Indonesian, Tagalog, Hausa into English, French and Spanish) with the chain's own render template
(``prompting/templates/render.json``, completion style, stop ``"\\n"``) through the one inference
core, :meth:`bridgex_chain.models.hf.HFCore.generate`:

* **one at a time** — a loop of ``generate([prompt])`` (batch of one), what a per-request loop does;
* **batched** — one ``generate(prompts, batch_size=B)`` call: the core's greedy loop keeps up to B
  rows decoding, drops each row as it stops (stop string, loop, budget, end-of-sequence) and fills
  the freed places with prefilled prompts (see :mod:`bridgex_chain.models.hf`).

Both run in the same process, on the same prompts, one after the other, so the ratio is measured
in one run (wall time; machine load varies by the minute, the ratio much less). It also prints
how the batched run spent its forward passes (prefills, decoding steps, rows per step: a step
costs about the same whatever its rows, so rows per step is what batching gains), and checks
that every batched output equals the one-at-a-time one, token for token: padding changes float
rounding, which could flip a greedy choice; the run fails (exit status 1) if any output differs.

Run: .venv/bin/python benchmarks/bench_generate.py [N] [BATCH] [THREADS]   (defaults 48 16 1)
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Any

SIB200 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sib200"
PAIRS = (
    ("swh_Latn", "eng_Latn"),
    ("ind_Latn", "fra_Latn"),
    ("tgl_Latn", "spa_Latn"),
    ("hau_Latn", "eng_Latn"),
)
MAX_NEW_TOKENS = 48
TARGET = 5.0


def prompts(n: int) -> list[str]:
    """``n`` render prompts, taken round-robin over the pairs (SIB-200 test sentences)."""
    from bridgex_chain.languages import language_name
    from bridgex_chain.prompting.templates import TemplateLibrary

    template = TemplateLibrary.load().get("render", "completion", "query")
    columns: list[list[str]] = []
    for src, bridge in PAIRS:
        path = SIB200 / src / "test.tsv"
        with path.open(encoding="utf-8", newline="") as handle:
            texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
        names = {"src": language_name(src), "bridge": language_name(bridge)}
        columns.append([template.format(text=t, **names) for t in texts[::7]])
    out = [p for row in zip(*columns, strict=False) for p in row]
    return out[:n]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 48
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if not (SIB200 / "swh_Latn" / "test.tsv").is_file():
        print(f"SIB-200 not found under {SIB200}: nothing to render.")
        return 1
    import torch

    from bridgex_chain.models import load_causal_lm
    from bridgex_chain.models.hf import HFCore

    torch.set_num_threads(threads)
    loaded = load_causal_lm()
    core = HFCore(loaded.model, loaded.tokenizer, loaded.spec.key)
    texts = prompts(n)
    options: dict[str, Any] = {"max_new_tokens": MAX_NEW_TOKENS, "stop": ["\n"], "repeat_span": 10}
    core.generate(texts[:2], **options)  # warm-up (allocations, kernels)

    started = time.perf_counter()
    single = [core.generate([t], **options)[0] for t in texts]
    single_s = time.perf_counter() - started

    passes: list[tuple[int, int]] = []  # (rows, input tokens) of each forward pass

    def count(module: object, args: tuple[object, ...], kwargs: dict[str, object]) -> None:
        ids = kwargs.get("input_ids")
        if isinstance(ids, torch.Tensor):
            passes.append((int(ids.shape[0]), int(ids.shape[1])))

    hook = loaded.model.register_forward_pre_hook(count, with_kwargs=True)
    started = time.perf_counter()
    batched = core.generate(texts, batch_size=batch, **options)
    batched_s = time.perf_counter() - started
    hook.remove()
    steps = [rows for rows, tokens in passes if tokens == 1]
    prefills = [rows for rows, tokens in passes if tokens > 1]

    same = sum(a == b for a, b in zip(single, batched, strict=True))
    ratio = single_s / batched_s
    print(f"model {loaded.spec.key} ({loaded.revision}), torch threads {threads}")
    print(f"{n} render prompts from SIB-200 test ({', '.join(f'{s}->{b}' for s, b in PAIRS)}),")
    print(f"  up to {MAX_NEW_TOKENS} new tokens, stop at newline or a loop")
    print(f"one at a time : {single_s:7.1f} s  {n / single_s:6.2f} sentences/s")
    print(f"batched ({batch:>3}) : {batched_s:7.1f} s  {n / batched_s:6.2f} sentences/s")
    print(f"speed-up      : {ratio:.2f}x (target >= {TARGET:.0f}x)")
    print(
        f"batched run   : {len(prefills)} prefills of {sum(prefills)} prompts, "
        f"{len(steps)} decoding steps, {sum(steps) / max(len(steps), 1):.1f} rows per step "
        f"({sum(1 for rows in steps if rows == batch)} full)"
    )
    print(f"identical outputs: {same}/{n}")
    print(f"example: {texts[0]!r} -> {batched[0]!r}")
    if same != n:
        print("FAILED: batched greedy outputs differ from one-at-a-time ones")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
