"""Several processes on one bridge table: readers never see a half-written run, nothing is lost.

SQLite runs in WAL mode (readers do not block the writer); the same test runs on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from typing import Any

import pytest

from bridgex_chain.store.migrate import current_revision, head_revision
from bridgex_chain.store.records import parse_time
from bridgex_chain.store.table import BridgeTable

pytestmark = pytest.mark.slow

RUNS = 16
MODEL = "concurrent/model"
_CTX = multiprocessing.get_context("fork")


def _runs(make: Any) -> list[tuple[Any, list[Any]]]:
    return [
        make(MODEL, seed=i, started_at=f"2025-01-01T00:00:{i:02d}+00:00",
             finished_at=f"2025-01-01T01:00:{i:02d}+00:00")
        for i in range(RUNS)
    ]  # fmt: skip


def _writer(url: str, make: Any, done: Any, errors: Any) -> None:
    try:
        with BridgeTable(url) as table:
            for i, (run, rows) in enumerate(_runs(make)):
                if i % 2:
                    table.upsert_run(run, rows)
                else:  # the probing protocol: begin, partial writes, complete in one go
                    run.status = "running"
                    run.finished_at = None
                    run_id = table.begin_run(run)
                    half = len(rows) // 2
                    table.write_scores(run_id, rows[:half], final=False)
                    time.sleep(0.005)
                    table.complete_run(run_id, rows[half:])
    except Exception:
        errors.put("writer: " + traceback.format_exc())
    finally:
        done.set()


def _reader(url: str, rows_per_run: int, done: Any, errors: Any, stats: Any) -> None:
    try:
        with BridgeTable(url) as table:
            seen, iterations, lookups = 0, 0, 0
            while iterations < 100_000:  # bounded; ends soon after the writer
                iterations += 1
                finished = done.is_set()
                table.refresh()
                complete = [r for r in table.runs(MODEL) if r.status == "complete"]
                if len(complete) < seen:
                    raise AssertionError(f"complete runs went from {seen} to {len(complete)}")
                seen = len(complete)
                for run in complete[-2:]:  # complete runs always have every row
                    count = len(table.scores(run.run_id or 0))
                    if count != rows_per_run:
                        raise AssertionError(f"run {run.run_id}: {count}/{rows_per_run} rows")
                if complete:
                    best = table.best(MODEL, "swh_Latn")
                    lookups += 1
                    if best.run_id not in {r.run_id for r in table.runs(MODEL)}:
                        raise AssertionError(f"best() names unknown run {best.run_id}")
                if finished:
                    break
            stats.put((seen, iterations, lookups))
    except Exception:
        errors.put("reader: " + traceback.format_exc())


def _join(processes: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for proc in processes:
        proc.join(max(0.1, deadline - time.monotonic()))
    alive = [p for p in processes if p.is_alive()]
    for proc in alive:
        proc.kill()
    assert not alive, f"{len(alive)} process(es) hung"


def test_two_readers_while_one_writes(store_url: str, make_sample_run: Any) -> None:
    BridgeTable(store_url).close()  # migrate first, like an installed app would
    rows_per_run = len(make_sample_run(MODEL)[1])
    done, errors, stats = _CTX.Event(), _CTX.Queue(), _CTX.Queue()
    readers = [
        _CTX.Process(target=_reader, args=(store_url, rows_per_run, done, errors, stats))
        for _ in range(2)
    ]
    writer = _CTX.Process(target=_writer, args=(store_url, make_sample_run, done, errors))
    for proc in [*readers, writer]:
        proc.start()
    _join([writer, *readers], timeout=240)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, "\n".join(problems)
    results = [stats.get(timeout=5) for _ in readers]
    assert all(seen == RUNS for seen, _, _ in results), results  # each saw the final state
    assert all(iterations > 1 and lookups > 0 for _, iterations, lookups in results), results
    with BridgeTable(store_url) as table:
        runs = table.runs(MODEL)
        assert len(runs) == RUNS and {r.status for r in runs} == {"complete"}
        for run in runs:
            assert len(table.scores(run.run_id or 0)) == rows_per_run
        # The newest complete run (latest finish time) answers lookups.
        newest = max(runs, key=lambda r: (parse_time(r.finished_at or ""), r.run_id or 0))
        assert table.best(MODEL, "swh_Latn").run_id == newest.run_id


def _open(url: str, errors: Any) -> None:
    try:
        BridgeTable(url).close()
    except Exception:
        errors.put(traceback.format_exc())


def test_concurrent_first_opens_migrate_once(store_url: str) -> None:
    errors = _CTX.Queue()
    procs = [_CTX.Process(target=_open, args=(store_url, errors)) for _ in range(3)]
    for proc in procs:
        proc.start()
    _join(procs, timeout=120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, "\n".join(problems)
    assert all(p.exitcode == 0 for p in procs)
    assert current_revision(store_url) == head_revision()
