"""table_coverage: own entries and their probe sources, borrowed entries, and why none."""

from __future__ import annotations

from collections.abc import Callable

from bridgex_chain.store.coverage import CoverageRow, table_coverage
from bridgex_chain.store.records import RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

Aggregates = Callable[[str, str, dict[str, float]], list[ScoreRow]]


def test_entries_borrowed_and_missing_languages_are_told_apart(
    table: BridgeTable, make_run: Callable[..., RunRecord], aggregates: Aggregates
) -> None:
    run = make_run()
    run.params = {
        "probe_sources": {
            "swh_Latn": {"kind": "cldr", "detail": "412 CLDR terms"},
            "ace_Latn": {"kind": "parallel", "detail": "64 sentence pairs per bridge"},
            "ilo_Latn": {"kind": "none", "detail": "CLDR: no locale; no parallel corpus given"},
        }
    }
    rows = [
        *aggregates("sw", "sw", {"fr": 0.5, "en": 0.4}),
        *aggregates("ace_Latn", "ace_Latn", {"en": 0.3}),
        *aggregates("id", "id", {"en": 0.2}),
    ]
    run_id = table.upsert_run(run, rows)
    found = table_coverage(
        table, "demo/model", ["swahili", "ace_Latn", "bjn_Latn", "ilo_Latn", "yor_Latn"]
    )
    assert found == [
        CoverageRow("swh_Latn", "entry", "cldr", "412 CLDR terms", run_id),
        CoverageRow("ace_Latn", "entry", "parallel", "64 sentence pairs per bridge", run_id),
        CoverageRow("bjn_Latn", "borrowed", "ind_Latn", "a close language's entry"),
        CoverageRow(
            "ilo_Latn", "none", "", "no probes: CLDR: no locale; no parallel corpus given", run_id
        ),
        CoverageRow("yor_Latn", "none", "", "not in any build of this model"),
    ]
    assert [r.covered for r in found] == [True, True, True, False, False]


def test_a_run_without_probe_sources_names_its_probe_set_and_aliases_are_looked_up(
    table: BridgeTable, make_run: Callable[..., RunRecord], aggregates: Aggregates
) -> None:
    table.upsert_run(make_run(), aggregates("arb_Arab", "arb_Arab", {"fr": 0.5}))
    egyptian, standard = table_coverage(table, "demo/model", ["arz_Arab", "arb_Arab"])
    assert (standard.status, standard.source, standard.detail) == (
        "entry",
        "starter",
        "the run's probe set",
    )
    assert egyptian.status == "entry"
    assert egyptian.detail == "the run's probe set, looked up as arb_Arab"


def test_an_unknown_model_covers_nothing(table: BridgeTable) -> None:
    assert [r.status for r in table_coverage(table, "absent/model", ["sw", "en"])] == [
        "none",
        "none",
    ]
