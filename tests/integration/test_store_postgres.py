"""PostgreSQL specifics (the whole store suite also runs on PostgreSQL through ``store_url``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bridgex_chain.errors import DatabaseError
from bridgex_chain.store.migrate import VERSION_TABLE, current_revision, head_revision, upgrade
from bridgex_chain.store.table import BridgeTable

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_plain_postgresql_url_uses_psycopg(postgres_url: str, make_sample_run: Any) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with BridgeTable(plain) as table:
        assert table.engine.dialect.driver == "psycopg"
        table.upsert_run(*make_sample_run())
        assert table.best("demo/model", "yor_Latn", "eng_Latn").trg == "eng_Latn"


def test_database_shared_with_another_alembic_app(postgres_url: str) -> None:
    other = create_engine(postgres_url)
    with other.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('their_rev_42')"))
    with BridgeTable(postgres_url):
        pass
    assert current_revision(postgres_url) == head_revision()
    with other.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "their_rev_42"
        )
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == (
            head_revision()
        )
    other.dispose()


def test_environment_url_selects_postgres(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, make_sample_run: Any
) -> None:
    monkeypatch.setenv("BRIDGEX_DATABASE_URL", postgres_url)
    with BridgeTable() as table:
        assert table.engine.dialect.name == "postgresql"
        table.upsert_run(*make_sample_run())
    with BridgeTable(postgres_url) as again:
        assert again.models() == ["demo/model"]


def test_unreachable_server_is_a_clear_error(postgres_server: Any) -> None:
    url = make_url(postgres_server.url("postgres")).set(
        password="s3cret", query={"host": "/nonexistent-socket-dir", "connect_timeout": "2"}
    )
    rendered = url.render_as_string(hide_password=False)
    for attempt in (BridgeTable, upgrade, current_revision):
        with pytest.raises(DatabaseError) as err:
            attempt(rendered)
        message = str(err.value)
        assert "s3cret" not in message and "***" in message
        assert "BRIDGEX_DATABASE_URL" in message
