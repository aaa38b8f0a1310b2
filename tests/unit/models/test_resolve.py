"""Tests for bridgex_chain.models.resolve: aliases, Hub ids and local paths to a ModelSpec."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridgex_chain.errors import ModelNotAvailable
from bridgex_chain.models.embedded import MARKER_NAME, embedded_gguf_sha256
from bridgex_chain.models.resolve import (
    DEFAULT_MODEL,
    MODEL_ALIASES,
    ModelSpec,
    model_key,
    resolve_model,
)

pytestmark = pytest.mark.usefixtures("offline_private_caches")


def model_dir(path: Path, config: object = None) -> Path:
    """Create a directory holding a config.json (``config`` as JSON, or a llama config)."""
    path.mkdir(parents=True)
    body = {"model_type": "llama"} if config is None else config
    (path / "config.json").write_text(json.dumps(body))
    return path


# --------------------------------------------------------------------------- aliases


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


def test_the_default_model_key_is_the_embedded_models_hub_id() -> None:
    assert model_key() == model_key(DEFAULT_MODEL) == model_key("google/gemma-3-270m")


def test_alias_table_contents() -> None:
    assert DEFAULT_MODEL in MODEL_ALIASES
    assert all(alias == alias.lower() for alias in MODEL_ALIASES)
    assert MODEL_ALIASES["gemma-3-270m"] == "google/gemma-3-270m"
    with pytest.raises(TypeError):
        MODEL_ALIASES["x"] = "y"  # type: ignore[index]


def test_an_alias_wins_over_a_directory_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    model_dir(tmp_path / "mistral")
    assert resolve_model("mistral").source == "hub"


# --------------------------------------------------------------------------- Hub ids


def test_hf_id_resolves_to_hub() -> None:
    spec = resolve_model("google/gemma-3-1b-it")
    assert (spec.source, spec.key, spec.hf_id, spec.path) == (
        "hub",
        "google/gemma-3-1b-it",
        "google/gemma-3-1b-it",
        None,
    )
    assert "hub" in spec.describe()


def test_hub_ids_keep_their_case_and_lose_surrounding_spaces() -> None:
    spec = resolve_model("  Org.Name/Model_v2.1-it ")
    assert (spec.source, spec.key, spec.hf_id) == (
        "hub",
        "Org.Name/Model_v2.1-it",
        "Org.Name/Model_v2.1-it",
    )
    assert spec.name == "  Org.Name/Model_v2.1-it "  # as the user gave it


@pytest.mark.parametrize("name", ["no-such-alias", "a/b/c", "", "./missing-dir"])
def test_unknown_names_list_the_aliases(name: str) -> None:
    with pytest.raises(ModelNotAvailable) as info:
        resolve_model(name)
    for alias in MODEL_ALIASES:
        assert alias in str(info.value)


@pytest.mark.parametrize("name", ["org/na me", "-org/name", "org/", "/name", "org//name", "   "])
def test_malformed_hub_ids_are_refused_with_examples(name: str) -> None:
    with pytest.raises(ModelNotAvailable) as info:
        resolve_model(name)
    message = str(info.value)
    assert f"Unknown model {name!r}" in message
    assert "mistralai/Mistral-7B-Instruct-v0.3" in message
    assert "config.json" in message and ".gguf" in message


def test_a_relative_directory_wins_over_a_hub_id_of_the_same_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    model_dir(tmp_path / "org" / "name")
    spec = resolve_model("org/name")
    assert (spec.source, spec.path) == ("local", tmp_path / "org" / "name")


# --------------------------------------------------------------------------- local paths


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


@pytest.mark.parametrize(
    "config",
    [
        {"_name_or_path": "/home/me/models/base"},  # a path, not a Hub id
        {"_name_or_path": "not an id"},
        {"_name_or_path": 7},
        ["not", "an", "object"],
    ],
)
def test_config_name_or_path_that_is_no_hub_id_is_ignored(tmp_path: Path, config: object) -> None:
    spec = resolve_model(str(model_dir(tmp_path / "plain", config)))
    assert (spec.source, spec.key, spec.hf_id) == ("local", "plain", None)


def test_config_name_or_path_that_exists_locally_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base" / "model").mkdir(parents=True)
    spec = resolve_model(str(model_dir(tmp_path / "tuned", {"_name_or_path": "base/model"})))
    assert (spec.key, spec.hf_id) == ("tuned", None)


def test_unreadable_config_still_resolves_by_directory_name(tmp_path: Path) -> None:
    directory = tmp_path / "half-written"
    directory.mkdir()
    (directory / "config.json").write_text('{"model_type": ')
    spec = resolve_model(str(directory))
    assert (spec.source, spec.key, spec.hf_id) == ("local", "half-written", None)


def test_local_directory_inside_hf_cache_gets_repo_id(tmp_path: Path) -> None:
    snapshot = tmp_path / "hub" / "models--org--tiny" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    assert resolve_model(str(snapshot)).key == "org/tiny"


def test_snapshot_repo_id_wins_over_the_configs_base_model(tmp_path: Path) -> None:
    snapshot = tmp_path / "hub" / "models--me--tiny-finetune" / "snapshots" / "0123abcd"
    model_dir(snapshot, {"_name_or_path": "org/tiny-base", "model_type": "llama"})
    assert resolve_model(str(snapshot)).key == "me/tiny-finetune"


def test_a_complete_marker_names_the_hub_id(tmp_path: Path) -> None:
    directory = model_dir(tmp_path / "rebuilt", {"_name_or_path": "org/other"})
    marker = {
        "format": 1,
        "hf_id": "google/gemma-3-270m",
        "gguf_sha256": embedded_gguf_sha256(),
        "files": {"config.json": (directory / "config.json").stat().st_size},
    }
    (directory / MARKER_NAME).write_text(json.dumps(marker))
    spec = resolve_model(str(directory))
    assert (spec.source, spec.key, spec.hf_id) == (
        "local",
        "google/gemma-3-270m",
        "google/gemma-3-270m",
    )
    # A marker that no longer matches its files is ignored.
    (directory / "config.json").write_text('{"_name_or_path": "org/other", "x": 1}')
    assert resolve_model(str(directory)).key == "org/other"


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


def test_gguf_suffix_is_case_insensitive(tmp_path: Path) -> None:
    gguf = tmp_path / "Tiny.GGUF"
    gguf.write_bytes(b"GGUF")
    spec = resolve_model(str(gguf))
    assert (spec.source, spec.key, spec.hf_id) == ("local", "Tiny", None)


def test_home_relative_and_symlinked_paths_resolve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    real = model_dir(tmp_path / "models" / "tiny")
    spec = resolve_model("~/models/tiny")
    assert (spec.source, spec.path, spec.name) == ("local", real, "~/models/tiny")
    link = tmp_path / "link"
    link.symlink_to(real)
    assert resolve_model(str(link)).path == real


# --------------------------------------------------------------------------- ModelSpec


def test_describe_names_the_path_when_known(tmp_path: Path) -> None:
    directory = model_dir(tmp_path / "tiny")
    assert resolve_model(str(directory)).describe() == (f"{directory} → tiny (local, {directory})")
    assert resolve_model("qwen").describe() == "qwen → Qwen/Qwen2.5-7B-Instruct (hub)"


def test_model_spec_is_frozen() -> None:
    spec = resolve_model("mistral")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.key = "other"  # type: ignore[misc]


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
