"""Probe-activation throughput: our batched forward-only recorder vs the reference's loop.

Model: the embedded Gemma-3-270m (``bridgex_chain.models.load_causal_lm()``).
Prompts: 200 probe prompts from the bundled CLDR starter probe set (25 from each of 8
directions, seeded), rendered ``{name(S)}:"{w}"→{name(T)}:``.

* reference — a transcription of the BridgeX-ICL reference loop: one prompt at a time,
  ``model.generate(max_new_tokens=30)`` (greedy), forward hooks on every layer's ``mlp.act_fn``
  storing the token mean of the prefill call (the value the reference ends up using: the
  prompt mean). Timed on the first ``--ref-prompts`` prompts only (default 20): it is slow.
* naive batched — batched full-model forward (LM head included), padding masked.
* ours — :func:`bridgex_chain.probing.record.record_prompt_means`: batched, sorted by length,
  decoder only (no LM head), reduced in the hook.

* ours/window — the same, recording only the middle layer window (what the HSIC step uses):
  the forward pass stops after the window's last layer.

Prints prompts/s of each, the ratio to the reference, and the largest difference between the
reference's prompt means and ours on the reference prompts.

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_probe.py [--prompts 200] [--threads 1]``
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from bridgex_chain.models import load_causal_lm
from bridgex_chain.probing.hooks import ActivationRecorder, act_fn_modules
from bridgex_chain.probing.record import record_prompt_means
from bridgex_chain.probing.starter import starter_probe_set

DIRECTIONS = [
    ("swh_Latn", "eng_Latn"),
    ("eng_Latn", "swh_Latn"),
    ("zho_Hans", "jpn_Jpan"),
    ("arb_Arab", "heb_Hebr"),
    ("ind_Latn", "tgl_Latn"),
    ("fin_Latn", "hun_Latn"),
    ("fra_Latn", "deu_Latn"),
    ("spa_Latn", "por_Latn"),
]


def probe_prompts(n: int) -> list[str]:
    ps = starter_probe_set()
    per = -(-n // len(DIRECTIONS))
    prompts: list[str] = []
    for src, trg in DIRECTIONS:
        prompts.extend(ps.prompt_texts(src, trg, max_prompts=per, seed=7))
    return prompts[:n]


def reference_loop(model: Any, tokenizer: Any, prompts: list[str]) -> np.ndarray:
    """One prompt at a time, generate(30), act_fn hooks: [layers, intermediate, prompts]."""
    import torch

    modules = act_fn_modules(model)
    current: dict[int, np.ndarray] = {}

    def make_hook(layer: int) -> Any:
        def hook(_m: Any, _i: Any, out: torch.Tensor) -> None:
            if layer not in current:  # the prefill call: [1, prompt tokens, I]
                current[layer] = out[0].float().mean(dim=0).cpu().numpy()

        return hook

    handles = [m.register_forward_hook(make_hook(k)) for k, m in enumerate(modules)]
    results = []
    try:
        for prompt in prompts:
            current.clear()
            inputs = tokenizer(prompt, return_tensors="pt")
            with torch.no_grad():
                model.generate(
                    **inputs,
                    max_new_tokens=30,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )
            results.append(np.stack([current[k] for k in range(len(modules))]))
    finally:
        for h in handles:
            h.remove()
    return np.stack(results, axis=-1)


def naive_batched(model: Any, tokenizer: Any, prompts: list[str], batch_size: int) -> None:
    """Batched full forward with the LM head, padding masked; prompts in given order."""
    import torch

    with ActivationRecorder(model) as rec, torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            batch = tokenizer(
                prompts[start : start + batch_size], return_tensors="pt", padding=True
            )
            rec.attention_mask = batch["attention_mask"]
            model(**batch)


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--ref-prompts", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for every path (default: torch's choice). On a shared, loaded "
        "machine 1 thread avoids OpenMP oversubscription.",
    )
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    lm = load_causal_lm()
    model, tok = lm.model, lm.tokenizer
    prompts = probe_prompts(args.prompts)
    ref_prompts = prompts[: args.ref_prompts]
    n_tokens = [len(ids) for ids in tok(prompts)["input_ids"]]
    print(f"model      : {lm.describe()}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"torch      : {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load average {load} (other processes slow every path)"
    )
    print(
        f"prompts    : {len(prompts)} from {len(DIRECTIONS)} directions of the starter set, "
        f"{min(n_tokens)}-{max(n_tokens)} tokens (mean {np.mean(n_tokens):.1f})"
    )
    print(f"example    : {prompts[0]}")

    # warm-up (allocations, kernels) for every path, not timed
    record_prompt_means(model, tok, prompts[:4], batch_size=4)
    reference_loop(model, tok, prompts[:1])

    t_ref, ref = timed(lambda: reference_loop(model, tok, ref_prompts))
    ref_rate = len(ref_prompts) / t_ref
    print(
        f"reference  : {len(ref_prompts)} prompts (subset) in {t_ref:7.2f} s = "
        f"{ref_rate:7.2f} prompts/s   (1 at a time, generate 30 tokens)"
    )

    t_naive, _ = timed(lambda: naive_batched(model, tok, prompts, args.batch_size))
    naive_rate = len(prompts) / t_naive
    print(
        f"naive batch: {len(prompts)} prompts in {t_naive:7.2f} s = {naive_rate:7.2f} prompts/s"
        f"   ratio {naive_rate / ref_rate:6.1f}x  (batch {args.batch_size}, LM head included)"
    )

    t_ours, ours = timed(
        lambda: record_prompt_means(model, tok, prompts, batch_size=args.batch_size)
    )
    ours_rate = len(prompts) / t_ours
    print(
        f"ours       : {len(prompts)} prompts in {t_ours:7.2f} s = {ours_rate:7.2f} prompts/s"
        f"   ratio {ours_rate / ref_rate:6.1f}x  (batch {args.batch_size}, decoder only)"
    )

    n_layers = lm.num_layers
    window = list(range(n_layers * 10 // 32, n_layers * 22 // 32))  # reference 10-21 of 32
    t_win, _ = timed(
        lambda: record_prompt_means(model, tok, prompts, batch_size=args.batch_size, layers=window)
    )
    win_rate = len(prompts) / t_win
    print(
        f"ours/window: {len(prompts)} prompts in {t_win:7.2f} s = {win_rate:7.2f} prompts/s"
        f"   ratio {win_rate / ref_rate:6.1f}x  (layers {window[0]}-{window[-1]} only: the pass "
        f"stops after layer {window[-1]})"
    )

    # parity: the reference's prompt means vs ours, on the reference prompts
    mine = np.stack([ours[k][:, : len(ref_prompts)] for k in range(lm.num_layers)])
    diff = np.abs(mine - ref)
    scale = np.abs(ref).max()
    print(
        f"parity     : max |ours - reference| = {diff.max():.2e} (max |activation| "
        f"{scale:.2f}, relative {diff.max() / scale:.1e}) over {ref.size} values "
        f"[{lm.num_layers} layers x {lm.intermediate_size} neurons x {len(ref_prompts)} prompts]"
    )
    target = 100.0
    verdict = "meets" if ours_rate / ref_rate >= target else "MISSES"
    ratio = ours_rate / ref_rate
    print(
        f"result     : ours/reference = {ratio:.1f}x, all layers ({verdict} the {target:.0f}x "
        "target)"
    )


if __name__ == "__main__":
    main()
