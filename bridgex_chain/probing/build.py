"""``build_table()``: probe a model and write its bridge table (the orchestration of METHOD.md).

One call loads the model, resolves the entries (:mod:`bridgex_chain.probing.options`), runs the
cached steps of :class:`~bridgex_chain.probing.steps.BuildSteps` and stores the run in a
:class:`RunStore`:

1. the run is recorded as ``running`` (:meth:`RunStore.begin_run`) before any work;
2. language neurons, groups, optional understood-filter, probe activations and HSIC scores are
   computed, each unit cached under ``cache_dir()/runs/<run key>/`` as soon as it is done;
3. every per-layer and aggregate score is written and the run marked ``complete`` in one
   transaction (:meth:`RunStore.complete_run`), so readers never see half a run;
4. on any error (or Ctrl-C) the run is marked ``failed`` with the reason and the error re-raised;
   earlier complete runs are untouched.

Running the same build again resumes: the run key (model revision, probe-set hash, languages,
bridges, parameters) finds the cached steps, and the start time kept in the cache's manifest
gives the same database run, which goes back to ``running``. Re-running a build whose identical
run is already complete in the database is a no-op (``BuildResult.status == "unchanged"``).

Progress goes to ``on_progress(ProgressEvent)`` only; nothing here prints.

**What probing needs of the store.** The build talks to the bridge table only through
:class:`RunStore` (five methods and a URL, defined here; ``BridgeTable`` fits it as it is) and
the plain records of :mod:`bridgex_chain.store.records`. Two conveniences of :func:`build_table`
itself reach into the store, both inside the function: with no ``table`` it opens
:class:`~bridgex_chain.store.table.BridgeTable` at ``database_url`` (the default table), and
``export=`` writes the run with the store's JSON writer
(:func:`~bridgex_chain.store.precomputed.write_table_file`). In that sense ``build_table`` sits
above the store: it writes its results into it.

Example:
    >>> result = build_table("gemma-3-270m", languages=["sw"], max_prompts=8)  # doctest: +SKIP
    >>> result.entries[0].best.bridge  # doctest: +SKIP
    'fra_Latn'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Unpack

from bridgex_chain.paths import cache_dir as default_cache_dir
from bridgex_chain.probing.bridges import Aggregation, layer_window, rank_bridges
from bridgex_chain.probing.cache import RunCache, run_key
from bridgex_chain.probing.confidence import BridgeConfidence
from bridgex_chain.probing.corpus import Corpus
from bridgex_chain.probing.hooks import act_fn_modules
from bridgex_chain.probing.options import BuildKwargs, BuildOptions, ProbeLayout, default_probe_set
from bridgex_chain.probing.parallel_probes import PARTITION
from bridgex_chain.probing.probe_set import Pair
from bridgex_chain.probing.probe_sources import resolve_probe_sources
from bridgex_chain.probing.render_check import LanguageChecks
from bridgex_chain.probing.results import (
    BuildResult,
    BuildStatus,
    EntryResult,
    ProgressCallback,
    StageClock,
)
from bridgex_chain.probing.steps import TEXT_TOKENS, BuildSteps, PerLayer, torch_threads
from bridgex_chain.store.records import (
    CompetenceRow,
    ModelProfile,
    RenderCheckRow,
    RunRecord,
    ScoreRow,
)

if TYPE_CHECKING:
    from bridgex_chain.models import LoadedModel

__all__ = ["RunStore", "build_table", "wrap_model"]

logger = logging.getLogger(__name__)


class RunStore(Protocol):
    """Where a build records its run: what :func:`build_table` needs of a bridge table.

    :class:`~bridgex_chain.store.table.BridgeTable` implements it; a test or another backend
    may pass any object with these members. Runs and rows are the plain records of
    :mod:`bridgex_chain.store.records`.

    Example:
        >>> from bridgex_chain.store.table import BridgeTable
        >>> store: RunStore = BridgeTable("sqlite://")
        >>> store.runs()
        []
    """

    @property
    def url(self) -> str:
        """Where the runs go, for progress and the result (no password)."""
        ...

    def runs(self, model: str | None = None) -> list[RunRecord]:
        """Every stored run (any status), optionally of one model."""
        ...

    def scores(self, run_id: int) -> list[ScoreRow]:
        """Every score row of a run."""
        ...

    def begin_run(self, run: RunRecord) -> int:
        """Record ``run`` as running and set ``run.run_id``; the same run again resumes it.

        A run already complete keeps its rows and ``run.status`` becomes ``"complete"``.
        """
        ...

    def complete_run(self, run_id: int, rows: Sequence[ScoreRow] = ()) -> None:
        """Write the run's rows and mark it complete, all at once."""
        ...

    def store_render_checks(
        self,
        run_id: int,
        checks: Sequence[RenderCheckRow],
        competence: Sequence[CompetenceRow] = (),
    ) -> None:
        """Replace a running run's render checks and language competence."""
        ...

    def render_checks(self, run_id: int) -> list[RenderCheckRow]:
        """A run's render checks."""
        ...

    def competence(self, run_id: int) -> list[CompetenceRow]:
        """A run's language competence rows."""
        ...

    def fail_run(self, run_id: int, error: str) -> None:
        """Mark a running run failed with the reason."""
        ...


