"""One BridgeTable shared by many threads in one process (the chain's usual set-up).

The load test (test_rel_load.py) found a race here: with ``cache_ttl``, one thread's
``refresh()`` could reset the TTL deadline to None between another thread's ``is not None`` check
and its comparison, and the lookup raised ``TypeError``. The first test replays that interleaving
deterministically; the second runs real threads against refreshes and writes.
"""

from __future__ import annotations

import threading
import time
import traceback
from types import SimpleNamespace
from typing import Any

import pytest

from bridgex_chain.store import table as table_module
from bridgex_chain.store.table import BridgeTable

THREADS = 6
OPS = 300


def test_refresh_between_the_ttl_check_and_the_comparison(
    seeded_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = BridgeTable(seeded_sqlite_url, cache_ttl=60)
    first = table.best("demo/model", "swh_Latn")  # starts the TTL clock
    assert table._deadline is not None
    interleaved = []

    def monotonic() -> float:  # "another thread" refreshes right as the clock is read
        if not interleaved:
            interleaved.append(True)
            table.refresh()
        return time.monotonic() + 3600  # and the TTL has expired

    monkeypatch.setattr(table_module, "time", SimpleNamespace(monotonic=monotonic))
    assert table.best("demo/model", "swh_Latn") == first
    assert table.ranking("demo/model", "swh_Latn")[0].bridge == first.bridge
    assert interleaved
    table.close()


def test_threads_share_one_table_while_it_refreshes_and_writes(
    seeded_sqlite_url: str, make_sample_run: Any
) -> None:
    table = BridgeTable(seeded_sqlite_url, cache_ttl=0.005)
    expected = {src: table.best("other/model", src) for src in ("swh_Latn", "yor_Latn")}
    errors: list[str] = []
    counts = [0] * THREADS
    stop = threading.Event()

    def reader(i: int) -> None:
        try:
            for n in range(OPS):
                src = ("swh_Latn", "yor_Latn")[n % 2]
                assert table.best("other/model", src) == expected[src]
                assert len(table.ranking("demo/model", src, "eng_Latn")) == 4
                counts[i] += 1
        except Exception:
            errors.append(traceback.format_exc())

    def churn() -> None:
        try:
            for k in range(2000):
                if stop.is_set():
                    break
                table.refresh()
                if k % 100 == 0:  # writes through the same object invalidate the cache too
                    run, rows = make_sample_run(
                        "churn/model",
                        seed=k,
                        started_at=f"2025-05-01T00:{k // 60:02d}:{k % 60:02d}Z",
                    )
                    table.upsert_run(run, rows)
                time.sleep(0.001)
        except Exception:
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(THREADS)]
    churner = threading.Thread(target=churn)
    churner.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    stop.set()
    churner.join(timeout=60)
    table.close()
    assert not errors, "\n".join(errors[:3])
    assert counts == [OPS] * THREADS
