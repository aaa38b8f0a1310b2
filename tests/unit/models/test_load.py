"""Unit tests of bridgex_chain.models.load (offline, tiny models).

Resolution is tested in test_resolve.py, the embedded model's cache in test_embedded.py.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import MissingDependency, ModelNotAvailable
from bridgex_chain.models import LoadedModel, has_chat_template, hub_cache, load_causal_lm

pytestmark = pytest.mark.usefixtures("offline_private_caches")


def save_tiny(make_tiny_lm: Callable[..., Any], arch: str, directory: Path) -> Path:
    model, tokenizer, _ = make_tiny_lm(arch)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


# --------------------------------------------------------------------------- hub


def test_hub_model_missing_offline_raises_with_instructions() -> None:
    with pytest.raises(ModelNotAvailable) as info:
        load_causal_lm("org/not-downloaded")
    message = str(info.value)
    assert "hf download org/not-downloaded" in message
    assert "local" in message
    with pytest.raises(ModelNotAvailable):
        load_causal_lm("mistral")


def test_hub_model_loads_from_local_hf_cache(
    make_tiny_lm: Callable[..., Any], tmp_path: Path
) -> None:
    repo = tmp_path / "hf-home" / "hub" / "models--org--tiny-qwen"
    commit = "c0ffee" * 6 + "abcd"
    save_tiny(make_tiny_lm, "qwen2", repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)

    lm = load_causal_lm("org/tiny-qwen")
    assert lm.spec.source == "hub"
    assert lm.revision == commit
    assert lm.from_cache is True
    assert lm.architecture == "qwen2"


# --------------------------------------------------------------------------- local loading


@pytest.mark.parametrize("arch", ["llama", "mistral", "qwen2"])
def test_load_local_directory(make_tiny_lm: Callable[..., Any], tmp_path: Path, arch: str) -> None:
    import torch

    directory = save_tiny(make_tiny_lm, arch, tmp_path / f"tiny-{arch}")
    progress: list[str] = []
    first = load_causal_lm(str(directory), on_progress=progress.append)
    second = load_causal_lm(str(directory))

    assert isinstance(first, LoadedModel)
    assert first.spec.source == "local"
    assert first.architecture == arch
    assert (first.num_layers, first.intermediate_size) == (3, 64)
    assert first.from_cache is False
    assert first.model.training is False
    assert first.model.dtype == torch.float32
    assert first.revision.startswith("config-")
    assert first.revision == second.revision
    assert first.load_seconds > 0
    assert progress and first.spec.key in progress[-1]
    assert f"{arch}, 3 layers × 64" in first.describe()
    assert "config-" in repr(first)

    original, _, _ = make_tiny_lm(arch)
    ids = torch.tensor([[2, 40, 41, 42]])
    with torch.no_grad():
        assert torch.allclose(first.model(ids).logits, original(ids).logits, atol=1e-6)


def test_revision_changes_with_config(make_tiny_lm: Callable[..., Any], tmp_path: Path) -> None:
    directory = save_tiny(make_tiny_lm, "llama", tmp_path / "tiny")
    before = hub_cache.config_revision(directory / "config.json")
    config = json.loads((directory / "config.json").read_text())
    config["transformers_version"] = "0.0.1"  # ignored: a re-save by another version
    (directory / "config.json").write_text(json.dumps(config, indent=4))
    assert hub_cache.config_revision(directory / "config.json") == before
    config["rms_norm_eps"] = 0.5
    (directory / "config.json").write_text(json.dumps(config))
    assert hub_cache.config_revision(directory / "config.json") != before


def test_dtype_mapping(make_tiny_lm: Callable[..., Any], tmp_path: Path) -> None:
    import torch

    directory = save_tiny(make_tiny_lm, "mistral", tmp_path / "tiny")
    assert load_causal_lm(str(directory), dtype="bfloat16").model.dtype == torch.bfloat16
    assert load_causal_lm(str(directory), dtype="float16").model.dtype == torch.float16
    assert load_causal_lm(str(directory), dtype="auto").model.dtype == torch.float32
    with pytest.raises(ValueError, match="float32"):
        load_causal_lm(str(directory), dtype="int3")


def test_chat_template_detection(make_tiny_lm: Callable[..., Any]) -> None:
    _, tokenizer, _ = make_tiny_lm("llama")
    assert has_chat_template(tokenizer) is False
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    assert has_chat_template(tokenizer) is True


def test_local_directory_that_is_not_a_model(tmp_path: Path) -> None:
    directory = tmp_path / "broken"
    directory.mkdir()
    (directory / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(ModelNotAvailable, match="broken"):
        load_causal_lm(str(directory))


def test_missing_torch_raises_missing_dependency(
    make_tiny_lm: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = save_tiny(make_tiny_lm, "llama", tmp_path / "tiny")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependency, match=r"bridgex-chain\[probe\]"):
        load_causal_lm(str(directory))