def wrap_model(model: Any, tokenizer: Any, *, key: str, revision: str | None = None) -> LoadedModel:
    """Wrap an in-memory causal LM and tokenizer so :func:`build_table` can probe it.

    Args:
        model: A loaded Hugging Face causal LM of a supported architecture.
        tokenizer: Its tokenizer.
        key: The model's key in the bridge table (e.g. its Hub id).
        revision: Its revision; by default a fingerprint of its config and weights
            (``weights-<sha256[:12]>``), so two different checkpoints never share cached steps.

    Example:
        >>> lm = wrap_model(model, tokenizer, key="me/tiny")  # doctest: +SKIP
        >>> build_table(lm, languages=["sw"])  # doctest: +SKIP
    """
    import hashlib

    from bridgex_chain.models import LoadedModel, ModelSpec

    config = model.config.get_text_config()
    if revision is None:
        digest = hashlib.sha256(config.to_json_string(use_diff=False).encode("utf-8"))
        for name, param in sorted(model.state_dict().items()):
            head = param.detach().reshape(-1)[:4096].float().cpu().numpy().tobytes()
            digest.update(name.encode("utf-8") + head)
        revision = "weights-" + digest.hexdigest()[:12]
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=ModelSpec(key, key, "local", None, None),
        load_seconds=0.0,
        revision=revision,
        architecture=str(config.model_type),
        num_layers=int(config.num_hidden_layers),
        intermediate_size=int(config.intermediate_size),
        from_cache=False,
    )


def _load(model: str | LoadedModel | None, opts: BuildOptions, clock: StageClock) -> LoadedModel:
    from bridgex_chain.models import LoadedModel, load_causal_lm

    if isinstance(model, LoadedModel):
        return model
    clock.emit("load", 0, 1, str(model or "default model"))
    loaded = load_causal_lm(
        model,
        device=opts.device,
        dtype=opts.dtype,
        on_progress=lambda msg: clock.emit("load", 0, 1, msg),
    )
    clock.emit("load", 1, 1, loaded.spec.key)
    return loaded


def _model_dtype(lm: LoadedModel) -> str:
    param = next(iter(lm.model.parameters()), None)
    return str(param.dtype).removeprefix("torch.") if param is not None else "unknown"


def _params(
    opts: BuildOptions, lm: LoadedModel, window: range, corpus: Mapping[str, Any], prompts: int
) -> dict[str, Any]:
    """The run parameters (part of the run's identity): everything that changes the scores."""
    return {
        "entries": [list(e) for e in opts.entries()],
        "top_rate": opts.top_rate,
        "layer_window": [window[0], window[-1]],
        "layers_scored": "all" if opts.all_layers else "window",
        "bridge_top_k": opts.bridge_top_k,
        "filter_understood": opts.filter_understood,
        "max_prompts_per_direction": opts.max_prompts,
        "prompt_seed": opts.seed,
        "probe_prompts": prompts,
        "corpus": {
            **corpus,
            "max_tokens_per_language": opts.corpus_max_tokens,
            "max_tokens_per_text": TEXT_TOKENS,
        },
        "hsic_mode": opts.hsic_mode,
        "aggregation": opts.aggregation,
        "render_check": None
        if opts.parallel is None
        else {
            "parallel": opts.parallel.name,
            "split": opts.parallel_split,
            "pairs": opts.render_pairs,
            "rows": f"check part of {PARTITION}",
        },
        "bootstrap": {"resamples": opts.resamples, "seed": opts.seed},
        "dtype": _model_dtype(lm),
        **(
            {}
            if opts.probe_sources is None
            else {
                "probe_sources": {
                    lang: {"kind": kind, "detail": detail}
                    for lang, kind, detail in opts.probe_sources
                }
            }
        ),
    }


