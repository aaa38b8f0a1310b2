"""The options of a table build, the entries they ask for and the probe prompts of each.

* :class:`BuildOptions` holds every option of :func:`bridgex_chain.probing.build.build_table`
  (normalised language codes, parsed pairs and layer window), :class:`BuildKwargs` the keyword
  form both ``build_table`` and :func:`plan_build` accept. Every option is checked when the
  options are created: the device is one torch can use here (:func:`check_device`, without
  loading a model), the dtype one of :data:`~bridgex_chain.models.DTYPES`
  (:func:`check_dtype`); the layer window is checked against a model's depth by
  :meth:`BuildOptions.window` once that depth is known.
* **Entries** (:meth:`BuildOptions.entries`): the chat entry ``(L, L)`` of every requested
  language that is not a candidate bridge, then the explicit ``S-T`` pairs (``en-en`` asks for
  a bridge's own chat entry).
* :class:`ProbeLayout`: the probe prompts grouped by **direction** ``S→T``. A chat entry
  ``(L, L)`` uses every direction of the probe set that involves L, a pair ``(S, T)`` its own
  direction; a direction shared by several entries is recorded once.

:func:`bridgex_chain.probing.plan.plan_build` turns them into a dry-run plan with estimates.

Example:
    >>> opts = BuildOptions.create(languages=["sw", "en"], pairs="id-tl")
    >>> opts.entries()
    [('swh_Latn', 'swh_Latn'), ('ind_Latn', 'tgl_Latn')]
    >>> parse_layers("6-11")
    (6, 11)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack, get_args

from bridgex_chain.errors import InvalidOption, ProbeDataError, UnknownLanguage
from bridgex_chain.languages import DEFAULT_BRIDGES, STUDY_LANGUAGES, flores_codes, normalize
from bridgex_chain.models import DTYPES
from bridgex_chain.probing.bridges import AGGREGATIONS, Aggregation, layer_window
from bridgex_chain.probing.confidence import DEFAULT_RESAMPLES
from bridgex_chain.probing.corpus import Corpus
from bridgex_chain.probing.hsic import HSICMode
from bridgex_chain.probing.probe_set import Pair, ProbeSet
from bridgex_chain.probing.prompts import ProbePrompt

__all__ = [
    "ALL_LANGUAGES",
    "BuildKwargs",
    "BuildOptions",
    "ProbeLayout",
    "check_device",
    "check_dtype",
    "default_probe_set",
    "parse_layers",
    "parse_pairs",
    "parse_shard",
    "probe_layout",
]


_LAYERS = re.compile(r"^\s*(\d+)\s*(?:[-:]\s*(\d+)\s*)?$")
_DEVICE = re.compile(r"^(?:auto|(cpu|cuda|mps|xpu)(?::(\d+))?)$")
_DEVICE_HELP = "cpu, cuda, cuda:1, mps or auto"


def _lang(code: str) -> str:
    try:
        return normalize(code.strip())
    except UnknownLanguage as err:
        raise ProbeDataError(str(err)) from err


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def parse_pairs(value: str | Sequence[str | Sequence[str]] | None) -> tuple[Pair, ...]:
    """Parse ``S-T`` pairs (``"sw-en,id-tl"``, a list of such strings, or code tuples).

    Raises:
        ProbeDataError: A pair is not ``S-T`` or a code is unknown.

    Example:
        >>> parse_pairs("sw-en, zh-ja")
        (('swh_Latn', 'eng_Latn'), ('zho_Hans', 'jpn_Jpan'))
    """
    if value is None:
        return ()
    items: list[str | Sequence[str]] = [*_split(value)] if isinstance(value, str) else [*value]
    out: list[Pair] = []
    for item in items:
        # FLORES codes contain '_' but never '-', ISO codes neither.
        parts = item.strip().split("-") if isinstance(item, str) else list(item)
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise ProbeDataError(
                f"Cannot read the pair {item!r}: write source-target, e.g. 'sw-en' or "
                "'swh_Latn-eng_Latn' (several separated by commas)."
            )
        pair = (_lang(parts[0]), _lang(parts[1]))
        if pair not in out:
            out.append(pair)
    return tuple(out)


def parse_shard(value: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """Read ``"K/N"`` (the K-th of N shards, 1-based) into ``(K, N)``.

    Raises:
        InvalidOption: Not ``K/N`` with ``1 <= K <= N``.

    Example:
        >>> parse_shard("2/3"), parse_shard(None)
        ((2, 3), None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
        if match is None:
            raise InvalidOption(f"shard {value!r}: write K/N, e.g. 1/2 (the first of two).")
        value = (int(match.group(1)), int(match.group(2)))
    k, n = value
    if not 1 <= k <= n:
        raise InvalidOption(f"shard {k}/{n}: K must be between 1 and N.")
    return k, n


def _narrowed(
    langs: Sequence[str] | None,
    exclude: str | Sequence[str] | None,
    shard: tuple[int, int] | None,
) -> Sequence[str] | None:
    """``langs`` without ``exclude`` (codes, or ``study``), then the shard's share of them.

    A shard takes every N-th language of the sorted list, starting at the K-th, so N builds
    with shards 1/N … N/N cover every language once, each as its own run.
    """
    if exclude is None and shard is None:
        return langs
    codes = list(STUDY_LANGUAGES if langs is None else map(_lang, langs))
    if isinstance(exclude, str):
        exclude = STUDY_LANGUAGES if exclude.strip().lower() == "study" else _split(exclude)
    dropped = {_lang(code) for code in exclude or ()}
    kept = sorted(c for c in dict.fromkeys(codes) if c not in dropped)
    if shard is not None:
        k, n = shard
        kept = kept[k - 1 :: n]
    return kept


def parse_layers(value: str | Sequence[int] | None) -> tuple[int, int] | None:
    """Parse a layer window ``"6-11"`` (first and last, inclusive, 0-based) or ``"8"``.

    Example:
        >>> parse_layers("4-9"), parse_layers("7"), parse_layers(None)
        ((4, 9), (7, 7), None)
    """
    if value is None:
        return None
    parts: list[int] = []
    if isinstance(value, str):
        match = _LAYERS.match(value)
        if match:
            parts = [int(g) for g in match.groups() if g is not None]
    else:
        parts = [int(p) for p in value]
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or parts[0] < 0 or parts[1] < parts[0]:
        raise ProbeDataError(
            f"Cannot read the layer window {value!r}: write first-last (0-based, inclusive), "
            "e.g. '6-11'."
        )
    return parts[0], parts[1]


def check_dtype(dtype: str) -> str:
    """The model dtype, lower-cased, if it is one of :data:`~bridgex_chain.models.DTYPES`.

    Raises:
        InvalidOption: Another dtype (e.g. ``int8``: quantised weights cannot be probed).

    Example:
        >>> check_dtype("BFloat16")
        'bfloat16'
    """
    name = str(dtype).strip().lower()
    if name not in DTYPES:
        raise InvalidOption(
            f"Unknown dtype {dtype!r}: use one of {', '.join(DTYPES)} (probing reads float "
            "activations, so quantised dtypes such as int8 are not supported)."
        )
    return name


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # the build itself raises MissingDependency with the install hint
        return None
    return torch


def check_device(device: str) -> str:
    """The torch device, lower-cased, if torch can use it on this machine (no model loaded).

    ``cpu`` and ``auto`` (accelerate's device map) are always accepted; ``cuda[:N]``,
    ``mps`` and ``xpu[:N]`` only when torch sees that device.

    Raises:
        InvalidOption: Not a device name, or the device is not available here.

    Example:
        >>> check_device(" CPU "), check_device("auto")
        ('cpu', 'auto')
    """
    name = str(device).strip().lower()
    match = _DEVICE.match(name)
    if match is None:
        raise InvalidOption(f"Unknown device {device!r}: use {_DEVICE_HELP}.")
    kind, index = match.groups()
    if kind in (None, "cpu"):
        return name
    torch = _torch()
    if torch is None:
        return name
    if kind == "mps":
        available = bool(torch.backends.mps.is_available())
        count = 1 if available else 0
    else:
        backend = getattr(torch, kind, None)
        available = backend is not None and bool(backend.is_available())
        count = int(backend.device_count()) if backend is not None and available else 0
    if not available:
        raise InvalidOption(
            f"Device {device!r} is not available: this torch {torch.__version__} sees no "
            f"{kind.upper()} device. Use 'cpu' (or 'auto'), or install a torch build for "
            "your GPU (https://pytorch.org/get-started/locally/)."
        )
    if index is not None and int(index) >= count:
        raise InvalidOption(
            f"Device {device!r} is not available: torch sees {count} {kind.upper()} "
            f"device(s), numbered 0 to {count - 1}."
        )
    return name


#: ``languages=`` value for every language the detector labels.
ALL_LANGUAGES = "all"


class BuildKwargs(TypedDict, total=False):
    """Keyword options of ``build_table`` and :func:`plan_build` (see :class:`BuildOptions`).

    Two narrow ``languages`` before the entries are made, and are not kept as options:
    ``exclude`` (codes, or ``"study"``) and ``shard`` (``"K/N"``: every N-th of the sorted
    languages from the K-th, so N builds cover them once, each its own run).
    """

    languages: str | Sequence[str] | None
    bridges: Sequence[str]
    pairs: str | Sequence[str | Sequence[str]] | None
    probe_set: ProbeSet | None
    corpus_dir: str | os.PathLike[str] | None
    device: str
    dtype: str
    batch_size: int
    layers: str | Sequence[int] | None
    top_rate: float
    bridge_top_k: int | None
    filter_understood: bool
    max_prompts: int | None
    corpus_max_tokens: int | None
    all_layers: bool
    hsic_mode: HSICMode
    aggregation: Aggregation
    resamples: int
    parallel: str | os.PathLike[str] | None
    parallel_split: str
    render_pairs: int
    seed: int
    threads: int | None
    exclude: str | Sequence[str] | None
    shard: str | tuple[int, int] | None


@dataclass(frozen=True)
class BuildOptions:
    """Every option of a table build, normalised (build one with :meth:`create`).

    Attributes:
        languages: Languages whose chat entry ``(L, L)`` is built (None: the 15 study
            languages); candidate bridges among them get no chat entry unless paired explicitly.
            ``create(languages="all")`` takes every language the detector labels and sets
            :attr:`every_language`.
        bridges: Candidate bridge languages.
        pairs: Extra ``(S, T)`` entries (``(B, B)`` for a bridge's own chat entry).
        probe_set: The probe set (None: the bundled CLDR starter set, see
            :func:`default_probe_set`).
        corpus_dir: Monolingual texts for language neurons (None: the probe set's terms).
        device: Torch device of the model.
        dtype: Model dtype (``float32``, ``bfloat16``, ``float16``).
        batch_size: Prompts per forward pass.
        layers: Layer window ``(first, last)`` to aggregate over (None: the reference's middle
            third, scaled to the model's depth).
        top_rate: Fraction of all neurons that are a language's top neurons.
        bridge_top_k: Keep only the k bridge neurons with the highest mean probe activation.
        filter_understood: Keep only probes the model translates correctly (greedy decoding).
        max_prompts: Seeded random subset of at most this many prompts per direction.
        corpus_max_tokens: Tokens read per language for language neurons (None: all).
        all_layers: Score every layer (True) or only the layers of the window (faster).
        hsic_mode: ``"standard"`` (biased HSIC) or ``"reference"`` (the reference's formula).
        aggregation: Which window layers a candidate's aggregate averages
            (:data:`~bridgex_chain.probing.bridges.Aggregation`).
        resamples: Bootstrap resamples over the probe prompts per entry, for each candidate's
            interval and win rate (:mod:`~bridgex_chain.probing.confidence`); 0 skips it.
        parallel: A parallel corpus (FLORES / SIB-200 layout) for the render checks and the
            competence of each chat language (:mod:`~bridgex_chain.probing.render_check`);
            None skips them. Point it at rows you do not evaluate on (SIB-200 train).
        parallel_split: The corpus split the checks read (``train``; FLORES: ``dev``).
        render_pairs: Sentences per (language, bridge) render check.
        seed: Seed of the prompt subsets and of the bootstrap.
        threads: Torch CPU threads during the build (None: torch's default). On a CPU shared
            with other jobs, 1 thread is often much faster than oversubscribed OpenMP threads.
        every_language: Each language's probes come from its best source (CLDR, else
            ``parallel``), only toward the bridges, and languages without any are skipped and
            recorded (:func:`~bridgex_chain.probing.probe_sources.resolve_probe_sources`).
        probe_sources: Once resolved: ``(language, kind, detail)`` per language asked.
    """

    languages: tuple[str, ...] | None = None
    bridges: tuple[str, ...] = DEFAULT_BRIDGES
    pairs: tuple[Pair, ...] = ()
    probe_set: ProbeSet | None = None
    corpus_dir: Path | None = None
    device: str = "cpu"
    dtype: str = "float32"
    batch_size: int = 16
    layers: tuple[int, int] | None = None
    top_rate: float = 0.01
    bridge_top_k: int | None = None
    filter_understood: bool = False
    max_prompts: int | None = None
    corpus_max_tokens: int | None = 50_000
    all_layers: bool = True
    hsic_mode: HSICMode = "standard"
    aggregation: Aggregation = "shared"
    resamples: int = DEFAULT_RESAMPLES
    parallel: Path | None = None
    parallel_split: str = "train"
    render_pairs: int = 32
    seed: int = 0
    threads: int | None = None
    every_language: bool = False
    probe_sources: tuple[tuple[str, str, str], ...] | None = None

    @classmethod
    def create(cls, **kwargs: Unpack[BuildKwargs]) -> BuildOptions:
        """Build options from :class:`BuildKwargs` values (codes normalised, values checked).

        Raises:
            ProbeDataError: A language, pair or layer window cannot be read, or no entry.
            InvalidOption: A numeric option is out of range, the device is not available or
                the dtype unknown (also a ``ValueError``).
            TypeError: An unknown option.
        """
        unknown = set(kwargs) - set(BuildKwargs.__annotations__)
        if unknown:
            raise TypeError(f"Unknown build option(s): {', '.join(sorted(unknown))}")
        d = cls()
        langs = kwargs.get("languages")
        every = isinstance(langs, str) and langs.strip().lower() == ALL_LANGUAGES
        if every:  # the bundled detector's labels: the FLORES-200 / SIB-200 languages
            langs = sorted(flores_codes())
        elif isinstance(langs, str):
            langs = _split(langs)
        langs = _narrowed(langs, kwargs.get("exclude"), parse_shard(kwargs.get("shard")))
        corpus = kwargs.get("corpus_dir")
        parallel = kwargs.get("parallel")
        opts = cls(
            languages=None if langs is None else tuple(dict.fromkeys(map(_lang, langs))),
            bridges=tuple(dict.fromkeys(map(_lang, kwargs.get("bridges", d.bridges)))),
            pairs=parse_pairs(kwargs.get("pairs")),
            probe_set=kwargs.get("probe_set"),
            corpus_dir=None if corpus is None else Path(corpus).expanduser(),
            device=check_device(kwargs.get("device", d.device)),
            dtype=check_dtype(kwargs.get("dtype", d.dtype)),
            batch_size=kwargs.get("batch_size", d.batch_size),
            layers=parse_layers(kwargs.get("layers")),
            top_rate=kwargs.get("top_rate", d.top_rate),
            bridge_top_k=kwargs.get("bridge_top_k", d.bridge_top_k),
            filter_understood=kwargs.get("filter_understood", d.filter_understood),
            max_prompts=kwargs.get("max_prompts", d.max_prompts),
            corpus_max_tokens=kwargs.get("corpus_max_tokens", d.corpus_max_tokens),
            all_layers=kwargs.get("all_layers", d.all_layers),
            hsic_mode=kwargs.get("hsic_mode", d.hsic_mode),
            aggregation=kwargs.get("aggregation", d.aggregation),
            resamples=kwargs.get("resamples", d.resamples),
            parallel=None if parallel is None else Path(parallel).expanduser(),
            parallel_split=kwargs.get("parallel_split", d.parallel_split),
            render_pairs=kwargs.get("render_pairs", d.render_pairs),
            seed=kwargs.get("seed", d.seed),
            threads=kwargs.get("threads", d.threads),
            every_language=every,
        )
        opts._check()
        opts._compute_entries()
        return opts

    def _check(self) -> None:
        if self.batch_size < 1:
            raise InvalidOption(
                f"batch_size must be >= 1, got {self.batch_size}; 16 suits most CPUs."
            )
        if not 0.0 < self.top_rate <= 1.0:
            raise InvalidOption(
                f"top_rate must be in (0, 1], got {self.top_rate}; it is the fraction of all "
                "neurons that are a language's top neurons (the reference uses 0.01)."
            )
        if self.bridge_top_k is not None and self.bridge_top_k < 1:
            raise InvalidOption(
                f"bridge_top_k must be >= 1, got {self.bridge_top_k}; leave it unset to keep "
                "every bridge neuron."
            )
        if self.max_prompts is not None and self.max_prompts < 2:
            raise InvalidOption(
                f"max_prompts must be >= 2 (HSIC needs two prompts), got {self.max_prompts}; "
                "leave it unset to use every probe prompt."
            )
        if self.corpus_max_tokens is not None and self.corpus_max_tokens < 1:
            raise InvalidOption(
                f"corpus_max_tokens must be >= 1, got {self.corpus_max_tokens}; leave it unset "
                "(None) to read the whole corpus."
            )
        if self.aggregation not in AGGREGATIONS:
            raise InvalidOption(
                f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {self.aggregation!r}."
            )
        if self.render_pairs < 1:
            raise InvalidOption(f"render_pairs must be >= 1, got {self.render_pairs}.")
        if self.parallel is not None and not self.parallel.is_dir():
            raise InvalidOption(
                f"The parallel corpus {self.parallel} is not a directory: point parallel at a "
                "FLORES / SIB-200 root."
            )
        if self.resamples < 0:
            raise InvalidOption(
                f"resamples must be >= 0 (0 skips the bootstrap), got {self.resamples}."
            )
        if self.hsic_mode not in get_args(HSICMode):
            raise InvalidOption(
                f"hsic_mode must be 'standard' or 'reference', got {self.hsic_mode!r}."
            )
        if self.threads is not None and self.threads < 1:
            raise InvalidOption(
                f"threads must be >= 1, got {self.threads}; leave it unset for torch's default."
            )
        if not self.bridges:
            raise ProbeDataError("Give at least one candidate bridge language.")

    def _compute_entries(self) -> tuple[Pair, ...]:
        langs = STUDY_LANGUAGES if self.languages is None else self.languages
        chat = [(lang, lang) for lang in langs if lang not in self.bridges]
        entries = tuple(dict.fromkeys([*chat, *self.pairs]))
        if not entries:
            raise ProbeDataError(
                "Nothing to build: every requested language is a candidate bridge and no pair "
                "was given. Add languages, or pairs such as 'sw-en' (or 'en-en' for a bridge's "
                "own chat entry)."
            )
        return entries

    def window(self, num_layers: int, model: str = "the model") -> range:
        """The layer window over a model of ``num_layers`` layers (:attr:`layers` or the default).

        Raises:
            InvalidOption: :attr:`layers` reaches past the model's last layer.

        Example:
            >>> BuildOptions.create(layers="4-9").window(18)
            range(4, 10)
            >>> BuildOptions.create(layers="30-40").window(18, "gemma-3-270m")
            Traceback (most recent call last):
            ...
            bridgex_chain.errors.InvalidOption: The layer window 30-40 does not fit gemma-3-270m...
        """
        if self.layers is not None and self.layers[1] >= num_layers:
            default = layer_window(num_layers)
            raise InvalidOption(
                f"The layer window {self.layers[0]}-{self.layers[1]} does not fit {model}, "
                f"whose {num_layers} layers are numbered 0-{num_layers - 1}: pass a window "
                f"within them, e.g. '{default[0]}-{default[-1]}' (the default for this depth), "
                "or leave the window unset."
            )
        start, end = self.layers or (None, None)
        return layer_window(num_layers, start=start, end=end)

    def entries(self) -> list[Pair]:
        """The entries to score, in build order."""
        return list(self._compute_entries())

    def layout(self, probe_set: ProbeSet) -> ProbeLayout:
        """The probe prompts of :meth:`entries` over ``probe_set``, by direction."""
        return probe_layout(probe_set, self.entries(), max_prompts=self.max_prompts, seed=self.seed)

    def corpus(self, probe_set: ProbeSet) -> Corpus:
        """The language-neuron corpus: :attr:`corpus_dir`, or the probe set's terms.

        Raises:
            ProbeDataError: The corpus directory misses an involved language.
        """
        if self.corpus_dir is None:
            return Corpus.from_probe_set(probe_set)
        return Corpus.from_directory(self.corpus_dir, probe_set, self.involved_languages())

    def involved_languages(self) -> list[str]:
        """Every language whose neurons are needed: the entries' languages and the bridges."""
        langs = {lang for entry in self.entries() for lang in entry} | set(self.bridges)
        return sorted(langs)


def default_probe_set(languages: Sequence[str]) -> ProbeSet:
    """The bundled CLDR starter set over the study languages plus ``languages``.

    Example:
        >>> default_probe_set(["swh_Latn"]).name
        'cldr-starter-v1'
    """
    from bridgex_chain.probing.starter import starter_probe_set

    return starter_probe_set(sorted({*STUDY_LANGUAGES, *languages}))


@dataclass(frozen=True)
class ProbeLayout:
    """Probe prompts by direction, and the directions each entry uses.

    Attributes:
        directions: ``{(S, T): prompts}`` of every direction some entry uses.
        entries: ``{entry: its directions}`` in probe-set order.

    Example:
        >>> ps = ProbeSet.from_pairs("x", {("sw", "en"): [("maji", "water")],
        ...                                ("en", "sw"): [("fire", "moto")]})
        >>> layout = probe_layout(ps, [("swh_Latn", "swh_Latn")])
        >>> layout.prompt_count(("swh_Latn", "swh_Latn")), len(layout.directions)
        (2, 2)
    """

    directions: Mapping[Pair, tuple[ProbePrompt, ...]]
    entries: Mapping[Pair, tuple[Pair, ...]]

    def prompt_count(self, entry: Pair) -> int:
        """Number of probe prompts of one entry."""
        return sum(len(self.directions[d]) for d in self.entries[entry])

    @property
    def total_prompts(self) -> int:
        """Distinct prompts to record (each direction once)."""
        return sum(len(p) for p in self.directions.values())

    def users(self, direction: Pair) -> list[Pair]:
        """The entries that use one direction."""
        return [entry for entry, dirs in self.entries.items() if direction in dirs]


def probe_layout(
    probe_set: ProbeSet, entries: Sequence[Pair], *, max_prompts: int | None = None, seed: int = 0
) -> ProbeLayout:
    """Group the probe prompts of ``entries`` by direction.

    Raises:
        ProbeDataError: The probe set has no word pair for an entry.
    """
    available = probe_set.directions()
    by_entry: dict[Pair, tuple[Pair, ...]] = {}
    prompts: dict[Pair, tuple[ProbePrompt, ...]] = {}
    for src, trg in entries:
        if src == trg:
            dirs = tuple(d for d in available if src in d)
        else:
            dirs = ((src, trg),) if (src, trg) in available else ()
        if not dirs:
            probe_set.prompts(src, trg)  # raises ProbeDataError with what the set covers
        by_entry[(src, trg)] = dirs
        for d in dirs:
            if d not in prompts:
                prompts[d] = tuple(probe_set.prompts(*d, max_prompts=max_prompts, seed=seed))
    return ProbeLayout(directions=dict(sorted(prompts.items())), entries=by_entry)
