"""Fixtures for the tests that run the example scripts (tests/unit/examples, tests/reliability).

tests/conftest.py registers this module once as a pytest plugin, like tests/store_fixtures.py.
LangChain and the package are imported inside the fixtures, so registering it imports neither.

Fixtures
--------
``load_example``
    ``load(name) -> module``: imports ``examples/<name>.py`` afresh as a module of its own.
``example_reply``
    ``reply(prompt, word) -> str``: the instant fake model's answer to a prompt (a string or a
    prompt value): a rendering, a label, ``word`` for a word translation, else a short reply.
``fake_example_model``
    ``install(word) -> list[str]``: the embedded model (``local_model``) replaced everywhere by
    that fake for the test; the returned list collects the prompts it is given.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the example's annotations through it
    spec.loader.exec_module(module)
    return module


def _text(prompt: Any) -> str:
    return prompt if isinstance(prompt, str) else prompt.to_string()


def _reply(prompt: Any, word: str) -> str:
    text = _text(prompt)
    if text.startswith("Translate"):
        return " RENDERED\n"
    if text.endswith("Label:"):
        return " sports"
    if text.endswith(':"'):
        return f'{word}"'
    return " Jibu zuri.\nUser: more"


@pytest.fixture
def load_example() -> Callable[[str], ModuleType]:
    """Return ``load(name)`` importing ``examples/<name>.py``."""
    return _load


@pytest.fixture
def example_reply() -> Callable[[Any, str], str]:
    """Return ``reply(prompt, word)``, the fake model's answer."""
    return _reply


@pytest.fixture
def fake_example_model(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], list[str]]:
    """Return ``install(word)`` replacing the embedded model by the fake; the prompts it saw."""
    from langchain_core.runnables import RunnableLambda

    from bridgex_chain.models import langchain as llm_mod

    def install(word: str) -> list[str]:
        seen: list[str] = []

        def reply(prompt: Any) -> str:
            seen.append(_text(prompt))
            return _reply(prompt, word)

        monkeypatch.setattr(llm_mod, "local_model", lambda name=None, **kw: RunnableLambda(reply))
        return seen

    return install