def check_rows(
    checks: Mapping[str, LanguageChecks],
) -> tuple[list[RenderCheckRow], list[CompetenceRow]]:
    """The store's rows of a build's render checks and competence (see :func:`checks_of`).

    Example:
        >>> checks = {"swh_Latn": LanguageChecks(CompetenceRow("swh_Latn", 3, -4.0),
        ...     (RenderCheckRow("swh_Latn", "eng_Latn", 3, 0.2, 0.1, 0.3),))}
        >>> checks_of(*check_rows(checks)) == checks
        True
    """
    renders = [r for lang in checks.values() for r in lang.renders]
    return renders, [lang.competence for lang in checks.values()]


def checks_of(
    renders: Sequence[RenderCheckRow], competence: Sequence[CompetenceRow]
) -> dict[str, LanguageChecks]:
    """Per language, the render checks and competence the store holds for a run."""
    by_lang: dict[str, list[RenderCheckRow]] = {}
    for r in renders:
        by_lang.setdefault(r.src, []).append(r)
    return {c.lang: LanguageChecks(c, tuple(by_lang.get(c.lang, ()))) for c in competence}


def _same_run(a: RunRecord, b: RunRecord) -> bool:
    return (
        (a.profile.model, a.profile.revision, a.probe_set_hash)
        == (b.profile.model, b.profile.revision, b.probe_set_hash)
        and list(a.languages) == list(b.languages)
        and list(a.bridges) == list(b.bridges)
        and a.params == b.params
    )


def _stored_entries(
    table: RunStore,
    run_id: int,
    entries: list[Pair],
    window: range,
    counts: Mapping[Pair, int],
    aggregation: Aggregation = "shared",
) -> tuple[EntryResult, ...]:
    per: dict[Pair, PerLayer] = {e: {} for e in entries}
    confidence: dict[Pair, dict[str, BridgeConfidence]] = {}
    for row in table.scores(run_id):
        layers = per.setdefault((row.src, row.trg), {}).setdefault(row.bridge, {})
        if row.layer is not None:
            layers[row.layer] = row.score
        elif row.win_rate is not None and row.resamples is not None:
            confidence.setdefault((row.src, row.trg), {})[row.bridge] = BridgeConfidence(
                row.bridge, row.low, row.high, row.win_rate, row.resamples
            )
    return tuple(
        EntryResult(
            e[0],
            e[1],
            counts.get(e, 0),
            layers,
            rank_bridges(layers, window, aggregation=aggregation),
            confidence.get(e, {}),
        )
        for e, layers in per.items()
    )


def _export(table: RunStore, record: RunRecord, path: str | os.PathLike[str]) -> Path:
    from bridgex_chain._version import __version__
    from bridgex_chain.store.precomputed import write_table_file

    stored = [r for r in table.runs(record.profile.model) if r.run_id == record.run_id]
    run_id = record.run_id or 0
    rows = table.scores(run_id)
    evidence = [(table.render_checks(run_id), table.competence(run_id))]
    write_table_file(path, [(stored[0], rows)], tool_version=__version__, evidence=evidence)
    return Path(path)


class _OwnedStore(RunStore, Protocol):
    """A store :func:`build_table` opened itself, so closes again."""

    def close(self) -> None:
        """Release its connections."""
        ...


def _open_default_table(database_url: str | None) -> _OwnedStore:
    """The bridge table at ``database_url`` (default: ``BRIDGEX_DATABASE_URL`` or the user file)."""
    from bridgex_chain.store.table import BridgeTable

    return BridgeTable(database_url)


