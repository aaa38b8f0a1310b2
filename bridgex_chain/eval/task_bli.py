"""Word translation (BLI) over MUSE lexicons in the reference's two-hop form, scored with P@1.

A prediction is the first word of the generated text without quotes (the reference's rule); it
counts when it equals any gold target, case-folded, Hebrew points removed (as the reference).

Example:
    >>> extract_word(' "Wasser", "water"')
    'Wasser'
    >>> bli_hit("Wasser", ["wasser"])
    True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bridgex_chain.eval.data import Item, lexicon_renderings, load_lexicon_items
from bridgex_chain.eval.tasks import PairTask

__all__ = ["BliTask", "bli_hit", "extract_word"]

_HEBREW_POINTS = re.compile("[\u0591-\u05c7]")


def extract_word(text: str) -> str:
    """Return the first word of a generated translation, without quotes (the reference's rule).

    Example:
        >>> extract_word(' 「水」 (water)')
        '水'
    """
    line = text.strip().split("\n", 1)[0].replace(".", "")
    for sep in (",", "(", "?"):
        line = line.split(sep, 1)[0]
    line = line.strip().strip("\"'“”「」«»").strip()
    return line.split(" ", 1)[0].strip("\"'“”「」«»") if line else ""


def _fold(word: str) -> str:
    return _HEBREW_POINTS.sub("", unicodedata.normalize("NFC", word)).strip().casefold()


def bli_hit(prediction: str, targets: Sequence[str]) -> bool:
    """Return True when the prediction equals any gold target (case-folded)."""
    guess = _fold(prediction)
    return bool(guess) and any(guess == _fold(t) for t in targets)


class BliTask(PairTask):
    """Word translation (BLI) over MUSE lexicons, scored with P@1.

    Args:
        root: Directory of MUSE files (``S-T.txt``; ``S-B.txt`` gives oracle renderings).
        pairs: (source, target) pairs.
        limit: Source words per pair (seeded random subset).
        seed: Seed of the subset.
    """

    name = "bli"
    metric_name = "p@1"
    scored = False

    def __init__(
        self, root: str | Path, pairs: Sequence[tuple[str, str]], *, limit: int | None, seed: int
    ) -> None:
        super().__init__(pairs, limit=limit, seed=seed)
        self.root = Path(root)
        self._renderings: dict[tuple[str, str], dict[str, str] | None] = {}

    def items(self, src: str, trg: str) -> list[Item]:
        """Return the sampled items of one entry."""
        return load_lexicon_items(self.root, src, trg, limit=self.limit, seed=self.seed)

    def request(self, item: Item, src: str, trg: str) -> dict[str, Any]:
        """Return the chain input of one item (a word)."""
        return {"query": item.text, "task": "translate", "answer_language": trg, "unit": "word"}

    def oracle(self, item: Item, src: str, trg: str, bridge: str) -> str | None:
        """Return the item's text in the bridge language from the data."""
        key = (src, bridge)
        if key not in self._renderings:
            self._renderings[key] = lexicon_renderings(self.root, src, bridge)
        found = self._renderings[key]
        return None if found is None else found.get(item.text)

    def output_stats(self, output: str, item: Item) -> list[float]:
        """Return the P@1 statistics of one generated output."""
        return self.metric.item_stats(bli_hit(extract_word(output), item.fields["targets"]))
