"""The resumable evaluation runner: which chains each condition needs, and running them.

For every task entry (source, target) the runner builds *arms*, each one chain users could run:

* ``direct`` — the chain under the no-bridge policy
  (:class:`~bridgex_chain.chain.policies.NoBridge`);
* ``table`` — the chain under the bridge table (the ``table`` route policy: the HSIC best, with
  the chain's fallbacks); ``detected`` — the same chain without ``lang``, so its detector decides;
* ``evidence`` — the chain under the ``evidence`` route policy (the chain's default:
  :class:`~bridgex_chain.chain.evidence.EvidencePolicy`, bridging only where the table's
  competence and render checks say it helps);
* ``self-<bridge>`` — the chain fixed on one bridge
  (:class:`~bridgex_chain.chain.policies.FixedBridge`), the model rendering the text; the
  ``english`` and ``random`` conditions and ``all`` (every candidate bridge except the entry's
  own languages) are such arms;
* ``oracle-<bridge>`` — the same, but the rendering is the gold parallel text (the chain's
  ``renderings``): a diagnostic of what a perfect rendering would give.

Every item of an arm goes through ``chain.batch`` (the chain batches the model calls) and its
record (:meth:`~bridgex_chain.eval.tasks.Task.record`) is appended to the arm's JSONL file
(:class:`~bridgex_chain.eval.cache.UnitFile`) as soon as its chunk is done, so a re-run
computes only what is missing, and builds the chains (loads the model) only if anything is.

Example:
    >>> candidates_for(("eng_Latn", "fra_Latn", "deu_Latn"), "fra_Latn", "fra_Latn")
    ['eng_Latn', 'deu_Latn']
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bridgex_chain.errors import NoBridgeFound
from bridgex_chain.eval.cache import UnitFile
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.tasks import Task
from bridgex_chain.languages import DEFAULT_BRIDGES
from bridgex_chain.store.records import Bridge, RankedBridge, ScoreRow

__all__ = [
    "CONDITIONS",
    "RENDERINGS",
    "Arm",
    "ChainMaker",
    "EntryPlan",
    "Progress",
    "TableInfo",
    "candidates_for",
    "plan_entry",
    "run_arms",
]

logger = logging.getLogger(__name__)

CONDITIONS: tuple[str, ...] = (
    "direct",
    "english",
    "table",
    "detected",
    "evidence",
    "random",
    "all",
)
POLICY_ARMS: tuple[str, ...] = ("table", "detected", "evidence")
"""Arms whose chain runs a route policy over the table (the bridge may differ per item)."""
RENDERINGS: tuple[str, ...] = ("self", "oracle")
ENGLISH = "eng_Latn"
_FORMAT = 2


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
    """One chain: a kind (``direct``, ``table``, ``detected``, ``self``, ``oracle``) and a bridge.

    ``bridge`` is set for ``self`` and ``oracle`` (a fixed bridge) and None otherwise.
    """

    rendering: str
    bridge: str | None = None

    @property
    def name(self) -> str:
        """File-name friendly id, e.g. ``oracle-fra_Latn`` or ``direct``."""
        return self.rendering if self.bridge is None else f"{self.rendering}-{self.bridge}"

    @property
    def detects(self) -> bool:
        """True when the chain's detector, not the given ``lang``, decides the language."""
        return self.rendering == "detected"


