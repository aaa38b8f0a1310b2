"""Forward hooks on each decoder layer's MLP activation (``mlp.act_fn``), reduced on the fly.

A *neuron* is one column of ``act_fn(gate_proj(x))`` — shape ``[batch, tokens, intermediate]``
— in a Llama-family decoder layer. :class:`ActivationRecorder` registers plain torch forward
hooks on those modules and reduces every call immediately to what the method needs, so full
activation tensors are never kept:

* per-prompt **means** over the non-padding tokens (``attention_mask``; left or right padding),
* optionally per-layer **counts of activations > 0** over non-padding tokens (language neurons),
* optionally only a **subset of neuron columns** per layer.

Results live on the CPU as numpy arrays. Hooks are removed when the ``with`` block exits, also
on error.

Example:
    >>> with ActivationRecorder(model, count_positive=True) as rec:  # doctest: +SKIP
    ...     rec.attention_mask = batch["attention_mask"]
    ...     model.model(**batch)
    >>> means = rec.prompt_means()  # {layer: array [n_neurons, n_prompts]}  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bridgex_chain.errors import InvalidOption, UnsupportedModel

if TYPE_CHECKING:
    import torch

__all__ = [
    "ARCHITECTURES",
    "ActivationRecorder",
    "ArchitectureSpec",
    "NeuronSelection",
    "StopForward",
    "act_fn_modules",
    "architecture_of",
    "decoder_of",
    "supported_model_types",
]


@dataclass(frozen=True)
class ArchitectureSpec:
    """How to reach the decoder layers and their MLP activation in one model family.

    Attributes:
        decoder_paths: dotted attribute paths, tried in order, from the loaded model (a
            ``*ForCausalLM``, or the bare decoder itself: path ``""``) to the text decoder,
            the module whose ``.layers`` is the list of decoder layers.
        act_fn_path: dotted path from one decoder layer to its activation module.

    Example:
        >>> ARCHITECTURES["llama"].act_fn_path
        'mlp.act_fn'
    """

    decoder_paths: tuple[str, ...]
    act_fn_path: str = "mlp.act_fn"


_TEXT = ArchitectureSpec(decoder_paths=("model", ""))

#: ``config.model_type`` → where its neurons are. Gemma 3 checkpoints with a vision tower
#: (``gemma3``) keep the text decoder under ``model.language_model``.
ARCHITECTURES: dict[str, ArchitectureSpec] = {
    "llama": _TEXT,
    "mistral": _TEXT,
    "qwen2": _TEXT,
    "gemma": _TEXT,
    "gemma2": _TEXT,
    "gemma3_text": _TEXT,
    "gemma3": ArchitectureSpec(decoder_paths=("model.language_model", "language_model", "model")),
}


#: Neuron columns per layer: ``{layer: indices}`` or one index array per layer.
NeuronSelection = (
    Mapping[int, Sequence[int] | npt.NDArray[np.integer[Any]]]
    | Sequence[Sequence[int] | npt.NDArray[np.integer[Any]]]
)


class StopForward(Exception):
    """Raised by a recorder hook to end a forward pass after the last recorded layer."""


def supported_model_types() -> tuple[str, ...]:
    """Return the ``config.model_type`` values the hooks support.

    Example:
        >>> "mistral" in supported_model_types()
        True
    """
    return tuple(sorted(ARCHITECTURES))


def _get_path(obj: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        obj = getattr(obj, part)
    return obj


def architecture_of(model: Any) -> str:
    """Return the model's ``config.model_type``, or raise :class:`UnsupportedModel`.

    Example:
        >>> architecture_of(model)  # doctest: +SKIP
        'gemma3_text'
    """
    model_type = str(getattr(getattr(model, "config", None), "model_type", "") or "")
    if model_type not in ARCHITECTURES:
        raise UnsupportedModel(
            f"Model type {model_type or type(model).__name__!r} is not supported by the "
            f"probing hooks. Supported model types: {', '.join(supported_model_types())}. "
            "Use a Llama-family decoder (gated MLP with `mlp.act_fn`) or add an entry to "
            "bridgex_chain.probing.hooks.ARCHITECTURES."
        )
    return model_type


def decoder_of(model: Any) -> Any:
    """Return the text decoder module (the one holding ``.layers``) of a supported model.

    Calling it runs the decoder without the LM head.

    Example:
        >>> decoder_of(model) is model.model  # doctest: +SKIP
        True
    """
    spec = ARCHITECTURES[architecture_of(model)]
    for path in spec.decoder_paths:
        try:
            candidate = _get_path(model, path)
        except AttributeError:
            continue
        if hasattr(candidate, "layers"):
            return candidate
    raise UnsupportedModel(
        f"Could not find the decoder layers of {type(model).__name__} (tried "
        f"{', '.join(repr(p or '<model>') for p in spec.decoder_paths)} + '.layers'). "
        "The model class does not follow the Hugging Face layout the hooks expect."
    )


def act_fn_modules(model: Any) -> list[Any]:
    """Return one activation module per decoder layer, in layer order.

    Example:
        >>> len(act_fn_modules(model)) == model.config.num_hidden_layers  # doctest: +SKIP
        True
    """
    spec = ARCHITECTURES[architecture_of(model)]
    layers = decoder_of(model).layers
    try:
        modules = [_get_path(layer, spec.act_fn_path) for layer in layers]
    except AttributeError as err:
        raise UnsupportedModel(
            f"A decoder layer of {type(model).__name__} has no {spec.act_fn_path!r}: {err}"
        ) from err
    if len({id(m) for m in modules}) != len(modules):
        raise UnsupportedModel(
            f"{type(model).__name__} shares one activation module between layers, so a hook "
            "cannot tell the layers apart."
        )
    return modules


class ActivationRecorder:
    """Context manager recording reduced MLP activations of selected decoder layers.

    Set :attr:`attention_mask` (``[batch, tokens]``, 1 = real token) before each forward
    pass; ``None`` means every token counts. Each hook call then adds, per recorded layer:

    * with ``prompt_means=True``: one row per prompt, the mean over its non-padding tokens;
    * with ``count_positive=True``: per-neuron counts of activations > 0 over non-padding
      tokens, and the number of those tokens.

    Args:
        model: a loaded Hugging Face causal LM (or its decoder) of a supported architecture.
        layers: layer indices to record (default: all, or the keys of ``neurons``).
        neurons: optional ``{layer: column indices}``, or one index array per layer (as
            ``neurons.needed_neurons`` returns); a recorded layer absent from it keeps every
            column. Results follow the order of the given indices. A layer with no columns is
            not hooked at all and reports empty arrays.
        prompt_means: accumulate per-prompt means.
        count_positive: accumulate counts of positive activations.
        stop_early: raise :class:`StopForward` from the deepest recorded layer's hook so the
            caller can skip the rest of the forward pass (the caller must catch it).
        dtype: numpy dtype of the stored means (``float32`` or ``float64``).

    Example:
        >>> with ActivationRecorder(model, neurons={1: [5, 7]}) as rec:  # doctest: +SKIP
        ...     rec.attention_mask = mask
        ...     model(input_ids=ids, attention_mask=mask)
        >>> rec.prompt_means()[1].shape  # (2, batch)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any,
        *,
        layers: Iterable[int] | None = None,
        neurons: NeuronSelection | None = None,
        prompt_means: bool = True,
        count_positive: bool = False,
        stop_early: bool = False,
        dtype: type[np.floating[Any]] = np.float32,
    ) -> None:
        self._modules = act_fn_modules(model)
        n_layers = len(self._modules)
        if neurons is not None and not isinstance(neurons, Mapping):
            neurons = dict(enumerate(neurons))
        if layers is None:
            chosen = sorted(neurons) if neurons is not None else list(range(n_layers))
        else:
            chosen = sorted({int(i) for i in layers})
        bad = [i for i in chosen if not 0 <= i < n_layers]
        if bad or not chosen:
            raise InvalidOption(
                f"layers must be a non-empty subset of 0..{n_layers - 1}; got {bad or chosen}. "
                "Pass layer indices of this model (0-based), or None for every layer."
            )
        self.layers: tuple[int, ...] = tuple(chosen)
        self._columns: dict[int, npt.NDArray[np.int64]] = {}
        for layer, idx in (neurons or {}).items():
            arr = np.asarray(idx, dtype=np.int64).reshape(-1)
            self._columns[int(layer)] = arr
        #: Layers actually hooked: recorded layers with at least one column.
        self.active_layers: tuple[int, ...] = tuple(
            layer
            for layer in self.layers
            if layer not in self._columns or self._columns[layer].size
        )
        self.record_means = prompt_means
        self.count_positive = count_positive
        self.stop_early = stop_early
        self.dtype = dtype
        self.attention_mask: torch.Tensor | None = None
        #: While True, a forward pass of ONE sequence (no padding) is captured as a prefix that
        #: every prompt of the following passes shares (its tokens count for each of them),
        #: until :meth:`clear_prefix`. Used to run a common prompt prefix once, with a KV cache.
        self.capturing_prefix = False
        self._prefix: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._prefix_tokens = 0
        self.calls: dict[int, int] = dict.fromkeys(self.active_layers, 0)
        self._means: dict[int, list[npt.NDArray[np.floating[Any]]]] = {}
        self._positive: dict[int, npt.NDArray[np.int64]] = {}
        self._tokens: dict[int, int] = {}
        self._handles: list[Any] = []
        self._torch_cols: dict[tuple[int, str], torch.Tensor] = {}
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> ActivationRecorder:
        """Register one forward hook per recorded layer."""
        if self._handles:
            raise RuntimeError("ActivationRecorder is already active")
        try:
            for layer in self.active_layers:
                hook = self._make_hook(layer)
                self._handles.append(self._modules[layer].register_forward_hook(hook))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Remove every hook, whether or not the block raised."""
        self.remove()

    def remove(self) -> None:
        """Remove the hooks now (idempotent)."""
        while self._handles:
            self._handles.pop().remove()

    def reset(self) -> None:
        """Forget everything recorded so far (hooks stay registered)."""
        self._means = {layer: [] for layer in self.layers}
        self._positive = {}
        self._tokens = dict.fromkeys(self.layers, 0)
        self.calls = dict.fromkeys(self.active_layers, 0)
        self._n_prompts = 0

    # -- results -------------------------------------------------------------------------
    def prompt_means(self) -> dict[int, npt.NDArray[np.floating[Any]]]:
        """Return ``{layer: array [n_neurons_layer, n_prompts]}`` (``{}`` without means)."""
        out: dict[int, npt.NDArray[np.floating[Any]]] = {}
        if not self.record_means:
            return out
        for layer, chunks in self._means.items():
            if chunks:
                out[layer] = np.ascontiguousarray(np.concatenate(chunks, axis=0).T)
            else:
                width = len(self._columns[layer]) if layer in self._columns else 0
                out[layer] = np.zeros((width, self._n_prompts if width == 0 else 0), self.dtype)
        return out

    def positive_counts(self) -> dict[int, npt.NDArray[np.int64]]:
        """Return ``{layer: counts [n_neurons_layer]}`` of activations > 0 (non-padding)."""
        out = {layer: counts.copy() for layer, counts in self._positive.items()}
        for layer in self.layers:
            if layer not in self.active_layers and self.count_positive:
                out[layer] = np.zeros(0, dtype=np.int64)
        return out

    def token_counts(self) -> dict[int, int]:
        """Return ``{layer: number of non-padding tokens seen}``."""
        return dict(self._tokens)

    # -- the hook ------------------------------------------------------------------------
    def _cols(self, layer: int, device: torch.device) -> torch.Tensor | None:
        if layer not in self._columns:
            return None
        key = (layer, str(device))
        if key not in self._torch_cols:
            import torch

            self._torch_cols[key] = torch.as_tensor(self._columns[layer], device=device)
        return self._torch_cols[key]

    def _make_hook(self, layer: int) -> Any:
        first, last = layer == self.active_layers[0], layer == self.active_layers[-1]

        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
            self._reduce(layer, output, first)
            if last and self.stop_early:
                raise StopForward

        return hook

    def _reduce(self, layer: int, output: torch.Tensor, first: bool) -> None:
        import torch

        self.calls[layer] += 1
        with torch.no_grad():
            acts = output.detach()
            if acts.dim() != 3:
                raise UnsupportedModel(
                    f"Expected the activation of layer {layer} to be [batch, tokens, "
                    f"intermediate]; got shape {tuple(acts.shape)}."
                )
            cols = self._cols(layer, acts.device)
            if cols is not None:
                acts = acts.index_select(-1, cols)
            if self.capturing_prefix:
                self._capture_prefix(layer, acts)
                return
            mask = self._mask_for(acts)
            keep = mask.unsqueeze(-1)
            batch = int(acts.shape[0])
            prefix = self._prefix.get(layer)
            n_prefix = self._prefix_tokens if self._prefix else 0
            if first:
                self._n_prompts += batch
                for other in self.layers:
                    if other not in self.active_layers and self.count_positive:
                        self._tokens[other] += int(mask.sum().item()) + n_prefix * batch
            if self.record_means:
                summed = torch.where(keep, acts.float(), 0.0).sum(dim=1, dtype=torch.float64)
                n = mask.sum(dim=1, keepdim=True).to(torch.float64)
                if prefix is not None:
                    summed = summed + prefix[0]
                    n = n + n_prefix
                means = (summed / n.clamp(min=1)).cpu().numpy().astype(self.dtype, copy=False)
                self._means[layer].append(means)
            if self.count_positive:
                positive = ((acts > 0) & keep).sum(dim=(0, 1), dtype=torch.int64)
                if prefix is not None:
                    positive = positive + prefix[1] * batch
                counts = positive.cpu().numpy().astype(np.int64)
                if layer in self._positive:
                    self._positive[layer] += counts
                else:
                    self._positive[layer] = counts
                self._tokens[layer] += int(mask.sum().item()) + n_prefix * batch

    def _capture_prefix(self, layer: int, acts: torch.Tensor) -> None:
        import torch

        if acts.shape[0] != 1:
            raise InvalidOption(
                f"A shared prefix is run as a batch of one sequence, got a batch of "
                f"{acts.shape[0]}; run the prefix alone while capturing_prefix is set."
            )
        flat = acts[0]
        self._prefix[layer] = (
            flat.float().sum(dim=0, dtype=torch.float64),
            (flat > 0).sum(dim=0, dtype=torch.int64),
        )
        self._prefix_tokens = int(flat.shape[0])

    def clear_prefix(self) -> None:
        """Forget the captured shared prefix (see :attr:`capturing_prefix`)."""
        self._prefix = {}
        self._prefix_tokens = 0

    def _mask_for(self, acts: torch.Tensor) -> torch.Tensor:
        import torch

        batch, tokens = acts.shape[0], acts.shape[1]
        if self.attention_mask is None:
            return torch.ones((batch, tokens), dtype=torch.bool, device=acts.device)
        mask = self.attention_mask.to(device=acts.device).bool()
        if tuple(mask.shape) != (batch, tokens):
            raise InvalidOption(
                f"attention_mask has shape {tuple(mask.shape)} but the activations are "
                f"[{batch}, {tokens}, ...]; set recorder.attention_mask to the mask of the "
                "batch being run (or None), and record prefill passes only (not generate())."
            )
        return mask
