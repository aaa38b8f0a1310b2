"""HFEvalLM: the EvalLM seam as a thin adapter over the inference core (tiny random models)."""

from collections.abc import Callable
from typing import Any

import pytest

from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.lm import EvalLM, HFEvalLM
from bridgex_chain.models.hf import HFCore

torch = pytest.importorskip("torch")

MakeLM = Callable[..., tuple[Any, Any, str]]


def test_hf_eval_lm_is_an_eval_lm_on_the_core(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    lm = HFEvalLM(model, tokenizer, key="tiny", batch_size=3)
    assert isinstance(lm, EvalLM) and lm.key == "tiny"
    assert isinstance(lm.core, HFCore) and lm.core.model_id == "tiny"
    assert lm.core.batch_size == 3


@pytest.mark.parametrize("arch", ["llama", "gemma3_text"])
def test_logprobs_are_the_cores_under_the_prefix_setting(make_tiny_lm: MakeLM, arch: str) -> None:
    # That cached-prefix scoring equals full rescoring is tested on the core: models/test_hf.py.
    model, tokenizer, _ = make_tiny_lm(arch)
    prefix, labels = "French: Le match.\nLabel: sports\n\n", [" sports", " travel"]
    for reuse_prefix in (True, False):
        lm = HFEvalLM(model, tokenizer, key="tiny", reuse_prefix=reuse_prefix)
        for query in ("Swahili: mpira\nFrench: football\nLabel:", ""):
            got = lm.logprobs(prefix, query, labels)
            assert got == lm.core.logprobs(prefix, query, labels, reuse_prefix=reuse_prefix)


def test_empty_continuation_is_rejected(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    with pytest.raises(InvalidOption, match="at least one token"):
        HFEvalLM(model, tokenizer, key="tiny").logprobs("a", "b", [""])


def test_batched_generation_equals_one_at_a_time(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    prompts = ["Swahili: maji\nEnglish:", "Swahili: habari ya asubuhi rafiki\nEnglish:", "a"]
    batched = HFEvalLM(model, tokenizer, key="tiny", batch_size=3, repeat_span=None)
    single = HFEvalLM(model, tokenizer, key="tiny", batch_size=1, repeat_span=None)
    got = batched.generate(prompts, max_new_tokens=6, stop=[])
    assert got == single.generate(prompts, max_new_tokens=6, stop=[])
    assert got == batched.core.generate(prompts, max_new_tokens=6)
    assert all(isinstance(text, str) and text for text in got)


def test_generation_is_cut_at_stop_strings(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("qwen2")
    lm = HFEvalLM(model, tokenizer, key="tiny", repeat_span=None)
    free = lm.generate(["the quick brown"], max_new_tokens=12, stop=[])[0]
    assert len(free) >= 2
    stop = free[1]  # a character the model is known to produce
    cut = lm.generate(["the quick brown"], max_new_tokens=12, stop=[stop])[0]
    assert cut == free[: free.index(stop)]


def test_the_loop_stop_is_on_by_default(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama", num_hidden_layers=2)
    w_id = tokenizer.convert_tokens_to_ids("w")
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[w_id] = 10.0
    model.lm_head = head  # greedy decoding now writes "w" forever
    looping = HFEvalLM(model, tokenizer, key="tiny")
    assert looping.repeat_span == 10
    assert looping.generate(["x"], max_new_tokens=30, stop=[]) == ["w" * 20]
    unlimited = HFEvalLM(model, tokenizer, key="tiny", repeat_span=None)
    assert unlimited.generate(["x"], max_new_tokens=30, stop=[]) == ["w" * 30]
