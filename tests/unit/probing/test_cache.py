"""RunCache: run keys, atomic pickle-free writes, manifests, unreadable files."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.probing.cache import RunCache, entry_name, run_key


def test_run_key_is_canonical_and_sensitive() -> None:
    a = run_key({"model": "m", "params": {"top_rate": 0.01, "layers": [6, 11]}})
    b = run_key({"params": {"layers": [6, 11], "top_rate": 0.01}, "model": "m"})
    assert a == b and len(a) == 64 and int(a, 16) >= 0
    assert run_key({"model": "m", "params": {"top_rate": 0.02, "layers": [6, 11]}}) != a
    assert run_key({"model": "m", "params": {"top_rate": 0.01, "layers": [11, 6]}}) != a


def test_entry_name_and_cache_path(tmp_path: Path) -> None:
    assert entry_name("swh_Latn", "fra_Latn") == "swh_Latn__fra_Latn"
    key = run_key({"a": 1})
    cache = RunCache(tmp_path, key)
    assert cache.key == key and cache.path == tmp_path / "runs" / key[:16]
    assert repr(cache) == f"RunCache({str(cache.path)!r})"


def test_run_cache_is_atomic_and_pickle_free(tmp_path: Path) -> None:
    cache = RunCache(tmp_path, run_key({"a": 1}))
    cache.save_arrays("probes/x", coords=np.zeros((2, 2), np.int64), values=np.ones((2, 3)))
    cache.save_json("scores/x", {"per_layer": {"eng_Latn": {"1": 0.5}}})
    cache.save_array("understood/x", np.array([True, False]))
    assert cache.load_arrays("probes/x")["values"].shape == (2, 3)  # type: ignore[index]
    assert cache.load_json("scores/x") == {"per_layer": {"eng_Latn": {"1": 0.5}}}
    assert cache.load_array("understood/x").tolist() == [True, False]  # type: ignore[union-attr]
    assert cache.load_json("missing") is None and cache.load_arrays("missing") is None
    assert not list(cache.path.rglob("*.tmp"))
    with pytest.raises(ValueError):
        cache.save_array("bad", np.array([{"a": 1}], dtype=object))
    assert not list(cache.path.rglob("*.tmp"))
    cache.write_manifest({"started_at": "2025-01-01T00:00:00+00:00"})
    assert cache.manifest()["started_at"].startswith("2025")  # type: ignore[index]
    other = RunCache(tmp_path, cache.key[:16] + "0" * 48)
    with pytest.raises(ProbeDataError, match="another run"):
        other.manifest()


def test_json_refuses_nan_and_leaves_no_file(tmp_path: Path) -> None:
    cache = RunCache(tmp_path, run_key({"a": 2}))
    with pytest.raises(ValueError):
        cache.save_json("scores/x", {"score": math.nan})
    assert not cache.has("scores/x") and not list(cache.path.rglob("*.tmp"))


def test_has_sees_every_kind_and_remove_drops_a_subdirectory(tmp_path: Path) -> None:
    cache = RunCache(tmp_path, run_key({"a": 3}))
    assert not cache.has("probes/a")
    cache.save_arrays("probes/a", v=np.arange(2))
    cache.save_array("understood/a", np.array([True]))
    cache.save_json("scores/a", {"prompts": 4})
    assert cache.has("probes/a") and cache.has("understood/a") and cache.has("scores/a")
    cache.remove("probes")
    assert not cache.has("probes/a") and not (cache.path / "probes").exists()
    assert cache.has("scores/a") and cache.has("understood/a")
    cache.remove("never-written")  # nothing to delete is fine


def test_a_new_run_has_no_manifest_and_the_manifest_carries_the_key(tmp_path: Path) -> None:
    cache = RunCache(tmp_path, run_key({"a": 4}))
    assert cache.manifest() is None
    cache.write_manifest({"status": "running"})
    assert cache.manifest() == {"status": "running", "run_key": cache.key}


@pytest.mark.parametrize(
    ("name", "load"),
    [
        ("scores/x.json", lambda c: c.load_json("scores/x")),
        ("understood/x.npy", lambda c: c.load_array("understood/x")),
        ("probes/x.npz", lambda c: c.load_arrays("probes/x")),
    ],
)
def test_unreadable_files_say_to_delete_the_run_directory(
    tmp_path: Path, name: str, load: Callable[[RunCache], object]
) -> None:
    cache = RunCache(tmp_path, run_key({"a": 5}))
    target = cache.path / name
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\x00garbage{")
    with pytest.raises(ProbeDataError, match=r"unreadable.*delete"):
        load(cache)
