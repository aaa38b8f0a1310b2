"""Recording probe runs (TableRuns, used through BridgeTable): statuses, resumption, atomic
writes, idempotent upserts, the shipped-table import, and what TableRuns is given."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import DatabaseError, NoBridgeFound
from bridgex_chain.store import runs as runs_module
from bridgex_chain.store.engine import create_store_engine
from bridgex_chain.store.migrate import upgrade
from bridgex_chain.store.precomputed import shipped_tables
from bridgex_chain.store.records import RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable
from bridgex_chain.store.table_runs import TableRuns

Factory = Callable[..., tuple[RunRecord, list[ScoreRow]]]
MakeRun = Callable[..., RunRecord]
Aggregates = Callable[[str, str, dict[str, float]], list[ScoreRow]]


def test_only_complete_runs_are_visible(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    run = make_run()
    run_id = table.begin_run(run)
    assert (run.run_id, run.status) == (run_id, "running")
    table.write_scores(run_id, aggregates("sw", "sw", {"fr": 0.5, "en": 0.1}), final=False)
    with pytest.raises(NoBridgeFound):
        table.best("demo/model", "sw")
    assert table.models() == []
    table.complete_run(run_id, aggregates("sw", "sw", {"en": 0.9}))
    best = table.best("demo/model", "sw")
    assert (best.bridge, best.score) == ("eng_Latn", 0.9)  # later rows overwrite earlier ones
    (stored,) = table.runs()
    assert stored.status == "complete" and stored.finished_at

    failed = make_run(started="2025-02-01T00:00:00+00:00")
    failed_id = table.begin_run(failed)
    table.write_scores(failed_id, aggregates("yo", "yo", {"fr": 0.5}), final=False)
    table.fail_run(failed_id, "CUDA out of memory")
    with pytest.raises(NoBridgeFound):
        table.best("demo/model", "yo")
    assert table.runs()[1].error == "CUDA out of memory"
    assert table.runs()[1].status == "failed"


def test_status_rules(table: BridgeTable, make_run: MakeRun, aggregates: Aggregates) -> None:
    run = make_run()
    run_id = table.begin_run(run)
    table.fail_run(run_id, "first try")
    with pytest.raises(DatabaseError, match="begin_run"):
        table.write_scores(run_id, aggregates("sw", "sw", {"fr": 0.5}), final=False)
    # Resuming: the same run identity returns the same run, running again, rows kept.
    assert table.begin_run(run) == run_id
    assert table.runs()[0].status == "running"
    table.complete_run(run_id, aggregates("sw", "sw", {"fr": 0.5}))
    assert table.begin_run(run) == run_id and run.status == "complete"  # left complete
    with pytest.raises(DatabaseError, match="immutable"):
        table.write_scores(run_id, [], final=True)
    with pytest.raises(DatabaseError, match="immutable"):
        table.fail_run(run_id, "too late")
    with pytest.raises(DatabaseError, match="No probe run with id 999"):
        table.complete_run(999)


def test_scores_and_status_commit_together(
    table: BridgeTable, monkeypatch: pytest.MonkeyPatch, make_run: MakeRun, aggregates: Aggregates
) -> None:
    run_id = table.begin_run(make_run())

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("crash between the rows and the status")

    monkeypatch.setattr(runs_module, "set_status", broken)
    with pytest.raises(RuntimeError):
        table.complete_run(run_id, aggregates("sw", "sw", {"fr": 0.5}))
    monkeypatch.undo()
    assert table.scores(run_id) == []  # the rows were rolled back with the status change
    assert table.runs()[0].status == "running"


def test_upsert_is_idempotent_per_run_identity(
    table: BridgeTable, make_sample_run: Factory, aggregates: Aggregates
) -> None:
    run, rows = make_sample_run()
    first = table.upsert_run(run, rows)
    again = table.upsert_run(replace(run, run_id=None), rows)
    assert first == again
    assert len(table.runs()) == 1
    assert len(table.scores(first)) == len(rows)
    # New scores for the same identity replace the old ones.
    table.upsert_run(run, aggregates("sw", "sw", {"fr": 0.5}))
    assert table.scores(first) == [ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", None, 0.5, 3)]
    # Another start time is another run.
    other, _ = make_sample_run(started_at="2025-03-01T00:00:00+00:00")
    assert table.upsert_run(other, rows) != first
    assert len(table.runs()) == 2


def test_runs_filter_and_default_times(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    a = make_run("a/model")
    a.started_at = ""
    table.upsert_run(a, aggregates("sw", "sw", {"fr": 0.5}))
    assert a.started_at and a.finished_at  # filled on the record
    table.upsert_run(make_run("b/model"), aggregates("sw", "sw", {"fr": 0.5}))
    assert [r.profile.model for r in table.runs("a/model")] == ["a/model"]
    assert sorted(r.profile.model for r in table.runs()) == ["a/model", "b/model"]
    assert table.models() == ["a/model", "b/model"]


def test_on_write_follows_every_write_even_a_failed_one(
    sqlite_url: str, make_run: MakeRun, aggregates: Aggregates
) -> None:
    engine = create_store_engine(sqlite_url)
    upgrade(engine)
    calls: list[str] = []
    log = TableRuns(engine, threading.RLock(), on_write=lambda: calls.append("write"))
    run_id = log.begin_run(make_run())
    log.write_scores(run_id, aggregates("sw", "sw", {"fr": 0.5}), final=True)
    assert calls == ["write", "write"]
    with pytest.raises(DatabaseError, match="immutable"):
        log.fail_run(run_id, "too late")
    assert calls == ["write", "write", "write"]  # rolled back, still reported
    assert log.runs() == log.runs("demo/model") and len(log.scores(run_id)) == 1
    assert calls == ["write"] * 3  # reads do not count
    engine.dispose()


def test_ensure_shipped_waits_for_the_lock_it_was_given(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    upgrade(engine)
    lock = threading.RLock()
    log = TableRuns(engine, lock)
    done: list[list[int]] = []
    with lock:  # the owner's cache is busy
        worker = threading.Thread(target=lambda: done.append(log.ensure_shipped()))
        worker.start()
        worker.join(timeout=0.2)
        assert worker.is_alive() and done == []
    worker.join(timeout=60)
    assert len(done) == 1 and len(done[0]) == sum(t.run_count for t in shipped_tables())
    assert log.ensure_shipped() == []  # once per object
    assert len(log.runs()) == len(done[0])
    engine.dispose()


def test_export_of_nothing_writes_a_valid_empty_table(table: BridgeTable, tmp_path: Path) -> None:
    assert table.export_json(tmp_path / "empty.json", "nobody/none") == 0
    assert table.import_json(tmp_path / "empty.json") == []


def test_a_failed_run_resumes_with_its_scores(table: BridgeTable, make_run: MakeRun) -> None:
    run = make_run()
    run_id = table.begin_run(run)
    table.write_scores(run_id, [ScoreRow("sw", "sw", "fr", 1, 0.5)], final=False)
    table.fail_run(run_id, "killed")
    assert table.begin_run(replace(run, run_id=None)) == run_id
    (stored,) = table.runs()
    assert (stored.status, stored.error, stored.finished_at) == ("running", None, None)
    assert table.scores(run_id) == [ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", 1, 0.5)]
    with pytest.raises(NoBridgeFound):
        table.best("demo/model", "sw")
