"""Fixtures of the probing tests: the starter probe set over five languages, a wrapped tiny LM.

Fixtures
--------
``probe_set`` (session)
    The CLDR starter probe set over :data:`PROBE_LANGS` (sw, id, tl, en, fr).
``tiny``
    The default tiny llama (``make_tiny_lm("llama")``) wrapped with
    :func:`~bridgex_chain.probing.build.wrap_model` under the key ``tiny/llama``.
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
