"""Batched forward passes that turn prompts and corpora into neuron statistics.

* :func:`record_prompt_means` — METHOD step 2: per prompt, the mean activation of each neuron
  over the prompt's tokens. Forward passes only (never ``generate``), batched, padding masked,
  prompts sorted by length for batching and returned in input order. The decoder is run
  without the LM head (on Gemma-3 its 262k-word output layer dominates short prompts), and the
  pass stops after the deepest recorded layer.
* :func:`count_language_neurons` — METHOD step 1: streams a monolingual corpus per language
  into a counter of activations > 0; memory does not grow with the corpus.

Tokens are encoded and padded by the inference core's helpers (:mod:`bridgex_chain.models.hf`).

Example:
    >>> acts = record_prompt_means(model, tok, ['Swahili:"maji"→English:'])  # doctest: +SKIP
    >>> acts[0].shape  # doctest: +SKIP
    (2048, 1)
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from bridgex_chain.errors import InvalidOption
from bridgex_chain.models.tokens import encode, model_device, pad_batch, pad_token_id
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
    "record_prompt_means",
]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


class NeuronCounter(Protocol):
    """What :func:`count_language_neurons` feeds (``neurons.LanguageNeuronCounter`` fits)."""

    def update(
        self, lang: str, layer: int, positive_counts: npt.NDArray[np.int64], n_tokens: int
    ) -> None:
        """Add ``positive_counts`` (activations > 0 per neuron) over ``n_tokens`` tokens."""


def _common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the token prefix all sequences share, leaving each at least one token."""
    limit = min(len(s) for s in seqs) - 1
    first = seqs[0]
    n = 0
    while n < limit and all(s[n] == first[n] for s in seqs):
        n += 1
    return n


@dataclass(frozen=True)
class _DecoderPass:
    """Forward passes of token batches through ``decoder``, padded, seen by ``recorder``."""

    decoder: Any
    recorder: ActivationRecorder
    pad_id: int
    side: str
    device: torch.device

    def run(self, seqs: Sequence[Sequence[int]]) -> None:
        """Run one padded batch (padding on ``side``)."""
        ids, mask, positions = pad_batch(seqs, self.pad_id, self.side, self.device)
        self.recorder.attention_mask = mask
        with contextlib.suppress(StopForward):
            self.decoder(
                input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False
            )

    def run_shared_prefix(self, seqs: Sequence[Sequence[int]]) -> None:
        """Run the batch's common token prefix once (batch of one, KV cache), then the suffixes.

        Causal attention makes the prefix's activations identical in every prompt, so the
        recorder adds them to each prompt's statistics; the result equals :meth:`run`'s.
        """
        import torch
        from transformers import DynamicCache

        decoder, recorder = self.decoder, self.recorder
        n_prefix = _common_prefix_len(seqs) if len(seqs) > 1 else 0
        if n_prefix == 0:
            self.run(seqs)
            return
        cache = DynamicCache(config=decoder.config)
        cache_kw = _cache_keyword(decoder)
        prefix = torch.as_tensor([list(seqs[0][:n_prefix])], dtype=torch.long, device=self.device)
        recorder.attention_mask = None
        recorder.capturing_prefix = True
        try:
            with contextlib.suppress(StopForward):
                decoder(input_ids=prefix, use_cache=True, **{cache_kw: cache})
        finally:
            recorder.capturing_prefix = False
        try:
            cache.batch_repeat_interleave(len(seqs))
            suffixes = [s[n_prefix:] for s in seqs]
            ids, mask, positions = pad_batch(suffixes, self.pad_id, "right", self.device)
            prefix_mask = torch.ones_like(mask[:, :1]).expand(-1, n_prefix)
            full_mask = torch.cat([prefix_mask, mask], dim=1)
            recorder.attention_mask = mask
            with contextlib.suppress(StopForward):
                decoder(
                    input_ids=ids,
                    attention_mask=full_mask,
                    position_ids=positions + n_prefix,
                    use_cache=True,
                    **{cache_kw: cache},
                )
        finally:
            recorder.clear_prefix()


