r"""The two things evaluation asks of a language model: continuation log-probs and greedy text.

:class:`EvalLM` is the seam: tasks only call :meth:`EvalLM.logprobs` and
:meth:`EvalLM.generate`, so unit tests drive them with a fake whose log-probabilities are known.
:class:`HFEvalLM` implements it on a ``transformers`` causal LM as a thin adapter over the
library's inference core (:class:`bridgex_chain.models.hf.HFCore`): prefix-cached
log-likelihood (``reuse_prefix=False`` rescores every sequence in full, for checks), and batched
greedy generation with stop strings and the loop stop (``repeat_span``) on by default.

Example:
    >>> class Fixed:
    ...     key = "fixed"
    ...     def logprobs(self, prefix, query, continuations):
    ...         return [-float(len(c)) for c in continuations]
    ...     def generate(self, prompts, *, max_new_tokens, stop):
    ...         return ["" for _ in prompts]
    >>> isinstance(Fixed(), EvalLM)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from bridgex_chain.models.hf import HFCore

__all__ = ["EvalLM", "HFEvalLM"]


@runtime_checkable
class EvalLM(Protocol):
    """What the evaluation tasks need from a language model.

    Attributes:
        key: Identifies the model (and its weights) in result caches.
    """

    key: str

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        """Return ``log P(continuation | prefix + query)`` (summed over tokens) for each one.

        ``prefix`` is the part shared across many calls (it may be cached); ``query`` varies.
        """
        ...

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str]
    ) -> list[str]:
        """Return the greedy continuation of each prompt, cut before the first stop string."""
        ...


class HFEvalLM:
    """:class:`EvalLM` over a Hugging Face causal LM and its tokenizer (through :class:`HFCore`).

    Args:
        model: A ``transformers`` causal LM in eval mode.
        tokenizer: Its tokenizer.
        key: Cache key of the model (e.g. ``"google/gemma-3-270m@gguf-…"``).
        reuse_prefix: Reuse the prefix's key/value cache across calls (fast); ``False``
            rescores the full sequence for every continuation (slow; for checks).
        batch_size: Prompts per batch in :meth:`generate`.
        repeat_span: Stop a generation once its last ``repeat_span`` tokens already occurred
            in it (a degenerate loop; the text up to then is kept). None disables it.

    Attributes:
        core: The inference core doing the work.

    Example:
        >>> from bridgex_chain.models import load_causal_lm  # doctest: +SKIP
        >>> loaded = load_causal_lm()  # doctest: +SKIP
        >>> lm = HFEvalLM(loaded.model, loaded.tokenizer, key="gemma")  # doctest: +SKIP
        >>> lm.logprobs("Topic: ", "", ["sports", "travel"])  # doctest: +SKIP
        [-9.1, -8.7]
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        key: str,
        reuse_prefix: bool = True,
        batch_size: int = 8,
        repeat_span: int | None = 10,
    ) -> None:
        self.core = HFCore(model, tokenizer, key, batch_size=batch_size)
        self.key = key
        self.reuse_prefix = reuse_prefix
        self.repeat_span = repeat_span

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        """Return the summed log-probability of each continuation after ``prefix + query``."""
        return self.core.logprobs(prefix, query, continuations, reuse_prefix=self.reuse_prefix)

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str]
    ) -> list[str]:
        """Greedy-decode every prompt (batched, left-padded) and cut at the stop strings."""
        return self.core.generate(
            prompts, max_new_tokens=max_new_tokens, stop=stop, repeat_span=self.repeat_span
        )
