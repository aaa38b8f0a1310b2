"""``run_evaluation``: build the tasks, plan every entry, run the chains, summarise, write reports.

The system under test is :class:`~bridgex_chain.chain.BridgeXChain`: every arm is one chain
(:mod:`~bridgex_chain.eval.runner`), all sharing one model, one demonstration pool (the SIB-200
train split when ``sib200`` is given) and one rendering cache, so a rendering made for one arm
serves every other arm and task that asks for it. The model is a local Hugging Face one, or an
OpenAI-compatible server (``server_url``: vLLM, llama.cpp) through its LangChain client.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridgex_chain.errors import BridgeXError, ProbeDataError
from bridgex_chain.eval.cache import UnitFile
from bridgex_chain.eval.data import HELDOUT, load_parallel
from bridgex_chain.eval.runner import (
    CONDITIONS,
    RENDERINGS,
    Arm,
    BridgeLookup,
    ChainMaker,
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
from bridgex_chain.languages import DEFAULT_BRIDGES, normalize
from bridgex_chain.probing.parallel_probes import row_part

if TYPE_CHECKING:
    from bridgex_chain.chain.evidence import EvidenceThresholds
    from bridgex_chain.chain.policies import RoutePolicy

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

_FORMAT = 2
RENDER_CACHE_SIZE = 1 << 14
"""Renderings the shared cache keeps (an entry's candidates × items, with room to spare)."""


@dataclass
class EvalConfig:
    """Everything one evaluation run depends on.

    Attributes:
        tasks: Task names (see :data:`TASKS`).
        out_dir: Results, report, plots and the resumable cache (``out_dir/cache``).
        cache_dir: The resumable cache, if not ``out_dir/cache`` (runs over disjoint languages
            can share one, as ``tools/run_eval.sh`` does with its parallel jobs).
        model: Model alias, Hub id or path (None: the embedded Gemma-3-270m).
        sib200: SIB-200 root (classify; translate unless ``flores``; oracle renderings).
        flores: FLORES root for translate (``devtest`` split, ``dev`` for demonstrations).
        muse: Directory of MUSE lexicons (bli).
        belebele: Directory of Belebele JSONL files (mrc).
        languages: Languages of the single-language tasks (classify, mrc); default: every
            language of the data's test split that is not a candidate bridge.
        pairs: (source, target) pairs of translate/bli (default: :data:`PAPER_PAIRS` present
            in the data) and mrc (default: ``(L, L)`` for ``languages``).
        bridges: Candidate bridges.
        conditions: Subset of :data:`~bridgex_chain.eval.runner.CONDITIONS`.
        renderings: Subset of :data:`~bridgex_chain.eval.runner.RENDERINGS`.
        limit: Items per entry (None: the whole split; classify takes a label-balanced subset).
        seed: Seed of samples, the random bridge and the bootstrap.
        num_demos: The chain's demonstrations per prompt (chosen by similarity from the pool).
        max_new_tokens: The chain's generation budget (renderings, generated answers).
        batch_size: The model batch (``max_concurrency`` of ``chain.batch``).
        server_url: An OpenAI-compatible server's base URL (``http://127.0.0.1:8080/v1``) to
            generate with instead of a local model; ``model`` then names the table's model.
        server_model: The model name the server expects (default: ``model``).
        server_chat: Use the server's chat endpoint instead of completions.
        threads: torch CPU threads (None: torch's default). On a machine shared with other
            busy processes one thread is often faster than two.
        resamples: Bootstrap resamples.
        plots: Draw PNG plots for the report.
        split: The SIB-200 split classify evaluates: ``test``, ``dev`` to choose thresholds
            on (never choose them on test), or ``heldout``: the train rows of the held-out
            part (:func:`~bridgex_chain.eval.data.heldout_items`) for languages without dev or
            test, the demonstrations then drawn from the other train rows only.
        evidence_thresholds: The ``evidence`` condition's thresholds (None: the chain's
            defaults, :data:`~bridgex_chain.chain.evidence.DEFAULT_THRESHOLDS`).
    """

    tasks: Sequence[str]
    out_dir: Path
    cache_dir: Path | None = None
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
    num_demos: int = 3
    max_new_tokens: int = 128
    batch_size: int = 16
    server_url: str | None = None
    server_model: str | None = None
    server_chat: bool = False
    threads: int | None = None
    resamples: int = 1000
    plots: bool = True
    split: str = "test"
    evidence_thresholds: EvidenceThresholds | None = None

    def command(self) -> str:
        """Return the ``bridgex-chain eval`` command line that reproduces this run.

        Example:
            >>> EvalConfig(tasks=["classify"], out_dir=Path("out"), limit=7).command()
            'bridgex-chain eval classify --out out --limit 7'
        """
        args = ["bridgex-chain", "eval", *self.tasks, "--out", str(self.out_dir)]
        default = EvalConfig(tasks=[], out_dir=Path())
        options: list[tuple[str, Any, Any]] = [
            ("--cache", self.cache_dir, None),
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
            ("--num-demos", self.num_demos, default.num_demos),
            ("--max-new-tokens", self.max_new_tokens, default.max_new_tokens),
            ("--batch-size", self.batch_size, default.batch_size),
            ("--server-url", self.server_url, None),
            ("--server-model", self.server_model, None),
            ("--threads", self.threads, None),
            ("--resamples", self.resamples, default.resamples),
            ("--split", self.split, default.split),
        ]
        for flag, value, unset in options:
            if value is not None and value != unset and value != "":
                args += [flag, str(value)]
        if self.server_chat:
            args.append("--server-chat")
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


def _demo_rows(split: str) -> Callable[[str], bool] | None:
    """Which train rows may be demonstrations: all, or all but the held-out part."""
    if split != HELDOUT:
        return None
    return lambda row_id: row_part(row_id) != "heldout"


def _default_languages(available: frozenset[str], bridges: Sequence[str]) -> list[str]:
    return sorted(c for c in available if c not in bridges)


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
            data = load_parallel(root, "train" if config.split == HELDOUT else config.split)
            langs = languages or _default_languages(data.languages, bridges)
            tasks.append(
                ClassifyTask(data, langs, limit=config.limit, seed=config.seed, split=config.split)
            )
        elif name == "translate":
            flores = config.flores
            root = flores or _need(config.sib200, "--sib200 or --flores", name)
            data = load_parallel(root, "devtest" if flores else "test")
            tasks.append(
                TranslateTask(
                    data,
                    pairs or _default_pairs(data.languages),
                    limit=config.limit,
                    seed=config.seed,
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


def chain_settings(config: EvalConfig) -> dict[str, Any]:
    """The chain settings results depend on (every unit's fingerprint holds them)."""
    from bridgex_chain.prompting.templates import TemplateLibrary

    settings: dict[str, Any] = {
        "num_demos": config.num_demos,
        "max_new_tokens": config.max_new_tokens,
        "demos": str(config.sib200) if config.sib200 else None,
        "templates": TemplateLibrary.load().digest(),
        "server": config.server_url,
    }
    if config.server_url:  # the server's model and endpoint (chat prompts or completions)
        settings["server_model"] = config.server_model or config.model
        settings["server_chat"] = config.server_chat
    return settings


def evidence_settings(config: EvalConfig) -> dict[str, Any]:
    """The evidence condition's thresholds (part of its units' fingerprint)."""
    from bridgex_chain.chain.evidence import DEFAULT_THRESHOLDS

    return asdict(config.evidence_thresholds or DEFAULT_THRESHOLDS)


def _llm(config: EvalConfig, key: str) -> Any:
    if config.server_url:
        from bridgex_chain.models.openai_server import openai_compatible

        return openai_compatible(
            config.server_url,
            config.server_model or config.model or key,
            chat=config.server_chat,
            max_tokens=config.max_new_tokens,
        )
    from bridgex_chain.models.langchain import local_model

    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    return local_model(config.model, max_new_tokens=config.max_new_tokens)


def default_chain_maker(
    config: EvalConfig, table: BridgeLookup | None, key: str
) -> Callable[[], ChainMaker]:
    """Return what builds the chains of every arm (called once, when something must run).

    The chains share the model (loaded here), the demonstration pool and one rendering cache;
    an arm's policy is :class:`~bridgex_chain.chain.policies.NoBridge` (``direct``), the table
    (``table``, ``detected``), the evidence policy over it (``evidence``) or
    :class:`~bridgex_chain.chain.policies.FixedBridge`.
    """

    def make() -> ChainMaker:
        from bridgex_chain.chain import BridgeXChain
        from bridgex_chain.chain.policies import FixedBridge, NoBridge
        from bridgex_chain.chain.render_cache import RenderCache
        from bridgex_chain.prompting.demos import DemoPool

        llm = _llm(config, key)
        pool = (
            DemoPool.from_dir(config.sib200, split="train", keep=_demo_rows(config.split))
            if config.sib200
            else None
        )
        cache = RenderCache(RENDER_CACHE_SIZE)

        def chain_for(arm: Arm, renderings: Mapping[tuple[str, str], str] | None) -> Any:
            route: RoutePolicy = "table"  # the arm's lookup is its policy
            if arm.rendering == "direct":
                policy: Any = NoBridge()
            elif arm.rendering in ("table", "detected"):
                policy = table
            elif arm.rendering == "evidence":
                policy, route = table, "evidence"
            else:
                assert arm.bridge is not None
                policy = FixedBridge(arm.bridge, table=table)
            return BridgeXChain(
                llm=llm,
                table=policy,
                route_policy=route,
                evidence_thresholds=config.evidence_thresholds,
                model=key,
                demos=pool,
                num_demos=config.num_demos,
                max_new_tokens=config.max_new_tokens,
                render_cache=cache,
                renderings=renderings,
            )

        return chain_for

    return make


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run_evaluation(
    config: EvalConfig,
    *,
    table: BridgeLookup | None,
    make_chain: Callable[[], ChainMaker] | None = None,
    tasks: Sequence[Task] | None = None,
    on_progress: ProgressCallback | None = None,
    compute: bool = True,
) -> dict[str, Any]:
    """Run (or resume) an evaluation and write ``results.json`` and ``report.md``.

    Args:
        config: The run's settings.
        table: Where the ``table`` condition and the HSIC scores come from (None: pending).
        make_chain: Returns the arms' chain maker, called only when something must be computed
            (default: :func:`default_chain_maker`, which loads the model).
        tasks: Ready tasks (default: :func:`build_tasks`).
        on_progress: Receives :class:`~bridgex_chain.eval.runner.Progress` reports.
        compute: False: compute nothing, summarise what the cache holds (a run in progress);
            ``results["complete"]`` says whether every item of every arm is there.

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
                    has_table=table is not None,
                )
            )
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = Path(config.cache_dir) if config.cache_dir is not None else out_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    units = run_arms(
        plans,
        cache_dir=cache,
        model=key,
        make_chain=make_chain or default_chain_maker(config, table, key),
        chain_settings=chain_settings(config),
        evidence=evidence_settings(config),
        batch_size=config.batch_size,
        on_progress=on_progress,
        compute=compute,
    )
    complete = all(
        item.id in units[(plan.task.name, plan.src, plan.trg, arm.name)].records
        for plan in plans
        for arm in plan.arms
        for item in plan.items
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
        "complete": complete,
        "compute_seconds": round(sum(float(u.meta.get("seconds", 0.0)) for u in units.values())),
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
    }
    _write_json(out_dir / "results.json", results)
    write_report(results, out_dir, plots=config.plots)
    return results
