"""`bridgex-chain build-table` on the embedded Gemma-3-270m: 3 entries, bundled probe set.

Kept small (8 prompts per direction, one torch thread, a short corpus budget, the layer window
only) so it runs in about 2 minutes on 2 busy CPU cores (104 s measured at load average 9.5);
the full table is precomputed/gemma-3-270m.json.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridgex_chain.cli.main import app
from bridgex_chain.models import model_key
from bridgex_chain.store.precomputed import read_table_file
from bridgex_chain.store.table import BridgeTable

pytestmark = pytest.mark.slow

BRIDGES = ("eng_Latn", "deu_Latn", "fra_Latn", "ita_Latn", "por_Latn", "spa_Latn")
ENTRIES = [("swh_Latn", "swh_Latn"), ("ind_Latn", "ind_Latn"), ("ind_Latn", "tgl_Latn")]


def test_build_table_on_gemma_ranks_three_entries(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    url = f"sqlite:///{tmp_path / 'bridges.db'}"
    out = tmp_path / "gemma.json"
    args = [
        "build-table",
        "--languages", "sw,id",
        "--pairs", "id-tl",
        "--max-prompts", "8",
        "--corpus-max-tokens", "400",
        "--batch-size", "8",
        "--threads", "1",
        "--window-only",
        "--database-url", url,
        "--cache-dir", str(tmp_path / "cache"),
        "--export", str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    result = CliRunner(env={"COLUMNS": "200", "HF_HUB_OFFLINE": "1"}).invoke(app, args)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    print(f"build-table on Gemma-3-270m, 3 entries: {elapsed:.1f} s")

    key = model_key("gemma-3-270m")
    with BridgeTable(url) as table:
        (run,) = table.runs(key)
        assert run.status == "complete" and run.profile.num_layers == 18
        assert run.params["layer_window"] == [6, 11]
        assert [tuple(e) for e in run.params["entries"]] == ENTRIES
        assert table.pairs(key) == sorted(ENTRIES)
        for src, trg in ENTRIES:
            ranking = table.ranking(key, src, trg)
            assert len(ranking) >= 4, (src, trg, ranking)
            assert {r.bridge for r in ranking} <= set(BRIDGES)
            assert [r.score for r in ranking] == sorted((r.score for r in ranking), reverse=True)
            assert ranking[0].rank == 1 and all(r.score >= 0 for r in ranking)
            assert all(1 <= r.layers_scored <= 6 for r in ranking)
            assert table.best(key, src, trg).bridge == ranking[0].bridge
        rows = table.scores(run.run_id or 0)
        assert {r.layer for r in rows if r.layer is not None} <= set(range(6, 12))
    ((record, exported),) = read_table_file(out)
    assert record.profile.revision.startswith("gguf-") and len(exported) == len(rows)
    assert "swh_Latn" in result.output and "ind_Latn → tgl_Latn" in result.output
