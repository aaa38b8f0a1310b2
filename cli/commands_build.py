"""The ``build-table`` command: probe a model and write its bridge table.

Example:
    $ bridgex-chain build-table --languages sw,id --pairs id-tl --max-prompts 8
    $ bridgex-chain build-table --model mistral --lexicon ~/muse --dry-run
    $ bridgex-chain build-table --export precomputed/gemma-3-270m.json
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bridgex_chain.cli.commands_db import DatabaseUrlOption
from bridgex_chain.cli.terminal import TidyCommand, argv_text, safe

if TYPE_CHECKING:
    from rich.console import Console

    from bridgex_chain.probing.options import BuildOptions
    from bridgex_chain.probing.plan import BuildPlan
    from bridgex_chain.probing.results import BuildResult, ProgressEvent

__all__ = ["register"]

_T = TypeVar("_T")

_BRIDGES = "en,de,fr,it,pt,es"
_STAGE_NAMES = {
    "load": "Loading the model",
    "neurons": "Language neurons",
    "understood": "Filtering understood probes",
    "probes": "Probe activations",
    "scores": "HSIC scores",
    "render": "Render checks",
    "write": "Writing the table",
}


def _languages(value: str | None) -> str | list[str] | None:
    """The ``--languages`` value: ``None`` (the study languages), ``[]``, ``"all"`` or a list.

    ``study`` or nothing → the study languages, ``none`` → no chat entry, ``all`` → every
    language the detector labels (resolved by the build), else the codes given.
    """
    if value is None or value.strip().lower() == "study":
        return None
    if value.strip().lower() == "none":
        return []
    if value.strip().lower() == "all":
        return "all"
    return [part.strip() for part in value.split(",") if part.strip()]


def _checked(option: str, check: Callable[[], _T]) -> _T:
    """``check()``, its bridgex error reported against ``option`` (``error: --layers: …``)."""
    from bridgex_chain.errors import InvalidOption, ProbeDataError, UnknownLanguage

    try:
        return check()
    except (ProbeDataError, InvalidOption, UnknownLanguage) as err:
        raise InvalidOption(f"{option}: {err}") from err


def _normalized(code: str) -> str:
    from bridgex_chain.languages import normalize

    return normalize(argv_text(code))


def _check_values(values: dict[str, Any]) -> None:
    """Check each option on its own, so that the error names it (``error: --dtype: …``)."""
    from bridgex_chain.probing.options import (
        BuildOptions,
        check_device,
        check_dtype,
        parse_layers,
        parse_pairs,
        parse_shard,
    )

    langs, excluded = values["languages"], values["exclude"]
    for option, codes in (
        ("--languages", () if langs == "all" else langs),
        ("--exclude", () if excluded in (None, "study") else excluded.split(",")),
        ("--bridges", values["bridges"]),
    ):
        for code in codes or ():
            _checked(option, partial(_normalized, code))
    if not values["bridges"]:
        _checked("--bridges", partial(BuildOptions.create, bridges=[]))
    pairs = values["pairs"]
    _checked("--pairs", lambda: parse_pairs(None if pairs is None else argv_text(pairs)))
    _checked("--layers", lambda: parse_layers(values["layers"]))
    _checked("--shard", lambda: parse_shard(values["shard"]))
    _checked("--device", lambda: check_device(values["device"]))
    _checked("--dtype", lambda: check_dtype(values["dtype"]))


def _create(values: dict[str, Any]) -> BuildOptions:
    """:meth:`BuildOptions.create`, an error about a numeric option naming its flag."""
    from bridgex_chain.errors import InvalidOption
    from bridgex_chain.probing.options import BuildOptions

    try:
        return BuildOptions.create(**values)
    except InvalidOption as err:
        message = str(err)
        field = message.split(" ", 1)[0]
        if field in values:
            raise InvalidOption("--" + field.replace("_", "-") + message[len(field) :]) from err
        raise


def _check_layers_fit(model: str | None, opts: BuildOptions) -> None:
    """Before a real build: the layer window against the model's depth, when its config is here."""
    from bridgex_chain.probing.plan import read_model_shape

    if opts.layers is None:
        return
    shape = read_model_shape(model)
    if shape is not None:
        _checked("--layers", lambda: opts.window(shape.num_layers, shape.key))


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


#: A dry run lists each entry's prompt count up to this many entries, else a summary.
_LISTED_ENTRIES = 24


