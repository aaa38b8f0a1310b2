"""Fixtures shared by the store tests (``store_url`` and ``make_sample_run`` come from
tests/store_fixtures.py).

Fixtures
--------
``table``
    An open :class:`BridgeTable` on each backend's new, empty database (``store_url``).
``make_run``
    ``make(model="demo/model", started="2025-01-01T00:00:00+00:00") -> RunRecord``: a complete
    run record of a small llama profile over sw/en/fr/es, with no scores.
``aggregates``
    ``make(src, trg, {bridge: score}) -> list[ScoreRow]``: aggregate rows (3 layers scored).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable


@pytest.fixture
def table(store_url: str) -> Iterator[BridgeTable]:
    with BridgeTable(store_url) as t:
        yield t


def _run(model: str = "demo/model", started: str = "2025-01-01T00:00:00+00:00") -> RunRecord:
    return RunRecord(
        profile=ModelProfile(model, "r1", "llama", 4, 16),
        probe_set="starter",
        probe_set_hash="h1",
        languages=["sw", "en", "fr", "es"],
        bridges=["en", "fr", "es"],
        params={"window": [1, 3]},
        status="complete",
        started_at=started,
    )


def _aggregates(src: str, trg: str, scores: dict[str, float]) -> list[ScoreRow]:
    return [ScoreRow(src, trg, bridge, None, score, 3) for bridge, score in scores.items()]


@pytest.fixture
def make_run() -> Callable[..., RunRecord]:
    return _run


@pytest.fixture
def aggregates() -> Callable[[str, str, dict[str, float]], list[ScoreRow]]:
    return _aggregates
