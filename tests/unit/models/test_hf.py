"""The inference core on tiny random models: batching, padding, stops, loops, scoring, limits."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from bridgex_chain.errors import InvalidOption, ModelCallError, PromptTooLong
from bridgex_chain.models.choices import best_choice, split_prompt
from bridgex_chain.models.hf import HFCore, loops
from bridgex_chain.models.tokens import encode, pad_token_id

torch = pytest.importorskip("torch")

MakeLM = Callable[..., tuple[Any, Any, str]]

PROMPTS = [
    "Swahili: maji\nEnglish:",
    "a",
    "Swahili: habari ya asubuhi rafiki yangu\nEnglish:",
    'English:"water"→French:',
    "早上好",
]
# Longer than the tiny Gemma-3's sliding window (16 tokens): the cache must survive
# sliding-window layers dropping old entries.
PREFIX = (
    "Classify each text into one of these labels: sports, travel.\n\n"
    "French: Le match de football était passionnant.\nLabel: sports\n\n"
    "French: Nous avons pris le train pour Paris.\nLabel: travel\n\n"
)
QUERIES = ["Swahili: mpira\nFrench: football\nLabel:", "Swahili: safari\nFrench: voyage\nLabel:"]
LABELS = [" sports", " travel", " science/technology"]


class Spy:
    """Wraps a model and records every ``generate`` call (inputs and output)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[dict[str, Any]] = []
        self.outputs: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.model(*args, **kwargs)

    def generate(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        out = self.model.generate(**kwargs)
        self.outputs.append(out)
        return out


def _always(make_tiny_lm: MakeLM, token: str) -> tuple[Any, Any]:
    """A tiny llama whose LM head always predicts ``token`` (a new model, not the shared one)."""
    model, tok, _ = make_tiny_lm("llama", num_hidden_layers=2)
    token_id = tok.convert_tokens_to_ids(token)
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[token_id] = 10.0
    model.lm_head = head
    return model, tok


def ascii_stop(text: str, start: int = 2) -> str:
    """Two printable ASCII characters of ``text`` (a stop string the model is known to write)."""
    for i in range(start, len(text) - 1):
        if all(ch.isascii() and ch.isprintable() for ch in text[i : i + 2]):
            return text[i : i + 2]
    raise AssertionError(f"no ASCII pair in {text!r}")


@pytest.fixture
def core(make_tiny_lm: MakeLM) -> HFCore:
    model, tokenizer, _ = make_tiny_lm("llama")
    return HFCore(model, tokenizer, "tiny/llama")


# ------------------------------------------------------------------------------ token helpers


def test_importing_the_core_does_not_import_torch() -> None:
    code = "import sys, bridgex_chain.models.hf; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_loops() -> None:
    assert loops([5, 6, 7, 8, 5, 6, 7, 8], 4)
    assert not loops([5, 6, 7, 8, 5, 6, 7, 9], 4)
    assert not loops([1, 1, 1], 2)  # shorter than two spans
    assert loops([1, 1, 1, 1], 2)
    assert not loops([1, 1, 1, 1], None)


# ------------------------------------------------------------------------------ generation


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma3_text"])
def test_batched_generation_equals_one_at_a_time(make_tiny_lm: MakeLM, arch: str) -> None:
    model, tokenizer, _ = make_tiny_lm(arch)
    core = HFCore(model, tokenizer, arch)
    batched = core.generate(PROMPTS, max_new_tokens=6, batch_size=3)
    single = [core.generate([p], max_new_tokens=6)[0] for p in PROMPTS]
    assert batched == single
    assert all(isinstance(text, str) and text for text in batched)


def test_one_prompt_equals_plain_greedy_generate(core: HFCore) -> None:
    prompt = PROMPTS[0]
    batch = core.tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        ids = core.model.generate(**batch, max_new_tokens=12, do_sample=False, pad_token_id=0)
    want = core.tokenizer.decode(ids[0, batch["input_ids"].shape[1] :], skip_special_tokens=True)
    assert core.generate([prompt], max_new_tokens=12) == [want]
    assert core.generate([], max_new_tokens=12) == []


def test_batches_are_length_sorted_and_left_padded(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    spy = Spy(model)
    core = HFCore(spy, tokenizer, "tiny", batch_size=2)
    texts = core.generate(PROMPTS, max_new_tokens=3)
    lengths = [len(ids) for ids in encode(tokenizer, PROMPTS)]
    assert len(spy.calls) == 3  # 5 prompts, 2 per batch
    seen = []
    for call in spy.calls:
        ids, mask = call["input_ids"], call["attention_mask"]
        assert call["use_cache"] is True and call["do_sample"] is False
        for row in range(ids.shape[0]):
            n = int(mask[row].sum())
            seen.append(n)
            assert mask[row, -n:].all() and not mask[row, :-n].any()  # padding on the left
            assert (ids[row, :-n] == pad_token_id(tokenizer)).all()
    assert seen == sorted(lengths)  # batches in length order
    assert texts == [core.generate([p], max_new_tokens=3)[0] for p in PROMPTS]  # input order


def test_stop_strings_cut_each_row_and_halt_decoding(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    spy = Spy(model)
    core = HFCore(spy, tokenizer, "tiny")
    full = core.generate(PROMPTS[:2], max_new_tokens=20)
    assert all(len(text) > 6 for text in full), "the tiny model should write something"
    stop = ascii_stop(full[0], 3)
    cut = core.generate(PROMPTS[:2], max_new_tokens=20, stop=[stop])
    assert cut[0] == full[0][: full[0].index(stop)]
    assert cut[1] == (full[1][: full[1].index(stop)] if stop in full[1] else full[1])
    assert core.generate(PROMPTS[:2], max_new_tokens=20, stop=["", stop]) == cut  # "" ignored
    # both rows stopped early: the batch did not run to the token budget
    if stop in full[1]:
        width = spy.calls[-1]["input_ids"].shape[1]
        assert spy.outputs[-1].shape[1] - width < 20


def test_loop_stop_ends_a_repeating_row(make_tiny_lm: MakeLM) -> None:
    model, tokenizer = _always(make_tiny_lm, "w")
    core = HFCore(model, tokenizer, "always-w")
    assert core.generate(["x"], max_new_tokens=20) == ["w" * 20]
    assert core.generate(["x", "yy"], max_new_tokens=20, repeat_span=2) == ["wwww", "wwww"]
    assert core.generate(["x"], max_new_tokens=20, repeat_span=3, stop=["ww"]) == [""]


def test_generation_checks_the_context_window(core: HFCore) -> None:
    limit = core.context_length()
    assert limit == 256
    long_prompt = "a b " * 60
    n = len(encode(core.tokenizer, [long_prompt])[0])
    assert n < limit
    with pytest.raises(PromptTooLong, match=rf"{n} tokens .* at most {limit}"):
        core.generate(["a", long_prompt], max_new_tokens=limit - n + 1)
    with pytest.raises(PromptTooLong):
        list(core.stream(long_prompt, max_new_tokens=limit))
    assert core.generate([long_prompt], max_new_tokens=limit - n)  # exactly fits


def test_bad_options_are_rejected(core: HFCore) -> None:
    with pytest.raises(InvalidOption, match="max_new_tokens"):
        core.generate(["a"], max_new_tokens=0)
    with pytest.raises(InvalidOption, match="batch_size"):
        core.generate(["a"], batch_size=0)
    with pytest.raises(InvalidOption, match="batch_size"):
        HFCore(core.model, core.tokenizer, batch_size=0)
    with pytest.raises(InvalidOption, match="empty"):
        core.generate([""], templated=True)  # no <bos> added: nothing to continue


def test_sampling_options_reach_generate(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    spy = Spy(model)
    core = HFCore(spy, tokenizer, "tiny")
    core.generate(["a"], max_new_tokens=2, do_sample=True, temperature=0.7)
    assert spy.calls[-1]["do_sample"] is True and spy.calls[-1]["temperature"] == 0.7
    core.generate(["a"], max_new_tokens=2)
    assert spy.calls[-1]["do_sample"] is False and spy.calls[-1]["temperature"] is None


def test_stream_joined_equals_generate(core: HFCore) -> None:
    prompt = PROMPTS[0]
    full = core.generate([prompt], max_new_tokens=16)[0]
    assert "".join(core.stream(prompt, max_new_tokens=16)) == full
    stop = ascii_stop(full, 4)
    pieces = list(core.stream(prompt, max_new_tokens=16, stop=[stop]))
    assert "".join(pieces) == core.generate([prompt], max_new_tokens=16, stop=[stop])[0]
    assert "".join(pieces) == full[: full.index(stop)]


def test_closing_a_stream_early_stops_generation(core: HFCore) -> None:
    stream = core.stream(PROMPTS[0], max_new_tokens=200)
    next(stream)
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "bridgex-generate"]
    assert core.generate(["a"], max_new_tokens=2)  # the lock was released


def test_model_failures_become_model_call_errors(tiny_tokenizer: Any) -> None:
    class Broken:
        device = "cpu"

        def generate(self, **kwargs: Any) -> Any:
            raise RuntimeError("out of memory")

        def __call__(self, **kwargs: Any) -> Any:
            raise RuntimeError("out of memory")

        def forward(self, input_ids: Any, cache: Any = None) -> Any:
            raise NotImplementedError

    broken = HFCore(Broken(), tiny_tokenizer, "broken")
    with pytest.raises(ModelCallError, match="broken failed to generate: out of memory"):
        broken.generate(["a"])
    with pytest.raises(ModelCallError, match="out of memory"):
        list(broken.stream("a"))
    with pytest.raises(ModelCallError, match="broken failed to score: out of memory"):
        broken.logprobs("a", "b", [" c"])


def test_concurrent_calls_are_serialised(core: HFCore) -> None:
    want = [core.generate([p], max_new_tokens=5)[0] for p in PROMPTS]
    got: dict[int, str] = {}

    def run(i: int) -> None:
        got[i] = core.generate([PROMPTS[i]], max_new_tokens=5)[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(PROMPTS))] == want


# ------------------------------------------------------------------------------ scoring


def test_cached_prefix_scoring_equals_full_rescoring(tiny_lm: tuple[Any, Any, str]) -> None:
    model, tokenizer, _arch = tiny_lm
    core = HFCore(model, tokenizer, "tiny")
    assert len(tokenizer(PREFIX)["input_ids"]) > 16
    for query in QUERIES:  # the second query reuses the first one's prefix cache
        got = core.logprobs(PREFIX, query, LABELS)
        want = core.logprobs(PREFIX, query, LABELS, reuse_prefix=False)
        assert got == pytest.approx(want, abs=1e-4)
    # scoring again gives the same numbers: the stored prefix cache was not mutated
    assert core.logprobs(PREFIX, QUERIES[0], LABELS) == pytest.approx(
        core.logprobs(PREFIX, QUERIES[0], LABELS, reuse_prefix=False), abs=1e-4
    )
    # an empty query scores directly after the prefix
    assert core.logprobs(PREFIX + QUERIES[0], "", LABELS) == pytest.approx(
        core.logprobs(PREFIX + QUERIES[0], "", LABELS, reuse_prefix=False), abs=1e-4
    )


def test_logprobs_match_a_hand_made_forward_pass(core: HFCore) -> None:
    tokenizer, model = core.tokenizer, core.model
    ids = [tokenizer.bos_token_id]
    for piece in ("Topic: ", "x\nLabel:", " travel"):
        ids += tokenizer(piece, add_special_tokens=False)["input_ids"]
    n_label = len(tokenizer(" travel", add_special_tokens=False)["input_ids"])
    assert n_label > 1  # exercises the multi-token path
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0], dim=-1)
    want = sum(
        float(logp[len(ids) - n_label - 1 + j, ids[len(ids) - n_label + j]]) for j in range(n_label)
    )
    for reuse in (True, False):
        got = core.logprobs("Topic: ", "x\nLabel:", [" travel"], reuse_prefix=reuse)
        assert got[0] == pytest.approx(want, abs=1e-4)


