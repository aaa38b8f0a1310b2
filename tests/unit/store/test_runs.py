"""Write side, on an open connection: times, run identity, profiles, statuses and score rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, func, select

from bridgex_chain.errors import DatabaseError, SchemaError, UnknownLanguage
from bridgex_chain.store import runs
from bridgex_chain.store.engine import create_store_engine, write_connection
from bridgex_chain.store.migrate import upgrade
from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
from bridgex_chain.store.schema import AggregateScoreRow, LayerScoreRow
from bridgex_chain.store.table import BridgeTable

MakeRun = Callable[..., RunRecord]
Aggregates = Callable[[str, str, dict[str, float]], list[ScoreRow]]


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    eng = create_store_engine(store_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def test_profile_conflict_is_refused(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    table.upsert_run(make_run(), aggregates("sw", "sw", {"fr": 0.5}))
    clash = make_run(started="2025-05-01T00:00:00+00:00")
    clash.profile = ModelProfile("demo/model", "r1", "llama", 8, 16)
    with pytest.raises(SchemaError, match="real revision"):
        table.upsert_run(clash, [])


def test_layers_scored_defaults_to_stored_layer_rows(table: BridgeTable, make_run: MakeRun) -> None:
    run_id = table.begin_run(make_run())
    table.write_scores(
        run_id, [ScoreRow("sw", "sw", "fr", layer, 0.1 * layer) for layer in (1, 2, 3)], final=False
    )
    table.complete_run(run_id, [ScoreRow("sw", "sw", "fr", None, 0.2)])
    assert table.ranking("demo/model", "sw")[0].layers_scored == 3


def test_invalid_rows_write_nothing(
    table: BridgeTable, make_run: MakeRun, aggregates: Aggregates
) -> None:
    run_id = table.begin_run(make_run())
    good = aggregates("sw", "sw", {"fr": 0.5})
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


def _aggregate(**fields: object) -> ScoreRow:
    """An aggregate row of sw->sw with bootstrap figures; ``fields`` override any field."""
    values: dict[str, object] = {
        "src": "sw", "trg": "sw", "bridge": "en", "layer": None, "score": 0.4,
        "layers_scored": 3, "low": 0.25, "high": 0.5, "win_rate": 0.75, "resamples": 200,
    }  # fmt: skip
    values.update(fields)
    return ScoreRow(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_aggregate(win_rate=None, resamples=None),
         r"only some of its bootstrap figures \(missing: win_rate, resamples\); give low, "
         r"high, win_rate and resamples together, or none"),
        (_aggregate(low=0.6), r"interval \[0\.6, 0\.5\], whose low end is above its high end"),
        (_aggregate(win_rate=87.0), r"win_rate 87\.0; a win rate is a share.*between 0 and 1"),
        (_aggregate(win_rate=-0.01), "between 0 and 1"),
        (_aggregate(resamples=0), r"resamples 0; give the number of bootstrap resamples.*least 1"),
        (_aggregate(high=float("inf")), r"not finite numbers: high=inf"),
        (ScoreRow("sw", "sw", "en", 2, 0.4, None, 0.25, 0.5, 0.75, 200),
         r"per-layer row of swh_Latn->swh_Latn, bridge eng_Latn at layer 2 carries bootstrap "
         r"figures.*only aggregate rows"),
    ],
)  # fmt: skip
def test_bootstrap_figures_are_checked_before_any_write(
    table: BridgeTable, make_run: MakeRun, bad: ScoreRow, message: str
) -> None:
    run_id = table.begin_run(make_run())
    good = [_aggregate(bridge="fr", score=0.3, low=0.35, high=0.45)]  # may exclude the score
    with pytest.raises(SchemaError, match=message):
        table.write_scores(run_id, [*good, bad], final=True)
    assert table.scores(run_id) == []
    table.write_scores(run_id, good, final=True)
    assert [(r.low, r.high, r.win_rate, r.resamples) for r in table.scores(run_id)] == [
        (0.35, 0.45, 0.75, 200)
    ]


def test_prepare_run_fills_times_and_returns_a_normalised_copy(make_run: MakeRun) -> None:
    run = make_run(started="")
    run.status = "running"
    prepared = runs.prepare_run(run)
    assert run.started_at and run.finished_at is None  # a running run has no end yet
    assert prepared is not run and prepared.params is not run.params
    assert prepared.languages == ["swh_Latn", "eng_Latn", "fra_Latn", "spa_Latn"]
    assert run.languages == ["sw", "en", "fr", "es"]  # the caller's record keeps its codes
    finished = make_run()
    runs.prepare_run(finished)
    assert finished.finished_at  # a complete run without an end time gets one
    with pytest.raises(UnknownLanguage):
        runs.prepare_run(RunRecord(make_run().profile, "p", "h", ["??"], [], {}))


def test_normalized_rows_normalise_every_code() -> None:
    assert runs.normalized_rows([ScoreRow("sw", "en", "fr", 2, 0.5, None)]) == [
        ScoreRow("swh_Latn", "eng_Latn", "fra_Latn", 2, 0.5, None)
    ]


def test_canonical_json_is_sorted_and_refuses_nan_and_objects() -> None:
    assert runs.canonical_json({"b": 1, "a": [1.5]}, "x") == '{"a":[1.5],"b":1}'
    with pytest.raises(SchemaError, match="Run parameters must be JSON-serialisable"):
        runs.canonical_json({"top": float("nan")}, "Run parameters")
    with pytest.raises(SchemaError, match="JSON-serialisable"):
        runs.canonical_json({"when": datetime.now(UTC)}, "Run parameters")


def test_run_identity_covers_the_configuration_and_the_start_instant(make_run: MakeRun) -> None:
    base = runs.run_identity(make_run())
    assert len(base) == 64 and base == runs.run_identity(make_run())
    assert runs.run_identity(make_run(started="2025-01-01T01:00:00+01:00")) == base  # same instant
    assert runs.run_identity(make_run(started="2025-01-02T00:00:00Z")) != base
    other_params = make_run()
    other_params.params = {"window": [2, 3]}
    assert runs.run_identity(other_params) != base
    with pytest.raises(SchemaError, match="needs started_at"):
        runs.run_identity(make_run(started=""))


def test_ensure_profile_is_idempotent(engine: Engine) -> None:
    profile = ModelProfile("m/x", "r", "llama", 2, 8)
    with write_connection(engine) as conn:
        first = runs.ensure_profile(conn, profile)
        assert runs.ensure_profile(conn, profile) == first
        assert runs.ensure_profile(conn, ModelProfile("m/x", "r2", "llama", 2, 8)) != first


def test_statuses_are_checked(engine: Engine, make_run: MakeRun) -> None:
    run = runs.prepare_run(make_run())
    with write_connection(engine) as conn:
        profile_id = runs.ensure_profile(conn, run.profile)
        run_id = runs.insert_run(conn, run, runs.run_identity(run), profile_id)
        assert runs.find_run(conn, runs.run_identity(run)) == (run_id, "complete")
        assert runs.find_run(conn, "0" * 64) is None
        assert runs.require_status(conn, run_id, ("complete",)) == "complete"
        with pytest.raises(DatabaseError, match="is complete, not running"):
            runs.require_status(conn, run_id, ("running",))
        with pytest.raises(DatabaseError, match="No probe run with id 12345"):
            runs.require_status(conn, 12345, ("running",))
        bad = runs.prepare_run(make_run(started="2025-04-04T00:00:00Z"))
        bad.status = "done"
        with pytest.raises(SchemaError, match="Run status must be one of"):
            runs.insert_run(conn, bad, runs.run_identity(bad), profile_id)


def test_store_run_keeps_or_replaces_a_complete_run(
    engine: Engine, make_run: MakeRun, aggregates: Aggregates
) -> None:
    run = runs.prepare_run(make_run())
    identity = runs.run_identity(run)
    old = runs.normalized_rows(aggregates("sw", "sw", {"fr": 0.5}))
    new = runs.normalized_rows(aggregates("sw", "sw", {"en": 0.9}))

    def stored_bridges(conn: Connection) -> list[str]:
        query = select(AggregateScoreRow.bridge).order_by(AggregateScoreRow.bridge)
        return list(conn.execute(query).scalars())

    with write_connection(engine) as conn:
        run_id = runs.store_run(conn, run, identity, old, replace_existing=False)
        assert runs.store_run(conn, run, identity, new, replace_existing=False) == run_id
        assert stored_bridges(conn) == ["fra_Latn"]  # an import keeps what is stored
        assert runs.store_run(conn, run, identity, new, replace_existing=True) == run_id
        assert stored_bridges(conn) == ["eng_Latn"]  # an upsert replaces the scores


def test_many_rows_are_written_in_chunks_and_later_rows_win(
    engine: Engine, make_run: MakeRun
) -> None:
    run = runs.prepare_run(make_run())
    rows = [ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", layer, 0.0) for layer in range(1200)]
    rows.append(ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", 3, 0.75))  # overrides layer 3
    rows.append(ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", None, 0.5))
    with write_connection(engine) as conn:
        run_id = runs.insert_run(
            conn, run, runs.run_identity(run), runs.ensure_profile(conn, run.profile)
        )
        assert runs.write_score_rows(conn, run_id, rows) == 1201
        count = conn.execute(select(func.count()).select_from(LayerScoreRow)).scalar()
        layer3 = conn.execute(select(LayerScoreRow.score).where(LayerScoreRow.layer == 3)).scalar()
        layers_scored = conn.execute(select(AggregateScoreRow.layers_scored)).scalar()
    assert count == 1200 and layer3 == 0.75
    assert layers_scored == 1200
