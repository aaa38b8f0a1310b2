r"""The one inference core over a Hugging Face causal LM: generation, streaming, scoring.

Everything that runs a ``transformers`` causal LM for text lives here; the LangChain adapters
(:mod:`bridgex_chain.models.langchain`), the evaluation (:mod:`bridgex_chain.eval.lm`) and the
probing (``--filter-understood``, recording) all call it.

* Token ids and padding come from :mod:`bridgex_chain.models.tokens`.
* :class:`HFCore` holds a model and its tokenizer:

  - :meth:`HFCore.generate` — batched generation of 1 or N prompts through one code path.
    Each row stops at its first stop string, at end-of-sequence, at the token budget, or (with
    ``repeat_span``) once it starts looping (:func:`loops`): small models often repeat a phrase
    until the token budget. Texts are cut before the stop string.

    Greedy decoding runs the core's own loop over a ``DynamicCache`` (:class:`_Rows`) that keeps
    up to ``batch_size`` rows decoding and drops the rest of the cost: prompts go longest first,
    a batch at a time, left-padded, through one prefill that keeps the logits of the last
    position only; after every step the rows that finished leave the batch (their cache rows,
    mask and positions are dropped, and padding no row needs any more), and prefilled prompts
    take the freed places (their caches left-padded to a common width). A decoding step reads
    every weight whatever the rows (on Gemma-3-270m, CPU, one thread, a 16-row step costs
    about 2.2-2.4 one-row steps), so it is full batches that make batching pay; a batch that runs
    as long as its longest row, as under ``generate``, spends most of its steps on a few rows.
    While the loop runs, float32 ``Linear`` layers on an x86 CPU run on oneDNN, not MKL
    (:meth:`HFCore._fast_linears`): the 262k-word output layer, half of a step, always; the
    others whenever they see more than one row.
    Left padding leaves each row's positions and sliding windows as they are on its own, so a
    row decodes to the same tokens in a batch as alone, up to float rounding (which can flip a
    near-tie: rare, and checked by ``benchmarks/bench_generate.py``).

    Sampling, generation configs that add logits processors (:func:`_plain_greedy`), and
    models whose cache the loop cannot split or merge use ``transformers``' ``generate``
    instead: length-sorted batches of ``batch_size`` that run as long as their longest row.
  - :meth:`HFCore.stream` — one prompt, piece by piece (a ``TextIteratorStreamer`` fed by a
    worker thread); stop strings are cut as the text streams, and closing the iterator stops
    the worker.
  - :meth:`HFCore.logprobs` — ``log P(continuation | prefix + query)``, computed by
    :class:`~bridgex_chain.models.scorer.PrefixScorer`: the shared ``prefix`` (instructions and
    demonstrations) runs once and its key/value cache is kept; then one forward pass scores the
    query with every continuation (rows right-padded, only the positions read reach the output
    layer). ``reuse_prefix=False`` rescores every whole sequence instead (the check path).
  - :meth:`HFCore.choice_scores` — calibrated choice scores (rules in
    :mod:`bridgex_chain.models.choices`). The prompt and its content-free twin share their
    prefix, so a calibrated choice costs one prefix pass and one scoring pass (on Gemma-3-270m,
    one thread: about 1.0 s per SIB-200 item with 3 demonstrations, against 1.45 s with a
    pass per query and per continuation). Results are remembered (``score_memo``): scoring is
    deterministic, and two chains that build the same prompt (eval's ``table`` and
    ``detected`` arms) pay once. Scoring runs on the same oneDNN kernels as the greedy loop.
  - :meth:`HFCore.count_tokens` — the length of texts in tokens, encoded as prompts are (the
    chat adapter's ``usage_metadata``).

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

import contextlib
import copy
import inspect
import platform
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from bridgex_chain.errors import BridgeXError, InvalidOption, ModelCallError, PromptTooLong
from bridgex_chain.models.choices import calibrated, split_prompt
from bridgex_chain.models.scorer import PrefixScorer, cache_keyword, output_cache
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


class _Unsupported(Exception):
    """The greedy loop cannot run this model (its cache cannot be split or merged)."""


#: Generation-config fields that add no logits processor to greedy decoding with the call's own
#: budget: token ids, sampling-only and beam-only knobs, output flags, cache and compile choices.
_GREEDY_IGNORED = frozenset(
    {
        "_from_model_config",
        "transformers_version",
        "bos_token_id",
        "eos_token_id",
        "pad_token_id",
        "decoder_start_token_id",
        "max_length",
        "max_new_tokens",
        "do_sample",
        "temperature",
        "top_k",
        "top_p",
        "min_p",
        "typical_p",
        "top_h",
        "epsilon_cutoff",
        "eta_cutoff",
        "length_penalty",
        "early_stopping",
        "use_cache",
        "cache_implementation",
        "cache_config",
        "max_cache_len",
        "compile_config",
        "disable_compile",
        "prefill_chunk_size",
        "continuous_batching_config",
        "output_attentions",
        "output_hidden_states",
        "output_scores",
        "output_logits",
        "return_dict_in_generate",
        "is_assistant",
        "num_assistant_tokens",
        "num_assistant_tokens_schedule",
        "assistant_confidence_threshold",
        "assistant_lookbehind",
        "target_lookbehind",
        "max_matching_ngram_size",
    }
)
#: Fields that add no processor at these values either (their defaults in older configs).
_GREEDY_NEUTRAL: dict[str, Any] = {
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "min_length": 0,
    "min_new_tokens": 0,
    "num_beams": 1,
    "num_beam_groups": 1,
    "num_return_sequences": 1,
    "diversity_penalty": 0.0,
    "penalty_alpha": 0.0,
    "guidance_scale": 1.0,
    "renormalize_logits": False,
    "remove_invalid_values": False,
    "low_memory": False,
    "token_healing": False,
    "use_mtp": False,
}


def _plain_greedy(generation_config: Any) -> bool:
    """True when ``generate`` would decode greedily with no logits processor from this config.

    Example:
        >>> from types import SimpleNamespace
        >>> _plain_greedy(SimpleNamespace(to_dict=lambda: {"eos_token_id": 1, "num_beams": 1}))
        True
        >>> _plain_greedy(SimpleNamespace(to_dict=lambda: {"repetition_penalty": 1.3}))
        False
    """
    if generation_config is None:
        return True
    for key, value in generation_config.to_dict().items():
        if value is None or key in _GREEDY_IGNORED:
            continue
        if key not in _GREEDY_NEUTRAL or value != _GREEDY_NEUTRAL[key]:
            return False
    return True


class _Rows:
    """The rows decoded together: their key/value cache, 2-D attention mask and next tokens.

    The cache is a ``DynamicCache`` of full-attention (``DynamicLayer``) and sliding-window
    (``DynamicSlidingWindowLayer``) layers over ``width`` columns, the width of ``mask``; rows are
    left-padded, so every row ends at the last column. A sliding layer keeps only the last
    ``sliding_window - 1`` columns and counts all of them in ``cumulative_length``. Selecting,
    trimming and merging keep that bookkeeping, so the model sees the batch as if it had been
    left-padded this way from its first forward pass.

    Attributes:
        index: The prompt index of each row.
        tokens: The tokens generated so far, per row.
        cache: The key/value cache (batch dimension = rows).
        mask: The 2-D attention mask over the cached columns, ``[rows, width]``.
        positions: The position id of each row's next token, ``[rows]``.
        logits: The next-token logits of each row, ``[rows, vocab]`` (after a forward pass).
        next_ids: The token each row feeds to the next step, ``[rows]`` (after :meth:`keep`).
    """

    def __init__(
        self,
        index: list[int],
        cache: Any,
        mask: torch.Tensor,
        positions: torch.Tensor,
        logits: torch.Tensor,
    ) -> None:
        self.index = index
        self.tokens: list[list[int]] = [[] for _ in index]
        self.cache, self.mask, self.positions, self.logits = cache, mask, positions, logits
        self.next_ids = positions.new_zeros(0)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def width(self) -> int:
        """The number of cached columns (padding included)."""
        return int(self.mask.shape[1])

    def check(self) -> None:
        """Raise :class:`_Unsupported` unless the cache has the layout this class maintains."""
        from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

        layers = getattr(self.cache, "layers", None)
        if not layers:
            raise _Unsupported("the cache has no layers")
        for layer in layers:
            if type(layer) not in (DynamicLayer, DynamicSlidingWindowLayer):
                raise _Unsupported(f"cache layer {type(layer).__name__}")
            if not layer.is_initialized or getattr(layer, "record_past", False):
                raise _Unsupported("a cache layer holds no states of its own")
            if tuple(layer.keys.shape[:1]) != (len(self),) or layer.keys.shape[-2] != _kept(
                layer, self.width
            ):
                raise _Unsupported("the cache does not hold one column per input token")

    def keep(self, rows: list[int], next_ids: torch.Tensor) -> None:
        """Keep only ``rows`` (batch indices), each to be fed its token in ``next_ids``."""
        import torch

        if len(rows) < len(self):
            select = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
            self.cache.batch_select_indices(select)
            self.mask, self.positions = self.mask[select], self.positions[select]
            next_ids = next_ids[select]
            self.index = [self.index[r] for r in rows]
            self.tokens = [self.tokens[r] for r in rows]
            self._trim()
        self.next_ids = next_ids

    def take(self, count: int) -> _Rows:
        """Remove the first ``count`` rows and return them (all of them: ``self`` itself)."""
        if count >= len(self):
            return self
        part = copy.copy(self)
        part.cache = copy.copy(self.cache)
        part.cache.layers = [copy.copy(layer) for layer in self.cache.layers]
        for mine, theirs in zip(self.cache.layers, part.cache.layers, strict=True):
            theirs.keys, mine.keys = mine.keys[:count], mine.keys[count:]
            theirs.values, mine.values = mine.values[:count], mine.values[count:]
        part.mask, self.mask = self.mask[:count], self.mask[count:]
        part.positions, self.positions = self.positions[:count], self.positions[count:]
        part.next_ids, self.next_ids = self.next_ids[:count], self.next_ids[count:]
        part.index, self.index = self.index[:count], self.index[count:]
        part.tokens, self.tokens = self.tokens[:count], self.tokens[count:]
        part._trim()
        self._trim()
        return part

    def merge(self, other: _Rows) -> None:
        """Append the rows of ``other`` (both left-padded to the wider of the two)."""
        import torch

        width = max(self.width, other.width)
        for mine, theirs in zip(self.cache.layers, other.cache.layers, strict=True):
            keys, values = _widen(mine, self.width, width)
            more_keys, more_values = _widen(theirs, other.width, width)
            mine.keys = torch.cat([keys, more_keys])
            mine.values = torch.cat([values, more_values])
            if hasattr(mine, "cumulative_length"):
                mine.cumulative_length = width
        pad = torch.nn.functional.pad
        self.mask = torch.cat(
            [pad(self.mask, (width - self.width, 0)), pad(other.mask, (width - other.width, 0))]
        )
        self.positions = torch.cat([self.positions, other.positions])
        self.next_ids = torch.cat([self.next_ids, other.next_ids])
        self.index += other.index
        self.tokens += other.tokens

    def _trim(self) -> None:
        """Drop the leading columns that are padding in every row (after rows left)."""
        lead = int(self.mask.any(0).long().argmax())
        if lead == 0:
            return
        width = self.width - lead
        for layer in self.cache.layers:
            kept = _kept(layer, width)
            layer.keys = layer.keys[:, :, layer.keys.shape[-2] - kept :]
            layer.values = layer.values[:, :, layer.values.shape[-2] - kept :]
            if hasattr(layer, "cumulative_length"):
                layer.cumulative_length = width
        self.mask = self.mask[:, lead:]


def _kept(layer: Any, width: int) -> int:
    """How many of ``width`` columns a cache layer holds (a sliding one: its window, minus 1)."""
    window = getattr(layer, "sliding_window", None)
    return width if window is None else min(width, int(window) - 1)


def _widen(layer: Any, width: int, wider: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The keys and values of a cache layer over ``width`` columns, left-padded to ``wider``."""
    import torch

    extra = _kept(layer, wider) - _kept(layer, width)
    if extra == 0:
        return layer.keys, layer.values
    pad = torch.nn.functional.pad
    return pad(layer.keys, (0, 0, extra, 0)), pad(layer.values, (0, 0, extra, 0))


