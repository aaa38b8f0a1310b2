r"""The two things evaluation asks of a language model: continuation log-probs and greedy text.

:class:`EvalLM` is the seam: tasks only call :meth:`EvalLM.logprobs` and
:meth:`EvalLM.generate`, so unit tests drive them with a fake whose log-probabilities are known.
:class:`HFEvalLM` implements it on a ``transformers`` causal LM:

* ``logprobs(prefix, query, continuations)`` runs the shared ``prefix`` (instructions and
  demonstrations) once and keeps its key/value cache. Every call then copies that cache, runs the
  query on the copy, and scores each continuation on its own copy of the prefix+query cache.
  A forward pass mutates a ``DynamicCache`` in place, and Gemma's sliding-window layers drop old
  entries, so the cache is deep-copied per use (cropping cannot restore dropped entries).
  ``reuse_prefix=False`` rescores the whole token sequence instead (same ids, same numbers: the
  tests check that).
* ``generate(prompts)`` is batched greedy decoding with left padding. Each row stops at its
  first stop string, or when it starts looping (its last ``repeat_span`` tokens occurred earlier
  in it) — small models often repeat a phrase until the token budget, and a batch runs as long
  as its longest row.

Token ids are ``[bos] + ids(prefix) + ids(query) + ids(continuation)``, each piece tokenised on
its own, so cached and uncached scoring see exactly the same sequence.

Example:
    >>> from bridgex_chain.eval.lm import cut_at_stop
    >>> cut_at_stop('Habari"\nnext', ['"', "\n"])
    'Habari'
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

__all__ = ["EvalLM", "HFEvalLM", "cut_at_stop"]


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


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Return ``text`` up to (not including) the earliest stop string.

    Example:
        >>> cut_at_stop("a→b", ["→"])
        'a'
    """
    cut = len(text)
    for s in stop:
        pos = text.find(s)
        if pos != -1:
            cut = min(cut, pos)
    return text[:cut]


@dataclass
class _PrefixState:
    text: str
    ids: list[int]
    cache: Any
    next_logprobs: torch.Tensor


