"""Batched forward passes that turn prompts and corpora into neuron statistics.

* :func:`record_prompt_means` — METHOD step 2: per prompt, the mean activation of each neuron
  over the prompt's tokens. Forward passes only (never ``generate``), batched, padding masked,
  prompts sorted by length for batching and returned in input order. The decoder is run
  without the LM head (on Gemma-3 its 262k-word output layer dominates short prompts), and the
  pass stops after the deepest recorded layer.
* :func:`count_language_neurons` — METHOD step 1: streams a monolingual corpus per language
  into a counter of activations > 0; memory does not grow with the corpus.
* :func:`understood_pairs` — ``--filter-understood``: greedy decoding of probe prompts, kept
  when the continuation starts with a gold target.

Example:
    >>> # doctest: +SKIP
    >>> acts = record_prompt_means(model, tokenizer, ['Swahili:"maji"→English:'], batch_size=16)
    >>> acts[0].shape  # (intermediate_size, 1)
"""

from __future__ import annotations

import contextlib
import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from bridgex_chain.probing.hooks import (
    ActivationRecorder,
    NeuronSelection,
    StopForward,
    decoder_of,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "NeuronCounter",
    "count_language_neurons",
    "greedy_continuations",
    "record_prompt_means",
    "starts_with_target",
    "understood_pairs",
]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


class NeuronCounter(Protocol):
    """What :func:`count_language_neurons` feeds (``neurons.LanguageNeuronCounter`` fits)."""

    def update(
        self, lang: str, layer: int, positive_counts: npt.NDArray[np.int64], n_tokens: int
    ) -> None:
        """Add ``positive_counts`` (activations > 0 per neuron) over ``n_tokens`` tokens."""


def _model_device(model: Any) -> torch.device:
    device: torch.device = next(iter(model.parameters())).device
    return device


def _encode(tokenizer: Any, texts: Sequence[str], max_tokens: int | None) -> list[list[int]]:
    kwargs: dict[str, Any] = {"add_special_tokens": True}
    if max_tokens is not None:
        kwargs.update(truncation=True, max_length=max_tokens)
    ids: list[list[int]] = tokenizer(list(texts), **kwargs)["input_ids"]
    return ids