class ChainMaker(Protocol):
    """Builds the chain of an arm (all chains share one model and one rendering cache).

    ``renderings`` are the oracle arm's gold renderings, ``(text, bridge) -> text``.
    """

    def __call__(self, arm: Arm, renderings: Mapping[tuple[str, str], str] | None) -> Any:
        """Return the chain (a Runnable with ``batch``) of ``arm``."""


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
    has_table: bool = True,
) -> EntryPlan:
    """Decide the arms of one entry (see the module docstring).

    Args:
        task: The task.
        src: Source language.
        trg: Target language.
        bridges: Candidate bridges.
        conditions: Conditions asked for.
        renderings: ``self`` and/or ``oracle``.
        table: What the table says about the entry.
        seed: Seed of the ``random`` condition's bridge.
        has_table: Whether a table policy exists (False: no ``table``/``detected`` arms).
    """
    candidates = candidates_for(bridges, src, trg)
    chosen: dict[str, str | None] = {}
    unavailable: dict[str, str] = {}
    if "english" in conditions:
        if ENGLISH in (src, trg):
            unavailable["english"] = "English is a language of the entry itself"
        else:
            chosen["english"] = ENGLISH
    if "table" in conditions and table.best is None:
        unavailable["table"] = f"no table entry ({table.pending}): the chain goes direct"
    if "table" in conditions or "detected" in conditions or "evidence" in conditions:
        chosen["table"] = table.best
    if "random" in conditions and candidates:
        rng = random.Random(f"{seed}/{task.name}/{src}/{trg}")
        chosen["random"] = rng.choice(candidates)
    arms = [Arm("direct")] if "direct" in conditions else []
    if has_table and "self" in renderings:  # the table policy renders itself
        arms += [Arm(kind) for kind in POLICY_ARMS if kind in conditions]
    for rendering in renderings:
        # the table's bridge as a fixed bridge is the table condition only with gold renderings
        used = [n for n in chosen if n != "table" or (rendering == "oracle" and n in conditions)]
        wanted = list(candidates) if "all" in conditions else []
        wanted += [b for n in used if (b := chosen[n]) is not None]
        arms += [Arm(rendering, b) for b in dict.fromkeys(wanted)]
    return EntryPlan(
        task, src, trg, task.items(src, trg), candidates, table, chosen, unavailable, arms
    )


