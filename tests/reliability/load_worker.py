"""Worker processes of the load test (tests/reliability/test_rel_load.py); prints one JSON line.

``python load_worker.py reader URL --threads N --stop-file F --keys K.json --present M [--chain]``
    N threads share one :class:`BridgeTable` (``cache_ttl`` 20 ms, so lookups keep reaching the
    database) and loop over the (model, src, trg) keys: ``best`` + ``ranking`` (and, with
    ``--chain``, ``BridgeXChain.route`` and ``invoke`` with an instant fake model) until the
    stop file exists and every thread did ``--min-ops``, or ``--max-seconds`` pass. Reports
    operation counts, errors (NoBridgeFound for a ``--present`` model counts as one), every
    distinct answer and ranking seen, torn answers (a ranking without all its bridges) and
    answers that went back to an older run. Creates ``<stop file>.ready.<pid>`` once set up.
``python load_worker.py writer URL --files DIR --stop-file F [--protocol-runs K]``
    Imports every JSON file of DIR in name order (one transaction each), then stores K runs
    with the probing protocol (begin, half the rows, complete), then creates the stop file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

#: Candidate bridges of every run the load test stores (tests/store_fixtures.py sample_run).
BRIDGES_PER_ENTRY = 4


def _reader(args: argparse.Namespace) -> dict[str, Any]:
    from bridgex_chain.errors import NoBridgeFound
    from bridgex_chain.store.table import BridgeTable

    keys = [tuple(k) for k in json.loads(Path(args.keys).read_text(encoding="utf-8"))]
    table = BridgeTable(args.url, migrate=False, cache_ttl=0.02)
    chain = _chain(table) if args.chain else None
    present = set(filter(None, args.present.split(",")))
    stop = Path(args.stop_file)
    deadline = time.monotonic() + args.max_seconds
    lock = threading.Lock()
    totals: dict[str, Any] = {
        "ops": 0, "lookups": 0, "misses": 0, "routes": 0, "invokes": 0, "errors": 0,
        "torn": 0, "backwards": 0, "tracebacks": [], "observed": set(), "rankings": set(),
    }  # fmt: skip

    def work(seed: int) -> None:
        rng = random.Random(seed)
        counts = dict.fromkeys(("ops", "lookups", "misses", "routes", "invokes", "errors"), 0)
        counts.update(torn=0, backwards=0)
        observed: set[tuple[Any, ...]] = set()
        rankings: set[tuple[Any, ...]] = set()
        newest: dict[tuple[Any, ...], int] = {}
        errors: list[str] = []
        while time.monotonic() < deadline:
            if counts["ops"] >= args.min_ops and stop.exists():
                break
            key = keys[rng.randrange(len(keys))]
            model, src, trg = key
            counts["ops"] += 1
            try:
                if chain is not None and model == "demo/model" and counts["ops"] % 3 == 0:
                    counts[_use_chain(chain, src, trg, counts["ops"])] += 1
                    continue
                best = table.best(model, src, trg)
                ranking = table.ranking(model, src, trg)  # may already come from a newer run
                counts["lookups"] += 1
                if len(ranking) != BRIDGES_PER_ENTRY:
                    counts["torn"] += 1
                if best.run_id < newest.get(key, 0):
                    counts["backwards"] += 1
                newest[key] = best.run_id
                observed.add((model, best.src, best.trg, best.run_id, best.bridge, best.score))
                rankings.add((model, src, trg, tuple((r.bridge, r.score) for r in ranking)))
            except NoBridgeFound:
                if model in present:  # stored before the test began: must always be found
                    counts["errors"] += 1
                    if len(errors) < 3:
                        errors.append(traceback.format_exc())
                else:
                    counts["misses"] += 1  # a model the writer has not stored yet
            except Exception:
                counts["errors"] += 1
                if len(errors) < 3:
                    errors.append(traceback.format_exc())
        with lock:
            for name, value in counts.items():
                totals[name] += value
            totals["observed"] |= observed
            totals["rankings"] |= rankings
            totals["tracebacks"].extend(errors)

    Path(f"{args.stop_file}.ready.{os.getpid()}").touch()  # set up: the writer may start
    threads = [threading.Thread(target=work, args=(i,)) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    table.close()
    totals["observed"] = sorted(totals["observed"])
    totals["rankings"] = sorted(totals["rankings"])
    return totals


def _chain(table: Any) -> Any:
    from langchain_core.language_models import FakeListLLM

    from bridgex_chain.chain import BridgeXChain
    from bridgex_chain.detect import Detection

    return BridgeXChain(
        llm=FakeListLLM(responses=["sawa"]),
        model="demo/model",
        table=table,
        route_policy="table",  # the load test checks that every bridged route is served
        detector=lambda text: Detection("swh_Latn", 0.99, (("swh_Latn", 0.99),), "fake"),
    )


def _use_chain(chain: Any, src: str, trg: str, op: int) -> str:
    """Route (or, every 4th time, fully invoke) a query; raise if the route is not bridged."""
    request = {"query": "Habari ya asubuhi, rafiki?", "lang": src, "answer_language": trg}
    if op % 4 == 0:
        reply = chain.invoke(request)
        if not reply.content or reply.response_metadata["bridgex"]["bridge"] is None:
            raise AssertionError(f"invoke was not bridged: {reply.response_metadata}")
        return "invokes"
    route = chain.route(request)
    if route.fallback is not None or route.bridge is None:
        raise AssertionError(f"route fell back: {route.fallback} {route.detail}")
    return "routes"


def _writer(args: argparse.Namespace) -> dict[str, Any]:
    from bridgex_chain.store.precomputed import read_table_file
    from bridgex_chain.store.table import BridgeTable

    done: dict[str, Any] = {"imports": 0, "protocol_runs": 0, "rows": 0, "errors": 0}
    try:
        with BridgeTable(args.url, migrate=False) as table:
            files = sorted(Path(args.files).glob("*.json"))
            for path in files:
                table.import_json(path)
                done["imports"] += 1
                done["rows"] += sum(len(rows) for _, rows in read_table_file(path))
            for path in files[: args.protocol_runs]:  # the same runs again, as a new model
                ((record, rows),) = read_table_file(path)
                record.profile = replace(record.profile, model="proto/" + record.profile.model)
                record.status, record.finished_at = "running", None
                run_id = table.begin_run(record)
                table.write_scores(run_id, rows[: len(rows) // 2], final=False)
                time.sleep(0.01)
                table.complete_run(run_id, rows[len(rows) // 2 :])
                done["protocol_runs"] += 1
                done["rows"] += len(rows)
    except Exception:
        done["errors"] += 1
        done["traceback"] = traceback.format_exc()
    finally:
        Path(args.stop_file).touch()
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["reader", "writer"])
    parser.add_argument("url")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keys")
    parser.add_argument("--chain", action="store_true")
    parser.add_argument("--present", default="", help="models that are stored from the start")
    parser.add_argument("--min-ops", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=90.0)
    parser.add_argument("--files")
    parser.add_argument("--protocol-runs", type=int, default=0)
    parser.add_argument("--stop-file", required=True)
    args = parser.parse_args()
    result = _reader(args) if args.role == "reader" else _writer(args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
