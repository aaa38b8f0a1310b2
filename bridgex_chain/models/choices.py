r"""Choosing among options by log-likelihood, with contextual calibration (pure Python).

A choice's score is ``log P(" " + choice | prompt)`` summed over its tokens (computed by
:meth:`bridgex_chain.models.hf.HFCore.choice_scores`). The prompt is split at its last blank
line (:func:`split_prompt`) into the shared context (instructions and demonstrations, the same
for many prompts, so the model can keep its key/value cache) and the query.

Contextual calibration (Zhao et al., 2021) divides each choice's probability by its probability
when the query is content-free (``"N/A"``). Normalising over the choices does not change the
argmax, so the calibrated scores are ``score - content_free_score`` (:func:`calibrated`) and the
calibrated choice is their argmax (:func:`best_choice`). This module is the one home of those
rules: the chain's router, the LangChain adapter and the evaluation all use it.

Example:
    >>> split_prompt("Classify.\n\nText: a\nLabel: x\n\nText: b\nLabel:")
    ('Classify.\n\nText: a\nLabel: x\n\n', 'Text: b\nLabel:')
    >>> best_choice([-1.0, -2.0]), best_choice([-1.0, -2.0], [-0.5, -3.0])
    (0, 1)
"""

from __future__ import annotations

from collections.abc import Sequence

from bridgex_chain.errors import InvalidOption

__all__ = ["best_choice", "calibrated", "split_prompt"]


def split_prompt(prompt: str) -> tuple[str, str]:
    r"""Split ``prompt`` after its last blank line into (shared context, query).

    Without a blank line the context is empty and the whole prompt is the query.

    Args:
        prompt: A completion-style prompt.

    Returns:
        ``(shared_prefix, query)``; ``shared_prefix + query == prompt``.

    Example:
        >>> split_prompt("Topic?\n\nText: maji\nLabel:"), split_prompt("Label:")
        (('Topic?\n\n', 'Text: maji\nLabel:'), ('', 'Label:'))
    """
    cut = prompt.rfind("\n\n")
    if cut == -1:
        return "", prompt
    return prompt[: cut + 2], prompt[cut + 2 :]


def calibrated(scores: Sequence[float], content_free_scores: Sequence[float]) -> list[float]:
    """Return contextually calibrated scores: ``score - content_free_score`` per choice.

    Args:
        scores: ``log P(choice | prompt)`` per choice.
        content_free_scores: ``log P(choice | content-free prompt)``, in the same order.

    Raises:
        InvalidOption: The two lists differ in length.

    Example:
        >>> calibrated([-1.0, -2.0], [-0.5, -3.0])
        [-0.5, 1.0]
    """
    if len(content_free_scores) != len(scores):
        raise InvalidOption(
            f"{len(scores)} choice scores but {len(content_free_scores)} content-free scores: "
            "score the content-free prompt on the same choices, in the same order."
        )
    return [s - c for s, c in zip(scores, content_free_scores, strict=True)]


def best_choice(scores: Sequence[float], calibration: Sequence[float] | None = None) -> int:
    """Return the index of the best choice, calibrated by content-free scores when given.

    Ties go to the first choice.

    Args:
        scores: One score per choice (higher is better).
        calibration: Content-free scores of the same choices, or None for no calibration.

    Raises:
        InvalidOption: ``scores`` is empty, or ``calibration`` does not match it one to one.

    Example:
        >>> best_choice([-2.0, -1.0, -1.0]), best_choice([-1.0, -2.0], [-0.5, -3.0])
        (1, 1)
    """
    if not scores:
        raise InvalidOption("There are no choices to choose from: pass at least one score.")
    adjusted = list(scores) if calibration is None else calibrated(scores, calibration)
    return max(range(len(adjusted)), key=lambda i: (adjusted[i], -i))
