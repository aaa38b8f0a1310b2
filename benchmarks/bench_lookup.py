"""Bridge-table lookup cost: cached ``best()`` per call, and the first (uncached) read.

Builds a table the size of a real one (24 source languages x 2 targets x 6 candidate bridges,
18 layers of per-layer scores) in SQLite, and in PostgreSQL when its server binaries are
installed (a throw-away cluster, the one the tests use), then measures:

- cached ``best()`` with a FLORES code and with an ISO code (normalisation included), and
  cached ``ranking()``: microseconds per call over many calls;
- the first read after ``refresh()`` (loads every entry of the model): milliseconds.

Run: ``.venv/bin/python benchmarks/bench_lookup.py``. Target: cached ``best()`` well under 50 µs.
"""

from __future__ import annotations

import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

MODEL = "bench/model"
SOURCES = [
    "swh_Latn", "yor_Latn", "hau_Latn", "ibo_Latn", "zul_Latn", "xho_Latn", "amh_Ethi",
    "som_Latn", "tgl_Latn", "ind_Latn", "jav_Latn", "vie_Latn", "tha_Thai", "khm_Khmr",
    "fin_Latn", "hun_Latn", "est_Latn", "heb_Hebr", "arb_Arab", "zho_Hans", "jpn_Jpan",
    "kor_Hang", "tam_Taml", "tel_Telu",
]  # fmt: skip
BRIDGES = ["eng_Latn", "fra_Latn", "deu_Latn", "spa_Latn", "ita_Latn", "por_Latn"]
LAYERS = 18
CACHED_CALLS = 200_000
FIRST_READS = 20


def _rows(seed: int) -> list[ScoreRow]:
    rng = random.Random(seed)
    rows: list[ScoreRow] = []
    for src in SOURCES:
        for trg in (src, "eng_Latn"):
            for bridge in BRIDGES:
                per_layer = [rng.random() for _ in range(LAYERS)]
                rows.extend(ScoreRow(src, trg, bridge, i, v) for i, v in enumerate(per_layer))
                window = per_layer[6:12]
                rows.append(ScoreRow(src, trg, bridge, None, sum(window) / 6, 6))
    return rows


def _fill(table: BridgeTable) -> int:
    run = RunRecord(
        ModelProfile(MODEL, "rev", "gemma3_text", LAYERS, 2048), "bench", "h", [*SOURCES],
        BRIDGES, {"window": [6, 12]}, status="complete", started_at="2025-01-01T00:00:00Z",
    )  # fmt: skip
    rows = _rows(0)
    table.upsert_run(run, rows)
    return len(rows)


def _per_call_us(fn: Any, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def measure(url: str) -> dict[str, float]:
    """Return the figures for one database URL."""
    with BridgeTable(url) as table:
        rows = _fill(table)
    with BridgeTable(url) as table:
        first = []
        for _ in range(FIRST_READS):
            table.refresh()
            start = time.perf_counter()
            table.best(MODEL, "swh_Latn")
            first.append((time.perf_counter() - start) * 1e3)
        assert table.best(MODEL, "sw").bridge == table.best(MODEL, "swh_Latn").bridge
        return {
            "rows": rows,
            "first_ms": statistics.median(first),
            "best_flores_us": _per_call_us(lambda: table.best(MODEL, "swh_Latn"), CACHED_CALLS),
            "best_iso_us": _per_call_us(lambda: table.best(MODEL, "sw", "en"), CACHED_CALLS),
            "ranking_us": _per_call_us(lambda: table.ranking(MODEL, "yor_Latn"), CACHED_CALLS),
        }


def _postgres() -> Any:
    """Start the tests' throw-away PostgreSQL cluster, or return None with a note."""
    fixtures = Path(__file__).resolve().parents[1] / "tests" / "store_fixtures.py"
    spec = importlib.util.spec_from_file_location("_bench_pg", fixtures)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bindir = module.find_postgres_bindir()
    if bindir is None or importlib.util.find_spec("psycopg") is None:
        print("PostgreSQL: skipped (no server binaries or psycopg; bash tools/ensure_postgres.sh)")
        return None
    server = module.ThrowawayPostgres(bindir)
    try:
        server.start()
    except (RuntimeError, OSError) as err:
        server.stop()
        print(f"PostgreSQL: skipped ({err})")
        return None
    return server


def main() -> int:
    """Run the benchmark and print one line per backend."""
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite (WAL)"] = measure(f"sqlite:///{os.path.join(tmp, 'bench.db')}")
    server = _postgres()
    if server is not None:
        try:
            results["postgresql"] = measure(server.create_database("bench"))
        finally:
            server.stop()
    print(f"bridge table: {len(SOURCES)} sources x 2 targets x {len(BRIDGES)} bridges, "
          f"{LAYERS} layers ({next(iter(results.values()))['rows']:.0f} score rows)")  # fmt: skip
    print(f"{'backend':<14} {'first read':>11} {'best() FLORES':>14} {'best() ISO':>11} "
          f"{'ranking()':>10}")  # fmt: skip
    for backend, r in results.items():
        print(f"{backend:<14} {r['first_ms']:>8.2f} ms {r['best_flores_us']:>11.2f} µs "
              f"{r['best_iso_us']:>8.2f} µs {r['ranking_us']:>7.2f} µs")  # fmt: skip
    worst = max(r["best_iso_us"] for r in results.values())
    print(
        f"cached best(): worst {worst:.2f} µs per call = {50 / worst:.0f}x under the 50 µs target"
    )
    return 0 if worst < 50 else 1


if __name__ == "__main__":
    sys.exit(main())
