"""LangChain's standard chat-model suites on BridgeXChatModel (a fake tool-calling inner model)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests
from pydantic import BaseModel, Field

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.chat_model import BridgeXChatModel
from bridgex_chain.chain.policies import FixedBridge
from bridgex_chain.detect import Detection

_INTEGER = re.compile(r"-?\d+")
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def _user_text(messages: Sequence[BaseMessage]) -> str:
    return next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")


def _arguments(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments for a tool's JSON schema read from ``text``: its integers, its quoted words."""
    integers = [int(x) for x in _INTEGER.findall(text)]
    quoted = [a or b for a, b in _QUOTED.findall(text)]
    args: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("type")
        if kind in ("integer", "number"):
            args[name] = integers.pop(0) if integers else 0
        elif kind == "boolean":
            args[name] = True
        elif kind == "array":
            args[name] = []
        elif kind == "object":
            args[name] = {}
        else:
            args[name] = quoted.pop(0) if quoted else text.splitlines()[0]
    return args


class ToolCallingFakeChat(BaseChatModel):
    """A chat model that echoes the user and, with tools bound, calls one.

    It picks the forced tool (``tool_choice``), else a tool named in the user's words, else the
    first, and fills its arguments from the user's last message (see :func:`_arguments`). After a
    tool result it answers in text (unless a tool is forced). Usage counts words.
    """

    model_name: str = "fake-tool-caller"

    @property
    def _llm_type(self) -> str:
        return "fake-tool-calling-chat"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._answer(messages, kwargs.get("tools") or [], kwargs.get("tool_choice"))
        words = sum(len(m.text.split()) for m in messages)
        out = len(message.text.split()) + len(message.tool_calls)
        message.usage_metadata = {
            "input_tokens": words,
            "output_tokens": out,
            "total_tokens": words + out,
        }
        message.response_metadata = {"model_name": self.model_name}
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _answer(
        self, messages: list[BaseMessage], tools: list[dict[str, Any]], tool_choice: Any
    ) -> AIMessage:
        text = _user_text(messages)
        forced = tool_choice not in (None, "auto", "none")
        after_tool = isinstance(messages[-1], ToolMessage)
        if not tools or tool_choice == "none" or (after_tool and not forced):
            reply = f"Tool said {messages[-1].text}" if after_tool else f"Echo: {text}"
            return AIMessage(reply)
        functions = [t["function"] for t in tools]
        chosen = next((f for f in functions if f["name"] == tool_choice), None)
        chosen = chosen or next((f for f in functions if f["name"] in text), functions[0])
        args = _arguments(chosen.get("parameters", {}), text)
        call = {"name": chosen["name"], "args": args, "id": f"call-{len(messages)}"}
        return AIMessage("", tool_calls=[{**call, "type": "tool_call"}])


def swahili(text: str) -> Detection:
    """Every query reads as Swahili, so every call takes the bridged path (render, answer)."""
    return Detection("swh_Latn", 0.99)


def _chain() -> BridgeXChain:
    """Detect (always Swahili), look up (always French), render and answer on the fake."""
    return BridgeXChain(
        llm=ToolCallingFakeChat(),
        detector=swahili,
        table=FixedBridge("fra_Latn"),
        route_policy="table",
        model="fake/bridge-model",
    )


#: Why the structured-output suites fail on the callback count, and only on it.
NESTED_RUNS = (
    "BridgeXChatModel nests the chain's runs under its own, and the inner chat model's "
    "rendering and answer calls are chat-model runs too: on_chat_model_start fires 3 times, not "
    "once (test_structured_output_reports_the_schema_on_the_outer_run checks the rest)"
)


