"""Child process of the crash-resume tests: the real ``bridgex-chain`` CLI, progress teed to stderr.

Run as ``python build_child.py build-table ...``. Every :class:`ProgressEvent` that
:func:`bridgex_chain.probing.build.build_table` reports is also written to stderr as one JSON line
``{"event": [stage, done, total]}`` (flushed), so the parent can SIGKILL this process at a chosen
point. With ``BRIDGEX_REL_HOLD_WRITE=1`` the score rows are written inside the final
transaction, ``{"paused": ["in-transaction", rows, rows]}`` is reported and the process sleeps
before committing: the parent kills it there, with rows written but not committed.
With ``BRIDGEX_REL_PAUSE_AT=stage:N`` the process reports ``{"paused": [stage, done, total]}``
and sleeps at the first event of that stage whose ``done`` is at least N (``stage:half``: half
the stage's total), so a signal from the parent lands at exactly that point.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any


def _say(stage: str, done: int, total: int) -> None:
    sys.stderr.write(json.dumps({"event": [stage, done, total]}) + "\n")
    sys.stderr.flush()


def _pause_point() -> tuple[str, str] | None:
    spec = os.environ.get("BRIDGEX_REL_PAUSE_AT")
    if not spec:
        return None
    stage, _, at = spec.partition(":")
    return stage, at


def _install_tee() -> None:
    from bridgex_chain.probing import build

    real = build.build_table
    pause = _pause_point()

    def build_table(*args: Any, on_progress: Any = None, **kwargs: Any) -> Any:
        def tee(event: Any) -> None:
            _say(event.stage, event.done, event.total)
            if pause is not None and event.stage == pause[0]:
                at = event.total // 2 if pause[1] == "half" else int(pause[1])
                if event.done >= max(at, 0):
                    sys.stderr.write(
                        json.dumps({"paused": [event.stage, event.done, event.total]}) + "\n"
                    )
                    sys.stderr.flush()
                    time.sleep(120)  # the parent signals us here
            if on_progress is not None:
                on_progress(event)

        return real(*args, on_progress=tee, **kwargs)

    build.build_table = build_table  # type: ignore[assignment]


def _install_hold() -> None:
    from bridgex_chain.store import runs, table_runs

    real = runs.write_score_rows

    def write_score_rows(conn: Any, run_id: int, rows: Any) -> int:
        written = real(conn, run_id, rows)
        sys.stderr.write(json.dumps({"paused": ["in-transaction", written, written]}) + "\n")
        sys.stderr.flush()
        time.sleep(120)  # the parent kills us here; never reached in a normal run
        return written

    runs.write_score_rows = write_score_rows  # type: ignore[assignment]
    assert table_runs.runs is runs  # BridgeTable's run methods call it through the module


def main() -> None:
    # A test run started as a background job inherits SIGINT ignored; the parent's Ctrl-C
    # (SIGINT) must reach the CLI as KeyboardInterrupt, as in a terminal.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _install_tee()
    if os.environ.get("BRIDGEX_REL_HOLD_WRITE") == "1":
        _install_hold()
    from bridgex_chain.cli.main import run

    sys.argv = ["bridgex-chain", *sys.argv[1:]]
    run()


if __name__ == "__main__":
    main()