def _pad(
    seqs: Sequence[Sequence[int]], pad_id: int, side: str, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return ``input_ids``, ``attention_mask`` and ``position_ids`` for one batch."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        start = width - len(seq) if side == "left" else 0
        ids[row, start : start + len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
        mask[row, start : start + len(seq)] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def _pad_id(tokenizer: Any) -> int:
    for attr in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, attr, None)
        if isinstance(value, int):
            return value
    return 0


def _forward(
    decoder: Any,
    recorder: ActivationRecorder,
    seqs: Sequence[Sequence[int]],
    pad_id: int,
    side: str,
    device: torch.device,
) -> None:
    ids, mask, positions = _pad(seqs, pad_id, side, device)
    recorder.attention_mask = mask
    with contextlib.suppress(StopForward):
        decoder(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False)


def record_prompt_means(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    batch_size: int = 16,
    layers: Iterable[int] | None = None,
    neurons: NeuronSelection | None = None,
    device: str | torch.device | None = None,
    on_progress: ProgressCallback | None = None,
    max_tokens: int | None = None,
    dtype: type[np.floating[Any]] = np.float32,
) -> dict[int, npt.NDArray[np.floating[Any]]]:
    """Record each prompt's mean MLP activation per neuron (METHOD step 2).

    Args:
        model: a loaded causal LM of a supported architecture, already on ``device``.
        tokenizer: its tokenizer (its ``padding_side`` is honoured; no pad token needed).
        prompts: the probe prompts.
        batch_size: prompts per forward pass.
        layers: layers to record (default all, or the keys of ``neurons``).
        neurons: optional ``{layer: column indices}`` (or one index array per layer) to keep
            only some neurons; layers with no columns are not run past when possible.
        device: where the inputs go (default: the device of the model's parameters).
        on_progress: called as ``on_progress(prompts_done, total)`` after each batch.
        max_tokens: truncate longer prompts to this many tokens.
        dtype: numpy dtype of the result.

    Returns:
        ``{layer: array [n_neurons_layer, n_prompts]}`` in the order of ``prompts``.

    Example:
        >>> # doctest: +SKIP
        >>> record_prompt_means(model, tok, ["a", "b c"], layers=[3])[3].shape
        (2048, 2)
    """
    import torch

    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    dev = torch.device(device) if device is not None else _model_device(model)
    decoder = decoder_of(model)
    recorder = ActivationRecorder(
        model, layers=layers, neurons=neurons, stop_early=True, dtype=dtype
    )
    if not prompts or not recorder.active_layers:
        return {
            layer: np.zeros((arr.shape[0], len(prompts)), dtype=dtype)
            for layer, arr in recorder.prompt_means().items()
        }
    encoded = _encode(tokenizer, prompts, max_tokens)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    pad_id, side = _pad_id(tokenizer), str(getattr(tokenizer, "padding_side", "right"))
    was_training = bool(getattr(model, "training", False))
    model.eval()
    try:
        with torch.no_grad(), recorder:
            for start in range(0, len(order), batch_size):
                batch = [encoded[i] for i in order[start : start + batch_size]]
                _forward(decoder, recorder, batch, pad_id, side, dev)
                if on_progress is not None:
                    on_progress(min(start + batch_size, len(order)), len(order))
    finally:
        model.train(was_training)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
    return {
        layer: np.ascontiguousarray(arr[:, inverse])
        for layer, arr in recorder.prompt_means().items()
    }


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(texts)
    while chunk := list(islice(it, size)):
        yield chunk


def count_language_neurons(
    model: Any,
    tokenizer: Any,
    texts_by_lang: Mapping[str, Iterable[str]],
    counter: NeuronCounter,
    *,
    batch_size: int = 8,
    max_tokens_per_text: int | None = 256,
    max_tokens_per_lang: int | None = None,
    layers: Iterable[int] | None = None,
    device: str | torch.device | None = None,
    on_progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Stream monolingual text per language and count activations > 0 (METHOD step 1).

    Texts are read lazily in batches; per language the recorder keeps one int64 count per
    neuron, flushed into ``counter.update(lang, layer, counts, n_tokens)`` once the language
    is done — memory is independent of corpus size. Padding tokens are never counted.

    Args:
        model: a loaded causal LM of a supported architecture, already on ``device``.
        tokenizer: its tokenizer.
        texts_by_lang: ``{language code: iterable of texts}`` (iterables may be generators).
        counter: receives the counts (see :class:`NeuronCounter`).
        batch_size: texts per forward pass.
        max_tokens_per_text: truncate each text to this many tokens (``None``: no limit).
        max_tokens_per_lang: stop reading a language once this many tokens were counted.
        layers: layers to count (default all).
        device: where the inputs go (default: the model's device).
        on_progress: called as ``on_progress(lang, tokens_counted_so_far)`` after each batch.

    Returns:
        ``{lang: number of tokens counted}``.

    Example:
        >>> # doctest: +SKIP
        >>> count_language_neurons(model, tok, {"swh_Latn": lines}, counter)
        {'swh_Latn': 51234}
    """
    import torch

    dev = torch.device(device) if device is not None else _model_device(model)
    decoder = decoder_of(model)
    pad_id, side = _pad_id(tokenizer), str(getattr(tokenizer, "padding_side", "right"))
    totals: dict[str, int] = {}
    model.eval()
    for lang, texts in texts_by_lang.items():
        recorder = ActivationRecorder(
            model, layers=layers, prompt_means=False, count_positive=True, stop_early=True
        )
        with torch.no_grad(), recorder:
            for chunk in _chunks(texts, batch_size):
                seqs = [s for s in _encode(tokenizer, chunk, max_tokens_per_text) if s]
                if not seqs:
                    continue
                _forward(decoder, recorder, seqs, pad_id, side, dev)
                done = recorder.token_counts()[recorder.layers[0]]
                if on_progress is not None:
                    on_progress(lang, done)
                if max_tokens_per_lang is not None and done >= max_tokens_per_lang:
                    break
        tokens = recorder.token_counts()
        totals[lang] = tokens[recorder.layers[0]]
        if totals[lang] == 0:
            logger.warning("No tokens counted for language %s (empty corpus?)", lang)
        for layer, counts in recorder.positive_counts().items():
            counter.update(lang, layer, counts, tokens[layer])
    return totals


def _strip_punct_and_space(text: str, *, leading_only: bool) -> str:
    def junk(ch: str) -> bool:
        return ch.isspace() or unicodedata.category(ch).startswith(("P", "S"))

    start = 0
    while start < len(text) and junk(text[start]):
        start += 1
    end = len(text)
    if not leading_only:
        while end > start and junk(text[end - 1]):
            end -= 1
    return text[start:end]


def _normalise(text: str, *, leading_only: bool) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _strip_punct_and_space(folded, leading_only=leading_only)


def starts_with_target(generated: str, targets: str | Sequence[str]) -> bool:
    """Return whether ``generated`` starts with one of ``targets``.

    Both sides are NFKC-normalised and case-folded; leading whitespace, quotes and other
    punctuation/symbols are ignored in ``generated``, and stripped from both ends of each
    target. A plain prefix test: ``"waterfall"`` matches target ``"water"``.

    Example:
        >>> starts_with_target(' "Water" and', ["eau", "water"])
        True
        >>> starts_with_target("« Maji »", "maji")
        True
    """
    text = _normalise(generated, leading_only=True)
    options = [targets] if isinstance(targets, str) else list(targets)
    for target in options:
        gold = _normalise(target, leading_only=False)
        if gold and text.startswith(gold):
            return True
    return False


def greedy_continuations(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 8,
    batch_size: int = 16,
    device: str | torch.device | None = None,
) -> list[str]:
    r"""Greedy-decode each prompt (batched, left-padded) and return only the new text.

    Example:
        >>> # doctest: +SKIP
        >>> greedy_continuations(model, tok, ['English:"water"→French:'])
        [' "eau"\\n']
    """
    import torch

    dev = torch.device(device) if device is not None else _model_device(model)
    pad_id = _pad_id(tokenizer)
    encoded = _encode(tokenizer, prompts, None)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out: list[str] = [""] * len(encoded)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask, _ = _pad([encoded[i] for i in rows], pad_id, "left", dev)
            generated = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad_id,
            )
            new = generated[:, ids.shape[1] :]
            for row, seq in zip(rows, new.tolist(), strict=True):
                out[row] = tokenizer.decode(seq, skip_special_tokens=True)
    return out


def understood_pairs(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    targets: Sequence[str | Sequence[str]],
    *,
    max_new_tokens: int = 8,
    batch_size: int = 16,
    device: str | torch.device | None = None,
) -> list[bool]:
    """Return, per probe prompt, whether the model's greedy answer starts with a gold target.

    Used by ``--filter-understood`` ("full activation"): keep only the pairs the model
    translates correctly. See :func:`starts_with_target` for the matching rule.

    Args:
        model: a loaded causal LM.
        tokenizer: its tokenizer.
        prompts: probe prompts ``{name(S)}:"{w}"→{name(T)}:``.
        targets: per prompt, the gold target word or a list of accepted words.
        max_new_tokens: greedy tokens generated per prompt.
        batch_size: prompts per ``generate`` call.
        device: where the inputs go (default: the model's device).

    Example:
        >>> # doctest: +SKIP
        >>> understood_pairs(model, tok, ['English:"water"→French:'], [["eau"]])
        [True]
    """
    if len(prompts) != len(targets):
        raise ValueError(f"{len(prompts)} prompts but {len(targets)} target lists")
    texts = greedy_continuations(
        model,
        tokenizer,
        prompts,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        device=device,
    )
    return [starts_with_target(t, gold) for t, gold in zip(texts, targets, strict=True)]
