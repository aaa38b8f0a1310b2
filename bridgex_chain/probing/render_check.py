r"""Can this model carry a sentence from language L into bridge B? And how well does it read L?

HSIC says which bridge the model treats as close to L. It does not say whether the model can
*render* L text in that bridge, and the chain's bridged route depends on that rendering. The two
measures here each take one forward pass per sentence
(:meth:`~bridgex_chain.models.hf.HFCore.logprobs`). They read parallel sentences from a corpus
the user gives (FLORES / SIB-200 rows; build from train rows, never from the test split you
evaluate on). A build measures them on the ``"check"`` part of the rows only
(:func:`~bridgex_chain.probing.parallel_probes.row_part`), so they never share a row with
parallel probes (``"probe"`` rows) or an evaluation on held-out train rows (``"heldout"``):

* :func:`render_check` — the **render gain** of (L, B): per pair of parallel sentences (s in L,
  b in B), the teacher-forced log-likelihood of the gold bridge sentence given the source,
  minus its likelihood without the source, per token of b::

      gain = [log P(" " + b | "<L name>: s\n<B name>:") - log P(" " + b | "<B name>:")] / |b|

  The second term removes how likely b is anyway (a common bridge such as English is likely
  whatever the source), so the gain is what the source *tells* the model about b. It is near 0
  when the model cannot read s, and larger the better s carries into B. The mean over the
  pairs comes with a 95 % t-interval (scipy).
* :func:`competence` — the model's own **competence** in L: the mean per-token log-likelihood
  of L sentences, ``log P(" " + s | "<L name>:") / |s|``. A language the model reads well
  (high competence) has less to gain from a bridge. Whether to bridge depends on that, not only
  on which bridge is closest.

Example:
    >>> class Flat:  # a model that gives every token log-probability -1 after any prompt
    ...     tokenizer = staticmethod(lambda text, add_special_tokens=False: {
    ...         "input_ids": text.split()})
    ...     def logprobs(self, prefix, query, continuations):
    ...         return [-1.0 * len(c.split()) for c in continuations]
    >>> check = render_check(Flat(), "swh_Latn", "eng_Latn", [("maji safi", "clean water")])
    >>> check.gain, check.pairs
    (0.0, 1)
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import language_name, normalize
from bridgex_chain.probing.parallel_probes import PARTITION, RowPart, row_part
from bridgex_chain.store.records import CompetenceRow, RenderCheckRow

__all__ = [
    "LanguageChecks",
    "LogprobModel",
    "check_language",
    "competence",
    "render_check",
]


class LogprobModel(Protocol):
    """What the checks need of a model: :class:`~bridgex_chain.models.hf.HFCore` has it."""

    tokenizer: Any

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        """``log P(continuation | prefix + query)`` summed over its tokens, per continuation."""


def _tokens(model: LogprobModel, text: str) -> int:
    return len(model.tokenizer(text, add_special_tokens=False)["input_ids"])


def _mean_interval(values: Sequence[float]) -> tuple[float, float | None, float | None]:
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return mean, None, None
    from scipy.stats import t

    var = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)
    half = float(t.ppf(0.975, len(values) - 1)) * math.sqrt(var / len(values))
    return mean, mean - half, mean + half


def render_check(
    model: LogprobModel,
    src: str,
    bridge: str,
    pairs: Sequence[tuple[str, str]],
    *,
    baseline: MutableMapping[str, float] | None = None,
) -> RenderCheckRow:
    """Measure the render gain of (``src``, ``bridge``) (see the module docstring).

    Args:
        model: The model (an ``HFCore``).
        src: The language L of the first sentence of each pair.
        bridge: The bridge B of the second.
        pairs: ``(sentence in L, the same sentence in B)``, e.g. SIB-200 train rows.
        baseline: A memo of ``log P(" " + b | "<B name>:")`` by ``" " + b``: the baseline does
            not depend on L, so checks of several languages against one bridge on the same rows
            of a parallel corpus can share it (one pass per sentence instead of two).

    Returns:
        The :class:`~bridgex_chain.store.records.RenderCheckRow` (``low``/``high`` None for
        one pair).

    Raises:
        ProbeDataError: No pair with text on both sides.
    """
    s, b = normalize(src), normalize(bridge)
    s_name, b_name = language_name(s), language_name(b)
    gains: list[float] = []
    for source, target in pairs:
        if not source.strip() or not target.strip():
            continue
        cont = " " + target.strip()
        given = model.logprobs("", f"{s_name}: {source.strip()}\n{b_name}:", [cont])[0]
        memo = baseline if baseline is not None else {}
        if cont not in memo:
            memo[cont] = model.logprobs("", f"{b_name}:", [cont])[0]
        alone = memo[cont]
        gains.append((given - alone) / max(1, _tokens(model, cont)))
    if not gains:
        raise ProbeDataError(
            f"No parallel sentence pair for {s}→{b} has text on both sides: point the check at "
            "a corpus with both languages (FLORES / SIB-200 rows)."
        )
    mean, low, high = _mean_interval(gains)
    return RenderCheckRow(s, b, len(gains), mean, low, high)


def competence(model: LogprobModel, lang: str, texts: Sequence[str]) -> CompetenceRow:
    """Measure the model's mean per-token log-likelihood of ``texts`` in ``lang``.

    Raises:
        ProbeDataError: No non-empty text.

    Example:
        >>> class Flat:
        ...     tokenizer = staticmethod(lambda text, add_special_tokens=False: {
        ...         "input_ids": text.split()})
        ...     def logprobs(self, prefix, query, continuations):
        ...         return [-2.0 * len(c.split()) for c in continuations]
        >>> competence(Flat(), "sw", ["maji safi", "habari"]).logprob_per_token
        -2.0
    """
    code = normalize(lang)
    name = language_name(code)
    total, tokens, count = 0.0, 0, 0
    for text in texts:
        if not text.strip():
            continue
        cont = " " + text.strip()
        total += model.logprobs("", f"{name}:", [cont])[0]
        tokens += max(1, _tokens(model, cont))
        count += 1
    if not count:
        raise ProbeDataError(f"No {code} text to measure the model's competence on.")
    return CompetenceRow(code, count, total / tokens)


@dataclass(frozen=True)
class LanguageChecks:
    """Everything measured for one language: its competence and a render check per bridge.

    Both are the store's records (:class:`~bridgex_chain.store.records.CompetenceRow`,
    :class:`~bridgex_chain.store.records.RenderCheckRow`), written with the run as they are.

    Example:
        >>> checks = LanguageChecks(CompetenceRow("swh_Latn", 2, -3.5), ())
        >>> LanguageChecks.from_json(checks.to_json()) == checks
        True
    """

    competence: CompetenceRow
    renders: tuple[RenderCheckRow, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the build caches it per language)."""
        return {
            "competence": asdict(self.competence),
            "renders": [asdict(r) for r in self.renders],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LanguageChecks:
        """Read :meth:`to_json` output."""
        renders = tuple(RenderCheckRow(**r) for r in data["renders"])
        return cls(CompetenceRow(**data["competence"]), renders)


def check_language(
    model: LogprobModel,
    lang: str,
    bridges: Sequence[str],
    rows: Mapping[str, Mapping[str, str]],
    *,
    pairs: int = 32,
    seed: int = 0,
    baselines: MutableMapping[str, MutableMapping[str, float]] | None = None,
    part: RowPart | None = None,
) -> LanguageChecks:
    """Measure ``lang``'s competence and its render gain into every bridge on the same rows.

    The rows are a seeded sample of ``pairs`` ids that have a text in ``lang`` and in every
    bridge (``random.Random(f"{seed}/{lang}")``), so every bridge is measured on the same
    sentences and the competence on their ``lang`` side. With ``part`` only the ids of that
    part of the row partition are sampled (a build passes ``"check"``).

    Args:
        model: The model (an ``HFCore``).
        lang: The language L.
        bridges: The candidate bridges (L itself is skipped).
        rows: ``{language: {row id: text}}`` of a parallel corpus (train rows).
        pairs: How many rows to measure on.
        seed: Seed of the sample.
        baselines: Per bridge, a memo shared across languages (see :func:`render_check`).
        part: Sample only rows of this part (:func:`~bridgex_chain.probing.parallel_probes.
            row_part`); ``None``: every row.

    Raises:
        ProbeDataError: ``lang`` or a bridge has no text in the corpus, or no row (of
            ``part``) has text in ``lang`` and every bridge.

    Example:
        >>> class Flat:
        ...     tokenizer = staticmethod(lambda text, add_special_tokens=False: {
        ...         "input_ids": text.split()})
        ...     def logprobs(self, prefix, query, continuations):
        ...         return [-1.0 * len(c.split()) for c in continuations]
        >>> rows = {"swh_Latn": {"1": "maji"}, "eng_Latn": {"1": "water"}}
        >>> checks = check_language(Flat(), "sw", ["en"], rows)
        >>> checks.competence.texts, [r.bridge for r in checks.renders]
        (1, ['eng_Latn'])
    """
    code = normalize(lang)
    targets = [b for b in dict.fromkeys(normalize(b) for b in bridges) if b != code]
    missing = [c for c in (code, *targets) if not rows.get(c)]
    if missing:
        raise ProbeDataError(
            f"The parallel corpus has no text in {', '.join(missing)}: point --parallel at a "
            "corpus with every language and bridge (FLORES / SIB-200 layout)."
        )
    ids = sorted(
        i
        for i in rows[code]
        if all(i in rows[b] for b in targets) and (part is None or row_part(i) == part)
    )
    if not ids:
        where = "" if part is None else f" in its {part!r} part ({PARTITION})"
        raise ProbeDataError(
            f"No row of the parallel corpus{where} has {code} and every bridge: point "
            "--parallel at a corpus whose rows are aligned by id across these languages."
        )
    sample = sorted(random.Random(f"{seed}/{code}").sample(ids, min(pairs, len(ids))))
    memos = baselines if baselines is not None else {}
    renders = tuple(
        render_check(
            model,
            code,
            bridge,
            [(rows[code][i], rows[bridge][i]) for i in sample],
            baseline=memos.setdefault(bridge, {}),
        )
        for bridge in targets
    )
    return LanguageChecks(competence(model, code, [rows[code][i] for i in sample]), renders)
