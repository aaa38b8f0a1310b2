"""The ``eval`` command: does the bridge help? The chain under every route policy, measured.

Every condition runs :class:`~bridgex_chain.chain.BridgeXChain` itself through ``chain.batch``.

Example:
    $ bridgex-chain eval classify translate --sib200 ../shared/data/sib200 --limit 102
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridgex_chain.cli.commands_db import DatabaseUrlOption
from bridgex_chain.cli.terminal import TidyCommand

if TYPE_CHECKING:
    from rich.table import Table

    from bridgex_chain.chain.evidence import EvidenceThresholds
    from bridgex_chain.eval.runner import BridgeLookup

__all__ = ["register"]


def _codes(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]


def _split(value: str) -> str:
    if value not in ("test", "dev", "heldout"):
        raise typer.BadParameter(f"--split: {value!r} is not a split; use test, dev or heldout")
    return value


def _thresholds(value: str | None) -> EvidenceThresholds | None:
    """``name=value,...`` as the evidence policy's thresholds (None: the defaults)."""
    if value is None:
        return None
    from dataclasses import fields

    from bridgex_chain.chain.evidence import EvidenceThresholds
    from bridgex_chain.errors import InvalidOption

    names = [f.name for f in fields(EvidenceThresholds)]
    found: dict[str, float] = {}
    for part in _codes(value) or []:
        name, _, number = part.partition("=")
        if name not in names:
            raise typer.BadParameter(f"--evidence: unknown threshold {name!r}; use {names}")
        try:
            found[name] = float(number)
        except ValueError as err:
            raise typer.BadParameter(f"--evidence: {part!r} needs a number after '='") from err
    try:
        return EvidenceThresholds(**found)
    except InvalidOption as err:
        raise typer.BadParameter(f"--evidence: {err}") from err


def _pairs(value: str | None) -> list[tuple[str, str]] | None:
    codes = _codes(value)
    if codes is None:
        return None
    pairs = []
    for code in codes:
        src, sep, trg = code.partition("-")
        if not sep or not src or not trg:
            raise typer.BadParameter(
                f"{code!r} is not a pair; write SRC-TRG, e.g. swh_Latn-eng_Latn"
            )
        pairs.append((src, trg))
    return pairs


def _open_table(database_url: str | None, table_json: Path | None) -> BridgeLookup:
    from bridgex_chain.store.table import BridgeTable

    if database_url:
        return BridgeTable(database_url)
    table = BridgeTable("sqlite://")
    if table_json is not None:
        table.import_json(table_json)
    else:
        table.import_shipped()
    return table


def _results_table(results: dict[str, Any], task: str, rendering: str) -> Table:
    from rich.table import Table

    from bridgex_chain.eval.cells import (
        CONDITION_ORDER,
        condition_cells,
        entry_name,
        rank_cells,
        task_rows,
    )

    rows = task_rows(results, task)
    table = Table(title=f"{task} ({rows[0]['metric']}) — {rendering} rendering")
    for column in ("entry", "n", *CONDITION_ORDER, "table rank", "ρ(HSIC)"):
        table.add_column(column)
    for e in rows:
        cells = condition_cells(e, rendering)
        table.add_row(
            entry_name(e),
            str(e["n"]),
            *(cells[c] for c in CONDITION_ORDER),
            *rank_cells(e, rendering),
        )
    return table


