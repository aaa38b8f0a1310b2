"""The plain records: immutable where shared, cheap to import, compared by value."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bridgex_chain.errors import SchemaError
from bridgex_chain.store.records import (
    Bridge,
    ModelProfile,
    RankedBridge,
    RunRecord,
    ScoreRow,
    format_score,
    parse_time,
)


def _bridge(**overrides: object) -> Bridge:
    values: dict[str, object] = {
        "model": "m/x",
        "src": "swh_Latn",
        "trg": "swh_Latn",
        "bridge": "fra_Latn",
        "score": 0.4,
        "margin": 0.1,
        "run_id": 1,
    }
    values.update(overrides)
    return Bridge(**values)  # type: ignore[arg-type]


def test_bridges_compare_and_hash_without_their_provenance() -> None:
    a = _bridge(provenance={"probe_set": "starter"})
    b = _bridge(provenance={"probe_set": "other"})
    assert a == b and hash(a) == hash(b)
    assert a != _bridge(score=0.5)
    assert _bridge().provenance == {} and _bridge().provenance is not _bridge().provenance


def test_shared_records_are_frozen_and_slotted() -> None:
    records = [
        _bridge(),
        RankedBridge("fra_Latn", 0.4, 1, 3),
        ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", None, 0.4),
        ModelProfile("m/x", "r", "llama", 2, 8),
    ]
    for record in records:
        field = dataclasses.fields(record)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, field, "changed")
        assert not hasattr(record, "__dict__")


def test_score_row_and_run_record_defaults() -> None:
    assert ScoreRow("a", "a", "b", 0, 0.1).layers_scored is None
    # Bootstrap figures are optional everywhere (tables built before them have none).
    figures = ("low", "high", "win_rate", "resamples")
    for record in (ScoreRow("a", "a", "b", None, 0.1, 2), RankedBridge("b", 0.1, 1, 2), _bridge()):
        assert [getattr(record, name) for name in figures] == [None] * 4
    assert not ScoreRow("a", "a", "b", None, 0.1, 2).has_confidence
    assert ScoreRow("a", "a", "b", None, 0.1, 2, resamples=5).has_confidence  # any one counts
    run = RunRecord(ModelProfile("m/x", "r", "llama", 2, 8), "starter", "h", ["swh_Latn"], [], {})
    assert (run.status, run.tool_version, run.started_at) == ("running", "", "")
    assert (run.finished_at, run.run_id, run.error) == (None, None, None)
    run.status = "complete"  # a run record is updated as the run goes
    assert run.status == "complete"


def test_importing_records_does_not_import_sqlalchemy_or_pydantic() -> None:
    code = (
        "import sys, bridgex_chain.store.records\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.4123, "0.412"),
        (1.0, "1.000"),
        (0.001, "0.001"),
        (999.9994, "999.999"),
        (1000.0, "1.000e+03"),
        (3.2e-08, "3.200e-08"),
        (4.0498266948548677e-08, "4.050e-08"),
        (-5.6e-11, "-5.600e-11"),
        (0.0, "0"),
        (-0.0, "0"),
        (None, "n/a"),
        (float("nan"), "n/a"),
        (float("inf"), "inf"),
    ],
)
def test_format_score_keeps_small_scores_readable(value: float | None, shown: str) -> None:
    assert format_score(value) == shown


def test_format_score_never_shows_a_nonzero_score_as_zero() -> None:
    for exponent in range(-300, 300, 7):
        value = 1.234 * 10.0**exponent
        text = format_score(value)
        assert float(text) != 0 and text not in {"0.000", "0"}
        assert abs(float(text) - value) <= 0.001 * abs(value)
    assert format_score(0.123456, digits=5) == "0.12346"
    assert format_score(1.5e-9, digits=1) == "1.5e-09"


def test_parse_time_gives_aware_utc() -> None:
    assert parse_time("2025-01-01T02:00:00+02:00") == datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_time("2025-01-01T00:00:00") == datetime(2025, 1, 1, tzinfo=UTC)  # naive
    plus_one = datetime(2025, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert parse_time(plus_one).isoformat() == "2025-01-01T00:00:00+00:00"
    with pytest.raises(SchemaError, match="'yesterday' is not an ISO-8601 time"):
        parse_time("yesterday")
