"""Fixtures of the models tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def offline_private_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never touch the network, the user's HF cache or the user's bridgex cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("BRIDGEX_CACHE_DIR", str(tmp_path / "bridgex-cache"))
