"""Fixtures of the unit tests: a small bridge table holding one complete run.

The store fixtures (``sqlite_url``, ``postgres_server``, ``postgres_url``, ``store_url``,
``make_sample_run``) come from tests/store_fixtures.py, which tests/conftest.py registers as a
plugin for every test directory.

Fixtures
--------
``make_bridge_db``
    ``make(model, scores, **run_fields) -> url``: a SQLite file in the test's tmp dir holding one
    complete run of ``model`` with the given aggregate scores (see :func:`write_complete_run`).

Example::

    def test_route(make_bridge_db):
        url = make_bridge_db("google/gemma-3-270m", {("swh_Latn", "swh_Latn"): {"fra_Latn": 0.41}})
        with BridgeTable(url) as table:
            assert table.best("google/gemma-3-270m", "swh_Latn").bridge == "fra_Latn"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

#: ``{(src, trg): {bridge: aggregate score}}``, in the order the rows are written.
Scores = Mapping[tuple[str, str], Mapping[str, float]]

#: Revision, architecture, layers and intermediate size stored for google/gemma-3-270m.
GEMMA_PROFILE = ("gguf-test", "gemma3_text", 18, 2048)


def _unique(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))


def write_complete_run(
    url: str,
    model: str,
    scores: Scores,
    *,
    profile: tuple[str, str, int, int] = GEMMA_PROFILE,
    probe_set_hash: str = "h1",
    languages: list[str] | None = None,
    bridges: list[str] | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Store one complete run of ``model`` (probe set ``unit``) holding only aggregate scores.

    ``languages`` defaults to every source and target, then every bridge not listed yet;
    ``bridges`` to every bridge; both in order of first appearance in ``scores``.
    """
    from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
    from bridgex_chain.store.table import BridgeTable

    rows = [
        ScoreRow(src, trg, bridge, None, score)
        for (src, trg), by_bridge in scores.items()
        for bridge, score in by_bridge.items()
    ]
    pair_codes = [code for pair in scores for code in pair]
    bridge_codes = _unique(row.bridge for row in rows)
    run = RunRecord(
        ModelProfile(model, *profile),
        "unit",
        probe_set_hash,
        languages if languages is not None else _unique([*pair_codes, *bridge_codes]),
        bridges if bridges is not None else bridge_codes,
        params if params is not None else {},
        status="complete",
    )
    with BridgeTable(url) as table:
        table.upsert_run(run, rows)


@pytest.fixture
def make_bridge_db(tmp_path: Path) -> Callable[..., str]:
    """Return ``make(model, scores, **run_fields) -> url`` (see :func:`write_complete_run`)."""

    def make(model: str, scores: Scores, **run_fields: Any) -> str:
        url = f"sqlite:///{tmp_path}/t.db"
        write_complete_run(url, model, scores, **run_fields)
        return url

    return make
