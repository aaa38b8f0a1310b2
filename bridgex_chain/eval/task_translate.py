"""Sentence translation S→T over parallel data (SIB-200 or FLORES) through the chain; chrF.

Every item is the chain input ``{"query": text, "task": "translate", "answer_language": T,
"unit": "sentence"}``; the chain's demonstrations come from its pool when it has one.

Example:
    >>> from bridgex_chain.prompting.demos import Demo, DemoPool
    >>> data = ParallelData(DemoPool([Demo("1", {"swh_Latn": "Habari", "eng_Latn": "Hello"})]))
    >>> [i.gold for i in TranslateTask(data, [("sw", "en")], limit=None, seed=0).items(
    ...     "swh_Latn", "eng_Latn")]
    ['Hello']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridgex_chain.eval.data import Item, ParallelData, balanced_sample, seeded_sample
from bridgex_chain.eval.tasks import PairTask

__all__ = ["TranslateTask"]


class TranslateTask(PairTask):
    """Sentence translation S→T over parallel data, scored with chrF.

    Args:
        data: Parallel data of the evaluated split.
        pairs: (source, target) pairs.
        limit: Sentences per pair (label by label when the data is labelled, else seeded).
        seed: Seed of the sample.
    """

    name = "translate"
    metric_name = "chrf"
    scored = False

    def __init__(
        self,
        data: ParallelData,
        pairs: Sequence[tuple[str, str]],
        *,
        limit: int | None,
        seed: int,
    ) -> None:
        super().__init__(pairs, limit=limit, seed=seed)
        self.data = data

    def items(self, src: str, trg: str) -> list[Item]:
        """Return the sampled items of one entry."""
        labelled = self.data.items(src)
        if labelled:
            chosen = balanced_sample(labelled, self.limit)
        else:
            chosen = seeded_sample(self.data.items(src, gold_lang=src), self.limit, self.seed)
        out = []
        for item in chosen:
            ref = self.data.text(trg, item.id)
            if ref is not None:
                out.append(Item(item.id, item.text, ref))
        return out

    def request(self, item: Item, src: str, trg: str) -> dict[str, Any]:
        """Return the chain input of one item."""
        return {"query": item.text, "task": "translate", "answer_language": trg, "unit": "sentence"}

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return the item's text in the bridge language from the data."""
        return self.data.text(bridge, item.id)
