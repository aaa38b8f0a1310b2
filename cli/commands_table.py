"""The ``table`` commands: show, list, export and import bridge tables.

The read commands (``show``, ``list``, ``export``) see the bridge tables shipped with the package
even before the first ``ask`` imports them: runs the database lacks are served from memory
(shown as ``shipped``), and nothing is written. Every value that comes from the database or the
command line is printed escaped (rich markup and control characters).

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
from bridgex_chain.cli.terminal import TidyCommand, safe

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from bridgex_chain.store.records import CompetenceRow, ImportedRun, RenderCheckRow
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


def _open(database_url: str | None, *, shipped: bool = True) -> BridgeTable:
    """The table; with ``shipped``, the shipped tables are visible (served from memory)."""
    from bridgex_chain.store.table import BridgeTable

    table = BridgeTable(database_url)
    if shipped:
        try:
            table.ensure_shipped(write=False)
        except BaseException:
            table.close()
            raise
    return table


def _model_key(table: BridgeTable, given: str) -> str:
    """The stored key for ``given``: as-is when the table has it, else via the model aliases."""
    if given in table.models():
        return given
    from bridgex_chain.errors import BridgeXError
    from bridgex_chain.models import model_key

    try:
        return model_key(given)
    except (BridgeXError, OSError, ValueError):
        return given


def _require_model(table: BridgeTable, key: str) -> None:
    """Raise NoBridgeFound when the table has no complete run of ``key``."""
    models = table.models()
    if key not in models:
        from bridgex_chain.errors import NoBridgeFound
        from bridgex_chain.store.queries import no_model_message
        from bridgex_chain.store.text import printable

        raise NoBridgeFound(no_model_message(table.url, printable(key), models))


def _name(code: str) -> str:
    from bridgex_chain.errors import UnknownLanguage
    from bridgex_chain.languages import language_name

    try:
        return str(safe(f"{code} ({language_name(code)})"))
    except UnknownLanguage:
        return str(safe(code))


#: What a cell shows when a figure is absent (no runner-up; a table without bootstrap figures).
_ABSENT = "—"


def _score(value: float | None) -> str:
    """A score as people read it (``—`` when absent).

    Below 1e-3 in magnitude (HSIC aggregates are often ~1e-8): scientific notation with 3
    significant digits; else 4 decimals.
    """
    if value is None or value != value:  # None or NaN
        return _ABSENT
    if value == 0:
        return "0"
    return f"{value:.2e}" if abs(value) < 1e-3 else f"{value:.4f}"


def _interval(low: float | None, high: float | None) -> str:
    """A bootstrap interval as ``[low, high]`` in the notation of :func:`_score`."""
    if low is None or high is None:
        return _ABSENT
    return f"[{_score(low)}, {_score(high)}]"


def _win_rate(value: float | None) -> str:
    """A win rate (a share of resamples) as a percentage."""
    return _ABSENT if value is None else f"{100 * value:.1f}%"


def _render_gain(check: RenderCheckRow | None) -> str:
    """A render gain with its 95 % interval (``—`` when the run has none for the bridge)."""
    if check is None:
        return _ABSENT
    if check.low is None or check.high is None:
        return f"{check.gain:+.2f} (n={check.pairs})"
    return f"{check.gain:+.2f} [{check.low:+.2f}, {check.high:+.2f}]"  # nats per token: O(1)


def _render_caption(lang: str, competence: CompetenceRow | None) -> str:
    """The caption line of the render checks: the source language's competence."""
    shown = (
        _ABSENT
        if competence is None
        else f"{_score(competence.logprob_per_token)} log-prob per token over "
        f"{competence.texts} texts"
    )
    return (
        f"\ncompetence in {_name(lang)}: {shown}; render gain: per-token log-likelihood gain "
        "of the gold bridge sentence given the source [95% interval]"
    )


def _add_score_columns(view: Table) -> None:
    """The score columns of ``show``: the aggregate and its bootstrap figures.

    In a narrow terminal the interval wraps after its comma and the headers at their spaces,
    so the language columns keep their room.
    """
    view.add_column("score", justify="right", no_wrap=True)
    view.add_column("95% interval", justify="right", min_width=10)
    view.add_column("win rate", justify="right", min_width=6)


_FIGURES_CAPTION = (
    "95% interval: 2.5–97.5 % percentiles of the score over bootstrap resamples of the probe "
    "prompts; win rate: share of resamples ranking the bridge first (— = not recorded)"
)


def _run_label(run_id: int | None) -> str:
    """A run's id, or ``shipped`` for a shipped run served from memory (negative id)."""
    return "shipped" if run_id is None or run_id < 0 else str(run_id)


