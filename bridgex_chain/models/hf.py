r"""The one inference core over a Hugging Face causal LM: generation, streaming, scoring.

Everything that runs a ``transformers`` causal LM for text lives here; the LangChain adapters
(:mod:`bridgex_chain.models.langchain`), the evaluation (:mod:`bridgex_chain.eval.lm`) and the
probing (``--filter-understood``, recording) all call it.

* Token ids and padding come from :mod:`bridgex_chain.models.tokens`.
* :class:`HFCore` holds a model and its tokenizer:

  - :meth:`HFCore.generate` — batched generation (greedy by default) of 1 or N prompts through
    one code path: prompts are sorted by length into batches, left-padded and decoded with the
    key/value cache of ``generate``. Each row stops at its first stop string, or (with
    ``repeat_span``) once it starts looping (:func:`loops`): small models often repeat a phrase
    until the token budget, and a batch runs as long as its longest row. Texts are cut before
    the stop string.
  - :meth:`HFCore.stream` — one prompt, piece by piece (a ``TextIteratorStreamer`` fed by a
    worker thread); stop strings are cut as the text streams, and closing the iterator stops
    the worker.
  - :meth:`HFCore.logprobs` — ``log P(continuation | prefix + query)``. The shared ``prefix``
    (instructions and demonstrations) is run once and its key/value cache kept; each call copies
    it, runs the query on the copy, and scores each continuation on its own copy of that cache.
    A forward pass mutates a ``DynamicCache`` in place and Gemma's sliding-window layers drop old
    entries, so the cache is deep-copied per use (cropping cannot restore dropped entries).
    ``reuse_prefix=False`` rescores the whole token sequence instead (same ids, same numbers).
    Token ids are ``[bos] + ids(prefix) + ids(query) + ids(continuation)``, each piece tokenised
    on its own, so cached and uncached scoring see exactly the same sequence.
  - :meth:`HFCore.choice_scores` — calibrated choice scores (rules in
    :mod:`bridgex_chain.models.choices`).

  Prompts that do not fit the context window raise :class:`~bridgex_chain.errors.PromptTooLong`;
  failures of the model raise :class:`~bridgex_chain.errors.ModelCallError`. A lock serialises
  calls on one core (fast tokenizers are not re-entrant across threads). torch and transformers
  are imported inside the functions that need them.

Example:
    >>> loops([1, 2, 3, 1, 2, 3], 3), loops([1, 2, 3, 4], 2)
    (True, False)
    >>> core = HFCore(model, tokenizer, "tiny")  # doctest: +SKIP
    >>> core.generate(["Swahili: maji\nEnglish:", "a"], stop=["\n"])  # doctest: +SKIP
    [' water', ' b c']
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bridgex_chain.errors import BridgeXError, InvalidOption, ModelCallError, PromptTooLong
from bridgex_chain.models.choices import calibrated, split_prompt
from bridgex_chain.models.stops import StopFilter, cut_at_stop
from bridgex_chain.models.tokens import encode, model_device, pad_batch, pad_token_id

if TYPE_CHECKING:
    import torch

__all__ = ["HFCore", "loops"]


def loops(tokens: Sequence[int], span: int | None) -> bool:
    """Return True when the last ``span`` tokens already occurred earlier in ``tokens``.

    Sequences shorter than two spans never loop; ``span=None`` disables the check.

    Example:
        >>> loops([1, 2, 3, 1, 2, 3], 3), loops([1, 2, 3, 4], 2), loops([1, 1, 1], None)
        (True, False, False)
    """
    if span is None or len(tokens) < 2 * span:
        return False
    seq = list(tokens)
    tail = seq[-span:]
    return any(seq[i : i + span] == tail for i in range(len(seq) - span))


def _stopper(
    tokenizer: Any,
    start: int,
    stop: Sequence[str],
    repeat_span: int | None,
    cancel: threading.Event | None = None,
) -> Any:
    """A per-row stopping criterion: a stop string appeared, the row loops, or ``cancel`` is set.

    ``start`` is the column where generated tokens begin (the padded prompt width).
    """
    import torch
    from transformers import StoppingCriteria

    class _Stop(StoppingCriteria):  # type: ignore[misc]
        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            if cancel is not None and cancel.is_set():
                return torch.ones(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
            done = []
            for row in input_ids[:, start:].tolist():
                hit = False
                if stop:
                    text = tokenizer.decode(row, skip_special_tokens=True)
                    hit = any(s in text for s in stop)
                done.append(hit or loops(row, repeat_span))
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return _Stop()


@dataclass
class _PrefixState:
    """The key/value cache of a scored prefix and the log-probs of the token after it."""

    text: str
    cache: Any
    next_logprobs: torch.Tensor


# ---------------------------------------------------------------------------------- the core


class HFCore:
    r"""Generation, streaming and scoring over one ``transformers`` causal LM and its tokenizer.

    See the module docstring for what each method does.

    Args:
        model: A ``transformers`` causal LM in eval mode.
        tokenizer: Its tokenizer.
        model_id: The model's name in messages and traces.
        batch_size: Prompts per ``generate`` call in :meth:`generate` (default per call).
        device: Where inputs go (default: the device of the model's parameters).

    Example:
        >>> core = HFCore(model, tokenizer, "google/gemma-3-270m")  # doctest: +SKIP
        >>> core.generate(["English: water\nFrench:"], stop=["\n"])  # doctest: +SKIP
        [' eau']
        >>> core.choice_scores("Text: mpira\nLabel:", ["sports", "travel"])  # doctest: +SKIP
        [-3.1, -6.4]
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        model_id: str = "local",
        *,
        batch_size: int = 8,
        device: str | torch.device | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidOption(f"batch_size must be at least 1, got {batch_size}.")
        self.model, self.tokenizer, self.model_id = model, tokenizer, model_id
        self.batch_size = batch_size
        self._device = device
        self._lock = threading.Lock()
        self._prefix: _PrefixState | None = None

    @property
    def device(self) -> torch.device:
        """Where inputs go: the device given, else the model's."""
        if self._device is None:
            return model_device(self.model)
        import torch

        return torch.device(self._device)

    # ------------------------------------------------------------------ limits

    def context_length(self) -> int | None:
        """The most tokens the model reads (``max_position_embeddings``), when its config says.

        Example:
            >>> from types import SimpleNamespace
            >>> model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=256))
            >>> HFCore(model, None).context_length()
            256
        """
        config = getattr(self.model, "config", None)
        if config is None:
            return None
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        limit = getattr(text_config, "max_position_embeddings", None)
        return int(limit) if isinstance(limit, int) and limit > 0 else None

    def check_context(
        self, prompt_tokens: int, new_tokens: int, *, action: str = "generated"
    ) -> None:
        """Raise :class:`PromptTooLong` unless ``prompt_tokens + new_tokens`` fit the context.

        Args:
            prompt_tokens: Tokens of the prompt.
            new_tokens: Tokens added after it (the generation budget, or a scored continuation).
            action: How the new tokens come (``"generated"``, ``"scored"``), for the message.

        Example:
            >>> from types import SimpleNamespace
            >>> model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=8))
            >>> HFCore(model, None, "tiny").check_context(6, 4)
            Traceback (most recent call last):
            ...
            bridgex_chain.errors.PromptTooLong: The prompt has 6 tokens and up to 4 more ...
        """
        limit = self.context_length()
        if limit is not None and prompt_tokens + new_tokens > limit:
            raise PromptTooLong(
                f"The prompt has {prompt_tokens} tokens and up to {new_tokens} more may be "
                f"{action}, but {self.model_id} reads at most {limit}: shorten the query or "
                "history, use fewer demonstrations, or lower max_new_tokens."
            )

    # ------------------------------------------------------------------ generation

    def _encode_prompts(
        self, prompts: Sequence[str], max_new_tokens: int, templated: bool
    ) -> list[list[int]]:
        # A chat template already wrote <bos>; do not add it twice.
        encoded = encode(self.tokenizer, prompts, add_special_tokens=not templated)
        for i, ids in enumerate(encoded):
            if not ids:
                raise InvalidOption(
                    f"Prompt {i} is empty and the tokenizer adds no <bos> token, so there is "
                    "nothing to continue: give every prompt some text."
                )
            self.check_context(len(ids), max_new_tokens)
        return encoded

    def _generate_kwargs(
        self, max_new_tokens: int, do_sample: bool, temperature: float
    ) -> dict[str, Any]:
        if max_new_tokens < 1:
            raise InvalidOption(f"max_new_tokens must be at least 1, got {max_new_tokens}.")
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "do_sample": do_sample,
            "use_cache": True,
            "pad_token_id": pad_token_id(self.tokenizer),
        }
        if do_sample:
            kwargs["temperature"] = temperature
        else:  # silence the model's sampling defaults under greedy decoding
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 128,
        stop: Sequence[str] = (),
        repeat_span: int | None = None,
        batch_size: int | None = None,
        do_sample: bool = False,
        temperature: float = 1.0,
        templated: bool = False,
    ) -> list[str]:
        r"""Continue every prompt (batched, left-padded); return only the new text of each.

        Args:
            prompts: The prompts (one or many: the same code path).
            max_new_tokens: Token budget per prompt.
            stop: Stop strings: a row stops at the first one, and its text is cut before it.
            repeat_span: Also stop a row once its last ``repeat_span`` tokens already occurred
                in it (a degenerate loop; the text up to then is kept). None: no loop check.
            batch_size: Prompts per ``generate`` call (default: the core's).
            do_sample: Sample instead of greedy decoding.
            temperature: Sampling temperature (with ``do_sample``).
            templated: The prompts were rendered by a chat template (no ``<bos>`` is added).

        Returns:
            The continuations, in the order of ``prompts``.

        Raises:
            PromptTooLong: A prompt plus ``max_new_tokens`` exceeds the context window.
            ModelCallError: The model failed.
            InvalidOption: A bad budget or batch size, or an empty prompt with no ``<bos>``.

        Example:
            >>> core.generate(["Swahili: maji\nEnglish:"], stop=["\n"])  # doctest: +SKIP
            [' water']
        """
        import torch

        stops = tuple(s for s in stop if s)
        size = self.batch_size if batch_size is None else batch_size
        if size < 1:
            raise InvalidOption(f"batch_size must be at least 1, got {size}.")
        kwargs = self._generate_kwargs(max_new_tokens, do_sample, temperature)
        if not prompts:
            return []
        with self._lock:
            encoded = self._encode_prompts(prompts, max_new_tokens, templated)
            order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
            results = [""] * len(encoded)
            device = self.device
            for begin in range(0, len(order), size):
                rows = order[begin : begin + size]
                ids, mask, _ = pad_batch(
                    [encoded[i] for i in rows], kwargs["pad_token_id"], "left", device
                )
                width = int(ids.shape[1])
                extra: dict[str, Any] = {}
                if stops or repeat_span is not None:
                    extra["stopping_criteria"] = [
                        _stopper(self.tokenizer, width, stops, repeat_span)
                    ]
                with torch.inference_mode():
                    try:
                        out = self.model.generate(
                            input_ids=ids, attention_mask=mask, **kwargs, **extra
                        )
                    except Exception as err:
                        raise ModelCallError(f"{self.model_id} failed to generate: {err}") from err
                for row, i in enumerate(rows):
                    text = str(self.tokenizer.decode(out[row, width:], skip_special_tokens=True))
                    results[i] = cut_at_stop(text, stops)
        return results

    def stream(
        self,
        prompt: str,
        *,
        stop: Sequence[str] = (),
        max_new_tokens: int = 128,
        do_sample: bool = False,
        temperature: float = 1.0,
        templated: bool = False,
    ) -> Iterator[str]:
        r"""Yield the continuation of ``prompt`` piece by piece as the model writes it.

        The pieces joined equal :meth:`generate` of the same prompt. Closing the iterator early
        (the consumer stops reading) stops generation too.

        Raises:
            PromptTooLong: The prompt plus ``max_new_tokens`` exceeds the context window.
            ModelCallError: The model failed.

        Example:
            >>> "".join(core.stream("Swahili: maji\nEnglish:", stop=["\n"]))  # doctest: +SKIP
            ' water'
        """
        import torch
        from transformers import TextIteratorStreamer

        stops = tuple(s for s in stop if s)
        kwargs = self._generate_kwargs(max_new_tokens, do_sample, temperature)
        cancel = threading.Event()
        failure: list[BaseException] = []
        with self._lock:
            encoded = self._encode_prompts([prompt], max_new_tokens, templated)
            ids, mask, _ = pad_batch(encoded, kwargs["pad_token_id"], "left", self.device)
            stopper = _stopper(self.tokenizer, int(ids.shape[1]), stops, None, cancel)
            streamer = TextIteratorStreamer(
                self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600.0
            )

            def run() -> None:
                try:
                    with torch.inference_mode():
                        self.model.generate(
                            input_ids=ids,
                            attention_mask=mask,
                            streamer=streamer,
                            stopping_criteria=[stopper],
                            **kwargs,
                        )
                except BaseException as err:
                    failure.append(err)
                    streamer.end()  # type: ignore[no-untyped-call]

            worker = threading.Thread(target=run, name="bridgex-generate", daemon=True)
            worker.start()
            cut = StopFilter(stops, strip=False)
            try:
                for piece in streamer:
                    out = cut.feed(piece)
                    if out:
                        yield out
                    if cut.done:
                        break
                tail = cut.flush()
                if tail:
                    yield tail
            finally:
                cancel.set()
                worker.join()
        if failure:
            err = failure[0]
            raise ModelCallError(f"{self.model_id} failed to generate: {err}") from err

    # ------------------------------------------------------------------ scoring

    def logprobs(
        self,
        prefix: str,
        query: str,
        continuations: Sequence[str],
        *,
        reuse_prefix: bool = True,
    ) -> list[float]:
        r"""Return ``log P(continuation | prefix + query)``, summed over its tokens, for each one.

        Args:
            prefix: The part shared by many calls (its key/value cache is kept).
            query: The part that varies.
            continuations: The texts scored after ``prefix + query``.
            reuse_prefix: Reuse the prefix's cache (fast); False rescores the whole sequence
                for every continuation (slow; the check path).

        Raises:
            InvalidOption: A continuation is empty, or there is nothing to condition on.
            PromptTooLong: The sequence exceeds the context window.
            ModelCallError: The model failed.

        Example:
            >>> core.logprobs("Topic?\n\n", "Text: mpira\nLabel:", [" sports"])  # doctest: +SKIP
            [-3.1]
        """
        with self._lock:
            try:
                return self._logprobs(prefix, query, continuations, reuse_prefix)
            except BridgeXError:
                raise
            except Exception as err:
                raise ModelCallError(f"{self.model_id} failed to score: {err}") from err

    def choice_scores(
        self,
        prompt: str,
        choices: Sequence[str],
        content_free: str | None = None,
        *,
        lead: str = " ",
    ) -> list[float]:
        r"""Score each choice as the continuation of ``prompt`` (``lead``, then the choice).

        The prompt is split at its last blank line
        (:func:`~bridgex_chain.models.choices.split_prompt`) so its shared part is cached.
        With ``content_free`` (the prompt with its query replaced by ``N/A``) the scores are
        calibrated: ``log P(choice | prompt) - log P(choice | content_free)`` (contextual
        calibration, Zhao et al. 2021). The best choice has the highest score
        (:func:`~bridgex_chain.models.choices.best_choice`).

        Raises:
            InvalidOption: No choices, or a choice that tokenises to nothing.

        Example:
            >>> core.choice_scores("Text: mpira\nLabel:", ["sports", "travel"],
            ...                    "Text: N/A\nLabel:")  # doctest: +SKIP
            [1.2, -0.4]
        """
        if not choices:
            raise InvalidOption("There are no choices to score: pass at least one choice.")
        continuations = [lead + choice for choice in choices]
        scores = self.logprobs(*split_prompt(prompt), continuations)
        if content_free is None:
            return scores
        return calibrated(scores, self.logprobs(*split_prompt(content_free), continuations))

    def _ids(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _bos(self) -> list[int]:
        bos = getattr(self.tokenizer, "bos_token_id", None)
        return [int(bos)] if bos is not None else []

    def _tensor(self, ids: list[int]) -> torch.Tensor:
        import torch

        return torch.tensor([ids], dtype=torch.long, device=self.device)

    def _forward(self, ids: list[int], cache: Any = None, *, last_only: bool = False) -> Any:
        """One forward pass with a key/value cache (``cache`` is continued, and mutated)."""
        kwargs: dict[str, Any] = {"use_cache": True}
        if cache is not None:
            kwargs[_cache_keyword(self.model)] = cache
        if last_only:
            kwargs["logits_to_keep"] = 1
        return self.model(input_ids=self._tensor(ids), **kwargs)

    def _logprobs(
        self, prefix: str, query: str, continuations: Sequence[str], reuse_prefix: bool
    ) -> list[float]:
        import torch

        if not prefix and not self._bos():
            prefix, query = query, ""  # nothing to start from: the query becomes the context
        prefix_ids = self._bos() + self._ids(prefix)
        if not prefix_ids:
            raise InvalidOption(
                "Cannot score continuations of an empty text with a tokenizer that has no <bos> "
                "token: give a prompt to condition on."
            )
        query_ids = self._ids(query)
        conts = [self._ids(c) for c in continuations]
        if any(not c for c in conts):
            raise InvalidOption(
                "Every continuation must tokenize to at least one token: drop empty choices."
            )
        if not conts:
            return []
        context = len(prefix_ids) + len(query_ids)
        self.check_context(context, max(len(c) for c in conts), action="scored")
        with torch.inference_mode():
            if not reuse_prefix:
                return [self._full_logprob(prefix_ids + query_ids, c) for c in conts]
            state = self._prefix_state(prefix, prefix_ids)
            cache = copy.deepcopy(state.cache)
            next_lp = state.next_logprobs
            if query_ids:
                out = self._forward(query_ids, cache, last_only=True)
                next_lp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            return [self._continuation_logprob(cache, next_lp, c) for c in conts]

    def _prefix_state(self, text: str, ids: list[int]) -> _PrefixState:
        import torch

        if self._prefix is not None and self._prefix.text == text:
            return self._prefix
        self._prefix = None  # free the old cache before building a new one
        out = self._forward(ids, last_only=True)
        next_lp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        self._prefix = _PrefixState(text, _output_cache(out), next_lp)
        return self._prefix

    def _continuation_logprob(self, cache: Any, next_lp: torch.Tensor, cont: list[int]) -> float:
        import torch

        total = float(next_lp[cont[0]])
        if len(cont) > 1:
            out = self._forward(cont[:-1], copy.deepcopy(cache))
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


def _cache_keyword(model: Any) -> Literal["cache", "past_key_values"]:
    """``cache`` (transformers >= 5.2x) or the older ``past_key_values``."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _output_cache(out: Any) -> Any:
    """The key/value cache of a model output, under either name."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)