def test_logprobs_reject_empty_continuations_and_too_long_input(core: HFCore) -> None:
    with pytest.raises(InvalidOption, match="at least one token"):
        core.logprobs("a", "b", [" c", ""])
    assert core.logprobs("a", "b", []) == []
    with pytest.raises(PromptTooLong, match="more may be scored"):
        core.logprobs("a b " * 80, "", [" c d " * 10])


def test_choice_scores_are_calibrated_log_likelihood(core: HFCore) -> None:
    prompt = "Classify.\n\nText: Timu ilishinda\nLabel:"
    free = "Classify.\n\nText: N/A\nLabel:"
    choices = ["sports", "politics", "health"]
    conts = [" sports", " politics", " health"]
    raw = core.choice_scores(prompt, choices)
    assert raw == core.logprobs(*split_prompt(prompt), conts)
    assert raw == pytest.approx(core.logprobs(prompt, "", conts, reuse_prefix=False), abs=1e-4)
    assert all(x < 0 for x in raw)
    calibrated = core.choice_scores(prompt, choices, free)
    base = core.logprobs(*split_prompt(free), conts)
    assert calibrated == pytest.approx([r - b for r, b in zip(raw, base, strict=True)])
    assert best_choice(calibrated) == best_choice(raw, base)
    assert core.choice_scores(prompt, ["A", "B"], lead="") == core.logprobs(
        *split_prompt(prompt), ["A", "B"]
    )
    with pytest.raises(InvalidOption, match="no choices"):
        core.choice_scores(prompt, [])
