"""Where Hugging Face keeps downloaded models, read without the network or huggingface_hub.

The local hub cache (``HF_HUB_CACHE`` / ``HF_HOME`` / ``~/.cache/huggingface/hub``), snapshot
directories, the offline switches, and stable revisions of local files (a config's content, a
file's sha256).

Example:
    >>> hub_snapshot(Path("/hf/hub/models--google--gemma-3-270m/snapshots/9b0cfec8"))
    ('google/gemma-3-270m', '9b0cfec8')
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from bridgex_chain.errors import ModelNotAvailable

__all__ = [
    "cached_hub_config",
    "config_revision",
    "file_sha256",
    "hf_hub_cache",
    "hf_offline",
    "hub_snapshot",
]


def hub_snapshot(path: Path) -> tuple[str, str] | None:
    """Return ``(hf_id, commit)`` if ``path`` is a snapshot directory of a Hugging Face cache.

    Example:
        >>> hub_snapshot(Path("/hf/hub/models--org--name/snapshots/abc123"))
        ('org/name', 'abc123')
    """
    parts = path.parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        org_name = parts[-3][len("models--") :].split("--", 1)
        if len(org_name) == 2:
            return "/".join(org_name), parts[-1]
    return None


def hf_offline() -> bool:
    """Return True when ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` forbids downloads.

    Example:
        >>> isinstance(hf_offline(), bool)
        True
    """
    return any(
        os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hf_hub_cache() -> Path:
    """Return the Hugging Face hub cache directory, read from the environment at call time.

    Example:
        >>> hf_hub_cache().name
        'hub'
    """
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def cached_hub_config(hf_id: str) -> Path | None:
    """Return the cached ``config.json`` of a Hub model, or None when it is not cached.

    Example:
        >>> cached_hub_config("no-such-org/no-such-model") is None
        True
    """
    repo_dir = hf_hub_cache() / f"models--{hf_id.replace('/', '--')}"
    snapshots = repo_dir / "snapshots"
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        config = snapshots / ref.read_text(encoding="utf-8").strip() / "config.json"
        if config.is_file():
            return config
    if snapshots.is_dir():
        configs = sorted(
            snapshots.glob("*/config.json"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        if configs:
            return configs[0]
    return None


def config_revision(config_path: Path) -> str:
    """Return ``config-<sha256[:12]>`` of a config.json's content.

    Keys are sorted and the ``transformers_version`` stamp is dropped, so the value is stable
    across loads and across re-saves by another transformers version.

    Example:
        >>> config_revision(Path("config.json"))  # doctest: +SKIP
        'config-3f2a9c0d1b7e'
    """
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelNotAvailable(f"Cannot read {config_path}: {err}") from err
    if isinstance(data, dict):
        data.pop("transformers_version", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "config-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks.

    Example:
        >>> file_sha256(Path("model.gguf"))  # doctest: +SKIP
        'a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818'
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
