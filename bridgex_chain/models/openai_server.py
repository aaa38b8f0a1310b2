r"""A model behind an OpenAI-compatible server (vLLM, llama.cpp's server, TGI) as a LangChain model.

:func:`openai_compatible` returns langchain-openai's clients pointed at the server, set up the
way the chain needs them:

* ``chat=False`` (the default): an ``OpenAI`` LLM on the **completions** endpoint, for base
  models such as Gemma-3-270m. The chain sends completion-style prompts (``User:`` /
  ``Assistant:`` lines, ``Label:``, ``English:``…) with stop strings, as it does for the local
  model.
* ``chat=True``: a ``ChatOpenAI`` chat model on the **chat completions** endpoint, for instruct
  models: the server applies the model's chat template to the chain's messages.

Both are greedy (``temperature=0``), send ``max_tokens`` (what every compatible server reads;
langchain-openai's chat client would send ``max_completion_tokens``), never read
``OPENAI_API_KEY`` (a key meant for api.openai.com is not sent to another server: pass
``api_key=`` for a server started with one, else a placeholder is sent), and turn the OpenAI
SDK's errors into :class:`~bridgex_chain.errors.ModelCallError` (server down, wrong address,
unknown model, refused key) or :class:`~bridgex_chain.errors.PromptTooLong` with a message that
says what to change.

**Stop strings.** OpenAI's API and TGI accept at most 4 stop strings per request (TGI:
``--max-stop-sequences``, default 4). The packaged templates send at most 3; when a call has more
than ``max_stop_sequences``, the first ones go to the server and the text is cut client-side at
all of them (:func:`~bridgex_chain.models.stops.cut_at_stop`, and
:class:`~bridgex_chain.models.stops.StopFilter` while streaming, which then closes the stream).

**What the API cannot do.** It returns generated text, not the log-likelihood of given
continuations, so these clients have no ``score_choices``: for ``classify`` and ``reading`` the
chain generates the answer and parses it to a label or option (``choice_method="generate"``).

Example:
    >>> llm = openai_compatible("http://localhost:8000/v1", "google/gemma-3-270m")
    >>> type(llm).__name__, llm.model_name, llm.temperature, llm.max_tokens
    ('ServerCompletions', 'google/gemma-3-270m', 0.0, 128)
    >>> chain = BridgeXChain(llm=llm, model="gemma-3-270m")  # doctest: +SKIP
    >>> chain.invoke("Habari, ninawezaje kupika wali?").content  # doctest: +SKIP
    'Pika wali kwa maji ...'
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.exceptions import ContextOverflowError
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import (
    ChatGeneration,
    ChatGenerationChunk,
    ChatResult,
    Generation,
    GenerationChunk,
    LLMResult,
)

from bridgex_chain.errors import (
    BridgeXError,
    InvalidOption,
    MissingDependency,
    ModelCallError,
    PromptTooLong,
)
from bridgex_chain.models.stops import StopFilter, cut_at_stop

__all__ = [
    "DEFAULT_MAX_STOP_SEQUENCES",
    "PLACEHOLDER_API_KEY",
    "check_base_url",
    "openai_compatible",
]

PLACEHOLDER_API_KEY = "EMPTY"
"""The key sent to a server that needs none (the OpenAI SDK insists on one)."""
DEFAULT_MAX_STOP_SEQUENCES = 4
"""Stop strings sent per request (OpenAI's limit and TGI's default); more are cut client-side."""

_EXAMPLE_URL = "http://localhost:8000/v1"
_START_HINT = (
    "start it (e.g. `vllm serve google/gemma-3-270m --port 8000`, or "
    "`llama-server -m gemma-3-270m.gguf --port 8080`) and pass its API root as base_url"
)
_ENDPOINTS = ("/completions", "/chat/completions")
_CONTEXT_WORDS = ("context length", "context size", "context window", "maximum context")

C = TypeVar("C", bound=Generation)


def check_base_url(base_url: str) -> str:
    """Check that ``base_url`` is the API root of a server and return it without a trailing ``/``.

    The API root is the URL the endpoints hang off: ``{base_url}/completions`` and
    ``{base_url}/chat/completions`` — ``http://host:8000/v1`` for vLLM, llama.cpp's server and
    TGI.

    Args:
        base_url: ``http(s)://host[:port]/path``.

    Returns:
        The URL, trailing slashes removed.

    Raises:
        InvalidOption: Not an http(s) URL with a host and a path, or an endpoint's URL.

    Example:
        >>> check_base_url("http://127.0.0.1:8000/v1/")
        'http://127.0.0.1:8000/v1'
        >>> check_base_url("localhost:8000/v1")
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.InvalidOption: base_url must be the server's OpenAI API root, ...'.
    """
    text = base_url.strip() if isinstance(base_url, str) else ""
    what = (
        f"base_url must be the server's OpenAI API root, http(s)://host[:port]/path such as "
        f"{_EXAMPLE_URL!r} (vLLM, TGI) or 'http://localhost:8080/v1' (llama.cpp's server); "
        f"got {base_url!r}"
    )
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOption(f"{what}.")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        raise InvalidOption(f"{what}: the port is not a number from 0 to 65535.") from None
    if parts.query or parts.fragment:
        raise InvalidOption(f"{what}: the API root takes no query ('?…') or fragment ('#…').")
    root = text.rstrip("/")
    path = urlsplit(root).path
    if not path:
        raise InvalidOption(
            f"{what}: the path of the API is missing — the servers serve it under '/v1', so "
            f"pass {root + '/v1'!r}."
        )
    for endpoint in sorted(_ENDPOINTS, key=len, reverse=True):
        if path.endswith(endpoint):
            api_root = root[: -len(endpoint)]
            raise InvalidOption(
                f"{what}: that is the URL of an endpoint; pass the API root above it, "
                f"{api_root!r} (the client adds {endpoint!r} itself)."
            )
    return root


def openai_compatible(
    base_url: str,
    model: str,
    *,
    chat: bool = False,
    api_key: str | None = None,
    max_tokens: int = 128,
    timeout: float = 600.0,
    max_retries: int = 2,
    max_stop_sequences: int | None = DEFAULT_MAX_STOP_SEQUENCES,
    **options: Any,
) -> BaseLLM | BaseChatModel:
    r"""A LangChain model generating on an OpenAI-compatible server (greedy).

    Nothing is sent until the first call: a server that is down shows up then, as a
    :class:`~bridgex_chain.errors.ModelCallError` naming ``base_url``.

    Args:
        base_url: The server's API root, e.g. ``"http://localhost:8000/v1"``
            (:func:`check_base_url`).
        model: The model name the server serves (vLLM: the name or ``--served-model-name``;
            ``GET {base_url}/models`` lists them). The chain's ``model=`` keys the bridge table;
            it defaults to this name.
        chat: Use the chat completions endpoint (instruct models, the server applies the chat
            template) instead of the completions endpoint (base models, completion prompts).
        api_key: The server's API key (``vllm serve --api-key``, ``llama-server --api-key``);
            default: a placeholder (``OPENAI_API_KEY`` is never read).
        max_tokens: Generation budget per call (the chain's ``max_new_tokens`` only reaches local
            models).
        timeout: Seconds to wait for an answer (a batch of prompts is one request on the
            completions endpoint).
        max_retries: Retries of a failed request (connection errors, 5xx, 429), with backoff.
        max_stop_sequences: Stop strings sent per request; the others are cut client-side.
            ``None`` sends all (vLLM and llama.cpp's server take any number).
        **options: Other fields of langchain-openai's client, e.g. ``batch_size`` (prompts per
            completions request, default 20; TGI takes at most ``--max-client-batch-size``,
            default 4), ``default_headers``, ``extra_body`` (server-specific sampling fields).

    Returns:
        A ``langchain_openai.OpenAI`` (``chat=False``) or ``ChatOpenAI`` (``chat=True``).

    Raises:
        MissingDependency: langchain-openai is not installed (extra ``openai``).
        InvalidOption: ``base_url`` is not an API root, or an option is out of range.

    Example:
        >>> chat = openai_compatible("http://localhost:8000/v1", "Qwen/Qwen2.5-7B-Instruct",
        ...                          chat=True, max_tokens=256)
        >>> type(chat).__name__, chat.model_name, chat.temperature
        ('ServerChat', 'Qwen/Qwen2.5-7B-Instruct', 0.0)
    """
    root = check_base_url(base_url)
    if not isinstance(model, str) or not model.strip():
        raise InvalidOption(
            f"model must be the name the server serves (GET {root}/models lists them), "
            f"got {model!r}."
        )
    if max_tokens < 1:
        raise InvalidOption(f"max_tokens must be at least 1, got {max_tokens}.")
    if timeout <= 0:
        raise InvalidOption(f"timeout must be a positive number of seconds, got {timeout}.")
    if max_retries < 0:
        raise InvalidOption(f"max_retries must be 0 or more, got {max_retries}.")
    if max_stop_sequences is not None and max_stop_sequences < 1:
        raise InvalidOption(
            f"max_stop_sequences must be at least 1 or None, got {max_stop_sequences}."
        )
    _require_langchain_openai()
    completions, chat_model = _client_classes()
    fields: dict[str, Any] = {
        "model": model.strip(),
        "base_url": root,
        "api_key": api_key or PLACEHOLDER_API_KEY,
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "timeout": timeout,
        "max_retries": max_retries,
        "max_stop_sequences": max_stop_sequences,
    }
    if chat:
        fields["use_responses_api"] = False  # the compatible servers serve chat completions
    cls: type[BaseLLM] | type[BaseChatModel] = chat_model if chat else completions
    return cls(**{**fields, **options})


# --------------------------------------------------------------------------- the clients


def _require_langchain_openai() -> None:
    try:
        import langchain_openai  # noqa: F401
    except ImportError as err:
        raise MissingDependency(
            "langchain-openai", "openai", "A model on an OpenAI-compatible server"
        ) from err


@functools.cache
def _client_classes() -> tuple[type[BaseLLM], type[BaseChatModel]]:
    """Build the two client classes (once; langchain-openai is imported only here)."""
    from langchain_openai import ChatOpenAI, OpenAI

    class ServerCompletions(OpenAI):
        """langchain-openai's ``OpenAI`` LLM with the stop limit and the errors explained."""

        max_stop_sequences: int | None = DEFAULT_MAX_STOP_SEQUENCES

        @classmethod
        def is_lc_serializable(cls) -> bool:
            """Not serializable: LangChain would load it back as a plain ``OpenAI``."""
            return False

        def _generate(
            self,
            prompts: list[str],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> LLMResult:
            served, cut = _split_stops(stop, self.max_stop_sequences)
            with _server_errors(self.openai_api_base, self.model_name):
                result = super()._generate(prompts, served, run_manager, **kwargs)
            return _cut_llm_result(result, cut) if cut else result

        async def _agenerate(
            self,
            prompts: list[str],
            stop: list[str] | None = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> LLMResult:
            served, cut = _split_stops(stop, self.max_stop_sequences)
            with _server_errors(self.openai_api_base, self.model_name):
                result = await super()._agenerate(prompts, served, run_manager, **kwargs)
            return _cut_llm_result(result, cut) if cut else result

        def _stream(
            self,
            prompt: str,
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> Iterator[GenerationChunk]:
            served, cut = _split_stops(stop, self.max_stop_sequences)
            with _server_errors(self.openai_api_base, self.model_name):
                if not cut:
                    yield from super()._stream(prompt, served, run_manager, **kwargs)
                    return
                chunks = super()._stream(prompt, served, None, **kwargs)
                for chunk in _cut_chunks(chunks, cut, _llm_chunk):
                    if run_manager is not None:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

        async def _astream(
            self,
            prompt: str,
            stop: list[str] | None = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> AsyncIterator[GenerationChunk]:
            served, cut = _split_stops(stop, self.max_stop_sequences)
            with _server_errors(self.openai_api_base, self.model_name):
                manager = None if cut else run_manager
                chunks = super()._astream(prompt, served, manager, **kwargs)
                async for chunk in _acut_chunks(chunks, cut, _llm_chunk):
                    if cut and run_manager is not None:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

    class ServerChat(ChatOpenAI):
        """langchain-openai's ``ChatOpenAI`` sending ``max_tokens``, with the stop limit."""

        max_stop_sequences: int | None = DEFAULT_MAX_STOP_SEQUENCES

        @classmethod
        def is_lc_serializable(cls) -> bool:
            """Not serializable: LangChain would load it back as a plain ``ChatOpenAI``."""
            return False

        def _get_request_payload(
            self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any
        ) -> dict[str, Any]:
            payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
            if "max_completion_tokens" in payload:  # the compatible servers read max_tokens
                payload["max_tokens"] = payload.pop("max_completion_tokens")
            return payload

        def _generate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            served, cut = _split_stops(stop, self.max_stop_sequences)
            with _server_errors(self.openai_api_base, self.model_name):
                result = super()._generate(messages, served, run_manager, **kwargs)
            return _cut_chat_result(result, cut) if cut else result

        async def _agenerate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            served, cut = _split_stops(stop, self.max_stop_sequences)
            with _server_errors(self.openai_api_base, self.model_name):
                result = await super()._agenerate(messages, served, run_manager, **kwargs)
            return _cut_chat_result(result, cut) if cut else result

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
            args, kwargs, cut = _served_call(args, kwargs, self.max_stop_sequences)
            with _server_errors(self.openai_api_base, self.model_name):
                yield from _cut_chunks(super()._stream(*args, **kwargs), cut, _chat_chunk)

        async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
            args, kwargs, cut = _served_call(args, kwargs, self.max_stop_sequences)
            with _server_errors(self.openai_api_base, self.model_name):
                chunks = super()._astream(*args, **kwargs)
                async for chunk in _acut_chunks(chunks, cut, _chat_chunk):
                    yield chunk

    return ServerCompletions, ServerChat


# --------------------------------------------------------------------------- stop strings


def _split_stops(
    stop: Sequence[str] | None, limit: int | None
) -> tuple[list[str] | None, tuple[str, ...]]:
    """The stop strings for the server, and all of them when the text must be cut here too."""
    if stop is None:
        return None, ()
    stops = [s for s in stop if s]
    if limit is None or len(stops) <= limit:
        return stops, ()
    return stops[:limit], tuple(stops)


def _served_call(
    args: tuple[Any, ...], kwargs: dict[str, Any], limit: int | None
) -> tuple[tuple[Any, ...], dict[str, Any], tuple[str, ...]]:
    """A chat ``_stream`` call's arguments with the served stop strings (``stop`` may be 2nd)."""
    if len(args) > 1:
        served, cut = _split_stops(args[1], limit)
        return (args[0], served, *args[2:]), kwargs, cut
    served, cut = _split_stops(kwargs.get("stop"), limit)
    return args, {**kwargs, "stop": served}, cut


def _cut_llm_result(result: LLMResult, stop: tuple[str, ...]) -> LLMResult:
    generations: list[list[Generation]] = [
        [Generation(text=cut_at_stop(g.text, stop), generation_info=g.generation_info) for g in gs]
        for gs in result.generations
    ]
    return result.model_copy(update={"generations": generations})


def _cut_chat_result(result: ChatResult, stop: tuple[str, ...]) -> ChatResult:
    generations = []
    for g in result.generations:
        message = g.message
        if isinstance(message.content, str):
            message = message.model_copy(update={"content": cut_at_stop(message.content, stop)})
        generations.append(ChatGeneration(message=message, generation_info=g.generation_info))
    return result.model_copy(update={"generations": generations})


def _llm_chunk(chunk: GenerationChunk | None, text: str) -> GenerationChunk:
    info = chunk.generation_info if chunk is not None else None
    return GenerationChunk(text=text, generation_info=info)


def _chat_chunk(chunk: ChatGenerationChunk | None, text: str) -> ChatGenerationChunk:
    if chunk is None:
        return ChatGenerationChunk(message=AIMessageChunk(content=text))
    if not isinstance(chunk.message.content, str):  # content blocks: passed on as they are
        return chunk
    message = chunk.message.model_copy(update={"content": text})
    return ChatGenerationChunk(message=message, generation_info=chunk.generation_info)


def _cut_chunks(
    chunks: Iterator[C], stop: tuple[str, ...], with_text: Callable[[C | None, str], C]
) -> Iterator[C]:
    """Pass ``chunks`` on, cut at ``stop`` (none: unchanged); the stream is closed at a stop."""
    if not stop:
        yield from chunks
        return
    cut = StopFilter(stop, strip=False)
    try:
        for chunk in chunks:
            yield with_text(chunk, cut.feed(chunk.text))
            if cut.done:
                return
        tail = cut.flush()
        if tail:
            yield with_text(None, tail)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def _acut_chunks(
    chunks: AsyncIterator[C], stop: tuple[str, ...], with_text: Callable[[C | None, str], C]
) -> AsyncIterator[C]:
    """Async :func:`_cut_chunks`."""
    if not stop:
        async for chunk in chunks:
            yield chunk
        return
    cut = StopFilter(stop, strip=False)
    try:
        async for chunk in chunks:
            yield with_text(chunk, cut.feed(chunk.text))
            if cut.done:
                return
        tail = cut.flush()
        if tail:
            yield with_text(None, tail)
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


# --------------------------------------------------------------------------- errors


@contextlib.contextmanager
def _server_errors(base_url: str | None, model: str | None) -> Iterator[None]:
    """Turn the OpenAI SDK's errors into bridgex errors that say what to do."""
    import openai

    try:
        yield
    except openai.APIError as err:
        raise _explained(err, base_url or "?", model or "?") from err


def _explained(err: Exception, base_url: str, model: str) -> BridgeXError:
    """The error to raise for the SDK's ``err`` (see :func:`_server_errors`)."""
    import openai

    server = f"The OpenAI-compatible server at {base_url}"
    if isinstance(err, openai.APITimeoutError):
        return ModelCallError(
            f"{server} did not answer model {model!r} in time. A long generation or a busy "
            "server needs more: pass a larger timeout= (seconds) to openai_compatible."
        )
    if isinstance(err, openai.APIConnectionError):
        detail = _root_cause(err)
        return ModelCallError(
            f"Cannot reach the OpenAI-compatible server at {base_url} ({detail}). Is it running? "
            f"If not, {_START_HINT}."
        )
    if isinstance(err, ContextOverflowError):
        return _too_long(model, base_url, str(err))
    if isinstance(err, openai.APIStatusError):
        status, detail = err.status_code, err.message
        lowered = detail.lower()
        if status in (401, 403):
            return ModelCallError(
                f"{server} refused the API key (HTTP {status}: {detail}). Pass api_key= with the "
                "key it was started with (vllm serve --api-key, llama-server --api-key)."
            )
        if status == 404:
            return ModelCallError(
                f"{server} answered 404 Not Found for model {model!r} ({detail}). Check that "
                "base_url is the API root (the servers use '/v1') and that the model is one it "
                f"serves (GET {base_url}/models lists them)."
            )
        if status in (400, 413, 422) and any(word in lowered for word in _CONTEXT_WORDS):
            return _too_long(model, base_url, detail)
        if status in (400, 422) and "stop" in lowered:
            return ModelCallError(
                f"{server} rejected the request (HTTP {status}: {detail}). If it limits stop "
                "strings, pass a smaller max_stop_sequences= (the rest are cut client-side)."
            )
        return ModelCallError(f"{server} answered HTTP {status} for model {model!r}: {detail}")
    return ModelCallError(
        f"{server} sent a reply the OpenAI client cannot read ({err}). Is base_url the API root "
        "of an OpenAI-compatible server?"
    )


def _too_long(model: str, base_url: str, detail: str) -> PromptTooLong:
    return PromptTooLong(
        f"The prompt does not fit the context window of {model!r} on {base_url} ({detail}). "
        "Shorten the input, use fewer demonstrations (num_demos=), or start the server with a "
        "longer context (vllm serve --max-model-len, llama-server -c)."
    )


def _root_cause(err: BaseException) -> str:
    """The SDK's message and, after it, the first error below the SDK (e.g. the refused socket)."""
    import openai

    seen: set[int] = set()
    below: BaseException | None = err
    while isinstance(below, openai.OpenAIError) and id(below) not in seen:
        seen.add(id(below))
        below = below.__cause__ or below.__context__
    return f"{err}: {below}" if below is not None and str(below) else str(err)
