"""Fixtures of the probing tests: the starter probe set over five languages, a wrapped tiny LM.

Fixtures
--------
``probe_set`` (session)
    The CLDR starter probe set over :data:`PROBE_LANGS` (sw, id, tl, en, fr).
``tiny``
    The default tiny llama (``make_tiny_lm("llama")``) wrapped with
    :func:`~bridgex_chain.probing.build.wrap_model` under the key ``tiny/llama``.
``fast_options``
    Build options (a fresh dict) small and fast, yet wide enough on a 3-layer × 64-neuron model
    to give every group members: sw and id over the bridges en and fr, pairs id-tl, 6 prompts,
    top rate 0.1, layers 0-2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridgex_chain.probing.probe_set import ProbeSet

#: Languages of the ``probe_set`` fixture.
PROBE_LANGS: tuple[str, ...] = ("sw", "id", "tl", "en", "fr")


@pytest.fixture(scope="session")
def probe_set() -> ProbeSet:
    """The CLDR starter probe set over :data:`PROBE_LANGS`."""
    from bridgex_chain.probing.starter import starter_probe_set

    return starter_probe_set(PROBE_LANGS)


@pytest.fixture
def tiny(make_tiny_lm: Callable[..., tuple[Any, Any, str]]) -> Any:
    """The default tiny llama as a :class:`~bridgex_chain.models.LoadedModel` (``tiny/llama``)."""
    from bridgex_chain.probing.build import wrap_model

    model, tokenizer, arch = make_tiny_lm("llama")
    return wrap_model(model, tokenizer, key=f"tiny/{arch}")


@pytest.fixture
def fast_options() -> dict[str, Any]:
    """Small, fast build options (see the module docstring)."""
    return {
        "languages": ["sw", "id"],
        "bridges": ["en", "fr"],
        "pairs": "id-tl",
        "max_prompts": 6,
        "top_rate": 0.1,
        "layers": "0-2",
    }
