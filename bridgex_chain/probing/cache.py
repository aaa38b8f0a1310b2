"""Run-keyed intermediates of a table build, so that a killed build resumes where it stopped.

A build's **run key** is the SHA-256 of the canonical JSON of everything that determines its
scores (model key and revision, probe-set hash, languages, bridges, parameters). Its
intermediates live under ``<cache root>/runs/<run key[:16]>/``:

* ``manifest.json`` — the full run key, the inputs it was computed from, the run's start time
  (it is part of the database identity of the run, so a resumed build continues the same run),
  the status and the timings;
* ``neurons/<lang>.npz`` — per-language activation counts (step 1);
* ``probes/<src>__<trg>.npz`` — prompt-mean activations of one probe direction (step 5);
* ``understood/<src>__<trg>.npy`` — the ``--filter-understood`` mask of one direction;
* ``groups/<src>__<trg>.json`` and ``scores/<src>__<trg>.json`` — groups and per-layer scores of
  one entry.

Arrays are plain ``.npy`` / ``.npz`` read with ``allow_pickle=False``; everything else is JSON.
Every file is written to a temporary name in the same directory and renamed into place
(``os.replace``), so a file that exists is complete.

Example:
    >>> import tempfile, numpy as np
    >>> cache = RunCache(tempfile.mkdtemp(), run_key({"model": "m"}))
    >>> cache.save_arrays("neurons/swh_Latn", counts=np.arange(3))
    >>> cache.load_arrays("neurons/swh_Latn")["counts"].tolist()
    [0, 1, 2]
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bridgex_chain.errors import ProbeDataError

__all__ = ["RunCache", "entry_name", "run_key"]

_MANIFEST = "manifest.json"
_SUFFIXES = (".json", ".npy", ".npz")


def run_key(payload: Mapping[str, Any]) -> str:
    """Return the SHA-256 (hex) of the canonical JSON of ``payload``.

    Example:
        >>> run_key({"b": 1, "a": [1, 2]}) == run_key({"a": [1, 2], "b": 1})
        True
    """
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def entry_name(src: str, trg: str) -> str:
    """File stem of one entry or probe direction.

    Example:
        >>> entry_name("swh_Latn", "eng_Latn")
        'swh_Latn__eng_Latn'
    """
    return f"{src}__{trg}"


class RunCache:
    """The intermediates directory of one run (see the module docstring).

    Args:
        root: The cache root; the run's files go under ``root/runs/<key[:16]>``.
        key: The full run key (:func:`run_key`).

    Example:
        >>> import tempfile
        >>> cache = RunCache(tempfile.mkdtemp(), "ab" * 32)
        >>> cache.path.name
        'abababababababab'
    """

    def __init__(self, root: str | os.PathLike[str], key: str) -> None:
        self.key = key
        self.path = Path(root) / "runs" / key[:16]

    def __repr__(self) -> str:
        return f"RunCache({str(self.path)!r})"

    # -- atomic writes -------------------------------------------------------------------
    def _target(self, name: str, suffix: str) -> Path:
        target = self.path / f"{name}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    @staticmethod
    def _write_atomic(target: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def save_json(self, name: str, value: Any) -> None:
        """Write ``value`` as JSON to ``<name>.json`` atomically (NaN and inf are refused)."""
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1, allow_nan=False)
        self._write_atomic(self._target(name, ".json"), text.encode("utf-8"))

    def load_json(self, name: str) -> Any | None:
        """Return the JSON stored under ``name``, or None when it was never written."""
        target = self.path / f"{name}.json"
        try:
            return json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise ProbeDataError(
                f"Cached file {target} is unreadable ({err}); delete {self.path} to rebuild."
            ) from err

    def save_array(self, name: str, array: NDArray[Any]) -> None:
        """Write one array to ``<name>.npy`` atomically (no pickles)."""
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(array), allow_pickle=False)
        self._write_atomic(self._target(name, ".npy"), buffer.getvalue())

    def load_array(self, name: str) -> NDArray[Any] | None:
        """Return the array stored under ``name``, or None when it was never written."""
        target = self.path / f"{name}.npy"
        if not target.is_file():
            return None
        try:
            array: NDArray[Any] = np.load(target, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ProbeDataError(
                f"Cached array {target} is unreadable ({err}); delete {self.path} to rebuild."
            ) from err
        return array

    def save_arrays(self, name: str, **arrays: NDArray[Any]) -> None:
        """Write several named arrays to ``<name>.npz`` atomically (uncompressed, no pickles)."""
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **{k: np.asarray(v) for k, v in arrays.items()})
        self._write_atomic(self._target(name, ".npz"), buffer.getvalue())

    def load_arrays(self, name: str) -> dict[str, NDArray[Any]] | None:
        """Return the arrays stored under ``name``, or None when they were never written."""
        target = self.path / f"{name}.npz"
        if not target.is_file():
            return None
        try:
            with np.load(target, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError) as err:
            raise ProbeDataError(
                f"Cached arrays {target} are unreadable ({err}); delete {self.path} to rebuild."
            ) from err

    def has(self, name: str) -> bool:
        """Whether ``name`` was written (any of ``.json``, ``.npy``, ``.npz``)."""
        return any((self.path / f"{name}{suffix}").is_file() for suffix in _SUFFIXES)

    # -- manifest and housekeeping -------------------------------------------------------
    def manifest(self) -> dict[str, Any] | None:
        """Return the run's manifest, or None for a new run.

        Raises:
            ProbeDataError: The directory belongs to another run key (a 16-hex prefix clash).
        """
        data = self.load_json(_MANIFEST.removesuffix(".json"))
        if data is None:
            return None
        if not isinstance(data, dict) or data.get("run_key") != self.key:
            raise ProbeDataError(
                f"{self.path} holds the intermediates of another run; delete it or pass "
                "another cache directory."
            )
        return data

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Write the manifest (``run_key`` is added)."""
        self.save_json(_MANIFEST.removesuffix(".json"), {**manifest, "run_key": self.key})

    def remove(self, subdir: str) -> None:
        """Delete one subdirectory of the run (e.g. ``"probes"`` once the run is complete)."""
        shutil.rmtree(self.path / subdir, ignore_errors=True)
