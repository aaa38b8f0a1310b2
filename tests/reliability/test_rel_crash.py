"""Crash safety of ``bridgex-chain build-table``: kill it anywhere, re-run, get the same table.

The real CLI runs in a subprocess (``build_child.py``) on a tiny random Llama saved to a tmp dir
and passed as a local path. One build is interrupted again and again on the same database and
cache directory, each time at another stage:

0. SIGKILL after a seeded-random number of progress events (``BRIDGEX_REL_SEED`` changes it);
1. SIGKILL during language neurons (two of three languages done);
2. SIGKILL half-way through probe activations;
3. SIGINT during HSIC scores (Ctrl-C: the run must be marked ``failed`` with the reason);
4. SIGKILL inside the final write transaction (rows written, not committed), while this process
   reads the table;
5. a run left alone, which must resume (same run id) and finish.

After every interruption: no complete run and no score row of the build is visible, lookups
raise NoBridgeFound, finished intermediates are not rewritten by the next run, and every row that
was in the table before is unchanged. At the end the table equals, score for score, the one an
uninterrupted build (run in parallel on its own database) produced.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import NoBridgeFound
from bridgex_chain.store.table import BridgeTable

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("build_child.py")
BUILD_ARGS = (
    "--languages", "sw", "--pairs", "sw-en", "--bridges", "en,fr", "--max-prompts", "4",
    "--top-rate", "0.1", "--layers", "0-2", "--corpus-max-tokens", "300",
)  # fmt: skip
CHILD_TIMEOUT = 400.0
Snapshot = Callable[[str], dict[str, list[tuple[Any, ...]]]]


@dataclass
class Child:
    """One ``build-table`` process and what it reported."""

    proc: subprocess.Popen[str]
    events: list[tuple[str, int, int]] = field(default_factory=list)
    paused: tuple[str, int, int] | None = None
    stdout: str = ""
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out = self.proc.stdout
        err = self.proc.stderr
        self._out: list[str] = []
        self.ended = False
        threading.Thread(target=lambda: self._out.append(out.read()), daemon=True).start()

        def pump() -> None:
            for line in err:
                self.lines.put(line)
            self.lines.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def _next(self, deadline: float) -> str | None:
        if self.ended:
            return None
        try:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            self.proc.kill()
            raise AssertionError("build-table child timed out") from None
        self.ended = line is None
        return line

    def follow(self, stop: Callable[[Child], bool] | None = None) -> bool:
        """Read progress until ``stop`` says so (True) or the child ends (False)."""
        deadline = time.monotonic() + CHILD_TIMEOUT
        while (line := self._next(deadline)) is not None:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # transformers' own stderr output
            if "event" in message:
                self.events.append(tuple(message["event"]))  # type: ignore[arg-type]
            if "paused" in message:
                self.paused = tuple(message["paused"])  # type: ignore[assignment]
            if stop is not None and stop(self):
                return True
        return False

    def finish(self) -> int:
        code = self.proc.wait(timeout=CHILD_TIMEOUT)
        deadline = time.monotonic() + 30
        while self._next(deadline) is not None:
            pass
        deadline = time.monotonic() + 30
        while not self._out and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stdout = " ".join("".join(self._out).split())
        return code


def start_child(
    model_dir: Path, url: str, cache: Path, *, pause_at: str | None = None, hold: bool = False
) -> Child:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    env.pop("BRIDGEX_REL_PAUSE_AT", None)
    env.pop("BRIDGEX_REL_HOLD_WRITE", None)
    if pause_at:
        env["BRIDGEX_REL_PAUSE_AT"] = pause_at
    if hold:
        env["BRIDGEX_REL_HOLD_WRITE"] = "1"
    args = [sys.executable, str(CHILD), "build-table", "--model", str(model_dir), *BUILD_ARGS,
            "--database-url", url, "--cache-dir", str(cache)]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, bufsize=1
    )
    return Child(proc)


def interrupt(child: Child, sig: int, stop: Callable[[Child], bool]) -> int:
    assert child.follow(stop), f"the child ended before the kill point: {child.events[-3:]}"
    child.proc.send_signal(sig)
    return child.finish()


@pytest.fixture(scope="module")
def model_dir(
    tmp_path_factory: pytest.TempPathFactory, save_tiny_lm: Callable[[str, Path], Path]
) -> Path:
    return save_tiny_lm("llama", tmp_path_factory.mktemp("tiny-llama-model"))


def table_rows(url: str, model: str) -> list[tuple[Any, ...]]:
    """Every score row of the model's complete runs, sorted (run ids left out)."""
    with BridgeTable(url) as table:
        runs = [r for r in table.runs(model) if r.status == "complete"]
        return sorted(
            (r.src, r.trg, r.bridge, -1 if r.layer is None else r.layer, r.score, r.layers_scored)
            for run in runs
            for r in table.scores(run.run_id or 0)
        )


