"""Fixtures of the standard suites: a tiny random chat model (no downloads).

Fixtures
--------
``tiny_chat_core`` (session)
    An :class:`~bridgex_chain.models.hf.HFCore` over the tiny random Llama of
    ``tests/conftest.py`` (``make_tiny_lm``), its tokenizer given a small chat template. Shared by
    every test of the session: do not change it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridgex_chain.models.hf import HFCore

#: A minimal chat template: ``<role>content`` per turn, then ``<assistant>``.
CHAT_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


@pytest.fixture(scope="session")
def tiny_chat_core(make_tiny_lm: Callable[..., tuple[Any, Any, str]]) -> HFCore:
    """The tiny random Llama with a chat template, as the core of a local chat model."""
    model, tokenizer, _ = make_tiny_lm("llama")
    tokenizer.chat_template = CHAT_TEMPLATE
    return HFCore(model, tokenizer, "tiny/llama-chat")
