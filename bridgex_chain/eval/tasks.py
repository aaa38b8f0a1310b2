"""What every evaluation task provides, and the helpers tasks share.

A task (one module each: :mod:`~bridgex_chain.eval.task_classify`,
:mod:`~bridgex_chain.eval.task_translate`, :mod:`~bridgex_chain.eval.task_bli`,
:mod:`~bridgex_chain.eval.task_mrc`) supplies its items, the planner request of an item, the
bridge-language text of an item from parallel data (the *oracle* rendering) and the scoring of a
stored result. Every prompt is built by the chain's own planner
(:func:`bridgex_chain.prompting.tasks.plan_prompts`), so the evaluation measures exactly the
prompts the product sends.

Example:
    >>> lang("sw")
    Lang(code='swh_Latn', name='Swahili')
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, ClassVar

from bridgex_chain.eval.data import Item
from bridgex_chain.eval.stats import Metric
from bridgex_chain.languages import language_name, normalize
from bridgex_chain.models.choices import best_choice
from bridgex_chain.prompting.templates import (
    LETTERS,
    DemoSource,
    Lang,
    PromptPlan,
    PromptRequest,
)

__all__ = ["CONTENT_FREE", "PairTask", "Task", "completion_request", "lang"]

CONTENT_FREE = "N/A"


@cache
def lang(code: str) -> Lang:
    """Return the planner's :class:`Lang` (FLORES code and English name) of ``code``."""
    flores = normalize(code)
    return Lang(flores, language_name(flores))


def completion_request(
    task: str,
    item: Item,
    src: str,
    answer: str,
    bridge: str | None,
    *,
    fields: Mapping[str, Any],
    demos: DemoSource | None = None,
) -> PromptRequest:
    """Return the completion-style planner request of one item (what every task asks).

    Args:
        task: The planner's task kind (``"translate"``, ``"classify"``, ``"reading"``).
        item: The item; its text is the query.
        src: The query's language.
        answer: The answer language.
        bridge: The bridge language, or None for direct prompting.
        fields: The planner's task fields.
        demos: Demonstration source, or None for zero-shot prompts.

    Example:
        >>> completion_request("reading", Item("1", "q", "0"), "sw", "sw", "en", fields={}).bridge
        Lang(code='eng_Latn', name='English')
    """
    return PromptRequest(
        task=task,
        style="completion",
        query=item.text,
        src=lang(src),
        answer=lang(answer),
        bridge=lang(bridge) if bridge else None,
        fields=fields,
        demos=demos,
    )


class Task(ABC):
    """One evaluation task (see the module docstring).

    Attributes:
        name: Task name used on the command line and in results.
        metric: How items are scored.
        scored: True when the answer is chosen among options by log-likelihood.
    """

    name: ClassVar[str]
    metric_name: ClassVar[str]
    scored: ClassVar[bool]
    render_tokens: ClassVar[int] = 160
    """Token budget of a self-rendering (the model translating the query into the bridge)."""
    answer_tokens: ClassVar[int] = 160
    """Token budget of a generated answer (generation tasks)."""

    def __init__(self, *, limit: int | None, seed: int) -> None:
        self.limit = limit
        self.seed = seed
        self.metric = Metric(self.metric_name)

    @abstractmethod
    def entries(self) -> list[tuple[str, str]]:
        """Return the (source, target) language entries evaluated (target = source for one)."""

    @abstractmethod
    def items(self, src: str, trg: str) -> list[Item]:
        """Return the (sampled) items of one entry."""

    @abstractmethod
    def request(self, item: Item, src: str, trg: str, bridge: str | None) -> PromptRequest:
        """Return the planner request of one item (``bridge=None``: direct prompting)."""

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return the item's text in ``bridge`` from parallel data, or None when absent."""
        return None

    def params(self) -> dict[str, Any]:
        """Return the parameters results depend on (part of every unit's fingerprint)."""
        return {"seed": self.seed}

    def content_free(self, src: str, trg: str) -> Item:
        """Return the content-free item used for calibration (scored tasks)."""
        raise NotImplementedError(f"{self.name} is not a scored task")

    @staticmethod
    def continuations(plan: PromptPlan) -> list[str]:
        """Return the strings scored after the prompt (option letters or labels)."""
        if plan.letters:
            return [LETTERS[i] for i in range(len(plan.choices))]
        return list(plan.choices)

    def gold_index(self, item: Item, plan: PromptPlan) -> int:
        """Return the index of the correct choice of a scored item."""
        return plan.choices.index(item.gold)

    def item_stats(
        self,
        record: Mapping[str, Any],
        item: Item,
        meta: Mapping[str, Any],
        *,
        calibrate: bool = True,
    ) -> list[float]:
        """Return the metric statistics of one stored item result (``item`` holds the gold)."""
        if self.scored:
            calibration = meta.get("calibration") if calibrate else None
            chosen = best_choice(record["scores"], calibration)
            return self.metric.item_stats(chosen == record["gold"])
        return self.output_stats(str(record["output"]), item)

    def output_stats(self, output: str, item: Item) -> list[float]:
        """Return the metric statistics of one generated output (generation tasks)."""
        return self.metric.item_stats(output, item.gold)


class PairTask(Task):
    """A task evaluated on given (source, target) language pairs, one entry each.

    Args:
        pairs: (source, target) pairs, any code form :func:`~bridgex_chain.languages.normalize`
            accepts.
        limit: Items per pair.
        seed: Seed of the sample.

    Example:
        >>> from bridgex_chain.eval.task_bli import BliTask
        >>> BliTask("muse", [("sw", "en")], limit=None, seed=0).entries()
        [('swh_Latn', 'eng_Latn')]
    """

    def __init__(self, pairs: Sequence[tuple[str, str]], *, limit: int | None, seed: int) -> None:
        super().__init__(limit=limit, seed=seed)
        self.pairs = [(normalize(s), normalize(t)) for s, t in pairs]

    def entries(self) -> list[tuple[str, str]]:
        """Return the evaluated (source, target) entries: the pairs, normalised."""
        return list(self.pairs)
