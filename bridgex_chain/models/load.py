"""Loading a causal LM from an alias, a Hugging Face id or a local path.

Names are resolved by :mod:`bridgex_chain.models.resolve` (light: no torch, no network);
loading (:func:`load_causal_lm`) imports torch and transformers lazily.

* ``None``, ``"gemma-3-270m"`` and ``"gemma"`` load the **embedded** Gemma-3-270m, cached as
  float32 under ``cache_dir()/models`` on first use (see :mod:`bridgex_chain.models.embedded`).
* ``mistral``, ``llama`` and ``qwen`` are aliases of Hub ids (aliases are case-insensitive).
* An existing path is **local**: a directory holding ``config.json`` or a ``.gguf`` file.
* ``org/name`` is a **hub** id, loaded from the local Hugging Face cache. ``HF_HUB_OFFLINE=1``
  (or ``TRANSFORMERS_OFFLINE=1``) forbids downloads; a model missing from the cache then raises
  :class:`ModelNotAvailable` before torch is even imported.

The bridge table is keyed by :attr:`ModelSpec.key`: the Hub id when one is known (so the
embedded model and ``google/gemma-3-270m`` share the key; :attr:`LoadedModel.revision` tells
their weights apart).

Example:
    >>> load_causal_lm("gemma-3-270m").spec.key  # doctest: +SKIP
    'google/gemma-3-270m'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridgex_chain.errors import InvalidOption, MissingDependency, ModelNotAvailable
from bridgex_chain.models.embedded import (
    drop_quantizer,
    embedded_gguf_sha256,
    embedded_model_dir,
    is_embedded_model_cached,
    read_marker,
)
from bridgex_chain.models.hub_cache import (
    cached_hub_config,
    config_revision,
    file_sha256,
    hf_hub_cache,
    hf_offline,
    hub_snapshot,
)
from bridgex_chain.models.resolve import ModelSpec, resolve_model

if TYPE_CHECKING:
    import torch

__all__ = ["DTYPES", "LoadedModel", "has_chat_template", "load_causal_lm"]

DTYPES: tuple[str, ...] = ("float32", "bfloat16", "float16", "auto")
"""The ``dtype`` strings :func:`load_causal_lm` accepts."""

_FEATURE = "Loading a local language model"

ProgressCallback = Callable[[str], None]


@dataclass(repr=False)
class LoadedModel:
    """A loaded causal LM, its tokenizer and the facts the bridge table records.

    Attributes:
        model: The ``transformers`` causal LM, in eval mode.
        tokenizer: Its tokenizer.
        spec: How the name was resolved.
        load_seconds: Wall time of :func:`load_causal_lm` (including a cache build).
        revision: Hub commit hash when known; ``gguf-<sha256[:12]>`` for the embedded model;
            otherwise a short sha256 of the ``config.json`` content.
        architecture: ``config.model_type``, e.g. ``"gemma3_text"`` or ``"llama"``.
        num_layers: Number of decoder layers.
        intermediate_size: MLP width (neurons per layer).
        from_cache: True when files came from an existing cache (our embedded-model cache or the
            Hugging Face cache); False for a local path or when the embedded cache was just built.

    Example:
        >>> lm = load_causal_lm()  # doctest: +SKIP
        >>> (lm.num_layers, lm.intermediate_size)  # doctest: +SKIP
        (18, 2048)
    """

    model: Any
    tokenizer: Any
    spec: ModelSpec
    load_seconds: float
    revision: str
    architecture: str
    num_layers: int
    intermediate_size: int
    from_cache: bool

    def describe(self) -> str:
        """Return a one-line summary for the CLI.

        Example:
            >>> load_causal_lm().describe()  # doctest: +SKIP
            'google/gemma-3-270m (embedded) gemma3_text, 18 layers × 2048 MLP neurons, ...'
        """
        cached = "from cache" if self.from_cache else "fresh"
        return (
            f"{self.spec.key} ({self.spec.source}) {self.architecture}, "
            f"{self.num_layers} layers × {self.intermediate_size} MLP neurons, "
            f"revision {self.revision}, loaded {cached} in {self.load_seconds:.1f} s"
        )

    def __repr__(self) -> str:
        return (
            f"LoadedModel(key={self.spec.key!r}, source={self.spec.source!r}, "
            f"architecture={self.architecture!r}, num_layers={self.num_layers}, "
            f"intermediate_size={self.intermediate_size}, revision={self.revision!r}, "
            f"from_cache={self.from_cache}, load_seconds={self.load_seconds:.1f})"
        )


def has_chat_template(tokenizer: Any) -> bool:
    """Return True when the tokenizer carries a chat template (the embedded model has none).

    Example:
        >>> class Tok:
        ...     chat_template = None
        >>> has_chat_template(Tok())
        False
    """
    template = getattr(tokenizer, "chat_template", None)
    return bool(template)


def _torch_dtype(dtype: str) -> torch.dtype | str:
    import torch

    table: dict[str, torch.dtype | str] = {
        "float32": torch.float32,
        "bfloat16": torch.bfloat16,
        "float16": torch.float16,
        "auto": "auto",
    }
    try:
        return table[dtype.lower()]
    except KeyError:
        raise InvalidOption(f"Unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}.") from None


def _import_stack() -> None:
    for package in ("torch", "transformers"):
        try:
            __import__(package)
        except ImportError as err:
            raise MissingDependency(package, extra="probe", feature=_FEATURE) from err


# --------------------------------------------------------------------------- loading


def load_causal_lm(
    name: str | None = None,
    *,
    device: str = "cpu",
    dtype: str = "float32",
    trust_remote_code: bool = False,
    on_progress: ProgressCallback | None = None,
) -> LoadedModel:
    """Load a causal LM and its tokenizer from an alias, a Hub id or a local path.

    Args:
        name: See :func:`resolve_model`; ``None`` loads the embedded Gemma-3-270m.
        device: A torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``) or ``"auto"``
            (accelerate's ``device_map="auto"``).
        dtype: One of :data:`DTYPES`.
        trust_remote_code: Run model code from the checkpoint (only if you trust it).
        on_progress: Called with short human-readable messages (the CLI shows them).

    Returns:
        The :class:`LoadedModel`, with the model in eval mode.

    Raises:
        ModelNotAvailable: The model is unknown or its files are not available locally.
        MissingDependency: torch/transformers (the ``probe`` extra) are not installed.

    Example:
        >>> lm = load_causal_lm("gemma-3-270m")  # doctest: +SKIP
        >>> lm.architecture  # doctest: +SKIP
        'gemma3_text'
    """
    started = time.perf_counter()
    progress = on_progress or (lambda _msg: None)
    spec = resolve_model(name)
    _check_available(spec)
    _import_stack()
    torch_dtype = _torch_dtype(dtype)
    from_cache, load_from, gguf_file = _locate(spec, progress)
    progress(f"Loading {spec.key} ({spec.source})")
    model, tokenizer = _from_pretrained(
        spec, load_from, gguf_file, device, torch_dtype, trust_remote_code
    )
    text_config = model.config.get_text_config()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        load_seconds=time.perf_counter() - started,
        revision=_revision(spec, load_from, gguf_file),
        architecture=str(getattr(text_config, "model_type", model.config.model_type)),
        num_layers=int(text_config.num_hidden_layers),
        intermediate_size=_intermediate_size(text_config),
        from_cache=from_cache,
    )


def _intermediate_size(config: Any) -> int:
    """MLP width; configs without ``intermediate_size`` (GPT-2: ``n_inner``, None = 4 × hidden)."""
    for name in ("intermediate_size", "n_inner", "ffn_dim"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 4 * int(getattr(config, "hidden_size", 0) or 0)


def _first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of an error message, cut to ``limit`` characters."""
    line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _check_available(spec: ModelSpec) -> None:
    """Fail fast (before importing torch) when a Hub model cannot be loaded offline."""
    if spec.source == "hub" and hf_offline() and cached_hub_config(str(spec.hf_id)) is None:
        raise ModelNotAvailable(_not_cached_message(spec))


def _not_cached_message(spec: ModelSpec) -> str:
    why = "downloads are off (HF_HUB_OFFLINE)" if hf_offline() else "it could not be downloaded"
    return (
        f"{spec.hf_id} is not in the local Hugging Face cache ({hf_hub_cache()}) and {why}. "
        f"On a machine with network run 'hf download {spec.hf_id}' (the huggingface_hub "
        "CLI; copy the cache here if that is another machine), or pass the path of a local "
        "model directory. Offline, the embedded model always works: 'gemma-3-270m'."
    )


def _locate(spec: ModelSpec, progress: ProgressCallback) -> tuple[bool, str | Path, str | None]:
    """Return ``(from_cache, what from_pretrained loads, gguf file name or None)``."""
    if spec.source == "embedded":
        from_cache = is_embedded_model_cached()
        return from_cache, embedded_model_dir(build=True, on_progress=progress), None
    if spec.source == "local":
        assert spec.path is not None
        if spec.path.is_file():
            return False, spec.path.parent, spec.path.name
        return False, spec.path, None
    return cached_hub_config(str(spec.hf_id)) is not None, str(spec.hf_id), None


def _revision(spec: ModelSpec, load_from: str | Path, gguf_file: str | None) -> str:
    """Return the Hub commit, ``gguf-<sha256[:12]>``, or ``config-<sha256[:12]>``."""
    if spec.source == "embedded":
        marker = read_marker(Path(load_from)) or {}
        return "gguf-" + str(marker.get("gguf_sha256") or embedded_gguf_sha256())[:12]
    if spec.source == "hub":
        config = cached_hub_config(str(spec.hf_id))
        return config.parent.name if config else "unknown"
    if gguf_file is not None:
        return "gguf-" + file_sha256(Path(load_from) / gguf_file)[:12]
    snapshot = hub_snapshot(Path(load_from))
    return snapshot[1] if snapshot else config_revision(Path(load_from) / "config.json")


def _from_pretrained(
    spec: ModelSpec,
    load_from: str | Path,
    gguf_file: str | None,
    device: str,
    torch_dtype: Any,
    trust_remote_code: bool,
) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if spec.source == "hub":
        kwargs["cache_dir"] = str(hf_hub_cache())
        kwargs["local_files_only"] = hf_offline()
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    model_kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if device == "auto":
        model_kwargs["device_map"] = "auto"
    try:
        tokenizer = AutoTokenizer.from_pretrained(load_from, **kwargs)
        model: Any = AutoModelForCausalLM.from_pretrained(load_from, **kwargs, **model_kwargs)
    except OSError as err:
        if spec.source == "hub":
            raise ModelNotAvailable(f"{_not_cached_message(spec)} ({err})") from err
        raise ModelNotAvailable(f"Cannot load {spec.key} from {load_from}: {err}") from err
    except ValueError as err:
        raise ModelNotAvailable(
            f"Cannot load {spec.key} from {load_from} as a causal LM: {_first_line(err)}. "
            "Check that it is a decoder-only text model (or pass trust_remote_code=True for "
            "a custom architecture you trust)."
        ) from err
    except ImportError:
        raise
    except Exception as err:  # e.g. struct.error from a truncated or garbage .gguf file
        raise ModelNotAvailable(
            f"Cannot load {spec.key} from {load_from}: {type(err).__name__}: {_first_line(err)}. "
            "The files are incomplete or not a model; pass a directory that save_pretrained "
            "wrote, or a complete .gguf file."
        ) from err
    if gguf_file is not None:
        drop_quantizer(model)
    if device != "auto":
        model.to(device)
    model.eval()
    return model, tokenizer