# ---------------------------------------------------------------------------------- the core


class HFCore:
    r"""Generation, streaming and scoring over one ``transformers`` causal LM and its tokenizer.

    See the module docstring for what each method does.

    Args:
        model: A ``transformers`` causal LM in eval mode.
        tokenizer: Its tokenizer.
        model_id: The model's name in messages and traces.
        batch_size: Most rows decoded together in :meth:`generate` (default per call).
        device: Where inputs go (default: the device of the model's parameters).
        score_memo: How many :meth:`choice_scores` results are remembered (scoring is
            deterministic, so a prompt scored again, as when two chains build the same prompt,
            costs nothing); 0 remembers none.

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
        score_memo: int = 8192,
    ) -> None:
        if batch_size < 1:
            raise InvalidOption(f"batch_size must be at least 1, got {batch_size}.")
        self.model, self.tokenizer, self.model_id = model, tokenizer, model_id
        self.batch_size = batch_size
        self._device = device
        self._lock = threading.Lock()
        self._scorer = PrefixScorer(model, tokenizer, lambda: self.device)
        self._memo: OrderedDict[tuple[Any, ...], list[float]] = OrderedDict()
        self.score_memo = score_memo
        # float32 Linear layer -> its oneDNN forward, or None where oneDNN disagrees or is missing
        self._kernels: weakref.WeakKeyDictionary[Any, Callable[..., Any] | None] = (
            weakref.WeakKeyDictionary()
        )

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

    def count_tokens(self, texts: Sequence[str], *, templated: bool = False) -> list[int]:
        """How many tokens each text has, encoded as :meth:`generate` encodes a prompt.

        Args:
            texts: The texts.
            templated: The texts were rendered by a chat template (no ``<bos>`` is added);
                also the way to count a generated continuation.

        Example:
            >>> core.count_tokens(["Swahili: maji"])  # doctest: +SKIP
            [6]
        """
        with self._lock:
            return [
                len(ids) for ids in encode(self.tokenizer, texts, add_special_tokens=not templated)
            ]

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

        Greedy decoding keeps ``batch_size`` rows decoding while prompts wait and drops each row
        as it finishes (see the module docstring); sampling runs ``generate`` on fixed batches.

        Args:
            prompts: The prompts (one or many: the same code path).
            max_new_tokens: Token budget per prompt.
            stop: Stop strings: a row stops at the first one, and its text is cut before it.
            repeat_span: Also stop a row once its last ``repeat_span`` tokens already occurred
                in it (a degenerate loop; the text up to then is kept). None: no loop check.
            batch_size: Most rows decoded together (default: the core's).
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
        stops = tuple(s for s in stop if s)
        size = self.batch_size if batch_size is None else batch_size
        if size < 1:
            raise InvalidOption(f"batch_size must be at least 1, got {size}.")
        kwargs = self._generate_kwargs(max_new_tokens, do_sample, temperature)
        if not prompts:
            return []
        with self._lock:
            encoded = self._encode_prompts(prompts, max_new_tokens, templated)
            if not do_sample and (keyword := self._greedy_keyword()) is not None:
                # longest prompts first: long sentences tend to have long continuations, and
                # starting them early leaves the short ones to fill the batch at the end
                longest = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
                try:
                    ids = self._greedy(
                        encoded, longest, size, max_new_tokens, stops, repeat_span, keyword
                    )
                except _Unsupported:
                    pass  # the model's cache cannot be split or merged: use `generate`
                else:
                    texts = (self.tokenizer.decode(row, skip_special_tokens=True) for row in ids)
                    return [cut_at_stop(str(text), stops) for text in texts]
            order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
            return self._hf_generate(encoded, order, size, stops, repeat_span, kwargs)

    def _hf_generate(
        self,
        encoded: list[list[int]],
        order: list[int],
        size: int,
        stops: tuple[str, ...],
        repeat_span: int | None,
        kwargs: dict[str, Any],
    ) -> list[str]:
        """Generate with ``transformers``' ``generate``: fixed batches of ``size`` prompts."""
        import torch

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
                extra["stopping_criteria"] = [_stopper(self.tokenizer, width, stops, repeat_span)]
            with torch.inference_mode():
                try:
                    out = self.model.generate(input_ids=ids, attention_mask=mask, **kwargs, **extra)
                except Exception as err:
                    raise ModelCallError(f"{self.model_id} failed to generate: {err}") from err
            for row, i in enumerate(rows):
                text = str(self.tokenizer.decode(out[row, width:], skip_special_tokens=True))
                results[i] = cut_at_stop(text, stops)
        return results

    # ------------------------------------------------------------------ the greedy loop

    def _greedy_keyword(self) -> str | None:
        """The model's cache keyword when the greedy loop can run it, else None (use ``generate``).

        The loop needs a decoder-only model whose forward takes an attention mask, position ids,
        ``logits_to_keep`` and a cache, and a generation config that adds no logits processor.
        """
        config = getattr(self.model, "config", None)
        if config is None or getattr(config, "is_encoder_decoder", False):
            return None
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        layer_types = getattr(text_config, "layer_types", None) or ()
        if not set(layer_types) <= {"full_attention", "sliding_attention"}:
            return None  # chunked, linear or indexed attention keep state the loop cannot merge
        if not _plain_greedy(getattr(self.model, "generation_config", None)):
            return None
        try:
            params = inspect.signature(self.model.forward).parameters
        except (TypeError, ValueError):
            return None
        if not {"attention_mask", "position_ids", "logits_to_keep"} <= set(params):
            return None
        return cache_keyword(self.model)

    def _greedy(
        self,
        encoded: list[list[int]],
        order: list[int],
        size: int,
        max_new_tokens: int,
        stops: tuple[str, ...],
        repeat_span: int | None,
        keyword: str,
    ) -> list[list[int]]:
        """Greedy-decode every prompt, at most ``size`` rows at a time, keeping the batch full.

        Prompts are taken in ``order``, ``size`` at a time, into one prefill (on Gemma-3-270m,
        one thread, 16 prompts cost about 0.6 of what they cost one at a time per prompt
        token; splitting it into chunks of similar lengths to pad less measured no faster,
        since smaller matrices run slower). The prefilled rows
        wait until places are free and are then merged into the decoding batch (see
        :class:`_Rows`); the next prompts are prefilled once no row waits. A row stops at
        end-of-sequence (the token is kept, as ``generate`` keeps it; decoding drops it when it
        is a special token), after ``max_new_tokens`` tokens, at a stop string or once it
        loops: the rules of :func:`_stopper`.

        Returns:
            The generated token ids of each prompt, in the order of ``encoded``.

        Raises:
            _Unsupported: The model's cache does not have the layout :class:`_Rows` maintains.
            ModelCallError: The model failed.
        """
        import torch

        eos = _eos_ids(getattr(self.model, "generation_config", None))
        done: dict[int, list[int]] = {}
        pending = deque(order)
        rows: _Rows | None = None  # the rows being decoded
        waiting: _Rows | None = None  # prefilled rows waiting for a free place
        with torch.inference_mode(), self._fast_linears():
            try:
                while True:
                    free = size - (len(rows) if rows is not None else 0)
                    if free and not waiting and pending:
                        # prefill a whole batch at once: far cheaper per token than one by one
                        index = [pending.popleft() for _ in range(min(size, len(pending)))]
                        waiting = self._prefill_rows(index, encoded, keyword)
                        self._advance(waiting, done, eos, max_new_tokens, stops, repeat_span)
                    if free and waiting:
                        joining = waiting.take(free)
                        if joining is waiting:
                            waiting = None
                        if rows is None or not len(rows):
                            rows = joining
                        else:
                            rows.merge(joining)
                    if rows is None or not len(rows):
                        if pending or waiting:
                            continue  # every new row finished at its first token
                        break
                    self._step_rows(rows, keyword)
                    self._advance(rows, done, eos, max_new_tokens, stops, repeat_span)
            except (BridgeXError, _Unsupported):
                raise
            except Exception as err:
                raise ModelCallError(f"{self.model_id} failed to generate: {err}") from err
        return [done[i] for i in range(len(encoded))]

    @contextlib.contextmanager
    def _fast_linears(self) -> Iterator[None]:
        """Run the model's float32 ``Linear`` layers on oneDNN while the greedy loop runs.

        On x86 CPUs MKL's GEMM, which ``torch.nn.functional.linear`` calls, is slow on some
        processors (AMD) for a few rows. Measured on Gemma-3-270m, one thread: the 262k-word
        output layer (half of a decoding step) takes 41 ms instead of 58 for one row and 99
        instead of 152 for 16; a prefill runs 15-20% faster, and the 32 prompts of
        ``benchmarks/bench_generate.py`` decode 16 at a time about 7% faster with the body's
        layers on oneDNN too. For one row the body's small layers are no faster on oneDNN, so
        they keep MKL below :data:`_ONEDNN_MIN_ROWS` rows. Each layer's kernel is checked once
        against ``F.linear`` (same numbers up to float rounding) and installed as that layer's
        ``forward`` for the duration only: the model's own forward (soft-capping, hooks) runs
        unchanged. Layers whose ``forward`` is already replaced (accelerate's hooks) are left
        alone.
        """
        installed = []
        try:
            for layer, min_rows in _linear_layers(self.model):
                if "forward" in vars(layer):
                    continue
                if layer not in self._kernels:
                    self._kernels[layer] = _checked_kernel(layer, min_rows)
                kernel = self._kernels[layer]
                if kernel is not None:
                    layer.forward = kernel
                    installed.append(layer)
            yield
        finally:
            for layer in installed:
                vars(layer).pop("forward", None)

    def _prefill_rows(self, index: list[int], encoded: list[list[int]], keyword: str) -> _Rows:
        """Run the prompts ``index`` (left-padded) through the model into a new cache."""
        from transformers import DynamicCache

        ids, mask, positions = pad_batch(
            [encoded[i] for i in index], pad_token_id(self.tokenizer), "left", self.device
        )
        cache = DynamicCache(config=self.model.config)
        out = self._forward_rows(ids, mask, positions, cache, keyword)
        if output_cache(out) is not cache:
            raise _Unsupported("the model replaced the cache it was given")
        rows = _Rows(index, cache, mask, positions[:, -1] + 1, out.logits[:, -1])
        rows.check()
        return rows

    def _step_rows(self, rows: _Rows, keyword: str) -> None:
        """Feed every row its next token (one forward pass); store the new logits."""
        import torch

        rows.mask = torch.cat([rows.mask, rows.mask.new_ones(len(rows), 1)], dim=1)
        out = self._forward_rows(
            rows.next_ids[:, None], rows.mask, rows.positions[:, None], rows.cache, keyword
        )
        rows.logits = out.logits[:, -1]
        rows.positions = rows.positions + 1

    def _forward_rows(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        positions: torch.Tensor,
        cache: Any,
        keyword: str,
    ) -> Any:
        """One forward pass that keeps the logits of the last position only.

        A mask without padding is left out, as ``generate`` does (attention then needs none).
        """
        return self.model(
            input_ids=ids,
            attention_mask=None if bool(mask.all()) else mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **{keyword: cache},
        )

    def _advance(
        self,
        rows: _Rows,
        done: dict[int, list[int]],
        eos: frozenset[int],
        max_new_tokens: int,
        stops: tuple[str, ...],
        repeat_span: int | None,
    ) -> None:
        """Pick each row's greedy token; move the rows that stop into ``done``, keep the rest."""
        import torch

        next_ids = torch.argmax(rows.logits.to(torch.float32), dim=-1)
        rows.logits = rows.logits[:0]
        keep = []
        for row, token in enumerate(next_ids.tolist()):
            tokens = rows.tokens[row]
            tokens.append(token)
            if (
                token in eos
                or len(tokens) >= max_new_tokens
                or self._stops(tokens, stops, repeat_span)
            ):
                done[rows.index[row]] = tokens
            else:
                keep.append(row)
        rows.keep(keep, next_ids)

    def _stops(self, tokens: list[int], stops: tuple[str, ...], repeat_span: int | None) -> bool:
        """A row's own stop rules (those of :func:`_stopper`): a stop string, or a loop."""
        if loops(tokens, repeat_span):
            return True
        if not stops:
            return False
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return any(s in text for s in stops)

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
        # the kernels of the greedy loop, so that greedy pieces joined are generate's very tokens
        with self._lock, self._fast_linears():
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
            return self._score(prefix, [query], continuations, reuse_prefix)[0]

    def _score(
        self, prefix: str, queries: Sequence[str], continuations: Sequence[str], reuse: bool
    ) -> list[list[float]]:
        """:meth:`PrefixScorer.score` on the fast kernels, errors explained (lock held)."""

        def check(context: int, new: int) -> None:
            self.check_context(context, new, action="scored")

        try:
            with self._fast_linears():
                return self._scorer.score(
                    prefix, queries, continuations, reuse_prefix=reuse, check=check
                )
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
        key = (prompt, tuple(continuations), content_free)
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return list(self._memo[key])
            prefix, query = split_prompt(prompt)
            if content_free is None:
                scores = self._score(prefix, [query], continuations, True)[0]
            else:
                free_prefix, free_query = split_prompt(content_free)
                if free_prefix == prefix:  # the usual case: one prefix pass, one scoring pass
                    scores, free = self._score(prefix, [query, free_query], continuations, True)
                else:
                    scores = self._score(prefix, [query], continuations, True)[0]
                    free = self._score(free_prefix, [free_query], continuations, True)[0]
                scores = calibrated(scores, free)
            if self.score_memo > 0:
                self._memo[key] = list(scores)
                while len(self._memo) > self.score_memo:
                    self._memo.popitem(last=False)
            return scores


