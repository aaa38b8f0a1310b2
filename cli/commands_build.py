"""The ``build-table`` command: probe a model and write its bridge table.

Example:
    $ bridgex-chain build-table --languages sw,id --pairs id-tl --max-prompts 8
    $ bridgex-chain build-table --model mistral --lexicon ~/muse --dry-run
    $ bridgex-chain build-table --export precomputed/gemma-3-270m.json
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridgex_chain.cli.commands_db import DatabaseUrlOption

if TYPE_CHECKING:
    from rich.console import Console

    from bridgex_chain.probing.options import BuildOptions
    from bridgex_chain.probing.plan import BuildPlan
    from bridgex_chain.probing.results import BuildResult, ProgressEvent

__all__ = ["register"]

_BRIDGES = "en,de,fr,it,pt,es"
_STAGE_NAMES = {
    "load": "Loading the model",
    "neurons": "Language neurons",
    "understood": "Filtering understood probes",
    "probes": "Probe activations",
    "scores": "HSIC scores",
    "write": "Writing the table",
}


def _languages(value: str | None) -> list[str] | None:
    """``None``/``study`` → the study languages, ``none`` → no chat entry, else a list."""
    if value is None or value.strip().lower() == "study":
        return None
    if value.strip().lower() == "none":
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _options(**values: Any) -> BuildOptions:
    from bridgex_chain.errors import ProbeDataError
    from bridgex_chain.probing.options import BuildOptions

    hints = {"pair": "--pairs", "layer": "--layers", "language": "--languages"}
    try:
        return BuildOptions.create(**values)
    except (ProbeDataError, ValueError) as err:
        hint = next((h for word, h in hints.items() if word in str(err).lower()), None)
        raise typer.BadParameter(str(err), param_hint=hint) from err


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _print_plan(console: Console, plan: BuildPlan) -> None:
    from rich.table import Table

    view = Table(title=f"Build plan for {plan.model} (dry run: nothing was run)", show_header=False)
    view.add_column("what")
    view.add_column("value")
    upper = " (upper bound: probes are filtered first)" if plan.filter_understood else ""
    view.add_row(
        "model", f"{plan.architecture}, {plan.num_layers} layers × {plan.intermediate_size} neurons"
    )
    view.add_row("probe set", f"{plan.probe_set} ({plan.probe_set_hash[:12]})")
    view.add_row("languages (neurons counted)", ", ".join(plan.languages))
    view.add_row("candidate bridges", ", ".join(plan.bridges))
    view.add_row("layer window", f"{plan.window[0]}–{plan.window[1]}")
    for key, n in plan.prompts_per_entry.items():
        src, trg = key.split("|")
        view.add_row(f"entry {src}" + ("" if src == trg else f" → {trg}"), f"{n} prompts{upper}")
    view.add_row("probe directions", str(plan.directions))
    view.add_row("distinct probe prompts", f"{plan.probe_prompts} ({plan.probe_tokens} tokens)")
    view.add_row("corpus texts", f"{plan.corpus_texts} ({plan.corpus_tokens} tokens)")
    view.add_row("forward passes", str(plan.forward_passes))
    view.add_row("estimated time", f"{_duration(plan.estimated_seconds)} (model loading excluded)")
    view.add_row("estimated peak memory", _gib(plan.estimated_peak_bytes))
    console.print(view)


class _Bars:
    """Rich progress bars fed by :class:`ProgressEvent`."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("[dim]{task.fields[detail]}"),
            console=console,
        )
        self.tasks: dict[str, Any] = {}

    def __call__(self, event: ProgressEvent) -> None:
        task = self.tasks.get(event.stage)
        if task is None:
            name = _STAGE_NAMES.get(event.stage, event.stage)
            task = self.progress.add_task(name, total=max(event.total, 1), detail="")
            self.tasks[event.stage] = task
        self.progress.update(
            task, completed=event.done, total=max(event.total, 1), detail=event.detail[:40]
        )


def _print_result(console: Console, result: BuildResult) -> None:
    from rich.table import Table

    view = Table(title=f"Bridges of {result.model} (layers {result.window[0]}–{result.window[1]})")
    for column in ("entry", "prompts", "best bridge", "score", "margin", "ties", "runners-up"):
        view.add_column(
            column, justify="right" if column in {"prompts", "score", "margin"} else "left"
        )
    for entry in result.entries:
        name = entry.src if entry.src == entry.trg else f"{entry.src} → {entry.trg}"
        ranking = entry.ranking
        if ranking.best is None:
            view.add_row(name, str(entry.prompts), "[yellow]none scored", "—", "—", "", "")
            continue
        margin = ranking.margin
        ties = ", ".join(b for b in ranking.tied_best if b != ranking.best.bridge)
        others = " > ".join(f"{r.bridge} {r.score:.4g}" for r in ranking.ranked[1:4])
        view.add_row(
            name,
            str(entry.prompts),
            ranking.best.bridge,
            f"{ranking.best.score:.4g}",
            "—" if margin is None else f"{margin:.3g}",
            ties,
            others,
        )
    console.print(view)
    said = {"built": "built", "resumed": "resumed and completed", "unchanged": "already complete"}
    console.print(f"Run [bold]{result.run_id}[/] {said[result.status]} in {result.database_url}")
    console.print(f"Intermediates: {result.cache_path}")
    if result.export_path is not None:
        console.print(f"Exported to {result.export_path}")
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    console.print(f"[dim]{result.rows_written} score rows written · {timings}")


