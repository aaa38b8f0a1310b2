"""Token ids for a Hugging Face causal LM: encoding, padding, the pad id, the model's device.

Shared by the inference core (:mod:`bridgex_chain.models.hf`) and the probing recorder
(:mod:`bridgex_chain.probing.record`), so batched passes everywhere pad the same way. torch is
imported inside the functions that need it.

Example:
    >>> class Tok:
    ...     pad_token_id, eos_token_id = None, 1
    >>> pad_token_id(Tok())
    1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bridgex_chain.errors import InvalidOption

if TYPE_CHECKING:
    import torch

__all__ = ["encode", "model_device", "pad_batch", "pad_token_id"]


def model_device(model: Any) -> torch.device:
    """Return the device of the model's parameters (or its ``device`` attribute, else CPU).

    Example:
        >>> import torch
        >>> model_device(torch.nn.Linear(2, 2))
        device(type='cpu')
    """
    try:
        device: torch.device = next(iter(model.parameters())).device
        return device
    except (AttributeError, StopIteration, TypeError):
        import torch

        return torch.device(getattr(model, "device", "cpu"))


def pad_token_id(tokenizer: Any) -> int:
    """Return the id used for padding: the pad token, else the end-of-sequence token, else 0.

    Example:
        >>> from types import SimpleNamespace
        >>> pad_token_id(SimpleNamespace(pad_token_id=None, eos_token_id=1))
        1
    """
    for attr in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, attr, None)
        if isinstance(value, int):
            return value
    return 0


def encode(
    tokenizer: Any,
    texts: Sequence[str],
    max_tokens: int | None = None,
    *,
    add_special_tokens: bool = True,
) -> list[list[int]]:
    """Tokenise ``texts`` (one list of ids each), with the tokenizer's special tokens.

    Args:
        tokenizer: A Hugging Face tokenizer.
        texts: The texts.
        max_tokens: Truncate longer texts to this many tokens.
        add_special_tokens: Add the tokenizer's special tokens (``<bos>``); False for text a
            chat template already started.

    Example:
        >>> encode(tokenizer, ["maji"])  # doctest: +SKIP
        [[2, 109, 97, 106, 105]]
    """
    if not texts:
        return []
    kwargs: dict[str, Any] = {"add_special_tokens": add_special_tokens}
    if max_tokens is not None:
        kwargs.update(truncation=True, max_length=max_tokens)
    ids: list[list[int]] = tokenizer(list(texts), **kwargs)["input_ids"]
    return [list(row) for row in ids]


def pad_batch(
    seqs: Sequence[Sequence[int]],
    pad_id: int,
    side: str,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad token sequences into one batch: ``input_ids``, ``attention_mask``, ``position_ids``.

    Args:
        seqs: Token ids per row (at least one row).
        pad_id: The padding id (:func:`pad_token_id`).
        side: ``"left"`` (for generation: every row ends at the last column) or ``"right"``.
        device: Where the tensors go (default CPU).

    Raises:
        InvalidOption: ``side`` is neither ``"left"`` nor ``"right"``, or ``seqs`` is empty.

    Example:
        >>> ids, mask, pos = pad_batch([[5, 6], [7]], 0, "left")
        >>> ids.tolist(), mask.tolist(), pos.tolist()
        ([[5, 6], [0, 7]], [[1, 1], [0, 1]], [[0, 1], [0, 0]])
    """
    import torch

    if side not in ("left", "right"):
        raise InvalidOption(f"Padding side must be 'left' or 'right', got {side!r}.")
    if not seqs:
        raise InvalidOption("Cannot pad an empty batch: pass at least one token sequence.")
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        start = width - len(seq) if side == "left" else 0
        ids[row, start : start + len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
        mask[row, start : start + len(seq)] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return ids.to(dev), mask.to(dev), positions.to(dev)
