"""The ``db`` commands: bring the bridge-table database schema up to date, show its revision.

Example:
    $ bridgex-chain db upgrade
    $ bridgex-chain db current --database-url postgresql+psycopg://me@localhost/bridges
"""

from __future__ import annotations

from typing import Annotated

import typer

from bridgex_chain.cli.terminal import TidyCommand, safe

__all__ = ["DatabaseUrlOption", "register"]

#: The ``--database-url`` option shared by the db and table commands.
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the bridge table (default: BRIDGEX_DATABASE_URL, else a SQLite "
        "file in the user data dir).",
        show_default=False,
    ),
]

db_app = typer.Typer(
    name="db",
    help="Manage the bridge-table database (schema migrations).",
    no_args_is_help=True,
)


def _resolved(url: str | None) -> str:
    from bridgex_chain.paths import default_database_url

    return url or default_database_url()


@db_app.command("upgrade", cls=TidyCommand)
def upgrade_command(database_url: DatabaseUrlOption = None) -> None:
    """Upgrade the database schema to the newest revision this bridgex-chain knows."""
    from rich.console import Console

    from bridgex_chain.store.engine import describe_url
    from bridgex_chain.store.migrate import current_revision, upgrade

    url = _resolved(database_url)
    before = current_revision(url)
    after = upgrade(url)
    where = safe(describe_url(url))
    if before == after:
        Console().print(f"{where} is up to date (revision {safe(after)}).")
    else:
        Console().print(
            f"Upgraded {where} from revision {safe(before or '(empty)')} to {safe(after)}."
        )


@db_app.command("current", cls=TidyCommand)
def current_command(database_url: DatabaseUrlOption = None) -> None:
    """Show the database's schema revision and whether it needs an upgrade (changes nothing)."""
    from rich.console import Console

    from bridgex_chain.errors import DatabaseError
    from bridgex_chain.store.engine import describe_url, sqlite_file
    from bridgex_chain.store.migrate import current_revision, head_revision, known_revision

    url = _resolved(database_url)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseError(
            f"The SQLite bridge table {describe_url(url)} does not exist (nothing was created). "
            "Check --database-url / BRIDGEX_DATABASE_URL, or create it with "
            "`bridgex-chain db upgrade`."
        )
    current, head = current_revision(url), head_revision()
    if current == head:
        state = "[green]up to date[/]"
    elif current is None:
        state = "[yellow]empty: run `bridgex-chain db upgrade`[/]"
    elif not known_revision(current):
        state = (
            "[yellow]written by a newer bridgex-chain: upgrade it with "
            "`pip install -U bridgex-chain`[/]"
        )
    else:
        state = "[yellow]behind: run `bridgex-chain db upgrade`[/]"
    console = Console()
    console.print(f"database: {safe(describe_url(url))}")
    console.print(f"revision: {safe(current or '(none)')}  (newest known: {head})  {state}")


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to ``app``."""
    app.add_typer(db_app, name="db")
