"""The dry-run plan of a table build: what it will run, and how long and how much memory.

:func:`plan_build` (``bridgex-chain build-table --dry-run``) resolves the entries and probe
prompts exactly as :func:`bridgex_chain.probing.build.build_table` does, counts tokens with the
model's tokenizer, and estimates time and peak memory from the model's shape (its config),
without loading the weights.

The time estimate is ``FLOPs / CALIBRATED_FLOPS + passes × PASS_OVERHEAD_S`` where FLOPs are
``2 × decoder parameters × tokens`` (each token goes through every decoder layer run; the LM
head is skipped when recording) plus, with ``--filter-understood``, greedy decoding through the
LM head. :data:`CALIBRATED_FLOPS` was measured on Gemma-3-270m (float32, batch 16, one torch
thread, 2 CPU cores busy with other work); a quiet or bigger machine is faster.

Example:
    >>> plan = plan_build(languages=["sw"], bridges=["en", "fr"], max_prompts=4)  # doctest: +SKIP
    >>> plan.entries, plan.probe_prompts  # doctest: +SKIP
    ((('swh_Latn', 'swh_Latn'),), 112)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from bridgex_chain.errors import ModelNotAvailable
from bridgex_chain.probing.corpus import Corpus
from bridgex_chain.probing.options import BuildKwargs, BuildOptions, default_probe_set
from bridgex_chain.probing.probe_set import Pair
from bridgex_chain.probing.probe_sources import resolve_probe_sources
from bridgex_chain.probing.steps import TEXT_TOKENS

if TYPE_CHECKING:
    from bridgex_chain.models import LoadedModel, ModelSpec

__all__ = [
    "CALIBRATED_FLOPS",
    "PASS_OVERHEAD_S",
    "BuildPlan",
    "ModelShape",
    "estimate",
    "plan_build",
    "read_model_shape",
]

#: Decoder FLOP/s of batched recording on Gemma-3-270m, float32, batch 16, one torch thread,
#: 2 CPU cores shared with other jobs (load average 5-10). Measured on the build of
#: precomputed/gemma-3-270m.json: corpus counting 183k tokens in 2019 s (18 GFLOP/s, load ~9),
#: probe recording 156k tokens in 740 s (42 GFLOP/s, load ~5): 25 GFLOP/s over both.
CALIBRATED_FLOPS: float = 25e9
#: Fixed cost of one forward pass (Python, hooks, padding), seconds.
PASS_OVERHEAD_S: float = 0.02
_GENERATED_TOKENS = 8
_CORPUS_TEXT_TOKENS = TEXT_TOKENS
_BASELINE_BYTES = 600 * 2**20  # the Python process with torch and transformers imported
_HSIC_CHUNK_BYTES = 256 * 2**20
_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "auto": 4}


@dataclass(frozen=True)
class ModelShape:
    """The numbers the estimates need, read from a model config.

    Example:
        >>> shape = ModelShape.from_config("m", {"model_type": "llama", "num_hidden_layers": 2,
        ...     "hidden_size": 8, "intermediate_size": 16, "vocab_size": 100,
        ...     "num_attention_heads": 2})
        >>> shape.decoder_parameters
        1280
    """

    key: str
    architecture: str
    num_layers: int
    hidden_size: int
    intermediate_size: int
    vocab_size: int
    decoder_parameters: int

    @classmethod
    def from_config(cls, key: str, config: Mapping[str, Any]) -> ModelShape:
        """Read a (text) config dict; attention and MLP weights make the decoder parameters."""
        cfg = config.get("text_config") or config
        hidden, inter = int(cfg["hidden_size"]), int(cfg["intermediate_size"])
        heads = int(cfg.get("num_attention_heads") or 1)
        kv_heads = int(cfg.get("num_key_value_heads") or heads)
        head_dim = int(cfg.get("head_dim") or hidden // heads)
        attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
        layers = int(cfg["num_hidden_layers"])
        return cls(
            key=key,
            architecture=str(cfg.get("model_type", "")),
            num_layers=layers,
            hidden_size=hidden,
            intermediate_size=inter,
            vocab_size=int(cfg.get("vocab_size") or 0),
            decoder_parameters=layers * (attention + 3 * hidden * inter),
        )

    @property
    def total_parameters(self) -> int:
        """Decoder plus (tied) embedding parameters."""
        return self.decoder_parameters + self.vocab_size * self.hidden_size


@dataclass(frozen=True)
class BuildPlan:
    """What a build will run and what it should cost (see the module docstring).

    Attributes:
        model: Model key.
        architecture: ``config.model_type``.
        num_layers: Decoder layers.
        intermediate_size: MLP neurons per layer.
        probe_set: Probe-set name.
        probe_set_hash: Its content hash.
        languages: Languages whose neurons are counted.
        bridges: Candidate bridges.
        entries: ``(S, T)`` entries scored.
        prompts_per_entry: Probe prompts of each entry (``"S|T"`` keys).
        directions: Probe directions recorded.
        probe_prompts: Distinct prompts recorded (each direction once).
        probe_tokens: Their tokens.
        corpus_texts: Texts read for language neurons (within the token budget).
        corpus_tokens: Their tokens.
        forward_passes: Batched forward passes (corpus + probes + decoding).
        window: Layer window ``(first, last)`` aggregated.
        estimated_seconds: Estimated wall time, model loading excluded.
        estimated_peak_bytes: Estimated peak resident memory.
        filter_understood: Whether probes are filtered first (probe counts are then upper bounds).
        probe_sources: ``(language, kind, detail)`` per language of a ``languages="all"`` build
            (:mod:`~bridgex_chain.probing.probe_sources`); empty otherwise.
    """

    model: str
    architecture: str
    num_layers: int
    intermediate_size: int
    probe_set: str
    probe_set_hash: str
    languages: tuple[str, ...]
    bridges: tuple[str, ...]
    entries: tuple[Pair, ...]
    prompts_per_entry: dict[str, int]
    directions: int
    probe_prompts: int
    probe_tokens: int
    corpus_texts: int
    corpus_tokens: int
    forward_passes: int
    window: tuple[int, int]
    estimated_seconds: float
    estimated_peak_bytes: int
    filter_understood: bool
    probe_sources: tuple[tuple[str, str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _count_tokens(tokenizer: Any, texts: list[str]) -> list[int]:
    if not texts:
        return []
    if tokenizer is None:  # ~4 UTF-8 bytes per token, plus a BOS token
        return [len(t.encode("utf-8")) // 4 + 2 for t in texts]
    ids = tokenizer(texts, add_special_tokens=True)["input_ids"]
    return [len(seq) for seq in ids]


def _corpus_tokens(
    tokenizer: Any, corpus: Corpus, languages: Iterable[str], cap: int | None, batch: int
) -> tuple[int, int, int]:
    """(texts, tokens, passes) read within the per-language token budget."""
    texts = tokens = passes = 0
    for lang in languages:
        lang_tokens = 0
        pending = list(corpus.texts(lang))
        for start in range(0, len(pending), batch):
            chunk = pending[start : start + batch]
            counts = _count_tokens(tokenizer, chunk)
            texts, passes = texts + len(chunk), passes + 1
            lang_tokens += sum(min(n, _CORPUS_TEXT_TOKENS) for n in counts)
            if cap is not None and lang_tokens >= cap:
                break
        tokens += lang_tokens
    return texts, tokens, passes


def estimate(
    shape: ModelShape,
    opts: BuildOptions,
    *,
    probe_tokens: int,
    probe_prompts: int,
    probe_passes: int,
    corpus_tokens: int,
    corpus_passes: int,
    window: range,
    largest_entry: int,
    max_prompt_tokens: int,
) -> tuple[float, int]:
    """Estimated (seconds, peak bytes); see the module docstring for the model."""
    depth = 1.0 if opts.all_layers else window[-1] / shape.num_layers + 1 / shape.num_layers
    flops = 2.0 * shape.decoder_parameters * (probe_tokens * depth + corpus_tokens)
    passes = probe_passes + corpus_passes
    if opts.filter_understood:
        head = shape.vocab_size * shape.hidden_size
        per_prompt = _GENERATED_TOKENS * (shape.decoder_parameters + head)
        flops += 2.0 * (shape.decoder_parameters * probe_tokens + probe_prompts * per_prompt)
        passes += probe_passes * (_GENERATED_TOKENS + 1)
    # HSIC: about (top_rate · I)² neuron pairs per layer, ~12² Taylor terms, per bridge.
    group = max(opts.top_rate * shape.intermediate_size, 1.0)
    entries = len(opts.entries())
    hsic = 2.0 * group**2 * 144 * largest_entry * shape.num_layers * len(opts.bridges) * entries
    seconds = (flops + hsic) / CALIBRATED_FLOPS + passes * PASS_OVERHEAD_S
    weights = shape.total_parameters * _DTYPE_BYTES.get(opts.dtype, 4)
    width = 4 * shape.hidden_size + 3 * shape.intermediate_size
    forward = 4 * width * opts.batch_size * max(max_prompt_tokens, _CORPUS_TEXT_TOKENS)
    neurons = opts.top_rate * shape.num_layers * shape.intermediate_size * (1 + len(opts.bridges))
    scoring = int(12 * neurons * largest_entry) + _HSIC_CHUNK_BYTES
    return seconds, _BASELINE_BYTES + weights + forward + scoring


def _config_folder(model: str | None, *, build: bool) -> tuple[ModelSpec, Path | None]:
    """The model's spec and the local folder holding its ``config.json`` (None: not known)."""
    from bridgex_chain.models import resolve_model

    spec = resolve_model(model)
    folder: Path | None = None
    if spec.source == "embedded":
        from bridgex_chain.models.embedded import embedded_model_dir

        try:
            folder = embedded_model_dir(build=build)
        except ModelNotAvailable:
            folder = None
    elif spec.source == "local" and spec.path is not None and spec.path.is_dir():
        folder = spec.path
    elif spec.source == "hub":
        from bridgex_chain.models.hub_cache import cached_hub_config

        config_path = cached_hub_config(str(spec.hf_id))
        folder = config_path.parent if config_path is not None else None
    if folder is None or not (folder / "config.json").is_file():
        return spec, None
    return spec, folder