def _eos_ids(generation_config: Any) -> frozenset[int]:
    """The end-of-sequence ids ``generate`` stops at (none without a generation config).

    Example:
        >>> from types import SimpleNamespace
        >>> sorted(_eos_ids(SimpleNamespace(eos_token_id=[1, 106]))), _eos_ids(None)
        ([1, 106], frozenset())
    """
    eos = getattr(generation_config, "eos_token_id", None)
    if eos is None:
        return frozenset()
    if isinstance(eos, int):
        return frozenset({eos})
    return frozenset(int(i) for i in eos)


#: Rows from which a body ``Linear`` runs on oneDNN (:meth:`HFCore._fast_linears`); one row
#: (a single prompt's decoding step) keeps MKL's matrix-vector product, as fast there.
_ONEDNN_MIN_ROWS = 2


def _linear_layers(model: Any) -> list[tuple[Any, int]]:
    """The model's float32 ``torch.nn.Linear`` layers on an x86 CPU, with their oneDNN row floor.

    The output layer runs on oneDNN at any number of rows, the others from
    :data:`_ONEDNN_MIN_ROWS`. Nothing elsewhere, or without oneDNN.
    """
    import torch

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    if not torch.backends.mkldnn.is_available():  # type: ignore[no-untyped-call]
        return []
    modules = getattr(model, "modules", None)
    if not callable(modules):
        return []
    getter = getattr(model, "get_output_embeddings", None)
    head = getter() if callable(getter) else None
    layers = []
    for layer in modules():
        if type(layer) is not torch.nn.Linear:
            continue
        weight = layer.weight
        if weight.device.type == "cpu" and weight.dtype == torch.float32 and weight.is_contiguous():
            layers.append((layer, 1 if layer is head else _ONEDNN_MIN_ROWS))
    return layers


