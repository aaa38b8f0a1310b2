"""Belebele reading comprehension: passage in S, question and options in T; accuracy.

Every item is the chain input ``{"query": question, "task": "reading", "passage": ...,
"options": [...]}``: the chain renders the passage in the bridge language (the oracle takes it
from the bridge language's Belebele file) and picks an option.

Example:
    >>> MrcTask("belebele", [("sw", "sw")], limit=10, seed=0).entries()
    [('swh_Latn', 'swh_Latn')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.eval.data import Item, load_belebele, seeded_sample
from bridgex_chain.eval.tasks import PairTask

__all__ = ["MrcTask"]


class MrcTask(PairTask):
    """Belebele reading comprehension: passage in S, question and options in T.

    Args:
        root: Directory of Belebele files ``<lang>.jsonl``.
        pairs: (passage language, question language) pairs.
        limit: Questions per pair (seeded random subset).
        seed: Seed of the subset.
    """

    name = "mrc"
    metric_name = "accuracy"
    scored = True

    def __init__(
        self, root: str | Path, pairs: Sequence[tuple[str, str]], *, limit: int | None, seed: int
    ) -> None:
        super().__init__(pairs, limit=limit, seed=seed)
        self.root = Path(root)
        self._files: dict[str, dict[str, Item]] = {}

    def _file(self, code: str) -> dict[str, Item]:
        if code not in self._files:
            self._files[code] = load_belebele(self.root, code)
        return self._files[code]

    def items(self, src: str, trg: str) -> list[Item]:
        """Return the sampled items of one entry."""
        passages, questions = self._file(src), self._file(trg)
        joined = [
            Item(key, q.text, q.gold, {**q.fields, "passage": passages[key].fields["passage"]})
            for key, q in questions.items()
            if key in passages
        ]
        return seeded_sample(joined, self.limit, self.seed)

    def request(self, item: Item, src: str, trg: str) -> dict[str, Any]:
        """Return the chain input of one item: the question, its passage and options."""
        return {
            "query": item.text,
            "task": "reading",
            "passage": item.fields["passage"],
            "options": list(item.fields["options"]),
            "answer_language": trg,
        }

    def rendered(self, item: Item) -> str:
        """The chain renders the passage into the bridge."""
        return str(item.fields["passage"])

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return the item's text in the bridge language from the data."""
        try:
            found = self._file(bridge).get(item.id)
        except ProbeDataError:  # no Belebele file for the bridge language
            return None
        return None if found is None else str(found.fields["passage"])

    def correct(self, item: Item, meta: Mapping[str, Any]) -> bool:
        """Whether the chain chose the gold option (by index)."""
        index = meta.get("choice_index")
        return index is not None and int(index) == int(item.gold)
