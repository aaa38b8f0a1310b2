"""Store fixtures for the integration tests: the same ones as tests/unit/conftest.py.

That module is loaded by path and its fixtures re-exported here (``sqlite_url``,
``postgres_server``, ``postgres_url``, ``store_url``, ``make_sample_run``). The PostgreSQL cluster
is shared with the unit tests through the pytest plugin manager: one per session.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "unit" / "conftest.py"
_SPEC = importlib.util.spec_from_file_location("_bridgex_store_fixtures", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
store_fixtures = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(store_fixtures)

sqlite_url = store_fixtures.sqlite_url
postgres_server = store_fixtures.postgres_server
postgres_url = store_fixtures.postgres_url
store_url = store_fixtures.store_url
make_sample_run = store_fixtures.make_sample_run
sample_run = store_fixtures.sample_run
ThrowawayPostgres = store_fixtures.ThrowawayPostgres