class _BridgeXChatModelSuite:
    """What both suites share: the model class, its parameters and its capabilities."""

    @property
    def chat_model_class(self) -> type[BridgeXChatModel]:
        return BridgeXChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"chain": _chain()}

    @property
    def has_tool_calling(self) -> bool:
        # bind_tools binds the tools on the inner model (the fake calls them) for the answer.
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        # The answer call's usage passes through (the fake reports it, as API models do).
        return True

    @property
    def supports_model_override(self) -> bool:
        # The chain's model is fixed; a call's `model=` does not switch it.
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        # Content blocks pass to the inner model as they are; the chain routes their text.
        return True

    @property
    def supports_json_mode(self) -> bool:
        # No JSON mode of its own: with_structured_output is LangChain's, on tool calling.
        return False

    # Images, PDFs and audio: the chain detects and renders a message's text only, so they would
    # reach the inner model unbridged (and the suites download them: no network here).
    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_pdf_inputs(self) -> bool:
        return False

    @property
    def supports_audio_inputs(self) -> bool:
        return False

    @property
    def supports_image_tool_message(self) -> bool:
        return False

    @property
    def supports_pdf_tool_message(self) -> bool:
        return False


class TestBridgeXChatModelUnit(_BridgeXChatModelSuite, ChatModelUnitTests):
    pass


class TestBridgeXChatModelIntegration(_BridgeXChatModelSuite, ChatModelIntegrationTests):
    @pytest.mark.xfail(reason=NESTED_RUNS, strict=True)
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    def test_structured_output(
        self,
        model: BaseChatModel,
        schema_type: Literal["pydantic", "typeddict", "json_schema"],
    ) -> None:
        super().test_structured_output(model, schema_type)

    @pytest.mark.xfail(reason=NESTED_RUNS, strict=True)
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    async def test_structured_output_async(
        self,
        model: BaseChatModel,
        schema_type: Literal["pydantic", "typeddict", "json_schema"],
    ) -> None:
        await super().test_structured_output_async(model, schema_type)


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


class _Runs(BaseCallbackHandler):
    """Records the run tree: every run's parent, and each chat-model run's options and tags."""

    def __init__(self) -> None:
        self.parents: dict[Any, Any] = {}
        self.chat_models: dict[Any, tuple[dict[str, Any] | None, list[str]]] = {}

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, **kw: Any
    ) -> None:
        self.parents[run_id] = parent_run_id

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: Any,
        parent_run_id: Any = None,
        options: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.parents[run_id] = parent_run_id
        self.chat_models[run_id] = (options, [t for t in tags or [] if t.startswith("bridgex:")])

    def ancestors(self, run_id: Any) -> list[Any]:
        found, parent = [], self.parents.get(run_id)
        while parent is not None:
            found.append(parent)
            parent = self.parents.get(parent)
        return found


@pytest.mark.parametrize("method", ["invoke", "stream"])
def test_structured_output_reports_the_schema_on_the_outer_run(method: str) -> None:
    """What the xfailed suites check besides the count: the parse and the outer run's schema."""
    chat = BridgeXChatModel(chain=_chain()).with_structured_output(Joke)
    runs = _Runs()
    question = "Tell me a joke about 'cats' and 'dogs'."
    config: RunnableConfig = {"callbacks": [runs]}
    if method == "invoke":
        result = chat.invoke(question, config=config)
    else:
        *_, result = chat.stream(question, config=config)
    assert result == Joke(setup="cats", punchline="dogs")
    outer = [run for run, (_, tags) in runs.chat_models.items() if not tags]
    assert len(outer) == 1
    options, _ = runs.chat_models[outer[0]]
    assert options is not None
    assert options["ls_structured_output_format"]["schema"] == convert_to_json_schema(Joke)
    # the other chat-model runs are the inner model's rendering and answer calls
    inner = {run: tags for run, (_, tags) in runs.chat_models.items() if tags}
    assert sorted(inner.values()) == [["bridgex:answer"], ["bridgex:render"]]
    if method == "invoke":  # they nest under the outer run (a streamed call has no run manager)
        assert all(outer[0] in runs.ancestors(run) for run in inner)
