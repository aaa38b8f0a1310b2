"""The plain records: immutable where shared, cheap to import, compared by value."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from bridgex_chain.store.records import Bridge, ModelProfile, RankedBridge, RunRecord, ScoreRow


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