def _checked_kernel(layer: Any, min_rows: int = 1) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A ``forward`` for ``layer`` on oneDNN from ``min_rows`` rows, if it agrees with ``F.linear``.

    None when torch has no oneDNN linear or it gives other numbers.
    """
    import torch

    try:
        op = torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None
    linear = torch.nn.functional.linear

    def kernel(hidden: torch.Tensor) -> torch.Tensor:
        flat = hidden.reshape(-1, hidden.shape[-1])
        if flat.shape[0] < min_rows:
            return linear(hidden, layer.weight, layer.bias)
        out: torch.Tensor = op(flat, layer.weight, layer.bias, "none", [], "")
        return out.reshape(*hidden.shape[:-1], out.shape[-1])

    sample = torch.randn(
        3, 1, layer.in_features, generator=torch.Generator().manual_seed(0), dtype=torch.float32
    )
    try:
        with torch.inference_mode():
            got = op(sample.reshape(3, -1), layer.weight, layer.bias, "none", [], "")
            want = linear(sample.reshape(3, -1), layer.weight, layer.bias)
    except Exception:
        return None
    scale = float(want.abs().max()) or 1.0
    ok = got.shape == want.shape and torch.allclose(got, want, rtol=1e-4, atol=1e-4 * scale)
    return kernel if ok else None
