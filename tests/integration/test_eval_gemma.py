"""The eval pipeline through BridgeXChain on the embedded Gemma-3-270m and the shared SIB-200 copy
(small and slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridgex_chain.eval.evaluate import EvalConfig, run_evaluation

SIB200 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sib200"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (SIB200 / "swh_Latn" / "test.tsv").is_file(),
        reason=f"SIB-200 data not found at {SIB200}",
    ),
]


def test_classify_and_translate_through_the_chain_on_gemma(tmp_path: Path) -> None:
    config = EvalConfig(
        tasks=["classify", "translate"],
        out_dir=tmp_path,
        sib200=SIB200,
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "ind_Latn")],
        bridges=["eng_Latn", "fra_Latn"],
        conditions=["direct", "english"],
        limit=2,
        num_demos=1,
        max_new_tokens=48,
        batch_size=2,
        resamples=100,
        plots=False,
    )
    results = run_evaluation(config, table=None)  # the default chains: the embedded model
    classify, translate = results["entries"]
    assert results["complete"] is True
    assert classify["n"] == 2 and classify["direct"]["n"] == 2
    assert classify["direct"]["fallbacks"] == {"no_bridge": 2}
    for rendering in ("self", "oracle"):
        english = classify["renderings"][rendering]["conditions"]["english"]
        assert 0.0 <= english["score"] <= 100.0 and english["n"] == 2
        assert english["bridged"] + sum(english["fallbacks"].values()) == 2
    assert 0.0 <= translate["direct"]["score"] <= 100.0
    for rendering in ("self", "oracle"):
        english = translate["renderings"][rendering]["conditions"]["english"]
        assert 0.0 <= english["score"] <= 100.0 and english["n"] == 2
    # the chain rendered the Swahili queries in English itself (or fell back, empty rendering)
    unit = tmp_path / "cache" / "units" / "classify" / "swh_Latn-swh_Latn" / "self-eng_Latn.jsonl"
    rows = [json.loads(line) for line in unit.read_text(encoding="utf-8").splitlines()]
    items = [r for r in rows if "id" in r]
    assert len(items) == 2
    assert all(isinstance(r.get("rendering"), str) or r["fallback"] for r in items)
    assert all(isinstance(r["correct"], bool) for r in items)
    # the oracle arm was given the gold English text: counted, never stored
    oracle = (
        tmp_path / "cache" / "units" / "classify" / "swh_Latn-swh_Latn" / "oracle-eng_Latn.jsonl"
    )
    given = [json.loads(x) for x in oracle.read_text(encoding="utf-8").splitlines()]
    assert all(r["given"] == 1 and "rendering" not in r for r in given if "id" in r)
    assert (tmp_path / "report.md").is_file()
