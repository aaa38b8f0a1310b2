"""Does a route policy keep the product's promise? Its checks, read from a results dictionary.

The promise (never worse than asking directly, and better where a bridge helps) is five
checks on one run, each a paired test on the same items:

1. the policy's pooled score is at least direct prompting's;
2. and at least the English bridge's;
3. on no language is it significantly worse than direct;
4. on every language where some single bridge beats direct significantly, the policy bridges
   (most of its items) and is not significantly worse than the best such bridge;
5. where no single bridge beats direct, it goes direct (bridges no item).

A check reads ``holds=None`` when the run lacks what it needs (no ``all`` condition, no English
arm, a language with fewer than ``min_items`` items): that is "not measured", not a pass.

Example:
    >>> checks = routing_checks({"entries": [], "pooled": []})
    >>> [c.holds for c in checks]
    [None, None, None, None, None]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridgex_chain.eval.cells import entry_name, fmt_paired, short

__all__ = ["MIN_ITEMS", "Check", "routing_checks"]

MIN_ITEMS = 102
"""Items per language the checks ask for (the eval's documented run has 102)."""


@dataclass(frozen=True)
class Check:
    """One claim about a route policy and whether the run bears it out.

    Attributes:
        claim: What is claimed, in words.
        holds: True or False as measured; None when the run cannot tell (see ``detail``).
        detail: The numbers behind it (differences and p-values), or what is missing.

    Example:
        >>> Check("x", None, "not measured").mark
        'not measured'
    """

    claim: str
    holds: bool | None
    detail: str

    @property
    def mark(self) -> str:
        """``holds``, ``fails`` or ``not measured``."""
        return {True: "holds", False: "fails", None: "not measured"}[self.holds]


def _condition(row: Mapping[str, Any], name: str, rendering: str) -> Mapping[str, Any] | None:
    found = row.get("renderings", {}).get(rendering, {}).get("conditions", {}).get(name)
    return found if found and found.get("n") else None


def _worse(test: Mapping[str, Any] | None) -> bool:
    return bool(test and test["significant"] and test["diff"] < 0)


def _better(test: Mapping[str, Any] | None) -> bool:
    return bool(test and test["significant"] and test["diff"] > 0)


def _pooled_checks(pooled: Mapping[str, Any] | None, policy: str, rendering: str) -> list[Check]:
    found = _condition(pooled, policy, rendering) if pooled else None
    checks = []
    for key, baseline in (("vs_direct", "direct"), ("vs_english", "the English bridge")):
        claim = f"pooled, {policy} scores at least {baseline}"
        test = found.get(key) if found else None
        if not test:
            checks.append(Check(claim, None, f"no pooled {policy} against {baseline} in the run"))
        else:
            detail = f"{fmt_paired(test)} over {test['n']} paired items"
            checks.append(Check(claim, test["diff"] >= 0, detail))
    return checks


def _verdict(failures: Sequence[str], unmeasured: Sequence[str], measured: int) -> bool | None:
    if failures:
        return False
    return None if unmeasured or not measured else True


def _missing(unmeasured: Sequence[str]) -> str:
    return f"; not measured: {', '.join(unmeasured)}" if unmeasured else ""


def _entry_checks(
    entries: Sequence[Mapping[str, Any]], policy: str, rendering: str, min_items: int
) -> list[Check]:
    worse: list[str] = []
    unmeasured: list[str] = []  # no policy arm, or too few items
    no_bridges: list[str] = []  # and also: not every single bridge was run
    helped: dict[bool, list[str]] = {True: [], False: []}
    direct: dict[bool, list[str]] = {True: [], False: []}
    for row in entries:
        name = entry_name(row)
        found = _condition(row, policy, rendering)
        if found is None or row.get("n", 0) < min_items:
            unmeasured.append(name)
            continue
        if _worse(found.get("vs_direct")):
            worse.append(f"{name} {fmt_paired(found['vs_direct'])}")
        bridges = row.get("renderings", {}).get(rendering, {}).get("bridges", {})
        candidates = row.get("candidates", [])
        if not candidates or not all(bridges.get(b, {}).get("vs_direct") for b in candidates):
            no_bridges.append(name)
            continue
        helping = [b for b in candidates if _better(bridges[b]["vs_direct"])]
        bridged = found.get("bridged", 0)
        if helping:
            best = max(helping, key=lambda b: bridges[b]["score"])
            against = (found.get("vs_bridges") or {}).get(best)
            ok = bridged * 2 > found["n"] and against is not None and not _worse(against)
            helped[ok].append(
                f"{name}: {short(best)} beats direct ({fmt_paired(bridges[best]['vs_direct'])}); "
                f"{policy} bridged {bridged}/{found['n']}"
                + (f", against {short(best)} {fmt_paired(against)}" if against else "")
            )
        else:
            direct[bridged == 0].append(f"{name} bridged {bridged}/{found['n']}")
    measured = len(entries) - len(unmeasured)
    unmeasured_all = [*unmeasured, *no_bridges]
    measured_all = len(entries) - len(unmeasured_all)
    return [
        Check(
            f"no language is significantly worse than direct under {policy}",
            _verdict(worse, unmeasured, measured),
            ("worse: " + "; ".join(worse) if worse else f"none of {measured} languages")
            + _missing(unmeasured),
        ),
        Check(
            "where a single bridge beats direct significantly, the policy bridges and is not "
            "significantly worse than it",
            _verdict(helped[False], unmeasured_all, measured_all),
            ("; ".join([*helped[False], *helped[True]]) or f"no such language of {measured_all}")
            + _missing(unmeasured_all),
        ),
        Check(
            "where no single bridge beats direct, the policy goes direct",
            _verdict(direct[False], unmeasured_all, measured_all),
            (("bridged anyway: " + "; ".join(direct[False]) + "; ") if direct[False] else "")
            + f"{len(direct[True])} languages go direct"
            + _missing(unmeasured_all),
        ),
    ]


def routing_checks(
    results: Mapping[str, Any],
    *,
    task: str = "classify",
    policy: str = "evidence",
    rendering: str = "self",
    min_items: int = MIN_ITEMS,
) -> list[Check]:
    """Return the five checks of a route policy's promise on one task of a run.

    Args:
        results: An evaluation's results (``results.json``), with the ``direct`` condition, the
            policy's, ``english`` and ``all`` (every single bridge).
        task: The task whose entries are checked.
        policy: The route policy's condition (``evidence``, ``table`` …).
        rendering: The rendering whose conditions are read.
        min_items: Items a language needs for its checks to count.

    Example:
        >>> [c.claim.split(",")[0] for c in routing_checks({"entries": [], "pooled": []})][:2]
        ['pooled', 'pooled']
    """
    entries = [e for e in results.get("entries", []) if e.get("task") == task]
    pooled = next((p for p in results.get("pooled", []) if p.get("task") == task), None)
    return [
        *_pooled_checks(pooled, policy, rendering),
        *_entry_checks(entries, policy, rendering, min_items),
    ]
