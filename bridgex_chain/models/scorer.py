r"""Log-likelihood scoring over a Hugging Face causal LM, with a shared prefix's cache.

:class:`PrefixScorer` computes ``log P(continuation | prefix + query)``, summed over the
continuation's tokens, for several queries and continuations at once;
:meth:`~bridgex_chain.models.hf.HFCore.logprobs` and
:meth:`~bridgex_chain.models.hf.HFCore.choice_scores` call it.

How the passes are laid out (a forward pass of a small model on a CPU costs about the same for
one token as for ten: it reads every weight, the 262k-word output layer included, so the number
of passes is what counts):

* The shared ``prefix`` (instructions and demonstrations) runs once and its key/value cache and
  next-token log-probs are kept (:class:`PrefixState`) until another prefix comes.
* Then **one** pass scores every query with every continuation: the prefix's cache is repeated
  once per row, and the rows are the queries followed by the continuations' tokens but their
  last (a query with only one-token continuations is one row; otherwise one row per
  continuation of several tokens). Rows are right-padded: a causal model never looks ahead, so
  padding changes no position that is read, and only the positions that predict a
  continuation's token reach the output layer (``logits_to_keep`` as a tensor of positions).
  A calibrated choice (the prompt and its content-free twin share their prefix) thus costs one
  prefix pass and one scoring pass.
* ``reuse_prefix=False`` rescores every whole sequence on its own instead, without a cache
  (same ids, same numbers up to float rounding): the check path.

Token ids are ``[bos] + ids(prefix) + ids(query) + ids(continuation)``, each piece tokenised on
its own, so cached and uncached scoring see exactly the same sequence. A forward pass appends to
the cache it is given and Gemma's sliding-window layers drop old entries, so every pass runs on
a copy of the kept prefix cache, never on it.

Example:
    >>> scorer = PrefixScorer(model, tokenizer, device)  # doctest: +SKIP
    >>> scorer.score("Topic?\n\n", ["Text: mpira\nLabel:", "Text: N/A\nLabel:"],
    ...              [" sports", " travel"])  # doctest: +SKIP
    [[-3.1, -6.4], [-4.0, -4.2]]
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bridgex_chain.errors import InvalidOption

if TYPE_CHECKING:
    import torch

__all__ = ["PrefixScorer", "PrefixState", "cache_keyword", "output_cache"]

_LOGITS_BUDGET = 1 << 27
"""Bytes of float32 logits one scoring pass may hold (rows beyond it go to further passes)."""

ContextCheck = Callable[[int, int], None]
"""Raises unless ``(context tokens, continuation tokens)`` fit the model's context window."""


@dataclass
class PrefixState:
    """The key/value cache of a scored prefix and the log-probs of the token after it."""

    text: str
    length: int
    cache: Any
    next_logprobs: torch.Tensor


@dataclass(frozen=True)
class _Row:
    """One sequence of a scoring pass: a query's tokens, then a continuation's (but its last)."""

    query: int
    tokens: list[int]
    start: int  # where the continuation's tokens begin in ``tokens`` (= the query's length)


def _kept(row: _Row) -> set[int]:
    """The positions of ``row`` whose logits are read: the one before each continuation token."""
    return set(range(max(row.start - 1, 0), len(row.tokens)))


