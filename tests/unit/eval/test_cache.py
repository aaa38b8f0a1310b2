"""Tests for bridgex_chain.eval.cache: the resumable JSONL generation cache and unit files."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.eval.cache import GenerationCache, UnitFile, digest, export_units, import_units


class Generator:
    """A fake model: answers ``<prompt>!`` and records every batch it was asked for."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, prompts: Sequence[str]) -> list[str]:
        self.batches.append(list(prompts))
        return [f"{p}!" for p in prompts]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --------------------------------------------------------------------------- digest


def test_digest_is_a_short_stable_hex_string() -> None:
    value = digest("google/gemma-3-270m", "prompt", ["\n"], 8)
    assert len(value) == 24
    int(value, 16)
    assert value == digest("google/gemma-3-270m", "prompt", ["\n"], 8)


def test_digest_depends_on_every_part_and_their_order() -> None:
    base = digest("m", "p", ["\n"], 8)
    assert len({base, digest("m2", "p", ["\n"], 8), digest("m", "p", [], 8)}) == 3
    assert base != digest("m", "p", ["\n"], 9)
    assert digest("a", "b") != digest("b", "a")
    assert digest("a", "b") != digest(["a", "b"])


def test_digest_ignores_dict_key_order_and_keeps_unicode() -> None:
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest("habari") != digest("habarí")
    # JSON cannot tell a tuple from a list, so both name the same generation.
    assert digest(("\n", "###")) == digest(["\n", "###"])


# --------------------------------------------------------------------------- GenerationCache


def test_generation_cache_calls_the_model_only_for_unseen_prompts(tmp_path: Path) -> None:
    cache = GenerationCache(tmp_path / "g.jsonl")
    generate = Generator()
    assert cache.get_or_generate("m", ["a", "b"], ("\n",), 8, generate) == ["a!", "b!"]
    assert cache.get_or_generate("m", ["b", "c", "a"], ("\n",), 8, generate) == ["b!", "c!", "a!"]
    assert len(generate.batches) == 2
    assert sorted(generate.batches[0]) == ["a", "b"] and generate.batches[1] == ["c"]
    assert (cache.hits, cache.misses, len(cache)) == (2, 3, 3)


def test_repeated_prompts_are_generated_once(tmp_path: Path) -> None:
    cache = GenerationCache(tmp_path / "g.jsonl")
    generate = Generator()
    assert cache.get_or_generate("m", ["x", "x", "y"], (), 4, generate) == ["x!", "x!", "y!"]
    assert sorted(generate.batches[0]) == ["x", "y"]
    assert len(generate.batches) == 1
    assert len(lines(tmp_path / "g.jsonl")) == 2


def test_model_stop_strings_and_budget_are_part_of_the_key(tmp_path: Path) -> None:
    cache = GenerationCache(tmp_path / "g.jsonl")
    generate = Generator()
    cache.get_or_generate("m", ["p"], ("\n",), 8, generate)
    cache.get_or_generate("other", ["p"], ("\n",), 8, generate)
    cache.get_or_generate("m", ["p"], ("\n", "###"), 8, generate)
    cache.get_or_generate("m", ["p"], ("\n",), 16, generate)
    assert len(generate.batches) == 4 and len(cache) == 4
    # Stop strings as a list or a tuple are the same request.
    cache.get_or_generate("m", ["p"], ["\n"], 8, generate)
    assert len(generate.batches) == 4


def test_generations_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "g.jsonl"
    assert not path.exists()
    GenerationCache(path).get_or_generate("m", ["a", "b"], ("\n",), 8, Generator())
    assert path.is_file(), "the parent directories are created on first write"

    reopened = GenerationCache(path)
    assert len(reopened) == 2
    generate = Generator()
    assert reopened.get_or_generate("m", ["b", "a"], ("\n",), 8, generate) == ["b!", "a!"]
    assert generate.batches == []
    assert (reopened.hits, reopened.misses) == (2, 0)


