"""The ``table`` commands: show, list, export and import bridge tables.

Example:
    $ bridgex-chain table show --model gemma --src sw
    $ bridgex-chain table export gemma.json --model gemma
    $ bridgex-chain table import gemma.json
    $ bridgex-chain table list
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bridgex_chain.cli.commands_db import DatabaseUrlOption

if TYPE_CHECKING:
    from bridgex_chain.store.table import BridgeTable

__all__ = ["register"]

table_app = typer.Typer(
    name="table",
    help="Show, list, export and import bridge tables.",
    no_args_is_help=True,
)

ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="Model alias, Hugging Face id or local path.", show_default=False),
]


def _open(database_url: str | None) -> BridgeTable:
    from bridgex_chain.store.table import BridgeTable

    return BridgeTable(database_url)


def _model_key(table: BridgeTable, given: str) -> str:
    """The stored key for ``given``: as-is when the table has it, else via the model aliases."""
    if given in table.models():
        return given
    from bridgex_chain.errors import ModelNotAvailable
    from bridgex_chain.models import model_key

    try:
        return model_key(given)
    except ModelNotAvailable:
        return given


def _name(code: str) -> str:
    from bridgex_chain.errors import UnknownLanguage
    from bridgex_chain.languages import language_name

    try:
        return f"{code} ({language_name(code)})"
    except UnknownLanguage:
        return code


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


@table_app.command("show")
def show_command(
    model: Annotated[
        str, typer.Option("--model", help="Model alias, Hugging Face id or local path.")
    ],
    src: Annotated[
        str | None, typer.Option("--src", help="Source language: show its full ranking.")
    ] = None,
    trg: Annotated[
        str | None, typer.Option("--trg", help="Target language (default: the source).")
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Show the ranked bridges of one entry (--src), or the best bridge of every entry."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    with _open(database_url) as table:
        key = _model_key(table, model)
        if src is None:
            if trg is not None:
                raise typer.BadParameter("--trg needs --src", param_hint="--trg")
            pairs = table.pairs(key)
            if not pairs:
                table.best(key, "eng_Latn")  # raises NoBridgeFound with what the table has
            view = Table(title=f"Best bridges for {key}")
            for column in ("source", "target", "bridge", "score", "margin", "run"):
                view.add_column(
                    column, justify="right" if column in {"score", "margin"} else "left"
                )
            for s, t in pairs:
                best = table.best(key, s, t)
                view.add_row(
                    _name(s),
                    _name(t),
                    _name(best.bridge),
                    _fmt(best.score),
                    _fmt(best.margin),
                    str(best.run_id),
                )
            console.print(view)
            return
        best = table.best(key, src, trg)
        ranking = table.ranking(key, src, trg)
    view = Table(
        title=f"Bridges for {key}: {_name(best.src)} → {_name(best.trg)}",
        caption=f"run {best.run_id} · probe set {best.provenance.get('probe_set')} · "
        f"margin of the best over the runner-up: {_fmt(best.margin)}",
    )
    view.add_column("rank", justify="right")
    view.add_column("bridge")
    view.add_column("score", justify="right")
    view.add_column("gap to next", justify="right")
    view.add_column("layers", justify="right")
    for i, ranked in enumerate(ranking):
        gap = ranked.score - ranking[i + 1].score if i + 1 < len(ranking) else None
        view.add_row(
            str(ranked.rank),
            _name(ranked.bridge),
            _fmt(ranked.score),
            _fmt(gap),
            str(ranked.layers_scored),
        )
    console.print(view)


@table_app.command("list")
def list_command(model: ModelOption = None, database_url: DatabaseUrlOption = None) -> None:
    """List the probe runs (every status) and the models with a usable table."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    with _open(database_url) as table:
        key = None if model is None else _model_key(table, model)
        runs = table.runs(key)
        models = table.models()
    view = Table(title="Probe runs")
    for column in ("id", "model", "status", "probe set", "langs", "bridges", "started", "finished"):
        view.add_column(column)
    for run in runs:
        view.add_row(
            str(run.run_id),
            run.profile.model,
            run.status,
            run.probe_set,
            str(len(run.languages)),
            ",".join(run.bridges),
            run.started_at[:19],
            (run.finished_at or "")[:19],
        )
    console.print(view)
    console.print(f"models with a complete table: {', '.join(models) if models else '(none)'}")


@table_app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="JSON file to write.")],
    model: ModelOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Export complete runs (of --model) to a bridge-table JSON file."""
    from rich.console import Console

    with _open(database_url) as table:
        key = None if model is None else _model_key(table, model)
        count = table.export_json(path, key)
    Console().print(f"Exported {count} run(s) to {path}.")


@table_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="Bridge-table JSON file to read.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Import a bridge-table JSON file (validated first; runs already stored are kept)."""
    from rich.console import Console

    with _open(database_url) as table:
        ids = table.import_json(path)
    Console().print(f"Imported {len(ids)} run(s) from {path}: ids {', '.join(map(str, ids))}.")


def register(app: typer.Typer) -> None:
    """Add the ``table`` command group to ``app``."""
    app.add_typer(table_app, name="table")
