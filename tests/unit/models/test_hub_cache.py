"""Tests for bridgex_chain.models.hub_cache: the local Hugging Face cache, read offline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bridgex_chain.errors import ModelNotAvailable
from bridgex_chain.models.hub_cache import (
    cached_hub_config,
    config_revision,
    file_sha256,
    hf_hub_cache,
    hf_offline,
    hub_snapshot,
)


def test_hub_cache_location_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hf_hub_cache() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hf_hub_cache() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "direct"))
    assert hf_hub_cache() == tmp_path / "direct"


def test_offline_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert not hf_offline()
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "yes")
    assert hf_offline()
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hf_offline()


def _snapshot(cache: Path, hf_id: str, commit: str, config: dict[str, object]) -> Path:
    snap = cache / f"models--{hf_id.replace('/', '--')}" / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return snap


def test_cached_config_prefers_refs_main_then_the_newest_snapshot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert cached_hub_config("org/model") is None
    old = _snapshot(tmp_path, "org/model", "aaa", {"v": 1})
    new = _snapshot(tmp_path, "org/model", "bbb", {"v": 2})
    os.utime(old / "config.json", (1, 1))
    assert cached_hub_config("org/model") == new / "config.json"
    refs = tmp_path / "models--org--model" / "refs"
    refs.mkdir()
    (refs / "main").write_text("aaa\n", encoding="utf-8")
    assert cached_hub_config("org/model") == old / "config.json"
    assert hub_snapshot(old) == ("org/model", "aaa")
    assert hub_snapshot(tmp_path) is None


def test_revisions_of_configs_and_files(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"a": 1, "transformers_version": "4.0"}), encoding="utf-8")
    first = config_revision(config)
    config.write_text(json.dumps({"transformers_version": "5.0", "a": 1}), encoding="utf-8")
    assert config_revision(config) == first and first.startswith("config-")
    with pytest.raises(ModelNotAvailable):
        config_revision(tmp_path / "missing.json")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"maji" * 1_000_000)
    import hashlib

    assert file_sha256(blob) == hashlib.sha256(blob.read_bytes()).hexdigest()