def _new_table(title: str, caption: str | None = None, *, compact: bool = False) -> Table:
    """A table in the commands' style; ``compact`` puts two spaces between columns, not three."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=compact,
    )


@table_app.command("show", cls=TidyCommand)
def show_command(
    model: Annotated[
        str, typer.Option("--model", help="Model alias, Hugging Face id or local path.")
    ],
    src: Annotated[
        str | None,
        typer.Option(
            "--src",
            help="Source language: show its full ranking (without it: the best bridge of "
            "every entry of the model).",
        ),
    ] = None,
    trg: Annotated[
        str | None, typer.Option("--trg", help="Target language (default: the source).")
    ] = None,
    coverage: Annotated[
        bool,
        typer.Option(
            "--coverage",
            help="Every language the detector knows: its own entry (and where its probes came "
            "from), a borrowed one, or none and why.",
        ),
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Show the ranked bridges of one entry (--src), or the best bridge of every entry."""
    from rich.console import Console

    if src is None and trg is not None:
        raise typer.BadParameter("--trg needs --src", param_hint="--trg")
    if coverage and src is not None:
        raise typer.BadParameter("--coverage lists every language: drop --src", param_hint="--src")
    console = Console()
    with _open(database_url) as table:
        key = _model_key(table, model)
        if coverage:
            _show_coverage(console, table, key)
            return
        if src is None:
            _require_model(table, key)
            view = _new_table(
                f"Best bridges for {safe(key)} (every entry)",
                caption=_FIGURES_CAPTION,
                compact=True,  # eight columns: at 80 columns each language keeps 8 characters
            )
            for column in ("source", "target", "bridge"):
                view.add_column(column, overflow="fold", min_width=8)
            _add_score_columns(view)
            view.add_column("margin", justify="right", no_wrap=True)
            view.add_column("run", no_wrap=True)
            for s, t in table.pairs(key):
                best = table.best(key, s, t)
                view.add_row(
                    _name(s),
                    _name(t),
                    _name(best.bridge),
                    _score(best.score),
                    _interval(best.low, best.high),
                    _win_rate(best.win_rate),
                    _score(best.margin),
                    _run_label(best.run_id),
                )
            console.print(view)
            return
        best = table.best(key, src, trg)
        ranking = table.ranking(key, src, trg)
        checks = {c.bridge: c for c in table.render_checks(best.run_id) if c.src == best.src}
        competence = next((c for c in table.competence(best.run_id) if c.lang == best.src), None)
    probe_set = safe(str(best.provenance.get("probe_set")))
    view = _new_table(
        f"Bridges for {safe(key)}: {_name(best.src)} → {_name(best.trg)}",
        caption=f"run {_run_label(best.run_id)} · probe set {probe_set} · margin of the best "
        f"over the runner-up: {_score(best.margin)}\n{_FIGURES_CAPTION}"
        + (_render_caption(best.src, competence) if checks or competence else ""),
    )
    view.add_column("rank", justify="right", no_wrap=True)
    view.add_column("bridge", overflow="fold")
    _add_score_columns(view)
    view.add_column("gap to next", justify="right", min_width=8)
    counts = {r.layers_scored for r in ranking}
    if len(counts) > 1:  # candidates averaged different layers (a table built with "own")
        view.add_column("layers", justify="right", min_width=2)
    elif counts:
        view.caption = (
            f"{view.caption}\nevery candidate's score averages {counts.pop()} window layers"
        )
    if checks:
        view.add_column("render gain", justify="right", min_width=7)
    for i, ranked in enumerate(ranking):
        gap = ranked.score - ranking[i + 1].score if i + 1 < len(ranking) else None
        cells = [
            str(ranked.rank),
            _name(ranked.bridge),
            _score(ranked.score),
            _interval(ranked.low, ranked.high),
            _win_rate(ranked.win_rate),
            _score(gap),
        ]
        if len({r.layers_scored for r in ranking}) > 1:
            cells.append(str(ranked.layers_scored))
        if checks:
            cells.append(_render_gain(checks.get(ranked.bridge)))
        view.add_row(*cells)
    console.print(view)


def _show_coverage(console: Console, table: BridgeTable, key: str) -> None:
    """The ``--coverage`` view: one row per detector language, then the counts."""
    from bridgex_chain.detect import FastTextDetector
    from bridgex_chain.store.coverage import table_coverage

    rows = table_coverage(table, key, sorted(FastTextDetector().supported_languages()))
    view = _new_table(
        f"Coverage of {safe(key)}: every language the detector knows",
        caption="entry: its own chat entry (probes from cldr, parallel sentences or the run's "
        "probe set) · borrowed: a close language's entry serves it · none: direct prompting",
        compact=True,
    )
    for column in ("language", "route", "probes / via"):
        view.add_column(column, overflow="fold", min_width=8)
    view.add_column("detail", overflow="fold")
    for row in rows:
        view.add_row(_name(row.lang), row.status, safe(row.source), safe(row.detail))
    console.print(view)
    counts = {status: sum(r.status == status for r in rows) for status in ("entry", "borrowed")}
    console.print(
        f"{len(rows)} languages: {counts['entry']} with an entry, {counts['borrowed']} "
        f"borrowing a close language's, {len(rows) - sum(counts.values())} without a route."
    )


