"""Classification measured through the chain users run: ``chain.batch`` under each route policy.

Nothing here builds a prompt. For each policy (a :class:`~bridgex_chain.chain.route.BridgeLookup`:
the table, :class:`~bridgex_chain.chain.policies.NoBridge` for direct prompting,
:class:`~bridgex_chain.chain.policies.FixedBridge` for English or any single candidate,
:class:`~bridgex_chain.chain.policies.RandomBridge`), ``make_chain(policy)`` returns the chain,
and every item goes through ``chain.batch`` as ``{"query": text, "task": "classify", "labels":
labels}`` — with ``"lang"`` given when ``detect=False``, so detection is skipped, or without it, so
the chain's detector decides (both are worth reporting: a wrong detection is a wrong route). An
item is right when the reply's chosen label (``response_metadata["bridgex"]["choice"]``) is its
gold label; what the chain did (bridge, fallback, detected language) is kept per item.

:func:`summarise_policies` gives each policy its accuracy with a bootstrap interval and the exact
McNemar test against the ``direct`` policy on the same items.

Example:
    >>> from langchain_core.language_models import FakeListLLM
    >>> from bridgex_chain.chain import BridgeXChain
    >>> from bridgex_chain.chain.policies import NoBridge
    >>> from bridgex_chain.eval.data import Item
    >>> items = [Item("1", "Timu ilishinda.", "sports")]
    >>> make = lambda policy: BridgeXChain(llm=FakeListLLM(responses=["sports"]), table=policy,
    ...                                    model="m", task="classify")
    >>> run = evaluate_policies(make, {"direct": NoBridge()}, items, lang="swh_Latn",
    ...                         labels=["sports", "politics"])
    >>> run["direct"][0].correct, run["direct"][0].fallback
    (True, 'no_bridge')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from langchain_core.runnables import Runnable

from bridgex_chain.chain.route import BridgeLookup
from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.stats import bootstrap_interval, metric, paired_test

__all__ = ["ItemResult", "evaluate_policies", "summarise_policies"]

ChainFactory = Callable[[BridgeLookup], Runnable[Any, Any]]


@dataclass(frozen=True)
class ItemResult:
    """What the chain did with one item under one policy.

    Attributes:
        id: The item's id.
        correct: Whether the chosen label is the gold label.
        choice: The label the chain returned (None when its answer matched no label).
        lang: The language the chain routed as (detected, or the given one).
        bridge: The bridge it went through (None: direct).
        fallback: Why it went direct, if it did.
    """

    id: str
    correct: bool
    choice: str | None
    lang: str | None
    bridge: str | None
    fallback: str | None


def evaluate_policies(
    make_chain: ChainFactory,
    policies: Mapping[str, BridgeLookup],
    items: Sequence[Item],
    *,
    lang: str,
    labels: Sequence[str],
    detect: bool = False,
    max_concurrency: int | None = 1,
) -> dict[str, list[ItemResult]]:
    """Run every item through the chain of every policy (see the module docstring).

    Args:
        make_chain: Builds the chain for a policy (share the model between the chains).
        policies: Policy name → bridge lookup; include ``"direct"`` for the paired tests.
        items: The items (text and gold label).
        lang: The items' language (FLORES code), passed to the chain unless ``detect``.
        labels: The label set.
        detect: Let the chain's detector find the language instead.
        max_concurrency: ``chain.batch``'s concurrency (a local model serialises its calls).

    Raises:
        InvalidOption: No policy or no label.
    """
    if not policies or not labels:
        raise InvalidOption("evaluate_policies needs at least one policy and one label.")
    inputs: list[dict[str, Any]] = []
    for item in items:
        request: dict[str, Any] = {"query": item.text, "task": "classify", "labels": list(labels)}
        if not detect:
            request["lang"] = lang
        inputs.append(request)
    results: dict[str, list[ItemResult]] = {}
    for name, policy in policies.items():
        replies = make_chain(policy).batch(inputs, {"max_concurrency": max_concurrency})
        results[name] = [_result(item, reply) for item, reply in zip(items, replies, strict=True)]
    return results


def _result(item: Item, reply: Any) -> ItemResult:
    meta = reply.response_metadata.get("bridgex", {})
    choice = meta.get("choice")
    return ItemResult(
        id=item.id,
        correct=choice is not None and choice == item.gold,
        choice=choice,
        lang=meta.get("lang"),
        bridge=meta.get("bridge"),
        fallback=meta.get("fallback"),
    )


def summarise_policies(
    results: Mapping[str, Sequence[ItemResult]],
    *,
    baseline: str = "direct",
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Each policy's accuracy (95 % bootstrap interval) and its paired test against ``baseline``.

    Example:
        >>> right = ItemResult("1", True, "a", "swh_Latn", None, "no_bridge")
        >>> wrong = ItemResult("1", False, "b", "swh_Latn", "fra_Latn", None)
        >>> out = summarise_policies({"direct": [right], "table": [wrong]}, resamples=10)
        >>> out["direct"]["score"], out["table"]["score"], out["table"]["vs_direct"]["losses"]
        (100.0, 0.0, 1)
    """
    accuracy = metric("accuracy")
    base = {r.id: r for r in results.get(baseline, [])}
    out: dict[str, dict[str, Any]] = {}
    for name, rows in results.items():
        stats = [accuracy.item_stats(r.correct) for r in rows]
        summary: dict[str, Any] = asdict(
            bootstrap_interval(accuracy, stats, resamples=resamples, seed=seed)
        )
        summary["bridged"] = sum(1 for r in rows if r.bridge is not None and r.fallback is None)
        if name != baseline and base:
            pairs = [(r, base[r.id]) for r in rows if r.id in base]
            test = paired_test(
                accuracy,
                [accuracy.item_stats(r.correct) for r, _ in pairs],
                [accuracy.item_stats(b.correct) for _, b in pairs],
            )
            if test is not None:
                summary[f"vs_{baseline}"] = {**asdict(test), "significant": test.significant}
        out[name] = summary
    return out
