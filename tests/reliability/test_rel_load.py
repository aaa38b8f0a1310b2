"""Load: M reader processes × N threads look bridges up while one writer imports tables.

On SQLite (WAL, one file) and on PostgreSQL (the throw-away cluster, Unix socket only). Readers
call ``BridgeTable.best``/``ranking`` and the chain's routing (``BridgeXChain.route`` and
``invoke`` with an instant fake model); the writer imports JSON tables one transaction at a time
and stores runs with the probing protocol. Every loop is bounded (operation count and deadline).

Checked: no reader or writer error; no torn answer (every ranking has all its bridges, best is
its first); no answer from a run readers could not see (every answer matches the final table);
no lookup going back to an older run; no row lost (every stored row is in the final table). The
figures are printed (``pytest -s``) and listed in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.store.precomputed import write_table_file
from bridgex_chain.store.table import BridgeTable

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("load_worker.py")
PROCESSES = 3
THREADS = 4
IMPORTS = 10
PROTOCOL_RUNS = 4
Snapshot = Callable[[str], dict[str, list[tuple[Any, ...]]]]


def _write_imports(directory: Path, make_sample_run: Any) -> list[str]:
    """IMPORTS single-run files: newer runs of demo/model and new models, in finish order."""
    directory.mkdir()
    models = []
    for i in range(IMPORTS):
        model = "demo/model" if i % 2 == 0 else f"load/model-{i}"
        run = make_sample_run(
            model, seed=100 + i, started_at=f"2025-06-{i + 1:02d}T00:00:00+00:00",
            finished_at=f"2025-06-{i + 1:02d}T01:00:00+00:00",
        )  # fmt: skip
        write_table_file(directory / f"{i:03d}.json", [run], tool_version="0.1.0")
        models.append(model)
    return models


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _result(proc: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("a load worker hung") from None
    assert proc.returncode == 0, err[-3000:]
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _wait_ready(stop: Path, deadline: float) -> None:
    """Wait until every reader is set up, so the writer runs while they read."""
    while len(list(stop.parent.glob(f"{stop.name}.ready.*"))) < PROCESSES:
        assert time.monotonic() < deadline, "readers did not start"
        time.sleep(0.05)


def _final_aggregates(url: str) -> dict[tuple[Any, ...], dict[str, float]]:
    """(model, src, trg, run id) → {bridge: aggregate score} of every complete run."""
    found: dict[tuple[Any, ...], dict[str, float]] = {}
    with BridgeTable(url) as table:
        for run in table.runs():
            assert run.status == "complete", run
            for row in table.scores(run.run_id or 0):
                if row.layer is None:
                    key = (run.profile.model, row.src, row.trg, run.run_id)
                    found.setdefault(key, {})[row.bridge] = row.score
    return found


def test_readers_and_a_writer_at_once_lose_nothing(
    seeded_url: str, make_sample_run: Any, snapshot: Snapshot, tmp_path: Path
) -> None:
    backend = seeded_url.split(":", 1)[0].split("+")[0]
    before = snapshot(seeded_url)
    models = _write_imports(tmp_path / "imports", make_sample_run)
    sources = ("swh_Latn", "yor_Latn", "hau_Latn")
    keys = [
        (model, src, trg)
        for model in sorted({"demo/model", "other/model", *models})
        for src in sources
        for trg in (src, "eng_Latn")
    ]
    (tmp_path / "keys.json").write_text(json.dumps(keys), encoding="utf-8")
    stop = tmp_path / "writer-done"
    started = time.monotonic()
    readers = [
        _spawn("reader", seeded_url, "--threads", str(THREADS), "--keys",
               str(tmp_path / "keys.json"), "--stop-file", str(stop), "--min-ops", "150",
               "--max-seconds", "120", "--present", "demo/model,other/model",
               *(["--chain"] if i == 0 else []))
        for i in range(PROCESSES)
    ]  # fmt: skip
    _wait_ready(stop, time.monotonic() + 120)
    writer = _spawn(
        "writer", seeded_url, "--files", str(tmp_path / "imports"), "--stop-file", str(stop),
        "--protocol-runs", str(PROTOCOL_RUNS),
    )  # fmt: skip
    deadline = time.monotonic() + 300
    wrote = _result(writer, deadline)
    results = [_result(proc, deadline) for proc in readers]
    elapsed = time.monotonic() - started

    assert wrote["errors"] == 0, wrote.get("traceback")
    assert (wrote["imports"], wrote["protocol_runs"]) == (IMPORTS, PROTOCOL_RUNS)
    tracebacks = [t for r in results for t in r["tracebacks"]]
    assert sum(r["errors"] for r in results) == 0, "\n".join(tracebacks)
    assert sum(r["torn"] for r in results) == 0
    assert sum(r["backwards"] for r in results) == 0
    assert results[0]["routes"] > 0 and results[0]["invokes"] > 0

    # every answer a reader saw is the best bridge of a complete run in the final table
    final = _final_aggregates(seeded_url)
    observed = {tuple(o) for r in results for o in r["observed"]}
    for model, src, trg, run_id, bridge, score in observed:
        scores = final[(model, src, trg, run_id)]
        assert scores[bridge] == score == max(scores.values()), (model, src, trg, run_id)
    complete = {
        (model, src, trg, tuple(sorted(scores.items(), key=lambda bs: (-bs[1], bs[0]))))
        for (model, src, trg, _), scores in final.items()
    }
    rankings = {
        (m, s, t, tuple(map(tuple, r))) for res in results for m, s, t, r in res["rankings"]
    }
    assert rankings <= complete, "a ranking matched no complete run"

    # rows lost: the seeded rows are all there unchanged, and every written row was stored
    after = snapshot(seeded_url)
    lost = sum(len(set(rows) - set(after[name])) for name, rows in before.items())
    stored = sum(len(after[t]) - len(before[t]) for t in ("bridge_scores", "bridge_aggregates"))
    assert lost == 0
    assert stored == wrote["rows"]
    runs_added = len(after["probe_runs"]) - len(before["probe_runs"])
    assert runs_added == IMPORTS + PROTOCOL_RUNS

    ops = sum(r["ops"] for r in results)
    print(
        f"\nload[{backend}]: {PROCESSES} reader processes x {THREADS} threads + 1 writer, "
        f"{elapsed:.1f} s: {ops} reader operations ({sum(r['lookups'] for r in results)} "
        f"best+ranking, {results[0]['routes']} chain routes, {results[0]['invokes']} chain "
        f"invokes, {sum(r['misses'] for r in results)} NoBridgeFound before the writer stored "
        f"the model), writer: {wrote['imports']} imports + {wrote['protocol_runs']} protocol "
        f"runs = {wrote['rows']} rows; errors 0, torn 0, backwards 0, rows lost {lost}, "
        f"distinct answers {len(observed)}, distinct rankings {len(rankings)}"
    )
