r"""A local Hugging Face causal LM as a LangChain model: greedy generation, stop strings, streaming.

:func:`local_model` loads a model by alias, Hub id or path (:func:`bridgex_chain.models.
load_causal_lm`, memoised per process) and wraps it:

* :class:`LocalHFLLM` (a ``BaseLLM``) for base models without a chat template, such as the
  embedded Gemma-3-270m: completion-style prompts, stopped by stop strings (``"\nUser:"``).
* :class:`LocalHFChatModel` (a ``BaseChatModel``) for models with a chat template: messages are
  rendered with ``tokenizer.apply_chat_template``.

Why not ``langchain-huggingface``: ``HuggingFacePipeline._generate`` ignores ``stop`` and its
``_stream`` maps each stop string to a single token id, so a base model cannot be stopped at a
multi-token marker such as ``"\nUser:"``; ``ChatHuggingFace`` only wraps that pipeline (or remote
endpoints). Both adapters here share one small generation core (:class:`HFGenerator`): greedy by
default, ``max_new_tokens``, ``stop_strings`` handed to ``generate`` so decoding halts at the
marker, the text cut before it, and a ``TextIteratorStreamer`` on a worker thread for streaming.
Calls on one model are serialised by a lock (fast tokenizers are not re-entrant across threads).

Example:
    >>> llm = local_model("gemma-3-270m", max_new_tokens=32)  # doctest: +SKIP
    >>> llm.invoke("Swahili: maji\nEnglish:", stop=["\n"])  # doctest: +SKIP
    ' water'
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from pydantic import BaseModel, ConfigDict, Field

from bridgex_chain.errors import ModelCallError, PromptTooLong
from bridgex_chain.models.chat_adapter import ChatAdapter, ChatCall
from bridgex_chain.prompting.templates import StopFilter

__all__ = ["HFGenerator", "LocalHFChatModel", "LocalHFLLM", "local_model"]

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class HFGenerator:
    """Greedy (or sampled) generation with stop strings over a ``transformers`` causal LM.

    Args:
        model: A ``transformers`` causal LM in eval mode.
        tokenizer: Its tokenizer.
        model_id: The name reported in traces.
    """

    def __init__(self, model: Any, tokenizer: Any, model_id: str = "local") -> None:
        self.model, self.tokenizer, self.model_id = model, tokenizer, model_id
        self._lock = threading.Lock()
        self._scorer: Any = None

    def _inputs(self, text: str, templated: bool, max_new_tokens: int) -> Any:
        # A chat template already wrote <bos>; do not add it twice.
        batch = self.tokenizer(text, return_tensors="pt", add_special_tokens=not templated)
        self._check_context(int(batch["input_ids"].shape[1]), max_new_tokens)
        return batch.to(self.model.device)

    def context_length(self) -> int | None:
        """The most tokens the model reads (``max_position_embeddings``), when its config says."""
        config = getattr(self.model, "config", None)
        if config is None:
            return None
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        limit = getattr(text_config, "max_position_embeddings", None)
        return int(limit) if isinstance(limit, int) and limit > 0 else None

    def _check_context(self, prompt_tokens: int, max_new_tokens: int) -> None:
        limit = self.context_length()
        if limit is not None and prompt_tokens + max_new_tokens > limit:
            raise PromptTooLong(
                f"The prompt has {prompt_tokens} tokens and up to {max_new_tokens} more may be "
                f"generated, but {self.model_id} reads at most {limit}: shorten the query or "
                "history, use fewer demonstrations, or lower max_new_tokens."
            )

    def _generate_kwargs(
        self, stop: Sequence[str], max_new_tokens: int, do_sample: bool, temperature: float
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": do_sample}
        if do_sample:
            kwargs["temperature"] = temperature
        else:  # silence the model's sampling defaults under greedy decoding
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if stop:
            kwargs.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        pad = self.tokenizer.pad_token_id
        kwargs["pad_token_id"] = pad if pad is not None else self.tokenizer.eos_token_id
        return kwargs

    def generate(
        self,
        text: str,
        *,
        stop: Sequence[str] = (),
        max_new_tokens: int = 128,
        do_sample: bool = False,
        temperature: float = 1.0,
        templated: bool = False,
    ) -> str:
        """Return the continuation of ``text``, cut before the first stop string."""
        import torch

        kwargs = self._generate_kwargs(stop, max_new_tokens, do_sample, temperature)
        with self._lock, torch.inference_mode():
            batch = self._inputs(text, templated, max_new_tokens)
            try:
                output = self.model.generate(**batch, **kwargs)
            except Exception as err:
                raise ModelCallError(f"{self.model_id} failed to generate: {err}") from err
            new = output[0, batch["input_ids"].shape[1] :]
            completion = str(self.tokenizer.decode(new, skip_special_tokens=True))
        cut = StopFilter(stop, strip=False)
        return cut.feed(completion) + cut.flush()

    def logprobs(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """``log P(continuation | prompt)`` of each continuation, summed over its tokens.

        The prompt's shared part (up to its last blank line: instructions and demonstrations)
        is run once and its key/value cache reused (:class:`bridgex_chain.eval.lm.HFEvalLM`).
        """
        from bridgex_chain.eval.lm import HFEvalLM
        from bridgex_chain.eval.scoring import split_prompt

        with self._lock:
            if self._scorer is None:
                self._scorer = HFEvalLM(self.model, self.tokenizer, key=self.model_id)
            prefix, query = split_prompt(prompt)
            return list(self._scorer.logprobs(prefix, query, continuations))

    def stream(
        self,
        text: str,
        *,
        stop: Sequence[str] = (),
        max_new_tokens: int = 128,
        do_sample: bool = False,
        temperature: float = 1.0,
        templated: bool = False,
    ) -> Iterator[str]:
        """Yield the continuation of ``text`` piece by piece as the model writes it.

        Closing the iterator early (the consumer stops reading) stops generation too.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancel = threading.Event()

        class _Cancelled(StoppingCriteria):  # type: ignore[misc]
            def __call__(self, input_ids: Any, scores: Any, **_: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

        kwargs = self._generate_kwargs(stop, max_new_tokens, do_sample, temperature)
        kwargs["stopping_criteria"] = StoppingCriteriaList([_Cancelled()])
        with self._lock:
            batch = self._inputs(text, templated, max_new_tokens)
            streamer = TextIteratorStreamer(
                self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600.0
            )
            failure: list[BaseException] = []

            def run() -> None:
                try:
                    with torch.inference_mode():
                        self.model.generate(**batch, **kwargs, streamer=streamer)
                except BaseException as err:
                    failure.append(err)
                    streamer.end()  # type: ignore[no-untyped-call]

            worker = threading.Thread(target=run, name="bridgex-generate", daemon=True)
            worker.start()
            cut = StopFilter(stop, strip=False)
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
            raise ModelCallError(f"{self.model_id} failed to generate: {failure[0]}") from failure[
                0
            ]


class _LocalBase(BaseModel):
    """Fields, trace parameters and generation options shared by both adapters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    generator: HFGenerator = Field(exclude=True)
    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 1.0

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_id": self.generator.model_id, "max_new_tokens": self.max_new_tokens}

    def _options(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "stop": tuple(stop or ()),
            "max_new_tokens": int(kwargs.get("max_new_tokens", self.max_new_tokens)),
            "do_sample": bool(kwargs.get("do_sample", self.do_sample)),
            "temperature": float(kwargs.get("temperature", self.temperature)),
        }


class LocalHFLLM(_LocalBase, BaseLLM):
    r"""A local base model as a LangChain ``BaseLLM`` (completion-style prompts).

    Example:
        >>> llm = LocalHFLLM(generator=HFGenerator(model, tokenizer))  # doctest: +SKIP
        >>> llm.invoke("English: water\nFrench:", stop=["\n"])  # doctest: +SKIP
        ' eau'
    """

    @property
    def _llm_type(self) -> str:
        return "bridgex-local-hf"

    def score_choices(
        self, prompt: str, choices: Sequence[str], *, content_free: str | None = None
    ) -> list[float]:
        """Score each choice as the continuation of ``prompt`` (a space, then the choice).

        With ``content_free`` (the prompt with its query replaced by ``N/A``) the scores are
        calibrated: ``log P(choice | prompt) - log P(choice | content_free)`` (contextual
        calibration, Zhao et al. 2021; it moved SIB-200 accuracy on this model by up to 30
        points). The best choice has the highest score.
        """
        continuations = [f" {choice}" for choice in choices]
        scores = self.generator.logprobs(prompt, continuations)
        if content_free is None:
            return scores
        free = self.generator.logprobs(content_free, continuations)
        return [s - f for s, f in zip(scores, free, strict=True)]

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        options = self._options(stop, kwargs)
        return LLMResult(
            generations=[[Generation(text=self.generator.generate(p, **options))] for p in prompts]
        )

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        for piece in self.generator.stream(prompt, **self._options(stop, kwargs)):
            chunk = GenerationChunk(text=piece)
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


class LocalHFChatModel(_LocalBase, ChatAdapter):
    """A local model with a chat template as a LangChain ``BaseChatModel``.

    Example:
        >>> chat = LocalHFChatModel(generator=HFGenerator(model, tokenizer))  # doctest: +SKIP
        >>> chat.invoke("Habari?").content  # doctest: +SKIP
        'Nzuri!'
    """

    @property
    def _llm_type(self) -> str:
        return "bridgex-local-hf-chat"

    def render(self, messages: Sequence[BaseMessage]) -> str:
        """Apply the tokenizer's chat template, ending with the assistant's turn."""
        turns = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        text = self.generator.tokenizer.apply_chat_template(
            turns, tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def _reply(self, call: ChatCall) -> AIMessage:
        prompt, options = self.render(call.messages), self._options(call.stop, call.kwargs)
        return AIMessage(content=self.generator.generate(prompt, templated=True, **options))

    def _reply_pieces(self, call: ChatCall) -> Iterator[str]:
        prompt, options = self.render(call.messages), self._options(call.stop, call.kwargs)
        return self.generator.stream(prompt, templated=True, **options)


@functools.lru_cache(maxsize=4)
def _loaded(name: str | None) -> tuple[HFGenerator, bool]:
    """Load once per process: one generator (and so one lock) per model."""
    from bridgex_chain.models import has_chat_template, load_causal_lm

    loaded = load_causal_lm(name)
    generator = HFGenerator(loaded.model, loaded.tokenizer, loaded.spec.key)
    return generator, has_chat_template(loaded.tokenizer)


def local_model(
    name: str | None = None,
    *,
    max_new_tokens: int = 128,
    chat: bool | None = None,
    **options: Any,
) -> LocalHFLLM | LocalHFChatModel:
    """Load a local model (alias, Hub id or path; ``None`` = embedded Gemma-3-270m) and wrap it.

    Loaded models are memoised per process, so several chains share one copy.

    Args:
        name: See :func:`bridgex_chain.models.resolve_model`.
        max_new_tokens: Generation budget per call.
        chat: Force the chat (True) or completion (False) adapter; by default the chat adapter is
            used when the tokenizer has a chat template.
        **options: ``do_sample``, ``temperature``.

    Raises:
        ModelNotAvailable: The model cannot be loaded from local files.
        MissingDependency: torch/transformers are not installed.

    Example:
        >>> type(local_model()).__name__  # doctest: +SKIP
        'LocalHFLLM'
    """
    generator, templated = _loaded(name)
    use_chat = templated if chat is None else chat
    cls: type[LocalHFLLM] | type[LocalHFChatModel] = LocalHFChatModel if use_chat else LocalHFLLM
    return cls(generator=generator, max_new_tokens=max_new_tokens, **options)
