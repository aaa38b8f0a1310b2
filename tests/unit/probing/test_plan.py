"""The dry-run plan: model shape from a config, token and pass counts, time and memory estimates."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import InvalidOption, ModelNotAvailable
from bridgex_chain.probing.options import BuildOptions
from bridgex_chain.probing.plan import ModelShape, estimate, plan_build, read_model_shape
from bridgex_chain.probing.probe_set import ProbeSet

CONFIG = {
    "model_type": "llama",
    "num_hidden_layers": 4,
    "hidden_size": 16,
    "intermediate_size": 64,
    "vocab_size": 1000,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 4,
}


def test_plan_build_counts_prompts_and_passes(
    tiny: Any, probe_set: ProbeSet, fast_options: dict[str, Any]
) -> None:
    plan = plan_build(tiny, probe_set=probe_set, batch_size=4, **fast_options)
    opts = BuildOptions.create(probe_set=probe_set, **fast_options)
    layout = opts.layout(probe_set)
    assert plan.entries == tuple(opts.entries())
    assert plan.prompts_per_entry["swh_Latn|swh_Latn"] == layout.prompt_count(("swh_Latn",) * 2)
    assert plan.probe_prompts == layout.total_prompts
    probe_passes = sum(-(-len(p) // 4) for p in layout.directions.values())
    assert plan.forward_passes > probe_passes
    assert plan.probe_tokens > plan.probe_prompts  # every prompt has several tokens
    assert plan.window == (0, 2) and plan.languages == tuple(opts.involved_languages())
    assert plan.estimated_seconds > 0
    shape = ModelShape.from_config("tiny", tiny.model.config.to_dict())
    assert plan.estimated_peak_bytes > shape.total_parameters * 4
    filtered = plan_build(tiny, probe_set=probe_set, filter_understood=True, **fast_options)
    assert filtered.estimated_seconds > plan.estimated_seconds


def test_model_shape_counts_attention_and_mlp_weights() -> None:
    shape = ModelShape.from_config("m", CONFIG)
    attention = 2 * 16 * 4 * 4 + 2 * 16 * 2 * 4  # q and o, then k and v with 2 KV heads
    assert shape.decoder_parameters == 4 * (attention + 3 * 16 * 64)
    assert shape.total_parameters == shape.decoder_parameters + 1000 * 16
    nested = ModelShape.from_config("m", {"model_type": "gemma3", "text_config": CONFIG})
    assert nested.decoder_parameters == shape.decoder_parameters
    assert nested.architecture == "llama"  # the text config's own model_type


def _estimate(opts: BuildOptions, shape: ModelShape, **overrides: Any) -> tuple[float, int]:
    counts: dict[str, Any] = {
        "probe_tokens": 1000,
        "probe_prompts": 100,
        "probe_passes": 10,
        "corpus_tokens": 5000,
        "corpus_passes": 20,
        "window": range(1, 3),
        "largest_entry": 50,
        "max_prompt_tokens": 12,
        **overrides,
    }
    return estimate(shape, opts, **counts)


def test_estimate_grows_with_the_work(fast_options: dict[str, Any]) -> None:
    shape = ModelShape.from_config("m", CONFIG)
    opts = BuildOptions.create(**fast_options)
    seconds, peak = _estimate(opts, shape)
    assert seconds > 0 and peak > shape.total_parameters * 4
    assert _estimate(opts, shape, corpus_tokens=50_000)[0] > seconds
    assert _estimate(opts, shape, largest_entry=500)[1] > peak
    window_only = BuildOptions.create(**fast_options, all_layers=False)
    assert _estimate(window_only, shape)[0] < seconds  # probes stop after the window
    filtered = BuildOptions.create(**fast_options, filter_understood=True)
    assert _estimate(filtered, shape)[0] > seconds
    half = BuildOptions.create(**fast_options, dtype="bfloat16")
    assert _estimate(half, shape)[1] < peak


def test_plan_from_a_local_folder_reads_its_tokenizer_or_estimates_from_bytes(
    save_tiny_lm: Callable[[str, Path], Path],
    tiny: Any,
    probe_set: ProbeSet,
    tmp_path: Path,
    fast_options: dict[str, Any],
) -> None:
    folder = save_tiny_lm("llama", tmp_path / "tiny")
    from_folder = plan_build(str(folder), probe_set=probe_set, **fast_options)
    in_memory = plan_build(tiny, probe_set=probe_set, **fast_options)
    assert from_folder.probe_tokens == in_memory.probe_tokens
    assert from_folder.num_layers == 3 and from_folder.intermediate_size == 64
    json.dumps(from_folder.to_dict())  # JSON-ready

    bare = tmp_path / "config-only"
    bare.mkdir()
    shutil.copy(folder / "config.json", bare / "config.json")
    guessed = plan_build(str(bare), probe_set=probe_set, **fast_options)
    opts = BuildOptions.create(probe_set=probe_set, **fast_options)
    texts = [p.text for ps in opts.layout(probe_set).directions.values() for p in ps]
    assert guessed.probe_tokens == sum(len(t.encode("utf-8")) // 4 + 2 for t in texts)
    assert guessed.forward_passes == from_folder.forward_passes


@pytest.mark.parametrize("batch", [1, 4])
def test_forward_passes_follow_the_batch_size(
    tiny: Any, probe_set: ProbeSet, batch: int, fast_options: dict[str, Any]
) -> None:
    plan = plan_build(tiny, probe_set=probe_set, batch_size=batch, **fast_options)
    layout = BuildOptions.create(probe_set=probe_set, **fast_options).layout(probe_set)
    probe_passes = sum(-(-len(p) // batch) for p in layout.directions.values())
    corpus_passes = plan.forward_passes - probe_passes
    assert corpus_passes > 0
    if batch == 1:
        assert corpus_passes == plan.corpus_texts


def test_layer_window_outside_the_model_is_refused_before_planning(
    save_tiny_lm: Callable[[str, Path], Path],
    probe_set: ProbeSet,
    tmp_path: Path,
    fast_options: dict[str, Any],
) -> None:
    folder = save_tiny_lm("llama", tmp_path / "tiny")
    with pytest.raises(InvalidOption, match="whose 3 layers are numbered 0-2"):
        plan_build(str(folder), probe_set=probe_set, **{**fast_options, "layers": "1-3"})


def test_read_model_shape_reads_a_local_config_and_nothing_else(
    save_tiny_lm: Callable[[str, Path], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast_options: dict[str, Any],
) -> None:
    folder = save_tiny_lm("llama", tmp_path / "tiny")
    shape = read_model_shape(str(folder))
    assert shape is not None and shape.num_layers == 3 and shape.intermediate_size == 64
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    assert read_model_shape("org/not-downloaded") is None
    assert read_model_shape(str(tmp_path / "missing")) is None
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    assert read_model_shape(str(broken)) is None
    with pytest.raises(ModelNotAvailable, match="Cannot read"):
        plan_build(str(broken), **fast_options)


def test_a_hub_model_not_in_the_cache_names_the_hf_download_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_options: dict[str, Any]
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(ModelNotAvailable, match="'hf download org/not-downloaded'"):
        plan_build("org/not-downloaded", **fast_options)
