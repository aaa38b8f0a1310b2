"""Sentence translation S→T over parallel data (SIB-200 or FLORES), scored with chrF.

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

from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.data import Item, ParallelData, balanced_sample, seeded_sample
from bridgex_chain.eval.tasks import PairTask, completion_request
from bridgex_chain.prompting.demos import Demo
from bridgex_chain.prompting.templates import PromptRequest

__all__ = ["TranslateTask"]


class TranslateTask(PairTask):
    """Sentence translation S→T over parallel data, scored with chrF.

    Args:
        data: Parallel data of the evaluated split.
        pairs: (source, target) pairs.
        limit: Sentences per pair (label by label when the data is labelled, else seeded).
        seed: Seed of the sample and of the demonstration choice.
        demo_data: Parallel data demonstrations come from (needed when ``shots > 0``).
        shots: Demonstrations per prompt (the same rows for every item).
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
        demo_data: ParallelData | None = None,
        shots: int = 0,
    ) -> None:
        if shots and demo_data is None:
            raise InvalidOption(
                f"shots={shots} translate demonstrations need demo_data (the parallel data the "
                "demonstrations come from): pass demo_data, or shots=0 for zero-shot prompts."
            )
        super().__init__(pairs, limit=limit, seed=seed)
        self.data = data
        self.demo_data = demo_data
        self.shots = shots

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

    def params(self) -> dict[str, Any]:
        """Return the parameters results depend on."""
        return {"seed": self.seed, "shots": self.shots}

    def request(self, item: Item, src: str, trg: str, bridge: str | None) -> PromptRequest:
        """Return the planner request of one item."""
        demo_source = None
        if self.shots and self.demo_data is not None:
            pool = self.demo_data
            ids = [
                i.id for i in seeded_sample(pool.items(src, gold_lang=trg), self.shots, self.seed)
            ]

            def demo_source(_text: str, langs: Sequence[str], _labelled: bool) -> list[Demo]:
                return pool.demos(ids, langs)

        return completion_request(
            "translate", item, src, trg, bridge, fields={"unit": "sentence"}, demos=demo_source
        )

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return the item's text in the bridge language from the data."""
        return self.data.text(bridge, item.id)
