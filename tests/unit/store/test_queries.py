"""Read side: ranking with ties, which run answers an entry, run records and scores, messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bridgex_chain.store import queries
from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
from bridgex_chain.store.runs import normalized_rows
from bridgex_chain.store.table import BridgeTable

Factory = Callable[..., tuple[RunRecord, list[ScoreRow]]]
MakeRun = Callable[..., RunRecord]
Aggregates = Callable[[str, str, dict[str, float]], list[ScoreRow]]


def test_ties_share_a_rank(table: BridgeTable, make_run: MakeRun, aggregates: Aggregates) -> None:
    table.upsert_run(
        make_run(), aggregates("sw", "sw", {"fr": 0.5, "en": 0.5, "es": 0.25, "de": 0.25})
    )
    ranking = table.ranking("demo/model", "sw")
    assert [(r.bridge, r.rank) for r in ranking] == [
        ("eng_Latn", 1),
        ("fra_Latn", 1),
        ("deu_Latn", 3),
        ("spa_Latn", 3),
    ]
    best = table.best("demo/model", "sw")
    assert (best.bridge, best.margin) == ("eng_Latn", 0.0)


def test_single_candidate_has_no_margin(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    table.upsert_run(make_run(), aggregates("sw", "sw", {"fr": 0.5}))
    assert table.best("demo/model", "sw").margin is None


def test_newest_complete_run_wins(
    table: BridgeTable, make_sample_run: Factory, aggregates: Aggregates
) -> None:
    newer, newer_rows = make_sample_run(
        seed=1, started_at="2025-06-01T00:00:00Z", finished_at="2025-06-01T02:00:00Z"
    )
    older, older_rows = make_sample_run(
        seed=2, started_at="2025-01-01T00:00:00Z", finished_at="2025-01-01T02:00:00Z"
    )
    newer_id = table.upsert_run(newer, newer_rows)
    table.upsert_run(older, older_rows)  # stored later, but finished earlier
    assert table.best("demo/model", "swh_Latn").run_id == newer_id
    # An entry only the older run has is still answered, from the older run.
    table.upsert_run(
        replace(older, started_at="2024-01-01T00:00:00Z", run_id=None),
        aggregates("zu", "zu", {"en": 0.5}),
    )
    assert table.best("demo/model", "zul_Latn").bridge == "eng_Latn"


def test_rank_ties_within_the_tolerance_and_orders_them_by_code() -> None:
    nearly = 0.5 * (1 + queries.TIE_REL_TOL / 2)
    ranked = queries.rank([("spa", 0.5, 2), ("deu", nearly, 1), ("eng", 0.4, 3), ("fra", 0.4, 0)])
    assert [(r.bridge, r.rank, r.layers_scored) for r in ranked] == [
        ("deu", 1, 1),
        ("spa", 1, 2),
        ("eng", 3, 3),
        ("fra", 3, 0),
    ]
    assert queries.rank([]) == ()
    apart = queries.rank([("a", 0.5, 1), ("b", 0.5 * (1 - 1e-6), 1)])
    assert [r.rank for r in apart] == [1, 2]


def test_model_entries_read_complete_runs_only(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    table.upsert_run(make_run(), aggregates("sw", "sw", {"fr": 0.5, "en": 0.25}))
    running = make_run(started="2025-08-01T00:00:00Z")
    table.write_scores(table.begin_run(running), aggregates("yo", "yo", {"fr": 0.9}), final=False)
    with table.engine.connect() as conn:
        entries = queries.model_entries(conn, "demo/model")
        assert queries.model_entries(conn, "nobody/none") == {}
        assert queries.complete_models(conn) == ["demo/model"]
    assert list(entries) == [("swh_Latn", "swh_Latn")]
    entry = entries[("swh_Latn", "swh_Latn")]
    assert (entry.best.bridge, entry.best.margin) == ("fra_Latn", 0.25)
    assert [r.bridge for r in entry.ranking] == ["fra_Latn", "eng_Latn"]


def test_run_records_filter_by_model_status_and_ids(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    first = table.upsert_run(make_run("a/m"), aggregates("sw", "sw", {"fr": 0.5}))
    second = table.upsert_run(make_run("b/m", "2025-02-01T00:00:00Z"), [])
    failed = table.begin_run(make_run("a/m", "2025-03-01T00:00:00Z"))
    table.fail_run(failed, "boom")
    with table.engine.connect() as conn:
        assert [r.run_id for r in queries.run_records(conn)] == [first, second, failed]
        assert [r.run_id for r in queries.run_records(conn, "a/m")] == [first, failed]
        assert [r.run_id for r in queries.run_records(conn, status="failed")] == [failed]
        assert [r.run_id for r in queries.run_records(conn, run_ids=[second])] == [second]
        (record,) = queries.run_records(conn, "b/m")
    assert record.profile == ModelProfile("b/m", "r1", "llama", 4, 16)
    assert record.started_at == "2025-02-01T00:00:00+00:00" and record.finished_at
    assert record.languages == ["swh_Latn", "eng_Latn", "fra_Latn", "spa_Latn"]


def test_run_scores_come_per_layer_then_aggregate_in_key_order(
    table: BridgeTable, make_run: MakeRun
) -> None:
    rows = [
        ScoreRow("yo", "yo", "fr", None, 0.3, 2),
        ScoreRow("sw", "sw", "fr", 1, 0.2),
        ScoreRow("sw", "sw", "en", 0, 0.1),
        ScoreRow("sw", "sw", "en", None, 0.1, 1),
    ]
    run_id = table.upsert_run(make_run(), rows)
    with table.engine.connect() as conn:
        assert queries.run_scores(conn, run_id) == [
            ScoreRow("swh_Latn", "swh_Latn", "eng_Latn", 0, 0.1),
            ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", 1, 0.2),
            ScoreRow("swh_Latn", "swh_Latn", "eng_Latn", None, 0.1, 1),
            ScoreRow("yor_Latn", "yor_Latn", "fra_Latn", None, 0.3, 2),
        ]
        assert queries.run_scores(conn, run_id + 100) == []


def test_bootstrap_figures_reach_rankings_best_and_scores(
    table: BridgeTable, make_run: MakeRun
) -> None:
    rows = [
        # The interval of a percentile bootstrap may exclude the point score (fr).
        ScoreRow("sw", "sw", "fr", None, 4.1e-08, 3, 4.2e-08, 6.0e-08, 0.875, 200),
        ScoreRow("sw", "sw", "en", None, 3.0e-08, 3, 1.0e-08, 4.5e-08, 0.125, 200),
        ScoreRow("sw", "sw", "es", None, 1.0e-08, 3),  # stored without a bootstrap
    ]
    run_id = table.upsert_run(make_run(), rows)
    ranking = table.ranking("demo/model", "sw")
    assert [(r.bridge, r.rank, r.low, r.high, r.win_rate, r.resamples) for r in ranking] == [
        ("fra_Latn", 1, 4.2e-08, 6.0e-08, 0.875, 200),
        ("eng_Latn", 2, 1.0e-08, 4.5e-08, 0.125, 200),
        ("spa_Latn", 3, None, None, None, None),
    ]
    best = table.best("demo/model", "sw")
    assert (best.bridge, best.low, best.high, best.win_rate, best.resamples) == (
        "fra_Latn", 4.2e-08, 6.0e-08, 0.875, 200
    )  # fmt: skip
    assert table.scores(run_id) == sorted(
        normalized_rows(rows), key=lambda r: (r.src, r.trg, r.bridge)
    )
    # A later aggregate for the same key replaces the figures too (here: drops them).
    table.upsert_run(make_run(), [ScoreRow("sw", "sw", "fr", None, 4.1e-08, 3)])
    assert table.best("demo/model", "sw").win_rate is None


def test_rank_keeps_the_figures_of_ranked_inputs() -> None:
    from bridgex_chain.store.records import RankedBridge

    ranked = queries.rank([RankedBridge("eng", 0.4, 0, 3, 0.3, 0.5, 0.25, 50), ("fra", 0.5, 3)])
    assert ranked == (
        RankedBridge("fra", 0.5, 1, 3),
        RankedBridge("eng", 0.4, 2, 3, 0.3, 0.5, 0.25, 50),
    )


def test_provenance_carries_the_run_metadata(make_run: MakeRun) -> None:
    run = replace(make_run(), run_id=7, tool_version="1.2.3", finished_at="2025-01-01T01:00:00Z")
    assert queries.provenance(run) == {
        "run_id": 7,
        "revision": "r1",
        "architecture": "llama",
        "num_layers": 4,
        "probe_set": "starter",
        "probe_set_hash": "h1",
        "params": {"window": [1, 3]},
        "tool_version": "1.2.3",
        "started_at": "2025-01-01T00:00:00+00:00",
        "finished_at": "2025-01-01T01:00:00Z",
    }


def test_missing_message_lists_at_most_twenty_entries() -> None:
    pairs = [(f"l{i:02d}", f"l{i:02d}") for i in range(23)] + [("swh_Latn", "eng_Latn")]
    msg = queries.missing_message("sqlite://", "m/x", "yor_Latn", "yor_Latn", pairs, ["m/x"])
    assert msg.startswith("No bridge for model 'm/x' from yor_Latn in the bridge table at sqlite")
    assert "l00, l01" in msg and "l19" in msg and "l20" not in msg
    assert "(and 4 more)" in msg
    assert msg.endswith("bridgex-chain build-table --model m/x (languages yor_Latn).")
    both = queries.missing_message("db", "m/x", "swh_Latn", "eng_Latn", [], [])
    assert "from swh_Latn to eng_Latn" in both and "no complete probe run at all" in both
    assert both.endswith("(languages swh_Latn and eng_Latn).")