@table_app.command("list", cls=TidyCommand)
def list_command(
    model: ModelOption = None,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="Every column: languages, bridges, start and finish times."),
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """List the probe runs (every status) and the models with a usable table."""
    from rich.console import Console

    console = Console()
    with _open(database_url) as table:
        key = None if model is None else _model_key(table, model)
        runs = table.runs(key)
        models = table.models()
        chats = {m: sum(s == t for s, t in table.pairs(m)) for m in models if key in (None, m)}
    view = _new_table(
        "Probe runs",
        caption="shipped: comes with bridgex-chain, not yet imported into this database "
        "(the first `ask` imports it)"
        if any((r.run_id or 0) < 0 for r in runs)
        else None,
    )
    view.add_column("id", no_wrap=True)
    view.add_column("model", overflow="fold")
    view.add_column("status", no_wrap=True)
    view.add_column("probe set", overflow="fold")
    if wide:
        view.add_column("languages", overflow="fold")
        view.add_column("bridges", overflow="fold")
        view.add_column("started", overflow="fold")
        view.add_column("finished", overflow="fold")
    else:
        view.add_column("langs", no_wrap=True)
        view.add_column("finished", no_wrap=True)
    for run in runs:
        shipped = (run.run_id or 0) < 0
        cells = [
            "–" if shipped else str(run.run_id),
            safe(run.profile.model),
            "shipped" if shipped else safe(run.status),
            safe(run.probe_set),
        ]
        if wide:
            cells += [
                safe(", ".join(run.languages)),
                safe(", ".join(run.bridges)),
                safe(run.started_at[:19]),
                safe((run.finished_at or "")[:19]),
            ]
        else:
            cells += [
                f"{len(run.languages)}→{len(run.bridges)}",
                safe((run.finished_at or "")[:10]),
            ]
        view.add_row(*cells)
    console.print(view)
    if not wide and runs:
        console.print("langs: languages → candidate bridges; --wide lists them.")
    shown = safe(", ".join(models)) if models else "(none)"
    console.print(f"models with a complete table: {shown}")
    if chats:
        counts = ", ".join(f"{safe(m)} {n}" for m, n in chats.items())
        console.print(f"chat entries (a language's own route): {counts}")


@table_app.command("export", cls=TidyCommand)
def export_command(
    path: Annotated[Path, typer.Argument(help="JSON file to write.")],
    model: ModelOption = None,
    parents: Annotated[
        bool, typer.Option("--parents", help="Create missing parent directories of PATH.")
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Export complete runs (of --model; shipped tables included) to a bridge-table JSON file."""
    from rich.console import Console

    with _open(database_url) as table:
        key = None if model is None else _model_key(table, model)
        if key is not None:
            _require_model(table, key)
        elif not table.models():
            from bridgex_chain.errors import NoBridgeFound

            raise NoBridgeFound(
                f"The bridge table at {table.url} holds no complete probe run: nothing to "
                "export (nothing was written). Build one with `bridgex-chain build-table`."
            )
        count = table.export_json(path, key, parents=parents)
    Console().print(f"Exported {count} run(s) to {safe(str(path))}.")


def _describe(done: ImportedRun) -> str:
    return f"run {done.run_id} ({safe(done.model)}, started {safe(done.started_at[:19])})"


@table_app.command("import", cls=TidyCommand)
def import_command(
    path: Annotated[Path, typer.Argument(help="Bridge-table JSON file to read.")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Overwrite runs already stored whose scores differ (default: keep them).",
        ),
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Import a bridge-table JSON file (validated first; runs already stored are kept)."""
    from rich.console import Console

    with _open(database_url, shipped=False) as table:
        done = table.import_file(path, replace=replace)
    console = Console()
    shown = safe(str(path))
    added = [d for d in done if d.action == "added"]
    console.print(
        f"Imported {shown}: {len(done)} run(s) in the file, {len(added)} added"
        + (f" (ids {', '.join(str(d.run_id) for d in added)})" if added else "")
        + "."
    )
    for item in done:
        if item.action == "unchanged":
            console.print(f"  {_describe(item)}: already stored with the same scores; skipped.")
        elif item.action == "replaced":
            console.print(f"  {_describe(item)}: replaced the stored run with the file's scores.")
        elif item.action == "kept":
            console.print(
                f"  [yellow]{_describe(item)}: already stored with different scores; skipped, "
                "the stored scores were kept.[/] Run `bridgex-chain table import --replace "
                f"{shown}` to overwrite them."
            )


def register(app: typer.Typer) -> None:
    """Add the ``table`` command group to ``app``."""
    app.add_typer(table_app, name="table")
