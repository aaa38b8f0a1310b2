"""SIB-200 topic classification: labels scored by log-likelihood with calibration; accuracy.

Demonstrations: ``demos_per_label`` train rows per label, chosen with the seed and the same rows
(by ``index_id``) in every language, so conditions differ only by language. They are in the
bridge language when bridged and in the query language when direct (the planner's rule). The
self-rendering prompt gets the first ``shots`` of those rows as parallel examples (default 0:
zero-shot, the same prompt the translate task renders with, so renderings are shared). Items
are taken label by label (SIB-200 test files are sorted by category).

Example:
    >>> from bridgex_chain.prompting.demos import Demo, DemoPool
    >>> data = ParallelData(DemoPool([Demo("1", {"swh_Latn": "Timu ilishinda"}, "sports")]))
    >>> ClassifyTask(data, data, ["sw"], limit=None, seed=0).entries()
    [('swh_Latn', 'swh_Latn')]
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from bridgex_chain.eval.data import Item, ParallelData, balanced_sample
from bridgex_chain.eval.tasks import CONTENT_FREE, Task, completion_request
from bridgex_chain.languages import normalize
from bridgex_chain.prompting.demos import Demo
from bridgex_chain.prompting.templates import PromptRequest

__all__ = ["ClassifyTask"]


class ClassifyTask(Task):
    """SIB-200 topic classification with fixed demonstrations (see the module docstring).

    Args:
        data: The evaluated split (``test``).
        demo_data: The split demonstrations come from (``train``).
        languages: Languages to evaluate (entries ``(L, L)``).
        limit: Items per language, taken label by label.
        seed: Seed of the demonstration choice.
        demos_per_label: Demonstrations per label.
        shots: Parallel demonstrations in the self-rendering prompt (the first ``shots``
            classification demonstration rows, in the source and bridge languages).
    """

    name = "classify"
    metric_name = "accuracy"
    scored = True

    def __init__(
        self,
        data: ParallelData,
        demo_data: ParallelData,
        languages: Sequence[str],
        *,
        limit: int | None,
        seed: int,
        demos_per_label: int = 1,
        shots: int = 0,
    ) -> None:
        super().__init__(limit=limit, seed=seed)
        self.data = data
        self.demo_data = demo_data
        self.languages = [normalize(code) for code in languages]
        self.demos_per_label = demos_per_label
        self.shots = shots
        self._labels: dict[str, list[str]] = {}
        self._demo_ids: dict[str, list[str]] = {}

    def entries(self) -> list[tuple[str, str]]:
        """Return the evaluated (source, target) entries."""
        return [(code, code) for code in self.languages]

    def items(self, src: str, trg: str) -> list[Item]:
        """Return the sampled items of one entry."""
        return balanced_sample(self.data.items(src), self.limit)

    def labels(self, src: str) -> list[str]:
        """Return the sorted label set of the source language's data."""
        if src not in self._labels:
            self._labels[src] = sorted({item.gold for item in self.data.items(src)})
        return self._labels[src]

    def demo_ids(self, src: str) -> list[str]:
        """Return the demonstration rows: ``demos_per_label`` per label, seeded, shuffled."""
        if src not in self._demo_ids:
            self._demo_ids[src] = self._choose_demos(src)
        return self._demo_ids[src]

    def _choose_demos(self, src: str) -> list[str]:
        rng = random.Random(self.seed)
        by_label: dict[str, list[str]] = {}
        for item in self.demo_data.items(src):
            by_label.setdefault(item.gold, []).append(item.id)
        ids = [
            i
            for label in sorted(by_label)
            for i in rng.sample(by_label[label], min(self.demos_per_label, len(by_label[label])))
        ]
        rng.shuffle(ids)
        return ids

    def params(self) -> dict[str, Any]:
        """Return the parameters results depend on."""
        return {"seed": self.seed, "demos_per_label": self.demos_per_label, "shots": self.shots}

    def request(self, item: Item, src: str, trg: str, bridge: str | None) -> PromptRequest:
        """Return the planner request of one item."""
        ids = self.demo_ids(src)

        def demos(_text: str, langs: Sequence[str], labelled: bool) -> list[Demo]:
            return self.demo_data.demos(ids if labelled else ids[: self.shots], langs)

        return completion_request(
            "classify", item, src, src, bridge, fields={"labels": self.labels(src)}, demos=demos
        )

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return the item's text in the bridge language from the data."""
        return self.data.text(bridge, item.id)

    def content_free(self, src: str, trg: str) -> Item:
        """Return the content-free item used for calibration."""
        return Item("content-free", CONTENT_FREE, self.labels(src)[0])
