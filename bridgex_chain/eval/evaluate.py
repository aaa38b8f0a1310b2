"""``run_evaluation``: build the tasks, plan every entry, run the arms, summarise, write reports.

Example:
    >>> config = EvalConfig(tasks=["classify"], out_dir=Path("out"), sib200=Path("sib200"),
    ...                     languages=["swh_Latn"], limit=21)
    >>> results = run_evaluation(config, table=None)  # doctest: +SKIP
    >>> results["entries"][0]["renderings"]["oracle"]["oracle_bridge"]  # doctest: +SKIP
    'fra_Latn'
"""

from __future__ import annotations

import json
import os
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bridgex_chain.errors import BridgeXError, ProbeDataError
from bridgex_chain.eval.cache import UnitFile
from bridgex_chain.eval.data import load_parallel
from bridgex_chain.eval.lm import EvalLM, HFEvalLM
from bridgex_chain.eval.runner import (
    CONDITIONS,
    RENDERINGS,
    BridgeLookup,
    EntryPlan,
    ProgressCallback,
    plan_entry,
    run_arms,
    table_info,
)
from bridgex_chain.eval.summary import summarise_entry, summarise_pooled
from bridgex_chain.eval.task_bli import BliTask
from bridgex_chain.eval.task_classify import ClassifyTask
from bridgex_chain.eval.task_mrc import MrcTask
from bridgex_chain.eval.task_translate import TranslateTask
from bridgex_chain.eval.tasks import Task
from bridgex_chain.languages import DEFAULT_BRIDGES, STUDY_LANGUAGES, normalize

__all__ = ["PAPER_PAIRS", "TASKS", "EvalConfig", "build_tasks", "run_evaluation"]

TASKS: tuple[str, ...] = ("classify", "translate", "bli", "mrc")

PAPER_PAIRS: tuple[tuple[str, str], ...] = (
    ("zho_Hans", "jpn_Jpan"),
    ("arb_Arab", "heb_Hebr"),
    ("ind_Latn", "tgl_Latn"),
    ("eng_Latn", "swh_Latn"),
    ("ind_Latn", "heb_Hebr"),
    ("zho_Hans", "heb_Hebr"),
)
"""Language pairs seen in the BridgeX-ICL reference code (default translate/BLI pairs)."""

_FORMAT = 1