def build_table(
    model: str | LoadedModel | None = None,
    *,
    options: BuildOptions | None = None,
    database_url: str | None = None,
    table: RunStore | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    export: str | os.PathLike[str] | None = None,
    keep_intermediates: bool = False,
    on_progress: ProgressCallback | None = None,
    **kwargs: Unpack[BuildKwargs],
) -> BuildResult:
    """Probe a model and store its bridge table (see the module docstring).

    Args:
        model: Alias, Hugging Face id or local path (None: the embedded Gemma-3-270m), or a
            :class:`~bridgex_chain.models.LoadedModel`.
        options: Ready-made :class:`~bridgex_chain.probing.options.BuildOptions` (then leave
            ``kwargs`` empty).
        database_url: Where to store the run (default ``BRIDGEX_DATABASE_URL`` or the SQLite
            file in the user data dir); ignored when ``table`` is given.
        table: Where to record the run: an open
            :class:`~bridgex_chain.store.table.BridgeTable` or any :class:`RunStore` (left open).
        cache_dir: Root of the run intermediates (default :func:`bridgex_chain.paths.cache_dir`).
        export: Also write the run as a bridge-table JSON file (the ``precomputed/`` format).
        keep_intermediates: Keep the probe activations after success (they are large; counts,
            groups and scores are always kept).
        on_progress: Called with a :class:`ProgressEvent` as work advances.
        **kwargs: Options of :class:`~bridgex_chain.probing.options.BuildOptions`: languages,
            bridges, pairs, probe_set, corpus_dir, device, dtype, batch_size, layers, top_rate,
            bridge_top_k, filter_understood, max_prompts, corpus_max_tokens, all_layers,
            hsic_mode, seed.

    Returns:
        The :class:`BuildResult`.

    Raises:
        ProbeDataError: The probe set or corpus cannot serve an entry.
        ModelNotAvailable: The model cannot be loaded.
        DatabaseError: The bridge table cannot be written.

    Example:
        >>> r = build_table(languages=["sw", "id"], pairs="id-tl", max_prompts=8)  # doctest: +SKIP
        >>> [(e.src, e.trg, e.best.bridge) for e in r.entries]  # doctest: +SKIP
    """
    opts = resolve_probe_sources(options if options is not None else BuildOptions.create(**kwargs))
    clock = StageClock(on_progress)
    with torch_threads(opts.threads):
        with clock.stage("load"):
            lm = _load(model, opts, clock)
        job = _Job.prepare(lm, opts, cache_dir)
        store: RunStore
        owned: _OwnedStore | None = None
        if table is None:
            store = owned = _open_default_table(database_url)
        else:
            store = table
        try:
            status, entries = job.execute(store, clock, keep_intermediates)
            exported = _export(store, job.record, export) if export is not None else None
        finally:
            if owned is not None:
                owned.close()
    return BuildResult(
        run_id=int(job.record.run_id or 0),
        run_key=job.cache.key,
        status=status,
        model=job.record.profile.model,
        revision=job.record.profile.revision,
        database_url=store.url,
        cache_path=job.cache.path,
        window=(job.window[0], job.window[-1]),
        entries=entries,
        rows_written=0 if status == "unchanged" else sum(len(e.rows()) for e in entries),
        timings=clock.total(),
        export_path=exported,
        checks=job.checks,
    )


