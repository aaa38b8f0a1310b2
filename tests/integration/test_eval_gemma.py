"""The eval pipeline on the embedded Gemma-3-270m and the shared SIB-200 copy (small and slow)."""

import json
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.eval.evaluate import EvalConfig, run_evaluation
from bridgex_chain.eval.lm import HFEvalLM

SIB200 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sib200"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (SIB200 / "swh_Latn" / "test.tsv").is_file(),
        reason=f"SIB-200 data not found at {SIB200}",
    ),
]


@pytest.fixture(scope="module")
def gemma() -> Any:
    from bridgex_chain.models import load_causal_lm

    return load_causal_lm()


def test_classify_and_translate_on_gemma(gemma: Any, tmp_path: Path) -> None:
    lm = HFEvalLM(gemma.model, gemma.tokenizer, key="gemma-test", batch_size=2)
    config = EvalConfig(
        tasks=["classify", "translate"],
        out_dir=tmp_path,
        sib200=SIB200,
        languages=["swh_Latn"],
        pairs=[("swh_Latn", "ind_Latn")],
        bridges=["eng_Latn", "fra_Latn"],
        conditions=["direct", "english"],
        limit=2,
        resamples=100,
        plots=False,
    )
    results = run_evaluation(config, table=None, lm_factory=lambda: lm)
    classify, translate = results["entries"]
    assert classify["n"] == 2 and classify["direct"]["n"] == 2
    for rendering in ("self", "oracle"):
        english = classify["renderings"][rendering]["conditions"]["english"]
        assert 0.0 <= english["score"] <= 100.0 and english["n"] == 2
    assert 0.0 <= translate["direct"]["score"] <= 100.0
    for rendering in ("self", "oracle"):
        english = translate["renderings"][rendering]["conditions"]["english"]
        assert 0.0 <= english["score"] <= 100.0 and english["n"] == 2
    # the model rendered the Swahili queries in English itself
    unit = tmp_path / "cache" / "units" / "classify" / "swh_Latn-swh_Latn" / "self-eng_Latn.jsonl"
    rows = [json.loads(line) for line in unit.read_text(encoding="utf-8").splitlines()]
    renderings = [r["rendering"] for r in rows if "id" in r]
    assert len(renderings) == 2 and all(isinstance(r, str) for r in renderings)
    assert (tmp_path / "report.md").is_file()


def test_cached_prefix_scoring_equals_rescoring_on_gemma(gemma: Any) -> None:
    prefix = (SIB200 / "fra_Latn" / "train.tsv").read_text(encoding="utf-8")[:1500] + "\n\n"
    query = "Swahili: Timu ilishinda mechi.\nFrench: L'équipe a gagné le match.\nLabel:"
    labels = [" sports", " science/technology", " travel"]
    cached = HFEvalLM(gemma.model, gemma.tokenizer, key="g").logprobs(prefix, query, labels)
    full = HFEvalLM(gemma.model, gemma.tokenizer, key="g", reuse_prefix=False).logprobs(
        prefix, query, labels
    )
    assert cached == pytest.approx(full, abs=2e-3)
