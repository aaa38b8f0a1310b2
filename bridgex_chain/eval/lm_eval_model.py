r"""The chain as an lm-evaluation-harness model: any lm-eval task through bridged prompting.

Registered with lm-eval's model registry as ``"bridgex"`` when this module is imported.
lm-eval 0.4.13 has no plugin hook for models outside its source tree (no entry-point group is
read; ``--include_path`` only indexes task YAML), so the plain ``lm_eval`` command cannot find
it. This module's :func:`main` is lm-eval's own CLI with the model registered first, and takes
exactly lm-eval's arguments::

    python -m bridgex_chain.eval.lm_eval_model --model bridgex \
        --model_args model=gemma-3-270m,route_policy=table --tasks ... --include_path ...

In Python, pass an instance: ``lm_eval.simple_evaluate(model=BridgeXLM(...), tasks=[...])``, or
import this module and use ``model="bridgex"``.

How a request is bridged (``docs/lm_eval.md`` has the full account):

* **The context is routed.** Each distinct context (lm-eval's whole prompt, few-shot examples
  included) is routed once through :meth:`BridgeXChain.route
  <bridgex_chain.chain.runnable.BridgeXChain.route>`: its language is detected (or ``lang`` is
  used) and the route policy looked up, with the chain's fallbacks (a query in a bridge language,
  no table row, unknown language … go direct).
* **Bridged: the context is rendered line by line.** When a bridge is taken, every non-blank
  line of the context goes through :meth:`BridgeXChain.prepare
  <bridgex_chain.chain.runnable.BridgeXChain.prepare>` with the context's language, and its
  rendering in the bridge language (``prep.plan.rendering``) replaces it; line breaks, blank
  lines, indents and the context's trailing whitespace are kept. Lines, not the whole prompt:
  the render template stops a one-line text at its end of line (a multi-line one only at a
  blank line, which a small model may not write before its token budget), the prompt's layout
  survives, and lines that recur across documents (cue lines such as ``Answer:``, few-shot
  examples) are rendered once (the chain's rendering cache). A line whose rendering comes back
  empty keeps its own text. The model then reads the *bridged context*.
* **Direct: the context is lm-eval's own**, character for character, so ``route_policy=direct``
  reproduces a plain Hugging Face evaluation.
* ``loglikelihood``: ``log P(continuation | context read)`` from
  :meth:`HFCore.logprobs <bridgex_chain.models.hf.HFCore.logprobs>` on the token ids
  ``[bos] + ids(context) + ids(continuation)``; trailing whitespace of the context moves to the
  continuation first, as lm-eval's ``HFLM`` does. Requests that share a context are scored in
  one call (the context's key/value cache is reused). ``is_greedy`` is whether greedy decoding
  of as many tokens as the continuation has gives the continuation's text; by default
  (``greedy=auto``) it is computed only for requests that are their document's only request
  (the ``loglikelihood`` output type, whose ``acc`` uses it), and is False for multiple-choice
  requests, whose metrics never read it (``greedy=always|never`` to change that).
* ``generate_until``: :meth:`HFCore.generate <bridgex_chain.models.hf.HFCore.generate>` after
  the context read, cut at the ``until`` strings, ``max_gen_toks`` tokens at most (default:
  ``max_new_tokens``), batched over requests with the same options.
* ``loglikelihood_rolling`` (perplexity) has no context to bridge and raises
  :class:`~bridgex_chain.errors.InvalidOption`.
* The routes are counted per distinct context (:meth:`BridgeXLM.route_summary`): logged after
  each request type (logger ``bridgex_chain.eval.lm_eval_model``) and written to the results'
  ``config["bridgex"]``.

Example:
    >>> type(make_policy("direct")).__name__, make_policy("fr").bridge
    ('NoBridge', 'fra_Latn')
    >>> from lm_eval.api.registry import get_model
    >>> get_model("bridgex") is BridgeXLM
    True
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridgex_chain.chain.policies import FixedBridge, NoBridge, RandomBridge
from bridgex_chain.chain.route import BridgeLookup
from bridgex_chain.chain.runnable import BridgeXChain
from bridgex_chain.errors import InvalidOption, MissingDependency, UnknownLanguage
from bridgex_chain.languages import DEFAULT_BRIDGES, normalize
from bridgex_chain.models.hf import HFCore
from bridgex_chain.models.tokens import encode

try:
    import lm_eval.models  # noqa: F401 - lm-eval's own names first (see the end of the module)
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
except ImportError as err:  # pragma: no cover - the lmeval extra is part of [all]
    raise MissingDependency("lm-eval", "lmeval", "The lm-evaluation-harness model") from err

__all__ = ["MODEL_NAME", "POLICIES", "BridgeXLM", "BridgedContext", "main", "make_policy"]

logger = logging.getLogger(__name__)

MODEL_NAME = "bridgex"
"""The name of the model in lm-eval's registry (``--model bridgex``)."""