def _print_plan(console: Console, plan: BuildPlan) -> None:
    from rich.table import Table

    view = Table(
        title=f"Build plan for {safe(plan.model)} (dry run: nothing was run)", show_header=False
    )
    view.add_column("what")
    view.add_column("value")
    upper = " (upper bound: probes are filtered first)" if plan.filter_understood else ""
    view.add_row(
        "model",
        f"{safe(plan.architecture)}, {plan.num_layers} layers × {plan.intermediate_size} neurons",
    )
    view.add_row("probe set", f"{safe(plan.probe_set)} ({safe(plan.probe_set_hash[:12])})")
    view.add_row("languages (neurons counted)", ", ".join(plan.languages))
    view.add_row("candidate bridges", ", ".join(plan.bridges))
    view.add_row("layer window", f"{plan.window[0]}–{plan.window[1]}")
    if plan.probe_sources:
        kinds = [kind for _, kind, _ in plan.probe_sources]
        counts = ", ".join(f"{kinds.count(k)} {k}" for k in ("cldr", "parallel", "none"))
        skipped = [code for code, kind, _ in plan.probe_sources if kind == "none"]
        view.add_row("probe sources", f"{counts} (none: {safe(', '.join(skipped)) or '–'})")
    if len(plan.prompts_per_entry) > _LISTED_ENTRIES:
        sizes = sorted(plan.prompts_per_entry.values())
        view.add_row(
            f"entries ({len(sizes)})",
            f"{sizes[0]}–{sizes[-1]} prompts each, median {sizes[len(sizes) // 2]}{upper}",
        )
    else:
        for key, n in plan.prompts_per_entry.items():
            src, trg = key.split("|")
            entry = f"entry {src}" + ("" if src == trg else f" → {trg}")
            view.add_row(entry, f"{n} prompts{upper}")
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
            name = _STAGE_NAMES.get(event.stage) or safe(event.stage)
            task = self.progress.add_task(name, total=max(event.total, 1), detail="")
            self.tasks[event.stage] = task
        self.progress.update(
            task,
            completed=event.done,
            total=max(event.total, 1),
            detail=safe(event.detail[:40], newlines=False),
        )


def _print_result(console: Console, result: BuildResult) -> None:
    from rich.table import Table

    from bridgex_chain.store.records import format_score

    window = f"layers {result.window[0]}–{result.window[1]}"
    view = Table(title=f"Bridges of {safe(result.model)} ({window})")
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
        others = " > ".join(f"{r.bridge} {format_score(r.score)}" for r in ranking.ranked[1:4])
        view.add_row(
            name,
            str(entry.prompts),
            ranking.best.bridge,
            format_score(ranking.best.score),
            "—" if margin is None else f"{margin:.3g}",
            ties,
            others,
        )
    console.print(view)
    said = {"built": "built", "resumed": "resumed and completed", "unchanged": "already complete"}
    where = safe(result.database_url)
    console.print(f"Run [bold]{result.run_id}[/] {said[result.status]} in {where}")
    console.print(f"Intermediates: {safe(result.cache_path)}", highlight=False)
    if result.export_path is not None:
        console.print(f"Exported to {safe(result.export_path)}", highlight=False)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    console.print(f"[dim]{result.rows_written} score rows written · {timings}")


_MODEL = "Model"
_ENTRIES = "What to build"
_PROBING = "Probing"


def _opt(help: str, metavar: str, panel: str | None = None, **extra: Any) -> Any:
    """A value option of ``build-table`` (short help, a metavar, its help panel)."""
    return typer.Option(help=help, metavar=metavar, rich_help_panel=panel, **extra)


def _flag(name: str, help: str, panel: str | None = None) -> Any:
    """An on/off flag (one name, no ``--no-`` twin)."""
    return typer.Option(name, help=help, rich_help_panel=panel)


