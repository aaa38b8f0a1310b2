"""Entry point of the ``bridgex-chain`` command.

Each command group lives in its own module and registers itself on :data:`app`.

Example:
    $ bridgex-chain --help
"""

from __future__ import annotations

import typer

from bridgex_chain import __version__
from bridgex_chain.errors import BridgeXError

app = typer.Typer(
    name="bridgex-chain",
    help="Route prompts for low-resource languages through the bridge language a model prefers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"bridgex-chain {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """bridgex-chain: bridged cross-lingual prompting for local LLMs."""


# Command modules register themselves on `app` (one module per command group).
# -- registrations --
from bridgex_chain.cli import commands_detect  # noqa: E402

commands_detect.register(app)
from bridgex_chain.cli import commands_db, commands_table  # noqa: E402

commands_db.register(app)
commands_table.register(app)
from bridgex_chain.cli import commands_ask  # noqa: E402

commands_ask.register(app)
from bridgex_chain.cli import commands_eval  # noqa: E402

commands_eval.register(app)
from bridgex_chain.cli import commands_build  # noqa: E402

commands_build.register(app)
# -- end registrations --


def run() -> None:
    """Run the CLI, turning :class:`BridgeXError` into a clean message and exit code 2."""
    from rich.console import Console

    try:
        app()
    except BridgeXError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}")
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    run()