POLICIES = ("direct", "english", "table", "evidence", "random")
"""The named route policies; any other ``route_policy`` is read as a bridge language code."""

_GEN_OPTIONS = frozenset({"until", "max_gen_toks", "do_sample", "temperature"})


@dataclass(frozen=True)
class BridgedContext:
    """What the model reads in place of one lm-eval context, and how it got there.

    Attributes:
        text: The context as the model reads it: its lines rendered in the bridge language (with
            the original line breaks and trailing whitespace), or the context itself.
        lang: The language the context was routed as (None: empty context).
        bridge: The bridge language it was rendered in (None: direct).
        fallback: Why it went direct (the chain's fallback, ``empty_input`` or
            ``empty_rendering``), or None.
        lines: Lines sent to the render step (0 when direct).
        rendered: Lines whose rendering replaced them.
    """

    text: str
    lang: str | None
    bridge: str | None = None
    fallback: str | None = None
    lines: int = 0
    rendered: int = 0


def make_policy(
    route_policy: str,
    table: Callable[[], Any] | None = None,
    *,
    seed: int = 0,
) -> BridgeLookup:
    """The route policy named ``route_policy`` as a bridge lookup for the chain.

    Args:
        route_policy: ``direct`` (:class:`~bridgex_chain.chain.policies.NoBridge`), ``english``
            (``FixedBridge("eng_Latn")``), ``table`` (the table itself), ``evidence``
            (:class:`~bridgex_chain.chain.evidence.EvidencePolicy` over the table), ``random``
            (``RandomBridge`` over :data:`~bridgex_chain.languages.DEFAULT_BRIDGES`) or a bridge
            language code (``FixedBridge(code)``).
        table: Returns the bridge table (called unless the policy is ``direct``); the fixed and
            random policies read their bridges' scores from it. Required for ``table`` and
            ``evidence``.
        seed: Seed of the random policy.

    Raises:
        InvalidOption: An unknown policy, or ``table`` without a table.

    Example:
        >>> make_policy("english").best("m", "swh_Latn").bridge
        'eng_Latn'
        >>> make_policy("tabel")
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.InvalidOption: Unknown route_policy 'tabel': use direct, english, ...
    """
    name = route_policy.strip()
    if name.lower() == "direct":
        return NoBridge()
    if name.lower() not in POLICIES:
        try:
            code = normalize(name)
        except UnknownLanguage as err:
            raise InvalidOption(
                f"Unknown route_policy {route_policy!r}: use {', '.join(POLICIES)} or a bridge "
                "language code (a FLORES-200 code such as fra_Latn, or 'fr')."
            ) from err
    opened = table() if table is not None else None
    if name.lower() in ("table", "evidence"):
        if opened is None:
            raise InvalidOption(f"route_policy={name.lower()} needs a bridge table: pass table=.")
        lookup: BridgeLookup = opened
        if name.lower() == "evidence":
            from bridgex_chain.chain.evidence import EvidencePolicy, EvidenceSource

            if not isinstance(opened, EvidenceSource):
                raise InvalidOption(
                    "route_policy=evidence needs a table that stores render checks (a "
                    "BridgeTable): pass one as table=."
                )
            lookup = EvidencePolicy(opened)
        return lookup
    if name.lower() == "random":
        return RandomBridge(DEFAULT_BRIDGES, seed=seed, table=opened)
    return FixedBridge("eng_Latn" if name.lower() == "english" else code, table=opened)


