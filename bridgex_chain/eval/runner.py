"""The resumable evaluation runner: which bridges each condition needs, and computing them.

For every task entry (source, target) the runner builds *arms*: ``direct`` (no bridge) and
(rendering, bridge) pairs for the bridges the conditions ask for — ``english``, ``table`` (the
bridge table's best), ``random`` (a seeded candidate) and ``all`` (every candidate bridge except
the entry's own languages). Each arm is a unit of work whose per-item results are stored in a
JSONL file (:class:`~bridgex_chain.eval.cache.UnitFile`); generations go to a shared cache. A
re-run computes only what is missing, and loads the model only if anything is.

Example:
    >>> candidates_for(("eng_Latn", "fra_Latn", "deu_Latn"), "fra_Latn", "fra_Latn")
    ['eng_Latn', 'deu_Latn']
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bridgex_chain.errors import BridgeXError, NoBridgeFound
from bridgex_chain.eval.cache import GenerationCache, UnitFile, digest
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.lm import EvalLM
from bridgex_chain.eval.scoring import choice_logprobs
from bridgex_chain.eval.tasks import CONTENT_FREE, Task
from bridgex_chain.languages import DEFAULT_BRIDGES
from bridgex_chain.models.stops import clean_completion
from bridgex_chain.prompting.tasks import plan_prompts
from bridgex_chain.prompting.templates import (
    ModelPrompt,
    PromptPlan,
    TemplateLibrary,
)
from bridgex_chain.store.records import Bridge, RankedBridge, ScoreRow

__all__ = [
    "CONDITIONS",
    "RENDERINGS",
    "Arm",
    "EntryPlan",
    "Progress",
    "TableInfo",
    "candidates_for",
    "plan_entry",
    "run_arms",
]

logger = logging.getLogger(__name__)

CONDITIONS: tuple[str, ...] = ("direct", "english", "table", "random", "all")
RENDERINGS: tuple[str, ...] = ("self", "oracle")
ENGLISH = "eng_Latn"
_FORMAT = 1


class BridgeLookup(Protocol):
    """The part of :class:`~bridgex_chain.store.table.BridgeTable` evaluation reads."""

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge: ...
    def ranking(self, model: str, src: str, trg: str | None = None) -> list[RankedBridge]: ...
    def scores(self, run_id: int) -> list[ScoreRow]: ...


@dataclass(frozen=True)
class Progress:
    """A progress report: ``completed`` of ``total`` item evaluations, and what runs now."""

    description: str
    completed: int
    total: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Arm:
    """One unit of work: a rendering (``"direct"`` when unbridged) and a bridge (or None)."""

    rendering: str
    bridge: str | None

    @property
    def name(self) -> str:
        """File-name friendly id, e.g. ``oracle-fra_Latn`` or ``direct``."""
        return self.rendering if self.bridge is None else f"{self.rendering}-{self.bridge}"


@dataclass
class TableInfo:
    """What the bridge table says about one entry (``pending`` holds why it says nothing)."""

    best: str | None = None
    hsic: dict[str, float] = field(default_factory=dict)
    layers: dict[str, dict[int, float]] = field(default_factory=dict)
    run_id: int | None = None
    pending: str | None = None


@dataclass
class EntryPlan:
    """The arms of one (task, source, target) entry and the bridges each condition uses."""

    task: Task
    src: str
    trg: str
    items: list[Item]
    candidates: list[str]
    table: TableInfo
    condition_bridges: dict[str, str | None]
    unavailable: dict[str, str]
    arms: list[Arm]


def candidates_for(bridges: Sequence[str], src: str, trg: str) -> list[str]:
    """Return the candidate bridges of an entry: every bridge but its own languages."""
    return [b for b in bridges if b not in (src, trg)]


def table_info(table: BridgeLookup | None, model: str, src: str, trg: str) -> TableInfo:
    """Read the best bridge, the HSIC score of every candidate and their per-layer scores."""
    if table is None:
        return TableInfo(pending="no bridge table was given")
    try:
        best = table.best(model, src, trg)
        ranking = table.ranking(model, src, trg)
    except NoBridgeFound as err:
        return TableInfo(pending=str(err))
    layers: dict[str, dict[int, float]] = {}
    for row in table.scores(best.run_id):
        if row.src == src and row.trg == trg and row.layer is not None:
            layers.setdefault(row.bridge, {})[row.layer] = row.score
    hsic = {r.bridge: r.score for r in ranking}
    return TableInfo(best.bridge, hsic, layers, best.run_id)


def plan_entry(
    task: Task,
    src: str,
    trg: str,
    *,
    bridges: Sequence[str] = DEFAULT_BRIDGES,
    conditions: Sequence[str] = CONDITIONS,
    renderings: Sequence[str] = RENDERINGS,
    table: TableInfo,
    seed: int = 0,
) -> EntryPlan:
    """Decide the arms of one entry (see the module docstring)."""
    candidates = candidates_for(bridges, src, trg)
    chosen: dict[str, str | None] = {}
    unavailable: dict[str, str] = {}
    if "english" in conditions:
        if ENGLISH in (src, trg):
            unavailable["english"] = "English is a language of the entry itself"
        else:
            chosen["english"] = ENGLISH
    if "table" in conditions:
        if table.best is None:
            unavailable["table"] = f"pending: {table.pending}"
        else:
            chosen["table"] = table.best
    if "random" in conditions and candidates:
        rng = random.Random(f"{seed}/{task.name}/{src}/{trg}")
        chosen["random"] = rng.choice(candidates)
    wanted = list(candidates) if "all" in conditions else []
    wanted = list(dict.fromkeys([*wanted, *(b for b in chosen.values() if b is not None)]))
    arms = [Arm("direct", None)] if "direct" in conditions else []
    arms += [Arm(r, b) for r in renderings for b in wanted]
    return EntryPlan(
        task, src, trg, task.items(src, trg), candidates, table, chosen, unavailable, arms
    )


# --------------------------------------------------------------------------- execution


def _start(planner: Generator[ModelPrompt, str, PromptPlan]) -> ModelPrompt | PromptPlan:
    try:
        return next(planner)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _finish(planner: Generator[ModelPrompt, str, PromptPlan], rendering: str) -> PromptPlan:
    try:
        planner.send(rendering)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise BridgeXError("the prompt planner asked for a second rendering; eval supports one")


def _planner(
    task: Task, item: Item, src: str, trg: str, bridge: str | None
) -> Generator[ModelPrompt, str, PromptPlan]:
    return plan_prompts(task.request(item, src, trg, bridge), TemplateLibrary.load())


def plan_item(
    task: Task, item: Item, src: str, trg: str, bridge: str | None, rendering: str | None
) -> tuple[ModelPrompt | None, PromptPlan]:
    """Plan one item with a known rendering; return (render prompt, final plan)."""
    planner = _planner(task, item, src, trg, bridge)
    first = _start(planner)
    if isinstance(first, PromptPlan):
        return None, first
    return first, _finish(planner, rendering or "")


def fingerprint(plan: EntryPlan, arm: Arm, model: str) -> dict[str, Any]:
    """What an arm's results depend on: model, task parameters and the prompt wording."""
    task = plan.task
    probe = (
        task.content_free(plan.src, plan.trg)
        if task.scored
        else Item("content-free", CONTENT_FREE, CONTENT_FREE)
    )
    render, final = plan_item(task, probe, plan.src, plan.trg, arm.bridge, CONTENT_FREE)
    prompts = [render.prompt if render else None, final.answer.prompt]
    return {
        "format": _FORMAT,
        "model": model,
        "task": task.name,
        "params": task.params(),
        "entry": [plan.src, plan.trg],
        "arm": arm.name,
        "prompts": digest(prompts),
    }