def test_nothing_is_written_when_everything_is_cached(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    cache = GenerationCache(path)
    assert not path.exists()
    cache.get_or_generate("m", [], ("\n",), 8, Generator())
    assert not path.exists()
    cache.get_or_generate("m", ["a"], ("\n",), 8, Generator())
    before = path.read_text()
    cache.get_or_generate("m", ["a"], ("\n",), 8, Generator())
    assert path.read_text() == before


def test_a_torn_last_line_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "g.jsonl"
    GenerationCache(path).get_or_generate("m", ["a", "b"], ("\n",), 8, Generator())
    with path.open("a", encoding="utf-8") as handle:
        handle.write('\n{"key": "abc", "out')  # a blank line, then an interrupted write
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.eval.cache"):
        cache = GenerationCache(path)
    assert len(cache) == 2
    assert "unreadable line 4" in caplog.text and str(path) in caplog.text


def test_outputs_keep_unicode_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    answer = "Habari 🌍\nza asubuhi — 早上好"
    GenerationCache(path).get_or_generate("m", ["q"], (), 8, lambda ps: [answer])
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1
    assert "🌍" in path.read_text(encoding="utf-8")  # written as UTF-8, not escaped
    generate = Generator()
    assert GenerationCache(path).get_or_generate("m", ["q"], (), 8, generate) == [answer]
    assert generate.batches == []


def test_a_model_returning_too_few_outputs_is_an_error(tmp_path: Path) -> None:
    cache = GenerationCache(tmp_path / "g.jsonl")
    with pytest.raises(ValueError):
        cache.get_or_generate("m", ["a", "b"], (), 8, lambda ps: ["only one"])


# --------------------------------------------------------------------------- UnitFile


def test_a_new_unit_file_starts_with_its_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "units" / "u.jsonl"
    unit = UnitFile(path, {"model": "m", "arm": "direct"})
    assert (unit.records, unit.meta) == ({}, {})
    assert lines(path) == [{"fingerprint": {"model": "m", "arm": "direct"}}]


def test_records_and_meta_are_resumed_in_order(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    fingerprint = {"model": "m", "params": {"seed": 0}}
    unit = UnitFile(path, fingerprint)
    unit.append({"id": "2", "hit": True})
    unit.set_meta(calibration=[0.1, 0.2], choices=["a", "b"])
    unit.append({"id": 1, "hit": False})  # ids are keyed as strings
    unit.set_meta(calibration=[0.3, 0.4])
    assert list(unit.records) == ["2", "1"]

    resumed = UnitFile(path, dict(fingerprint))
    assert list(resumed.records) == ["2", "1"]
    assert resumed.records["2"] == {"id": "2", "hit": True}
    assert resumed.records["1"] == {"id": 1, "hit": False}
    assert resumed.meta == {"calibration": [0.3, 0.4], "choices": ["a", "b"]}  # last write wins
    assert len(lines(path)) == 5, "resuming does not write a second header"


def test_the_last_result_of_an_item_wins(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    unit = UnitFile(path, {"model": "m"})
    unit.append({"id": "1", "output": "first"})
    unit.append({"id": "1", "output": "second"})
    assert unit.records == {"1": {"id": "1", "output": "second"}}
    assert UnitFile(path, {"model": "m"}).records == {"1": {"id": "1", "output": "second"}}


def test_a_unit_file_of_other_settings_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "u.jsonl"
    old = UnitFile(path, {"model": "m", "prompts": "old"})
    old.append({"id": "1", "hit": True})
    old_text = path.read_text()

    with caplog.at_level(logging.INFO, logger="bridgex_chain.eval.cache"):
        fresh = UnitFile(path, {"model": "m", "prompts": "new"})
    assert (fresh.records, fresh.meta) == ({}, {})
    assert lines(path) == [{"fingerprint": {"model": "m", "prompts": "new"}}]
    stale = tmp_path / "u.jsonl.stale"
    assert stale.read_text() == old_text
    assert "other settings" in caplog.text

    # A second change replaces the previous stale file.
    UnitFile(path, {"model": "m", "prompts": "newer"})
    assert lines(stale) == [{"fingerprint": {"model": "m", "prompts": "new"}}]


def test_a_torn_line_in_a_unit_file_is_skipped_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    unit = UnitFile(path, {"model": "m"})
    unit.append({"id": "1", "hit": True})
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "2", "hi')
    assert list(UnitFile(path, {"model": "m"}).records) == ["1"]


def test_the_first_result_written_after_a_torn_line_survives(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    UnitFile(path, {"model": "m"}).append({"id": "1", "hit": True})
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "2", "hi')
    UnitFile(path, {"model": "m"}).append({"id": "2", "hit": False})  # computed again
    assert list(UnitFile(path, {"model": "m"}).records) == ["1", "2"]


def test_rows_that_are_neither_results_nor_meta_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    UnitFile(path, {"model": "m"})
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"note": "hand-written"}\n[1, 2]\n{"id": "7", "hit": true}\n')
    assert list(UnitFile(path, {"model": "m"}).records) == ["7"]


def test_a_fingerprint_with_tuples_matches_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    fingerprint = {"model": "m", "entry": ("swh_Latn", "eng_Latn")}
    UnitFile(path, fingerprint).append({"id": "1", "hit": True})
    assert list(UnitFile(path, fingerprint).records) == ["1"]


# --------------------------------------------------------------------------- export / import


def test_exported_units_keep_statistics_not_the_models_renderings(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    unit = UnitFile(cache / "units" / "classify" / "swh-swh" / "self-fra.jsonl", {"arm": "a"})
    unit.append({"id": "1", "correct": True, "bridge": "fra_Latn", "rendering": "Le texte."})
    unit.set_meta(seconds=3.5)
    (cache / "units" / "junk.jsonl").write_text("not json\n", encoding="utf-8")
    assert export_units(cache, tmp_path / "kept") == 1  # the file without a header is skipped
    kept = tmp_path / "kept" / "classify" / "swh-swh" / "self-fra.jsonl"
    assert "Le texte" not in kept.read_text(encoding="utf-8")
    again = UnitFile(kept, {"arm": "a"})
    assert again.records == {"1": {"id": "1", "correct": True, "bridge": "fra_Latn"}}
    assert again.meta == {"seconds": 3.5}


def test_imported_units_fill_a_cache_and_the_cache_wins_where_both_have_an_item(
    tmp_path: Path,
) -> None:
    kept, cache = tmp_path / "kept", tmp_path / "cache"
    exported = UnitFile(kept / "u.jsonl", {"arm": "a"})
    for i in ("1", "2", "3"):
        exported.append({"id": i, "correct": False})
    exported.set_meta(seconds=30.0)
    local = UnitFile(cache / "units" / "u.jsonl", {"arm": "a"})
    local.append({"id": "1", "correct": True, "rendering": "kept locally"})
    local.set_meta(seconds=10.0)
    assert import_units(kept, cache) == 1
    merged = UnitFile(cache / "units" / "u.jsonl", {"arm": "a"})
    assert sorted(merged.records) == ["1", "2", "3"]
    assert merged.records["1"]["rendering"] == "kept locally"
    assert merged.meta == {"seconds": 30.0}  # the file with more records
    assert import_units(kept, cache) == 0  # nothing new the second time


def test_an_import_leaves_a_unit_of_other_settings_alone(tmp_path: Path) -> None:
    kept, cache = tmp_path / "kept", tmp_path / "cache"
    UnitFile(kept / "u.jsonl", {"arm": "old"}).append({"id": "1", "correct": True})
    UnitFile(cache / "units" / "u.jsonl", {"arm": "new"}).append({"id": "2", "correct": True})
    assert import_units(kept, cache) == 0
    assert sorted(UnitFile(cache / "units" / "u.jsonl", {"arm": "new"}).records) == ["2"]
