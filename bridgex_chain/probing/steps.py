"""The resumable steps of a table build (METHOD.md steps 1–5), each cached in a :class:`RunCache`.

:class:`BuildSteps` runs one step at a time; every unit of work (a language's neuron counts, a
direction's understood mask or probe activations, an entry's scores) is written to the run's
cache as soon as it is done and read back instead of recomputed when the build runs again.

* :meth:`~BuildSteps.language_neurons` — step 1–2: stream each language's corpus into a
  counter, keep its top neurons;
* :meth:`~BuildSteps.groups` — step 3: overlap and bridge-specific groups per entry;
* :meth:`~BuildSteps.understood` — optional ``--filter-understood`` masks per direction;
* :meth:`~BuildSteps.record_probes` — step 2 of METHOD (prompt means), per direction, only the
  neuron columns some entry using the direction needs;
* :meth:`~BuildSteps.score_entries` — steps 4–5: HSIC per layer and bridge.

Example:
    >>> steps = BuildSteps(model, tok, opts, layout, corpus, cache, window, emit)  # doctest: +SKIP
    >>> top = steps.language_neurons(opts.involved_languages())  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bridgex_chain.errors import ProbeDataError
from bridgex_chain.languages import DEFAULT_BRIDGES
from bridgex_chain.probing.bridges import ProbeActivations, score_pair
from bridgex_chain.probing.cache import RunCache, entry_name
from bridgex_chain.probing.confidence import BridgeConfidence, bootstrap_ranking
from bridgex_chain.probing.corpus import Corpus
from bridgex_chain.probing.neurons import (
    LanguageNeuronCounter,
    Mask,
    PairGroups,
    mask_from_indices,
    pair_groups,
    top_neurons,
)
from bridgex_chain.probing.options import BuildOptions, ProbeLayout
from bridgex_chain.probing.probe_set import Pair
from bridgex_chain.probing.prompts import understood_pairs
from bridgex_chain.probing.record import count_language_neurons, record_prompt_means
from bridgex_chain.probing.render_check import LanguageChecks, check_language

__all__ = ["MIN_PROMPTS", "TEXT_TOKENS", "BuildSteps", "EntryScores", "PerLayer", "torch_threads"]

logger = logging.getLogger(__name__)

#: ``{bridge: {layer: score}}`` of one entry.
PerLayer = dict[str, dict[int, float]]


def render_languages(entries: Iterable[tuple[str, str]]) -> list[str]:
    """The languages the render stage measures: each chat entry's (``(L, L)``), in order.

    The default candidate bridges (:data:`~bridgex_chain.languages.DEFAULT_BRIDGES`) are left
    out: the chain prompts a query written in one of them as it is (``query_is_a_bridge``), so
    their checks would never be read.

    Example:
        >>> render_languages([("swh_Latn", "swh_Latn"), ("ind_Latn", "tgl_Latn"),
        ...                   ("eng_Latn", "eng_Latn"), ("swh_Latn", "swh_Latn")])
        ['swh_Latn']
    """
    chat = (s for s, t in entries if s == t and s not in DEFAULT_BRIDGES)
    return list(dict.fromkeys(chat))


@dataclass(frozen=True)
class EntryScores:
    """What the scores stage computes for one entry.

    Attributes:
        prompts: Probe prompts the scores were computed over.
        per_layer: ``{bridge: {layer: score}}`` (layers without a score are absent).
        confidence: ``{bridge: BridgeConfidence}`` from the bootstrap (empty when skipped).

    Example:
        >>> scores = EntryScores(64, {"fra_Latn": {6: 0.5}}, {})
        >>> EntryScores.from_json(scores.to_json()) == scores
        True
    """

    prompts: int
    per_layer: PerLayer
    confidence: dict[str, BridgeConfidence] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the stage's cache file)."""
        return {
            "prompts": self.prompts,
            "per_layer": {b: {str(k): v for k, v in s.items()} for b, s in self.per_layer.items()},
            "confidence": {b: asdict(c) for b, c in self.confidence.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EntryScores:
        """Read :meth:`to_json` output (files without ``confidence`` give none)."""
        per_layer = {
            b: {int(k): float(v) for k, v in s.items()} for b, s in data["per_layer"].items()
        }
        confidence = {b: BridgeConfidence(**c) for b, c in data.get("confidence", {}).items()}
        return cls(int(data["prompts"]), per_layer, confidence)


#: Fewest probe prompts an entry needs to be scored (HSIC over fewer is meaningless).
MIN_PROMPTS = 4
#: Corpus texts are cut to this many tokens.
TEXT_TOKENS = 256

Emit = Callable[[str, int, int, str], None]


class BuildSteps:
    """The steps of one build over one loaded model (see the module docstring).

    Args:
        model: The causal LM (on its device, eval mode).
        tokenizer: Its tokenizer.
        opts: The build options.
        layout: Probe prompts by direction and the directions of each entry.
        corpus: Monolingual texts for language neurons.
        cache: The run's intermediates directory.
        window: Layers aggregated; with ``opts.all_layers`` False only these are recorded.
        emit: ``emit(stage, done, total, detail)`` progress callback.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        opts: BuildOptions,
        layout: ProbeLayout,
        corpus: Corpus,
        cache: RunCache,
        window: range,
        emit: Emit,
    ) -> None:
        self.model, self.tokenizer, self.opts = model, tokenizer, opts
        self.layout, self.corpus, self.cache, self.window = layout, corpus, cache, window
        self.emit = emit
        config = model.config.get_text_config()
        self.num_layers = int(config.num_hidden_layers)
        self.intermediate_size = int(config.intermediate_size)

    # -- steps 1-2: language neurons ---------------------------------------------------------
    def language_neurons(self, languages: Sequence[str]) -> dict[str, Mask]:
        """Count each language's activations > 0 (cached per language); return its top neurons.

        Raises:
            ProbeDataError: A language's corpus yielded no token.
        """
        top: dict[str, Mask] = {}
        for done, lang in enumerate(languages):
            self.emit("neurons", done, len(languages), lang)
            cached = self.cache.load_arrays(f"neurons/{lang}")
            if cached is None:
                counter = LanguageNeuronCounter(self.num_layers, self.intermediate_size)
                count_language_neurons(
                    self.model,
                    self.tokenizer,
                    {lang: self.corpus.texts(lang)},
                    counter,
                    batch_size=self.opts.batch_size,
                    max_tokens_per_text=TEXT_TOKENS,
                    max_tokens_per_lang=self.opts.corpus_max_tokens,
                    on_progress=self._tokens_progress(done, len(languages)),
                )
                if lang not in counter.languages:
                    raise ProbeDataError(f"The corpus of {lang} is empty; give it some text.")
                over_zero, tokens = counter.counts(lang)
                self.cache.save_arrays(f"neurons/{lang}", over_zero=over_zero, tokens=tokens)
            else:
                over_zero, tokens = cached["over_zero"], cached["tokens"]
            if int(tokens.min()) == 0:
                raise ProbeDataError(f"No token of {lang} was counted; its corpus is empty.")
            top[lang] = top_neurons(over_zero / tokens[:, None], self.opts.top_rate)
        self.emit("neurons", len(languages), len(languages), "")
        return top

    def _tokens_progress(self, done: int, total: int) -> Callable[[str, int], None]:
        def report(lang: str, tokens: int) -> None:
            self.emit("neurons", done, total, f"{lang}: {tokens} tokens")

        return report

    # -- step 3: groups --------------------------------------------------------------------
    def groups(self, top: Mapping[str, Mask]) -> dict[Pair, PairGroups]:
        """Overlap and bridge-specific groups of every entry (written to the cache as JSON)."""
        out: dict[Pair, PairGroups] = {}
        for entry in self.layout.entries:
            groups = pair_groups(top, entry[0], entry[1], self.opts.bridges)
            self.cache.save_json(f"groups/{entry_name(*entry)}", groups.to_json())
            out[entry] = groups
        return out

    def scored_groups(self) -> dict[Pair, PairGroups] | None:
        """The cached groups when every entry is already scored, else None.

        A build whose scores are all cached needs no language neurons (they only make the
        groups) and no probe activations, so it resumes from its small JSON files alone (the
        groups, scores and render checks) — what a long build keeps across machines.
        """
        out: dict[Pair, PairGroups] = {}
        for entry in self.layout.entries:
            cached = self.cache.load_json(f"groups/{entry_name(*entry)}")
            if cached is None or not self.cache.has(f"scores/{entry_name(*entry)}"):
                return None
            out[entry] = PairGroups.from_json(cached)
        return out

    def _entry_mask(self, groups: PairGroups) -> Mask:
        """Every neuron the entry's groups use (within the window unless all layers)."""
        mask = mask_from_indices(groups.overlap, self.intermediate_size)
        for idx in groups.bridges.values():
            mask |= mask_from_indices(idx, self.intermediate_size)
        if not self.opts.all_layers:
            mask[: self.window[0]] = False
            mask[self.window[-1] + 1 :] = False
        return mask

    def _all_scored(self, direction: Pair) -> bool:
        """Whether every entry using ``direction`` has cached scores (its probes are moot)."""
        return all(self.cache.has(f"scores/{entry_name(*e)}") for e in self.layout.users(direction))

    # -- optional: --filter-understood -------------------------------------------------------
    def understood(self) -> dict[Pair, NDArray[np.bool_]]:
        """Per direction, which probes the model answers with a gold target (cached)."""
        keep: dict[Pair, NDArray[np.bool_]] = {}
        total = self.layout.total_prompts
        done = 0
        for direction, prompts in self.layout.directions.items():
            self.emit("understood", done, total, entry_name(*direction))
            name = f"understood/{entry_name(*direction)}"
            mask = self.cache.load_array(name)
            if mask is None and self._all_scored(direction):
                done += len(prompts)
                continue
            if mask is None:
                answers = understood_pairs(
                    self.model,
                    self.tokenizer,
                    [p.text for p in prompts],
                    [p.targets for p in prompts],
                    batch_size=self.opts.batch_size,
                )
                mask = np.asarray(answers, dtype=bool)
                self.cache.save_array(name, mask)
            keep[direction] = mask.astype(bool)
            done += len(prompts)
        self.emit("understood", total, total, "")
        return keep

    # -- step 2 of METHOD: probe activations -------------------------------------------------
    def record_probes(
        self, groups: Mapping[Pair, PairGroups], keep: Mapping[Pair, NDArray[np.bool_]]
    ) -> None:
        """Record every direction's prompt means for the columns its entries need (cached)."""
        masks = {entry: self._entry_mask(g) for entry, g in groups.items()}
        sizes = {
            d: int(keep[d].sum()) if d in keep else len(p)
            for d, p in self.layout.directions.items()
        }
        total, done = sum(sizes.values()), 0
        for direction, prompts in self.layout.directions.items():
            name = f"probes/{entry_name(*direction)}"
            self.emit("probes", done, total, entry_name(*direction))
            if not self.cache.has(name) and not self._all_scored(direction):
                union = np.zeros((self.num_layers, self.intermediate_size), dtype=bool)
                for entry in self.layout.users(direction):
                    union |= masks[entry]
                texts = [p.text for p in prompts]
                if direction in keep:
                    texts = [t for t, k in zip(texts, keep[direction], strict=True) if k]
                coords, values = self._record(union, texts, done, total)
                self.cache.save_arrays(name, coords=coords, values=values)
            done += sizes[direction]
        self.emit("probes", total, total, "")

    def _record(
        self, union: Mask, texts: list[str], done: int, total: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        coords = np.argwhere(union).astype(np.int64).reshape(-1, 2)
        neurons = {
            int(layer): coords[coords[:, 0] == layer, 1] for layer in np.unique(coords[:, 0])
        }
        if not neurons or not texts:
            return coords, np.zeros((coords.shape[0], len(texts)), dtype=np.float32)
        means = record_prompt_means(
            self.model,
            self.tokenizer,
            texts,
            batch_size=self.opts.batch_size,
            neurons=neurons,
            on_progress=lambda n, _t: self.emit("probes", done + n, total, ""),
        )
        values = np.concatenate([means[layer] for layer in sorted(neurons)], axis=0)
        return coords, values.astype(np.float32, copy=False)

    # -- steps 4-5: HSIC scores --------------------------------------------------------------
    def _entry_activations(self, entry: Pair, mask: Mask) -> tuple[ProbeActivations, int]:
        want = np.argwhere(mask).astype(np.int64).reshape(-1, 2)
        want_flat = want[:, 0] * self.intermediate_size + want[:, 1]
        blocks: list[NDArray[np.float32]] = []
        for direction in self.layout.entries[entry]:
            arrays = self.cache.load_arrays(f"probes/{entry_name(*direction)}")
            if arrays is None:
                raise ProbeDataError(
                    f"Probe activations of {direction} are missing from {self.cache.path}."
                )
            have = arrays["coords"][:, 0] * self.intermediate_size + arrays["coords"][:, 1]
            pos = np.searchsorted(have, want_flat)
            pos = np.minimum(pos, max(have.size - 1, 0))
            if want_flat.size and (have.size == 0 or not np.array_equal(have[pos], want_flat)):
                raise ProbeDataError(
                    f"Cached probes of {direction} lack needed neurons; delete {self.cache.path}."
                )
            blocks.append(arrays["values"][pos])
        values = np.concatenate(blocks, axis=1)
        layers = np.unique(want[:, 0])
        acts = ProbeActivations(
            values={int(ell): values[want[:, 0] == ell] for ell in layers},
            neurons={int(ell): want[want[:, 0] == ell, 1] for ell in layers},
        )
        return acts, int(values.shape[1])

    def score_entries(self, groups: Mapping[Pair, PairGroups]) -> dict[Pair, EntryScores]:
        """Per entry: its prompts, per-layer scores and bootstrap figures (cached per entry)."""
        out: dict[Pair, EntryScores] = {}
        entries = list(self.layout.entries)
        for done, entry in enumerate(entries):
            self.emit("scores", done, len(entries), entry_name(*entry))
            name = f"scores/{entry_name(*entry)}"
            cached = self.cache.load_json(name)
            if cached is None or ("confidence" not in cached and self.opts.resamples):
                scores = self._score(entry, groups[entry])
                self.cache.save_json(name, scores.to_json())
            else:
                scores = EntryScores.from_json(cached)
            out[entry] = scores
        self.emit("scores", len(entries), len(entries), "")
        return out

    def _score(self, entry: Pair, groups: PairGroups) -> EntryScores:
        acts, prompts = self._entry_activations(entry, self._entry_mask(groups))
        if prompts < MIN_PROMPTS:
            logger.warning(
                "Entry %s→%s has %d probe prompt(s), fewer than %d: left unscored.",
                entry[0],
                entry[1],
                prompts,
                MIN_PROMPTS,
            )
            return EntryScores(prompts, {b: {} for b in groups.bridges}, {})
        scores = score_pair(
            acts,
            groups,
            self.window,
            bridge_top_k=self.opts.bridge_top_k,
            aggregation=self.opts.aggregation,
            mode=self.opts.hsic_mode,
        )
        confidence: dict[str, BridgeConfidence] = {}
        if self.opts.resamples:
            confidence = bootstrap_ranking(
                acts,
                groups,
                self.window,
                resamples=self.opts.resamples,
                seed=self.opts.seed,
                aggregation=self.opts.aggregation,
                bridge_top_k=self.opts.bridge_top_k,
                mode=self.opts.hsic_mode,
            )
        return EntryScores(prompts, scores.per_layer, confidence)

    # -- render checks: can the model carry each chat language into each bridge? ------------
    def render_checks(self) -> dict[str, LanguageChecks]:
        """Per chat language: competence and render gain into every bridge (cached per language).

        Reads ``opts.parallel`` (its ``opts.parallel_split`` rows), only the ``"check"`` part
        of them (:func:`~bridgex_chain.probing.parallel_probes.row_part`: never a row that
        parallel probes or a held-out evaluation read); empty without a corpus.
        Languages: :func:`render_languages`.

        Raises:
            ProbeDataError: The corpus lacks a language or a bridge.
        """
        if self.opts.parallel is None:
            return {}
        from bridgex_chain.models.hf import HFCore
        from bridgex_chain.prompting.demos import DemoPool

        langs = render_languages(self.layout.entries)
        pool = DemoPool.from_parallel(self.opts.parallel, self.opts.parallel_split)
        core: HFCore | None = None
        baselines: dict[str, MutableMapping[str, float]] = {}
        out: dict[str, LanguageChecks] = {}
        for done, lang in enumerate(langs):
            self.emit("render", done, len(langs), lang)
            name = f"render/{lang}"
            cached = self.cache.load_json(name)
            if cached is None:
                core = core or HFCore(self.model, self.tokenizer, "build")
                rows = {
                    c: pool.column(c) for c in (lang, *self.opts.bridges) if c in pool.languages
                }
                checks = check_language(
                    core,
                    lang,
                    self.opts.bridges,
                    rows,
                    pairs=self.opts.render_pairs,
                    seed=self.opts.seed,
                    baselines=baselines,
                    part="check",
                )
                self.cache.save_json(name, checks.to_json())
            else:
                checks = LanguageChecks.from_json(cached)
            out[lang] = checks
        self.emit("render", len(langs), len(langs), "")
        return out


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch CPU threads (None: unchanged), restoring them afterwards.

    Example:
        >>> with torch_threads(None):
        ...     pass
    """
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
