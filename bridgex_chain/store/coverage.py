"""Which languages a model's bridge table covers, where their probes came from, and why not.

:func:`table_coverage` answers, for every language asked (by default the CLI asks for every
language the detector labels), one of:

* ``entry`` — the language has its own chat entry ``(L, L)``; ``source`` says where its probes
  came from (``cldr`` or ``parallel``, from the run's ``probe_sources`` parameter, else the
  run's probe set name);
* ``borrowed`` — no entry of its own, but a close language's entry serves it (the chain's
  close-language fallback, :func:`~bridgex_chain.languages.borrowing_order`);
* ``none`` — no route: why (a build skipped it and said why, or no build included it).

Example:
    >>> from bridgex_chain.store.table import BridgeTable
    >>> rows = table_coverage(BridgeTable("sqlite://"), "demo/model", ["swh_Latn"])
    >>> rows[0].status, rows[0].detail
    ('none', 'not in any build of this model')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bridgex_chain.languages import borrowing_order, bridging_code, normalize

if TYPE_CHECKING:
    from bridgex_chain.store.records import RunRecord
    from bridgex_chain.store.table import BridgeTable

__all__ = ["CoverageRow", "table_coverage"]

CoverageStatus = Literal["entry", "borrowed", "none"]


@dataclass(frozen=True)
class CoverageRow:
    """One language's coverage in a model's table.

    Attributes:
        lang: FLORES-200 code.
        status: ``entry``, ``borrowed`` or ``none``.
        source: Where the entry's probes came from (``cldr``, ``parallel``, a probe set name),
            or for ``borrowed`` the language whose entry serves it; empty for ``none``.
        detail: What the probes were, or why there is no route.
        run_id: The run the entry (or the reason) comes from, if any.

    Example:
        >>> CoverageRow("ace_Latn", "none", "", "not in any build of this model").covered
        False
    """

    lang: str
    status: CoverageStatus
    source: str
    detail: str
    run_id: int | None = None

    @property
    def covered(self) -> bool:
        """Whether the chain has a table route for the language (its own or a borrowed one)."""
        return self.status != "none"


def _probe_sources(params: Mapping[str, Any]) -> Mapping[str, Any]:
    found = params.get("probe_sources")
    return found if isinstance(found, Mapping) else {}


def table_coverage(table: BridgeTable, model: str, languages: Iterable[str]) -> list[CoverageRow]:
    """The coverage of ``languages`` (in the order given) in ``model``'s table.

    Args:
        table: The bridge table (shipped tables visible or imported).
        model: The model's stored key.
        languages: The languages to report on.

    Example:
        >>> from bridgex_chain.store.table import BridgeTable
        >>> [r.status for r in table_coverage(BridgeTable("sqlite://"), "demo/m", ["sw"])]
        ['none']
    """
    entries = {s for s, t in table.pairs(model) if s == t} if model in table.models() else set()
    runs = [r for r in table.runs(model) if r.status == "complete"]
    by_id = {r.run_id: r for r in runs}
    rows: list[CoverageRow] = []
    for lang in dict.fromkeys(normalize(code) for code in languages):
        code = lang if lang in entries else bridging_code(lang)
        if code in entries:
            rows.append(_entry_row(lang, code, table, model, by_id))
            continue
        borrowed = next((c for c in borrowing_order(code) if c in entries), None)
        if borrowed is not None:
            rows.append(CoverageRow(lang, "borrowed", borrowed, "a close language's entry"))
            continue
        reason = next(
            (
                (str(src.get("detail", "")), run.run_id)
                for run in reversed(runs)
                for key, src in _probe_sources(run.params).items()
                if key == code and isinstance(src, Mapping) and src.get("kind") == "none"
            ),
            None,
        )
        if reason is not None:
            rows.append(CoverageRow(lang, "none", "", f"no probes: {reason[0]}", reason[1]))
        else:
            rows.append(CoverageRow(lang, "none", "", "not in any build of this model"))
    return rows


def _entry_row(
    lang: str, code: str, table: BridgeTable, model: str, runs: Mapping[int | None, RunRecord]
) -> CoverageRow:
    best = table.best(model, code, code)
    run = runs.get(best.run_id)
    src = _probe_sources(run.params if run is not None else {}).get(code)
    if isinstance(src, Mapping):
        kind, detail = str(src.get("kind", "")), str(src.get("detail", ""))
    else:  # a run from before probe sources were recorded: its probe set says it
        kind = str(best.provenance.get("probe_set") or (run.probe_set if run else ""))
        detail = "the run's probe set"
    if code != lang:  # a dialect or variant the chain looks up as its standard language
        detail = f"{detail}, looked up as {code}"
    return CoverageRow(lang, "entry", kind, detail, best.run_id)
