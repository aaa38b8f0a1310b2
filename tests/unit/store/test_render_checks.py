"""Render checks and language competence of a run: written, replaced, validated and read back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from bridgex_chain.errors import DatabaseError, SchemaError, UnknownLanguage
from bridgex_chain.store.records import CompetenceRow, RenderCheckRow, RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

MakeRun = Callable[..., RunRecord]


def _running(table: BridgeTable, make_run: MakeRun) -> int:
    return table.begin_run(make_run())


def test_checks_and_competence_round_trip_normalised_and_sorted(
    table: BridgeTable, make_run: MakeRun
) -> None:
    run_id = _running(table, make_run)
    table.store_render_checks(
        run_id,
        [
            RenderCheckRow("sw", "fr", 8, 0.25, 0.125, 0.375),
            RenderCheckRow("fr", "en", 1, -0.5),
            RenderCheckRow("sw", "en", 8, 0.5, 0.25, 0.75),
        ],
        [CompetenceRow("sw", 8, -3.25), CompetenceRow("English", 8, -1.5)],
    )
    table.complete_run(run_id, [ScoreRow("sw", "sw", "en", None, 0.5, 3)])

    assert table.render_checks(run_id) == [
        RenderCheckRow("fra_Latn", "eng_Latn", 1, -0.5, None, None),
        RenderCheckRow("swh_Latn", "eng_Latn", 8, 0.5, 0.25, 0.75),
        RenderCheckRow("swh_Latn", "fra_Latn", 8, 0.25, 0.125, 0.375),
    ]
    assert table.competence(run_id) == [
        CompetenceRow("eng_Latn", 8, -1.5),
        CompetenceRow("swh_Latn", 8, -3.25),
    ]
    assert table.render_checks(run_id + 1) == []
    assert table.competence(run_id + 1) == []


def test_a_second_write_replaces_the_first(table: BridgeTable, make_run: MakeRun) -> None:
    run_id = _running(table, make_run)
    table.store_render_checks(
        run_id, [RenderCheckRow("sw", "fr", 8, 0.25, 0.125, 0.375)], [CompetenceRow("sw", 8, -3.0)]
    )
    table.store_render_checks(run_id, [RenderCheckRow("sw", "en", 4, 0.5, 0.25, 0.75)])
    assert [(c.src, c.bridge, c.pairs) for c in table.render_checks(run_id)] == [
        ("swh_Latn", "eng_Latn", 4)
    ]
    assert table.competence(run_id) == []


def test_complete_runs_are_immutable_and_missing_runs_refused(
    table: BridgeTable, make_run: MakeRun
) -> None:
    with pytest.raises(DatabaseError, match="No probe run with id 42"):
        table.store_render_checks(42, [RenderCheckRow("sw", "en", 1, 0.1)])
    run_id = _running(table, make_run)
    table.complete_run(run_id)
    with pytest.raises(DatabaseError, match="immutable"):
        table.store_render_checks(run_id, [RenderCheckRow("sw", "en", 1, 0.1)])
    assert table.render_checks(run_id) == []


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (RenderCheckRow("sw", "en", 0, 0.1), r"pairs 0.*at least 1"),
        (RenderCheckRow("sw", "en", 2, float("nan"), 0.0, 0.1), r"gain nan.*not a finite"),
        (RenderCheckRow("sw", "en", 2, 0.1, 0.0, None), r"only one end.*give both, or neither"),
        (RenderCheckRow("sw", "en", 2, 0.1, 0.3, 0.2), r"low end is\s+above its high end"),
        (RenderCheckRow("sw", "en", 2, 0.1, float("-inf"), 0.2), r"not finite"),
    ],
)
def test_invalid_checks_are_refused_before_writing(
    table: BridgeTable, make_run: MakeRun, check: RenderCheckRow, message: str
) -> None:
    run_id = _running(table, make_run)
    table.store_render_checks(run_id, [RenderCheckRow("sw", "fr", 1, 0.2)])
    with pytest.raises(SchemaError, match=message):
        table.store_render_checks(run_id, [check])
    assert [c.bridge for c in table.render_checks(run_id)] == ["fra_Latn"]  # left as it was


def test_invalid_competence_and_codes_are_refused(table: BridgeTable, make_run: MakeRun) -> None:
    run_id = _running(table, make_run)
    with pytest.raises(SchemaError, match=r"texts 0.*at least 1"):
        table.store_render_checks(run_id, [], [CompetenceRow("sw", 0, -1.0)])
    with pytest.raises(SchemaError, match="not a finite number"):
        table.store_render_checks(run_id, [], [CompetenceRow("sw", 3, float("inf"))])
    with pytest.raises(SchemaError, match="given twice"):
        table.store_render_checks(
            run_id, [], [CompetenceRow("sw", 3, -1.0), CompetenceRow("swh_Latn", 3, -1.0)]
        )
    with pytest.raises(SchemaError, match="given twice"):
        check = RenderCheckRow("sw", "en", 1, 0.1)
        table.store_render_checks(run_id, [check, replace(check, src="swh_Latn")])
    with pytest.raises(UnknownLanguage):
        table.store_render_checks(run_id, [RenderCheckRow("not-a-language", "en", 1, 0.1)])


def test_rows_go_with_their_run_when_it_is_replaced(table: BridgeTable, make_run: MakeRun) -> None:
    run = make_run()
    run_id = table.begin_run(run)
    table.store_render_checks(run_id, [RenderCheckRow("sw", "en", 1, 0.1)])
    table.upsert_run(make_run(), [])  # same identity, replaced
    assert table.render_checks(run_id) == []