class BridgeXLM(LM):  # type: ignore[misc]
    r"""lm-eval's ``LM`` answering through :class:`~bridgex_chain.chain.runnable.BridgeXChain`.

    See the module docstring for what each request type does.

    Args:
        model: Alias, Hub id or local path of the model, loaded with
            :func:`~bridgex_chain.models.langchain.local_model` (default: the embedded
            Gemma-3-270m). Ignored when ``llm`` is given.
        route_policy: ``direct``, ``english``, ``table``, ``random`` or a bridge code.
        lang: The language of every context (skips detection), any code
            :func:`~bridgex_chain.languages.normalize` reads.
        database_url: The bridge table's database (default: a temporary SQLite file holding
            only the tables shipped with the package, so results do not depend on local runs).
        max_new_tokens: Token budget of each line's rendering, and of generation when a task
            sets no ``max_gen_toks``.
        threads: ``torch.set_num_threads`` before the model loads.
        batch_size: Prompts per generation batch (``auto``: the core's default, 8).
        seed: Seed of the ``random`` policy.
        greedy: When ``is_greedy`` is computed: ``auto``, ``always`` or ``never``.
        llm: A loaded local model (``LocalHFLLM``/``LocalHFChatModel``, anything with an
            :class:`~bridgex_chain.models.hf.HFCore` as ``.core``) instead of ``model``.
        table: A :class:`~bridgex_chain.chain.route.BridgeLookup` instead of the database.
        detector: The chain's language detector (default: fastText).
        renderings: Known renderings ``(line, bridge code) -> text`` (a translation memory).
        max_batch_size: lm-eval's option; not used.
        device: lm-eval's option; the model stays where it was loaded.

    Raises:
        InvalidOption: A bad option value, or an ``llm`` without an ``HFCore``.
        ModelNotAvailable: The model cannot be loaded from local files.

    Example:
        >>> lm = BridgeXLM.create_from_arg_string(
        ...     "model=gemma-3-270m,route_policy=table,lang=sw")  # doctest: +SKIP
        >>> lm.loglikelihood(requests)  # doctest: +SKIP
        [(-4.1, False), (-2.7, False)]
    """

    def __init__(
        self,
        model: str | None = None,
        route_policy: str = "table",
        lang: str | None = None,
        database_url: str | None = None,
        max_new_tokens: int = 128,
        threads: int | None = None,
        batch_size: int | str | None = None,
        seed: int = 0,
        greedy: str = "auto",
        *,
        llm: Any = None,
        table: BridgeLookup | None = None,
        detector: Any = None,
        renderings: Mapping[tuple[str, str], str] | None = None,
        max_batch_size: int | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__()
        self.route_policy = str(route_policy)
        self.lang = normalize(str(lang)) if lang else None
        self.max_new_tokens = _positive("max_new_tokens", max_new_tokens)
        self.batch_size = _batch_size(batch_size)
        if str(greedy) not in ("auto", "always", "never"):
            raise InvalidOption(f"greedy must be auto, always or never, got {greedy!r}.")
        self.greedy = str(greedy)
        if threads is not None:
            import torch

            torch.set_num_threads(_positive("threads", threads))
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._database_url = database_url
        self._table = table
        policy = make_policy(self.route_policy, self._open_table, seed=int(seed))
        if llm is None:
            from bridgex_chain.models.langchain import local_model

            llm = local_model(
                None if model is None else str(model), max_new_tokens=self.max_new_tokens
            )
        core = getattr(llm, "core", None)
        if not isinstance(core, HFCore):
            raise InvalidOption(
                "llm must be a local Hugging Face model with an HFCore as .core (what "
                "bridgex_chain.models.langchain.local_model returns): lm-eval's requests are "
                "scored and generated through it."
            )
        self.core = core
        self.chain = BridgeXChain(
            llm=llm,
            table=policy,
            route_policy="table",  # the policy is the lookup make_policy built
            model=core.model_id,
            detector=detector,
            task="chat",
            max_new_tokens=self.max_new_tokens,
            render_cache_size=4096,
            renderings=renderings,
        )
        self._contexts: dict[str, BridgedContext] = {}
        self._ignored: set[str] = set()

    @classmethod
    def create_from_arg_string(
        cls, arg_string: str, additional_config: dict[str, Any] | None = None
    ) -> BridgeXLM:
        """Build from ``--model_args``; lm-eval's own options fill only what they leave unset.

        lm-eval always passes ``--batch_size`` (default 1) beside the model's arguments, so a
        ``batch_size`` in ``--model_args`` wins over it instead of clashing.
        """
        from lm_eval.utils import simple_parse_args_string

        return cls.create_from_arg_obj(simple_parse_args_string(arg_string), additional_config)

    @classmethod
    def create_from_arg_obj(
        cls, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None
    ) -> BridgeXLM:
        """Build from a dict of arguments (see :meth:`create_from_arg_string`).

        Raises:
            InvalidOption: An argument the model does not take (the message lists them).
        """
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None}
        known = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        unknown = sorted(set(arg_dict) - set(known))
        if unknown:
            raise InvalidOption(
                f"The bridgex model takes no argument {', '.join(map(repr, unknown))}: use "
                f"{', '.join(known)}."
            )
        return cls(**{**extra, **arg_dict})

    # ------------------------------------------------------------------ routing

    def _open_table(self) -> Any:
        if self._table is not None:
            return self._table
        from bridgex_chain.store.table import BridgeTable

        url = self._database_url
        if not url:
            self._tmp = tempfile.TemporaryDirectory(prefix="bridgex-lm-eval-")
            url = f"sqlite:///{Path(self._tmp.name) / 'bridges.sqlite'}"
        table = BridgeTable(url)
        table.ensure_shipped()
        self._table = table
        return table

    def bridge_context(self, context: str) -> BridgedContext:
        r"""Route ``context`` and render it if a bridge is taken (once per distinct context).

        Example:
            >>> lm.bridge_context("Habari?\nTopic:").bridge  # doctest: +SKIP
            'spa_Latn'
        """
        known = self._contexts.get(context)
        if known is None:
            known = self._contexts[context] = self._bridge(context)
            how = known.bridge or f"direct ({known.fallback})"
            logger.debug("bridgex: %s context via %s reads %r", known.lang, how, known.text)
        return known

    def _bridge(self, context: str) -> BridgedContext:
        body, tail = _split_trailing(context)
        if not body.strip():
            return BridgedContext(context, None, fallback="empty_input")
        keywords = {"lang": self.lang} if self.lang else {}
        route = self.chain.route(body, **keywords)
        lang = route.detection.lang
        if not route.bridged or route.bridge is None:
            return BridgedContext(context, lang, fallback=str(route.fallback))
        lines = body.split("\n")
        sent = rendered = 0
        for i, line in enumerate(lines):
            text = line.strip()
            if not text:
                continue
            sent += 1
            prep = self.chain.prepare(text, lang=lang)
            if prep.route.bridged and prep.plan.rendering:
                start = line.index(text)  # keep the line's own indent and trailing blanks
                lines[i] = line[:start] + prep.plan.rendering + line[start + len(text) :]
                rendered += 1
        if not rendered:
            return BridgedContext(context, lang, None, "empty_rendering", sent, 0)
        text = "\n".join(lines) + tail
        return BridgedContext(text, lang, route.bridge.bridge, None, sent, rendered)

    def route_summary(self) -> dict[str, Any]:
        """Counts of the routes taken so far, over distinct contexts.

        Example:
            >>> lm.route_summary()  # doctest: +SKIP
            {'route_policy': 'table', 'contexts': 204, 'bridged': 204, 'bridges': {'spa_Latn':
            204}, 'fallbacks': {}, 'languages': {'swh_Latn': 204}, 'lines': 408,
            'rendered': 408}
        """
        seen = list(self._contexts.values())
        return {
            "route_policy": self.route_policy,
            "contexts": len(seen),
            "bridged": sum(1 for c in seen if c.bridge is not None),
            "bridges": dict(Counter(c.bridge for c in seen if c.bridge is not None)),
            "fallbacks": dict(Counter(c.fallback for c in seen if c.fallback is not None)),
            "languages": dict(Counter(c.lang or "none" for c in seen)),
            "lines": sum(c.lines for c in seen),
            "rendered": sum(c.rendered for c in seen),
        }

    def _log_summary(self, what: str) -> None:
        s = self.route_summary()
        logger.info(
            "bridgex %s: %d contexts, %d bridged %s, direct %s, languages %s",
            what,
            s["contexts"],
            s["bridged"],
            s["bridges"],
            s["fallbacks"],
            s["languages"],
        )

    def get_model_info(self) -> dict[str, Any]:
        """What lm-eval adds to its results' ``config``: the model and the route counts."""
        return {"bridgex": {"model": self.core.model_id, **self.route_summary()}}

    # ------------------------------------------------------------------ requests

    def loglikelihood(
        self, requests: Sequence[Any], disable_tqdm: bool = False
    ) -> list[tuple[float, bool]]:
        """``(log P(continuation | context read), is_greedy)`` per request (module docstring).

        Raises:
            PromptTooLong: A context (or its rendering) and continuation exceed the context
                window.
        """
        scored: list[tuple[str, str]] = []
        for request in _progress(requests, "bridgex: routing", disable_tqdm):
            context, continuation = request.args
            body, tail = _split_trailing(self.bridge_context(context).text)
            scored.append((body, tail + continuation))
        by_context: dict[str, list[int]] = {}
        for i, (context, _) in enumerate(scored):
            by_context.setdefault(context, []).append(i)
        logprobs = [0.0] * len(scored)
        for context, rows in _progress(by_context.items(), "bridgex: scoring", disable_tqdm):
            values = self.core.logprobs(context, "", [scored[i][1] for i in rows])
            for i, value in zip(rows, values, strict=True):
                logprobs[i] = value
        greedy = self._greedy(requests, scored)
        results = list(zip(logprobs, greedy, strict=True))
        for request, result in zip(requests, results, strict=True):
            self.cache_hook.add_partial("loglikelihood", request.args, result)
        self._log_summary("loglikelihood")
        return results

    def _greedy(self, requests: Sequence[Any], scored: Sequence[tuple[str, str]]) -> list[bool]:
        """``is_greedy`` per request: the greedy continuation of the same length is its text."""
        flags = [False] * len(scored)
        if self.greedy == "never":
            return flags
        docs = Counter(_document(r) for r in requests)
        todo = [
            i
            for i, r in enumerate(requests)
            if self.greedy == "always" or _document(r) is None or docs[_document(r)] == 1
        ]
        if not todo:
            return flags
        lengths = encode(
            self.core.tokenizer, [scored[i][1] for i in todo], add_special_tokens=False
        )
        by_length: dict[int, list[int]] = {}
        for i, ids in zip(todo, lengths, strict=True):
            by_length.setdefault(len(ids), []).append(i)
        for length, rows in by_length.items():
            if length == 0:
                continue
            texts = self.core.generate(
                [scored[i][0] for i in rows], max_new_tokens=length, batch_size=self.batch_size
            )
            for i, text in zip(rows, texts, strict=True):
                flags[i] = text == scored[i][1]
        return flags

    def generate_until(self, requests: Sequence[Any], disable_tqdm: bool = False) -> list[str]:
        """Generate after each request's context read, until a stop string or the budget.

        ``until``, ``max_gen_toks``, ``do_sample`` and ``temperature`` are used; other
        generation options are ignored (logged once).

        Raises:
            InvalidOption: A generation option has a value that cannot be used.
            PromptTooLong: A context (or its rendering) plus the budget exceed the context window.
        """
        groups: dict[tuple[Any, ...], list[int]] = {}
        prompts: list[str] = []
        for i, request in enumerate(_progress(requests, "bridgex: routing", disable_tqdm)):
            context, options = request.args
            prompts.append(self.bridge_context(context).text)
            groups.setdefault(self._gen_options(options), []).append(i)
        outputs = [""] * len(prompts)
        for key, rows in _progress(groups.items(), "bridgex: generating", disable_tqdm):
            until, budget, sample, temperature = key
            texts = self.core.generate(
                [prompts[i] for i in rows],
                max_new_tokens=budget,
                stop=until,
                do_sample=sample,
                temperature=temperature,
                batch_size=self.batch_size,
            )
            for i, text in zip(rows, texts, strict=True):
                outputs[i] = text
        for request, text in zip(requests, outputs, strict=True):
            self.cache_hook.add_partial("generate_until", request.args, text)
        self._log_summary("generate_until")
        return outputs

    def _gen_options(self, options: Any) -> tuple[tuple[str, ...], int, bool, float]:
        opts = dict(options or {})
        until = opts.get("until") or ()
        stops = (until,) if isinstance(until, str) else tuple(str(s) for s in until)
        budget = _positive("max_gen_toks", opts.get("max_gen_toks", self.max_new_tokens))
        temperature = float(opts.get("temperature", 1.0) or 0.0)
        sample = bool(opts.get("do_sample", False)) and temperature > 0
        for name in sorted(set(opts) - _GEN_OPTIONS - self._ignored):
            self._ignored.add(name)
            logger.warning("bridgex: generation option %r is not supported and is ignored", name)
        return stops, budget, sample, temperature if sample else 1.0

    def loglikelihood_rolling(
        self, requests: Sequence[Any], disable_tqdm: bool = False
    ) -> list[float]:
        """Not supported: a rolling log-likelihood has no context to route through a bridge.

        Raises:
            InvalidOption: Always.
        """
        raise InvalidOption(
            "The bridgex model does not support loglikelihood_rolling (perplexity tasks such as "
            "wikitext): the whole document is the text scored, so there is no context to render "
            "in a bridge language. Evaluate perplexity tasks with lm-eval's own --model hf."
        )