def finished_files(cache: Path) -> dict[str, tuple[int, int]]:
    """Finished intermediates (neurons, probes, scores) with their mtime and size."""
    found: dict[str, tuple[int, int]] = {}
    for sub in ("neurons", "probes", "scores"):
        for path in cache.glob(f"runs/*/{sub}/*"):
            if not path.name.startswith("."):
                stat = path.stat()
                found[str(path.relative_to(cache))] = (stat.st_mtime_ns, stat.st_size)
    return found


def assert_reused(before: dict[str, tuple[int, int]], cache: Path) -> None:
    """Every finished file that still exists was not rewritten; neuron files never go away."""
    now = finished_files(cache)
    for name, stamp in before.items():
        if "/neurons/" in name:
            assert name in now, f"{name} was deleted"
        if name in now:
            assert now[name] == stamp, f"{name} was recomputed"


def assert_invisible(
    url: str,
    model: str,
    status: str,
    before: dict[str, Any],
    snap: Any,
    *,
    maybe_absent: bool = False,
) -> None:
    """The interrupted run is recorded (or, killed early, not yet) but invisible to readers."""
    with BridgeTable(url) as table:
        runs = table.runs(model)
        statuses = [r.status for r in runs]
        assert statuses == [status] or (maybe_absent and statuses == []), statuses
        for run in runs:
            assert table.scores(run.run_id or 0) == []
        assert model not in table.models()
        with pytest.raises(NoBridgeFound):
            table.best(model, "swh_Latn")
        with pytest.raises(NoBridgeFound):
            table.best(model, "swh_Latn", "eng_Latn")
    after = snap(url)
    for name, rows in before.items():
        assert set(rows) <= set(after[name]), f"{name}: a stored row changed"


def _iter_stop(n: int) -> Callable[[Child], bool]:
    return lambda child: len(child.events) >= n


