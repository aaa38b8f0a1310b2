r"""A local Hugging Face causal LM as a LangChain model: greedy generation, stop strings, streaming.

:func:`local_model` loads a model by alias, Hub id or path
(:func:`bridgex_chain.models.load_causal_lm`, memoised per process) and wraps it:

* :class:`LocalHFLLM` (a ``BaseLLM``) for base models without a chat template, such as the
  embedded Gemma-3-270m: completion-style prompts, stopped by stop strings (``"\nUser:"``).
* :class:`LocalHFChatModel` (a ``BaseChatModel``) for models with a chat template: messages are
  rendered with ``tokenizer.apply_chat_template``. Its replies carry ``usage_metadata`` (the
  rendered prompt's tokens; the reply's text encoded again) and
  ``response_metadata["model_name"]``; ``stop`` sets default stop strings; LangSmith's trace
  parameters name the model (``ls_model_name``), its budget and temperature.

Both take LangChain's usual ``max_tokens`` as well as ``max_new_tokens``, when built and per call.

Why not ``langchain-huggingface``: ``HuggingFacePipeline._generate`` ignores ``stop`` and its
``_stream`` maps each stop string to a single token id, so a base model cannot be stopped at a
multi-token marker such as ``"\nUser:"``; ``ChatHuggingFace`` only wraps that pipeline (or remote
endpoints). Both adapters sit on the package's one inference core
(:class:`~bridgex_chain.models.hf.HFCore`): greedy by default, ``max_new_tokens``, decoding halts
at a stop string and the text is cut before it, the prompts of one ``generate`` call run as one
padded batch, streaming uses a worker thread, and :meth:`LocalHFLLM.score_choices` gives
calibrated log-likelihood scores. This module owns only the LangChain side: messages, options,
results and chunks. One core (and so one lock) is shared per loaded model.

Example:
    >>> llm = local_model("gemma-3-270m", max_new_tokens=32)  # doctest: +SKIP
    >>> llm.invoke("Swahili: maji\nEnglish:", stop=["\n"])  # doctest: +SKIP
    ' water'
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from bridgex_chain.models.chat_adapter import ChatAdapter, ChatCall
from bridgex_chain.models.hf import HFCore

__all__ = ["LocalHFChatModel", "LocalHFLLM", "local_model"]

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class _LocalBase(BaseModel):
    """Fields, trace parameters and generation options shared by both adapters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    core: HFCore = Field(exclude=True)
    max_new_tokens: int = Field(
        default=128, validation_alias=AliasChoices("max_new_tokens", "max_tokens")
    )
    do_sample: bool = False
    temperature: float = 1.0

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_id": self.core.model_id, "max_new_tokens": self.max_new_tokens}

    def _budget(self, kwargs: dict[str, Any]) -> int:
        """The call's token budget: ``max_new_tokens`` (or ``max_tokens``), else the model's."""
        budget = kwargs.get("max_new_tokens", kwargs.get("max_tokens", self.max_new_tokens))
        return int(budget)

    def _options(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "stop": tuple(stop or ()),
            "max_new_tokens": self._budget(kwargs),
            "do_sample": bool(kwargs.get("do_sample", self.do_sample)),
            "temperature": float(kwargs.get("temperature", self.temperature)),
        }


class LocalHFLLM(_LocalBase, BaseLLM):
    r"""A local base model as a LangChain ``BaseLLM`` (completion-style prompts).

    Example:
        >>> llm = LocalHFLLM(core=HFCore(model, tokenizer))  # doctest: +SKIP
        >>> llm.invoke("English: water\nFrench:", stop=["\n"])  # doctest: +SKIP
        ' eau'
    """

    @property
    def _llm_type(self) -> str:
        return "bridgex-local-hf"

    def score_choices(
        self, prompt: str, choices: Sequence[str], *, content_free: str | None = None
    ) -> list[float]:
        r"""Score each choice as the continuation of ``prompt`` (a space, then the choice).

        With ``content_free`` (the prompt with its query replaced by ``N/A``) the scores are
        calibrated: ``log P(choice | prompt) - log P(choice | content_free)`` (contextual
        calibration, Zhao et al. 2021; it moved SIB-200 accuracy on this model by up to 30
        points). The best choice has the highest score
        (:func:`bridgex_chain.models.choices.best_choice`).

        Example:
            >>> llm.score_choices("Text: mpira\nLabel:", ["sports", "travel"])  # doctest: +SKIP
            [-3.1, -6.4]
        """
        return self.core.choice_scores(prompt, choices, content_free)

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        texts = self.core.generate(prompts, **self._options(stop, kwargs))
        return LLMResult(generations=[[Generation(text=text)] for text in texts])

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        for piece in self.core.stream(prompt, **self._options(stop, kwargs)):
            chunk = GenerationChunk(text=piece)
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


