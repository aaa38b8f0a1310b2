"""Alembic environment of the bridge table (shipped as ``bridgex_chain._migrations``).

The library runs migrations programmatically (:mod:`bridgex_chain.store.migrate`) and hands over
an open connection in ``config.attributes["connection"]``; no alembic.ini is needed. When alembic
is driven from its own command line instead, the URL comes from ``sqlalchemy.url`` in the ini
file, or ``BRIDGEX_DATABASE_URL``, or the default SQLite file.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bridgex_chain.paths import default_database_url
from bridgex_chain.store.engine import create_store_engine, write_connection
from bridgex_chain.store.migrate import VERSION_TABLE
from bridgex_chain.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things: alembic rebuilds the table ("move and copy").
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Our SQLite connections open real transactions (see store/engine.py), so DDL is
        # transactional there too: a failed migration leaves the database as it was.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or default_database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or default_database_url()
    engine = create_store_engine(url)
    try:
        with write_connection(engine) as conn:
            _configure_and_run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
