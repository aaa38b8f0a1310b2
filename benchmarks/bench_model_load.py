"""Time loading the embedded Gemma-3-270m: cold (building the float32 cache) and cached.

Usage::

    .venv/bin/python benchmarks/bench_model_load.py          # cold only if no cache exists yet
    .venv/bin/python benchmarks/bench_model_load.py --cold   # also time a build in a temp cache dir

The cold figure includes assembling the GGUF, dequantizing it and writing the float32 copy;
the cached figure is what every later ``load_causal_lm()`` costs. Imports of torch and
transformers are timed separately and excluded from both.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _timed_load(label: str) -> float:
    from bridgex_chain.models import load_causal_lm

    started = time.perf_counter()
    lm = load_causal_lm("gemma-3-270m")
    seconds = time.perf_counter() - started
    print(
        f"{label:<28} {seconds:7.1f} s  from_cache={lm.from_cache!s:<5} "
        f"peak RSS so far {_peak_rss_gb():.2f} GB"
    )
    del lm
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="time a build in a temporary cache dir")
    parser.add_argument("--repeats", type=int, default=2, help="cached loads to time")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    started = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401

    print(f"{'import torch+transformers':<28} {time.perf_counter() - started:7.1f} s")

    from bridgex_chain.models import embedded as model_cache

    cold: float | None = None
    tmp: str | None = None
    if args.cold:
        tmp = tempfile.mkdtemp(prefix="bridgex-bench-")
        os.environ["BRIDGEX_CACHE_DIR"] = tmp
    try:
        if not model_cache.is_embedded_model_cached():
            cold = _timed_load("cold load (builds cache)")
        else:
            print(f"{'cold load':<28} skipped: cache exists (pass --cold to time a build)")
        cache_path = model_cache.embedded_model_path()
        size_gb = sum(p.stat().st_size for p in cache_path.rglob("*") if p.is_file()) / 1e9
        cached = [_timed_load(f"cached load #{i + 1}") for i in range(args.repeats)]
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    best = min(cached)
    print(f"{'cache size':<28} {size_gb:7.2f} GB at {Path(cache_path)}")
    if cold is not None:
        print(f"{'cold / cached (best)':<28} {cold / best:7.1f} x")


if __name__ == "__main__":
    main()
