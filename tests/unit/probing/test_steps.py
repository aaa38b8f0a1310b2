"""BuildSteps on a tiny model: each step caches its units, reuses them, and checks its inputs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing import steps as steps_module
from bridgex_chain.probing.cache import RunCache
from bridgex_chain.probing.corpus import Corpus
from bridgex_chain.probing.options import BuildOptions
from bridgex_chain.probing.probe_set import ProbeSet
from bridgex_chain.probing.steps import MIN_PROMPTS, BuildSteps, EntryScores, torch_threads

SW, EN, FR = "swh_Latn", "eng_Latn", "fra_Latn"
OPTIONS: dict[str, Any] = {
    "languages": ["sw"],
    "bridges": ["en", "fr"],
    "max_prompts": 4,
    "top_rate": 0.1,
    "layers": "0-2",
}


def _steps(
    tiny: Any, probe_set: ProbeSet, cache_dir: Path, corpus: Corpus | None = None, **options: Any
) -> tuple[BuildSteps, list[tuple[str, int, int, str]]]:
    opts = BuildOptions.create(probe_set=probe_set, **{**OPTIONS, **options})
    events: list[tuple[str, int, int, str]] = []
    steps = BuildSteps(
        tiny.model,
        tiny.tokenizer,
        opts,
        opts.layout(probe_set),
        corpus or opts.corpus(probe_set),
        RunCache(cache_dir, "ab" * 32),
        range(0, 3) if opts.all_layers else range(1, 3),
        lambda *event: events.append(event),
    )
    return steps, events


def _forbid(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} ran again instead of reading the cache")

    monkeypatch.setattr(steps_module, name, fail)


def test_language_neurons_are_cached_per_language(
    tiny: Any, probe_set: ProbeSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps, events = _steps(tiny, probe_set, tmp_path)
    top = steps.language_neurons([SW, EN, FR])
    assert list(top) == [SW, EN, FR]
    for mask in top.values():
        assert mask.shape == (3, 64) and mask.dtype == bool and mask.any()
    assert events[0][:3] == ("neurons", 0, 3) and events[-1] == ("neurons", 3, 3, "")
    assert steps.cache.has(f"neurons/{SW}")

    _forbid(monkeypatch, "count_language_neurons")
    again, _ = _steps(tiny, probe_set, tmp_path)
    cached = again.language_neurons([SW, EN, FR])
    assert all(np.array_equal(cached[lang], top[lang]) for lang in top)


def test_an_empty_corpus_is_a_probe_data_error(
    tiny: Any, probe_set: ProbeSet, tmp_path: Path
) -> None:
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "sw.txt").write_text("habari\n", encoding="utf-8")
    (tmp_path / "texts" / "en.txt").write_text("\n\n", encoding="utf-8")
    corpus = Corpus.from_directory(tmp_path / "texts", probe_set, [SW, EN])
    steps, _ = _steps(tiny, probe_set, tmp_path / "cache", corpus=corpus)
    with pytest.raises(ProbeDataError, match="corpus of eng_Latn is empty"):
        steps.language_neurons([SW, EN])


def test_probes_record_only_the_needed_columns_and_scores_are_cached(
    tiny: Any, probe_set: ProbeSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps, _ = _steps(tiny, probe_set, tmp_path, all_layers=False)
    groups = steps.groups(steps.language_neurons([SW, EN, FR]))
    assert list(groups) == [(SW, SW)] and steps.cache.has("groups/swh_Latn__swh_Latn")
    steps.record_probes(groups, {})
    needed = steps._entry_mask(groups[(SW, SW)])
    assert not needed[0].any()  # window 1..2 without all_layers: layer 0 is not recorded
    for direction, texts in steps.layout.directions.items():
        arrays = steps.cache.load_arrays(f"probes/{direction[0]}__{direction[1]}")
        assert arrays is not None
        assert np.array_equal(arrays["coords"], np.argwhere(needed))
        assert arrays["values"].shape == (int(needed.sum()), len(texts))

    scored = steps.score_entries(groups)
    entry = scored[(SW, SW)]
    assert entry.prompts == steps.layout.prompt_count((SW, SW))
    assert set(entry.per_layer) == {EN, FR}
    assert all(set(layers) <= {1, 2} for layers in entry.per_layer.values())
    # the bootstrap ran with the build's resamples; win rates add up over the candidates
    assert set(entry.confidence) == {EN, FR}
    assert {c.resamples for c in entry.confidence.values()} <= {0, steps.opts.resamples}
    assert sum(c.win_rate for c in entry.confidence.values()) == pytest.approx(1.0)
    _forbid(monkeypatch, "score_pair")
    _forbid(monkeypatch, "bootstrap_ranking")
    assert steps.score_entries(groups) == scored  # read back from scores/<entry>.json


def test_too_few_prompts_leave_an_entry_unscored(
    tiny: Any, probe_set: ProbeSet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    steps, _ = _steps(tiny, probe_set, tmp_path, languages=[], pairs="sw-en", max_prompts=2)
    groups = steps.groups(steps.language_neurons([SW, EN, FR]))
    steps.record_probes(groups, {})
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.probing.steps"):
        scored = steps.score_entries(groups)
    assert scored[(SW, EN)] == EntryScores(2, {EN: {}, FR: {}}, {})
    assert f"fewer than {MIN_PROMPTS}" in caplog.text


def test_scoring_without_recorded_probes_is_a_probe_data_error(
    tiny: Any, probe_set: ProbeSet, tmp_path: Path
) -> None:
    steps, _ = _steps(tiny, probe_set, tmp_path)
    groups = steps.groups(steps.language_neurons([SW, EN, FR]))
    with pytest.raises(ProbeDataError, match="are missing from"):
        steps.score_entries(groups)


def test_understood_masks_filter_the_recorded_probes(
    tiny: Any, probe_set: ProbeSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def first_half(model: Any, tok: Any, prompts: list[str], targets: Any, **kw: Any) -> Any:
        return [i < len(prompts) // 2 for i in range(len(prompts))]

    monkeypatch.setattr(steps_module, "understood_pairs", first_half)
    steps, _ = _steps(tiny, probe_set, tmp_path)
    keep = steps.understood()
    assert set(keep) == set(steps.layout.directions)
    assert all(mask.tolist() == [True, True, False, False] for mask in keep.values())
    groups = steps.groups(steps.language_neurons([SW, EN, FR]))
    steps.record_probes(groups, keep)
    prompts = steps.score_entries(groups)[(SW, SW)].prompts
    assert prompts == 2 * len(steps.layout.directions)
    _forbid(monkeypatch, "understood_pairs")
    again, _ = _steps(tiny, probe_set, tmp_path)
    assert {d: m.tolist() for d, m in again.understood().items()} == {
        d: m.tolist() for d, m in keep.items()
    }


def test_torch_threads_sets_and_restores_the_thread_count() -> None:
    import torch

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(KeyError), torch_threads(1):
        raise KeyError("restored on errors too")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_render_checks_skip_the_default_bridges_and_cross_pairs() -> None:
    from bridgex_chain.probing.steps import render_languages

    entries = [
        ("zho_Hans", "zho_Hans"), ("eng_Latn", "eng_Latn"), ("ind_Latn", "tgl_Latn"),
        ("fra_Latn", "fra_Latn"), ("swh_Latn", "swh_Latn"), ("zho_Hans", "zho_Hans"),
    ]  # fmt: skip
    # a query in a default bridge goes direct before the table is read: no check needed
    assert render_languages(entries) == ["zho_Hans", "swh_Latn"]