class PrefixScorer:
    r"""Scores continuations after a shared prefix and its queries (see the module docstring).

    Args:
        model: A ``transformers`` causal LM in eval mode.
        tokenizer: Its tokenizer.
        device: Returns where inputs go.

    Example:
        >>> scorer = PrefixScorer(model, tokenizer, lambda: torch.device("cpu"))  # doctest: +SKIP
        >>> scorer.score("Topic?\n\n", ["Text: mpira\nLabel:"], [" sports"])  # doctest: +SKIP
        [[-3.1]]
    """

    def __init__(self, model: Any, tokenizer: Any, device: Callable[[], torch.device]) -> None:
        self.model, self.tokenizer, self._device = model, tokenizer, device
        self._prefix: PrefixState | None = None

    def score(
        self,
        prefix: str,
        queries: Sequence[str],
        continuations: Sequence[str],
        *,
        reuse_prefix: bool = True,
        check: ContextCheck | None = None,
    ) -> list[list[float]]:
        """Return ``log P(continuation | prefix + query)`` for every query and continuation.

        Args:
            prefix: The part shared by every query (its key/value cache is kept).
            queries: The parts that vary (may be empty strings).
            continuations: The texts scored after ``prefix + query``.
            reuse_prefix: Reuse the prefix's cache and score in one pass (fast); False rescores
                every whole sequence on its own (slow; the check path).
            check: Called with the longest context and continuation, in tokens, before any
                pass (it raises when they do not fit).

        Returns:
            One list per query, one log-probability per continuation.

        Raises:
            InvalidOption: A continuation is empty, or there is nothing to condition on.
        """
        import torch

        bos = self._bos()
        if not prefix and not bos:
            # nothing to start from: each query becomes its own context
            return [
                self.score(q, [""], continuations, reuse_prefix=reuse_prefix, check=check)[0]
                for q in queries
            ]
        prefix_ids = bos + self._ids(prefix)
        if not prefix_ids:
            raise InvalidOption(
                "Cannot score continuations of an empty text with a tokenizer that has no <bos> "
                "token: give a prompt to condition on."
            )
        query_ids = [self._ids(q) for q in queries]
        conts = [self._ids(c) for c in continuations]
        if any(not c for c in conts):
            raise InvalidOption(
                "Every continuation must tokenize to at least one token: drop empty choices."
            )
        if not conts or not query_ids:
            return [[] for _ in query_ids]
        if check is not None:
            check(len(prefix_ids) + max(map(len, query_ids)), max(map(len, conts)))
        with torch.inference_mode():
            if not reuse_prefix:
                return [[self._full_logprob(prefix_ids + q, c) for c in conts] for q in query_ids]
            state = self._prefix_state(prefix, prefix_ids)
            return self._scores_after(state, query_ids, conts)

    def forget(self) -> None:
        """Drop the kept prefix cache (frees its memory)."""
        self._prefix = None

    # ------------------------------------------------------------------ passes

    def _ids(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _bos(self) -> list[int]:
        bos = getattr(self.tokenizer, "bos_token_id", None)
        return [int(bos)] if bos is not None else []

    def _forward(self, ids: list[list[int]], cache: Any = None, keep: Any = 0) -> Any:
        """One forward pass over equal-length rows, continuing ``cache`` (which it extends)."""
        import torch

        kwargs: dict[str, Any] = {"use_cache": True}
        if cache is not None:
            kwargs[cache_keyword(self.model)] = cache
        if isinstance(keep, list):
            kwargs["logits_to_keep"] = torch.tensor(keep, dtype=torch.long, device=self._device())
        elif keep:
            kwargs["logits_to_keep"] = keep
        tensor = torch.tensor(ids, dtype=torch.long, device=self._device())
        return self.model(input_ids=tensor, **kwargs)

    def _prefix_state(self, text: str, ids: list[int]) -> PrefixState:
        import torch

        if self._prefix is not None and self._prefix.text == text:
            return self._prefix
        self._prefix = None  # free the old cache before building a new one
        out = self._forward([ids], keep=1)
        next_lp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        self._prefix = PrefixState(text, len(ids), output_cache(out), next_lp)
        return self._prefix

    def _scores_after(
        self, state: PrefixState, queries: list[list[int]], conts: list[list[int]]
    ) -> list[list[float]]:
        """Score every (query, continuation) after the prefix in one pass (module docstring)."""
        longer = [c for c in conts if len(c) > 1]
        rows: list[_Row] = []
        for q, query in enumerate(queries):
            if longer:
                rows += [_Row(q, query + c[:-1], len(query)) for c in longer]
            elif query:
                rows.append(_Row(q, list(query), len(query)))
        logprobs: dict[tuple[int, int], torch.Tensor] = {}  # (row, position) -> log-probs
        vocab = max(1, int(state.next_logprobs.shape[-1]))
        start = 0
        while start < len(rows):
            # rows × kept positions × vocab float32 logits stay under _LOGITS_BUDGET bytes
            stop, kept = start + 1, _kept(rows[start])
            while stop < len(rows):
                wider = kept | _kept(rows[stop])
                if (stop + 1 - start) * len(wider) * vocab * 4 > _LOGITS_BUDGET:
                    break
                stop, kept = stop + 1, wider
            self._pass(state, rows[start:stop], start, sorted(kept), logprobs)
            start = stop
        results: list[list[float]] = []
        for q, query in enumerate(queries):
            mine = [r for r, row in enumerate(rows) if row.query == q]
            first_lp = logprobs[mine[0], len(query) - 1] if query else state.next_logprobs
            scores = []
            for cont in conts:
                total = float(first_lp[cont[0]])
                if len(cont) > 1:
                    r = mine[longer.index(cont)] if cont in longer else mine[0]
                    total += sum(
                        float(logprobs[(r, len(query) + j)][cont[j + 1]])
                        for j in range(len(cont) - 1)
                    )
                scores.append(total)
            results.append(scores)
        return results

    def _pass(
        self,
        state: PrefixState,
        chunk: list[_Row],
        start: int,
        keep: list[int],
        logprobs: dict[tuple[int, int], torch.Tensor],
    ) -> None:
        """Run ``chunk`` (rows ``start``...) in one pass; store the log-probs at ``keep``."""
        import torch

        width = max(len(row.tokens) for row in chunk)
        padded = [row.tokens + [row.tokens[-1]] * (width - len(row.tokens)) for row in chunk]
        out = self._forward(padded, self._repeated(state.cache, len(chunk)), keep)
        lps = torch.log_softmax(out.logits.float(), dim=-1)
        for r in range(len(chunk)):
            for k, position in enumerate(keep):
                logprobs[(start + r, position)] = lps[r, k]

    def _repeated(self, cache: Any, rows: int) -> Any:
        """A copy of ``cache`` with ``rows`` rows (the kept one is never extended)."""
        repeat = getattr(cache, "batch_repeat_interleave", None)
        layers = getattr(cache, "layers", None)
        if not callable(repeat) or layers is None:
            if rows != 1:
                raise InvalidOption(
                    "This model's cache cannot be repeated over rows: score one query with "
                    "one-token continuations at a time."
                )
            return copy.deepcopy(cache)
        copied = copy.copy(cache)
        copied.layers = [copy.copy(layer) for layer in layers]
        copied.batch_repeat_interleave(rows)  # new tensors; the kept layers keep theirs
        return copied

    def _full_logprob(self, context: list[int], cont: list[int]) -> float:
        import torch

        keep = len(cont) + 1  # the positions that predict the continuation's tokens (and one more)
        out = self.model(
            input_ids=torch.tensor([context + cont], dtype=torch.long, device=self._device()),
            use_cache=False,
            logits_to_keep=keep,
        )
        lps = torch.log_softmax(out.logits[0].float(), dim=-1)
        return float(sum(lps[j, cont[j]] for j in range(len(cont))))


def cache_keyword(model: Any) -> Literal["cache", "past_key_values"]:
    """``cache`` (transformers >= 5.2x) or the older ``past_key_values``."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def output_cache(out: Any) -> Any:
    """The key/value cache of a model output, under either name."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)