def eval_command(
    tasks: Annotated[
        list[str], typer.Argument(help="Tasks to run: classify, translate, bli, mrc.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Results, report, plots and the resumable cache.")
    ] = Path("eval-results"),
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="The resumable cache (default: OUT/cache); runs over disjoint languages may "
            "share one.",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model alias, Hub id or local path.")
    ] = None,
    sib200: Annotated[
        Path | None, typer.Option("--sib200", help="SIB-200 root: <lang>/{train,dev,test}.tsv.")
    ] = None,
    flores: Annotated[
        Path | None,
        typer.Option("--flores", help="FLORES root for translate: <split>/<lang>.<split>."),
    ] = None,
    muse: Annotated[
        Path | None, typer.Option("--muse", help="Directory of MUSE lexicons S-T.txt (bli).")
    ] = None,
    belebele: Annotated[
        Path | None, typer.Option("--belebele", help="Directory of Belebele <lang>.jsonl (mrc).")
    ] = None,
    languages: Annotated[
        str | None,
        typer.Option(
            "--languages",
            help="Comma-separated languages of classify/mrc (default: the study languages "
            "present in the data, bridges excluded).",
        ),
    ] = None,
    pairs: Annotated[
        str | None,
        typer.Option(
            "--pairs",
            help="Comma-separated SRC-TRG pairs of translate/bli/mrc (default: the BridgeX-ICL "
            "pairs present in the data).",
        ),
    ] = None,
    bridges: Annotated[
        str | None, typer.Option("--bridges", help="Comma-separated candidate bridges.")
    ] = None,
    conditions: Annotated[
        str, typer.Option("--conditions", help="Comma-separated conditions.")
    ] = "direct,english,table,detected,random,all",
    renderings: Annotated[
        str, typer.Option("--renderings", help="Comma-separated renderings: self, oracle.")
    ] = "self,oracle",
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            help="Items per language/pair (default: the whole split; classify takes a "
            "label-balanced subset).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of samples and choices.")] = 0,
    num_demos: Annotated[
        int, typer.Option("--num-demos", help="The chain's demonstrations per prompt.")
    ] = 3,
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", help="The chain's generation budget.")
    ] = 128,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Model batch (chain.batch max_concurrency).")
    ] = 16,
    server_url: Annotated[
        str | None,
        typer.Option(
            "--server-url",
            help="Generate with an OpenAI-compatible server (vLLM, llama.cpp), e.g. "
            "http://127.0.0.1:8080/v1; --model then names the table's model.",
        ),
    ] = None,
    server_model: Annotated[
        str | None,
        typer.Option("--server-model", help="The model name the server expects."),
    ] = None,
    server_chat: Annotated[
        bool, typer.Option("--server-chat", help="Use the server's chat endpoint.")
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option("--threads", help="torch CPU threads (default: torch's choice)."),
    ] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples.")] = 1000,
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="SIB-200 split classify evaluates: test, dev to choose thresholds on, or "
            "heldout (the train rows no probe, render check or demonstration uses; for the "
            "languages without dev/test).",
        ),
    ] = "test",
    evidence: Annotated[
        str | None,
        typer.Option(
            "--evidence",
            help="Thresholds of the evidence condition, e.g. 'max_competence=-3.5,"
            "min_render_gain=0,min_win_rate=0.9' (default: the chain's).",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrlOption = None,
    table_json: Annotated[
        Path | None,
        typer.Option(
            "--table-json",
            help="Read bridges from this bridge-table JSON (default: the tables shipped in "
            "the package; --database-url reads a database instead).",
        ),
    ] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw PNG plots.")] = True,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only",
            help="Compute nothing: write the results and report of what --out holds so far "
            "(a run in progress, or one stopped early).",
        ),
    ] = False,
) -> None:
    """Measure whether the bridge helps: the chain under direct, English, table, every bridge.

    Safe to interrupt: a re-run with the same options resumes from the cache under --out.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from bridgex_chain.eval.evaluate import EvalConfig, run_evaluation
    from bridgex_chain.eval.runner import CONDITIONS, RENDERINGS
    from bridgex_chain.eval.runner import Progress as EvalProgress
    from bridgex_chain.languages import DEFAULT_BRIDGES

    chosen_conditions = _codes(conditions) or []
    chosen_renderings = _codes(renderings) or []
    for value, allowed, what in (
        (chosen_conditions, CONDITIONS, "condition"),
        (chosen_renderings, RENDERINGS, "rendering"),
    ):
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise typer.BadParameter(f"unknown {what} {unknown}; choose from {', '.join(allowed)}")
    config = EvalConfig(
        tasks=tasks,
        out_dir=out,
        cache_dir=cache,
        model=model,
        sib200=sib200,
        flores=flores,
        muse=muse,
        belebele=belebele,
        languages=_codes(languages),
        pairs=_pairs(pairs),
        bridges=_codes(bridges) or list(DEFAULT_BRIDGES),
        conditions=chosen_conditions,
        renderings=chosen_renderings,
        limit=limit,
        seed=seed,
        num_demos=num_demos,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        server_url=server_url,
        server_model=server_model,
        server_chat=server_chat,
        threads=threads,
        resamples=resamples,
        plots=plots,
        split=_split(split),
        evidence_thresholds=_thresholds(evidence),
    )
    console = Console()
    table = _open_table(database_url, table_json)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("planning", total=None)

        def on_progress(event: EvalProgress) -> None:
            progress.update(
                bar, description=event.description, completed=event.completed, total=event.total
            )

        results = run_evaluation(
            config, table=table, on_progress=on_progress, compute=not report_only
        )
    for task in dict.fromkeys(e["task"] for e in results["entries"]):
        for rendering in config.renderings:
            console.print(_results_table(results, task, rendering))
    from bridgex_chain.cli.terminal import safe

    console.print(f"Results: {safe(out / 'results.json')}; report: {safe(out / 'report.md')}")


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to ``app``."""
    app.command("eval", cls=TidyCommand)(eval_command)
