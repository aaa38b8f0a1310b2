"""BridgeTable: lookups, the cache, and the object itself, on SQLite and PostgreSQL (``store_url``).

Recording runs is tested in test_table_runs.py, ranking and run selection in test_queries.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import inspect

from bridgex_chain.errors import NoBridgeFound, UnknownLanguage
from bridgex_chain.store.records import RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

Factory = Callable[..., tuple[RunRecord, list[ScoreRow]]]
MakeRun = Callable[..., RunRecord]
Aggregates = Callable[[str, str, dict[str, float]], list[ScoreRow]]


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


def test_languages_are_normalised_and_unknown_ones_refused(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    table.upsert_run(make_run(), aggregates("swa", "swahili", {"fr": 0.4, "eng_Latn": 0.3}))
    for code in ("sw", "swa", "swh_Latn", "Swahili", "__label__sw"):
        assert table.best("demo/model", code).bridge == "fra_Latn"
    assert table.best("demo/model", "sw", "swh").bridge == "fra_Latn"
    with pytest.raises(UnknownLanguage):
        table.best("demo/model", "not-a-language-xx")
    assert table.runs()[0].languages == ["swh_Latn", "eng_Latn", "fra_Latn", "spa_Latn"]


def test_missing_entry_message_says_what_exists_and_how_to_build(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    with pytest.raises(NoBridgeFound, match="no complete probe run at all"):
        table.best("demo/model", "sw")
    table.upsert_run(make_run(), aggregates("sw", "sw", {"fr": 0.5}))
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


def test_cached_lookups_do_not_touch_the_database(
    table: BridgeTable, monkeypatch: pytest.MonkeyPatch, make_run: MakeRun, aggregates: Aggregates
) -> None:
    table.upsert_run(make_run(), aggregates("sw", "sw", {"fr": 0.5, "en": 0.4}))
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


def test_cache_invalidation_refresh_and_ttl(
    store_url: str, make_run: MakeRun, aggregates: Aggregates
) -> None:
    with (
        BridgeTable(store_url) as writer,
        BridgeTable(store_url) as reader,
        BridgeTable(store_url, cache_ttl=0.2) as ttl_reader,
    ):
        writer.upsert_run(make_run(), aggregates("sw", "sw", {"fr": 0.5, "en": 0.4}))
        assert reader.best("demo/model", "sw").bridge == "fra_Latn"
        assert ttl_reader.best("demo/model", "sw").bridge == "fra_Latn"
        # A newer run from another writer: invisible to caches until refresh / TTL.
        newer = make_run(started="2025-09-01T00:00:00Z")
        writer.upsert_run(newer, aggregates("sw", "sw", {"en": 0.9}))
        assert writer.best("demo/model", "sw").bridge == "eng_Latn"  # own write: invalidated
        assert reader.best("demo/model", "sw").bridge == "fra_Latn"
        reader.refresh()
        assert reader.best("demo/model", "sw").bridge == "eng_Latn"
        time.sleep(0.25)
        assert ttl_reader.best("demo/model", "sw").bridge == "eng_Latn"


def test_user_text_is_bound_not_spliced(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    model = "x'); DROP TABLE probe_runs; --"
    run = make_run(model)
    run.probe_set = "'; DELETE FROM bridge_scores; --"
    table.upsert_run(run, aggregates("sw", "sw", {"fr": 0.5}))
    assert table.models() == [model]
    assert table.best(model, "sw").provenance["probe_set"] == run.probe_set
    with pytest.raises(NoBridgeFound):
        table.best("' OR '1'='1", "sw")
    assert inspect(table.engine).has_table("probe_runs")


def test_an_engine_passed_in_stays_open_and_an_own_engine_is_disposed(
    sqlite_url: str, make_run: MakeRun, aggregates: Aggregates
) -> None:
    from sqlalchemy import text

    from bridgex_chain.store.engine import create_store_engine

    engine = create_store_engine(sqlite_url)
    with BridgeTable(engine) as table:
        assert table.engine is engine
        table.upsert_run(make_run(), aggregates("sw", "sw", {"fr": 0.5}))
    with engine.connect() as conn:  # still usable by its owner
        assert conn.execute(text("SELECT count(*) FROM probe_runs")).scalar() == 1
    engine.dispose()
    with BridgeTable(sqlite_url) as own:
        assert own.models() == ["demo/model"]
    assert own.engine.pool.checkedin() == 0  # disposed on exit


def test_url_and_repr_name_the_database(sqlite_url: str) -> None:
    with BridgeTable(sqlite_url) as table:
        assert table.url == sqlite_url
        assert repr(table) == f"BridgeTable({sqlite_url!r})"


def test_a_write_refreshes_lookups_and_models(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    assert table.models() == []  # cached: no models
    table.upsert_run(make_run(), aggregates("sw", "sw", {"fr": 0.5}))
    assert table.models() == ["demo/model"]
    assert table.pairs("demo/model") == [("swh_Latn", "swh_Latn")]
    run_id = table.begin_run(make_run(started="2025-07-01T00:00:00Z"))
    table.complete_run(run_id, aggregates("sw", "sw", {"en": 0.9}))
    assert table.best("demo/model", "sw").bridge == "eng_Latn"