def _cache_keyword(decoder: Any) -> str:
    """``cache`` (transformers >= 5.2x) or the older ``past_key_values``."""
    params = inspect.signature(decoder.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _batches(encoded: Sequence[Sequence[int]], batch_size: int, by_prefix: bool) -> list[list[int]]:
    """Index batches of prompts sorted by length.

    With ``by_prefix``, within groups of equal first two tokens: a group is split into
    near-equal batches and never mixed with another group.
    """

    def key(i: int) -> tuple[int, ...]:
        return tuple(encoded[i][:2]) if by_prefix else ()

    order = sorted(range(len(encoded)), key=lambda i: (key(i), len(encoded[i])))
    batches: list[list[int]] = []
    start = 0
    while start < len(order):
        end = start
        while end < len(order) and key(order[end]) == key(order[start]):
            end += 1
        group = order[start:end]
        n_batches = -(-len(group) // batch_size)
        size = -(-len(group) // n_batches)
        batches.extend(group[i : i + size] for i in range(0, len(group), size))
        start = end
    return batches


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
    share_prefix: bool = True,
) -> dict[int, npt.NDArray[np.floating[Any]]]:
    """Record each prompt's mean MLP activation per neuron (METHOD step 2).

    Prompts are sorted by length so batches need little padding. With ``share_prefix`` they
    are first grouped by their first two tokens (for probe prompts: BOS and the source
    language's name), batches never mix groups, and the token prefix common to a batch (the
    template ``<bos>Swahili:"``) is run once and reused through the KV cache; its activations
    count for every prompt, so the means are the same as without it (to float rounding).

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
        share_prefix: run each batch's common token prefix once (see above).

    Returns:
        ``{layer: array [n_neurons_layer, n_prompts]}`` in the order of ``prompts``.

    Example:
        >>> record_prompt_means(model, tok, ["a", "b c"], layers=[3])[3].shape  # doctest: +SKIP
        (2048, 2)
    """
    import torch

    if batch_size < 1:
        raise InvalidOption(f"batch_size must be >= 1, got {batch_size}: pass a positive size.")
    dev = torch.device(device) if device is not None else model_device(model)
    decoder = decoder_of(model)
    recorder = ActivationRecorder(
        model, layers=layers, neurons=neurons, stop_early=True, dtype=dtype
    )
    if not prompts or not recorder.active_layers:
        return {
            layer: np.zeros((arr.shape[0], len(prompts)), dtype=dtype)
            for layer, arr in recorder.prompt_means().items()
        }
    encoded = encode(tokenizer, prompts, max_tokens)
    batches = _batches(encoded, batch_size, share_prefix)
    pad_id, side = pad_token_id(tokenizer), str(getattr(tokenizer, "padding_side", "right"))
    passes = _DecoderPass(decoder, recorder, pad_id, side, dev)
    run = passes.run_shared_prefix if share_prefix else passes.run
    was_training = bool(getattr(model, "training", False))
    model.eval()
    try:
        with torch.no_grad(), recorder:
            done = 0
            for batch in batches:
                run([encoded[i] for i in batch])
                done += len(batch)
                if on_progress is not None:
                    on_progress(done, len(encoded))
    finally:
        model.train(was_training)
    order = np.asarray([i for batch in batches for i in batch], dtype=np.int64)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
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
        >>> count_language_neurons(model, tok, {"swh_Latn": lines}, counter)  # doctest: +SKIP
        {'swh_Latn': 51234}
    """
    import torch

    dev = torch.device(device) if device is not None else model_device(model)
    decoder = decoder_of(model)
    pad_id, side = pad_token_id(tokenizer), str(getattr(tokenizer, "padding_side", "right"))
    totals: dict[str, int] = {}
    model.eval()
    for lang, texts in texts_by_lang.items():
        recorder = ActivationRecorder(
            model, layers=layers, prompt_means=False, count_positive=True, stop_early=True
        )
        passes = _DecoderPass(decoder, recorder, pad_id, side, dev)
        with torch.no_grad(), recorder:
            for chunk in _chunks(texts, batch_size):
                seqs = [s for s in encode(tokenizer, chunk, max_tokens_per_text) if s]
                if not seqs:
                    continue
                passes.run(seqs)
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