@dataclass
class _Job:
    """Everything one build needs once the model is loaded."""

    lm: LoadedModel
    opts: BuildOptions
    layout: ProbeLayout
    corpus: Corpus
    window: range
    record: RunRecord
    cache: RunCache
    resumed: bool
    checks: dict[str, LanguageChecks] = field(default_factory=dict)

    @classmethod
    def prepare(
        cls, lm: LoadedModel, opts: BuildOptions, cache_root: str | os.PathLike[str] | None
    ) -> _Job:
        from bridgex_chain._version import __version__

        # Refuse an architecture the hooks cannot probe before anything is recorded.
        act_fn_modules(lm.model)
        languages = opts.involved_languages()
        probe_set = opts.probe_set or default_probe_set(languages)
        layout = opts.layout(probe_set)
        corpus = opts.corpus(probe_set)
        start, end = opts.layers or (None, None)
        window = layer_window(lm.num_layers, start=start, end=end)
        profile = ModelProfile(
            lm.spec.key, lm.revision, lm.architecture, lm.num_layers, lm.intermediate_size
        )
        record = RunRecord(
            profile=profile,
            probe_set=probe_set.name,
            probe_set_hash=probe_set.content_hash,
            languages=languages,
            bridges=list(opts.bridges),
            params=_params(opts, lm, window, corpus.identity(), layout.total_prompts),
            tool_version=__version__,
        )
        identity = {
            "model": profile.model,
            "revision": profile.revision,
            "probe_set_hash": record.probe_set_hash,
            "languages": record.languages,
            "bridges": record.bridges,
            "params": record.params,
        }
        root = cache_root if cache_root is not None else default_cache_dir()
        cache = RunCache(root, run_key(identity))
        manifest = cache.manifest()
        now = datetime.now(UTC).isoformat()
        record.started_at = str(manifest["started_at"]) if manifest else now
        return cls(lm, opts, layout, corpus, window, record, cache, manifest is not None)

    def _manifest(self, status: str, **extra: Any) -> None:
        self.cache.write_manifest(
            {
                "started_at": self.record.started_at,
                "status": status,
                "model": self.record.profile.model,
                "revision": self.record.profile.revision,
                "probe_set": self.record.probe_set,
                "params": self.record.params,
                **extra,
            }
        )

    def execute(
        self, store: RunStore, clock: StageClock, keep_intermediates: bool
    ) -> tuple[BuildStatus, tuple[EntryResult, ...]]:
        """Begin (or find) the run, run the steps, complete it; a stored twin is a no-op."""
        record = self.record
        twin = next(
            (
                r
                for r in store.runs(record.profile.model)
                if r.status == "complete" and _same_run(r, record)
            ),
            None,
        )
        if twin is None:
            store.begin_run(record)  # sets run_id; status "complete" if this run already is
        else:
            record.run_id, record.status = twin.run_id, "complete"
        if record.status == "complete":
            counts = {e: self.layout.prompt_count(e) for e in self.layout.entries}
            run_id = int(record.run_id or 0)
            self.checks = checks_of(store.render_checks(run_id), store.competence(run_id))
            return "unchanged", _stored_entries(
                store,
                int(record.run_id or 0),
                self.opts.entries(),
                self.window,
                counts,
                self.opts.aggregation,
            )
        self._manifest("running")
        try:
            entries = self._steps(store, clock)
        except BaseException as err:
            reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            try:
                store.fail_run(int(record.run_id or 0), reason)
            except Exception:  # the original error matters more than the bookkeeping
                logger.exception("Could not mark run %s failed", record.run_id)
            self._manifest("failed", error=reason)
            raise
        self._manifest("complete", run_id=record.run_id, timings=clock.total())
        if not keep_intermediates:
            self.cache.remove("probes")
        return ("resumed" if self.resumed else "built"), entries

    def _steps(self, store: RunStore, clock: StageClock) -> tuple[EntryResult, ...]:
        steps = BuildSteps(
            self.lm.model,
            self.lm.tokenizer,
            self.opts,
            self.layout,
            self.corpus,
            self.cache,
            self.window,
            clock.emit,
        )
        with clock.stage("neurons"):
            groups = steps.scored_groups()
            if groups is None:
                groups = steps.groups(steps.language_neurons(self.record.languages))
        keep = {}
        if self.opts.filter_understood:
            with clock.stage("understood"):
                keep = steps.understood()
        with clock.stage("probes"):
            steps.record_probes(groups, keep)
        with clock.stage("scores"):
            scored = steps.score_entries(groups)
        entries = tuple(
            EntryResult(
                e[0],
                e[1],
                scores.prompts,
                scores.per_layer,
                rank_bridges(scores.per_layer, self.window, aggregation=self.opts.aggregation),
                scores.confidence,
            )
            for e, scores in scored.items()
        )
        if self.opts.parallel is not None:
            with clock.stage("render"):
                self.checks = steps.render_checks()
        with clock.stage("write"):
            clock.emit("write", 0, 1, store.url)
            if self.checks:
                store.store_render_checks(int(self.record.run_id or 0), *check_rows(self.checks))
            rows = [row for entry in entries for row in entry.rows()]
            store.complete_run(int(self.record.run_id or 0), rows)
            clock.emit("write", 1, 1, store.url)
        return entries
