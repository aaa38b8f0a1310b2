"""The SQL bridge table: schema, migrations, reads, writes and the JSON exchange format.

The public names below load lazily, so ``import bridgex_chain.store.records`` (plain
dataclasses) does not import SQLAlchemy, alembic or pydantic.

Example:
    >>> from bridgex_chain.store import BridgeTable
    >>> BridgeTable("sqlite://").models()
    []
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridgex_chain.store.migrate import current_revision, head_revision, upgrade
    from bridgex_chain.store.precomputed import ShippedTable, shipped_tables
    from bridgex_chain.store.records import Bridge, ModelProfile, RankedBridge, RunRecord, ScoreRow
    from bridgex_chain.store.table import BridgeTable

__all__ = [
    "Bridge",
    "BridgeTable",
    "ModelProfile",
    "RankedBridge",
    "RunRecord",
    "ScoreRow",
    "ShippedTable",
    "current_revision",
    "head_revision",
    "shipped_tables",
    "upgrade",
]

_HOMES = {
    "Bridge": "records",
    "ModelProfile": "records",
    "RankedBridge": "records",
    "RunRecord": "records",
    "ScoreRow": "records",
    "BridgeTable": "table",
    "ShippedTable": "precomputed",
    "shipped_tables": "precomputed",
    "current_revision": "migrate",
    "head_revision": "migrate",
    "upgrade": "migrate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bridgex_chain.store' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bridgex_chain.store.{home}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
