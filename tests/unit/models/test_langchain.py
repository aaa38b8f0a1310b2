"""The LangChain adapters on a tiny random model: invoke, batches, stops, streaming, choices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.detect import Detection
from bridgex_chain.errors import ModelCallError
from bridgex_chain.models import langchain as llm_mod
from bridgex_chain.models.hf import HFCore
from bridgex_chain.models.langchain import LocalHFChatModel, LocalHFLLM, local_model

PROMPT = 'Swahili:"maji"→English:'
CHAT_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


class Spy:
    """Wraps a model and records the inputs of every batch it starts.

    A batch starts with a ``generate`` call (sampling, streaming) or, under the core's own greedy
    loop, with a forward pass on an empty cache (a prefill).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.batches: list[int] = []
        self.inputs: list[list[int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        ids, cache = kwargs.get("input_ids"), kwargs.get("cache")
        if ids is not None and (cache is None or cache.get_seq_length() == 0):
            self.batches.append(int(ids.shape[0]))
            self.inputs.append(ids[0].tolist())
        return self.model(*args, **kwargs)

    def generate(self, **kwargs: Any) -> Any:
        self.batches.append(int(kwargs["input_ids"].shape[0]))
        self.inputs.append(kwargs["input_ids"][0].tolist())
        return self.model.generate(**kwargs)


@pytest.fixture
def core(make_tiny_lm: Callable[..., Any]) -> HFCore:
    model, tokenizer, _ = make_tiny_lm("llama")
    return HFCore(model, tokenizer, "tiny/llama")


def test_invoke_is_greedy_and_returns_only_new_text(core: HFCore) -> None:
    import torch

    llm = LocalHFLLM(core=core, max_new_tokens=12)
    text = llm.invoke(PROMPT)
    assert text == llm.invoke(PROMPT)  # deterministic
    batch = core.tokenizer(PROMPT, return_tensors="pt")
    with torch.inference_mode():
        ids = core.model.generate(**batch, max_new_tokens=12, do_sample=False, pad_token_id=0)
    expected = core.tokenizer.decode(
        ids[0, batch["input_ids"].shape[1] :], skip_special_tokens=True
    )
    assert text == expected
    assert llm._identifying_params == {"model_id": "tiny/llama", "max_new_tokens": 12}


def test_several_prompts_run_as_one_batch(make_tiny_lm: Callable[..., Any]) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    spy = Spy(model)
    llm = LocalHFLLM(core=HFCore(spy, tokenizer, "tiny/llama"), max_new_tokens=6)
    prompts = [PROMPT, "a", "the quick brown fox"]
    result = llm.generate(prompts, stop=["\n"])
    assert spy.batches == [3]
    texts = [g[0].text for g in result.generations]
    assert texts == [llm.invoke(p, stop=["\n"]) for p in prompts]
    assert spy.batches[1:] == [1, 1, 1]
    assert llm.batch(prompts, stop=["\n"]) == texts


def test_generation_errors_become_model_call_errors(core: HFCore) -> None:
    class Broken:
        device = "cpu"

        def generate(self, **kwargs: Any) -> Any:
            raise RuntimeError("out of memory")

    llm = LocalHFLLM(core=HFCore(Broken(), core.tokenizer, "broken"))
    with pytest.raises(ModelCallError, match="broken failed to generate: out of memory"):
        llm.invoke(PROMPT)
    with pytest.raises(ModelCallError, match="out of memory"):
        list(llm.stream(PROMPT))


def test_local_llm_honours_stop_and_reports_tokens(core: HFCore) -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kw: Any) -> None:
            self.tokens.append(token)

    llm = LocalHFLLM(core=core, max_new_tokens=16)
    full = llm.invoke(PROMPT)
    stop = full[4:6]
    assert llm.invoke(PROMPT, stop=[stop]) == full[: full.index(stop)]
    handler = Tokens()
    streamed = "".join(llm.stream(PROMPT, {"callbacks": [handler]}))
    assert streamed == full and "".join(handler.tokens) == full
    assert llm.invoke(PROMPT, max_new_tokens=2) != full


def test_local_chat_model_applies_the_chat_template(
    make_tiny_lm: Callable[..., Any],
) -> None:
    model, tokenizer, _ = make_tiny_lm("qwen2")
    tokenizer.chat_template = CHAT_TEMPLATE
    spy = Spy(model)
    chat = LocalHFChatModel(core=HFCore(spy, tokenizer, "tiny/qwen2"), max_new_tokens=8)
    from langchain_core.messages import HumanMessage, SystemMessage

    messages = [SystemMessage("Reply in Swahili."), HumanMessage("Habari?")]
    assert chat.render(messages) == "<system>Reply in Swahili.\n<user>Habari?\n<assistant>"
    reply = chat.invoke(messages)
    rendered = chat.render(messages)
    assert reply.content == chat.core.generate([rendered], max_new_tokens=8, templated=True)[0]
    # the template already wrote the start of the text: no <bos> is added in front of it
    assert spy.inputs[0] == tokenizer(rendered, add_special_tokens=False)["input_ids"]
    assert spy.inputs[0][0] != tokenizer.bos_token_id
    assert "".join(str(c.content) for c in chat.stream(messages)) == reply.content


def test_local_chat_model_reports_usage_and_its_model(make_tiny_lm: Callable[..., Any]) -> None:
    model, tokenizer, _ = make_tiny_lm("qwen2")
    tokenizer.chat_template = CHAT_TEMPLATE
    chat = LocalHFChatModel(core=HFCore(model, tokenizer, "tiny/qwen2"), max_new_tokens=8)
    reply = chat.invoke("Habari?")
    prompt_tokens = len(
        tokenizer(chat.render([HumanMessage("Habari?")]), add_special_tokens=False)["input_ids"]
    )
    reply_tokens = len(tokenizer(reply.text, add_special_tokens=False)["input_ids"])
    assert reply.usage_metadata == {
        "input_tokens": prompt_tokens,
        "output_tokens": reply_tokens,
        "total_tokens": prompt_tokens + reply_tokens,
    }
    assert reply.response_metadata["model_name"] == "tiny/qwen2"
    chunks = list(chat.stream("Habari?"))
    assert [c.usage_metadata is not None for c in chunks].count(True) == 1  # reported once
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert full.text == reply.text and full.usage_metadata == reply.usage_metadata
    assert full.response_metadata["model_name"] == "tiny/qwen2"


def test_local_chat_model_options_default_stop_and_trace_parameters(
    make_tiny_lm: Callable[..., Any],
) -> None:
    model, tokenizer, _ = make_tiny_lm("qwen2")
    tokenizer.chat_template = CHAT_TEMPLATE
    core = HFCore(model, tokenizer, "tiny/qwen2")
    langchain_names: dict[str, Any] = {"max_tokens": 12}  # LangChain's name for the budget
    chat = LocalHFChatModel(core=core, **langchain_names)
    assert chat.max_new_tokens == 12
    full = chat.invoke("Habari?").text
    stop = full[3:5]
    stopped = LocalHFChatModel(core=core, stop=[stop], **langchain_names)
    assert stop and stopped.invoke("Habari?").text == full[: full.index(stop)]
    short = chat.invoke("Habari?", max_tokens=2).text  # a call's budget, by either name
    assert short == chat.invoke("Habari?", max_new_tokens=2).text and full.startswith(short)
    assert len(short) < len(full)
    assert chat._get_ls_params(stop=["x"]) == {
        "ls_provider": "huggingface",
        "ls_model_type": "chat",
        "ls_model_name": "tiny/qwen2",
        "ls_temperature": 0.0,  # greedy decoding
        "ls_max_tokens": 12,
        "ls_stop": ["x"],
    }
    sampled = LocalHFChatModel(core=core, do_sample=True, temperature=0.7)
    params = sampled._get_ls_params(max_new_tokens=5)
    assert (params["ls_temperature"], params["ls_max_tokens"]) == (0.7, 5)
    assert chat._get_ls_params(do_sample=True, temperature=0.3)["ls_temperature"] == 0.3


def test_local_model_picks_the_adapter_from_the_chat_template(
    core: HFCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llm_mod, "_loaded", lambda name: (core, False))
    assert isinstance(local_model("tiny", max_new_tokens=5), LocalHFLLM)
    monkeypatch.setattr(llm_mod, "_loaded", lambda name: (core, True))
    chat = local_model("tiny")
    assert isinstance(chat, LocalHFChatModel)
    assert isinstance(local_model("tiny", chat=False), LocalHFLLM)


def test_chain_runs_end_to_end_on_a_real_tiny_model(core: HFCore) -> None:
    chain = BridgeXChain(
        llm=LocalHFLLM(core=core, max_new_tokens=6),
        detector=lambda text: Detection("unknown", 0.0),
        model="tiny/llama",
    )
    reply = chain.invoke("Habari yako?")
    meta = reply.response_metadata["bridgex"]
    assert meta["fallback"] == "unknown_language" and meta["prompt_style"] == "completion"
    assert isinstance(reply.content, str)
    assert "".join(str(c.content) for c in chain.stream("Habari yako?")) == reply.content


def test_score_choices_is_calibrated_log_likelihood(core: HFCore) -> None:
    llm = LocalHFLLM(core=core)
    prompt = "Classify.\n\nText: Timu ilishinda\nLabel:"
    free = "Classify.\n\nText: N/A\nLabel:"
    raw = llm.score_choices(prompt, ["sports", "politics"])
    assert raw == core.logprobs(
        "Classify.\n\n", "Text: Timu ilishinda\nLabel:", [" sports", " politics"]
    )
    assert raw == core.choice_scores(prompt, ["sports", "politics"])
    assert all(x < 0 for x in raw)
    calibrated = llm.score_choices(prompt, ["sports", "politics"], content_free=free)
    base = core.logprobs("Classify.\n\n", "Text: N/A\nLabel:", [" sports", " politics"])
    assert calibrated == pytest.approx([r - b for r, b in zip(raw, base, strict=True)], abs=1e-5)


def test_chain_classifies_by_log_likelihood_on_a_local_model(core: HFCore) -> None:
    chain = BridgeXChain(
        llm=LocalHFLLM(core=core, max_new_tokens=4),
        detector=lambda text: Detection("unknown", 0.0),
        model="tiny/llama",
        task="classify",
        labels=("sports", "politics", "health"),
    )
    reply = chain.invoke("Timu yetu ilishinda jana")
    meta = reply.response_metadata["bridgex"]
    assert meta["choice_method"] == "logprob" and len(meta["choice_scores"]) == 3
    assert reply.content == meta["choice"] == chain.labels[meta["choice_index"]]  # type: ignore[index]
    assert meta["choice_index"] == max(range(3), key=lambda i: meta["choice_scores"][i])
    streamed = list(chain.stream("Timu yetu ilishinda jana"))
    assert streamed[-1].content == reply.content
    assert streamed[-1].response_metadata["bridgex"]["choice_scores"] == meta["choice_scores"]
    generated = chain.model_copy(update={"choice_scoring": "generate"}).invoke("Timu yetu")
    assert generated.response_metadata["bridgex"]["choice_method"] == "generate"