class LocalHFChatModel(_LocalBase, ChatAdapter):
    """A local model with a chat template as a LangChain ``BaseChatModel``.

    Each reply carries ``usage_metadata``: ``input_tokens`` is the rendered prompt's length,
    ``output_tokens`` the reply's text encoded again (what a stop string cut off is not
    counted). Streaming reports it once, in the last chunk.

    Example:
        >>> chat = LocalHFChatModel(core=HFCore(model, tokenizer))  # doctest: +SKIP
        >>> chat.invoke("Habari?").content  # doctest: +SKIP
        'Nzuri!'
    """

    ls_provider: ClassVar[str] = "huggingface"

    @property
    def _llm_type(self) -> str:
        return "bridgex-local-hf-chat"

    @property
    def _ls_model_name(self) -> str:
        return self.core.model_id

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """The trace parameters; greedy decoding is reported as temperature 0."""
        params = super()._get_ls_params(stop=stop, **kwargs)
        sampled = bool(kwargs.get("do_sample", self.do_sample))
        params["ls_temperature"] = (
            float(kwargs.get("temperature", self.temperature)) if sampled else 0.0
        )
        params["ls_max_tokens"] = self._budget(kwargs)
        return params

    def render(self, messages: Sequence[BaseMessage]) -> str:
        """Apply the tokenizer's chat template, ending with the assistant's turn."""
        turns = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        text = self.core.tokenizer.apply_chat_template(
            turns, tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def _usage(self, prompt: str, reply: str) -> UsageMetadata:
        """Token counts of one call: the rendered prompt and the reply's text."""
        prompt_tokens, reply_tokens = self.core.count_tokens([prompt, reply], templated=True)
        return UsageMetadata(
            input_tokens=prompt_tokens,
            output_tokens=reply_tokens,
            total_tokens=prompt_tokens + reply_tokens,
        )

    def _reply(self, call: ChatCall) -> AIMessage:
        prompt, options = self.render(call.messages), self._options(call.stop, call.kwargs)
        text = self.core.generate([prompt], templated=True, **options)[0]
        return AIMessage(
            content=text,
            usage_metadata=self._usage(prompt, text),
            response_metadata={"model_name": self.core.model_id},
        )

    def _reply_pieces(self, call: ChatCall) -> Iterator[str | AIMessage]:
        prompt, options = self.render(call.messages), self._options(call.stop, call.kwargs)
        pieces: list[str] = []
        for piece in self.core.stream(prompt, templated=True, **options):
            pieces.append(piece)
            yield piece
        yield AIMessageChunk(
            content="",
            usage_metadata=self._usage(prompt, "".join(pieces)),
            response_metadata={"model_name": self.core.model_id},
        )


@functools.lru_cache(maxsize=4)
def _loaded(name: str | None) -> tuple[HFCore, bool]:
    """Load once per process: one core (and so one lock) per model."""
    from bridgex_chain.models.load import has_chat_template, load_causal_lm

    loaded = load_causal_lm(name)
    core = HFCore(loaded.model, loaded.tokenizer, loaded.spec.key)
    return core, has_chat_template(loaded.tokenizer)


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
    core, templated = _loaded(name)
    use_chat = templated if chat is None else chat
    cls: type[LocalHFLLM] | type[LocalHFChatModel] = LocalHFChatModel if use_chat else LocalHFLLM
    return cls(core=core, max_new_tokens=max_new_tokens, **options)
