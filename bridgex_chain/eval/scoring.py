r"""Scoring the options of a scored evaluation item with an :class:`~bridgex_chain.eval.lm.EvalLM`.

A choice's score is ``log P(" " + choice | prompt)`` summed over its tokens. The prompt is split
at its last blank line (:func:`bridgex_chain.models.choices.split_prompt`) into the shared context
(instructions and demonstrations, the same for every item of a unit, so a model can keep its
key/value cache) and the query. Picking the (calibrated) best choice is
:func:`bridgex_chain.models.choices.best_choice`, the rule the chain uses too.

Example:
    >>> class Fixed:
    ...     key = "fixed"
    ...     def logprobs(self, prefix, query, continuations):
    ...         return [-float(len(c)) for c in continuations]
    >>> choice_logprobs(Fixed(), "Classify.\n\nText: a\nLabel:", ["ab", "a"])
    [-3.0, -2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

from bridgex_chain.eval.lm import EvalLM
from bridgex_chain.models.choices import split_prompt

__all__ = ["choice_logprobs"]


def choice_logprobs(
    lm: EvalLM, prompt: str, choices: Sequence[str], *, lead: str = " "
) -> list[float]:
    r"""Return ``log P(lead + choice | prompt)`` for every choice.

    Args:
        lm: The model.
        prompt: The completion-style prompt, split at its last blank line for caching.
        choices: The options (labels or letters).
        lead: What goes between the prompt and each choice.

    Example:
        >>> class Echo:
        ...     key = "echo"
        ...     def logprobs(self, prefix, query, continuations):
        ...         return [float(len(prefix))] * len(continuations)
        >>> choice_logprobs(Echo(), "Topic?\n\nText: maji\nLabel:", ["x"])
        [8.0]
    """
    prefix, query = split_prompt(prompt)
    return lm.logprobs(prefix, query, [lead + c for c in choices])