def _read_config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelNotAvailable(
            f"Cannot read {folder / 'config.json'}: {err}. Pass a directory that "
            "save_pretrained wrote, or re-download the model."
        ) from err
    if not isinstance(config, dict):
        raise ModelNotAvailable(f"{folder / 'config.json'} is not a model config (a JSON object).")
    return config


def read_model_shape(model: str | None = None) -> ModelShape | None:
    """The model's shape from its local ``config.json``, without loading weights or tokenizer.

    None when the config is not on this machine without work (a Hub model not in the cache,
    the embedded model not built yet, a ``.gguf`` file): the caller checks later.

    Example:
        >>> read_model_shape("/no/such/model-dir") is None
        True
    """
    try:
        spec, folder = _config_folder(model, build=False)
    except ModelNotAvailable:
        return None
    if folder is None:
        return None
    try:
        return ModelShape.from_config(spec.key, _read_config(folder))
    except (ModelNotAvailable, KeyError, TypeError, ValueError):
        return None


def _shape_and_tokenizer(model: str | LoadedModel | None) -> tuple[ModelShape, Any, str]:
    """Shape, tokenizer (or None) and revision-less key, without loading weights if possible."""
    from bridgex_chain.models import LoadedModel, load_causal_lm

    if isinstance(model, LoadedModel):
        config = model.model.config.get_text_config().to_dict()
        return ModelShape.from_config(model.spec.key, config), model.tokenizer, model.spec.key
    spec, folder = _config_folder(model, build=True)
    if folder is None:
        if spec.source == "hub":
            raise ModelNotAvailable(
                f"{spec.key} is not in the local Hugging Face cache, so its shape is unknown. "
                f"Download it first ('hf download {spec.hf_id}', from the huggingface_hub "
                "package) or pass the path of a local model directory."
            )
        loaded = load_causal_lm(model)  # a .gguf file: the config lives inside it
        return _shape_and_tokenizer(loaded)
    config = _read_config(folder)
    try:
        from transformers import AutoTokenizer

        tokenizer: Any = AutoTokenizer.from_pretrained(str(folder))
    except Exception:  # no tokenizer files or no transformers: estimate tokens from bytes
        tokenizer = None
    return ModelShape.from_config(spec.key, config), tokenizer, spec.key


