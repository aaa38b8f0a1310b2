"""Fixtures of the reliability tests: the store fixtures, seeded tables and table snapshots.

The store fixtures (``sqlite_url``, ``postgres_server``, ``postgres_url``, ``store_url``,
``make_sample_run``) come from tests/store_fixtures.py, which tests/conftest.py registers as a
plugin for every test directory, so a session starts at most one PostgreSQL cluster.

Own fixtures
------------
``snapshot``
    ``snapshot(url) -> dict[str, list[tuple]]``: every row of every bridge-table table (and the
    schema version), read through a fresh engine, sorted, surrogate ids included, so "unchanged"
    means byte-for-byte the same rows.
``seeded_url``
    A ``store_url`` (SQLite and PostgreSQL) already holding two complete runs of ``demo/model``
    and one of ``other/model``: the rows that must survive every fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

#: Tables whose rows a fault must never change.
TABLES = (
    "model_profiles",
    "probe_runs",
    "bridge_scores",
    "bridge_aggregates",
    "bridgex_alembic_version",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLite gives naive UTC, PostgreSQL aware times
        return value.replace(tzinfo=None).isoformat() if value.tzinfo is None else value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return value


def take_snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the bridge-table tables at ``url`` (see the module docstring)."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=[t for t in TABLES])
        out: dict[str, list[tuple[Any, ...]]] = {}
        with engine.connect() as conn:
            for name in TABLES:
                rows = conn.execute(select(meta.tables[name])).all()
                out[name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
        return out
    finally:
        engine.dispose()


@pytest.fixture
def snapshot() -> Callable[[str], dict[str, list[tuple[Any, ...]]]]:
    """The :func:`take_snapshot` function."""
    return take_snapshot


def seed(url: str, make_sample_run: Callable[..., tuple[Any, list[Any]]]) -> None:
    """Store two complete runs of ``demo/model`` and one of ``other/model``."""
    from bridgex_chain.store.table import BridgeTable

    with BridgeTable(url) as table:
        for seed_no, model in ((0, "demo/model"), (1, "demo/model"), (2, "other/model")):
            run, rows = make_sample_run(
                model,
                seed=seed_no,
                started_at=f"2025-01-0{seed_no + 1}T00:00:00+00:00",
                finished_at=f"2025-01-0{seed_no + 1}T01:00:00+00:00",
            )
            table.upsert_run(run, rows)


@pytest.fixture
def seeded_url(store_url: str, make_sample_run: Callable[..., tuple[Any, list[Any]]]) -> str:
    """A database of each backend holding three complete runs (see the module docstring)."""
    seed(store_url, make_sample_run)
    return store_url


@pytest.fixture
def seeded_sqlite_url(
    sqlite_url: str, make_sample_run: Callable[..., tuple[Any, list[Any]]]
) -> str:
    """Like ``seeded_url``, SQLite only, with the WAL checkpointed into the main file."""
    import sqlite3

    from sqlalchemy.engine import make_url

    seed(sqlite_url, make_sample_run)
    con = sqlite3.connect(str(make_url(sqlite_url).database))
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return sqlite_url
