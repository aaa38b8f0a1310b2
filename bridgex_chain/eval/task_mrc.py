"""Belebele reading comprehension: passage in S, question and options in T; accuracy.

The passage is rendered in the bridge language (by the model, or from the bridge language's
Belebele file for the oracle rendering); option letters are scored by log-likelihood with
calibration.

Example:
    >>> MrcTask("belebele", [("sw", "sw")], limit=10, seed=0).entries()
    [('swh_Latn', 'swh_Latn')]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.eval.data import Item, load_belebele, seeded_sample
from bridgex_chain.eval.tasks import CONTENT_FREE, PairTask, completion_request
from bridgex_chain.prompting.templates import PromptPlan, PromptRequest

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
    render_tokens = 400

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

    def request(self, item: Item, src: str, trg: str, bridge: str | None) -> PromptRequest:
        """Return the planner request of one item."""
        fields = {"passage": item.fields["passage"], "options": item.fields["options"]}
        return completion_request("reading", item, src, trg, bridge, fields=fields)

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return the item's text in the bridge language from the data."""
        try:
            found = self._file(bridge).get(item.id)
        except ProbeDataError:  # no Belebele file for the bridge language
            return None
        return None if found is None else str(found.fields["passage"])

    def gold_index(self, item: Item, plan: PromptPlan) -> int:
        """Return the index of the correct option."""
        return int(item.gold)

    def content_free(self, src: str, trg: str) -> Item:
        """Return the content-free item used for calibration."""
        options = [CONTENT_FREE] * 4
        return Item(
            "content-free", CONTENT_FREE, "0", {"passage": CONTENT_FREE, "options": options}
        )