def unit_path(root: Path, plan: EntryPlan, arm: Arm) -> Path:
    """Where an arm's results live under the cache directory."""
    return root / "units" / plan.task.name / f"{plan.src}-{plan.trg}" / f"{arm.name}.jsonl"


@dataclass
class _Context:
    lm: EvalLM
    generations: GenerationCache
    batch_size: int
    tick: Callable[[int], None]


def _generate(ctx: _Context, prompts: Sequence[ModelPrompt], budget: int) -> list[str]:
    """Greedy generations (through the cache), grouped by stop strings."""
    out: list[str] = [""] * len(prompts)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(tuple(p.stop), []).append(i)
    for stop, idx in groups.items():
        texts = [str(prompts[i].prompt) for i in idx]

        def generate(batch: Sequence[str], stop: tuple[str, ...] = stop) -> list[str]:
            return ctx.lm.generate(batch, max_new_tokens=budget, stop=stop)

        found = ctx.generations.get_or_generate(ctx.lm.key, texts, stop, budget, generate)
        for i, text in zip(idx, found, strict=True):
            out[i] = clean_completion(text, stop)
    return out


def run_arm(ctx: _Context, plan: EntryPlan, arm: Arm, unit: UnitFile) -> None:
    """Compute the missing items of one arm, appending each result to ``unit`` as it comes."""
    task, src, trg = plan.task, plan.src, plan.trg
    if task.scored and "calibration" not in unit.meta:
        _, free = plan_item(task, task.content_free(src, trg), src, trg, arm.bridge, CONTENT_FREE)
        scores = choice_logprobs(ctx.lm, str(free.answer.prompt), task.continuations(free))
        unit.set_meta(calibration=scores, choices=list(free.choices))
    pending = [item for item in plan.items if item.id not in unit.records]
    for start in range(0, len(pending), ctx.batch_size):
        chunk = pending[start : start + ctx.batch_size]
        renderings: list[str | None] = [None] * len(chunk)
        if arm.bridge is not None and arm.rendering == "oracle":
            renderings = [task.oracle(item, src, trg, arm.bridge) for item in chunk]
        elif arm.bridge is not None:
            firsts = [_start(_planner(task, i, src, trg, arm.bridge)) for i in chunk]
            render_prompts = [f for f in firsts if isinstance(f, ModelPrompt)]
            if len(render_prompts) != len(chunk):
                raise BridgeXError("the planner made no rendering call for a bridged request")
            renderings = list(_generate(ctx, render_prompts, task.render_tokens))
        plans: list[PromptPlan | None] = []
        for item, text in zip(chunk, renderings, strict=True):
            missing = arm.bridge is not None and text is None
            plans.append(None if missing else plan_item(task, item, src, trg, arm.bridge, text)[1])
        _answer(ctx, task, arm, chunk, plans, unit)


