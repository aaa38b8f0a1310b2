"""LangChain's standard chat-model suites on LocalHFChatModel (a tiny random Llama, offline).

The model is randomly initialised: its replies are gibberish, which is all invoke, stream, batch
and conversation tests need (some text comes back, in the right shape).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from bridgex_chain.models.hf import HFCore
from bridgex_chain.models.langchain import LocalHFChatModel


class _LocalHFChatModelSuite:
    """What both suites share: the model class, its parameters and its capabilities."""

    core: HFCore

    @pytest.fixture(autouse=True)
    def _core(self, tiny_chat_core: HFCore) -> None:
        self.core = tiny_chat_core

    @property
    def chat_model_class(self) -> type[LocalHFChatModel]:
        return LocalHFChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"core": self.core, "max_new_tokens": 8}

    @property
    def has_tool_calling(self) -> bool:
        # A local model behind a chat template: no tool-call format is parsed from its text.
        return False

    @property
    def has_structured_output(self) -> bool:
        # Needs tool calling or JSON mode (constrained decoding), which the adapter has neither of.
        return False

    @property
    def supports_model_override(self) -> bool:
        # The adapter wraps one loaded model: a call cannot switch it with `model=`.
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        # The tokenizer counts the rendered prompt and the reply.
        return True

    @property
    def supports_json_mode(self) -> bool:
        # No constrained decoding: nothing makes the text valid JSON.
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        # The suite binds an Anthropic-format tool, and the adapter has no tool calling.
        return False

    # Images, PDFs and audio: a text-only causal LM; messages are rendered to their text.
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


class TestLocalHFChatModelUnit(_LocalHFChatModelSuite, ChatModelUnitTests):
    pass


class TestLocalHFChatModelIntegration(_LocalHFChatModelSuite, ChatModelIntegrationTests):
    pass
