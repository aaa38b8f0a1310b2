"""BridgeTable reads and writes, on SQLite and PostgreSQL (the ``store_url`` fixture)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import inspect

from bridgex_chain.errors import DatabaseError, NoBridgeFound, SchemaError, UnknownLanguage
from bridgex_chain.store import runs as runs_module
from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

Factory = Callable[..., tuple[RunRecord, list[ScoreRow]]]


@pytest.fixture
def table(store_url: str) -> Iterator[BridgeTable]:
    with BridgeTable(store_url) as t:
        yield t


def _run(model: str = "demo/model", started: str = "2025-01-01T00:00:00+00:00") -> RunRecord:
    return RunRecord(
        profile=ModelProfile(model, "r1", "llama", 4, 16),
        probe_set="starter",
        probe_set_hash="h1",
        languages=["sw", "en", "fr", "es"],
        bridges=["en", "fr", "es"],
        params={"window": [1, 3]},
        status="complete",
        started_at=started,
    )


def _aggregates(src: str, trg: str, scores: dict[str, float]) -> list[ScoreRow]:
    return [ScoreRow(src, trg, bridge, None, score, 3) for bridge, score in scores.items()]


def test_best_ranking_margin_and_provenance(table: BridgeTable, make_sample_run: Factory) -> None:
    run, rows = make_sample_run()
    run_id = table.upsert_run(run, rows)
    assert run.run_id == run_id
    for src in ("swh_Latn", "yor_Latn", "hau_Latn"):
        for trg in (None, "eng_Latn"):
            want_trg = trg or src
            expected = sorted(
                (r for r in rows if r.layer is None and r.src == src and r.trg == want_trg),
                key=lambda r: -r.score,
            )
            best = table.best("demo/model", src, trg)
            assert (best.src, best.trg, best.bridge) == (src, want_trg, expected[0].bridge)
            assert best.score == expected[0].score
            assert best.margin == expected[0].score - expected[1].score
            assert best.run_id == run_id
            assert best.provenance["probe_set_hash"] == run.probe_set_hash
            assert best.provenance["params"] == run.params
            ranking = table.ranking("demo/model", src, trg)
            assert [r.bridge for r in ranking] == [r.bridge for r in expected]
            assert [r.rank for r in ranking] == [1, 2, 3, 4]
            assert {r.layers_scored for r in ranking} == {3}
    assert table.models() == ["demo/model"]
    assert table.languages("demo/model") == ["hau_Latn", "swh_Latn", "yor_Latn"]
    assert ("swh_Latn", "eng_Latn") in table.pairs("demo/model")


def test_languages_are_normalised_and_unknown_ones_refused(table: BridgeTable) -> None:
    table.upsert_run(_run(), _aggregates("swa", "swahili", {"fr": 0.4, "eng_Latn": 0.3}))
    for code in ("sw", "swa", "swh_Latn", "Swahili", "__label__sw"):
        assert table.best("demo/model", code).bridge == "fra_Latn"
    assert table.best("demo/model", "sw", "swh").bridge == "fra_Latn"
    with pytest.raises(UnknownLanguage):
        table.best("demo/model", "not-a-language-xx")
    assert table.runs()[0].languages == ["swh_Latn", "eng_Latn", "fra_Latn", "spa_Latn"]


def test_ties_share_a_rank(table: BridgeTable) -> None:
    table.upsert_run(
        _run(), _aggregates("sw", "sw", {"fr": 0.5, "en": 0.5, "es": 0.25, "de": 0.25})
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


def test_single_candidate_has_no_margin(table: BridgeTable) -> None:
    table.upsert_run(_run(), _aggregates("sw", "sw", {"fr": 0.5}))
    assert table.best("demo/model", "sw").margin is None


def test_missing_entry_message_says_what_exists_and_how_to_build(table: BridgeTable) -> None:
    with pytest.raises(NoBridgeFound, match="no complete probe run at all"):
        table.best("demo/model", "sw")
    table.upsert_run(_run(), _aggregates("sw", "sw", {"fr": 0.5}))
    with pytest.raises(NoBridgeFound) as err:
        table.best("demo/model", "yo")
    assert "swh_Latn" in str(err.value)
    assert "bridgex-chain build-table --model demo/model" in str(err.value)
    with pytest.raises(NoBridgeFound) as err:
        table.best("other/model", "sw", "en")
    assert "models it has: demo/model" in str(err.value)
    assert "swh_Latn and eng_Latn" in str(err.value)
    with pytest.raises(NoBridgeFound):
        table.ranking("demo/model", "sw", "en")  # only the (sw, sw) entry exists


def test_only_complete_runs_are_visible(table: BridgeTable) -> None:
    run = _run()
    run_id = table.begin_run(run)
    assert (run.run_id, run.status) == (run_id, "running")
    table.write_scores(run_id, _aggregates("sw", "sw", {"fr": 0.5, "en": 0.1}), final=False)
    with pytest.raises(NoBridgeFound):
        table.best("demo/model", "sw")
    assert table.models() == []
    table.complete_run(run_id, _aggregates("sw", "sw", {"en": 0.9}))
    best = table.best("demo/model", "sw")
    assert (best.bridge, best.score) == ("eng_Latn", 0.9)  # later rows overwrite earlier ones
    (stored,) = table.runs()
    assert stored.status == "complete" and stored.finished_at

    failed = _run(started="2025-02-01T00:00:00+00:00")
    failed_id = table.begin_run(failed)
    table.write_scores(failed_id, _aggregates("yo", "yo", {"fr": 0.5}), final=False)
    table.fail_run(failed_id, "CUDA out of memory")
    with pytest.raises(NoBridgeFound):
        table.best("demo/model", "yo")
    assert table.runs()[1].error == "CUDA out of memory"
    assert table.runs()[1].status == "failed"


def test_status_rules(table: BridgeTable) -> None:
    run = _run()
    run_id = table.begin_run(run)
    table.fail_run(run_id, "first try")
    with pytest.raises(DatabaseError, match="begin_run"):
        table.write_scores(run_id, _aggregates("sw", "sw", {"fr": 0.5}), final=False)
    # Resuming: the same run identity returns the same run, running again, rows kept.
    assert table.begin_run(run) == run_id
    assert table.runs()[0].status == "running"
    table.complete_run(run_id, _aggregates("sw", "sw", {"fr": 0.5}))
    assert table.begin_run(run) == run_id and run.status == "complete"  # left complete
    with pytest.raises(DatabaseError, match="immutable"):
        table.write_scores(run_id, [], final=True)
    with pytest.raises(DatabaseError, match="immutable"):
        table.fail_run(run_id, "too late")
    with pytest.raises(DatabaseError, match="No probe run with id 999"):
        table.complete_run(999)


def test_scores_and_status_commit_together(
    table: BridgeTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = table.begin_run(_run())

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("crash between the rows and the status")

    monkeypatch.setattr(runs_module, "set_status", broken)
    with pytest.raises(RuntimeError):
        table.complete_run(run_id, _aggregates("sw", "sw", {"fr": 0.5}))
    monkeypatch.undo()
    assert table.scores(run_id) == []  # the rows were rolled back with the status change
    assert table.runs()[0].status == "running"


def test_invalid_rows_write_nothing(table: BridgeTable) -> None:
    run_id = table.begin_run(_run())
    good = _aggregates("sw", "sw", {"fr": 0.5})
    for bad in (
        ScoreRow("sw", "sw", "en", None, float("nan")),
        ScoreRow("sw", "sw", "en", -1, 0.1),
        ScoreRow("sw", "sw", "en", None, 0.1, -2),
    ):
        with pytest.raises(SchemaError):
            table.write_scores(run_id, [*good, bad], final=True)
    with pytest.raises(UnknownLanguage):
        table.write_scores(run_id, [ScoreRow("sw", "sw", "??", None, 0.1)], final=True)
    assert table.scores(run_id) == []
    assert table.runs()[0].status == "running"


def test_upsert_is_idempotent_per_run_identity(
    table: BridgeTable, make_sample_run: Factory
) -> None:
    run, rows = make_sample_run()
    first = table.upsert_run(run, rows)
    again = table.upsert_run(replace(run, run_id=None), rows)
    assert first == again
    assert len(table.runs()) == 1
    assert len(table.scores(first)) == len(rows)
    # New scores for the same identity replace the old ones.
    table.upsert_run(run, _aggregates("sw", "sw", {"fr": 0.5}))
    assert table.scores(first) == [ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", None, 0.5, 3)]
    # Another start time is another run.
    other, _ = make_sample_run(started_at="2025-03-01T00:00:00+00:00")
    assert table.upsert_run(other, rows) != first
    assert len(table.runs()) == 2


def test_profile_conflict_is_refused(table: BridgeTable) -> None:
    table.upsert_run(_run(), _aggregates("sw", "sw", {"fr": 0.5}))
    clash = _run(started="2025-05-01T00:00:00+00:00")
    clash.profile = ModelProfile("demo/model", "r1", "llama", 8, 16)
    with pytest.raises(SchemaError, match="real revision"):
        table.upsert_run(clash, [])


def test_newest_complete_run_wins(table: BridgeTable, make_sample_run: Factory) -> None:
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
        _aggregates("zu", "zu", {"en": 0.5}),
    )
    assert table.best("demo/model", "zul_Latn").bridge == "eng_Latn"


def test_layers_scored_defaults_to_stored_layer_rows(table: BridgeTable) -> None:
    run_id = table.begin_run(_run())
    table.write_scores(
        run_id, [ScoreRow("sw", "sw", "fr", layer, 0.1 * layer) for layer in (1, 2, 3)], final=False
    )
    table.complete_run(run_id, [ScoreRow("sw", "sw", "fr", None, 0.2)])
    assert table.ranking("demo/model", "sw")[0].layers_scored == 3


def test_cached_lookups_do_not_touch_the_database(
    table: BridgeTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    table.upsert_run(_run(), _aggregates("sw", "sw", {"fr": 0.5, "en": 0.4}))
    table.best("demo/model", "sw")

    def no_database(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(table.engine, "connect", no_database)
    for _ in range(3):
        assert table.best("demo/model", "sw").bridge == "fra_Latn"
        assert table.ranking("demo/model", "swh_Latn")[1].bridge == "eng_Latn"
        with pytest.raises(NoBridgeFound):  # a miss for a loaded model is answered too
            table.best("demo/model", "yo")
        assert table.languages("demo/model") == ["swh_Latn"]


def test_cache_invalidation_refresh_and_ttl(store_url: str) -> None:
    with (
        BridgeTable(store_url) as writer,
        BridgeTable(store_url) as reader,
        BridgeTable(store_url, cache_ttl=0.2) as ttl_reader,
    ):
        writer.upsert_run(_run(), _aggregates("sw", "sw", {"fr": 0.5, "en": 0.4}))
        assert reader.best("demo/model", "sw").bridge == "fra_Latn"
        assert ttl_reader.best("demo/model", "sw").bridge == "fra_Latn"
        # A newer run from another writer: invisible to caches until refresh / TTL.
        newer = _run(started="2025-09-01T00:00:00Z")
        writer.upsert_run(newer, _aggregates("sw", "sw", {"en": 0.9}))
        assert writer.best("demo/model", "sw").bridge == "eng_Latn"  # own write: invalidated
        assert reader.best("demo/model", "sw").bridge == "fra_Latn"
        reader.refresh()
        assert reader.best("demo/model", "sw").bridge == "eng_Latn"
        time.sleep(0.25)
        assert ttl_reader.best("demo/model", "sw").bridge == "eng_Latn"


def test_user_text_is_bound_not_spliced(table: BridgeTable) -> None:
    model = "x'); DROP TABLE probe_runs; --"
    run = _run(model)
    run.probe_set = "'; DELETE FROM bridge_scores; --"
    table.upsert_run(run, _aggregates("sw", "sw", {"fr": 0.5}))
    assert table.models() == [model]
    assert table.best(model, "sw").provenance["probe_set"] == run.probe_set
    with pytest.raises(NoBridgeFound):
        table.best("' OR '1'='1", "sw")
    assert inspect(table.engine).has_table("probe_runs")


def test_runs_filter_and_default_times(table: BridgeTable) -> None:
    a = _run("a/model")
    a.started_at = ""
    table.upsert_run(a, _aggregates("sw", "sw", {"fr": 0.5}))
    assert a.started_at and a.finished_at  # filled on the record
    table.upsert_run(_run("b/model"), _aggregates("sw", "sw", {"fr": 0.5}))
    assert [r.profile.model for r in table.runs("a/model")] == ["a/model"]
    assert sorted(r.profile.model for r in table.runs()) == ["a/model", "b/model"]
    assert table.models() == ["a/model", "b/model"]
