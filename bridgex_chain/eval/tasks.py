"""What every evaluation task provides, and the helpers tasks share.

A task (one module each: :mod:`~bridgex_chain.eval.task_classify`,
:mod:`~bridgex_chain.eval.task_translate`, :mod:`~bridgex_chain.eval.task_bli`,
:mod:`~bridgex_chain.eval.task_mrc`) supplies its items, the **chain input** of an item (the dict
``chain.batch`` takes: query, task, labels or target language …), the text the chain renders
into the bridge and its gold parallel version (the *oracle* rendering), and how to score what
the chain returned. Eval builds no prompt: the chain users run does (detection, route policy,
demonstrations, templates, calibrated choice scoring).

A stored record holds only what the chain produced (its choice or generated text, the route it
took), never dataset text: gold answers and oracle renderings are re-read from the data.

Example:
    >>> from bridgex_chain.eval.task_bli import BliTask
    >>> BliTask("muse", [("sw", "en")], limit=None, seed=0).entries()
    [('swh_Latn', 'eng_Latn')]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from bridgex_chain.chain.output import message_text
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.stats import Metric
from bridgex_chain.languages import normalize

__all__ = ["PairTask", "Task", "reply_record"]


def reply_record(item: Item, reply: Any) -> dict[str, Any]:
    """The route part of an item's record: what the chain did with it.

    The model's rendering is kept; a rendering the chain was given (the oracle's gold parallel
    text) is dataset text and only counted (``given``).

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> meta = {"bridgex": {"lang": "swh_Latn", "bridge": None, "fallback": "no_bridge"}}
        >>> reply_record(Item("7", "x", "y"), AIMessage("", response_metadata=meta))["fallback"]
        'no_bridge'
    """
    meta = reply.response_metadata.get("bridgex", {})
    record: dict[str, Any] = {
        "id": item.id,
        "lang": meta.get("lang"),
        "bridge": meta.get("bridge"),
        "fallback": meta.get("fallback"),
    }
    evidence = meta.get("evidence")
    if isinstance(evidence, Mapping) and evidence.get("rule"):
        record["evidence_rule"] = evidence["rule"]  # the evidence policy's rule that fired
    if meta.get("renders_given"):
        record["given"] = meta["renders_given"]  # the rendering is dataset text: not stored
    elif meta.get("rendering") is not None:
        record["rendering"] = meta["rendering"]
    return record


class Task(ABC):
    """One evaluation task (see the module docstring).

    Attributes:
        name: Task name used on the command line and in results.
        metric_name: How items are scored (``accuracy``, ``chrf``, ``p@1``).
        scored: True when the chain picks the answer among choices (classify, reading).
    """

    name: ClassVar[str]
    metric_name: ClassVar[str]
    scored: ClassVar[bool]

    def __init__(self, *, limit: int | None, seed: int, split: str = "test") -> None:
        self.limit = limit
        self.seed = seed
        self.split = split
        self.metric = Metric(self.metric_name)

    @abstractmethod
    def entries(self) -> list[tuple[str, str]]:
        """Return the (source, target) language entries evaluated (target = source for one)."""

    @abstractmethod
    def items(self, src: str, trg: str) -> list[Item]:
        """Return the (sampled) items of one entry."""

    @abstractmethod
    def request(self, item: Item, src: str, trg: str) -> dict[str, Any]:
        """Return the chain input of one item, without ``lang`` (the runner adds it or not)."""

    def rendered(self, item: Item) -> str:
        """Return the text the chain renders into the bridge (the query, or a passage)."""
        return item.text

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return :meth:`rendered`'s text in ``bridge`` from parallel data, or None when absent."""
        return None

    def params(self) -> dict[str, Any]:
        """Return the parameters results depend on (part of every unit's fingerprint).

        Not ``limit``: records are per item, so a larger limit only adds items. The split only
        when it is not ``test`` (so the test run's stored results keep their fingerprint).
        """
        return (
            {"seed": self.seed}
            if self.split == "test"
            else {"seed": self.seed, "split": self.split}
        )

    def record(self, item: Item, reply: Any) -> dict[str, Any]:
        """Return the stored record of the chain's reply to one item."""
        record = reply_record(item, reply)
        meta = reply.response_metadata.get("bridgex", {})
        if self.scored:
            record["choice"] = meta.get("choice_index")
            record["correct"] = self.correct(item, meta)
        else:
            record["output"] = message_text(reply)
        return record

    def correct(self, item: Item, meta: Mapping[str, Any]) -> bool:
        """Whether the chain's choice (its ``bridgex`` metadata) is the gold one (scored tasks)."""
        return meta.get("choice") is not None and meta.get("choice") == item.gold

    def item_stats(self, record: Mapping[str, Any], item: Item) -> list[float]:
        """Return the metric statistics of one stored record (``item`` holds the gold)."""
        if self.scored:
            return self.metric.item_stats(bool(record.get("correct")))
        return self.output_stats(str(record.get("output", "")), item)

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
    """

    def __init__(self, pairs: Sequence[tuple[str, str]], *, limit: int | None, seed: int) -> None:
        super().__init__(limit=limit, seed=seed)
        self.pairs = [(normalize(s), normalize(t)) for s, t in pairs]

    def entries(self) -> list[tuple[str, str]]:
        """Return the evaluated (source, target) entries: the pairs, normalised."""
        return list(self.pairs)
