"""Entry point of the ``bridgex-chain`` command.

Each command group lives in its own module and registers itself on :data:`app`.
:data:`entry_app` is ``app`` as the entry point runs it: a :class:`BridgeXError` prints as
``error: <message>`` (made safe for the terminal) and exits with status 2, never a traceback.
``app`` itself lets the exception through (tests inspect ``result.exception``).

Example:
    $ bridgex-chain --help
"""

from __future__ import annotations

import copy
from typing import Any

import typer

from bridgex_chain import __version__
from bridgex_chain.cli.terminal import TidyGroup
from bridgex_chain.errors import BridgeXError

app = typer.Typer(
    name="bridgex-chain",
    help="Route prompts for low-resource languages through the bridge language a model prefers.",
    no_args_is_help=True,
    cls=TidyGroup,
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
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Show the version.",
        metavar="",
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


def _print_error(err: BridgeXError) -> None:
    from rich.console import Console

    from bridgex_chain.cli.terminal import print_error

    print_error(Console(stderr=True), err)


class _ErrorsAsMessages(TidyGroup):  # type: ignore[misc]  # (mypy sees cli imports as Any)
    """``app``'s group, with every :class:`BridgeXError` of a command printed and exit 2.

    Example:
        >>> from typer.testing import CliRunner
        >>> out = CliRunner().invoke(entry_app, ["detect", "x", "--allowed", "xx"])
        >>> out.exit_code, out.output.startswith("error: Unknown language")
        (2, True)
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BridgeXError as err:
            _print_error(err)
            raise typer.Exit(2) from None


def _entry_app(base: typer.Typer) -> typer.Typer:
    """``base`` with the same commands (shared lists) whose group is :class:`_ErrorsAsMessages`."""
    guarded = copy.copy(base)
    guarded.info = copy.copy(base.info)
    guarded.info.cls = _ErrorsAsMessages
    return guarded


#: ``app`` as the ``bridgex-chain`` entry point runs it: a :class:`BridgeXError` prints as
#: ``error: <message>`` and exits with status 2 (``CliRunner().invoke(entry_app, …)`` sees that).
entry_app = _entry_app(app)


def run() -> None:
    """Run the CLI, turning :class:`BridgeXError` into a clean message and exit code 2."""
    try:
        entry_app()
    except BridgeXError as err:  # raised outside a command (e.g. while parsing the root)
        _print_error(err)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    run()