def _split_trailing(text: str) -> tuple[str, str]:
    """``text`` without its trailing whitespace, and that whitespace."""
    body = text.rstrip()
    return body, text[len(body) :]


def _document(request: Any) -> tuple[Any, Any] | None:
    doc_id = getattr(request, "doc_id", None)
    return None if doc_id is None else (getattr(request, "task_name", None), doc_id)


def _positive(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or str(number) != str(value).strip():
        raise InvalidOption(f"{name} must be a positive whole number, got {value!r}.")
    return number


def _batch_size(value: Any) -> int | None:
    """``auto``/``auto:N``/None: the core's default; else a positive number."""
    if value is None or str(value).startswith("auto"):
        return None
    return _positive("batch_size", value)


def _progress(items: Any, desc: str, disable: bool) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=disable)


def main(argv: Sequence[str] | None = None) -> None:
    """lm-eval's command line with the ``bridgex`` model registered (same arguments).

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Example:
        >>> main(["--model", "bridgex", "--model_args", "route_policy=direct",
        ...       "--tasks", "my_task", "--include_path", "tasks/"])  # doctest: +SKIP
    """
    from lm_eval.__main__ import cli_evaluate
    from lm_eval.utils import setup_logging

    setup_logging()  # lm-eval's handler; the route counts are logged through it too
    source = logging.getLogger("lm_eval")
    if not logger.handlers:
        logger.setLevel(source.level)
        for handler in source.handlers:
            logger.addHandler(handler)
        logger.propagate = False
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    cli_evaluate()


if __name__ == "__main__":  # python -m: the importable module registers the model, then runs
    importlib.import_module("bridgex_chain.eval.lm_eval_model").main()
else:
    register_model(MODEL_NAME)(BridgeXLM)
