r"""What the CLI prints: text it did not write made safe for a terminal, and tidy ``--help``.

Anything that did not come from our own strings (user input, paths, database contents, model
output, error messages) goes through :func:`safe` before it reaches rich markup: lone
surrogates become ``U+FFFD``, control characters (ANSI escape sequences start with one) are
shown as ``\xNN``, and ``[`` cannot open a markup tag. Text from ``argv`` goes through
:func:`argv_text` first, which turns bytes that were not UTF-8 into ``U+FFFD``.

:class:`TidyCommand` is the typer command class of our commands: its usage line names
arguments plainly (``TEXT``, not ``{text}``) and flags show no ``<bool>`` type.

Example:
    >>> safe("[/x] \x1b[31mred\x1b[0m")
    '\\[/x] \\x1b[31mred\\x1b[0m'
    >>> argv_text("Habari \udcff")
    'Habari \ufffd'
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "TidyCommand",
    "TidyGroup",
    "argv_text",
    "clean",
    "json_line",
    "print_error",
    "safe",
]

_SURROGATES = re.compile("[\ud800-\udfff]")
_NOT_ESCAPED_BYTES = re.compile("[\ud800-\udc7f\udd00-\udfff]")
# C0 and C1 controls (but tab and newline), DEL, and the bidirectional overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object, *, newlines: bool = True) -> str:
    r"""``str(text)`` safe to print: no lone surrogates, no raw control characters.

    Lone surrogates become ``U+FFFD``; control characters (so ANSI escape sequences cannot act)
    and the bidirectional overrides are written as ``\xNN`` / ``\uNNNN``; joiners and every
    script's letters stay as they are.
    Tabs and, with ``newlines``, line breaks stay.

    Example:
        >>> clean("a\x00b\x1b[1mc\ud800"), clean("two\nlines", newlines=False)
        ('a\\x00b\\x1b[1mc\ufffd', 'two\\x0alines')
    """
    out = _SURROGATES.sub("\ufffd", str(text))
    out = _CONTROLS.sub(_visible, out)
    if not newlines:
        out = out.replace("\n", "\\x0a")
    return out


def safe(text: object, *, newlines: bool = True) -> str:
    r""":func:`clean` text, escaped so rich prints it verbatim inside markup.

    Example:
        >>> safe("[bold]not bold[/bold]")
        '\\[bold]not bold\\[/bold]'
    """
    from rich.markup import escape

    return escape(clean(text, newlines=newlines))


def argv_text(text: str) -> str:
    r"""Text from the command line as proper Unicode: bytes that were not UTF-8 become ``U+FFFD``.

    Python hands undecodable argv bytes over as lone surrogates (``surrogateescape``); they
    are turned back into bytes and decoded with replacement, so ``b"\xff"`` reads as one
    ``U+FFFD``. Other lone surrogates also become ``U+FFFD``.

    Example:
        >>> argv_text("caf\udcc3\udca9"), argv_text("ok")
        ('café', 'ok')
    """
    if not _SURROGATES.search(text):
        return text
    text = _NOT_ESCAPED_BYTES.sub("\ufffd", text)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_line(value: Any) -> str:
    r"""``value`` as one line of JSON (non-ASCII kept), printable even with lone surrogates.

    Example:
        >>> json_line({"text": "maji \ud800"})
        '{"text": "maji \\ud800"}'
    """
    return _SURROGATES.sub(_escape_surrogate, json.dumps(value, ensure_ascii=False))


def print_error(console: Console, err: object) -> None:
    """Print ``error: <err>`` in red, the message made safe (see :func:`safe`).

    Example:
        >>> from rich.console import Console
        >>> print_error(Console(no_color=True, width=80), ValueError("[/x] bad"))
        error: [/x] bad
    """
    console.print(f"[bold red]error:[/] {safe(err)}", highlight=False)


def _argument_usage(param: TyperArgument) -> str:
    name = param.metavar or (param.name or "").upper()
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


def _no_type(ctx: Any) -> None:
    return None


class TidyCommand(TyperCommand):
    """A typer command whose help names arguments plainly and shows no ``<bool>`` for flags.

    Arguments and value options without a ``metavar`` show their name in capitals
    (``DATABASE_URL``, not ``<str>``), arguments no type column; flags show no metavar.

    Use it as ``app.command("name", cls=TidyCommand)``.

    Example:
        >>> import typer
        >>> from typer.testing import CliRunner
        >>> app = typer.Typer(add_completion=False)
        >>> @app.command(cls=TidyCommand)
        ... def hello(name: str, loud: bool = typer.Option(False, "--loud")) -> None:
        ...     pass
        >>> out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"}).output
        >>> "NAME" in out, "{name}" in out, "<bool>" in out
        (True, False, False)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperOption) and param.metavar is None:
                param.metavar = "" if param.is_flag else (param.name or "value").upper()
            elif isinstance(param, TyperArgument):
                if param.metavar is None:
                    param.metavar = (param.name or "").upper()
                setattr(param, "display_type_rich", _no_type)  # noqa: B010 (no <str> column)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """``[OPTIONS] TEXT`` rather than typer's ``[OPTIONS] {text}``."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                pieces.append(_argument_usage(param))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def get_help_option(self, ctx: Any) -> Any:
        """The ``--help`` option, shown without a ``<bool>`` type."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class TidyGroup(TyperGroup):
    """A typer group whose ``--help`` option shows no ``<bool>`` type (``typer.Typer(cls=…)``).

    Example:
        >>> import typer
        >>> app = typer.Typer(cls=TidyGroup, add_completion=False)
        >>> @app.callback()
        ... def root() -> None:
        ...     pass
        >>> isinstance(typer.main.get_command(app), TidyGroup)
        True
    """

    def get_help_option(self, ctx: Any) -> Any:
        """The ``--help`` option, shown without a ``<bool>`` type."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option
