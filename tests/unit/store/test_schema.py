"""The ORM schema, its constraints and its agreement with the migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from bridgex_chain.store.engine import create_store_engine, write_connection
from bridgex_chain.store.migrate import VERSION_TABLE, upgrade
from bridgex_chain.store.schema import (
    AggregateScoreRow,
    Base,
    LayerScoreRow,
    ModelProfileRow,
    ProbeRunRow,
)


@pytest.fixture
def engine(store_url: str) -> Engine:
    eng = create_store_engine(store_url)
    upgrade(eng)
    yield eng  # type: ignore[misc]
    eng.dispose()


def _run_values(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "profile_id": 1,
        "identity": "x" * 64,
        "probe_set": "starter",
        "probe_set_hash": "h",
        "languages": ["swh_Latn"],
        "bridges": ["eng_Latn"],
        "params": {},
        "status": "complete",
        "tool_version": "0",
        "started_at": datetime(2025, 1, 1, tzinfo=UTC),
    }
    values.update(overrides)
    return values


def _seed(engine: Engine) -> None:
    with write_connection(engine) as conn:
        conn.execute(
            insert(ModelProfileRow).values(
                id=1, model="m", revision="r", architecture="llama", num_layers=2,
                intermediate_size=8,
            )
        )  # fmt: skip
        conn.execute(insert(ProbeRunRow).values(id=1, **_run_values()))


def test_tables_and_naming_convention() -> None:
    tables = Base.metadata.tables
    assert sorted(tables) == [
        "bridge_aggregates",
        "bridge_scores",
        "language_competence",
        "model_profiles",
        "probe_runs",
        "render_checks",
    ]
    names = {c.name for t in tables.values() for c in t.constraints if c.name}
    assert {
        "pk_model_profiles",
        "pk_render_checks",
        "ck_render_checks_pairs_positive",
        "ck_render_checks_interval_ordered",
        "fk_render_checks_run_id_probe_runs",
        "pk_language_competence",
        "ck_language_competence_texts_positive",
        "fk_language_competence_run_id_probe_runs",
        "uq_model_profiles_model_revision",
        "ck_probe_runs_status",
        "fk_probe_runs_profile_id_model_profiles",
        "uq_probe_runs_identity",
        "pk_bridge_scores",
        "ck_bridge_scores_layer_non_negative",
        "pk_bridge_aggregates",
        "fk_bridge_aggregates_run_id_probe_runs",
        "ck_bridge_aggregates_win_rate_range",
        "ck_bridge_aggregates_resamples_positive",
        "ck_bridge_aggregates_interval_ordered",
        "ck_bridge_aggregates_confidence_together",
    } <= names
    # The aggregate has no layer column at all; per-layer rows have a NOT NULL layer in the key.
    assert "layer" not in tables["bridge_aggregates"].c
    assert not tables["bridge_scores"].c.layer.nullable
    assert tables["bridge_scores"].c.layer.primary_key


def test_migrations_match_models_exactly(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert tables == {*Base.metadata.tables, VERSION_TABLE}


def test_constraints_are_enforced(engine: Engine) -> None:
    _seed(engine)
    bad_cases = [
        (ProbeRunRow, _run_values(id=2, identity="y" * 64, status="done")),  # CHECK status
        (ProbeRunRow, _run_values(id=3, identity="x" * 64)),  # UNIQUE identity
        (ProbeRunRow, _run_values(id=4, identity="z" * 64, profile_id=99)),  # FOREIGN KEY
        (
            LayerScoreRow,
            {"run_id": 1, "src": "a", "trg": "a", "bridge": "b", "layer": -1, "score": 0.1},
        ),
        (
            AggregateScoreRow,
            {"run_id": 7, "src": "a", "trg": "a", "bridge": "b", "score": 0.1, "layers_scored": 1},
        ),
    ]
    for table, values in bad_cases:
        with pytest.raises(IntegrityError), write_connection(engine) as conn:
            conn.execute(insert(table).values(**values))


_FIGURES = {"score_low": 0.1, "score_high": 0.3, "win_rate": 0.5, "resamples": 200}


@pytest.mark.parametrize(
    "figures",
    [
        {**_FIGURES, "win_rate": 1.5},
        {**_FIGURES, "win_rate": -0.1},
        {**_FIGURES, "resamples": 0},
        {**_FIGURES, "score_low": 0.4},  # above score_high
        {"score_low": 0.1, "score_high": 0.3},  # not all four
        {"win_rate": 0.5},
    ],
)
def test_bootstrap_figures_are_checked(engine: Engine, figures: dict[str, object]) -> None:
    _seed(engine)
    row = {"run_id": 1, "src": "a", "trg": "a", "bridge": "b", "score": 0.5, "layers_scored": 1}
    with write_connection(engine) as conn:  # all four (an interval excluding the score), or none
        conn.execute(insert(AggregateScoreRow).values(**row, **_FIGURES))
        conn.execute(insert(AggregateScoreRow).values(**{**row, "bridge": "c"}))
    with pytest.raises(IntegrityError, match=r"(?i)check"), write_connection(engine) as conn:
        conn.execute(insert(AggregateScoreRow).values(**{**row, "bridge": "d"}, **figures))


def test_aggregate_is_unique_per_key(engine: Engine) -> None:
    """The NULL-layer trap of the first design: a second aggregate for a key must be refused."""
    _seed(engine)
    row = {"run_id": 1, "src": "a", "trg": "a", "bridge": "b", "score": 0.1, "layers_scored": 2}
    with write_connection(engine) as conn:
        conn.execute(insert(AggregateScoreRow).values(**row))
    with pytest.raises(IntegrityError), write_connection(engine) as conn:
        conn.execute(insert(AggregateScoreRow).values(**{**row, "score": 0.2}))
    layer = {"run_id": 1, "src": "a", "trg": "a", "bridge": "b", "layer": 0, "score": 0.1}
    with write_connection(engine) as conn:
        conn.execute(insert(LayerScoreRow).values(**layer))
    with pytest.raises(IntegrityError), write_connection(engine) as conn:
        conn.execute(insert(LayerScoreRow).values(**layer))


def test_deleting_a_run_cascades_to_its_scores(engine: Engine) -> None:
    _seed(engine)
    with write_connection(engine) as conn:
        conn.execute(
            insert(LayerScoreRow).values(run_id=1, src="a", trg="a", bridge="b", layer=0, score=0.5)
        )
        conn.execute(
            insert(AggregateScoreRow).values(
                run_id=1, src="a", trg="a", bridge="b", score=0.5, layers_scored=1
            )
        )
        conn.execute(text("DELETE FROM probe_runs WHERE id = 1"))
        assert conn.execute(text("SELECT count(*) FROM bridge_scores")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM bridge_aggregates")).scalar() == 0