def build_table_command(
    model: Annotated[
        str | None,
        _opt("Alias, Hugging Face id or local path (default: the embedded Gemma-3-270m).",
             "MODEL", _MODEL, show_default=False),
    ] = None,
    device: Annotated[str, _opt("Torch device: cpu, cuda, cuda:1, mps, auto.", "DEVICE", _MODEL)]
    = "cpu",
    dtype: Annotated[str, _opt("float32, bfloat16, float16 or auto.", "DTYPE", _MODEL)]
    = "float32",
    threads: Annotated[
        int | None,
        _opt("Torch CPU threads (default: torch's; on a busy CPU 1 is often faster).", "N",
             _MODEL, min=1),
    ] = None,
    languages: Annotated[
        str | None,
        _opt("Languages whose chat entry is built: codes, 'study' (the 15 study languages, "
             "default), 'all' (every language the detector knows; probes from CLDR, else "
             "from --parallel sentences; the others are skipped and listed) or 'none'.",
             "CODES", _ENTRIES, show_default=False),
    ] = None,
    exclude: Annotated[
        str | None,
        _opt("Languages left out of --languages: codes or 'study' (e.g. --languages all "
             "--exclude study adds every other language to a table).", "CODES", _ENTRIES,
             show_default=False),
    ] = None,
    shard: Annotated[
        str | None,
        _opt("Build the K-th of N shares of the languages (K/N, e.g. 1/2): N builds, one per "
             "core, each its own run.", "K/N", _ENTRIES, show_default=False),
    ] = None,
    bridges: Annotated[str, _opt("Candidate bridge languages.", "CODES", _ENTRIES)] = _BRIDGES,
    pairs: Annotated[
        str | None,
        _opt("Extra source-target entries, e.g. 'sw-en,id-tl' ('en-en': a bridge's own chat).",
             "PAIRS", _ENTRIES, show_default=False),
    ] = None,
    lexicon: Annotated[
        Path | None,
        _opt("Directory of MUSE-format lexicons (default: the bundled CLDR starter set).",
             "DIR", _ENTRIES, show_default=False),
    ] = None,
    corpus: Annotated[
        Path | None,
        _opt("Monolingual texts for language neurons: <code>.txt or <code>/*.txt|tsv files "
             "(default: the probe set's terms).", "DIR", _ENTRIES, show_default=False),
    ] = None,
    layers: Annotated[
        str | None,
        _opt("Layer window to aggregate, first-last, 0-based, e.g. '6-11' (default: the "
             "middle third).", "FIRST-LAST", _PROBING, show_default=False),
    ] = None,
    top_rate: Annotated[
        float,
        _opt("Fraction of all neurons that are a language's top neurons.", "RATE", _PROBING,
             min=0.0, max=1.0),
    ] = 0.01,
    bridge_top_k: Annotated[
        int | None,
        _opt("Keep only the k bridge neurons with the highest mean activation.", "K", _PROBING,
             min=1),
    ] = None,
    max_prompts: Annotated[
        int | None,
        _opt("At most this many probe prompts per direction (seeded subset).", "N", _PROBING,
             min=2),
    ] = None,
    corpus_max_tokens: Annotated[
        int, _opt("Corpus tokens per language.", "N", _PROBING, min=1)
    ] = 50_000,
    batch_size: Annotated[int, _opt("Prompts per forward pass.", "N", _PROBING, min=1)] = 16,
    hsic_mode: Annotated[
        str, _opt("standard, or reference (the reference code's formula).", "MODE", _PROBING)
    ] = "standard",
    aggregation: Annotated[
        str,
        _opt("Window layers each candidate's score averages: own (its scored layers), shared "
             "(the layers every candidate has; default), zero (every layer, missing ones count 0).",
             "RULE", _PROBING),
    ] = "shared",
    resamples: Annotated[
        int,
        _opt("Bootstrap resamples over the probe prompts per entry (score intervals and win "
             "rates); 0 skips them.", "N", _PROBING, min=0),
    ] = 200,
    parallel: Annotated[
        Path | None,
        _opt("Parallel corpus (FLORES / SIB-200 layout) for render checks and each language's "
             "competence; use rows you do not evaluate on.", "DIR", _PROBING,
             show_default=False),
    ] = None,
    parallel_split: Annotated[
        str, _opt("The split of --parallel the checks read.", "SPLIT", _PROBING)
    ] = "train",
    render_pairs: Annotated[
        int, _opt("Sentences per (language, bridge) render check.", "N", _PROBING, min=1)
    ] = 32,
    seed: Annotated[int, _opt("Seed of the prompt subsets and the bootstrap.", "N", _PROBING)] = 0,
    filter_understood: Annotated[
        bool,
        _flag("--filter-understood",
              "Keep only probes the model translates correctly (greedy decoding; slow).",
              _PROBING),
    ] = False,
    window_only: Annotated[
        bool,
        _flag("--window-only", "Record and score only the layer window (faster).", _PROBING),
    ] = False,
    dry_run: Annotated[
        bool, _flag("--dry-run", "Print the plan (work, time, memory) and stop.")
    ] = False,
    database_url: DatabaseUrlOption = None,
    cache_dir: Annotated[
        Path | None,
        _opt("Root of the run intermediates (default: the user cache dir).", "DIR",
             show_default=False),
    ] = None,
    export: Annotated[
        Path | None,
        _opt("Also write the run as a bridge-table JSON file.", "FILE", show_default=False),
    ] = None,
    keep_intermediates: Annotated[
        bool, _flag("--keep-intermediates", "Keep the probe activations (large).")
    ] = False,
) -> None:  # fmt: skip
    """Probe a model's neurons and write its bridge table (resumable: re-run to continue)."""
    from rich.console import Console

    from bridgex_chain.errors import InvalidOption

    console = Console()
    if hsic_mode not in ("standard", "reference"):
        raise InvalidOption(f"--hsic-mode: use 'standard' or 'reference', not {hsic_mode!r}.")
    values: dict[str, Any] = dict(
        languages=_languages(languages),
        bridges=[b.strip() for b in bridges.split(",") if b.strip()],
        pairs=pairs,
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
        aggregation=aggregation,
        resamples=resamples,
        parallel=parallel,
        parallel_split=parallel_split,
        render_pairs=render_pairs,
        seed=seed,
        threads=threads,
        exclude=exclude,
        shard=shard,
    )
    _check_values(values)  # before the lexicon is read or the model looked at
    if lexicon is not None:
        from bridgex_chain.probing.lexicon import load_muse_dir

        values["probe_set"] = load_muse_dir(lexicon)
    opts = _create(values)
    _check_layers_fit(model, opts)
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
    app.command("build-table", cls=TidyCommand)(build_table_command)
