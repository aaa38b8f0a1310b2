"""The inference core on tiny random models: the greedy loop, batches, stops, kernels, scoring."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
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
    """Wraps a model and records every ``generate`` call and every forward pass.

    ``forwards`` holds, per forward pass, the batch size, the number of input tokens, how many
    columns the cache held before the pass (0: a prefill), the attention mask and the kwargs.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[dict[str, Any]] = []
        self.outputs: list[Any] = []
        self.forwards: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        ids = kwargs.get("input_ids")
        if ids is not None:
            cache = kwargs.get("cache", kwargs.get("past_key_values"))
            self.forwards.append(
                {
                    "rows": int(ids.shape[0]),
                    "tokens": int(ids.shape[1]),
                    "cached": cache.get_seq_length() if cache is not None else 0,
                    "mask": kwargs.get("attention_mask"),
                    "kwargs": kwargs,
                }
            )
        return self.model(*args, **kwargs)

    def prefills(self) -> list[dict[str, Any]]:
        """The forward passes that started a new cache."""
        return [f for f in self.forwards if f["cached"] == 0]

    def steps(self) -> list[dict[str, Any]]:
        """The one-token decode steps."""
        return [f for f in self.forwards if f["cached"] > 0]

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


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Run each test on one torch thread (the machines running them are shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


def hf_path(core: HFCore) -> HFCore:
    """The same model and tokenizer, always generating through ``transformers``' ``generate``."""
    other = HFCore(core.model, core.tokenizer, core.model_id, batch_size=core.batch_size)
    other._greedy_keyword = lambda: None  # type: ignore[method-assign]
    return other


def test_batches_are_length_sorted_and_left_padded(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    spy = Spy(model)
    core = HFCore(spy, tokenizer, "tiny", batch_size=2)
    texts = core.generate(PROMPTS, max_new_tokens=3)
    lengths = [len(ids) for ids in encode(tokenizer, PROMPTS)]
    assert not spy.calls  # greedy decoding does not go through `generate`
    seen = []
    for call in spy.prefills():
        ids, mask = call["kwargs"]["input_ids"], call["mask"]
        assert call["rows"] <= 2 and call["kwargs"]["logits_to_keep"] == 1
        for row in range(ids.shape[0]):
            if mask is None:  # no padding in this batch
                seen.append(ids.shape[1])
                continue
            n = int(mask[row].sum())
            seen.append(n)
            assert mask[row, -n:].all() and not mask[row, :-n].any()  # padding on the left
            assert (ids[row, :-n] == pad_token_id(tokenizer)).all()
    assert seen == sorted(lengths, reverse=True)  # longest prompts first
    assert all(step["rows"] <= 2 for step in spy.steps())
    assert texts == [core.generate([p], max_new_tokens=3)[0] for p in PROMPTS]  # input order
    assert texts == hf_path(core).generate(PROMPTS, max_new_tokens=3)


def test_stop_strings_cut_each_row_and_halt_decoding(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    spy = Spy(model)
    core = HFCore(spy, tokenizer, "tiny")
    full = core.generate(PROMPTS[:2], max_new_tokens=20)
    assert all(len(text) > 6 for text in full), "the tiny model should write something"
    stop = ascii_stop(full[0], 3)
    spy.forwards.clear()
    cut = core.generate(PROMPTS[:2], max_new_tokens=20, stop=[stop])
    assert cut[0] == full[0][: full[0].index(stop)]
    assert cut[1] == (full[1][: full[1].index(stop)] if stop in full[1] else full[1])
    if stop in full[1]:  # both rows stopped early: the batch did not run to the token budget
        assert len(spy.forwards) < 20
    assert core.generate(PROMPTS[:2], max_new_tokens=20, stop=["", stop]) == cut  # "" ignored
    assert hf_path(core).generate(PROMPTS[:2], max_new_tokens=20, stop=[stop]) == cut


def test_loop_stop_ends_a_repeating_row(make_tiny_lm: MakeLM) -> None:
    model, tokenizer = _always(make_tiny_lm, "w")
    core = HFCore(model, tokenizer, "always-w")
    assert core.generate(["x"], max_new_tokens=20) == ["w" * 20]
    assert core.generate(["x", "yy"], max_new_tokens=20, repeat_span=2) == ["wwww", "wwww"]
    assert core.generate(["x"], max_new_tokens=20, repeat_span=3, stop=["ww"]) == [""]


# ------------------------------------------------------------------------------ the greedy loop

# Varied lengths: 2 to 60 tokens, some longer than the tiny Gemma-3's sliding window (16).
VARIED = [*PROMPTS, QUERIES[0], PREFIX + QUERIES[1], "b", "Swahili: mpira\nFrench:"]


def generated_ids(model: Any, tokenizer: Any, prompt: str, n: int) -> list[int]:
    """Plain greedy ``generate`` of one prompt (no padding): the new token ids."""
    batch = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=n, do_sample=False, pad_token_id=0)
    return [int(t) for t in out[0, batch["input_ids"].shape[1] :]]


def some_stop(core: HFCore) -> str:
    """A stop string that the model writes in some, not all, of its continuations of VARIED."""
    texts = core.generate(VARIED, max_new_tokens=12)
    for text in texts:
        for i in range(2, len(text) - 1):
            stop = text[i : i + 2]
            if stop.isascii() and stop.isprintable() and not all(stop in t for t in texts):
                return stop
    return "\ufffd"  # a byte-level model writing broken UTF-8 writes this somewhere


@pytest.mark.parametrize("arch", ["llama", "mistral", "qwen2", "gemma3_text"])
def test_greedy_loop_equals_generate_one_at_a_time(make_tiny_lm: MakeLM, arch: str) -> None:
    model, tokenizer, _ = make_tiny_lm(arch)
    core = HFCore(model, tokenizer, arch)
    assert core._greedy_keyword() is not None
    reference = hf_path(core)
    for options in (
        {"max_new_tokens": 12},
        {"max_new_tokens": 12, "stop": [some_stop(core)]},
        {"max_new_tokens": 24, "repeat_span": 2},
    ):
        want = [reference.generate([p], **options)[0] for p in VARIED]
        assert [core.generate([p], **options)[0] for p in VARIED] == want
        for size in (2, 3, len(VARIED)):  # refills and merges, and one batch of all
            assert core.generate(VARIED, batch_size=size, **options) == want, (options, size)


def test_finished_rows_leave_the_batch_and_waiting_prompts_fill_it(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    spy = Spy(model)
    core = HFCore(spy, tokenizer, "tiny")
    options = {"max_new_tokens": 16, "repeat_span": 2}
    passes = []  # forward passes of each prompt on its own: 1 prefill + 1 step per later token
    for prompt in VARIED:
        spy.forwards.clear()
        core.generate([prompt], **options)
        passes.append(len(spy.forwards))
    assert len(set(passes)) > 2, "rows should stop at different steps"
    spy.forwards.clear()
    texts = core.generate(VARIED, batch_size=3, **options)
    prefills, steps, forwards = spy.prefills(), spy.steps(), list(spy.forwards)
    assert texts == [core.generate([p], **options)[0] for p in VARIED]
    assert sum(p["rows"] for p in prefills) == len(VARIED)
    # every decode step feeds only rows still generating: no step is spent on a finished row
    assert sum(s["rows"] for s in steps) == sum(n - 1 for n in passes)
    assert max(s["rows"] for s in steps) == 3
    # while prompts wait, the freed places are filled: steps before the last prefill are full
    last = max(i for i, f in enumerate(forwards) if f["cached"] == 0)
    assert all(f["rows"] == 3 for f in forwards[:last] if f["cached"] > 0)


@pytest.mark.parametrize("arch", ["llama", "gemma3_text"])
def test_rows_keep_take_and_merge_match_each_row_alone(make_tiny_lm: MakeLM, arch: str) -> None:
    from bridgex_chain.models.hf import _Rows

    model, tokenizer, _ = make_tiny_lm(arch)
    core = HFCore(model, tokenizer, arch)
    keyword = core._greedy_keyword()
    assert keyword is not None
    texts = [PREFIX + QUERIES[0], "a", QUERIES[1]]  # 70, 2 and 18 tokens
    encoded = encode(tokenizer, texts)
    token = 7

    def feed(rows: _Rows) -> Any:
        rows.keep(list(range(len(rows))), torch.full((len(rows),), token))
        core._step_rows(rows, keyword)
        for layer in rows.cache.layers:  # the cache holds one column per mask column
            window = getattr(layer, "sliding_window", None)
            kept = rows.width if window is None else min(rows.width, window - 1)
            assert layer.keys.shape[0] == len(rows) and layer.keys.shape[-2] == kept
        return rows.logits

    with torch.inference_mode():
        alone = [feed(core._prefill_rows([i], encoded, keyword)) for i in range(3)]
        both = core._prefill_rows([0, 1], encoded, keyword)
        both.keep([1], torch.full((2,), token))  # the long row leaves: its padding goes too
        assert both.width == len(encoded[1])
        torch.testing.assert_close(feed(both), alone[1], rtol=1e-4, atol=1e-4)
        merged = core._prefill_rows([1], encoded, keyword)
        merged.next_ids = torch.full((1,), token)
        other = core._prefill_rows([0, 2], encoded, keyword)
        other.next_ids = torch.full((2,), token)
        merged.merge(other)
        assert merged.index == [1, 0, 2] and merged.width == len(encoded[0])
        got = feed(merged)
        for row, i in enumerate(merged.index):
            torch.testing.assert_close(got[row : row + 1], alone[i], rtol=1e-4, atol=1e-4)
        pool = core._prefill_rows([0, 1, 2], encoded, keyword)
        pool.next_ids = torch.full((3,), token)
        part = pool.take(2)
        assert part.index == [0, 1] and pool.index == [2] and pool.width == len(encoded[2])
        assert pool.take(1) is pool
        torch.testing.assert_close(feed(pool), alone[2], rtol=1e-4, atol=1e-4)
        got = feed(part)
        for row, i in enumerate(part.index):
            torch.testing.assert_close(got[row : row + 1], alone[i], rtol=1e-4, atol=1e-4)


def test_rows_stop_at_end_of_sequence(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama", num_hidden_layers=2)  # a model of its own
    ids = generated_ids(model, tokenizer, VARIED[0], 12)
    j = next(j for j in range(2, len(ids)) if ids[j] not in ids[:j])
    for eos in (ids[j], [1, ids[j]]):
        model.generation_config.eos_token_id = eos
        core = HFCore(model, tokenizer, "tiny")
        want = [hf_path(core).generate([p], max_new_tokens=12)[0] for p in VARIED]
        # a row ends with its end-of-sequence token, which shows when it is not a special one
        assert want[0] == tokenizer.decode(ids[: j + 1], skip_special_tokens=True)
        assert core.generate(VARIED, max_new_tokens=12, batch_size=3) == want
        assert [core.generate([p], max_new_tokens=12)[0] for p in VARIED] == want
    eos_model, tok = _always(make_tiny_lm, "<eos>")
    spy = Spy(eos_model)
    assert HFCore(spy, tok, "eos").generate(["x", "yy"], max_new_tokens=9) == ["", ""]
    assert not spy.steps()  # both rows ended at their first token


def test_rows_stop_at_the_token_budget(make_tiny_lm: MakeLM) -> None:
    model, tokenizer = _always(make_tiny_lm, "w")
    spy = Spy(model)
    core = HFCore(spy, tokenizer, "always-w")
    assert core.generate(["x", "yy", "zzz"], max_new_tokens=5, batch_size=2) == ["wwwww"] * 3
    assert sum(p["rows"] for p in spy.prefills()) == 3
    assert sum(s["rows"] for s in spy.steps()) == 3 * 4  # the first token comes from the prefill
    spy.forwards.clear()
    assert core.generate(["x", "yy"], max_new_tokens=1) == ["w", "w"]
    assert not spy.steps()


def test_plain_greedy_configs() -> None:
    from transformers import GenerationConfig

    from bridgex_chain.models.hf import _plain_greedy

    assert _plain_greedy(None)
    assert _plain_greedy(GenerationConfig())
    plain = GenerationConfig(do_sample=True, top_k=64, top_p=0.95, eos_token_id=[1, 106])
    assert _plain_greedy(plain)  # sampling knobs do not apply to greedy decoding
    assert _plain_greedy(GenerationConfig(repetition_penalty=1.0, num_beams=1))
    for bad in (
        {"repetition_penalty": 1.3},
        {"no_repeat_ngram_size": 3},
        {"suppress_tokens": [5]},
        {"bad_words_ids": [[5]]},
        {"num_beams": 2},
        {"min_new_tokens": 2},
    ):
        assert not _plain_greedy(GenerationConfig(**bad)), bad


def test_logits_processors_and_unsupported_caches_use_generate(
    make_tiny_lm: MakeLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridgex_chain.models import hf

    model, tokenizer, _ = make_tiny_lm("llama", num_hidden_layers=2)  # a model of its own
    spy = Spy(model)
    core = HFCore(spy, tokenizer, "tiny")
    want = core.generate(VARIED, max_new_tokens=8)
    assert not spy.calls
    model.generation_config.repetition_penalty = 1.5
    assert core._greedy_keyword() is None
    penalised = core.generate(VARIED, max_new_tokens=8)
    assert len(spy.calls) == 2 and spy.calls[-1]["input_ids"].shape[0] <= core.batch_size
    model.generation_config.repetition_penalty = None
    spy.calls.clear()

    def unsupported(self: Any) -> None:
        raise hf._Unsupported("no")

    monkeypatch.setattr(hf._Rows, "check", unsupported)
    assert core.generate(VARIED, max_new_tokens=8) == want  # the same text through `generate`
    assert spy.calls
    assert penalised != want  # the penalty did apply


def test_failures_in_the_greedy_loop_become_model_call_errors(make_tiny_lm: MakeLM) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")

    class Broken:
        config = model.config
        device = "cpu"

        def forward(
            self,
            input_ids: Any = None,
            attention_mask: Any = None,
            position_ids: Any = None,
            cache: Any = None,
            use_cache: bool = True,
            logits_to_keep: int = 0,
        ) -> Any:
            raise RuntimeError("out of memory")

        __call__ = forward

    core = HFCore(Broken(), tokenizer, "broken")
    assert core._greedy_keyword() == "cache"
    with pytest.raises(ModelCallError, match="broken failed to generate: out of memory"):
        core.generate(["a", "bb"])


def test_linear_layers_run_on_onednn_while_the_loop_runs(make_tiny_lm: MakeLM) -> None:
    from bridgex_chain.models import hf

    model, tokenizer, _ = make_tiny_lm("llama", num_hidden_layers=2)  # a model of its own
    layers = dict(hf._linear_layers(model))
    if not layers:
        pytest.skip("oneDNN linears are for float32 models on x86 CPUs")
    head, body = model.get_output_embeddings(), model.model.layers[0].mlp.down_proj
    assert layers[head] == 1 and layers[body] == hf._ONEDNN_MIN_ROWS
    assert len(layers) == 1 + 2 * 7  # the output layer, and q k v o gate up down per layer
    out, small = hf._checked_kernel(head), hf._checked_kernel(body, 4)
    assert out is not None and small is not None
    x = torch.randn(2, 3, head.in_features)
    want = torch.nn.functional.linear(x, head.weight, head.bias)
    torch.testing.assert_close(out(x), want, rtol=1e-4, atol=1e-5)
    few, many = torch.randn(1, 3, body.in_features), torch.randn(2, 3, body.in_features)
    assert torch.equal(small(few), torch.nn.functional.linear(few, body.weight))  # below 4 rows
    torch.testing.assert_close(small(many), torch.nn.functional.linear(many, body.weight))

    used: dict[Any, list[Any]] = {head: [], body: []}

    def spy(module: Any, args: Any, output: Any) -> None:
        used[module].append(vars(module).get("forward"))

    hooks = [layer.register_forward_hook(spy) for layer in used]
    try:
        core = HFCore(model, tokenizer, "tiny")
        texts = core.generate(VARIED, max_new_tokens=6, batch_size=3)
        for layer, forwards in used.items():  # every pass, and the layers' hooks still fire
            assert forwards and all(f is core._kernels[layer] is not None for f in forwards)
        assert not any("forward" in vars(layer) for layer in layers)  # the layers are restored
        plain = HFCore(model, tokenizer, "tiny")
        for layer in layers:
            plain._kernels[layer] = None  # as if oneDNN were missing
        assert plain.generate(VARIED, max_new_tokens=6, batch_size=3) == texts
        used[head].clear()
        wrapped = head.forward  # a forward already replaced (accelerate's hooks do this) stays
        head.forward = wrapped
        assert core.generate(VARIED, max_new_tokens=6, batch_size=3) == texts
        assert used[head] and all(f is wrapped for f in used[head])
        assert vars(head)["forward"] is wrapped
    finally:
        vars(head).pop("forward", None)
        for hook in hooks:
            hook.remove()


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


def test_count_tokens_counts_as_generate_encodes(core: HFCore) -> None:
    texts = ["Swahili: maji", "", "the quick brown fox"]
    with_bos = [len(ids) for ids in encode(core.tokenizer, texts)]
    assert core.count_tokens(texts) == with_bos
    assert core.count_tokens(texts, templated=True) == [n - 1 for n in with_bos]  # no <bos>


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
    assert len(spy.calls) == 1  # greedy decoding runs the core's own loop
    hf_path(core).generate(["a"], max_new_tokens=2)
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
    assert calibrated == pytest.approx([r - b for r, b in zip(raw, base, strict=True)], abs=1e-5)
    assert best_choice(calibrated) == best_choice(raw, base)
    assert core.choice_scores(prompt, ["A", "B"], lead="") == core.logprobs(
        *split_prompt(prompt), ["A", "B"]
    )
    with pytest.raises(InvalidOption, match="no choices"):
        core.choice_scores(prompt, [])