def _answer(
    ctx: _Context,
    task: Task,
    arm: Arm,
    chunk: Sequence[Item],
    plans: Sequence[PromptPlan | None],
    unit: UnitFile,
) -> None:
    live = [(item, p) for item, p in zip(chunk, plans, strict=True) if p is not None]
    for item, p in zip(chunk, plans, strict=True):
        if p is None:  # no parallel text in the bridge language for this item
            unit.append({"id": item.id, "missing": True})
            ctx.tick(1)
    outputs: list[str] = []
    if not task.scored and live:
        outputs = _generate(ctx, [p.answer for _, p in live], task.answer_tokens)
    for n, (item, p) in enumerate(live):
        # Only what the model produced: no dataset text (gold answers and oracle renderings are
        # re-read from the data), so the cache holds nothing the data's licence restricts.
        rendering = p.rendering if arm.rendering == "self" else None
        record: dict[str, Any] = {"id": item.id, "rendering": rendering, "note": p.note}
        if task.scored:
            record["scores"] = choice_logprobs(ctx.lm, str(p.answer.prompt), task.continuations(p))
            record["gold"] = task.gold_index(item, p)
        else:
            record["output"] = outputs[n]
        unit.append(record)
        ctx.tick(1)


def run_arms(
    plans: Sequence[EntryPlan],
    *,
    cache_dir: Path,
    model: str,
    lm_factory: Callable[[], EvalLM],
    batch_size: int = 8,
    on_progress: ProgressCallback | None = None,
) -> dict[tuple[str, str, str, str], UnitFile]:
    """Compute every arm of every entry (resuming from ``cache_dir``) and return the units.

    The model is created with ``lm_factory`` only when some item is missing. Units are keyed
    by ``(task, src, trg, arm name)``.
    """
    units: dict[tuple[str, str, str, str], UnitFile] = {}
    work: list[tuple[EntryPlan, Arm, UnitFile]] = []
    for plan in plans:
        for arm in plan.arms:
            unit = UnitFile(unit_path(cache_dir, plan, arm), fingerprint(plan, arm, model))
            units[(plan.task.name, plan.src, plan.trg, arm.name)] = unit
            if any(item.id not in unit.records for item in plan.items):
                work.append((plan, arm, unit))
    total = sum(sum(i.id not in u.records for i in p.items) for p, _, u in work)
    done = 0
    report = on_progress or (lambda _p: None)
    description = "evaluating"

    def tick(n: int) -> None:
        nonlocal done
        done += n
        report(Progress(description, done, total))

    report(Progress("nothing to compute" if not work else "loading the model", 0, total))
    if not work:
        return units
    ctx = _Context(lm_factory(), GenerationCache(cache_dir / "generations.jsonl"), batch_size, tick)
    for plan, arm, unit in work:
        description = f"{plan.task.name} {plan.src}→{plan.trg} {arm.name}"
        report(Progress(description, done, total))
        run_arm(ctx, plan, arm, unit)
    logger.info(
        "generation cache: %d hits, %d misses", ctx.generations.hits, ctx.generations.misses
    )
    return units