def build_table_command(
    model: Annotated[
        str | None,
        typer.Option(
            help="Model alias, Hugging Face id or local path (default: the embedded Gemma-3-270m)."
        ),
    ] = None,
    languages: Annotated[
        str | None,
        typer.Option(
            help="Languages whose chat entry (L, L) is built, comma-separated; 'study' "
            "(default: the 15 study languages) or 'none'."
        ),
    ] = None,
    bridges: Annotated[str, typer.Option(help="Candidate bridge languages.")] = _BRIDGES,
    pairs: Annotated[
        str | None,
        typer.Option(
            help="Extra S-T entries, e.g. 'sw-en,id-tl' ('en-en' for a bridge's chat entry)."
        ),
    ] = None,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            help="Directory of MUSE-format lexicons (default: the bundled CLDR starter set)."
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="Directory of monolingual text per language (<code>.txt or <code>/*.txt|tsv) "
            "for language neurons (default: the probe set's terms)."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="Torch device: cpu, cuda, cuda:1, auto.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="float32, bfloat16, float16 or auto.")] = "float32",
    batch_size: Annotated[int, typer.Option(min=1, help="Prompts per forward pass.")] = 16,
    layers: Annotated[
        str | None,
        typer.Option(
            help="Layer window to aggregate, first-last (0-based), e.g. '6-11' "
            "(default: the middle third)."
        ),
    ] = None,
    top_rate: Annotated[
        float, typer.Option(help="Fraction of all neurons that are a language's top neurons.")
    ] = 0.01,
    bridge_top_k: Annotated[
        int | None,
        typer.Option(help="Keep only the k bridge neurons with the highest mean probe activation."),
    ] = None,
    filter_understood: Annotated[
        bool,
        typer.Option(
            help="Keep only probes the model translates correctly (greedy decoding; slow)."
        ),
    ] = False,
    max_prompts: Annotated[
        int | None,
        typer.Option(min=2, help="At most this many probe prompts per direction (seeded subset)."),
    ] = None,
    corpus_max_tokens: Annotated[
        int, typer.Option(min=1, help="Corpus tokens per language.")
    ] = 50_000,
    window_only: Annotated[
        bool,
        typer.Option(help="Record and score only the layer window (faster; fewer per-layer rows)."),
    ] = False,
    hsic_mode: Annotated[
        str, typer.Option(help="standard, or reference (the reference code's formula).")
    ] = "standard",
    seed: Annotated[int, typer.Option(help="Seed of the prompt subsets.")] = 0,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Torch CPU threads (default: torch's). On a busy shared CPU, 1 is often "
            "much faster.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(help="Print the plan (prompts, passes, estimated time and memory) and stop."),
    ] = False,
    database_url: DatabaseUrlOption = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Root of the run intermediates (default: the user cache dir)."),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(help="Also write the run as a bridge-table JSON file (precomputed/ format)."),
    ] = None,
    keep_intermediates: Annotated[
        bool, typer.Option(help="Keep the probe activations after success (large).")
    ] = False,
) -> None:
    """Probe a model's neurons and write its bridge table (resumable: re-run to continue)."""
    from rich.console import Console

    console = Console()
    probe_set = None
    if lexicon is not None:
        from bridgex_chain.probing.lexicon import load_muse_dir

        probe_set = load_muse_dir(lexicon)
    if hsic_mode not in ("standard", "reference"):
        raise typer.BadParameter("use 'standard' or 'reference'", param_hint="--hsic-mode")
    opts = _options(
        languages=_languages(languages),
        bridges=[b.strip() for b in bridges.split(",") if b.strip()],
        pairs=pairs,
        probe_set=probe_set,
        corpus_dir=corpus,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        layers=layers,
        top_rate=top_rate,
        bridge_top_k=bridge_top_k,
        filter_understood=filter_understood,
        max_prompts=max_prompts,
        corpus_max_tokens=corpus_max_tokens,
        all_layers=not window_only,
        hsic_mode=hsic_mode,
        seed=seed,
        threads=threads,
    )
    if dry_run:
        from bridgex_chain.probing.plan import plan_build

        with console.status("Planning (reading the model config and tokenizer)"):
            plan = plan_build(model, options=opts)
        _print_plan(console, plan)
        return
    from bridgex_chain.probing.build import build_table

    bars = _Bars(console)
    with bars.progress:
        result = build_table(
            model,
            options=opts,
            database_url=database_url,
            cache_dir=cache_dir,
            export=export,
            keep_intermediates=keep_intermediates,
            on_progress=bars,
        )
    _print_result(console, result)


def register(app: typer.Typer) -> None:
    """Add ``build-table`` to the CLI."""
    app.command("build-table")(build_table_command)