def plan_build(
    model: str | LoadedModel | None = None,
    *,
    options: BuildOptions | None = None,
    **kwargs: Unpack[BuildKwargs],
) -> BuildPlan:
    """Plan a build without running it (``build-table --dry-run``).

    Args:
        model: Alias, Hub id, local path or a :class:`~bridgex_chain.models.LoadedModel`.
        options: Ready-made options (then ``kwargs`` must be empty).
        **kwargs: The options of :class:`~bridgex_chain.probing.options.BuildOptions`.

    Returns:
        The :class:`BuildPlan`.

    Raises:
        ProbeDataError: The probe set or corpus lacks an entry's language.
        ModelNotAvailable: The model's config cannot be found.
        InvalidOption: The layer window does not fit the model's layers.

    Example:
        >>> plan_build(languages=["sw"], max_prompts=8).forward_passes  # doctest: +SKIP
        128
    """
    opts = resolve_probe_sources(options if options is not None else BuildOptions.create(**kwargs))
    shape, tokenizer, key = _shape_and_tokenizer(model)
    window = opts.window(shape.num_layers, key)
    languages = opts.involved_languages()
    probe_set = opts.probe_set or default_probe_set(languages)
    layout = opts.layout(probe_set)
    corpus = opts.corpus(probe_set)
    probe_tokens = max_tokens = passes = 0
    for prompts in layout.directions.values():
        counts = _count_tokens(tokenizer, [p.text for p in prompts])
        probe_tokens += sum(counts)
        max_tokens = max([max_tokens, *counts])
        passes += math.ceil(len(prompts) / opts.batch_size)
    texts, corpus_tokens, corpus_passes = _corpus_tokens(
        tokenizer, corpus, languages, opts.corpus_max_tokens, opts.batch_size
    )
    entry_sizes = {e: layout.prompt_count(e) for e in layout.entries}
    seconds, peak = estimate(
        shape,
        opts,
        probe_tokens=probe_tokens,
        probe_prompts=layout.total_prompts,
        probe_passes=passes,
        corpus_tokens=corpus_tokens,
        corpus_passes=corpus_passes,
        window=window,
        largest_entry=max(entry_sizes.values()),
        max_prompt_tokens=max_tokens,
    )
    return BuildPlan(
        model=key,
        architecture=shape.architecture,
        num_layers=shape.num_layers,
        intermediate_size=shape.intermediate_size,
        probe_set=probe_set.name,
        probe_set_hash=probe_set.content_hash,
        languages=tuple(languages),
        bridges=opts.bridges,
        entries=tuple(layout.entries),
        prompts_per_entry={f"{s}|{t}": n for (s, t), n in entry_sizes.items()},
        directions=len(layout.directions),
        probe_prompts=layout.total_prompts,
        probe_tokens=probe_tokens,
        corpus_texts=texts,
        corpus_tokens=corpus_tokens,
        forward_passes=passes * (_GENERATED_TOKENS + 2 if opts.filter_understood else 1)
        + corpus_passes,
        window=(window[0], window[-1]),
        estimated_seconds=seconds,
        estimated_peak_bytes=peak,
        filter_understood=opts.filter_understood,
        probe_sources=opts.probe_sources or (),
    )