def fingerprint(
    plan: EntryPlan,
    arm: Arm,
    model: str,
    chain: Mapping[str, Any],
    evidence: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What an arm's results depend on: model, task, entry, arm and the chain's settings.

    ``evidence`` (the evidence policy's thresholds) is part of the ``evidence`` arm's only, so
    other thresholds recompute that arm alone.
    """
    found = {
        "format": _FORMAT,
        "model": model,
        "task": plan.task.name,
        "params": plan.task.params(),
        "entry": [plan.src, plan.trg],
        "arm": arm.name,
        "chain": dict(chain),
        "table_run": plan.table.run_id if arm.rendering in POLICY_ARMS else None,
    }
    if arm.rendering == "evidence":
        found["evidence"] = dict(evidence or {})
    return found


def unit_path(root: Path, plan: EntryPlan, arm: Arm) -> Path:
    """Where an arm's results live under the cache directory."""
    return root / "units" / plan.task.name / f"{plan.src}-{plan.trg}" / f"{arm.name}.jsonl"


@dataclass
class _Context:
    make_chain: ChainMaker
    chunk: int
    batch_size: int
    tick: Callable[[int], None]


def _oracle_renderings(
    plan: EntryPlan, arm: Arm, items: Sequence[Item]
) -> dict[tuple[str, str], str]:
    assert arm.bridge is not None
    found: dict[tuple[str, str], str] = {}
    for item in items:
        gold = plan.task.oracle(item, plan.src, plan.trg, arm.bridge)
        if gold is not None:
            found[(plan.task.rendered(item), arm.bridge)] = gold
    return found


def run_arm(ctx: _Context, plan: EntryPlan, arm: Arm, unit: UnitFile) -> None:
    """Compute the missing items of one arm, appending each record to ``unit`` as it comes."""
    task = plan.task
    pending = [item for item in plan.items if item.id not in unit.records]
    renderings = None
    if arm.rendering == "oracle":
        renderings = _oracle_renderings(plan, arm, pending)
        for item in pending:
            if (task.rendered(item), arm.bridge) not in renderings:
                unit.append({"id": item.id, "missing": True})  # no parallel text in the bridge
                ctx.tick(1)
        pending = [i for i in pending if (task.rendered(i), arm.bridge) in renderings]
    if not pending:
        return
    chain = ctx.make_chain(arm, renderings)
    config = {"max_concurrency": ctx.batch_size}
    for start in range(0, len(pending), ctx.chunk):
        chunk = pending[start : start + ctx.chunk]
        inputs = [task.request(item, plan.src, plan.trg) for item in chunk]
        if not arm.detects:
            inputs = [{**request, "lang": plan.src} for request in inputs]
        started = time.perf_counter()
        replies = chain.batch(inputs, config, return_exceptions=True)
        for item, reply in zip(chunk, replies, strict=True):
            if isinstance(reply, Exception):
                logger.warning("eval: %s %s failed: %s", arm.name, item.id, reply)
                unit.append({"id": item.id, "error": f"{type(reply).__name__}: {reply}"})
            else:
                unit.append(task.record(item, reply))
        spent = unit.meta.get("seconds", 0.0) + time.perf_counter() - started
        unit.set_meta(seconds=round(spent, 2))  # the arm's compute time over every invocation
        ctx.tick(len(chunk))


def run_arms(
    plans: Sequence[EntryPlan],
    *,
    cache_dir: Path,
    model: str,
    make_chain: Callable[[], ChainMaker],
    chain_settings: Mapping[str, Any] | None = None,
    evidence: Mapping[str, Any] | None = None,
    batch_size: int = 16,
    chunk: int | None = None,
    on_progress: ProgressCallback | None = None,
    compute: bool = True,
) -> dict[tuple[str, str, str, str], UnitFile]:
    """Compute every arm of every entry (resuming from ``cache_dir``) and return the units.

    Args:
        plans: The entries' plans.
        cache_dir: Where the units live.
        model: The model key (part of every fingerprint).
        make_chain: Returns the chain maker; called only when some item is missing (it loads
            the model).
        chain_settings: The chain settings results depend on (part of every fingerprint).
        evidence: The evidence policy's thresholds (part of the ``evidence`` arms' fingerprint).
        batch_size: The model batch (``max_concurrency`` of ``chain.batch``).
        chunk: Items per ``chain.batch`` call, written when it returns (default 4 batches).
        on_progress: Receives :class:`Progress` reports.
        compute: False: only read what is stored (a report on a run in progress).

    Returns:
        The units keyed by ``(task, src, trg, arm name)``.
    """
    settings = dict(chain_settings or {})
    units: dict[tuple[str, str, str, str], UnitFile] = {}
    work: list[tuple[EntryPlan, Arm, UnitFile]] = []
    for plan in plans:
        for arm in plan.arms:
            unit = UnitFile(
                unit_path(cache_dir, plan, arm), fingerprint(plan, arm, model, settings, evidence)
            )
            units[(plan.task.name, plan.src, plan.trg, arm.name)] = unit
            if compute and any(item.id not in unit.records for item in plan.items):
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
    ctx = _Context(make_chain(), chunk or 4 * batch_size, batch_size, tick)
    for plan, arm, unit in _cheap_first(work):
        description = f"{plan.task.name} {plan.src}→{plan.trg} {arm.name}"
        report(Progress(description, done, total))
        run_arm(ctx, plan, arm, unit)
    return units


def _cheap_first(
    work: Sequence[tuple[EntryPlan, Arm, UnitFile]],
) -> list[tuple[EntryPlan, Arm, UnitFile]]:
    """Order the work so that a partial run already decides the main question, cheaply.

    Task by task, in three tiers: ``direct`` for every entry; then per entry ``table``,
    ``detected`` and English; then per entry the other candidates, each bridge's ``self`` arm
    followed by its ``oracle`` arm. Stopped after a tier, the run has the same conditions for
    every entry; and arms that build the same answer prompts (the same demonstrations: the
    table's bridge and ``detected``; ``self-B`` and ``oracle-B``) run back to back, so the
    shared rendering cache and the model's memo of choice scores
    (:meth:`~bridgex_chain.models.hf.HFCore.choice_scores`) serve the second.
    """

    def key(arm: Arm) -> tuple[int, int, str]:
        if arm.rendering == "direct":
            return (0, 0, "")
        if arm.rendering in POLICY_ARMS:
            return (1, POLICY_ARMS.index(arm.rendering), "")
        if arm.bridge == ENGLISH and arm.rendering == "self":
            return (1, len(POLICY_ARMS), "")
        return (2, 0 if arm.rendering == "self" else 1, arm.bridge or "")

    tasks: dict[str, int] = {}
    entries: dict[int, int] = {}
    for plan, _, _ in work:
        tasks.setdefault(plan.task.name, len(tasks))
        entries.setdefault(id(plan), len(entries))

    def order(w: tuple[EntryPlan, Arm, UnitFile]) -> tuple[Any, ...]:
        tier, within, bridge = key(w[1])
        return (tasks[w[0].task.name], tier, entries[id(w[0])], bridge, within)

    return sorted(work, key=order)
