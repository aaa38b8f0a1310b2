r"""Choosing a label by log-likelihood, with contextual calibration.

A label's score is ``log P(" " + label | prompt)`` summed over its tokens. The prompt is split at
its last blank line into the shared context (instructions and demonstrations, the same for every
item of a unit, so a model can keep its key/value cache) and the query.

Contextual calibration (Zhao et al., 2021) divides each label's probability by its probability
when the query is content-free ("N/A"). Normalising over labels does not change the argmax, so
the calibrated choice is ``argmax(score - content_free_score)``.

Example:
    >>> split_prompt("Classify.\n\nText: a\nLabel: x\n\nText: b\nLabel:")
    ('Classify.\n\nText: a\nLabel: x\n\n', 'Text: b\nLabel:')
    >>> choose([-1.0, -2.0], None), choose([-1.0, -2.0], [-0.5, -3.0])
    (0, 1)
"""

from __future__ import annotations

from collections.abc import Sequence

from bridgex_chain.eval.lm import EvalLM

__all__ = ["choice_logprobs", "choose", "split_prompt"]


def split_prompt(prompt: str) -> tuple[str, str]:
    """Split ``prompt`` after its last blank line into (shared context, query).

    Without a blank line the context is empty.
    """
    cut = prompt.rfind("\n\n")
    if cut == -1:
        return "", prompt
    return prompt[: cut + 2], prompt[cut + 2 :]


def choice_logprobs(
    lm: EvalLM, prompt: str, choices: Sequence[str], *, lead: str = " "
) -> list[float]:
    """Return ``log P(lead + choice | prompt)`` for every choice.

    Example:
        >>> class Fixed:
        ...     key = "fixed"
        ...     def logprobs(self, prefix, query, continuations):
        ...         return [-float(len(c)) for c in continuations]
        >>> choice_logprobs(Fixed(), "Label:", ["ab", "a"])
        [-3.0, -2.0]
    """
    prefix, query = split_prompt(prompt)
    return lm.logprobs(prefix, query, [lead + c for c in choices])


def choose(scores: Sequence[float], calibration: Sequence[float] | None) -> int:
    """Return the index of the best choice, calibrated by content-free scores when given.

    Ties go to the first choice.
    """
    if not scores:
        raise ValueError("no choices to choose from")
    if calibration is None:
        adjusted = list(scores)
    else:
        if len(calibration) != len(scores):
            raise ValueError("calibration scores must match the choices one to one")
        adjusted = [s - c for s, c in zip(scores, calibration, strict=True)]
    return max(range(len(adjusted)), key=lambda i: (adjusted[i], -i))