def test_build_table_killed_anywhere_resumes_to_the_uninterrupted_table(
    model_dir: Path,
    tmp_path: Path,
    sqlite_url: str,
    make_sample_run: Any,
    snapshot: Snapshot,
) -> None:
    key = model_dir.name  # a local path without a Hub id is keyed by its directory name
    with BridgeTable(sqlite_url) as table:  # rows that must survive every crash
        table.upsert_run(*make_sample_run("other/model"))
    before = snapshot(sqlite_url)
    cache = tmp_path / "cache"
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    reference = start_child(model_dir, reference_url, tmp_path / "reference-cache")
    kills: list[str] = []

    def paused_at(stage: str) -> Callable[[Child], bool]:
        return lambda child: child.paused is not None and child.paused[0] == stage

    # 0. SIGKILL after a seeded-random number of progress events of a fresh build
    seed = int(os.environ.get("BRIDGEX_REL_SEED", "20261125"))
    n = random.Random(seed).randint(8, 75)  # after loading, before the end
    child = start_child(model_dir, sqlite_url, cache)
    assert interrupt(child, signal.SIGKILL, _iter_stop(n)) == -signal.SIGKILL
    kills.append(f"SIGKILL after {n} events at {child.events[-1]}")
    assert_invisible(sqlite_url, key, "running", before, snapshot, maybe_absent=True)

    # 1. SIGKILL in the neurons stage, two languages counted
    stamps = finished_files(cache)
    child = start_child(model_dir, sqlite_url, cache, pause_at="neurons:2")
    assert interrupt(child, signal.SIGKILL, paused_at("neurons")) == -signal.SIGKILL
    kills.append(f"SIGKILL at {child.paused}")
    assert_invisible(sqlite_url, key, "running", before, snapshot)
    assert_reused(stamps, cache)
    assert len([n for n in finished_files(cache) if "/neurons/" in n]) >= 2
    with BridgeTable(sqlite_url) as table:
        (run_id,) = [r.run_id for r in table.runs(key)]

    # 2. SIGKILL half-way through the probes
    stamps = finished_files(cache)
    child = start_child(model_dir, sqlite_url, cache, pause_at="probes:half")
    assert interrupt(child, signal.SIGKILL, paused_at("probes")) == -signal.SIGKILL
    kills.append(f"SIGKILL at {child.paused}")
    assert_invisible(sqlite_url, key, "running", before, snapshot)
    assert_reused(stamps, cache)
    assert any("/probes/" in n for n in finished_files(cache))

    # 3. Ctrl-C (SIGINT) in the scores stage: the run is marked failed with the reason
    stamps = finished_files(cache)
    child = start_child(model_dir, sqlite_url, cache, pause_at="scores:1")
    assert interrupt(child, signal.SIGINT, paused_at("scores")) != 0
    kills.append(f"SIGINT at {child.paused}")
    assert_invisible(sqlite_url, key, "failed", before, snapshot)
    with BridgeTable(sqlite_url) as table:
        (failed,) = table.runs(key)
    assert "KeyboardInterrupt" in (failed.error or "") and failed.run_id == run_id
    assert_reused(stamps, cache)

    # 4. SIGKILL inside the write transaction; meanwhile readers see nothing of it
    stamps = finished_files(cache)
    child = start_child(model_dir, sqlite_url, cache, hold=True)
    assert child.follow(paused_at("in-transaction"))
    assert child.paused is not None and child.paused[1] > 0  # rows written, not committed
    assert_invisible(sqlite_url, key, "running", before, snapshot)
    child.proc.send_signal(signal.SIGKILL)
    assert child.finish() == -signal.SIGKILL
    kills.append(f"SIGKILL at {child.paused}")
    assert_invisible(sqlite_url, key, "running", before, snapshot)
    assert_reused(stamps, cache)

    # 5. left alone, the build resumes the same run and completes it
    stamps = finished_files(cache)
    child = start_child(model_dir, sqlite_url, cache)
    child.follow()
    assert child.finish() == 0, child.stdout
    assert "resumed and completed" in child.stdout, child.stdout
    assert_reused(stamps, cache)
    assert reference.follow() is False and reference.finish() == 0, reference.stdout
    assert "built" in reference.stdout

    expected = table_rows(reference_url, key)
    assert expected, "the reference build wrote no rows"
    assert table_rows(sqlite_url, key) == expected  # exactly: same floats, same layers
    with BridgeTable(sqlite_url) as table, BridgeTable(reference_url) as ref:
        (run,) = table.runs(key)
        (ref_run,) = ref.runs(key)
        assert (run.run_id, run.status, run.error) == (run_id, "complete", None)
        same = ("probe_set", "probe_set_hash", "languages", "bridges", "params", "profile")
        assert {k: getattr(run, k) for k in same} == {k: getattr(ref_run, k) for k in same}
        for trg in (None, "eng_Latn"):
            got, want = table.best(key, "sw", trg), ref.best(key, "sw", trg)
            assert (got.bridge, got.score, got.margin) == (want.bridge, want.score, want.margin)
    after = snapshot(sqlite_url)
    for name, rows in before.items():
        assert set(rows) <= set(after[name]), f"{name}: a stored row changed"
    print("crash points:", "; ".join(kills))