@dataclass
class EvalConfig:
    """Everything one evaluation run depends on.

    Attributes:
        tasks: Task names (see :data:`TASKS`).
        out_dir: Results, report, plots and the resumable cache (``out_dir/cache``).
        model: Model alias, Hub id or path (None: the embedded Gemma-3-270m).
        sib200: SIB-200 root (classify; translate unless ``flores``; oracle renderings).
        flores: FLORES root for translate (``devtest`` split, ``dev`` for demonstrations).
        muse: Directory of MUSE lexicons (bli).
        belebele: Directory of Belebele JSONL files (mrc).
        languages: Languages of the single-language tasks (classify, mrc); default: the
            study languages present in the data that are not candidate bridges.
        pairs: (source, target) pairs of translate/bli (default: :data:`PAPER_PAIRS` present
            in the data) and mrc (default: ``(L, L)`` for ``languages``).
        bridges: Candidate bridges.
        conditions: Subset of :data:`~bridgex_chain.eval.runner.CONDITIONS`.
        renderings: Subset of :data:`~bridgex_chain.eval.runner.RENDERINGS`.
        limit: Items per entry (None: all).
        seed: Seed of samples, demonstrations, the random bridge and the bootstrap.
        demos_per_label: Classification demonstrations per label.
        shots: Parallel demonstrations in rendering and translation prompts (0: zero-shot).
        batch_size: Generation batch size.
        threads: torch CPU threads (None: torch's default). On a machine shared with other
            busy processes one thread is often faster than two.
        resamples: Bootstrap resamples.
        plots: Draw PNG plots for the report.
    """

    tasks: Sequence[str]
    out_dir: Path
    model: str | None = None
    sib200: Path | None = None
    flores: Path | None = None
    muse: Path | None = None
    belebele: Path | None = None
    languages: Sequence[str] | None = None
    pairs: Sequence[tuple[str, str]] | None = None
    bridges: Sequence[str] = DEFAULT_BRIDGES
    conditions: Sequence[str] = CONDITIONS
    renderings: Sequence[str] = RENDERINGS
    limit: int | None = None
    seed: int = 0
    demos_per_label: int = 1
    shots: int = 0
    batch_size: int = 8
    threads: int | None = None
    resamples: int = 1000
    plots: bool = True

    def command(self) -> str:
        """Return the ``bridgex-chain eval`` command line that reproduces this run.

        Example:
            >>> EvalConfig(tasks=["classify"], out_dir=Path("out"), limit=7).command()
            'bridgex-chain eval classify --out out --limit 7'
        """
        args = ["bridgex-chain", "eval", *self.tasks, "--out", str(self.out_dir)]
        default = EvalConfig(tasks=[], out_dir=Path())
        options: list[tuple[str, Any, Any]] = [
            ("--model", self.model, None),
            ("--sib200", self.sib200, None),
            ("--flores", self.flores, None),
            ("--muse", self.muse, None),
            ("--belebele", self.belebele, None),
            ("--languages", _joined(self.languages), None),
            ("--pairs", _joined(f"{s}-{t}" for s, t in self.pairs or ()), None),
            ("--bridges", _joined(self.bridges), _joined(default.bridges)),
            ("--conditions", _joined(self.conditions), _joined(default.conditions)),
            ("--renderings", _joined(self.renderings), _joined(default.renderings)),
            ("--limit", self.limit, None),
            ("--seed", self.seed, default.seed),
            ("--demos-per-label", self.demos_per_label, default.demos_per_label),
            ("--shots", self.shots, default.shots),
            ("--batch-size", self.batch_size, default.batch_size),
            ("--threads", self.threads, None),
            ("--resamples", self.resamples, default.resamples),
        ]
        for flag, value, unset in options:
            if value is not None and value != unset and value != "":
                args += [flag, str(value)]
        if not self.plots:
            args.append("--no-plots")
        return shlex.join(args)

    def to_json(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready values."""
        data = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}


def _joined(values: Iterable[str] | None) -> str | None:
    return ",".join(values) if values is not None else None


def _need(path: Path | None, option: str, task: str) -> Path:
    if path is None:
        raise ProbeDataError(f"The {task} task needs its data: pass {option} DIR.")
    return path


def _default_languages(available: frozenset[str], bridges: Sequence[str]) -> list[str]:
    return [c for c in STUDY_LANGUAGES if c in available and c not in bridges]


def _default_pairs(available: frozenset[str]) -> list[tuple[str, str]]:
    return [(s, t) for s, t in PAPER_PAIRS if s in available and t in available]


def build_tasks(config: EvalConfig) -> list[Task]:
    """Open the data of every requested task and return the tasks.

    Raises:
        ProbeDataError: A task's data option is missing or its data cannot be read.
        BridgeXError: An unknown task name.
    """
    bridges = [normalize(b) for b in config.bridges]
    languages = [normalize(c) for c in config.languages] if config.languages else None
    pairs = [(normalize(s), normalize(t)) for s, t in config.pairs] if config.pairs else None
    tasks: list[Task] = []
    for name in config.tasks:
        if name == "classify":
            root = _need(config.sib200, "--sib200", name)
            test, train = load_parallel(root, "test"), load_parallel(root, "train")
            langs = languages or _default_languages(test.languages, bridges)
            tasks.append(
                ClassifyTask(
                    test,
                    train,
                    langs,
                    limit=config.limit,
                    seed=config.seed,
                    demos_per_label=config.demos_per_label,
                    shots=config.shots,
                )
            )
        elif name == "translate":
            flores = config.flores
            root = flores or _need(config.sib200, "--sib200 or --flores", name)
            data = load_parallel(root, "devtest" if flores else "test")
            demo_data = load_parallel(root, "dev" if flores else "train") if config.shots else None
            tasks.append(
                TranslateTask(
                    data,
                    pairs or _default_pairs(data.languages),
                    limit=config.limit,
                    seed=config.seed,
                    demo_data=demo_data,
                    shots=config.shots,
                )
            )
        elif name == "bli":
            root = _need(config.muse, "--muse", name)
            tasks.append(
                BliTask(root, pairs or list(PAPER_PAIRS), limit=config.limit, seed=config.seed)
            )
        elif name == "mrc":
            root = _need(config.belebele, "--belebele", name)
            mrc_pairs = pairs or [(c, c) for c in (languages or [])]
            if not mrc_pairs:
                raise ProbeDataError("The mrc task needs --languages or --pairs.")
            tasks.append(MrcTask(root, mrc_pairs, limit=config.limit, seed=config.seed))
        else:
            raise BridgeXError(f"Unknown eval task {name!r}; choose from {', '.join(TASKS)}.")
    return tasks


def default_lm_factory(
    model: str | None, batch_size: int, threads: int | None = None
) -> Callable[[], EvalLM]:
    """Return a factory loading ``model`` with :func:`bridgex_chain.models.load_causal_lm`."""

    def make() -> EvalLM:
        from bridgex_chain.models import load_causal_lm

        if threads is not None:
            import torch

            torch.set_num_threads(threads)

        loaded = load_causal_lm(model)
        key = f"{loaded.spec.key}@{loaded.revision}"
        return HFEvalLM(loaded.model, loaded.tokenizer, key=key, batch_size=batch_size)

    return make


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run_evaluation(
    config: EvalConfig,
    *,
    table: BridgeLookup | None,
    lm_factory: Callable[[], EvalLM] | None = None,
    tasks: Sequence[Task] | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Run (or resume) an evaluation and write ``results.json`` and ``report.md``.

    Args:
        config: The run's settings.
        table: Where the ``table`` condition and the HSIC scores come from (None: pending).
        lm_factory: Creates the model when something must be computed (default: load
            ``config.model`` with :func:`~bridgex_chain.models.load_causal_lm`).
        tasks: Ready tasks (default: :func:`build_tasks`).
        on_progress: Receives :class:`~bridgex_chain.eval.runner.Progress` reports.

    Returns:
        The results (also written to ``config.out_dir / "results.json"``).
    """
    from bridgex_chain.eval.report import write_report
    from bridgex_chain.models import model_key

    started, cpu_started = time.perf_counter(), time.process_time()
    key = model_key(config.model)
    ready = list(tasks) if tasks is not None else build_tasks(config)
    bridges = [normalize(b) for b in config.bridges]
    plans: list[EntryPlan] = []
    for task in ready:
        for src, trg in task.entries():
            plans.append(
                plan_entry(
                    task,
                    src,
                    trg,
                    bridges=bridges,
                    conditions=config.conditions,
                    renderings=config.renderings,
                    table=table_info(table, key, src, trg),
                    seed=config.seed,
                )
            )
    out_dir = Path(config.out_dir)
    cache = out_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    units = run_arms(
        plans,
        cache_dir=cache,
        model=key,
        lm_factory=lm_factory
        or default_lm_factory(config.model, config.batch_size, config.threads),
        batch_size=config.batch_size,
        on_progress=on_progress,
    )
    entries = []
    by_task: dict[str, list[tuple[EntryPlan, dict[str, UnitFile], dict[str, Any]]]] = {}
    for plan in plans:
        mine = {
            arm.name: units[(plan.task.name, plan.src, plan.trg, arm.name)] for arm in plan.arms
        }
        summary = summarise_entry(
            plan, mine, config.renderings, resamples=config.resamples, seed=config.seed
        )
        entries.append(summary)
        by_task.setdefault(plan.task.name, []).append((plan, mine, summary))
    pooled = [
        summarise_pooled(group, config.renderings, resamples=config.resamples, seed=config.seed)
        for group in by_task.values()
    ]
    results = {
        "format": _FORMAT,
        "model": key,
        "config": config.to_json(),
        "command": config.command(),
        "entries": entries,
        "pooled": pooled,
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
    }
    _write_json(out_dir / "results.json", results)
    write_report(results, out_dir, plots=config.plots)
    return results