class HFEvalLM:
    """:class:`EvalLM` over a Hugging Face causal LM and its tokenizer.

    Args:
        model: A ``transformers`` causal LM in eval mode.
        tokenizer: Its tokenizer.
        key: Cache key of the model (e.g. ``"google/gemma-3-270m@gguf-…"``).
        reuse_prefix: Reuse the prefix's key/value cache across calls (fast); ``False``
            rescores the full sequence for every continuation (slow; for checks).
        batch_size: Prompts per batch in :meth:`generate`.
        repeat_span: Stop a generation once its last ``repeat_span`` tokens already occurred
            in it (a degenerate loop; the text up to then is kept). None disables it.

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
        self.model = model
        self.tokenizer = tokenizer
        self.key = key
        self.reuse_prefix = reuse_prefix
        self.batch_size = batch_size
        self.repeat_span = repeat_span
        self._prefix: _PrefixState | None = None
        self._device = next(model.parameters()).device

    # ------------------------------------------------------------------ tokens

    def _ids(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _bos(self) -> list[int]:
        bos = getattr(self.tokenizer, "bos_token_id", None)
        return [int(bos)] if bos is not None else []

    def _tensor(self, ids: list[int]) -> torch.Tensor:
        import torch

        return torch.tensor([ids], dtype=torch.long, device=self._device)

    # ------------------------------------------------------------------ scoring

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        """Return the summed log-probability of each continuation after ``prefix + query``."""
        import torch

        if not prefix and not self._bos():
            prefix, query = query, ""  # nothing to start from: the query becomes the context
        prefix_ids = self._bos() + self._ids(prefix)
        if not prefix_ids:
            raise ValueError("cannot score continuations of an empty text without a BOS token")
        query_ids = self._ids(query)
        conts = [self._ids(c) for c in continuations]
        if any(not c for c in conts):
            raise ValueError("every continuation must tokenize to at least one token")
        with torch.inference_mode():
            if not self.reuse_prefix:
                return [self._full_logprob(prefix_ids + query_ids, c) for c in conts]
            state = self._prefix_state(prefix, prefix_ids)
            cache = copy.deepcopy(state.cache)
            next_lp = state.next_logprobs
            if query_ids:
                out = self.model(
                    input_ids=self._tensor(query_ids),
                    cache=cache,
                    use_cache=True,
                    logits_to_keep=1,
                )
                next_lp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            return [self._continuation_logprob(cache, next_lp, c) for c in conts]

    def _prefix_state(self, text: str, ids: list[int]) -> _PrefixState:
        import torch

        if self._prefix is not None and self._prefix.text == text:
            return self._prefix
        self._prefix = None  # free the old cache before building a new one
        out = self.model(input_ids=self._tensor(ids), use_cache=True, logits_to_keep=1)
        next_lp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        self._prefix = _PrefixState(text, ids, out.cache, next_lp)
        return self._prefix

    def _continuation_logprob(self, cache: Any, next_lp: torch.Tensor, cont: list[int]) -> float:
        import torch

        total = float(next_lp[cont[0]])
        if len(cont) > 1:
            out = self.model(
                input_ids=self._tensor(cont[:-1]),
                cache=copy.deepcopy(cache),
                use_cache=True,
            )
            lps = torch.log_softmax(out.logits[0].float(), dim=-1)
            total += float(sum(lps[j, cont[j + 1]] for j in range(len(cont) - 1)))
        return total

    def _full_logprob(self, context: list[int], cont: list[int]) -> float:
        import torch

        keep = len(cont) + 1  # the positions that predict the continuation's tokens (and one more)
        out = self.model(
            input_ids=self._tensor(context + cont), use_cache=False, logits_to_keep=keep
        )
        lps = torch.log_softmax(out.logits[0].float(), dim=-1)
        return float(sum(lps[j, cont[j]] for j in range(len(cont))))

    # ------------------------------------------------------------------ generation

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str]
    ) -> list[str]:
        """Greedy-decode every prompt (batched, left-padded) and cut at the stop strings."""
        import torch

        encoded = [self._bos() + self._ids(p) for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        results: list[str] = [""] * len(prompts)
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = max(len(encoded[i]) for i in batch)
            ids = [[pad] * (width - len(encoded[i])) + encoded[i] for i in batch]
            mask = [[0] * (width - len(encoded[i])) + [1] * len(encoded[i]) for i in batch]
            stopper = _stopper(self.tokenizer, width, stop, self.repeat_span)
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=torch.tensor(ids, device=self._device),
                    attention_mask=torch.tensor(mask, device=self._device),
                    do_sample=False,
                    max_new_tokens=max_new_tokens,
                    stopping_criteria=[stopper],
                    pad_token_id=pad,
                )
            for row, i in enumerate(batch):
                text = self.tokenizer.decode(out[row, width:], skip_special_tokens=True)
                results[i] = cut_at_stop(text, stop)
        return results


def _stopper(tokenizer: Any, start: int, stop: Sequence[str], repeat_span: int | None) -> Any:
    """Build a per-row stopping criterion: a stop string appeared, or the row loops."""
    import torch
    from transformers import StoppingCriteria

    class _Stop(StoppingCriteria):  # type: ignore[misc]
        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            done = []
            for row in input_ids[:, start:].tolist():
                text = tokenizer.decode(row, skip_special_tokens=True)
                done.append(any(s in text for s in stop) or _loops(row, repeat_span))
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return _Stop()


def _loops(tokens: list[int], span: int | None) -> bool:
    """Return True when the last ``span`` tokens occurred earlier in ``tokens``.

    Example:
        >>> _loops([1, 2, 3, 1, 2, 3], 3), _loops([1, 2, 3, 4], 2)
        (True, False)
    """
    if span is None or len(tokens) < 2 * span:
        return False
    tail = tokens[-span:]
    return any(tokens[i : i + span] == tail for i in range(len(tokens) - span))
