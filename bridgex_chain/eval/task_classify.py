"""SIB-200 topic classification through the chain: the chain picks a label; accuracy.

Every item is the chain input ``{"query": text, "task": "classify", "labels": labels}``. What
the chain does with it is the product's behaviour: demonstrations chosen by similarity from its
pool (the SIB-200 train split in ``bridgex-chain eval``), in the bridge language when bridged
and in the query's language when direct, the query rendered by the model (or given, for the
oracle), the label chosen by calibrated log-likelihood when the model can score choices and
parsed from generated text otherwise. Items are taken label by label (``--limit``: a
label-balanced subset; default the whole split).

Example:
    >>> from bridgex_chain.prompting.demos import Demo, DemoPool
    >>> data = ParallelData(DemoPool([Demo("1", {"swh_Latn": "Timu ilishinda"}, "sports")]))
    >>> task = ClassifyTask(data, ["sw"], limit=None, seed=0)
    >>> item = task.items("swh_Latn", "swh_Latn")[0]
    >>> task.entries(), task.request(item, "swh_Latn", "swh_Latn")["labels"]
    ([('swh_Latn', 'swh_Latn')], ['sports'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridgex_chain.eval.data import HELDOUT, Item, ParallelData, balanced_sample, heldout_items
from bridgex_chain.eval.tasks import Task
from bridgex_chain.languages import normalize

__all__ = ["ClassifyTask"]


class ClassifyTask(Task):
    """SIB-200 topic classification (see the module docstring).

    Args:
        data: The evaluated split (``test``; for ``split="heldout"`` the train split, whose
            held-out rows are evaluated).
        languages: Languages to evaluate (entries ``(L, L)``).
        limit: Items per language, label-balanced (None: all).
        seed: Seed (kept in the fingerprint; the sample itself is label by label).
    """

    name = "classify"
    metric_name = "accuracy"
    scored = True

    def __init__(
        self,
        data: ParallelData,
        languages: Sequence[str],
        *,
        limit: int | None,
        seed: int,
        split: str = "test",
    ) -> None:
        super().__init__(limit=limit, seed=seed, split=split)
        self.data = data
        self.languages = [normalize(code) for code in languages]
        self._labels: dict[str, list[str]] = {}

    def entries(self) -> list[tuple[str, str]]:
        """Return the evaluated (source, target) entries."""
        return [(code, code) for code in self.languages]

    def items(self, src: str, trg: str) -> list[Item]:
        """Return the sampled items of one entry (``heldout``: of the held-out train rows)."""
        if self.split == HELDOUT:
            return heldout_items(self.data, src, limit=self.limit)
        return balanced_sample(self.data.items(src), self.limit)

    def labels(self, src: str) -> list[str]:
        """Return the sorted label set of the source language's data."""
        if src not in self._labels:
            self._labels[src] = sorted({item.gold for item in self.data.items(src)})
        return self._labels[src]

    def request(self, item: Item, src: str, trg: str) -> dict[str, Any]:
        """Return the chain input of one item."""
        return {"query": item.text, "task": "classify", "labels": self.labels(src)}

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return the item's text in the bridge language from the data."""
        return self.data.text(bridge, item.id)
